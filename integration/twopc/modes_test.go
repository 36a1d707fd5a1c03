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
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// raiseMaxTS makes TiKV's max_ts jump an hour ahead with one read, so every
// async-commit or 1PC prewrite computes a min commit ts above its max
// commit ts and TiKV falls back to 2PC.
func (e *env) raiseMaxTS(ctx context.Context) {
	e.t.Helper()
	future := tso.Compose(e.now(ctx).Physical()+time.Hour.Milliseconds(), 0)
	if _, err := e.send(ctx, []byte("zzz"), func() *kvrpc.Request {
		return kvrpc.NewGet(&kvrpcpb.GetRequest{Context: &kvrpcpb.Context{}, Key: []byte("zzz"), Version: uint64(future)})
	}); err != nil {
		e.t.Fatal(err)
	}
}

func TestCommitModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		muts       twopc.MutationSlice
		opts       []twopc.CommitOption
		clientOpts []twopc.Option
		raiseMaxTS bool
		fault      *tikvsim.Fault
		mode       twopc.Mode
		fellBack   bool
		commits    bool // whether any KvCommit is sent
	}{
		{name: "async commit", muts: puts("a", 40), opts: []twopc.CommitOption{twopc.WithAsyncCommit()},
			mode: twopc.ModeAsyncCommit, commits: true},
		{name: "async commit causal", muts: puts("a", 40), opts: []twopc.CommitOption{twopc.WithAsyncCommit(), twopc.WithCausalConsistency()},
			mode: twopc.ModeAsyncCommit, commits: true},
		{name: "async commit not eligible (keys)", muts: puts("a", 40), opts: []twopc.CommitOption{twopc.WithAsyncCommit()},
			clientOpts: []twopc.Option{twopc.WithAsyncCommitLimits(8, 4096, 2*time.Second)}, mode: twopc.Mode2PC, commits: true},
		{name: "async commit not eligible (bytes)", muts: puts("a", 40), opts: []twopc.CommitOption{twopc.WithAsyncCommit()},
			clientOpts: []twopc.Option{twopc.WithAsyncCommitLimits(256, 100, 2*time.Second)}, mode: twopc.Mode2PC, commits: true},
		{name: "async commit declined by tikv", muts: puts("a", 40), opts: []twopc.CommitOption{twopc.WithAsyncCommit()},
			raiseMaxTS: true, mode: twopc.Mode2PC, fellBack: true, commits: true},
		{name: "async commit after max ts not synced", muts: puts("a", 40), opts: []twopc.CommitOption{twopc.WithAsyncCommit()},
			fault: &tikvsim.Fault{Command: "KvPrewrite", Count: 2, RegionError: &errorpb.Error{Message: "injected", MaxTimestampNotSynced: &errorpb.MaxTimestampNotSynced{}}},
			mode:  twopc.ModeAsyncCommit, commits: true},
		{name: "1pc", muts: puts("a", 5), opts: []twopc.CommitOption{twopc.With1PC()}, mode: twopc.Mode1PC},
		{name: "1pc and async: 1pc wins", muts: puts("a", 5), opts: []twopc.CommitOption{twopc.With1PC(), twopc.WithAsyncCommit()}, mode: twopc.Mode1PC},
		{name: "1pc not eligible (regions)", muts: puts("a", 40), opts: []twopc.CommitOption{twopc.With1PC()}, mode: twopc.Mode2PC, commits: true},
		{name: "1pc not eligible (batch size)", muts: puts("a", 5), opts: []twopc.CommitOption{twopc.With1PC()},
			clientOpts: []twopc.Option{twopc.WithBatchSize(16, 2)}, mode: twopc.Mode2PC, commits: true},
		{name: "1pc declined by tikv", muts: puts("a", 5), opts: []twopc.CommitOption{twopc.With1PC()},
			raiseMaxTS: true, mode: twopc.Mode2PC, fellBack: true, commits: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envConfig{splits: splits, opts: tc.clientOpts})
			ctx := testCtx(t)
			if tc.raiseMaxTS {
				e.raiseMaxTS(ctx)
			}
			if tc.fault != nil {
				e.sim.InjectFault(*tc.fault)
			}
			commits := e.count("KvCommit")
			res, err := e.cli.Commit(ctx, tc.muts, e.now(ctx), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			if res.Mode() != tc.mode || res.FellBack() != tc.fellBack {
				t.Fatalf("mode %v fell back %v, want %v %v", res.Mode(), res.FellBack(), tc.mode, tc.fellBack)
			}
			if got := commits.Load() > 0; got != tc.commits {
				t.Fatalf("commit RPCs sent: %v, want %v", got, tc.commits)
			}
			if !tc.raiseMaxTS {
				// Reads at the commit ts see the writes; below it they do not.
				k := string(tc.muts[len(tc.muts)-1].Key)
				if _, ok, err := e.get(ctx, e.cli, k, res.CommitTS()-1); err != nil || ok {
					t.Fatalf("visible below the commit ts: %v %v", ok, err)
				}
				if _, ok, err := e.get(ctx, e.cli, k, res.CommitTS()); err != nil || !ok {
					t.Fatalf("not visible at the commit ts: %v %v", ok, err)
				}
				e.checkAll(ctx, tc.muts, true)
			}
		})
	}
}

