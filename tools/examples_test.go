package tools_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExamplesMatchIntegration keeps the examples a library package shows
// but cannot run (they need a cluster; PD endpoints come from pdAddrs) in
// step with their running twins in integration/<module>/, which start a
// simulated cluster and check // Output:. Code lines must be the same once
// the cluster setup is taken out; comments may differ.
func TestExamplesMatchIntegration(t *testing.T) {
	root, _ := workspace(t)
	dirs, err := filepath.Glob(filepath.Join(root, "integration", "*"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, dir := range dirs {
		mod := filepath.Base(dir)
		running := examples(t, dir)
		for name, shown := range examples(t, filepath.Join(root, mod)) {
			if !strings.Contains(shown, "pdAddrs") {
				continue // runs in its own package, against a fake
			}
			run, ok := running[name]
			if !ok {
				t.Errorf("%s.%s needs a cluster but has no running twin in integration/%s", mod, name, mod)
				continue
			}
			if got, want := exampleCode(shown), exampleCode(simFree(run)); got != want {
				t.Errorf("%s.%s differs from integration/%s's:\n%s\nwant\n%s", mod, name, mod, got, want)
			}
			checked++
		}
	}
	t.Logf("%d example pairs", checked)
	if checked == 0 {
		t.Fatal("no example pairs found; the check is looking in the wrong place")
	}
}

// examples returns the bodies of the Example functions in dir's
// example*_test.go files, by name.
func examples(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "example*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !strings.HasPrefix(fd.Name.Name, "Example") {
				continue
			}
			out[fd.Name.Name] = string(src[fset.Position(fd.Body.Lbrace).Offset : fset.Position(fd.Body.Rbrace).Offset+1])
		}
	}
	return out
}

var (
	// simSetup matches the lines that start and stop the simulated cluster
	// in a running example: a helper call, or tikvsim.Start with its check.
	simSetup = regexp.MustCompile(`(?m)^\s*(sim := startExampleCluster\(.*\)|defer sim\.Close\(\)|sim, err := tikvsim\.Start\(.*\)\n\s*if err != nil \{\n.*\n\s*\})\n`)
	// commentLine matches a line holding only a comment.
	commentLine = regexp.MustCompile(`(?m)^\s*//.*\n`)
)

// simFree turns a running example's body into the one its package shows.
func simFree(body string) string {
	return strings.ReplaceAll(simSetup.ReplaceAllString(body, ""), "sim.PDAddrs()", "pdAddrs")
}

// exampleCode drops comment-only and blank lines.
func exampleCode(body string) string {
	var lines []string
	for l := range strings.Lines(commentLine.ReplaceAllString(body, "")) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
