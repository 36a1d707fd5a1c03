package rawkv_test

import (
	"sync"
	"testing"

	"github.com/pingcap/kvproto/pkg/errorpb"

	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// backoffLog records the events a backoff observer is given.
type backoffLog struct {
	mu     sync.Mutex
	events []retry.BackoffEvent
}

func (l *backoffLog) observe(ev retry.BackoffEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *backoffLog) snapshot() []retry.BackoffEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]retry.BackoffEvent(nil), l.events...)
}

// electionError is the region error of a region whose leader is being
// elected: NotLeader without a hint, which the client backs off on with
// retry.RegionScheduling before trying again.
func electionError() *errorpb.Error {
	return &errorpb.Error{Message: "injected: no leader", NotLeader: &errorpb.NotLeader{}}
}

// TestBackoffObserverSeesRegionErrorBackoff injects one region error into a
// point read and one into a batch read and checks the observer saw a slept
// RegionScheduling backoff for each, and nothing while no fault was set. (With
// the one replica of a single store, the sender then finds no other replica to
// try and the call backs off once more with RegionMiss before it locates the
// region again; the test does not depend on that follow-up.)
func TestBackoffObserverSeesRegionErrorBackoff(t *testing.T) {
	t.Parallel()
	// A second observer (and a nil one, ignored) must see the same events.
	var log, second backoffLog
	e := startEnv(t, tikvsim.Options{Stores: 1}, rawkv.WithBackoffObserver(log.observe),
		rawkv.WithBackoffObserver(nil), rawkv.WithBackoffObserver(second.observe))
	ctx := ctxT(t)
	if err := e.cli.BatchPut(ctx, [][]byte{b("a"), b("b")}, [][]byte{b("1"), b("2")}); err != nil {
		t.Fatalf("BatchPut: %v", err)
	}
	if evs := log.snapshot(); len(evs) != 0 {
		t.Fatalf("observer saw %d backoffs without any fault: %+v", len(evs), evs)
	}

	remove := e.sim.InjectFault(tikvsim.Fault{Command: "RawGet", Count: 1, RegionError: electionError()})
	defer remove()
	if v, err := e.cli.Get(ctx, b("a")); err != nil || string(v) != "1" {
		t.Fatalf("Get after a region error = %q, %v; want 1", v, err)
	}
	afterGet := log.snapshot()
	checkBackoffs(t, afterGet, "Get")

	// A batch call backs off on a Backoffer forked per RPC; the fork shares
	// the observer.
	remove2 := e.sim.InjectFault(tikvsim.Fault{Command: "RawBatchGet", Count: 1, RegionError: electionError()})
	defer remove2()
	got, err := e.cli.BatchGet(ctx, [][]byte{b("a"), b("b")})
	if err != nil || len(got) != 2 || string(got[0]) != "1" || string(got[1]) != "2" {
		t.Fatalf("BatchGet after a region error = %q, %v; want [1 2]", got, err)
	}
	all := log.snapshot()
	checkBackoffs(t, all[len(afterGet):], "BatchGet")
	if got := second.snapshot(); len(got) != len(all) {
		t.Fatalf("second observer saw %d backoffs, the first %d", len(got), len(all))
	}
}

// checkBackoffs checks that evs, the backoffs of one call that met one
// injected election error, start with a slept first RegionScheduling backoff
// and that every one of them slept (the call succeeded).
func checkBackoffs(t *testing.T, evs []retry.BackoffEvent, call string) {
	t.Helper()
	if len(evs) == 0 {
		t.Fatalf("%s: observer saw no backoff after a region error", call)
	}
	if ev := evs[0]; ev.Kind != retry.RegionScheduling || ev.Attempt != 1 {
		t.Fatalf("%s: first backoff %+v; want attempt 1 of %v", call, ev, retry.RegionScheduling)
	}
	for _, ev := range evs {
		if ev.Outcome != retry.OutcomeSlept || ev.Slept <= 0 {
			t.Fatalf("%s: backoff %+v did not sleep; want every backoff slept", call, ev)
		}
	}
}

// TestBackoffObserverNil checks that a nil observer is accepted and means
// none: a call that backs off still succeeds.
func TestBackoffObserverNil(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{}, rawkv.WithBackoffObserver(nil))
	ctx := ctxT(t)
	if err := e.cli.Put(ctx, b("k"), b("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	remove := e.sim.InjectFault(tikvsim.Fault{Command: "RawGet", Count: 1, RegionError: electionError()})
	defer remove()
	if v, err := e.cli.Get(ctx, b("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get after a region error = %q, %v; want v", v, err)
	}
}
