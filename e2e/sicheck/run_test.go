package sicheck_test

import (
	"context"
	"errors"
	"flag"
	"testing"

	. "github.com/tikvgo/tikvgo/e2e/sicheck"
)

var long = flag.Bool("sicheck.long", false, "run the long list-append workloads")

func runAndCheck(t *testing.T, c TxnClient, opts ...Option) (History, *Result) {
	t.Helper()
	h, err := Run(t.Context(), c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Check(h)
	if err != nil {
		t.Fatal(err)
	}
	return h, res
}

func count(h History, o Outcome) int {
	n := 0
	for _, t := range h {
		if t.Outcome == o {
			n++
		}
	}
	return n
}

func TestRunSnapshotIsolatedStoreIsValid(t *testing.T) {
	txns := 100
	if *long {
		txns = 2000
	}
	for seed := range uint64(5) {
		s := newMemStore(seed, 5, noBug)
		h, res := runAndCheck(t, s, WithSeed(seed), WithWorkers(4), WithTxnsPerWorker(txns), WithKeys(3))
		if !res.Valid() {
			t.Fatalf("seed %d: SI store rejected: %s", seed, res)
		}
		if count(h, Committed) < 10 || count(h, Unknown) == 0 || count(h, Aborted) == 0 {
			t.Fatalf("seed %d: workload too tame: %d committed, %d unknown, %d aborted",
				seed, count(h, Committed), count(h, Unknown), count(h, Aborted))
		}
		t.Logf("seed %d: %d txns (%d committed, %d aborted, %d unknown): %s", seed, len(h),
			count(h, Committed), count(h, Aborted), count(h, Unknown), res)
	}
}

// findsBug runs the workload against a store with bug b until the checker
// reports an anomaly of a kind in want; interleavings depend on the
// scheduler, so it tries several seeds.
func findsBug(t *testing.T, b bug, want ...Kind) {
	for seed := range uint64(20) {
		s := newMemStore(seed, 0, b)
		_, res := runAndCheck(t, s, WithSeed(seed), WithWorkers(4), WithTxnsPerWorker(100), WithKeys(3))
		for _, k := range want {
			if res.Counts[k] > 0 {
				t.Logf("seed %d: %s", seed, res)
				return
			}
		}
		if !res.Valid() {
			t.Fatalf("seed %d: unexpected anomalies: %s", seed, res)
		}
	}
	t.Fatalf("bug %d never caught", b)
}

func TestRunCatchesReadsOutsideSnapshot(t *testing.T) {
	findsBug(t, readLatest, GSingle, G1c, IncompatibleOrder)
}

func TestRunCatchesLostUpdates(t *testing.T) {
	findsBug(t, noConflictCheck, LostWrite, IncompatibleOrder, GSingle, G0, G1c)
}

func TestRunOptions(t *testing.T) {
	_, err := Run(t.Context(), newMemStore(1, 0, noBug), WithWorkers(0))
	if !errors.Is(err, ErrBadOption) {
		t.Fatalf("got %v, want ErrBadOption", err)
	}
}

func TestRunStopsOnCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Run(ctx, newMemStore(1, 0, noBug)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestListCodec(t *testing.T) {
	l := []int{1, 300, 70000}
	got, err := DecodeList(EncodeList(l))
	if err != nil || len(got) != 3 || got[1] != 300 || got[2] != 70000 {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	if _, err := DecodeList([]byte{0x80}); !errors.Is(err, ErrBadValue) {
		t.Fatalf("got %v, want ErrBadValue", err)
	}
}
