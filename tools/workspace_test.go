package tools_test

import (
	"path/filepath"
	"testing"

	"github.com/tikvgo/tikvgo/tools/internal/depcheck"
)

// workspace returns the repository root and its workspace modules, which
// every repository check walks.
func workspace(t *testing.T) (root string, mods []depcheck.Module) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mods, err = depcheck.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return root, mods
}

// checkEveryModule runs check on every workspace module's directory and
// reports each finding as a test error, prefixed with what.
func checkEveryModule(t *testing.T, what string, check func(dir string) ([]string, error)) {
	t.Helper()
	root, mods := workspace(t)
	for _, m := range mods {
		found, err := check(filepath.Join(root, m.Name))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range found {
			t.Errorf("%s: %s", what, s)
		}
	}
}
