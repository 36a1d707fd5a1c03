package tso_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

func startSim(t *testing.T, pds int) *tikvsim.Cluster {
	t.Helper()
	sim, err := tikvsim.Start(t.Context(), tikvsim.Options{PDs: pds, Stores: 3})
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

func newSimTSO(t *testing.T, sim *tikvsim.Cluster, opts ...tso.Option) *tso.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	fast := retry.Backoff{Base: time.Millisecond, Max: 50 * time.Millisecond}
	opts = append([]tso.Option{
		tso.WithPDOptions(pdclient.WithBackoff(fast)),
		tso.WithBackoff(fast),
	}, opts...)
	c, err := tso.New(ctx, sim.PDAddrs(), opts...)
	if err != nil {
		t.Fatalf("tso.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestSimLeaderChangeWith64Callers moves PD leadership three times (transfer,
// stop the leader, restart) while 64 goroutines take timestamps: no error
// may surface, and every timestamp is unique and increasing per caller.
func TestSimLeaderChangeWith64Callers(t *testing.T) {
	sim := startSim(t, 3)
	c := newSimTSO(t, sim)
	const callers, per = 64, 200
	errc := make(chan error, 4)
	onProgress := func(n int64) {
		var err error
		switch n {
		case callers * per / 5:
			err = sim.SetPDLeader(1)
		case 2 * callers * per / 5:
			err = sim.StopPD(1) // leadership moves to member 0
		case 3 * callers * per / 5:
			err = sim.RestartPD(1)
		case 4 * callers * per / 5:
			err = sim.SetPDLeader(2)
		}
		if err != nil {
			errc <- err
		}
	}
	all := takeMany(t, c, callers, per, onProgress)
	close(errc)
	for err := range errc {
		t.Fatalf("sim fault: %v", err)
	}
	assertUnique(t, all, callers*per)
	if got := sim.PDLeader(); got != 2 {
		t.Fatalf("sim leader = %d", got)
	}
	// Every timestamp is at or below what PD has allocated.
	var hi tso.Timestamp
	for _, ts := range all {
		hi = max(hi, ts)
	}
	if cur := tso.Timestamp(sim.CurrentTS()); hi > cur {
		t.Fatalf("client handed out %v beyond PD's %v", hi, cur)
	}
}

// TestSimStreamBrokenMidBatch breaks every TSO stream repeatedly while
// rounds are in flight; callers never see the breaks.
func TestSimStreamBrokenMidBatch(t *testing.T) {
	sim := startSim(t, 1)
	c := newSimTSO(t, sim)
	const callers, per = 32, 100
	onProgress := func(n int64) {
		if n%500 == 0 {
			sim.BreakTSOStreams()
		}
	}
	all := takeMany(t, c, callers, per, onProgress)
	assertUnique(t, all, callers*per)

	// A batch held by PD when the stream breaks is re-asked on a new stream.
	sim.PauseTSO()
	futures := make([]tso.Future, 50)
	for i := range futures {
		futures[i] = c.GetTSAsync(t.Context())
	}
	sim.BreakTSOStreams()
	sim.ResumeTSO()
	prev := all[0]
	for _, ts := range all {
		prev = max(prev, ts)
	}
	for i, f := range futures {
		ts, err := f.Wait(t.Context())
		if err != nil || ts <= prev {
			t.Fatalf("future %d: %v, %v (prev %v)", i, ts, err, prev)
		}
	}
}

func TestSimPDUnreachableThenBack(t *testing.T) {
	sim := startSim(t, 3)
	c := newSimTSO(t, sim)
	ctx := t.Context()
	before, err := c.GetTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := sim.StopPD(i); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = c.GetTS(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while PD is down: %v", err)
	}
	futures := make([]tso.Future, 10)
	for i := range futures {
		futures[i] = c.GetTSAsync(ctx)
	}
	for i := range 3 {
		if err := sim.RestartPD(i); err != nil {
			t.Fatal(err)
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	last := before
	for i, f := range futures {
		ts, err := f.Wait(wctx)
		if err != nil || ts <= last {
			t.Fatalf("future %d after restart: %v, %v (last %v)", i, ts, err, last)
		}
		last = ts
	}
}

func TestSimCancelledContextReturnsPromptly(t *testing.T) {
	sim := startSim(t, 1)
	c := newSimTSO(t, sim)
	if _, err := c.GetTS(t.Context()); err != nil {
		t.Fatal(err)
	}
	sim.PauseTSO()
	defer sim.ResumeTSO()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetTS(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("GetTS returned %v after its deadline", d)
	}
}
