// Package errcheck finds exported sentinel errors that repeat another's
// meaning, so each condition keeps one sentinel across the workspace
// (docs/errors.md).
//
// A sentinel is a package-level exported variable named Err… whose value is
// errors.New("…") or fmt.Errorf("…") without %w (a definition), or another
// sentinel (an alias: ErrX = retry.ErrX, which keeps identity and is fine).
// Two distinct definitions collide when their messages are equal once the
// package prefix ("locate: ") is dropped and case and spaces are folded, or
// when they carry the same identifier: the name is what callers read, so two
// ErrClosed values in two packages are two meanings of one word.
package errcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// Sentinel is one exported Err… variable.
type Sentinel struct {
	// ID is "import/path.ErrName".
	ID string
	// Name is the identifier, ErrName.
	Name string
	// Msg is the message of a definition; empty for an alias.
	Msg string
	// AliasOf is the ID of the sentinel an alias refers to; empty for a
	// definition.
	AliasOf string
	// Pos is the file:line of the declaration.
	Pos string
}

// Module parses the non-test Go files of the module rooted at dir and returns
// its sentinels in a stable order. Directories named testdata or starting
// with a dot are skipped.
func Module(dir string) ([]Sentinel, error) {
	var out []Sentinel
	err := walk(dir, func(fset *token.FileSet, f *ast.File, pkg string) {
		out = append(out, File(fset, f, pkg)...)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// walk calls fn for every non-test Go file of the module rooted at dir, with
// the file's package import path.
func walk(dir string, fn func(fset *token.FileSet, f *ast.File, pkg string)) error {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	modPath := modfile.ModulePath(data)
	if modPath == "" {
		return fmt.Errorf("errcheck: %s/go.mod names no module", dir)
	}
	fset := token.NewFileSet()
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if p != dir {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir // a nested module is walked on its own
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, filepath.Dir(p))
		if err != nil {
			return err
		}
		fn(fset, f, path.Join(modPath, filepath.ToSlash(rel)))
		return nil
	})
}

func importsOf(f *ast.File) map[string]string {
	imports := map[string]string{} // local name -> import path
	for _, im := range f.Imports {
		p, err := strconv.Unquote(im.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = p
	}
	return imports
}

// File returns the sentinels declared in one parsed file of package pkg (an
// import path).
func File(fset *token.FileSet, f *ast.File, pkg string) []Sentinel {
	imports := importsOf(f)
	var out []Sentinel
	for _, decl := range f.Decls {
		d, ok := decl.(*ast.GenDecl)
		if !ok || d.Tok != token.VAR {
			continue
		}
		for _, spec := range d.Specs {
			s := spec.(*ast.ValueSpec)
			if len(s.Values) != len(s.Names) {
				continue
			}
			for i, n := range s.Names {
				if !n.IsExported() || !strings.HasPrefix(n.Name, "Err") {
					continue
				}
				sen := Sentinel{ID: pkg + "." + n.Name, Name: n.Name, Pos: fset.Position(n.Pos()).String()}
				switch v := s.Values[i].(type) {
				case *ast.CallExpr:
					msg, ok := definition(v, imports)
					if !ok {
						continue
					}
					sen.Msg = msg
				case *ast.SelectorExpr:
					x, ok := v.X.(*ast.Ident)
					if !ok || imports[x.Name] == "" {
						continue
					}
					sen.AliasOf = imports[x.Name] + "." + v.Sel.Name
				case *ast.Ident:
					sen.AliasOf = pkg + "." + v.Name
				default:
					continue
				}
				out = append(out, sen)
			}
		}
	}
	return out
}

// definition returns the message of errors.New("…") or of fmt.Errorf("…")
// without %w; a fmt.Errorf that wraps something derives from another error
// and is not a sentinel of its own.
func definition(call *ast.CallExpr, imports map[string]string) (string, bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) == 0 {
		return "", false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return "", false
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	msg, err := strconv.Unquote(lit.Value)
	if err != nil {
		return "", false
	}
	switch {
	case imports[x.Name] == "errors" && sel.Sel.Name == "New":
		return msg, true
	case imports[x.Name] == "fmt" && sel.Sel.Name == "Errorf" && !strings.Contains(msg, "%w"):
		return msg, true
	}
	return "", false
}

var prefix = regexp.MustCompile(`^[a-z][a-z0-9_]*: `)

// Normalize is the text two messages are compared by: the package prefix
// dropped, lower case, runs of spaces folded.
func Normalize(msg string) string {
	return strings.Join(strings.Fields(strings.ToLower(prefix.ReplaceAllString(msg, ""))), " ")
}

// Duplicates reports every group of two or more distinct definitions that
// share a normalised message or an identifier, one line per group. A
// sentinel listed in allow (by ID, with the reason as value) is exempt: it
// may share its text or name with any other. Aliases whose target is not
// among sents are reported too, since nothing then vouches for their value.
func Duplicates(sents []Sentinel, allow map[string]string) []string {
	byID := map[string]Sentinel{}
	for _, s := range sents {
		byID[s.ID] = s
	}
	var out []string
	byMsg := map[string][]string{}
	byName := map[string][]string{}
	for _, s := range sents {
		if s.AliasOf != "" {
			if !strings.Contains(s.AliasOf, "/tikvgo/") {
				continue // an alias of a standard or third-party error
			}
			if _, ok := byID[s.AliasOf]; !ok {
				out = append(out, fmt.Sprintf("%s (%s) aliases %s, which is not a sentinel this check knows", s.ID, s.Pos, s.AliasOf))
			}
			continue
		}
		if _, ok := allow[s.ID]; ok {
			continue
		}
		byMsg[Normalize(s.Msg)] = append(byMsg[Normalize(s.Msg)], s.ID)
		byName[s.Name] = append(byName[s.Name], s.ID)
	}
	report := func(what string, groups map[string][]string) {
		for key, ids := range groups {
			if len(ids) < 2 {
				continue
			}
			sort.Strings(ids)
			var where []string
			for _, id := range ids {
				where = append(where, fmt.Sprintf("%s (%s)", id, byID[id].Pos))
			}
			out = append(out, fmt.Sprintf("%s %q defined %d times: %s; keep one in the lowest module that sees it and alias or errors.Is it elsewhere",
				what, key, len(ids), strings.Join(where, ", ")))
		}
	}
	report("message", byMsg)
	report("name", byName)
	sort.Strings(out)
	return out
}

// Shared returns the IDs of the sentinels among sents whose value is a
// definition without a package prefix (retry's vocabulary), aliases
// included.
func Shared(sents []Sentinel) map[string]bool {
	byID := map[string]Sentinel{}
	for _, s := range sents {
		byID[s.ID] = s
	}
	out := map[string]bool{}
	for _, s := range sents {
		d := s
		for i := 0; d.AliasOf != "" && i < 10; i++ {
			d = byID[d.AliasOf]
		}
		if d.ID != "" && d.AliasOf == "" && !prefix.MatchString(d.Msg) {
			out[s.ID] = true
		}
	}
	return out
}

// BareWraps reports, as "file:line: …", every fmt.Errorf in the non-test Go
// files of the module at dir whose format starts with %w and whose first
// argument is a sentinel in shared (IDs, see [Shared]): such a message would
// begin with the shared sentinel's unprefixed text ("invalid option: …") and
// not say which module failed.
func BareWraps(dir string, shared map[string]bool) ([]string, error) {
	var out []string
	err := walk(dir, func(fset *token.FileSet, f *ast.File, pkg string) {
		imports := importsOf(f)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Errorf" {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || imports[x.Name] != "fmt" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			format, err := strconv.Unquote(lit.Value)
			if err != nil || !strings.HasPrefix(format, "%w") {
				return true
			}
			var id string
			switch a := call.Args[1].(type) {
			case *ast.Ident:
				id = pkg + "." + a.Name
			case *ast.SelectorExpr:
				if x, ok := a.X.(*ast.Ident); ok {
					id = imports[x.Name] + "." + a.Sel.Name
				}
			}
			if shared[id] {
				out = append(out, fmt.Sprintf("%s: fmt.Errorf(%q, %s, …) starts with a shared sentinel's unprefixed text: start the format with the package name", fset.Position(call.Pos()), format, id))
			}
			return true
		})
	})
	sort.Strings(out)
	return out, err
}
