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
		early := c.startHeartbeat(start, send("early"))
		late := c.startHeartbeat(start, send("late"))
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
		queued := c.startHeartbeat(start, send("queued")) // due after Close
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
		if h := c.startHeartbeat(start, send("closed")); h != nil {
			<-h.Done() // a client that is closed starts none
		}
	})
}
