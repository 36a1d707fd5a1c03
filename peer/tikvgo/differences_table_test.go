package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestKnownDifferencesTable keeps the table honest: unique names, a reason
// and a reference for every row, an accept function exactly for the rows
// accepted when seen, and every row cited in this package's sources (as the
// table name, a colon and the row name) existing.
func TestKnownDifferencesTable(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, d := range knownDifferences {
		if names[d.name] {
			t.Errorf("duplicate row %q", d.name)
		}
		names[d.name] = true
		if d.reason == "" || d.ref == "" {
			t.Errorf("row %q lacks a reason or a semantics doc reference", d.name)
		}
		if (d.handled == acceptedWhenSeen) != (d.accept != nil) {
			t.Errorf("row %q: handled %s but accept set = %v", d.name, d.handled, d.accept != nil)
		}
		if d.handled == acceptedWhenSeen && len(d.cmds) == 0 {
			t.Errorf("row %q is accepted for no command", d.name)
		}
	}
	sims := map[string]bool{}
	for _, d := range simDeviations {
		sims[d.name] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	cite := regexp.MustCompile(`(knownDifferences|simDeviations):\s*([a-z0-9-]+)`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cite.FindAllStringSubmatch(string(src), -1) {
			table, name := m[1], m[2]
			if table == "knownDifferences" && !names[name] || table == "simDeviations" && !sims[name] {
				t.Errorf("%s cites %s row %q, which does not exist", f, table, name)
			}
		}
	}
}
