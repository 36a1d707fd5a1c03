package release

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/tikvgo/tikvgo/tools/internal/versions"
)

var gitEnv = []string{
	"GIT_AUTHOR_NAME=release test", "GIT_AUTHOR_EMAIL=release@test",
	"GIT_COMMITTER_NAME=release test", "GIT_COMMITTER_EMAIL=release@test",
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := git{dir: dir, env: gitEnv}.run(t.Context(), nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func gomod(dir string, deps ...string) string {
	s := "module " + versions.Prefix + dir + "\n\ngo 1.26.0\n"
	for _, d := range deps {
		s += "\nrequire " + versions.Prefix + d + " v0.0.0\n\nreplace " + versions.Prefix + d + " => ../" + d + "\n"
	}
	return s
}

// synthRepo makes a git repository with modules a <- b <- c (c requires b
// and a) in the layout of docs/architecture.md.
func synthRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := t.TempDir()
	files := map[string]string{
		"versions.yaml": "modules:\n  a: v0.1.0\n  b: v0.1.0\n  c: v0.3.0\n",
		"go.work":       "go 1.26.0\n\nuse (\n\t./a\n\t./b\n\t./c\n)\n",
		"CHANGELOG.md":  "# Changelog\n\n## Unreleased\n\n- **a**: first.\n- **b**: uses a;\n  two lines.\n- **workspace**: stays.\n- **c**: more.\n",
		"a/go.mod":      gomod("a"),
		"a/a.go":        "package a\n",
		"b/go.mod":      gomod("b", "a"),
		"b/b.go":        "package b\n",
		"c/go.mod":      gomod("c", "a", "b"),
		"c/c.go":        "package c\n",
	}
	for p, body := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitOut(t, root, "init", "--quiet", "-b", "main")
	gitOut(t, root, "add", ".")
	gitOut(t, root, "commit", "--quiet", "-m", "initial")
	return root
}

func run(t *testing.T, root string, dry bool, targets ...string) (*Plan, string, error) {
	t.Helper()
	var ts []Target
	for _, s := range targets {
		ts = append(ts, ParseTarget(s))
	}
	var out bytes.Buffer
	p, err := Run(t.Context(), Options{Root: root, Targets: ts, DryRun: dry, Out: &out, GitEnv: gitEnv,
		Date: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)})
	return p, out.String(), err
}