// TestOnePCRegionSplitMidPrewrite splits the region while the 1PC prewrite
// is in flight: TiKV refuses it (epoch not match), the batch is re-grouped
// into two, and neither part may commit alone, so the commit falls back to
// 2PC.
func TestOnePCRegionSplitMidPrewrite(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: splits})
	ctx := testCtx(t)
	hold := make(chan struct{})
	e.sim.InjectFault(tikvsim.Fault{Command: "KvPrewrite", Count: 1, Hold: hold})
	arrived := make(chan struct{}, 1)
	e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvPrewrite" {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
	})
	muts := puts("a", 5)
	type out struct {
		res *twopc.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := e.cli.Commit(ctx, muts, e.now(ctx), twopc.With1PC())
		done <- out{res, err}
	}()
	<-arrived
	if _, err := e.sim.SplitRegion([]byte("a002")); err != nil {
		t.Fatal(err)
	}
	close(hold)
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	if o.res.Mode() != twopc.Mode2PC || !o.res.FellBack() {
		t.Fatalf("mode %v fell back %v", o.res.Mode(), o.res.FellBack())
	}
	if err := o.res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	e.checkAll(ctx, muts, true)
}

// TestOnePCAnswerLost loses the answer of a 1PC prewrite that TiKV
// applied. The resend learns the commit ts TiKV used (a duplicate 1PC
// prewrite reports it); when the resend never answers either, the commit
// is undetermined, and the data turns out committed.
func TestOnePCAnswerLost(t *testing.T) {
	t.Parallel()
	t.Run("resent", func(t *testing.T) {
		t.Parallel()
		e := startEnv(t, envConfig{splits: splits})
		ctx := testCtx(t)
		muts := puts("a", 5)
		e.sim.InjectFault(tikvsim.Fault{Command: "KvPrewrite", Count: 1, GRPCCode: codes.Unavailable, AfterApply: true})
		res, err := e.cli.Commit(ctx, muts, e.now(ctx), twopc.With1PC())
		if err != nil {
			t.Fatal(err)
		}
		if res.Mode() != twopc.Mode1PC {
			t.Fatalf("mode %v", res.Mode())
		}
		if _, ok, err := e.get(ctx, e.cli, "a004", res.CommitTS()-1); err != nil || ok {
			t.Fatalf("visible below the commit ts: %v %v", ok, err)
		}
		e.checkAll(ctx, muts, true)
	})
	t.Run("undetermined", func(t *testing.T) {
		t.Parallel()
		e := startEnv(t, envConfig{splits: splits})
		ctx := testCtx(t)
		muts := puts("a", 5)
		e.sim.InjectFault(tikvsim.Fault{Command: "KvPrewrite", Count: 1, GRPCCode: codes.Unavailable, AfterApply: true})
		hold := make(chan struct{})
		defer close(hold)
		e.sim.InjectFault(tikvsim.Fault{Command: "KvPrewrite", Hold: hold})
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var n atomic.Int64
		e.sim.OnRequest(func(_ uint64, cmd string) {
			if cmd == "KvPrewrite" && n.Add(1) == 2 {
				cancel()
			}
		})
		_, err := e.cli.Commit(cctx, muts, e.now(ctx), twopc.With1PC())
		if !errors.Is(err, twopc.ErrUndetermined) {
			t.Fatalf("err = %v, want undetermined", err)
		}
		e.checkAll(ctx, muts, true)
	})
}
