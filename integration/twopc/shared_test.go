package twopc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// sharedTxn is a pessimistic transaction holding primary exclusively and
// keys in share mode.
type sharedTxn struct {
	start, forUpdate tso.Timestamp
	primary          []byte
	keys             [][]byte
}

func (e *env) shareLock(ctx context.Context, cli *twopc.Client, primary string, keys ...string) (sharedTxn, []twopc.LockResult) {
	e.t.Helper()
	s := sharedTxn{start: e.now(ctx), primary: []byte(primary)}
	s.forUpdate = e.now(ctx)
	if _, err := cli.PessimisticLock(ctx, twopc.LockRequest{Primary: s.primary, StartTS: s.start, ForUpdateTS: s.forUpdate,
		Keys: [][]byte{s.primary}, IsFirstLock: true}); err != nil {
		e.t.Fatalf("lock primary %s: %v", primary, err)
	}
	for _, k := range keys {
		s.keys = append(s.keys, []byte(k))
	}
	res, err := cli.PessimisticLock(ctx, twopc.LockRequest{Primary: s.primary, StartTS: s.start, ForUpdateTS: s.forUpdate,
		Keys: s.keys, Shared: true, ReturnValues: true, WaitTimeout: -1})
	if err != nil {
		e.t.Fatalf("share-lock %v: %v", keys, err)
	}
	return s, res
}

// mutations is the commit of s: the primary as a lock, the keys as shared
// locks.
func (s sharedTxn) mutations() twopc.MutationSlice {
	m := twopc.MutationSlice{{Op: twopc.OpLock, Key: s.primary, Flags: twopc.FlagPessimisticLock}}
	for _, k := range s.keys {
		m = append(m, twopc.Mutation{Op: twopc.OpSharedLock, Key: k, Flags: twopc.FlagPessimisticLock})
	}
	return m
}

func (s sharedTxn) commit(ctx context.Context, cli *twopc.Client, opts ...twopc.CommitOption) (*twopc.Result, error) {
	opts = append([]twopc.CommitOption{twopc.WithForUpdateTS(s.forUpdate), twopc.WithPrimary(s.primary)}, opts...)
	return cli.Commit(ctx, s.mutations(), s.start, opts...)
}

