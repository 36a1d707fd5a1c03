package tso_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tso"
)

func fastPD() tso.Option {
	return tso.WithPDOptions(pdclient.WithBackoff(retry.Backoff{Base: time.Millisecond, Max: 20 * time.Millisecond}))
}

func newTSO(t *testing.T, p *fakePD, opts ...tso.Option) *tso.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	opts = append([]tso.Option{fastPD(), tso.WithBackoff(retry.Backoff{Base: time.Millisecond, Max: 20 * time.Millisecond})}, opts...)
	c, err := tso.New(ctx, p.endpoints(), opts...)
	if err != nil {
		t.Fatalf("tso.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newTSOForBench(b *testing.B, p *fakePD) *tso.Client {
	b.Helper()
	c, err := tso.New(b.Context(), p.endpoints(), fastPD())
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func TestGetTSIncreasing(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p)
	ctx := t.Context()
	var last tso.Timestamp
	for i := range 100 {
		ts, err := c.GetTS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ts <= last {
			t.Fatalf("step %d: %v not after %v", i, ts, last)
		}
		last = ts
	}
	f := c.GetTSAsync(ctx)
	ts, err := f.Wait(ctx)
	if err != nil || ts <= last {
		t.Fatalf("async: %v, %v", ts, err)
	}
	if again, err := f.Wait(ctx); again != ts || err != nil {
		t.Fatalf("second Wait = %v, %v", again, err)
	}
}

func TestOneStreamMessagePerRound(t *testing.T) {
	p := newFakePD(t, 1)
	// Without pipelining, everything that queues while a round is in
	// flight goes out as the next round.
	c := newTSO(t, p, tso.WithPipelineDepth(1))
	ctx := t.Context()
	p.pause()
	first := c.GetTSAsync(ctx)
	<-p.received // round 1 (count 1) is in flight and held by PD
	futures := make([]tso.Future, 100)
	for i := range futures {
		futures[i] = c.GetTSAsync(ctx)
	}
	p.resume()
	prev, err := first.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range futures {
		ts, err := f.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ts != prev+1 {
			t.Fatalf("future %d: %v, want %v (one contiguous batch, in order)", i, ts, prev+1)
		}
		prev = ts
	}
	if got := p.roundCounts(); len(got) != 2 || got[0] != 1 || got[1] != 100 {
		t.Fatalf("rounds = %v, want [1 100]", got)
	}
	if st := c.Stats(); st.Rounds != 2 || st.Timestamps != 101 || st.Streams != 1 || st.FailedRounds != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

// takeMany runs callers goroutines that each take per timestamps, checks
// strict increase per goroutine, and returns all timestamps.
func takeMany(t *testing.T, c *tso.Client, callers, per int, onProgress func(total int64)) []tso.Timestamp {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	results := make([][]tso.Timestamp, callers)
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	var total atomic.Int64
	for g := range callers {
		wg.Go(func() {
			out := make([]tso.Timestamp, 0, per)
			for range per {
				ts, err := c.GetTS(ctx)
				if err != nil {
					errs <- err
					return
				}
				if n := len(out); n > 0 && ts <= out[n-1] {
					errs <- errors.New("timestamp not increasing within a caller")
					return
				}
				out = append(out, ts)
				if n := total.Add(1); onProgress != nil {
					onProgress(n)
				}
			}
			results[g] = out
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("caller error: %v", err)
	}
	var all []tso.Timestamp
	for _, r := range results {
		all = append(all, r...)
	}
	return all
}

func assertUnique(t *testing.T, all []tso.Timestamp, want int) {
	t.Helper()
	if len(all) != want {
		t.Fatalf("got %d timestamps, want %d", len(all), want)
	}
	seen := make(map[tso.Timestamp]struct{}, len(all))
	for _, ts := range all {
		if _, dup := seen[ts]; dup {
			t.Fatalf("duplicate timestamp %v", ts)
		}
		seen[ts] = struct{}{}
	}
}

func TestConcurrentSafeLeaderChange(t *testing.T) {
	p := newFakePD(t, 3)
	c := newTSO(t, p)
	const callers, per = 64, 200
	// Change the leader twice while the callers run: once by moving
	// leadership (the old leader answers "not leader"), once by killing the
	// new leader. The caller that reaches the threshold does it inline.
	onProgress := func(n int64) {
		switch n {
		case callers * per / 4:
			p.leader.Store(1)
		case callers * per / 2:
			p.leader.Store(2)
			p.members[1].stop()
		}
	}
	all := takeMany(t, c, callers, per, onProgress)
	assertUnique(t, all, callers*per)
	l, err := c.PD().Leader()
	if err != nil || l.Addr != p.members[2].addr {
		t.Fatalf("client leader = %v, %v; want %s", l, err, p.members[2].addr)
	}
}

func TestStreamBrokenMidBatch(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p)
	p.set(func(p *fakePD) { p.breakNext = 3 })
	all := takeMany(t, c, 16, 50, nil)
	assertUnique(t, all, 16*50)
	p.set(func(p *fakePD) {
		if p.breakNext != 0 {
			t.Errorf("breaks left: %d", p.breakNext)
		}
	})
	// Each break fails the round PD dropped and any round pipelined
	// behind it on the same stream.
	if st := c.Stats(); st.FailedRounds < 3 || st.Streams != 4 || st.Timestamps != 16*50 {
		t.Fatalf("Stats = %+v, want at least 3 failed rounds over 4 streams", st)
	}
}

func TestRegressionIsNeverHandedOut(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p)
	ctx := t.Context()
	before, err := c.GetTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.set(func(p *fakePD) { p.regressNext = 2 })
	after, err := c.GetTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("regressed: %v after %v", after, before)
	}
	// A regression that persists past the budget surfaces as an error.
	strict := newTSO(t, p, tso.WithRetryBudget(0))
	if _, err := strict.GetTS(ctx); err != nil {
		t.Fatal(err)
	}
	p.set(func(p *fakePD) { p.regressNext = 1 })
	_, err = strict.GetTS(ctx)
	var re *tso.RegressionError
	if !errors.Is(err, tso.ErrRegression) || !errors.As(err, &re) || re.Got > re.Last {
		t.Fatalf("err = %v", err)
	}
}

func TestClusterIDMismatchFailsRound(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p)
	p.set(func(p *fakePD) { p.wrongCluster = true })
	if _, err := c.GetTS(t.Context()); !errors.Is(err, pdclient.ErrClusterIDMismatch) {
		t.Fatalf("err = %v", err)
	}
}

