package tso_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tso"
)

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
