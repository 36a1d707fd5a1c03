package gc_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"google.golang.org/grpc/codes"

	"github.com/tikvgo/tikvgo/gc"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

// TestRunWaitsOutLiveLock: a lock below the target whose transaction is
// still alive is waited for (the resolver says how long), then rolled
// back once it expires, within the region budget.
func TestRunWaitsOutLiveLock(t *testing.T) {
	e := startEnv(t, splits)
	e.lockTTL("live", e.now(), 200)
	target := e.now()
	res, err := e.gc.Run(t.Context(), target)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Locks != 1 || res.GCSafePoint != target {
		t.Fatalf("Run = %+v, want the live lock resolved and the GC safe point at %d", res, target)
	}
	if got := e.locks(target); len(got) != 0 {
		t.Errorf("locks left: %q", got)
	}
}

// TestRunGivesUpOnLockThatOutlivesBudget: a lock that stays alive past the
// region budget fails the round, and the GC safe point is not advanced.
func TestRunGivesUpOnLockThatOutlivesBudget(t *testing.T) {
	e := startEnv(t, splits, gc.WithRegionBudget(300*time.Millisecond))
	e.lockTTL("live", e.now(), 60_000)
	target := e.now()
	if _, err := e.gc.Run(t.Context(), target); err == nil {
		t.Fatal("Run succeeded with a live lock below the target")
	}
	st, err := e.gc.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.TxnSafePoint != uint64(target) || st.GCSafePoint != 0 {
		t.Errorf("state %+v: want the txn safe point advanced and the GC safe point untouched", st)
	}
}

// TestUnsafeDestroyRangeRetriesStoreFailure: a store that fails once is
// sent the command again; a store that keeps failing is reported as a
// StoreError, and the others are still done.
func TestUnsafeDestroyRangeRetriesStoreFailure(t *testing.T) {
	e := startEnv(t, splits, gc.WithRegionBudget(500*time.Millisecond))
	var (
		mu    sync.Mutex
		calls []uint64
	)
	defer e.sim.OnRequest(func(store uint64, cmd string) {
		if cmd == "UnsafeDestroyRange" {
			mu.Lock()
			calls = append(calls, store)
			mu.Unlock()
		}
	})()
	remove := e.sim.InjectFault(tikvsim.Fault{Command: "UnsafeDestroyRange", StoreID: 2, Count: 1, GRPCCode: codes.Unavailable})
	if err := e.gc.UnsafeDestroyRange(t.Context(), []byte("a"), []byte("z")); err != nil {
		t.Fatalf("UnsafeDestroyRange with one failure: %v", err)
	}
	remove()
	mu.Lock()
	got := slices.Sorted(slices.Values(calls))
	calls = nil
	mu.Unlock()
	if !slices.Equal(got, []uint64{1, 2, 2, 3}) {
		t.Errorf("calls by store %v, want store 2 twice", got)
	}

	defer e.sim.InjectFault(tikvsim.Fault{Command: "UnsafeDestroyRange", StoreID: 3, GRPCCode: codes.Unavailable})()
	err := e.gc.UnsafeDestroyRange(t.Context(), []byte("a"), []byte("z"))
	var se *gc.StoreError
	if !errors.As(err, &se) || se.StoreID != 3 {
		t.Fatalf("UnsafeDestroyRange with store 3 down = %v, want a StoreError for store 3", err)
	}
}

// TestConcurrentSafeCheckReadTSDuringRun: reads check the safe point while
// rounds move it; every check either passes or fails with ErrTooEarly, and
// the cache never goes back.
func TestConcurrentSafeCheckReadTSDuringRun(t *testing.T) {
	e := startEnv(t, splits, gc.WithSafePointTTL(0))
	first := e.now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := e.gc.CheckReadTS(t.Context(), first); err != nil && !errors.Is(err, gc.ErrTooEarly) {
					errs <- err
					return
				}
			}
		})
	}
	for range 3 {
		if _, err := e.gc.Run(t.Context(), e.now()); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := e.gc.CheckReadTS(t.Context(), first); !errors.Is(err, gc.ErrTooEarly) {
		t.Errorf("after the rounds: %v, want ErrTooEarly", err)
	}
}

// TestRunResolvesInMemoryLockRefusingScan: a ScanLock refused with
// KeyIsLocked (an in-memory lock) has that lock resolved and is sent again.
func TestRunResolvesInMemoryLockRefusingScan(t *testing.T) {
	e := startEnv(t, splits)
	old := tso.Compose(e.now().Physical()-60_000, 0)
	e.lock("q1", old)
	info := &kvrpcpb.LockInfo{Key: []byte("q1"), PrimaryLock: []byte("q1"), LockVersion: uint64(old), LockTtl: 1, LockType: kvrpcpb.Op_Put}
	defer e.sim.InjectFault(tikvsim.Fault{Command: "KvScanLock", Key: []byte("p"), Count: 1, KeyError: &kvrpcpb.KeyError{Locked: info}})()
	var scans atomic.Int64
	defer e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvScanLock" {
			scans.Add(1)
		}
	})()
	target := e.now()
	res, err := e.gc.Run(t.Context(), target)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.GCSafePoint != target || res.Locks < 1 {
		t.Fatalf("Run = %+v", res)
	}
	if n := scans.Load(); n != int64(len(splits)+2) {
		t.Errorf("%d ScanLock requests, want one per region and one again for the refused scan (%d)", n, len(splits)+2)
	}
	if got := e.locks(target); len(got) != 0 {
		t.Errorf("locks left: %q", got)
	}
}

// TestRunResolvesSharedLockHolders: a shared lock held by two abandoned
// transactions comes from ScanLock as one wrapper; both holders are
// resolved.
func TestRunResolvesSharedLockHolders(t *testing.T) {
	e := startEnv(t, splits)
	old := tso.Compose(e.now().Physical()-60_000, 0)
	lock := func(key, primary string, op kvrpcpb.Op, ts tso.Timestamp) {
		t.Helper()
		resp := e.send([]byte(key), kvrpc.NewPessimisticLock(&kvrpcpb.PessimisticLockRequest{
			Mutations:    []*kvrpcpb.Mutation{{Op: op, Key: []byte(key)}},
			PrimaryLock:  []byte(primary),
			StartVersion: uint64(ts), ForUpdateTs: uint64(ts), LockTtl: 1, WaitTimeout: -1,
		}))
		if errs := resp.Message().(*kvrpcpb.PessimisticLockResponse).GetErrors(); len(errs) > 0 {
			t.Fatalf("lock %q at %d: %v", key, ts, errs)
		}
	}
	// Each transaction holds its primary exclusively and shares "s".
	for i, ts := range []tso.Timestamp{old, old + 1} {
		primary := fmt.Sprintf("p%d", i)
		lock(primary, primary, kvrpcpb.Op_PessimisticLock, ts)
		lock("s", primary, kvrpcpb.Op_SharedPessimisticLock, ts)
	}
	target := e.now()
	res, err := e.gc.Run(t.Context(), target)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Locks != 3 || res.GCSafePoint != target {
		t.Errorf("Run = %+v, want 3 locks found (two primaries, one shared wrapper)", res)
	}
	if got := e.locks(target); len(got) != 0 {
		t.Errorf("locks left: %q", got)
	}
}
