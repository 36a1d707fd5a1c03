package rawkv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// partitionLeader caches the region of key in cli, cuts its leader's store
// off (the connection stays up, requests go unanswered) and moves the
// leader to another store, as the cluster would after an election. It
// returns the region.
func partitionLeader(t *testing.T, e *env, cli *rawkv.Client, key []byte) tikvsim.RegionInfo {
	t.Helper()
	ctx := ctxT(t)
	if err := cli.Put(ctx, key, b("v")); err != nil {
		t.Fatal(err)
	}
	r, err := e.sim.RegionByKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.PartitionStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sim.HealStore(r.Leader) })
	for _, p := range r.Peers {
		if p.StoreID != r.Leader {
			if err := e.sim.TransferLeader(r.ID, p.StoreID); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	return r
}

// TestReadTimeoutFailsOver reads from a region whose cached leader stopped
// answering while its connection stays up: the attempt times out after the
// read timeout and the read is served by the new leader, long before the
// caller's deadline, and the new leader is cached for the next read.
func TestReadTimeoutFailsOver(t *testing.T) {
	t.Parallel()
	const attempt = 300 * time.Millisecond
	cases := []struct {
		name    string
		opts    []rawkv.Option
		timeout time.Duration // the read's attempt timeout
	}{
		{"WithReadTimeout", []rawkv.Option{rawkv.WithReadTimeout(attempt)}, attempt},
		{"default", nil, rawkv.DefaultReadTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, tikvsim.Options{})
			cli := e.newClient(t, tc.opts...)
			partitionLeader(t, e, cli, b("k"))
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			start := time.Now()
			v, err := cli.Get(ctx, b("k"))
			took := time.Since(start)
			if err != nil || string(v) != "v" {
				t.Fatalf("Get with the leader partitioned = %q, %v", v, err)
			}
			// One timed-out attempt plus retries that need no backoff;
			// the margin absorbs a loaded machine, not a second timeout.
			if limit := tc.timeout + tc.timeout/2 + time.Second; took > limit {
				t.Fatalf("Get took %v, want about one attempt timeout (%v), at most %v", took, tc.timeout, limit)
			}
			t.Logf("Get served by the new leader after %v (attempt timeout %v)", took, tc.timeout)

			// The peer that served the leader read is cached as the
			// leader, so the next read does not wait on the old one again.
			start = time.Now()
			kvs, err := cli.Scan(ctx, b("k"), nil, 10)
			if err != nil || len(kvs) != 1 {
				t.Fatalf("Scan after the failover = %v, %v", kvs, err)
			}
			// Waiting on the old leader would cost a whole range-read
			// attempt timeout.
			if took := time.Since(start); took >= rawkv.RangeReadFactor*tc.timeout {
				t.Fatalf("Scan after the failover took %v: it waited on the old leader again", took)
			}
		})
	}
}

// TestWriteKeepsCallerDeadline writes to a region whose leader stopped
// answering: with no per-attempt timeout for writes the Put waits for the
// caller's deadline (resending a write whose attempt timed out would not
// make its outcome known), and reports it undetermined.
func TestWriteKeepsCallerDeadline(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{})
	cli := e.newClient(t, rawkv.WithReadTimeout(100*time.Millisecond))
	partitionLeader(t, e, cli, b("k"))
	const deadline = 1500 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	start := time.Now()
	err := cli.Put(ctx, b("k"), b("w"))
	if took := time.Since(start); took < deadline-50*time.Millisecond {
		t.Fatalf("Put gave up after %v, before the caller's deadline %v: = %v", took, deadline, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, rawkv.ErrUndetermined) {
		t.Fatalf("Put to a silent leader = %v, want the deadline, undetermined", err)
	}
}
