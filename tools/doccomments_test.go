package tools_test

import (
	"path/filepath"
	"testing"

	"github.com/tikvgo/tikvgo/tools/internal/depcheck"
	"github.com/tikvgo/tikvgo/tools/internal/doccheck"
)

// TestExportedSymbolsAreDocumented fails on any exported identifier in a
// workspace module that has no doc comment (STYLE §3.6).
func TestExportedSymbolsAreDocumented(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mods, err := depcheck.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		missing, err := doccheck.Dir(filepath.Join(root, m.Name))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range missing {
			t.Errorf("undocumented exported identifier: %s", s)
		}
	}
}
