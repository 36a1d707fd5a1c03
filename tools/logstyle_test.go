package tools_test

import (
	"path/filepath"
	"testing"

	"github.com/tikvgo/tikvgo/tools/internal/depcheck"
	"github.com/tikvgo/tikvgo/tools/internal/logcheck"
)

// TestLogCallsFollowConvention fails on a log call in a workspace module
// whose message lacks the package prefix or whose attribute keys are
// misspelt ("err" for "error", camelCase), so the convention in
// docs/architecture.md does not drift.
func TestLogCallsFollowConvention(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mods, err := depcheck.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		bad, err := logcheck.Dir(filepath.Join(root, m.Name))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range bad {
			t.Errorf("log convention: %s", s)
		}
	}
}
