// Package release implements the release command: it bumps modules'
// versions in versions.yaml, moves their CHANGELOG lines into a release
// section, commits that on the current branch, and tags a child commit whose
// go.mod files require every sibling at its manifest version.
package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"

	"github.com/tikvgo/tikvgo/tools/internal/versions"
)

// ErrRelease is wrapped by every error that stops a release before it
// changes anything.
var ErrRelease = errors.New("release: refused")

// Target is one module to release: Version empty means "the next version"
// (see Options.Bump).
type Target struct {
	Module  string
	Version string
}

// ParseTarget parses "module" or "module@version".
func ParseTarget(s string) Target {
	mod, ver, _ := strings.Cut(s, "@")
	return Target{Module: mod, Version: ver}
}

// Options configures Run.
type Options struct {
	// Root is the repository's top directory (its work tree).
	Root string
	// Targets are the modules to release, together, in one commit.
	Targets []Target
	// Bump is "minor" (the default) or "patch": how a target without an
	// explicit version moves once its current version is tagged.
	Bump string
	// Notes, when set, is added to each target's CHANGELOG entry.
	Notes string
	// DryRun prints the plan and changes nothing.
	DryRun bool
	// Date dates the CHANGELOG sections; zero means today (UTC).
	Date time.Time
	// Out receives the plan and progress; nil discards them.
	Out io.Writer
	// GitEnv is added to every git command's environment (tests set the
	// author there).
	GitEnv []string
}

// Plan is what a release does.
type Plan struct {
	// Versions is the manifest's published versions after the release.
	Versions map[string]string
	// Releases maps each target module to its new version.
	Releases map[string]string
	// Tags lists the tags created, sorted.
	Tags []string
	// Manifest and Changelog are the new versions.yaml and CHANGELOG.md.
	Manifest, Changelog []byte
	// Entry is the CHANGELOG.md sections the release adds.
	Entry string
	// GoMods maps a go.mod path (slash-separated, from the root) to its
	// text in the tagged tree, for every go.mod the rewrite changes.
	GoMods map[string][]byte
	// Warnings are facts worth reading that do not stop the release.
	Warnings []string
}

// Run plans the release and, unless DryRun, performs it.
func Run(ctx context.Context, o Options) (*Plan, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Date.IsZero() {
		o.Date = time.Now().UTC()
	}
	if len(o.Targets) == 0 {
		return nil, fmt.Errorf("%w: no module to release", ErrRelease)
	}
	g := git{dir: o.Root, env: o.GitEnv}
	if !o.DryRun {
		status, err := g.run(ctx, nil, "status", "--porcelain")
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(status)) != 0 {
			return nil, fmt.Errorf("%w: the work tree has uncommitted changes:\n%s", ErrRelease, status)
		}
	}
	p, err := plan(ctx, g, o)
	if err != nil {
		return nil, err
	}
	p.print(o.Out, o.DryRun)
	if o.DryRun {
		return p, nil
	}
	return p, p.apply(ctx, g, o.Out)
}

