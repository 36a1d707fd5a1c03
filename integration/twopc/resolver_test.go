package twopc_test

import (
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/twopc"
)

// TestResolverStatusCacheAndReadThrough leaves a committed transaction's
// secondaries locked, then resolves them for a reader: the reader may read
// through them (committed before its ts), and the transaction's status is
// asked of TiKV once, then served from the cache.
func TestResolverStatusCacheAndReadThrough(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits})
	ctx := testCtx(t)
	hold := make(chan struct{})
	defer close(hold)
	e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Key: []byte("a015"), Hold: hold})
	writer := e.newClient()
	muts := twopc.MutationSlice{
		{Op: twopc.OpPut, Key: []byte("a005"), Value: []byte("p")},
		{Op: twopc.OpPut, Key: []byte("a015"), Value: []byte("s1")},
		{Op: twopc.OpPut, Key: []byte("a016"), Value: []byte("s2")},
	}
	start := e.now(ctx)
	res, err := writer.Commit(ctx, muts, start)
	if err != nil {
		t.Fatal(err)
	}
	_ = writer.Close()
	lock := func(key string) *twopc.Lock {
		return &twopc.Lock{Key: []byte(key), Primary: []byte("a005"), StartTS: start, TTL: 3 * time.Second, TxnSize: 3, Type: twopc.LockPut}
	}
	checks := e.count("KvCheckTxnStatus")
	reader := e.newClient()
	readTS := e.now(ctx)
	r, err := reader.Resolver().ResolveLocksForRead(ctx, retry.New(time.Second), readTS, []*twopc.Lock{lock("a015")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Wait != 0 || len(r.Committed) != 1 || r.Committed[0] != start || len(r.Resolved) != 0 {
		t.Fatalf("result %+v", r)
	}
	// A reader below the commit ts may ignore the lock instead.
	r, err = reader.Resolver().ResolveLocksForRead(ctx, retry.New(time.Second), res.CommitTS()-1, []*twopc.Lock{lock("a016")})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Resolved) != 1 || len(r.Committed) != 0 {
		t.Fatalf("result %+v", r)
	}
	if n := checks.Load(); n != 1 {
		t.Fatalf("CheckTxnStatus sent %d times, want 1 (then cached)", n)
	}
	e.checkAll(ctx, muts, true)
}

// TestResolverWaitsForLiveLock: a live lock (the writer is still between
// prewrite and commit) is not resolved; a writer is told how long to wait.
func TestResolverWaitsForLiveLock(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := startEnv(t, envConfig{clock: clock})
	ctx := testCtx(t)
	start := e.now(ctx)
	if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: []byte("p"), StartTS: start, ForUpdateTS: start, Keys: [][]byte{[]byte("p")}, TTL: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	l := &twopc.Lock{Key: []byte("p"), Primary: []byte("p"), StartTS: start, TTL: 10 * time.Second, Type: twopc.LockPessimistic}
	r, err := e.cli.Resolver().ResolveLocks(ctx, retry.New(time.Second), []*twopc.Lock{l})
	if err != nil {
		t.Fatal(err)
	}
	if r.Wait <= 0 || r.Wait > 10*time.Second+time.Millisecond {
		t.Fatalf("wait %v", r.Wait)
	}
	clock.Advance(11 * time.Second)
	r, err = e.cli.Resolver().ResolveLocks(ctx, retry.New(time.Second), []*twopc.Lock{l})
	if err != nil || r.Wait != 0 {
		t.Fatalf("after expiry: %+v %v", r, err)
	}
	// The expired pessimistic lock is gone: another transaction locks the key.
	other := e.now(ctx)
	if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: []byte("p"), StartTS: other, ForUpdateTS: other, Keys: [][]byte{[]byte("p")}, WaitTimeout: -1}); err != nil {
		t.Fatal(err)
	}
}

// TestResolverRollsBackTTLZeroLock: a lock reported with TTL 0 (as TiKV
// reports a live pessimistic lock to a pessimistic prewrite) is resolved at
// once, though its own TTL has far to run: the pessimistic lock is rolled
// back, another transaction takes the key without waiting, and the
// holder's commit of it fails.
func TestResolverRollsBackTTLZeroLock(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := startEnv(t, envConfig{clock: clock})
	ctx := testCtx(t)
	key := []byte("ttl0")
	start := e.now(ctx)
	if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: key, StartTS: start, ForUpdateTS: start, Keys: [][]byte{key}, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	l := &twopc.Lock{Key: key, Primary: key, StartTS: start, TTL: 0, Type: twopc.LockPessimistic}
	r, err := e.cli.Resolver().ResolveLocks(ctx, retry.New(time.Second), []*twopc.Lock{l})
	if err != nil || r.Wait != 0 {
		t.Fatalf("resolve of a TTL-0 lock: %+v %v, want no wait", r, err)
	}
	other := e.now(ctx)
	if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: key, StartTS: other, ForUpdateTS: other, Keys: [][]byte{key}, WaitTimeout: -1}); err != nil {
		t.Fatalf("lock after the TTL-0 lock was resolved: %v", err)
	}
	muts := twopc.MutationSlice{{Op: twopc.OpPut, Key: key, Value: []byte("holder"), Flags: twopc.FlagPessimisticLock}}
	if _, err := e.cli.Commit(ctx, muts, start, twopc.WithForUpdateTS(start), twopc.WithPrimary(key)); err == nil {
		t.Fatal("the holder committed a key whose pessimistic lock was rolled back")
	}
	if v, ok := e.mustGet(ctx, string(key)); ok {
		t.Fatalf("%s = %q after the holder's failed commit, want absent", key, v)
	}
}
