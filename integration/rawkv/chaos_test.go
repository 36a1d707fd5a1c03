package rawkv_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// holdFirst parks the first request of cmd in the cluster and returns a
// channel that fires once it arrived, and the function releasing it.
func holdFirst(t *testing.T, e *env, cmd string) (arrived <-chan struct{}, release func()) {
	t.Helper()
	hold := make(chan struct{})
	got := make(chan struct{})
	var once sync.Once
	remove := e.sim.OnRequest(func(_ uint64, c string) {
		if c == cmd {
			once.Do(func() { close(got) })
		}
	})
	removeFault := e.sim.InjectFault(tikvsim.Fault{Command: cmd, Count: 1, Hold: hold})
	var rel sync.Once
	release = func() {
		rel.Do(func() {
			close(hold)
			remove()
			removeFault()
		})
	}
	t.Cleanup(release)
	return got, release
}

func (e *env) count(cmd string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.cmds {
		if c == cmd {
			n++
		}
	}
	return n
}

// TestSplitDuringBatch parks a batch request, splits its region under it and
// releases it: TiKV answers EpochNotMatch, and the client regroups the keys
// by the new regions and writes them all.
func TestSplitDuringBatch(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"RawBatchPut", "RawBatchGet", "RawBatchDelete"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, tikvsim.Options{})
			ctx := ctxT(t)
			keys := keysN(100)
			if cmd != "RawBatchPut" {
				if err := e.cli.BatchPut(ctx, keys, keys); err != nil {
					t.Fatal(err)
				}
			}
			arrived, release := holdFirst(t, e, cmd)
			before := e.count(cmd)
			done := make(chan error, 1)
			var got [][]byte
			go func() {
				var err error
				switch cmd {
				case "RawBatchPut":
					err = e.cli.BatchPut(ctx, keys, keys)
				case "RawBatchGet":
					got, err = e.cli.BatchGet(ctx, keys)
				case "RawBatchDelete":
					err = e.cli.BatchDelete(ctx, keys)
				}
				done <- err
			}()
			<-arrived
			if _, err := e.sim.SplitRegionAt(b("m")); err != nil {
				t.Fatal(err)
			}
			release()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if n := e.count(cmd) - before; n < 3 {
				t.Fatalf("%d %s requests; want the parked one plus one per new region", n, cmd)
			}
			check, err := e.cli.BatchGet(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range keys {
				switch cmd {
				case "RawBatchGet":
					if !bytes.Equal(got[i], k) {
						t.Fatalf("BatchGet[%q] = %q", k, got[i])
					}
				case "RawBatchPut":
					if !bytes.Equal(check[i], k) {
						t.Fatalf("after BatchPut %q = %q", k, check[i])
					}
				case "RawBatchDelete":
					if check[i] != nil {
						t.Fatalf("after BatchDelete %q = %q", k, check[i])
					}
				}
			}
		})
	}
}

// TestSplitDuringScan splits the region a scan, a checksum and a delete
// range are reading while their first request is parked.
func TestSplitDuringScan(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"RawScan", "RawChecksum", "RawDeleteRange"} {
		t.Run(cmd, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, tikvsim.Options{})
			ctx := ctxT(t)
			keys := keysN(100)
			if err := e.cli.BatchPut(ctx, keys, keys); err != nil {
				t.Fatal(err)
			}
			want, err := e.cli.Checksum(ctx, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			arrived, release := holdFirst(t, e, cmd)
			done := make(chan error, 1)
			var kvs []rawkv.KV
			var sum rawkv.Checksum
			go func() {
				var err error
				switch cmd {
				case "RawScan":
					kvs, err = e.cli.Scan(ctx, nil, nil, 1000)
				case "RawChecksum":
					sum, err = e.cli.Checksum(ctx, nil, nil)
				case "RawDeleteRange":
					err = e.cli.DeleteRange(ctx, nil, nil)
				}
				done <- err
			}()
			<-arrived
			for _, k := range []string{"g", "p"} {
				if _, err := e.sim.SplitRegionAt(b(k)); err != nil {
					t.Fatal(err)
				}
			}
			release()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			switch cmd {
			case "RawScan":
				sorted := slices.Clone(keys)
				slices.SortFunc(sorted, bytes.Compare)
				if len(kvs) != len(sorted) {
					t.Fatalf("scan across split: %d pairs, want %d", len(kvs), len(sorted))
				}
				for i, kv := range kvs {
					if !bytes.Equal(kv.Key, sorted[i]) {
						t.Fatalf("scan[%d] = %q, want %q", i, kv.Key, sorted[i])
					}
				}
			case "RawChecksum":
				if sum != want {
					t.Fatalf("checksum across split = %+v, want %+v", sum, want)
				}
			case "RawDeleteRange":
				if left, err := e.cli.Scan(ctx, nil, nil, 10); err != nil || len(left) != 0 {
					t.Fatalf("after DeleteRange: %q, %v", left, err)
				}
			}
		})
	}
}

