package tools_test

import (
	"testing"

	"github.com/tikvgo/tikvgo/tools/internal/logcheck"
)

// TestLogCallsFollowConvention fails on a log call in a workspace module
// whose message lacks the package prefix or whose attribute keys are
// misspelt ("err" for "error", camelCase), so the convention in
// docs/architecture.md does not drift.
func TestLogCallsFollowConvention(t *testing.T) {
	checkEveryModule(t, "log convention", logcheck.Dir)
}
