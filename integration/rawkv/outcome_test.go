package rawkv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"google.golang.org/grpc/codes"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// TestUndeterminedAfterEarlierAttempt loses the answer of a write's first
// attempt (TiKV applied it) and then refuses every later attempt with a
// definite error. The call must report ErrUndetermined, wrapping the last
// cause, although the last attempt alone proves nothing was applied; the
// read back shows the write landed.
func TestUndeterminedAfterEarlierAttempt(t *testing.T) {
	t.Parallel()
	tooLarge := &errorpb.Error{Message: "raft entry too large", RaftEntryTooLarge: &errorpb.RaftEntryTooLarge{}}
	noLeader := &errorpb.Error{Message: "not leader", NotLeader: &errorpb.NotLeader{}}
	cases := []struct {
		name  string
		cmd   string
		later *errorpb.Error // the definite error of every later attempt
		cause error          // what the error must match besides ErrUndetermined
		write func(ctx context.Context, c *rawkv.Client) error
		check func(ctx context.Context, t *testing.T, c *rawkv.Client)
	}{
		{"Put/fail-fast", "RawPut", tooLarge, locate.ErrRaftEntryTooLarge,
			func(ctx context.Context, c *rawkv.Client) error { return c.Put(ctx, b("k"), b("v")) },
			wantValue("k", "v")},
		{"Put/budget exhausted", "RawPut", noLeader, retry.ErrBudgetExhausted,
			func(ctx context.Context, c *rawkv.Client) error { return c.Put(ctx, b("k"), b("v")) },
			wantValue("k", "v")},
		{"Delete", "RawDelete", tooLarge, locate.ErrRaftEntryTooLarge,
			func(ctx context.Context, c *rawkv.Client) error { return c.Delete(ctx, b("old")) },
			wantValue("old", "")},
		{"BatchPut", "RawBatchPut", tooLarge, locate.ErrRaftEntryTooLarge,
			func(ctx context.Context, c *rawkv.Client) error {
				return c.BatchPut(ctx, [][]byte{b("k"), b("k2")}, [][]byte{b("v"), b("v2")})
			},
			wantValue("k2", "v2")},
		{"BatchDelete", "RawBatchDelete", tooLarge, locate.ErrRaftEntryTooLarge,
			func(ctx context.Context, c *rawkv.Client) error { return c.BatchDelete(ctx, [][]byte{b("old")}) },
			wantValue("old", "")},
		{"DeleteRange", "RawDeleteRange", tooLarge, locate.ErrRaftEntryTooLarge,
			func(ctx context.Context, c *rawkv.Client) error { return c.DeleteRange(ctx, b("o"), b("p")) },
			wantValue("old", "")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, tikvsim.Options{}, rawkv.WithRetryBudget(100*time.Millisecond))
			ctx := ctxT(t)
			if err := e.cli.Put(ctx, b("old"), b("x")); err != nil {
				t.Fatal(err)
			}
			// Faults apply in injection order: the first attempt is
			// applied and its answer lost, every later one refused.
			defer e.sim.InjectFault(tikvsim.Fault{Command: tc.cmd, Count: 1, GRPCCode: codes.Unavailable, AfterApply: true})()
			defer e.sim.InjectFault(tikvsim.Fault{Command: tc.cmd, RegionError: tc.later})()
			err := tc.write(ctx, e.cli)
			var ue *rawkv.UndeterminedError
			if !errors.Is(err, rawkv.ErrUndetermined) || !errors.As(err, &ue) || ue.Cmd != tc.cmd {
				t.Fatalf("write = %v, want an UndeterminedError for %s", err, tc.cmd)
			}
			if !errors.Is(err, tc.cause) {
				t.Fatalf("write = %v, want it to keep the last cause %v", err, tc.cause)
			}
			if n := e.count(tc.cmd); n < 2 {
				t.Fatalf("%s sent %d times, want the lost answer retried", tc.cmd, n)
			}
			tc.check(ctx, t, e.cli)
		})
	}
}

func wantValue(k, v string) func(context.Context, *testing.T, *rawkv.Client) {
	return func(ctx context.Context, t *testing.T, c *rawkv.Client) {
		t.Helper()
		got, err := c.Get(ctx, b(k))
		if err != nil || string(got) != v {
			t.Fatalf("Get(%q) = %q, %v; want %q: the first attempt was applied", k, got, err, v)
		}
	}
}

// TestUndeterminedPartialBatch writes a batch over two regions in atomic
// mode: one region's batch is applied, the other's refused. Atomic mode
// never resends a lost answer, but the call as a whole is still
// undetermined, since part of it was applied.
func TestUndeterminedPartialBatch(t *testing.T) {
	t.Parallel()
	// One batch at a time, in key order: region "a" is written before
	// region "z" is refused (in parallel, the refusal could cancel "a").
	e := startEnv(t, tikvsim.Options{SplitKeys: [][]byte{b("m")}}, rawkv.WithAtomicForCAS(), rawkv.WithParallelism(1))
	ctx := ctxT(t)
	defer e.sim.InjectFault(tikvsim.Fault{Command: "RawBatchPut", Key: b("z"),
		RegionError: &errorpb.Error{Message: "raft entry too large", RaftEntryTooLarge: &errorpb.RaftEntryTooLarge{}}})()
	err := e.cli.BatchPut(ctx, [][]byte{b("a"), b("z")}, [][]byte{b("1"), b("2")})
	if !errors.Is(err, rawkv.ErrUndetermined) || !errors.Is(err, locate.ErrRaftEntryTooLarge) {
		t.Fatalf("BatchPut with one region refused = %v, want undetermined wrapping the refusal", err)
	}
	wantValue("a", "1")(ctx, t, e.cli)
}

