// Package depcheck enforces the allowed dependency direction between the
// workspace's modules, as declared in docs/architecture.md.
package depcheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

// Prefix is the module path prefix shared by every module of the workspace.
const Prefix = "github.com/tikvgo/tikvgo/"

// Rules says which sibling modules each module may require.
type Rules struct {
	// Allowed maps a module name to the sibling modules it may require.
	Allowed map[string]map[string]bool
	// Anything lists modules that may require any sibling (e2e, tools).
	Anything map[string]bool
	// TestOnly lists modules (tikvsim) that only modules whose row says
	// "anything" may require or import. A library module's tests that need
	// one live in the integration module: every requirement in a go.mod,
	// test-only or not, is in the module graph of the module's users.
	TestOnly map[string]bool
}

// Module is what the checker knows of one module.
type Module struct {
	Name     string
	Requires map[string]string // direct sibling requirement -> version
	Replaces map[string]string // sibling -> replacement path
	Imports  map[string]bool   // siblings imported by non-test files
	// TestImports are the siblings imported by _test.go files. In the
	// workspace a test builds whatever its go.mod says, so only this
	// catches a library test importing tikvsim before a standalone tidy
	// adds the requirement.
	TestImports map[string]bool
}

// ParseRules reads the dependency table from the architecture document. Rows
// look like "| `tso` | `pdclient`, `retry` |"; a second cell of "anything"
// marks a module that may require every sibling, and "nothing" one that
// requires none. A row whose third cell says "test-only" marks a module that
// only the "anything" modules may require.
func ParseRules(doc []byte) (Rules, error) {
	r := Rules{Allowed: map[string]map[string]bool{}, Anything: map[string]bool{}, TestOnly: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		allowed := map[string]bool{}
		deps := strings.TrimSpace(cells[1])
		switch {
		case strings.HasPrefix(deps, "anything"):
			r.Anything[name] = true
		case strings.HasPrefix(deps, "nothing"):
		default:
			for _, d := range strings.Split(deps, ",") {
				d = strings.Trim(strings.TrimSpace(d), "`")
				if d != "" {
					allowed[d] = true
				}
			}
		}
		r.Allowed[name] = allowed
		if len(cells) > 2 && strings.Contains(cells[2], "test-only") {
			r.TestOnly[name] = true
		}
	}
	if len(r.Allowed) == 0 {
		return r, errors.New("depcheck: no dependency table found")
	}
	return r, sc.Err()
}

// Load reads every module listed in the go.work file under root.
func Load(root string) ([]Module, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return nil, err
	}
	var mods []Module
	for _, u := range wf.Use {
		m, err := LoadModule(filepath.Join(root, u.Path))
		if err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	return mods, nil
}

// LoadModule reads one module's go.mod and the imports of its non-test files.
func LoadModule(dir string) (Module, error) {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return Module{}, err
	}
	mf, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		return Module{}, err
	}
	path := mf.Module.Mod.Path
	if !strings.HasPrefix(path, Prefix) {
		return Module{}, fmt.Errorf("depcheck: module %s is outside %s", path, Prefix)
	}
	m := Module{
		Name:        strings.TrimPrefix(path, Prefix),
		Requires:    map[string]string{},
		Replaces:    map[string]string{},
		Imports:     map[string]bool{},
		TestImports: map[string]bool{},
	}
	for _, r := range mf.Require {
		if r.Indirect || !strings.HasPrefix(r.Mod.Path, Prefix) {
			continue
		}
		m.Requires[sibling(r.Mod.Path)] = r.Mod.Version
	}
	for _, r := range mf.Replace {
		if strings.HasPrefix(r.Old.Path, Prefix) {
			m.Replaces[sibling(r.Old.Path)] = r.New.Path
		}
	}
	fset := token.NewFileSet()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// A nested go.mod starts another module; testdata is not code.
			if p != dir && (d.Name() == "testdata" || fileExists(filepath.Join(p, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		into := m.Imports
		if strings.HasSuffix(p, "_test.go") {
			into = m.TestImports
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			ip := strings.Trim(imp.Path.Value, `"`)
			if strings.HasPrefix(ip, Prefix) {
				if s := sibling(ip); s != m.Name {
					into[s] = true
				}
			}
		}
		return nil
	})
	return m, err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// sibling returns the module name of an import or module path inside the
// workspace: the first path element after Prefix.
func sibling(path string) string {
	rest := strings.TrimPrefix(path, Prefix)
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}

// Check returns every violation of the rules, sorted.
func Check(r Rules, mods []Module) []string {
	var out []string
	known := map[string]bool{}
	for _, m := range mods {
		known[m.Name] = true
	}
	for _, m := range mods {
		allowed, listed := r.Allowed[m.Name]
		if !listed {
			out = append(out, fmt.Sprintf("%s: module is missing from the dependency table", m.Name))
			continue
		}
		for dep, ver := range m.Requires {
			if !known[dep] {
				out = append(out, fmt.Sprintf("%s: requires %s, which is not in go.work", m.Name, dep))
			}
			if !r.Anything[m.Name] && !allowed[dep] && !r.TestOnly[dep] {
				out = append(out, fmt.Sprintf("%s: requires %s, an edge outside the table", m.Name, dep))
			}
			if r.Anything[dep] {
				out = append(out, fmt.Sprintf("%s: requires %s, which nothing may require", m.Name, dep))
			}
			if r.TestOnly[dep] && !r.Anything[m.Name] {
				out = append(out, fmt.Sprintf("%s: requires %s; tests that need it belong in the integration module", m.Name, dep))
			}
			if ver != "v0.0.0" {
				out = append(out, fmt.Sprintf("%s: requires %s at %s, want v0.0.0", m.Name, dep, ver))
			}
			if rep, want := m.Replaces[dep], "../"+dep; rep != want {
				out = append(out, fmt.Sprintf("%s: replace for %s is %q, want %q", m.Name, dep, rep, want))
			}
		}
		for dep := range m.TestImports {
			if r.TestOnly[dep] && !r.Anything[m.Name] {
				out = append(out, fmt.Sprintf("%s: tests import %s; they belong in the integration module", m.Name, dep))
			}
		}
		for dep := range m.Imports {
			if r.Anything[m.Name] {
				continue
			}
			if r.TestOnly[dep] {
				out = append(out, fmt.Sprintf("%s: imports %s outside its tests", m.Name, dep))
			} else if !allowed[dep] {
				out = append(out, fmt.Sprintf("%s: imports %s, an edge outside the table", m.Name, dep))
			}
		}
	}
	sort.Strings(out)
	return out
}