func TestPDUnreachableThenBack(t *testing.T) {
	p := newFakePD(t, 3)
	c := newTSO(t, p)
	ctx := t.Context()
	before, err := c.GetTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range p.members {
		m.stop()
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = c.GetTS(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while down: %v", err)
	}
	// Requests queued while PD is down are answered once it is back.
	futures := make([]tso.Future, 20)
	for i := range futures {
		futures[i] = c.GetTSAsync(ctx)
	}
	p.leader.Store(2)
	for _, m := range p.members {
		m.restart()
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for i, f := range futures {
		ts, err := f.Wait(wctx)
		if err != nil || ts <= before {
			t.Fatalf("future %d: %v, %v", i, ts, err)
		}
	}
}

func TestCancelledContextReturnsPromptly(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p)
	p.pause()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.GetTS(ctx)
		done <- err
	}()
	<-p.received
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GetTS did not return after cancel")
	}
	if _, err := c.GetTS(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("pre-cancelled GetTS: %v", err)
	}
	wctx, wcancel := context.WithCancel(t.Context())
	f := c.GetTSAsync(t.Context())
	wcancel()
	if _, err := f.Wait(wctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with cancelled ctx: %v", err)
	}
	p.resume()
	// The client is still healthy afterwards.
	if _, err := c.GetTS(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestBoundedQueue(t *testing.T) {
	p := newFakePD(t, 1)
	// Depth 1: the second request cannot be sent while the first is held,
	// so it fills the queue.
	c := newTSO(t, p, tso.WithMaxPending(1), tso.WithPipelineDepth(1))
	p.pause()
	ctx := t.Context()
	inFlight := c.GetTSAsync(ctx)
	<-p.received
	queued := c.GetTSAsync(ctx) // fills the queue of one
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := c.GetTS(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("full queue: %v", err)
	}
	p.resume()
	for _, f := range []tso.Future{inFlight, queued} {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCloseFailsPendingAndReleasesEverything(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p)
	p.pause()
	ctx := t.Context()
	f := c.GetTSAsync(ctx)
	<-p.received
	queued := c.GetTSAsync(ctx)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []tso.Future{f, queued} {
		if _, err := f.Wait(ctx); !errors.Is(err, tso.ErrClosed) {
			t.Fatalf("pending after Close: %v", err)
		}
	}
	if _, err := c.GetTS(ctx); !errors.Is(err, tso.ErrClosed) {
		t.Fatalf("GetTS after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	// Owned pdclient is closed too.
	if _, err := c.PD().Leader(); !errors.Is(err, pdclient.ErrClosed) {
		t.Fatalf("pdclient not closed: %v", err)
	}
}

func TestNewFromPDSharesDiscovery(t *testing.T) {
	p := newFakePD(t, 2)
	pd, err := pdclient.New(t.Context(), p.endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer pd.Close()
	c, err := tso.NewFromPD(t.Context(), pd)
	if err != nil {
		t.Fatal(err)
	}
	if c.PD() != pd {
		t.Fatal("PD() is not the shared client")
	}
	if _, err := c.GetTS(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing the tso client leaves the shared pdclient running.
	if _, err := pd.Leader(); err != nil {
		t.Fatalf("shared pdclient closed by tso: %v", err)
	}
	if _, err := tso.NewFromPD(t.Context(), pd, tso.WithMaxBatchSize(0)); !errors.Is(err, tso.ErrInvalidOption) {
		t.Fatalf("invalid option: %v", err)
	}
}