// requires returns the sibling requirements of a go.mod at a revision.
func requires(t *testing.T, root, rev, mod string) map[string]string {
	t.Helper()
	f, err := modfile.Parse(mod, []byte(gitOut(t, root, "show", rev+":"+mod+"/go.mod")), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range f.Require {
		if dep, ok := versions.Module(r.Mod.Path); ok {
			out[dep] = r.Mod.Version
		}
	}
	return out
}

func TestReleaseSynthetic(t *testing.T) {
	root := synthRepo(t)
	head := gitOut(t, root, "rev-parse", "HEAD")

	// b needs a, which is not tagged.
	if _, _, err := run(t, root, false, "b"); !errors.Is(err, ErrRelease) || !strings.Contains(err.Error(), "release a first") {
		t.Fatalf("releasing b before a: %v", err)
	}

	// A dry run prints the plan and changes nothing.
	_, out, err := run(t, root, true, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dry run", "release a v0.1.0", "release b v0.1.0", "## b v0.1.0 (2026-12-04)", "  two lines.", "b/go.mod: a v0.1.0", "tags: a/v0.1.0 b/v0.1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if tags := gitOut(t, root, "tag"); tags != "" || gitOut(t, root, "rev-parse", "HEAD") != head || gitOut(t, root, "status", "--porcelain") != "" {
		t.Fatalf("dry run changed the repository: tags %q", tags)
	}

	// First release: a and b at their manifest versions, together.
	if _, _, err := run(t, root, false, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if got := gitOut(t, root, "tag"); got != "a/v0.1.0\nb/v0.1.0\n" {
		t.Fatalf("tags %q", got)
	}
	if got := requires(t, root, "b/v0.1.0", "b"); got["a"] != "v0.1.0" {
		t.Fatalf("tagged b/go.mod requires %v", got)
	}
	if got := requires(t, root, "HEAD", "b"); got["a"] != "v0.0.0" {
		t.Fatalf("the branch's b/go.mod requires %v, want v0.0.0", got)
	}
	if parent := gitOut(t, root, "rev-parse", "b/v0.1.0^{commit}^"); parent != gitOut(t, root, "rev-parse", "HEAD") {
		t.Fatal("the tagged commit is not a child of the release commit")
	}
	log := gitOut(t, root, "show", "HEAD:CHANGELOG.md")
	wantLog := "# Changelog\n\n## Unreleased\n\n- **workspace**: stays.\n- **c**: more.\n\n" +
		"## a v0.1.0 (2026-12-04)\n\n- **a**: first.\n\n## b v0.1.0 (2026-12-04)\n\n- **b**: uses a;\n  two lines.\n"
	if log != wantLog {
		t.Fatalf("CHANGELOG.md:\n%s\nwant:\n%s", log, wantLog)
	}

	// Tagging the same version again is refused; releasing b again bumps
	// its minor version, and needs a CHANGELOG line.
	if _, _, err := run(t, root, false, "b@v0.1.0"); !errors.Is(err, ErrRelease) {
		t.Fatalf("re-tagging b/v0.1.0: %v", err)
	}
	if _, _, err := run(t, root, false, "b"); !errors.Is(err, ErrRelease) || !strings.Contains(err.Error(), "CHANGELOG") {
		t.Fatalf("releasing b without a CHANGELOG line: %v", err)
	}
	if _, _, err := run(t, root, false, "a@v1.0.0"); !errors.Is(err, ErrRelease) {
		t.Fatalf("a v1 release: %v", err)
	}
	var nb bytes.Buffer
	_, err = Run(t.Context(), Options{Root: root, Targets: []Target{{Module: "b"}, {Module: "c", Version: "v0.3.1"}}, Notes: "dependency update.", Out: &nb, GitEnv: gitEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := gitOut(t, root, "show", "HEAD:versions.yaml"); got != "modules:\n  a: v0.1.0\n  b: v0.2.0\n  c: v0.3.1\n" {
		t.Fatalf("versions.yaml after the second release:\n%s", got)
	}
	if got := requires(t, root, "c/v0.3.1", "c"); got["a"] != "v0.1.0" || got["b"] != "v0.2.0" {
		t.Fatalf("tagged c/go.mod requires %v", got)
	}
	if got := requires(t, root, "b/v0.2.0", "b"); got["a"] != "v0.1.0" {
		t.Fatalf("tagged b/go.mod requires %v", got)
	}

	// A dependency with changes since its tag is a warning, not an error.
	if err := os.WriteFile(filepath.Join(root, "a", "new.go"), []byte("package a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, root, false, "b"); !errors.Is(err, ErrRelease) || !strings.Contains(err.Error(), "uncommitted") {
		t.Fatalf("releasing from a dirty tree: %v", err)
	}
	log = gitOut(t, root, "show", "HEAD:CHANGELOG.md")
	log = strings.Replace(log, "- **workspace**: stays.\n", "- **workspace**: stays.\n- **b**: next.\n", 1)
	if err := os.WriteFile(filepath.Join(root, "CHANGELOG.md"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	gitOut(t, root, "add", ".")
	gitOut(t, root, "commit", "--quiet", "-m", "a: new file")
	p, _, err := run(t, root, true, "b")
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "a has changes since a/v0.1.0") {
		t.Fatalf("warnings %q", p.Warnings)
	}
}

func TestMoveChangelog(t *testing.T) {
	in := "# Changelog\n\nAll v0.\n\n## Unreleased\n\n" +
		"- **workspace**: stays.\n" +
		"- **tso**: one;\n  continued.\n" +
		"- **errors**: shared vocabulary.\n" +
		"  - **retry**: holds it.\n" +
		"    - detail.\n" +
		"  - **tso**: uses it.\n" +
		"- **pdclient**, **tso**, **e2e**: log prefixes.\n" +
		"- **tsoish**: not tso.\n" +
		"\n## retry v0.1.0 (2026-01-01)\n\n- **retry**: old.\n"
	out, entry, err := moveChangelog([]byte(in), []string{"tso", "retry"}, map[string]string{"tso": "v0.2.0", "retry": "v0.1.1"}, "", time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := "# Changelog\n\nAll v0.\n\n## Unreleased\n\n" +
		"- **workspace**: stays.\n" +
		"- **errors**: shared vocabulary.\n" +
		"- **pdclient**, **e2e**: log prefixes.\n" +
		"- **tsoish**: not tso.\n" +
		"\n## tso v0.2.0 (2026-12-04)\n\n" +
		"- **tso**: one;\n  continued.\n" +
		"- **tso**: uses it.\n" +
		"- **tso**: log prefixes.\n" +
		"\n## retry v0.1.1 (2026-12-04)\n\n" +
		"- **retry**: holds it.\n  - detail.\n" +
		"\n## retry v0.1.0 (2026-01-01)\n\n- **retry**: old.\n"
	if string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	if !strings.HasPrefix(entry, "## tso v0.2.0 (2026-12-04)\n") {
		t.Fatalf("entry %q", entry)
	}
}

func TestNextVersion(t *testing.T) {
	for _, tc := range []struct {
		t       Target
		cur     string
		tagged  bool
		bump    string
		want    string
		wantErr bool
	}{
		{Target{"a", ""}, "v0.1.0", false, "", "v0.1.0", false},
		{Target{"a", ""}, "v0.1.0", true, "", "v0.2.0", false},
		{Target{"a", ""}, "v0.1.3", true, "patch", "v0.1.4", false},
		{Target{"a", ""}, "v0.1.3", true, "major", "", true},
		{Target{"a", "v0.5.0"}, "v0.1.3", true, "", "v0.5.0", false},
		{Target{"a", "v0.1.3"}, "v0.1.3", true, "", "", true},
		{Target{"a", "v0.1.2"}, "v0.1.3", false, "", "", true},
		{Target{"a", "v2.0.0"}, "v0.1.3", false, "", "", true},
		{Target{"a", "0.2.0"}, "v0.1.3", false, "", "", true},
	} {
		got, err := nextVersion(tc.t, tc.cur, tc.tagged, tc.bump)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("nextVersion(%v, %s, tagged=%v, %q) = %q, %v", tc.t, tc.cur, tc.tagged, tc.bump, got, err)
		}
	}
}

// TestReleaseClone releases tso, with the modules it requires, in a clone of
// this repository and checks the tagged go.mod files.
func TestReleaseClone(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	src, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	root := filepath.Join(t.TempDir(), "repo")
	// Without tags, and with notes for the CHANGELOG, so the test does not
	// depend on what was released or written since.
	cmd := exec.CommandContext(context.Background(), "git", "clone", "--quiet", "--no-tags", "--shared", src, root)
	cmd.Env = append(os.Environ(), gitEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	release := func(mods ...string) (*Plan, error) {
		var ts []Target
		for _, m := range mods {
			ts = append(ts, Target{Module: m})
		}
		return Run(t.Context(), Options{Root: root, Targets: ts, Notes: "released by TestReleaseClone.", GitEnv: gitEnv})
	}
	if _, err := release("tso"); !errors.Is(err, ErrRelease) {
		t.Fatalf("releasing tso before pdclient: %v", err)
	}
	p, err := release("retry", "pdclient", "tso")
	if err != nil {
		t.Fatal(err)
	}
	for _, mod := range []string{"retry", "pdclient", "tso"} {
		tag := mod + "/" + p.Releases[mod]
		if gitOut(t, root, "tag", "--list", tag) != tag+"\n" {
			t.Fatalf("tag %s missing", tag)
		}
	}
	got := requires(t, root, "tso/"+p.Releases["tso"], "tso")
	if got["pdclient"] != p.Versions["pdclient"] || got["retry"] != p.Versions["retry"] || len(got) != 2 {
		t.Fatalf("tagged tso/go.mod requires %v, want pdclient and retry at %v", got, p.Versions)
	}
	if got := requires(t, root, "HEAD", "tso"); got["pdclient"] != versions.Placeholder {
		t.Fatalf("the branch's tso/go.mod requires %v", got)
	}
	// The branch still passes the versions check after the release.
	ws, err := versions.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if problems := ws.Check(); len(problems) > 0 {
		t.Fatalf("after the release: %q", problems)
	}
}
