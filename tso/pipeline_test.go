package tso_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tso"
)

// waitReceived waits until PD has received want more Tso requests and
// returns their counts.
func waitReceived(t *testing.T, p *fakePD, want int) []uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var got []uint32
	for len(got) < want {
		select {
		case n := <-p.received:
			got = append(got, n)
		case <-ctx.Done():
			t.Fatalf("PD received %v, want %d requests", got, want)
		}
	}
	return got
}

// waitAll waits for every future and returns the timestamps in order.
func waitAll(t *testing.T, fs ...tso.Future) []tso.Timestamp {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out := make([]tso.Timestamp, len(fs))
	for i, f := range fs {
		ts, err := f.Wait(ctx)
		if err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
		out[i] = ts
	}
	return out
}

// warm opens the client's stream with one round, so later rounds go out as
// soon as they are asked for.
func warm(t *testing.T, c *tso.Client, p *fakePD) tso.Timestamp {
	t.Helper()
	ts, err := c.GetTS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waitReceived(t, p, 1)
	return ts
}

// sendOne asks for one timestamp and waits until its round reaches PD, so
// the next request cannot join the same round (the goroutine that sent a
// round may still hold the send role for a moment after PD has read it;
// a request arriving then would be queued for the next round together with
// later ones).
func sendOne(t *testing.T, c *tso.Client, p *fakePD) tso.Future {
	t.Helper()
	f := c.GetTSAsync(t.Context())
	waitReceived(t, p, 1)
	return f
}

func assertIncreasing(t *testing.T, ts []tso.Timestamp) {
	t.Helper()
	for i := 1; i < len(ts); i++ {
		if ts[i] <= ts[i-1] {
			t.Fatalf("timestamp %d = %v not after %v (all: %v)", i, ts[i], ts[i-1], ts)
		}
	}
}

func TestPipelineTwoRoundsInFlight(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p, tso.WithPipelineDepth(2))
	ctx := t.Context()
	warm(t, c, p)
	p.pause()
	// Both rounds reach PD while it holds the first: the second did not
	// wait for the first answer.
	first := sendOne(t, c, p)
	second := sendOne(t, c, p)
	// The pipeline is full: these queue for the next round.
	rest := make([]tso.Future, 50)
	for i := range rest {
		rest[i] = c.GetTSAsync(ctx)
	}
	p.resume()
	all := waitAll(t, append([]tso.Future{first, second}, rest...)...)
	// Answers are handed out in the order the rounds were sent, and the
	// last round is one contiguous batch.
	assertIncreasing(t, all)
	for i := 3; i < len(all); i++ {
		if all[i] != all[i-1]+1 {
			t.Fatalf("queued batch not contiguous at %d: %v", i, all)
		}
	}
	if got := p.roundCounts()[1:]; len(got) != 3 || got[0] != 1 || got[1] != 1 || got[2] != 50 {
		t.Fatalf("rounds after the warm-up = %v, want [1 1 50]", got)
	}
	if st := c.Stats(); st.Rounds != 4 || st.Timestamps != 53 || st.Streams != 1 || st.FailedRounds != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestPipelineBreakWithTwoInFlight breaks the stream while two rounds are
// in flight, at the first and at the second: every unanswered round is
// sent again on a new stream, in order, and nothing is handed out twice or
// out of order.
func TestPipelineBreakWithTwoInFlight(t *testing.T) {
	for _, tc := range []struct {
		name        string
		answerFirst int // rounds PD answers before breaking the stream
		wantRetried int
	}{
		{name: "break at first", answerFirst: 0, wantRetried: 2},
		{name: "break at second", answerFirst: 1, wantRetried: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePD(t, 1)
			c := newTSO(t, p, tso.WithPipelineDepth(2))
			before := warm(t, c, p)
			p.pause()
			first := sendOne(t, c, p)
			second := sendOne(t, c, p)
			p.set(func(p *fakePD) { p.breakNext, p.answerBeforeBreak = 1, tc.answerFirst })
			p.resume()
			all := waitAll(t, first, second)
			assertIncreasing(t, append([]tso.Timestamp{before}, all...))
			// PD processed the rounds up to the one it broke, then the
			// retried ones again on the new stream: three in all.
			if got := p.roundCounts()[1:]; len(got) != 3 {
				t.Fatalf("PD processed %v after the warm-up round", got)
			}
			st := c.Stats()
			if st.Streams != 2 || st.FailedRounds != uint64(tc.wantRetried) || st.Timestamps != 3 {
				t.Fatalf("Stats = %+v, want 2 streams and %d failed rounds", st, tc.wantRetried)
			}
		})
	}
}