// TestSharedLocks: two transactions share-lock one key and both commit
// (with plain 2PC even when 1PC is asked for); an exclusive locker meets
// the holders as their own transactions' locks; the request shapes TiKV
// refuses fail at once.
func TestSharedLocks(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits})
	ctx := testCtx(t)
	base, err := e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpPut, Key: []byte("a050"), Value: []byte("v0")}}, e.now(ctx))
	if err != nil {
		t.Fatal(err)
	}
	_ = base.Wait(ctx)

	a, ra := e.shareLock(ctx, e.cli, "a010", "a050")
	b, rb := e.shareLock(ctx, e.cli, "a020", "a050")
	if string(ra[0].Value) != "v0" || !ra[0].Exists || string(rb[0].Value) != "v0" {
		t.Fatalf("shared lock values = %+v, %+v", ra, rb)
	}

	for name, q := range map[string]twopc.LockRequest{
		"primary in share mode": {Primary: a.primary, StartTS: a.start, ForUpdateTS: a.forUpdate, Keys: [][]byte{a.primary}, Shared: true},
		"shared force-lock":     {Primary: a.primary, StartTS: a.start, ForUpdateTS: a.forUpdate, Keys: a.keys, Shared: true, WakeUpMode: twopc.WakeUpForceLock},
		"force-lock of 2 keys":  {Primary: a.primary, StartTS: a.start, ForUpdateTS: a.forUpdate, Keys: [][]byte{[]byte("x"), []byte("y")}, WakeUpMode: twopc.WakeUpForceLock},
	} {
		if _, err := e.cli.PessimisticLock(ctx, q); !errors.Is(err, twopc.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpSharedLock, Key: []byte("a050")}}, a.start); !errors.Is(err, twopc.ErrInvalidOption) {
		t.Errorf("commit of shared locks only: %v, want ErrInvalidOption", err)
	}

	// An exclusive locker is refused; the error names a holder.
	c := e.now(ctx)
	_, err = e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: []byte("a050"), StartTS: c, ForUpdateTS: c, Keys: [][]byte{[]byte("a050")}, WaitTimeout: -1})
	var locked *twopc.KeyIsLockedError
	if !errors.As(err, &locked) || locked.Lock.Type != twopc.LockSharedPessimistic ||
		(locked.Lock.StartTS != a.start && locked.Lock.StartTS != b.start) || string(locked.Lock.Key) != "a050" {
		t.Fatalf("exclusive over shared: %v", err)
	}

	for _, s := range []sharedTxn{a, b} {
		res, err := s.commit(ctx, e.cli, twopc.With1PC())
		if err != nil {
			t.Fatalf("commit of txn %d: %v", s.start, err)
		}
		if res.Mode() != twopc.Mode2PC {
			t.Fatalf("txn %d committed with %v, want 2PC (shared locks)", s.start, res.Mode())
		}
		if err := res.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := e.mustGet(ctx, "a050"); v != "v0" {
		t.Fatalf("a050 = %q after shared locks, want v0", v)
	}
	// Both holders left: the exclusive lock is free to take.
	c = e.now(ctx)
	if _, err := e.cli.PessimisticLock(ctx, twopc.LockRequest{Primary: []byte("a050"), StartTS: c, ForUpdateTS: c, Keys: [][]byte{[]byte("a050")}, WaitTimeout: -1}); err != nil {
		t.Fatalf("exclusive lock after the holders: %v", err)
	}
}

// TestSharedLockOfCrashedTxnResolved: a writer meeting the shared-lock
// wrapper of a crashed transaction (a shared pessimistic entry, or a
// prewritten one whose primary never committed) resolves that holder
// once its primary expired, and writes. Reads ignore shared locks
// throughout (TiKV's rule), so they never wait for the crashed holder.
func TestSharedLockOfCrashedTxnResolved(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := startEnv(t, envConfig{splits: splits, clock: clock})
	ctx := testCtx(t)

	// Crash 1: shared pessimistic lock, never prewritten.
	crashed := e.newClient()
	live, _ := e.shareLock(ctx, e.cli, "a001", "a060")
	_, _ = e.shareLock(ctx, crashed, "a002", "a060")
	_ = crashed.Close()

	// Crash 2: a prewritten shared lock whose primary's commit never ran.
	hold := make(chan struct{})
	defer close(hold)
	e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Key: []byte("a003"), Hold: hold})
	arrived := make(chan struct{}, 1)
	e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvCommit" {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	})
	writer := e.newClient()
	s, _ := e.shareLock(ctx, writer, "a003", "a070")
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := s.commit(cctx, writer)
		errc <- err
	}()
	<-arrived
	cancel()
	if err := <-errc; !errors.Is(err, twopc.ErrUndetermined) {
		t.Fatalf("crashed commit: %v, want undetermined", err)
	}
	_ = writer.Close()

	for _, k := range []string{"a060", "a070"} {
		if _, ok := e.mustGet(ctx, k); ok {
			t.Fatalf("%s exists", k)
		}
	}
	// The live holder of a060 finishes; the crashed ones expire.
	res, err := live.commit(ctx, e.cli)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Wait(ctx)
	clock.Advance(time.Minute)

	for _, k := range []string{"a060", "a070"} {
		res, err := e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpPut, Key: []byte(k), Value: []byte("w")}}, e.now(ctx))
		if err != nil {
			t.Fatalf("write over the crashed shared lock on %s: %v", k, err)
		}
		_ = res.Wait(ctx)
		if v, _ := e.mustGet(ctx, k); v != "w" {
			t.Fatalf("%s = %q, want w", k, v)
		}
	}
}