func plan(ctx context.Context, g git, o Options) (*Plan, error) {
	ws, err := versions.Load(o.Root)
	if err != nil {
		return nil, err
	}
	if problems := ws.Check(); len(problems) > 0 {
		return nil, fmt.Errorf("%w: the repository fails the versions check:\n%s", ErrRelease, strings.Join(problems, "\n"))
	}
	man := ws.Manifest
	tagList, err := g.run(ctx, nil, "tag", "--list")
	if err != nil {
		return nil, err
	}
	tags := map[string]bool{}
	for _, t := range strings.Fields(string(tagList)) {
		tags[t] = true
	}
	p := &Plan{Versions: map[string]string{}, Releases: map[string]string{}, GoMods: map[string][]byte{}}
	for mod, ver := range man.Versions {
		p.Versions[mod] = ver
	}
	for _, t := range o.Targets {
		cur, ok := man.Versions[t.Module]
		if !ok {
			return nil, fmt.Errorf("%w: %q is not a published module of %s", ErrRelease, t.Module, versions.ManifestFile)
		}
		if _, dup := p.Releases[t.Module]; dup {
			return nil, fmt.Errorf("%w: %s is named twice", ErrRelease, t.Module)
		}
		next, err := nextVersion(t, cur, tags[t.Module+"/"+cur], o.Bump)
		if err != nil {
			return nil, err
		}
		if tags[t.Module+"/"+next] {
			return nil, fmt.Errorf("%w: tag %s/%s exists", ErrRelease, t.Module, next)
		}
		p.Releases[t.Module] = next
		p.Versions[t.Module] = next
		p.Tags = append(p.Tags, t.Module+"/"+next)
	}
	sort.Strings(p.Tags)

	// Every sibling a released module requires must be released already, at
	// the version the manifest names, or be released now.
	for _, gm := range ws.Mods {
		if _, ok := p.Releases[gm.Dir]; !ok {
			continue
		}
		for _, r := range gm.File.Require {
			dep, ok := versions.Module(r.Mod.Path)
			if !ok {
				continue
			}
			if _, now := p.Releases[dep]; now {
				continue
			}
			tag := dep + "/" + p.Versions[dep]
			if !tags[tag] {
				return nil, fmt.Errorf("%w: %s requires %s %s, which is not tagged (%s); release %s first, or together with %s",
					ErrRelease, gm.Dir, dep, p.Versions[dep], tag, dep, gm.Dir)
			}
			// The tagged go.mod differs from main's by construction, so
			// compare everything else.
			_, err := g.run(ctx, nil, "diff", "--quiet", tag, "HEAD", "--", dep+"/", ":(exclude)"+dep+"/go.mod", ":(exclude)"+dep+"/go.sum")
			if err != nil {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s has changes since %s that %s %s will not see: its users get %s %s (release %s too if %s needs them)",
					dep, tag, gm.Dir, p.Releases[gm.Dir], dep, p.Versions[dep], dep, gm.Dir))
			}
		}
	}
	sort.Strings(p.Warnings)

	if p.Manifest, err = man.WithVersions(p.Releases); err != nil {
		return nil, err
	}
	changelog, err := os.ReadFile(filepath.Join(o.Root, "CHANGELOG.md"))
	if err != nil {
		return nil, err
	}
	var order []string
	for _, t := range o.Targets {
		order = append(order, t.Module)
	}
	if p.Changelog, p.Entry, err = moveChangelog(changelog, order, p.Releases, o.Notes, o.Date); err != nil {
		return nil, err
	}
	if p.GoMods, err = TaggedGoMods(ws, p.Versions); err != nil {
		return nil, err
	}
	return p, nil
}

// TaggedGoMods returns, for every go.mod under the workspace root whose text
// the release rewrite changes, its text in the tagged tree: each sibling
// required at its version in vers. The consumer test builds its module proxy
// from the same rewrite.
func TaggedGoMods(ws *versions.Workspace, vers map[string]string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, gm := range ws.Mods {
		name := filepath.Join(ws.Root, filepath.FromSlash(gm.Dir), "go.mod")
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		tagged, err := versions.ForTag(name, data, vers)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(tagged, data) {
			out[gm.Dir+"/go.mod"] = tagged
		}
	}
	return out, nil
}

func nextVersion(t Target, cur string, curTagged bool, bump string) (string, error) {
	if t.Version != "" {
		v := t.Version
		switch {
		case !semver.IsValid(v) || semver.Canonical(v) != v:
			return "", fmt.Errorf("%w: %s@%s: not a canonical semantic version", ErrRelease, t.Module, v)
		case semver.Major(v) != "v0":
			return "", fmt.Errorf("%w: %s@%s: modules are v0 while the API settles", ErrRelease, t.Module, v)
		case semver.Compare(v, cur) < 0 || (v == cur && curTagged):
			return "", fmt.Errorf("%w: %s@%s: not after the current version %s", ErrRelease, t.Module, v, cur)
		}
		return v, nil
	}
	if !curTagged {
		// The manifest's version was never tagged: release it as it is.
		return cur, nil
	}
	parts := strings.Split(strings.TrimPrefix(semver.Canonical(cur), "v"), ".")
	if semver.Prerelease(cur) != "" || len(parts) != 3 {
		return "", fmt.Errorf("%w: %s: give the version after %s explicitly", ErrRelease, t.Module, cur)
	}
	minor, _ := strconv.Atoi(parts[1])
	patch, _ := strconv.Atoi(parts[2])
	switch bump {
	case "", "minor":
		return fmt.Sprintf("v0.%d.0", minor+1), nil
	case "patch":
		return fmt.Sprintf("v0.%d.%d", minor, patch+1), nil
	}
	return "", fmt.Errorf("%w: bump %q: want minor or patch", ErrRelease, bump)
}

