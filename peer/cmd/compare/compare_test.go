package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/tikvgo/tikvgo/peer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRotateVisitsEveryOrder(t *testing.T) {
	s := []string{"a", "b", "c"}
	firsts := map[string]bool{}
	for r := range 3 {
		o := rotate(s, r)
		if len(o) != 3 || !slices.Contains(o, "a") || !slices.Contains(o, "b") || !slices.Contains(o, "c") {
			t.Fatalf("rotate(%d) = %v", r, o)
		}
		firsts[o[0]] = true
	}
	if len(firsts) != 3 {
		t.Errorf("not every client ran first: %v", firsts)
	}
}

func TestMedianOfPerRoundRatios(t *testing.T) {
	res := func(ops ...float64) []peer.Result {
		var out []peer.Result
		for _, o := range ops {
			out = append(out, peer.Result{OpsPerSec: o})
		}
		return out
	}
	// Per-round ratios 2, 1, 1.5: the median is 1.5, while the ratio of
	// the medians would be 200/100 = 2.
	if got := ratio(res(200, 100, 300), res(100, 100, 200)); got != 1.5 {
		t.Errorf("ratio = %v, want 1.5", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median = %v, want 2.5", got)
	}
	if !math.IsNaN(ratio(nil, res(1))) {
		t.Error("ratio of nothing is not NaN")
	}
}

func TestRenderTable(t *testing.T) {
	tb := table{
		spec:    peer.ScenarioSpec{Name: peer.RawGet, Title: "raw Get"},
		clients: []string{"tikvgo", "client-go"},
		rows: []row{{label: "16", results: map[string][]peer.Result{
			"tikvgo":    {{OpsPerSec: 2000, P99us: 100, AllocsPerOp: 20, CPUusPerOp: 12}},
			"client-go": {{OpsPerSec: 1000, P99us: 300, AllocsPerOp: 50, CPUusPerOp: 30}},
		}}},
	}
	var b strings.Builder
	tb.render(&b)
	for _, want := range []string{"| 16 | 2000 | 1000 | 2.00x | 100 / 300 | 20.0 / 50.0 | 12.0 / 30.0 |", "tikvgo/client-go", "CPU µs/op (tikvgo / client-go)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWorkerFailShowsLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.log")
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 5000)+"panic: boom\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := &worker{name: "tikvgo", logPath: path}
	err := w.fail(errors.New("EOF"))
	if !strings.Contains(err.Error(), "panic: boom") || len(err.Error()) > 2200 {
		t.Errorf("fail = %.100q... (%d bytes), want the log's tail", err, len(err.Error()))
	}
	w.logPath = filepath.Join(t.TempDir(), "missing.log")
	if err := w.fail(errors.New("EOF")); !strings.Contains(err.Error(), "log is empty") {
		t.Errorf("fail without a log = %v", err)
	}
}
