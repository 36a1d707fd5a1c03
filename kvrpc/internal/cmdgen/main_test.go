package main

import (
	"bytes"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCommandsUpToDate fails when the checked-in command table differs from
// what the generator writes today: after a kvproto upgrade or a policy
// change, run go generate ./kvrpc and commit the result.
func TestCommandsUpToDate(t *testing.T) {
	t.Parallel()
	got, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../commands.go")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range min(len(gl), len(wl)) {
		if !bytes.Equal(gl[i], wl[i]) {
			t.Fatalf("kvrpc/commands.go is stale (run go generate ./kvrpc); line %d is\n\t%s\nwant\n\t%s", i+1, wl[i], gl[i])
		}
	}
	t.Fatalf("kvrpc/commands.go is stale (run go generate ./kvrpc): %d lines, want %d", len(wl), len(gl))
}

func TestPolicyCheck(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		p  policy
		ok bool
	}{
		"read":                    {policy{read: true}, true},
		"read with a reason":      {policy{read: true, why: "x"}, false},
		"write without a reason":  {policy{idempotent: true}, false},
		"write with a reason":     {policy{why: "x"}, true},
		"both flag and predicate": {policy{idempotent: true, idempotentIf: "f", why: "x"}, false},
	} {
		if err := tc.p.check("M"); (err == nil) != tc.ok {
			t.Errorf("%s: check = %v", name, err)
		}
	}
}

func TestLowerFirst(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"GC": "gc", "RawGet": "rawGet", "StoreSafeTS": "storeSafeTS", "MVCCGet": "mvccGet", "X": "x"} {
		if got := lowerFirst(in); got != want {
			t.Errorf("lowerFirst(%q) = %q, want %q", in, got, want)
		}
	}
}
