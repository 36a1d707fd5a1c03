package tso_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tikvgo/tikvgo/tso"
)

// clockSource hands out timestamps from the (fake, under synctest) clock.
type clockSource struct {
	mu    sync.Mutex
	calls int
	last  tso.Timestamp
	err   error
}

func (s *clockSource) GetTS(context.Context) (tso.Timestamp, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return 0, s.err
	}
	ts := tso.FromTime(time.Now())
	if ts <= s.last {
		ts = s.last + 1
	}
	s.last = ts
	return ts, nil
}

func (s *clockSource) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func TestOracleLowResolutionRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &clockSource{}
		o, err := tso.NewOracle(src, tso.WithLowResolutionInterval(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		synctest.Wait()
		if n := src.callCount(); n != 1 {
			t.Fatalf("initial refresh: %d calls", n)
		}
		first, err := o.LowResolutionTS(t.Context())
		if err != nil || first == 0 {
			t.Fatalf("LowResolutionTS = %v, %v", first, err)
		}
		time.Sleep(1999 * time.Millisecond)
		synctest.Wait()
		if n := src.callCount(); n != 1 {
			t.Fatalf("refreshed early: %d calls", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := src.callCount(); n != 2 {
			t.Fatalf("after 2s: %d calls", n)
		}
		second, _ := o.LowResolutionTS(t.Context())
		if second.Physical()-first.Physical() != 2000 {
			t.Fatalf("low-res advanced %dms, want 2000", second.Physical()-first.Physical())
		}

		// Adjust at run time: the next refresh is 10s from now.
		if err := o.SetLowResolutionInterval(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		if o.LowResolutionInterval() != 10*time.Second {
			t.Fatal("interval not stored")
		}
		time.Sleep(9 * time.Second)
		synctest.Wait()
		if n := src.callCount(); n != 2 {
			t.Fatalf("old interval still used: %d calls", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := src.callCount(); n != 3 {
			t.Fatalf("after new interval: %d calls", n)
		}
		if err := o.SetLowResolutionInterval(0); !errors.Is(err, tso.ErrInvalidArgument) {
			t.Fatalf("zero interval: %v", err)
		}
	})
}

func TestOracleStaleAndExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &clockSource{}
		o, err := tso.NewOracle(src, tso.WithLowResolutionInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		ctx := t.Context()
		lock, err := o.TS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		stale, err := o.StaleTS(ctx, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if want := tso.Compose(lock.Physical()+500-2000, 0); stale != want {
			t.Fatalf("StaleTS = %v, want %v", stale, want)
		}
		if got := o.UntilExpired(lock, 3*time.Second); got != 2500*time.Millisecond {
			t.Fatalf("UntilExpired = %v, want 2.5s", got)
		}
		if o.IsExpired(lock, 3*time.Second) {
			t.Fatal("expired too early")
		}
		time.Sleep(2500 * time.Millisecond)
		if !o.IsExpired(lock, 3*time.Second) {
			t.Fatal("not expired after ttl")
		}
		if got := o.UntilExpired(lock, time.Second); got != -2*time.Second {
			t.Fatalf("UntilExpired past ttl = %v", got)
		}
		if _, err := o.StaleTS(ctx, 100*365*24*time.Hour); !errors.Is(err, tso.ErrInvalidArgument) {
			t.Fatalf("stale before epoch: %v", err)
		}
	})
}

func TestOracleSourceErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		src := &clockSource{err: boom}
		o, err := tso.NewOracle(src)
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		synctest.Wait()
		if _, err := o.LowResolutionTS(t.Context()); !errors.Is(err, boom) {
			t.Fatalf("LowResolutionTS without cache: %v", err)
		}
		if _, err := o.StaleTS(t.Context(), time.Second); !errors.Is(err, boom) {
			t.Fatalf("StaleTS without cache: %v", err)
		}
		if _, err := tso.NewOracle(src, tso.WithLowResolutionInterval(-1)); !errors.Is(err, tso.ErrInvalidOption) {
			t.Fatalf("negative interval: %v", err)
		}
	})
}

func TestOracleOverClient(t *testing.T) {
	p := newFakePD(t, 1)
	c := newTSO(t, p)
	o, err := tso.NewOracle(c)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ts, err := o.TS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	low, err := o.LowResolutionTS(t.Context())
	if err != nil || low < ts {
		t.Fatalf("LowResolutionTS = %v, %v (after %v)", low, err, ts)
	}
}
