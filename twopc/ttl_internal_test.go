package twopc

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tikvgo/tikvgo/tso"
)

// TestHeartbeatSchedule drives the TTL manager's loop on synctest's fake
// clock: a beat every half managed TTL, each advising the transaction's age
// plus the managed TTL, until the transaction reaches the max TTL.
func TestHeartbeatSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const managed, maxTTL = 20 * time.Second, time.Minute
		start := tso.FromTime(time.Now())
		var ttls []time.Duration
		send := func(_ context.Context, ttl time.Duration) (bool, error) {
			ttls = append(ttls, ttl)
			return false, nil
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			runHeartbeat(t.Context(), nil, start, managed, maxTTL, slog.New(slog.DiscardHandler), send, false)
		}()
		<-done // returns by itself once the age passes maxTTL
		// Beats at 10 s, 20 s, ... 60 s; the one at 70 s finds the age
		// over the max and stops.
		want := []time.Duration{30 * time.Second, 40 * time.Second, 50 * time.Second, 60 * time.Second, 70 * time.Second, 80 * time.Second}
		if len(ttls) != len(want) {
			t.Fatalf("ttls = %v, want %v", ttls, want)
		}
		for i := range want {
			if ttls[i] != want[i] {
				t.Fatalf("ttls = %v, want %v", ttls, want)
			}
		}
	})
}

func TestHeartbeatStops(t *testing.T) {
	tests := []struct {
		name  string
		send  heartbeatFunc
		beats int
	}{
		{"lock gone", func(context.Context, time.Duration) (bool, error) { return true, errors.New("txn not found") }, 1},
		{"repeated failures", func(context.Context, time.Duration) (bool, error) { return false, errors.New("unreachable") }, maxHeartbeatFailures},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				beats := 0
				send := func(ctx context.Context, ttl time.Duration) (bool, error) {
					beats++
					return tc.send(ctx, ttl)
				}
				runHeartbeat(t.Context(), nil, tso.FromTime(time.Now()), 2*time.Second, time.Hour, slog.New(slog.DiscardHandler), send, false)
				if beats != tc.beats {
					t.Fatalf("beats = %d, want %d", beats, tc.beats)
				}
			})
		})
	}
	t.Run("stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			stop := make(chan struct{})
			beats := 0
			send := func(context.Context, time.Duration) (bool, error) {
				beats++
				if beats == 3 {
					close(stop)
				}
				return false, nil
			}
			runHeartbeat(t.Context(), stop, tso.FromTime(time.Now()), 2*time.Second, time.Hour, slog.New(slog.DiscardHandler), send, false)
			if beats != 3 {
				t.Fatalf("beats = %d", beats)
			}
		})
	})
}

// TestPipelineHeartbeatMaxTTL runs a pipelined transaction's heartbeat on
// synctest's fake clock: it keeps the primary alive for 24 hours by
// default, past the client's max txn TTL of an hour, and then stops; the
// option and a longer client max change that.
func TestPipelineHeartbeatMaxTTL(t *testing.T) {
	tests := []struct {
		name      string
		clientMax time.Duration
		opts      []PipelineOption
		want      time.Duration
	}{
		{"default", DefaultMaxTxnTTL, nil, DefaultMaxPipelinedTxnTTL},
		{"option", DefaultMaxTxnTTL, []PipelineOption{WithPipelinedMaxTxnTTL(2 * time.Hour)}, 2 * time.Hour},
		{"longer client max", 48 * time.Hour, nil, 48 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := &Client{cfg: defaultConfig()}
				c.cfg.maxTxnTTL = tc.clientMax
				c.life, c.cancel = context.WithCancel(t.Context())
				defer c.cancel()
				start := tso.FromTime(time.Now())
				p, err := c.NewPipeline(start, tc.opts...)
				if err != nil {
					t.Fatal(err)
				}
				beats, last := 0, time.Duration(0)
				h := c.startHeartbeat(start, p.maxTxnTTL(), func(_ context.Context, ttl time.Duration) (bool, error) {
					beats++
					last = ttl
					return false, nil
				})
				<-h.Done()
				// A beat every half managed TTL while the age is at most
				// the max; the next one stops.
				interval := c.cfg.managedLockTTL / 2
				if want := int(tc.want / interval); beats != want || last != tc.want+c.cfg.managedLockTTL {
					t.Fatalf("%d beats, last advising %v; want %d, %v", beats, last, want, tc.want+c.cfg.managedLockTTL)
				}
			})
		})
	}
	if _, err := (&Client{cfg: defaultConfig()}).NewPipeline(1, WithPipelinedMaxTxnTTL(0)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("zero max txn ttl: %v, want ErrInvalidOption", err)
	}
}

// TestHeartbeatQueue: a heartbeat stopped before its first beat is due
// never beats (it never left the client's queue); one still running when
// its beat comes due starts and beats at once; Close ends the ones still
// queued and the running ones.
func TestHeartbeatQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &Client{cfg: defaultConfig(), idle: make(chan struct{})}
		c.cfg.logger = slog.New(slog.DiscardHandler)
		c.life, c.cancel = context.WithCancel(context.Background())
		half := c.cfg.managedLockTTL / 2
		beats := map[string]int{}
		var mu sync.Mutex
		send := func(name string) heartbeatFunc {
			return func(context.Context, time.Duration) (bool, error) {
				mu.Lock()
				beats[name]++
				mu.Unlock()
				return false, nil
			}
		}
		start := tso.FromTime(time.Now())
		early := c.startHeartbeat(start, c.cfg.maxTxnTTL, send("early"))
		late := c.startHeartbeat(start, c.cfg.maxTxnTTL, send("late"))
		early.Stop()
		early.Stop() // idempotent
		time.Sleep(half)
		synctest.Wait()
		mu.Lock()
		if beats["early"] != 0 || beats["late"] != 1 {
			t.Fatalf("beats after half a TTL: %v", beats)
		}
		mu.Unlock()
		time.Sleep(half / 2)
		queued := c.startHeartbeat(start, c.cfg.maxTxnTTL, send("queued")) // due after Close
		time.Sleep(half / 2)
		synctest.Wait()
		mu.Lock()
		if beats["late"] != 2 || beats["queued"] != 0 {
			t.Fatalf("beats after a TTL: %v", beats)
		}
		mu.Unlock()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		<-queued.Done()
		<-late.Done()
		late.Stop()
		if h := c.startHeartbeat(start, c.cfg.maxTxnTTL, send("closed")); h != nil {
			<-h.Done() // a client that is closed starts none
		}
	})
}