func TestPipelineRegressionWithTwoInFlight(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p, tso.WithPipelineDepth(2))
	before := warm(t, c, p)
	p.pause()
	first := sendOne(t, c, p)
	second := sendOne(t, c, p)
	// PD's first answer goes back in time: it is discarded, the stream is
	// dropped with the second round on it, and both are asked again.
	p.set(func(p *fakePD) { p.regressNext = 1 })
	p.resume()
	all := waitAll(t, first, second)
	assertIncreasing(t, append([]tso.Timestamp{before}, all...))
	if st := c.Stats(); st.Streams != 2 || st.FailedRounds != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestPipelineCancelWaitingCaller(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p, tso.WithPipelineDepth(2))
	warm(t, c, p)
	p.pause()
	cctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.GetTS(cctx)
		done <- err
	}()
	waitReceived(t, p, 1)
	kept := sendOne(t, c, p)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled caller did not return while its round was held")
	}
	p.resume()
	ts := waitAll(t, kept)
	// The stream is healthy: the abandoned round was answered and
	// dropped, and the next call gets a later timestamp.
	next, err := c.GetTS(t.Context())
	if err != nil || next <= ts[0] {
		t.Fatalf("after cancel: %v, %v (previous %v)", next, err, ts[0])
	}
	if st := c.Stats(); st.Streams != 1 || st.FailedRounds != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestPipelineCloseFailsEveryRoundInFlight(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p, tso.WithPipelineDepth(2))
	ctx := t.Context()
	warm(t, c, p)
	p.pause()
	fs := []tso.Future{sendOne(t, c, p), sendOne(t, c, p)}
	fs = append(fs, c.GetTSAsync(ctx)) // queued behind a full pipeline
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		if _, err := f.Wait(ctx); !errors.Is(err, tso.ErrClosed) {
			t.Fatalf("future %d after Close: %v", i, err)
		}
	}
}

func TestPipelineRoundTimeout(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p, tso.WithPipelineDepth(2), tso.WithRoundTimeout(100*time.Millisecond))
	warm(t, c, p)
	p.pause()
	fs := []tso.Future{sendOne(t, c, p), sendOne(t, c, p)}
	// PD holds both rounds past the timeout: the client drops the stream
	// and asks again on a new one, which PD (still paused) receives.
	waitReceived(t, p, 2)
	p.resume()
	assertIncreasing(t, waitAll(t, fs...))
	if st := c.Stats(); st.Streams < 2 || st.FailedRounds < 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestConcurrentSafeStrictIncrease checks the guarantee callers rely on: a
// GetTS that starts after another one returned gets a larger timestamp,
// and no timestamp is handed out twice, with rounds pipelined and the
// stream breaking under them now and then.
func TestConcurrentSafeStrictIncrease(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	var rngMu sync.Mutex
	p := newFakePD(t, 1)
	c := newTSO(t, p, tso.WithPipelineDepth(2))
	const callers, per = 32, 300
	var (
		highest atomic.Uint64 // largest timestamp returned so far
		seen    sync.Map
		wg      sync.WaitGroup
		fail    atomic.Pointer[string]
	)
	report := func(msg string) { fail.CompareAndSwap(nil, &msg) }
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for range callers {
		wg.Go(func() {
			for range per {
				rngMu.Lock()
				breakNow := rng.IntN(200) == 0
				rngMu.Unlock()
				if breakNow {
					p.set(func(p *fakePD) { p.breakNext = 1 })
				}
				floor := tso.Timestamp(highest.Load())
				ts, err := c.GetTS(ctx)
				if err != nil {
					report("GetTS: " + err.Error())
					return
				}
				if ts <= floor {
					report("timestamp " + ts.String() + " not after " + floor.String() + ", returned before the call")
					return
				}
				if _, dup := seen.LoadOrStore(ts, struct{}{}); dup {
					report("duplicate timestamp " + ts.String())
					return
				}
				for {
					h := highest.Load()
					if uint64(ts) <= h || highest.CompareAndSwap(h, uint64(ts)) {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	if msg := fail.Load(); msg != nil {
		t.Fatalf("seed %d: %s", seed, *msg)
	}
	if st := c.Stats(); st.Timestamps != callers*per {
		t.Fatalf("Stats = %+v, want %d timestamps", st, callers*per)
	}
}