// TestDefiniteWriteErrorStaysDefinite refuses every attempt of a write: no
// attempt may have been applied, so the error is not undetermined.
func TestDefiniteWriteErrorStaysDefinite(t *testing.T) {
	t.Parallel()
	e := startEnv(t, tikvsim.Options{})
	ctx := ctxT(t)
	defer e.sim.InjectFault(tikvsim.Fault{Command: "RawPut",
		RegionError: &errorpb.Error{Message: "raft entry too large", RaftEntryTooLarge: &errorpb.RaftEntryTooLarge{}}})()
	err := e.cli.Put(ctx, b("k"), b("v"))
	if !errors.Is(err, locate.ErrRaftEntryTooLarge) || errors.Is(err, rawkv.ErrUndetermined) {
		t.Fatalf("refused Put = %v, want a definite ErrRaftEntryTooLarge", err)
	}
}

// TestCloseUnderCalls parks a request in the store, closes the client under
// it and checks what the interrupted call reports: a write is undetermined
// (it reached the store) and closed; a read, a scan and an iterator are
// closed. Calls after Close are closed too.
func TestCloseUnderCalls(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		cmd          string
		opts         []rawkv.Option
		call         func(ctx context.Context, c *rawkv.Client) error
		undetermined bool
	}{
		{"Put", "RawPut", nil, func(ctx context.Context, c *rawkv.Client) error { return c.Put(ctx, b("k"), b("v")) }, true},
		{"Put/atomic", "RawPut", []rawkv.Option{rawkv.WithAtomicForCAS()},
			func(ctx context.Context, c *rawkv.Client) error { return c.Put(ctx, b("k"), b("v")) }, true},
		{"CompareAndSwap", "RawCompareAndSwap", []rawkv.Option{rawkv.WithAtomicForCAS()},
			func(ctx context.Context, c *rawkv.Client) error {
				_, err := c.CompareAndSwap(ctx, b("k"), nil, b("v"))
				return err
			}, true},
		{"BatchPut", "RawBatchPut", nil, func(ctx context.Context, c *rawkv.Client) error {
			return c.BatchPut(ctx, [][]byte{b("a"), b("z")}, [][]byte{b("1"), b("2")})
		}, true},
		{"DeleteRange", "RawDeleteRange", nil, func(ctx context.Context, c *rawkv.Client) error { return c.DeleteRange(ctx, b("a"), b("z")) }, true},
		{"Get", "RawGet", nil, func(ctx context.Context, c *rawkv.Client) error {
			_, err := c.Get(ctx, b("a"))
			return err
		}, false},
		{"Scan", "RawScan", nil, func(ctx context.Context, c *rawkv.Client) error {
			_, err := c.Scan(ctx, b("a"), nil, 10)
			return err
		}, false},
		{"All", "RawScan", nil, func(ctx context.Context, c *rawkv.Client) error {
			for _, err := range c.All(ctx, b("a"), nil) {
				if err != nil {
					return err
				}
			}
			return nil
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Two regions, so the scans and DeleteRange are parked on
			// their second region, after the first was served.
			e := startEnv(t, tikvsim.Options{SplitKeys: [][]byte{b("m")}})
			ctx := ctxT(t)
			if err := e.cli.BatchPut(ctx, [][]byte{b("a"), b("z")}, [][]byte{b("1"), b("2")}); err != nil {
				t.Fatal(err)
			}
			cli := e.newClient(t, append([]rawkv.Option{rawkv.WithReadTimeout(0)}, tc.opts...)...)
			hold := make(chan struct{})
			defer close(hold)
			f := tikvsim.Fault{Command: tc.cmd, Count: 1, Hold: hold}
			if tc.cmd == "RawScan" || tc.cmd == "RawDeleteRange" || tc.cmd == "RawBatchPut" {
				f.Key = b("m") // the second region's part
				if tc.cmd == "RawBatchPut" {
					f.Key = b("z")
				}
			}
			arrived := make(chan struct{}, 1)
			defer e.sim.OnRequest(func(_ uint64, cmd string) {
				if cmd == tc.cmd {
					select {
					case arrived <- struct{}{}:
					default:
					}
				}
			})()
			defer e.sim.InjectFault(f)()
			// Multi-region calls send the first region's part too; the
			// parked request is the last to arrive.
			want := e.count(tc.cmd) + 1
			if f.Key != nil {
				want++
			}
			done := make(chan error, 1)
			go func() { done <- tc.call(ctx, cli) }()
			waitArrived(t, ctx, e, tc.cmd, want, arrived)
			if err := cli.Close(); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
			case <-ctx.Done():
				t.Fatal("the call did not return after Close")
			}
			if !errors.Is(err, rawkv.ErrClosed) {
				t.Fatalf("%s interrupted by Close = %v, want ErrClosed", tc.name, err)
			}
			if got := errors.Is(err, rawkv.ErrUndetermined); got != tc.undetermined {
				t.Fatalf("%s interrupted by Close = %v: undetermined %v, want %v", tc.name, err, got, tc.undetermined)
			}
			if err := tc.call(ctx, cli); !errors.Is(err, rawkv.ErrClosed) || errors.Is(err, rawkv.ErrUndetermined) {
				t.Fatalf("%s after Close = %v, want only ErrClosed", tc.name, err)
			}
		})
	}
}

// waitArrived waits until the store has received n requests of cmd, the
// last of them the one the fault parks (OnRequest fires before faults
// apply; whether the store parked it yet does not matter to the client,
// which sent it either way).
func waitArrived(t *testing.T, ctx context.Context, e *env, cmd string, n int, arrived <-chan struct{}) {
	t.Helper()
	for e.count(cmd) < n {
		select {
		case <-arrived:
		case <-ctx.Done():
			t.Fatalf("%s never reached the store", cmd)
		}
	}
}
