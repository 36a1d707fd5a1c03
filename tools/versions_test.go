package tools_test

import (
	"path/filepath"
	"testing"

	"github.com/tikvgo/tikvgo/tools/internal/versions"
)

// TestVersionsManifest fails when versions.yaml, go.work and the go.mod files
// disagree about the modules and the versioning layout.
func TestVersionsManifest(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := versions.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ws.Check() {
		t.Error(p)
	}
}
