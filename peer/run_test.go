package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunCountsOpsAndCallers(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	var calls, arrived atomic.Int64
	seen := make([]atomic.Bool, 4)
	all := make(chan struct{})
	if err := reg.Register("count", func(ctx context.Context, c Case) (Op, func(), error) {
		ExtrasFrom(ctx)["arg"] = float64(c.Arg)
		return func(_ context.Context, caller, i int) error {
			n := calls.Add(1)
			if n <= 10 {
				return nil // warm-up, all on caller 0
			}
			// Each caller's first timed op waits for the others, so one
			// fast caller cannot take the whole budget.
			if !seen[caller].Swap(true) && arrived.Add(1) == 4 {
				close(all)
			}
			<-all
			return nil
		}, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	res := Run(t.Context(), reg, "fake", Case{Scenario: "count", Callers: 4, Arg: 7, MaxOps: 1000, Warmup: 10})
	if res.Failed != "" || res.Errors != 0 {
		t.Fatalf("Run = %+v", res)
	}
	if res.Ops != 1000 || calls.Load() != 1010 {
		t.Errorf("ops %d, calls %d; want 1000 timed after 10 warm-up", res.Ops, calls.Load())
	}
	for i := range seen {
		if !seen[i].Load() {
			t.Errorf("caller %d never ran", i)
		}
	}
	if res.OpsPerSec <= 0 || res.P99us < res.P50us || res.Extra["arg"] != 7 || res.Client != "fake" || res.Callers != 4 {
		t.Errorf("Run = %+v", res)
	}
}

func TestRunReportsFailures(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	reg := NewRegistry()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.Register("setup", func(context.Context, Case) (Op, func(), error) { return nil, nil, boom }))
	must(reg.Register("op", func(context.Context, Case) (Op, func(), error) {
		return func(_ context.Context, _, i int) error {
			if i%2 == 1 {
				return boom
			}
			return nil
		}, nil, nil
	}))
	if err := reg.Register("op", func(context.Context, Case) (Op, func(), error) { return nil, nil, nil }); err == nil {
		t.Error("registering a name twice succeeded")
	}
	cases := []struct {
		c          Case
		failed     string
		wantErrors bool
	}{
		{Case{Scenario: "nope", Callers: 1, MaxOps: 1}, ErrUnknownScenario.Error(), false},
		{Case{Scenario: "setup", Callers: 1, MaxOps: 1}, "setup: boom", false},
		{Case{Scenario: "op", Callers: 1, MaxOps: 1, Warmup: 2}, "warm-up: boom", false},
		{Case{Scenario: "op", Callers: 0, MaxOps: 1}, "callers", false},
		{Case{Scenario: "op", Callers: 1}, "neither duration nor max_ops", false},
		{Case{Scenario: "op", Callers: 1, MaxOps: 10}, "", true},
	}
	for _, tc := range cases {
		res := Run(t.Context(), reg, "fake", tc.c)
		if tc.failed == "" && res.Failed != "" || !strings.Contains(res.Failed, tc.failed) {
			t.Errorf("%+v: Failed = %q, want %q", tc.c, res.Failed, tc.failed)
		}
		if tc.wantErrors && (res.Errors != 5 || res.FirstError != "boom" || res.Ops != 10) {
			t.Errorf("%+v: ops %d errors %d first %q, want 10 ops, 5 errors of boom", tc.c, res.Ops, res.Errors, res.FirstError)
		}
	}
}

func TestServeAnswersEveryLine(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	if err := reg.Register("noop", func(context.Context, Case) (Op, func(), error) {
		return func(context.Context, int, int) error { return nil }, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	in := strings.NewReader(`{"scenario":"noop","callers":2,"max_ops":5}` + "\n\n" + `not json` + "\n" + `{"scenario":"other","callers":1,"max_ops":1}` + "\n")
	var out bytes.Buffer
	if err := Serve(t.Context(), reg, "w", in, &out); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	var got []Result
	for dec.More() {
		var r Result
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 3 {
		t.Fatalf("%d results, want 3: %+v", len(got), got)
	}
	if got[0].Ops != 5 || got[0].Failed != "" || !strings.Contains(got[1].Failed, "bad case") || !strings.Contains(got[2].Failed, ErrUnknownScenario.Error()) {
		t.Errorf("results %+v", got)
	}
}

func TestSynthRegionsLayout(t *testing.T) {
	t.Parallel()
	s := SynthRegions{N: 5000} // crosses a table boundary every 4096 regions
	for i := range s.N {
		if got := s.Index(s.ProbeKey(i)); got != i {
			t.Fatalf("Index(ProbeKey(%d)) = %d", i, got)
		}
		if got := s.Index(s.StartKey(i)); got != i {
			t.Fatalf("Index(StartKey(%d)) = %d", i, got)
		}
		if i > 0 && bytes.Compare(s.StartKey(i-1), s.StartKey(i)) >= 0 {
			t.Fatalf("start keys %d and %d out of order", i-1, i)
		}
	}
	if s.EndKey(s.N-1) != nil || !bytes.Equal(s.EndKey(0), s.StartKey(1)) {
		t.Error("end keys do not chain")
	}
	keys, ids := s.Probes(100, 3)
	for i, k := range keys {
		if uint64(s.Index(k)+1) != ids[i] {
			t.Fatalf("probe %d: id %d, index %d", i, ids[i], s.Index(k))
		}
	}
}

func TestRunWritesProfiles(t *testing.T) {
	// Not parallel: the CPU profiler is process-wide.
	reg := NewRegistry()
	if err := reg.Register("noop", func(context.Context, Case) (Op, func(), error) {
		return func(context.Context, int, int) error { return nil }, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := Case{Scenario: "noop", Callers: 2, MaxOps: 100, CPUProfile: filepath.Join(dir, "cpu"), BlockProfile: filepath.Join(dir, "block")}
	if res := Run(t.Context(), reg, "w", c); res.Failed != "" || res.Ops != 100 {
		t.Fatalf("Run = %+v", res)
	}
	for _, f := range []string{c.CPUProfile, c.BlockProfile} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("profile %s: %v", f, err)
		}
	}
	c.CPUProfile = filepath.Join(dir, "missing", "cpu")
	if res := Run(t.Context(), reg, "w", c); !strings.Contains(res.Failed, "profile") {
		t.Errorf("Run with an unwritable profile = %+v, want a profile failure", res)
	}
}
