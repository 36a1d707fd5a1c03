// Package logcheck checks log calls against the workspace's logging
// convention (docs/architecture.md, "Logging"): a constant message that
// starts with the package name and a colon, and snake_case attribute keys
// with the agreed spellings ("error", never "err").
package logcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// logMethods maps each *slog.Logger method to the index of its message
// argument.
var logMethods = map[string]int{
	"Debug": 0, "Info": 0, "Warn": 0, "Error": 0,
	"DebugContext": 1, "InfoContext": 1, "WarnContext": 1, "ErrorContext": 1,
	"Log": 2, "LogAttrs": 2,
}

// attrFuncs are the slog functions whose first argument is a key.
var attrFuncs = map[string]bool{
	"String": true, "Int": true, "Int64": true, "Uint64": true, "Float64": true,
	"Bool": true, "Time": true, "Duration": true, "Any": true, "Group": true,
}

// banned spellings and the key to use instead.
var banned = map[string]string{
	"err":    "error",
	"store":  "store_id",
	"region": "region_id",
}

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Dir reports every log call in the non-test Go files below dir that breaks
// the convention, as "file:line: problem". Directories named testdata are
// skipped.
func Dir(dir string) ([]string, error) {
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || (p != dir && strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		out = append(out, file(fset, f)...)
		return nil
	})
	sort.Strings(out)
	return out, err
}

func file(fset *token.FileSet, f *ast.File) []string {
	var out []string
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...)))
	}
	pkg := f.Name.Name
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == "slog" {
			if attrFuncs[sel.Sel.Name] && len(call.Args) > 0 {
				checkKey(call.Args[0], report)
			}
			if _, ok := logMethods[sel.Sel.Name]; ok {
				report(call, "slog.%s logs through the process-wide default logger; use the injected one", sel.Sel.Name)
			}
			return true
		}
		at, ok := logMethods[sel.Sel.Name]
		if !ok || !isLogger(sel.X) || len(call.Args) <= at {
			return true
		}
		checkMessage(pkg, call.Args[at], report)
		// Key-value pairs after the message: a string literal is a key
		// followed by its value; anything else is an Attr (checked above
		// when built with slog.X) or a value we cannot classify.
		for i := at + 1; i < len(call.Args); i++ {
			if lit, ok := call.Args[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				checkKey(lit, report)
				i++
			}
		}
		return true
	})
	return out
}

// isLogger reports whether x names a logger by this workspace's habit: the
// last identifier of the expression is log, logger or ends in Logger.
func isLogger(x ast.Expr) bool {
	var name string
	switch x := x.(type) {
	case *ast.Ident:
		name = x.Name
	case *ast.SelectorExpr:
		name = x.Sel.Name
	default:
		return false
	}
	return name == "log" || name == "logger" || strings.HasSuffix(name, "Logger")
}

func checkMessage(pkg string, arg ast.Expr, report func(ast.Node, string, ...any)) {
	lit, ok := arg.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		report(arg, "log message is not a constant string; put values in attributes")
		return
	}
	msg, err := strconv.Unquote(lit.Value)
	if err != nil {
		report(arg, "bad string literal")
		return
	}
	prefix := pkg + ": "
	if pkg == "main" {
		if i := strings.Index(msg, ": "); i > 0 {
			prefix = msg[:i+2]
		}
	}
	rest, ok := strings.CutPrefix(msg, prefix)
	switch {
	case !ok:
		report(arg, "log message %q does not start with %q", msg, prefix)
	case rest == "" || strings.HasSuffix(rest, ".") || strings.HasSuffix(rest, "\n"):
		report(arg, "log message %q: want a short event after the prefix, no trailing period or newline", msg)
	}
}

func checkKey(arg ast.Expr, report func(ast.Node, string, ...any)) {
	lit, ok := arg.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return // a computed key: nothing to check statically
	}
	key, err := strconv.Unquote(lit.Value)
	if err != nil {
		return
	}
	if want, ok := banned[key]; ok {
		report(arg, "log attribute key %q: use %q", key, want)
	} else if !keyRE.MatchString(key) {
		report(arg, "log attribute key %q is not snake_case", key)
	}
}
