package twopc_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"google.golang.org/grpc/codes"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/twopc"
)

// The primary of puts("a", n) is a000 (the first mutation); with splits at
// a010, a020 and a030 every region holds ten keys.

func TestUndeterminedPrimaryCommit(t *testing.T) {
	t.Parallel()
	for _, applied := range []bool{true, false} {
		name := map[bool]string{true: "applied", false: "not applied"}[applied]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			e := startEnv(t, envConfig{splits: splits, clock: clock})
			ctx := testCtx(t)
			muts := puts("a", 40)
			// The primary's commit answer is lost (with applied the commit
			// ran first, otherwise it never ran), and the resend the
			// command table allows never gets an answer either: the
			// writer gives up while it is parked.
			e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Key: []byte("a000"), Count: 1,
				GRPCCode: codes.Unavailable, AfterApply: applied})
			hold := make(chan struct{})
			defer close(hold)
			e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Key: []byte("a000"), Hold: hold})
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var commits atomic.Int64
			e.sim.OnRequest(func(_ uint64, cmd string) {
				if cmd == "KvCommit" && commits.Add(1) == 2 {
					cancel()
				}
			})
			start := e.now(ctx)
			_, err := e.cli.Commit(cctx, muts, start)
			var und *twopc.UndeterminedError
			if !errors.As(err, &und) || !errors.Is(err, twopc.ErrUndetermined) || und.StartTS != start || und.CommitTS <= start {
				t.Fatalf("err = %v, want undetermined", err)
			}
			// Nothing was rolled back behind the caller's back.
			if err := e.cli.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			// A later reader (another client) resolves the locks: all or
			// nothing. The not-applied case needs the locks expired.
			clock.Advance(time.Minute)
			reader := e.newClient()
			for _, m := range muts {
				v, ok, err := e.get(ctx, reader, string(m.Key), e.now(ctx))
				if err != nil {
					t.Fatal(err)
				}
				if ok != applied || (ok && v != string(m.Value)) {
					t.Fatalf("key %q: %q found=%v, want found=%v", m.Key, v, ok, applied)
				}
			}
		})
	}
}

// TestLostCommitAnswerResent: the primary's commit answer is lost once; the
// resend (commits are idempotent in TiKV) learns the outcome, so the commit
// succeeds instead of being undetermined.
func TestLostCommitAnswerResent(t *testing.T) {
	t.Parallel()
	for _, applied := range []bool{true, false} {
		e := startEnv(t, envConfig{splits: splits})
		ctx := testCtx(t)
		muts := puts("a", 40)
		e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Key: []byte("a000"), Count: 1, GRPCCode: codes.Unavailable, AfterApply: applied})
		res, err := e.cli.Commit(ctx, muts, e.now(ctx))
		if err != nil {
			t.Fatalf("applied=%v: %v", applied, err)
		}
		if err := res.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		e.checkAll(ctx, muts, true)
	}
}

func TestCrashAfterPrimaryCommit(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits})
	ctx := testCtx(t)
	muts := puts("a", 40)
	hold := make(chan struct{})
	defer close(hold)
	for _, k := range []string{"a010", "a020", "a030"} {
		e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Key: []byte(k), Hold: hold})
	}
	writer := e.newClient()
	res, err := writer.Commit(ctx, muts, e.now(ctx))
	if err != nil {
		t.Fatal(err)
	}
	// The writer dies with three regions' secondaries uncommitted.
	_ = writer.Close()
	if err := res.Wait(ctx); err == nil {
		t.Fatal("secondaries committed despite the hold")
	}
	resolves := e.count("KvResolveLock")
	e.checkAll(ctx, muts, true)
	if err := e.cli.Drain(ctx); err != nil { // resolutions run in the background
		t.Fatal(err)
	}
	if resolves.Load() == 0 {
		t.Fatal("no lock was resolved")
	}
}

func TestCrashBeforePrimaryCommit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := startEnv(t, envConfig{splits: splits, clock: clock})
	ctx := testCtx(t)
	muts := puts("a", 40)
	hold := make(chan struct{})
	defer close(hold)
	e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Key: []byte("a000"), Hold: hold})
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
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := writer.Commit(cctx, muts, e.now(ctx))
		errc <- err
	}()
	<-arrived
	cancel() // the writer gives up mid-commit: the primary's commit never ran
	if err := <-errc; !errors.Is(err, twopc.ErrUndetermined) {
		t.Fatalf("err = %v, want undetermined", err)
	}
	_ = writer.Close()

	// While the locks live, a reader neither blocks nor sees the writes: it
	// pushes the transaction's min commit ts and reads around the locks.
	if _, ok := e.mustGet(ctx, "a015"); ok {
		t.Fatal("uncommitted write visible")
	}
	// After the TTL (by the timestamp source's clock) the reader rolls the
	// transaction back.
	clock.Advance(time.Minute)
	e.checkAll(ctx, muts, false)
}

