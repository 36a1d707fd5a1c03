package versions

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

// GoMod is one go.mod file of the repository.
type GoMod struct {
	Dir  string // directory relative to the root, slash-separated
	File *modfile.File
}

// Workspace is what the check reads from a repository root.
type Workspace struct {
	Root     string
	Manifest *Manifest
	Work     map[string]bool // directories listed in go.work
	Mods     []GoMod         // every go.mod under the root, sorted by Dir
}

// Load reads the manifest, go.work and every go.mod under root (skipping
// testdata and hidden directories).
func Load(root string) (*Workspace, error) {
	data, err := os.ReadFile(filepath.Join(root, ManifestFile))
	if err != nil {
		return nil, err
	}
	man, err := ParseManifest(data)
	if err != nil {
		return nil, err
	}
	data, err = os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return nil, err
	}
	ws := &Workspace{Root: root, Manifest: man, Work: map[string]bool{}}
	for _, u := range wf.Use {
		ws.Work[path.Clean(filepath.ToSlash(u.Path))] = true
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "go.mod" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := modfile.Parse(p, data, nil)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		ws.Mods = append(ws.Mods, GoMod{Dir: filepath.ToSlash(rel), File: f})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(ws.Mods, func(i, j int) bool { return ws.Mods[i].Dir < ws.Mods[j].Dir })
	return ws, nil
}

// Module returns the directory of a workspace module path and whether the
// path is one.
func Module(modPath string) (string, bool) {
	dir, ok := strings.CutPrefix(modPath, Prefix)
	return dir, ok && dir != ""
}

// Check returns every disagreement between the go.mod files, go.work and the
// manifest under the layout of docs/architecture.md: on main each go.mod
// requires its siblings at v0.0.0 and replaces them with their directory, and
// only the release command writes real versions, into the tagged tree.
func (ws *Workspace) Check() []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	man := ws.Manifest
	found := map[string]bool{}
	for _, m := range ws.Mods {
		found[m.Dir] = true
		if m.File.Module == nil || m.File.Module.Mod.Path != Prefix+m.Dir {
			bad("%s: go.mod's module path is not %s%s", m.Dir, Prefix, m.Dir)
			continue
		}
		if !man.Has(m.Dir) {
			bad("%s: module is missing from %s", m.Dir, ManifestFile)
		}
		if _, published := man.Versions[m.Dir]; published && !ws.Work[m.Dir] {
			bad("%s: published in %s but not listed in go.work", m.Dir, ManifestFile)
		}
		replaces := map[string]string{}
		for _, r := range m.File.Replace {
			replaces[r.Old.Path] = r.New.Path
		}
		for _, r := range m.File.Require {
			dep, ok := Module(r.Mod.Path)
			if !ok {
				continue
			}
			if !man.Has(dep) {
				bad("%s: requires %s, which is missing from %s", m.Dir, dep, ManifestFile)
			}
			if _, published := man.Versions[m.Dir]; published && man.IsUnpublished(dep) {
				bad("%s: requires %s, which is unpublished", m.Dir, dep)
			}
			if r.Mod.Version != Placeholder {
				bad("%s: requires %s at %s, want %s (the release command writes real versions into the tagged tree only)", m.Dir, dep, r.Mod.Version, Placeholder)
			}
			rel, err := filepath.Rel(filepath.FromSlash(m.Dir), filepath.FromSlash(dep))
			if want := filepath.ToSlash(rel); err != nil || path.Clean(replaces[r.Mod.Path]) != want {
				bad("%s: replace for %s is %q, want %q (local builds resolve to the working tree)", m.Dir, dep, replaces[r.Mod.Path], want)
			}
		}
	}
	for dir := range ws.Work {
		if !found[dir] {
			bad("%s: listed in go.work but has no go.mod", dir)
		}
	}
	for _, dir := range man.Order {
		if !found[dir] {
			bad("%s: listed in %s but has no go.mod", dir, ManifestFile)
		}
	}
	for dir := range man.Unpublished {
		if !found[strings.TrimSuffix(dir, "/...")] {
			bad("%s: listed in %s but has no go.mod", dir, ManifestFile)
		}
	}
	for _, m := range ws.Mods {
		if !ws.Work[m.Dir] && !man.IsUnpublished(m.Dir) {
			bad("%s: go.mod is in neither go.work nor the unpublished list of %s", m.Dir, ManifestFile)
		}
	}
	sort.Strings(out)
	return out
}

// ForTag returns a go.mod's text as the release command tags it: every
// requirement on a workspace module is at that module's version in versions.
// Requirements on modules without a version (the unpublished ones, which
// only unpublished modules may require) stay at v0.0.0. Replace directives
// stay, so the tagged tree still builds from its own directories; a user's
// build ignores them, as Go ignores every replace outside the main module.
func ForTag(name string, data []byte, versions map[string]string) ([]byte, error) {
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return nil, err
	}
	changed := false
	for _, r := range f.Require {
		dep, ok := Module(r.Mod.Path)
		if !ok {
			continue
		}
		ver, ok := versions[dep]
		if !ok {
			continue
		}
		if r.Mod.Version != ver {
			if err := f.AddRequire(r.Mod.Path, ver); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	if !changed {
		return data, nil
	}
	f.Cleanup()
	return modfile.Format(f.Syntax), nil
}
