package tools_test

import (
	"testing"

	"github.com/tikvgo/tikvgo/tools/internal/doccheck"
)

// TestExportedSymbolsAreDocumented fails on any exported identifier in a
// workspace module that has no doc comment (STYLE §3.6).
func TestExportedSymbolsAreDocumented(t *testing.T) {
	checkEveryModule(t, "undocumented exported identifier", doccheck.Dir)
}