func TestAsyncCommitResolvedBySecondaries(t *testing.T) {
	t.Parallel()
	t.Run("committed", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		e := startEnv(t, envConfig{splits: splits, clock: clock})
		ctx := testCtx(t)
		muts := puts("a", 40)
		hold := make(chan struct{})
		defer close(hold)
		e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Hold: hold})
		writer := e.newClient()
		res, err := writer.Commit(ctx, muts, e.now(ctx), twopc.WithAsyncCommit())
		if err != nil {
			t.Fatal(err)
		}
		if res.Mode() != twopc.ModeAsyncCommit || res.FellBack() {
			t.Fatalf("mode %v fell back %v", res.Mode(), res.FellBack())
		}
		_ = writer.Close() // no commit RPC ever ran
		checks := e.count("KvCheckSecondaryLocks")
		clock.Advance(time.Minute)
		e.checkAll(ctx, muts, true)
		if checks.Load() == 0 {
			t.Fatal("resolved without CheckSecondaryLocks")
		}
		// The reader committed at the transaction's commit ts.
		if _, ok, err := e.get(ctx, e.cli, "a033", res.CommitTS()-1); err != nil || ok {
			t.Fatalf("visible below the commit ts: %v %v", ok, err)
		}
		if v, ok, err := e.get(ctx, e.cli, "a033", res.CommitTS()); err != nil || !ok || v != "val-a033" {
			t.Fatalf("at the commit ts: %q %v %v", v, ok, err)
		}
	})
	t.Run("rolled back", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		e := startEnv(t, envConfig{splits: splits, clock: clock})
		ctx := testCtx(t)
		// A writer crashed between its prewrites: the primary a000 lists
		// a015 and a025 as secondaries, a025 is prewritten, a015 is not.
		start := e.now(ctx)
		prewrite := func(key string, secondaries ...string) {
			q := &kvrpcpb.PrewriteRequest{
				Context: e.codec.Context(), PrimaryLock: []byte("a000"), StartVersion: uint64(start), LockTtl: 3000,
				Mutations:      []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_Put, Key: []byte(key), Value: []byte("v")}},
				UseAsyncCommit: true, MinCommitTs: uint64(start) + 1, TxnSize: 3,
			}
			for _, k := range secondaries {
				q.Secondaries = append(q.Secondaries, []byte(k))
			}
			resp, err := e.send(ctx, []byte(key), func() *kvrpc.Request { return kvrpc.NewPrewrite(q) })
			if err != nil {
				t.Fatal(err)
			}
			if pr := resp.Message().(*kvrpcpb.PrewriteResponse); len(pr.GetErrors()) > 0 || pr.GetMinCommitTs() == 0 {
				t.Fatalf("prewrite %s: %v (min commit ts %d)", key, pr.GetErrors(), pr.GetMinCommitTs())
			}
		}
		prewrite("a000", "a015", "a025")
		prewrite("a025")
		checks := e.count("KvCheckSecondaryLocks")
		clock.Advance(time.Minute)
		for _, k := range []string{"a000", "a015", "a025"} {
			if v, ok := e.mustGet(ctx, k); ok {
				t.Fatalf("%s = %q after the rollback", k, v)
			}
		}
		if checks.Load() == 0 {
			t.Fatal("resolved without CheckSecondaryLocks")
		}
		// The rollback is final: a late prewrite of a015 cannot revive it.
		q := &kvrpcpb.PrewriteRequest{Context: e.codec.Context(), PrimaryLock: []byte("a000"), StartVersion: uint64(start), LockTtl: 3000,
			Mutations: []*kvrpcpb.Mutation{{Op: kvrpcpb.Op_Put, Key: []byte("a015"), Value: []byte("v")}}, UseAsyncCommit: true, MinCommitTs: uint64(start) + 1}
		resp, err := e.send(ctx, []byte("a015"), func() *kvrpc.Request { return kvrpc.NewPrewrite(q) })
		if err != nil {
			t.Fatal(err)
		}
		if errs := resp.Message().(*kvrpcpb.PrewriteResponse).GetErrors(); len(errs) == 0 || errs[0].GetConflict() == nil {
			t.Fatalf("late prewrite: %v, want a write conflict (self rolled back)", errs)
		}
	})
}

// TestUndeterminedResultRegionError: TiKV answers the primary's commit with
// UndeterminedResult; the commit is undetermined, not failed.
func TestUndeterminedResultRegionError(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{})
	ctx := testCtx(t)
	e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Count: 1,
		RegionError: &errorpb.Error{Message: "injected", UndeterminedResult: &errorpb.UndeterminedResult{}}})
	_, err := e.cli.Commit(ctx, puts("u", 3), e.now(ctx))
	if !errors.Is(err, twopc.ErrUndetermined) {
		t.Fatalf("err = %v, want undetermined", err)
	}
}

// TestPrimaryRegionSplitsDuringCommit splits the primary's region while its
// commit is parked, so that secondaries of that batch sort before the
// primary in a region of their own: the primary is still committed first,
// and a failure of those secondaries does not fail the commit.
func TestPrimaryRegionSplitsDuringCommit(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{})
	ctx := testCtx(t)
	hold := make(chan struct{})
	e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Count: 1, Hold: hold})
	arrived := make(chan struct{}, 1)
	e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvCommit" {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	})
	muts := puts("a", 10)
	type out struct {
		res *twopc.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := e.cli.Commit(ctx, muts, e.now(ctx), twopc.WithPrimary([]byte("a005")))
		done <- out{res, err}
	}()
	<-arrived
	if _, err := e.sim.SplitRegion([]byte("a003")); err != nil {
		t.Fatal(err)
	}
	// The left part's commit fails once; had it gone first, Commit would
	// fail (or commit a secondary before its primary).
	e.sim.InjectFault(tikvsim.Fault{Command: "KvCommit", Key: []byte("a001"), Count: 1, KeyError: &kvrpcpb.KeyError{Abort: "injected"}})
	close(hold)
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	if err := o.res.Wait(ctx); err == nil {
		t.Fatal("the left part's injected failure was not reported by Wait")
	}
	e.checkAll(ctx, muts, true) // the reader resolves a000..a002
}