// TestLeaderTransfersAndRestarts keeps writing and reading while leaders move
// between stores and a store stops and restarts.
func TestLeaderTransfersAndRestarts(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{SplitKeys: [][]byte{b("h"), b("p")}})
	ctx := ctxT(t)
	keys := keysN(60)
	round := 0
	check := func(stage string) {
		t.Helper()
		round++
		vals := make([][]byte, len(keys))
		for i, k := range keys {
			vals[i] = fmt.Appendf(nil, "%s-%d", k, round)
		}
		if err := e.cli.BatchPut(ctx, keys, vals); err != nil {
			t.Fatalf("%s: BatchPut: %v", stage, err)
		}
		if err := e.cli.Put(ctx, keys[0], vals[0]); err != nil {
			t.Fatalf("%s: Put: %v", stage, err)
		}
		got, err := e.cli.BatchGet(ctx, keys)
		if err != nil {
			t.Fatalf("%s: BatchGet: %v", stage, err)
		}
		for i := range keys {
			if !bytes.Equal(got[i], vals[i]) {
				t.Fatalf("%s: %q = %q, want %q", stage, keys[i], got[i], vals[i])
			}
		}
		kvs, err := e.cli.Scan(ctx, nil, nil, 1000)
		if err != nil || len(kvs) != len(keys) {
			t.Fatalf("%s: Scan: %d pairs, %v", stage, len(kvs), err)
		}
	}
	check("initial")
	for _, r := range e.sim.Regions() {
		for _, p := range r.Peers {
			if p.StoreID != r.Leader {
				if err := e.sim.TransferLeader(r.ID, p.StoreID); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	check("after leader transfer")
	// Crash the store leading the first region: its leaders move away.
	first := e.sim.Regions()[0]
	if err := e.sim.StopStore(first.Leader); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.EvacuateLeaders(first.Leader); err != nil {
		t.Fatal(err)
	}
	check("store stopped")
	if err := e.sim.RestartStore(first.Leader); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.sim.Regions() {
		if err := e.sim.TransferLeader(r.ID, first.Leader); err != nil {
			t.Fatal(err)
		}
	}
	check("store restarted and leading again")
}

// TestUndeterminedWrite loses the answer of an applied write: a CAS is not
// resent and reports ErrUndetermined; a plain Put outside atomic mode is
// resent and succeeds.
func TestUndeterminedWrite(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{}, rawkv.WithAtomicForCAS())
	ctx := ctxT(t)
	remove := e.sim.InjectFault(tikvsim.Fault{Command: "RawCompareAndSwap", Count: 1, GRPCCode: codes.Unavailable, AfterApply: true})
	defer remove()
	_, err := e.cli.CompareAndSwap(ctx, b("k"), nil, b("v"))
	var ue *rawkv.UndeterminedError
	if !errors.Is(err, rawkv.ErrUndetermined) || !errors.As(err, &ue) {
		t.Fatalf("CAS with lost answer: %v", err)
	}
	if n := e.count("RawCompareAndSwap"); n != 1 {
		t.Fatalf("CAS sent %d times", n)
	}
	if v, err := e.cli.Get(ctx, b("k")); err != nil || string(v) != "v" {
		t.Fatalf("the CAS was applied, Get = %q, %v", v, err)
	}

	plain := e.newClient(t)
	e.sim.InjectFault(tikvsim.Fault{Command: "RawPut", Count: 1, GRPCCode: codes.Unavailable, AfterApply: true})
	if err := plain.Put(ctx, b("p"), b("v")); err != nil {
		t.Fatalf("Put outside atomic mode is resent: %v", err)
	}
	// The sender tries other replicas after the failure; they redirect it
	// back to the leader.
	if n := e.count("RawPut"); n < 2 {
		t.Fatalf("Put sent %d times, want it resent", n)
	}
}