// moveChangelog moves each released module's items from the "## Unreleased"
// section into a new section per module, placed right after Unreleased. An
// item is a bullet, at any depth, whose text starts with bold module names,
// "- **tso**: ..." or "- **pdclient**, **tso**: ...", with the lines
// indented under it. A released module is taken out of an item's names; the
// item leaves Unreleased when no name is left.
func moveChangelog(data []byte, order []string, releases map[string]string, notes string, date time.Time) ([]byte, string, error) {
	lines := strings.Split(string(data), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "## Unreleased" {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, "", fmt.Errorf("%w: CHANGELOG.md has no \"## Unreleased\" section", ErrRelease)
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "## ") {
			end = i
			break
		}
	}
	released := map[string]bool{}
	for _, mod := range order {
		released[mod] = true
	}
	moved := map[string][]string{}
	var kept []string
	body := lines[start+1 : end]
	for i := 0; i < len(body); {
		l := body[i]
		indent := len(l) - len(strings.TrimLeft(l, " "))
		text, isItem := strings.CutPrefix(l[indent:], "- ")
		// The item's own lines: the bullet and what is indented deeper.
		n := 1
		for isItem && i+n < len(body) {
			next := body[i+n]
			if strings.TrimSpace(next) == "" || len(next)-len(strings.TrimLeft(next, " ")) <= indent {
				break
			}
			n++
		}
		names, rest := itemModules(text)
		var left []string
		for _, name := range names {
			if released[name] {
				entry := []string{"- **" + name + "**: " + rest}
				for _, c := range body[i+1 : i+n] {
					entry = append(entry, c[indent:])
				}
				moved[name] = append(moved[name], entry...)
			} else {
				left = append(left, "**"+name+"**")
			}
		}
		switch {
		case !isItem || len(names) == len(left):
			// Untouched: its indented lines may hold items of their own.
			kept = append(kept, l)
			n = 1
		case len(left) > 0:
			kept = append(kept, l[:indent]+"- "+strings.Join(left, ", ")+": "+rest)
			kept = append(kept, body[i+1:i+n]...)
		}
		i += n
	}
	for len(kept) > 0 && strings.TrimSpace(kept[len(kept)-1]) == "" {
		kept = kept[:len(kept)-1]
	}
	var sections []string
	for _, mod := range order {
		items := moved[mod]
		if notes != "" {
			items = append(items, "- **"+mod+"**: "+notes)
		}
		if len(items) == 0 {
			return nil, "", fmt.Errorf("%w: CHANGELOG.md has no \"- **%s**:\" item under Unreleased; add one or pass notes", ErrRelease, mod)
		}
		sections = append(sections, "", fmt.Sprintf("## %s %s (%s)", mod, releases[mod], date.Format(time.DateOnly)), "")
		sections = append(sections, items...)
	}
	out := append([]string{}, lines[:start+1]...)
	out = append(out, kept...)
	out = append(out, sections...)
	if end < len(lines) {
		out = append(out, "")
	}
	out = append(out, lines[end:]...)
	return []byte(strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"), strings.Join(sections[1:], "\n") + "\n", nil
}

// itemModules splits "**a**, **b**: text" into [a b] and "text"; text
// without leading bold names gives none.
func itemModules(text string) ([]string, string) {
	var names []string
	rest := text
	for {
		name, after, ok := strings.Cut(strings.TrimPrefix(rest, "**"), "**")
		if !strings.HasPrefix(rest, "**") || !ok {
			return nil, text
		}
		names = append(names, name)
		if r, ok := strings.CutPrefix(after, ", "); ok {
			rest = r
			continue
		}
		if r, ok := strings.CutPrefix(after, ": "); ok {
			return names, r
		}
		return nil, text
	}
}

func (p *Plan) print(w io.Writer, dry bool) {
	if dry {
		fmt.Fprintln(w, "dry run: nothing is changed")
	}
	var mods []string
	for mod := range p.Releases {
		mods = append(mods, mod)
	}
	sort.Strings(mods)
	for _, mod := range mods {
		fmt.Fprintf(w, "release %s %s\n", mod, p.Releases[mod])
	}
	fmt.Fprintf(w, "commit on the current branch: %s and CHANGELOG.md, which gets:\n\n%s\n", versions.ManifestFile, p.Entry)
	fmt.Fprintln(w, "tagged child commit of it, whose go.mod files require:")
	var paths []string
	for path := range p.GoMods {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		var reqs []string
		if f, err := modfile.Parse(path, p.GoMods[path], nil); err == nil {
			for _, r := range f.Require {
				if dep, ok := versions.Module(r.Mod.Path); ok {
					reqs = append(reqs, dep+" "+r.Mod.Version)
				}
			}
		}
		fmt.Fprintf(w, "  %s: %s\n", path, strings.Join(reqs, ", "))
	}
	fmt.Fprintf(w, "tags: %s\n", strings.Join(p.Tags, " "))
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

func (p *Plan) apply(ctx context.Context, g git, out io.Writer) error {
	for name, data := range map[string][]byte{versions.ManifestFile: p.Manifest, "CHANGELOG.md": p.Changelog} {
		if err := os.WriteFile(filepath.Join(g.dir, name), data, 0o644); err != nil {
			return err
		}
	}
	title := "release: " + strings.Join(p.Tags, " ")
	if _, err := g.run(ctx, nil, "commit", "--quiet", "-m", title, "--", versions.ManifestFile, "CHANGELOG.md"); err != nil {
		return err
	}
	// Build the tagged tree in a private index, so the work tree and the
	// branch stay at v0.0.0.
	index, err := os.CreateTemp("", "release-index-*")
	if err != nil {
		return err
	}
	index.Close()
	defer os.Remove(index.Name())
	ig := git{dir: g.dir, env: append(append([]string{}, g.env...), "GIT_INDEX_FILE="+index.Name())}
	if _, err := ig.run(ctx, nil, "read-tree", "HEAD"); err != nil {
		return err
	}
	var paths []string
	for path := range p.GoMods {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		blob, err := ig.run(ctx, p.GoMods[path], "hash-object", "-w", "--stdin")
		if err != nil {
			return err
		}
		if _, err := ig.run(ctx, nil, "update-index", "--cacheinfo", "100644,"+strings.TrimSpace(string(blob))+","+path); err != nil {
			return err
		}
	}
	tree, err := ig.run(ctx, nil, "write-tree")
	if err != nil {
		return err
	}
	msg := title + "\n\nThe go.mod files require every sibling at its version in " + versions.ManifestFile + ".\n"
	commit, err := g.run(ctx, nil, "commit-tree", strings.TrimSpace(string(tree)), "-p", "HEAD", "-m", msg)
	if err != nil {
		return err
	}
	for _, tag := range p.Tags {
		mod, ver, _ := strings.Cut(tag, "/")
		if _, err := g.run(ctx, nil, "tag", "-a", tag, strings.TrimSpace(string(commit)), "-m", mod+" "+ver); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "tagged %s; publish with: git push <remote> HEAD %s\n", strings.TrimSpace(string(commit))[:12], strings.Join(p.Tags, " "))
	return nil
}

type git struct {
	dir string
	env []string
}

func (g git) run(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.dir}, args...)...)
	cmd.Env = append(os.Environ(), g.env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("release: git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
