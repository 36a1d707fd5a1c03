package tools_test

import (
	"path/filepath"
	"testing"

	"github.com/tikvgo/tikvgo/tools/internal/errcheck"
)

// allowedSentinels may share a name or message with another sentinel, each
// for the reason given. Keep this list short: a new entry needs a reason a
// caller would accept (docs/errors.md).
var allowedSentinels = map[string]string{
	"github.com/tikvgo/tikvgo/latches.ErrClosed": "latches may require nothing (STYLE §3.1), so it cannot re-export retry.ErrClosed; " +
		"its one caller, txnkv, matches it and reports retry.ErrClosed",
	"github.com/tikvgo/tikvgo/latches.ErrInvalidOption": "latches may require nothing (STYLE §3.1), so it cannot re-export retry.ErrInvalidOption; " +
		"txnkv wraps latches.New's error with retry.ErrInvalidOption",
	"github.com/tikvgo/tikvgo/e2e/cluster.ErrClosed": "the e2e test cluster being shut down, a harness condition no client returns",
}

// TestOneSentinelPerCondition walks every exported sentinel of every
// workspace module and fails on two distinct values with the same message
// (package prefix dropped) or the same name: one condition, one sentinel, in
// the lowest module that sees it (docs/errors.md). tikvsim is a server with
// its own vocabulary (its ErrRegionNotFound is the simulated PD's state, not
// an error a client returns), so it is checked on its own.
//
// It also fails on a fmt.Errorf that starts with one of retry's shared
// sentinels, whose messages have no prefix: the module must put its own name
// first ("kvrpc: %w: …").
func TestOneSentinelPerCondition(t *testing.T) {
	root, mods := workspace(t)
	var client, sim []errcheck.Sentinel
	for _, m := range mods {
		s, err := errcheck.Module(filepath.Join(root, m.Name))
		if err != nil {
			t.Fatal(err)
		}
		if m.Name == "tikvsim" {
			sim = append(sim, s...)
		} else {
			client = append(client, s...)
		}
	}
	if len(client) < 50 {
		t.Fatalf("found only %d client sentinels: is the walk broken?", len(client))
	}
	for _, d := range errcheck.Duplicates(client, allowedSentinels) {
		t.Error(d)
	}
	for _, d := range errcheck.Duplicates(sim, nil) {
		t.Error("tikvsim: " + d)
	}
	shared := errcheck.Shared(client)
	for _, m := range mods {
		bare, err := errcheck.BareWraps(filepath.Join(root, m.Name), shared)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bare {
			t.Error(b)
		}
	}
	known := map[string]bool{}
	for _, s := range client {
		known[s.ID] = true
	}
	for id := range allowedSentinels {
		if !known[id] {
			t.Errorf("allow-list names %s, which no longer exists: drop the entry", id)
		}
	}
}
