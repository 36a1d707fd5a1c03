package tools_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tikvgo/tikvgo/tools/internal/depcheck"
)

// TestDependencyDirection fails on any module edge that docs/architecture.md
// does not allow, so the graph in the document and the code cannot drift.
func TestDependencyDirection(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := depcheck.ParseRules(doc)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := depcheck.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) < 12 {
		t.Fatalf("go.work lists %d modules, want every module of the design card", len(mods))
	}
	for _, v := range depcheck.Check(rules, mods) {
		t.Error(v)
	}
}
