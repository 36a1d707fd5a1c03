package txnkv_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/twopc"
	"github.com/tikvgo/tikvgo/txnkv"
)

// TestPipelineAPI drives twopc's Pipeline directly: argument checks, an
// empty commit, generations overwriting each other, reads of flushed
// writes, and calls after the end.
func TestPipelineAPI(t *testing.T) {
	e := pipeStart(t, []string{"pk000002"})
	ctx := t.Context()
	tp := e.cli.Committer()
	if _, err := tp.NewPipeline(0); !errors.Is(err, twopc.ErrInvalidOption) {
		t.Fatalf("zero start ts: %v", err)
	}
	if _, err := tp.NewPipeline(1, twopc.WithFlushConcurrency(0)); !errors.Is(err, twopc.ErrInvalidOption) {
		t.Fatalf("zero concurrency: %v", err)
	}
	start, err := e.cli.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}

	empty, err := tp.NewPipeline(start)
	if err != nil {
		t.Fatal(err)
	}
	res, err := empty.Commit(ctx)
	if err != nil || res.CommitTS() != 0 || res.Mode() != twopc.ModePipelined {
		t.Fatalf("empty commit: %v, %v", res, err)
	}

	p, err := tp.NewPipeline(start)
	if err != nil {
		t.Fatal(err)
	}
	put := func(k int, v string) twopc.Mutation {
		return twopc.Mutation{Op: twopc.OpPut, Key: pipeKey(k), Value: []byte(v)}
	}
	if err := p.Flush(ctx, twopc.MutationSlice{put(1, "a")}, 0); !errors.Is(err, twopc.ErrInvalidOption) {
		t.Fatalf("generation 0: %v", err)
	}
	if err := p.Flush(ctx, twopc.MutationSlice{{Op: twopc.OpSharedLock, Key: pipeKey(1)}}, 1); !errors.Is(err, twopc.ErrInvalidOption) {
		t.Fatalf("shared lock: %v", err)
	}
	if err := p.Flush(ctx, twopc.MutationSlice{put(3, "c1"), put(1, "a1"), {Op: twopc.OpDelete, Key: pipeKey(4)}}, 1); err != nil {
		t.Fatal(err)
	}
	// A newer generation overwrites; a late resend of an older one does not.
	if err := p.Flush(ctx, twopc.MutationSlice{put(3, "c2")}, 2); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx, twopc.MutationSlice{put(3, "stale")}, 1); err != nil {
		t.Fatal(err)
	}
	if string(p.Primary()) != string(pipeKey(1)) {
		t.Fatalf("primary %q, want the first key of the first flush", p.Primary())
	}
	got, err := p.BufferBatchGet(ctx, [][]byte{pipeKey(1), pipeKey(3), pipeKey(4), pipeKey(9)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || string(got[string(pipeKey(1))]) != "a1" || string(got[string(pipeKey(3))]) != "c2" ||
		got[string(pipeKey(4))] == nil || len(got[string(pipeKey(4))]) != 0 {
		t.Fatalf("BufferBatchGet: %q", got)
	}
	res, err = p.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatalf("background resolution: %v", err)
	}
	if l := e.locksOf(start); len(l) != 0 {
		t.Fatalf("locks left: %q", l)
	}
	if err := p.Flush(ctx, twopc.MutationSlice{put(5, "late")}, 3); !errors.Is(err, twopc.ErrInvalidOption) {
		t.Fatalf("flush after commit: %v", err)
	}
	if _, err := p.Commit(ctx); !errors.Is(err, twopc.ErrInvalidOption) {
		t.Fatalf("second commit: %v", err)
	}
	if err := p.Rollback(ctx); err != nil {
		t.Fatalf("rollback after commit: %v", err)
	}
	e.readAll(6, func(i int) []byte {
		switch i {
		case 1:
			return []byte("a1")
		case 3:
			return []byte("c2")
		}
		return nil
	})
}

// TestPipelinedBeginOptions: combinations a pipelined transaction refuses.
func TestPipelinedBeginOptions(t *testing.T) {
	e := pipeStart(t, nil)
	tests := []struct {
		name string
		opts []txnkv.TxnOption
	}{
		{"pessimistic", []txnkv.TxnOption{txnkv.WithPessimistic(), txnkv.WithPipelinedDML()}},
		{"stale read", []txnkv.TxnOption{txnkv.WithStaleness(time.Second), txnkv.WithPipelinedDML()}},
		{"zero flush size", []txnkv.TxnOption{txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(0))}},
		{"throttle below flush", []txnkv.TxnOption{txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(2<<10), txnkv.PipelinedThrottleSize(1<<10))}},
		{"zero max flushing", []txnkv.TxnOption{txnkv.WithPipelinedDML(txnkv.PipelinedMaxFlushing(0))}},
		{"negative max write stall", []txnkv.TxnOption{txnkv.WithPipelinedDML(txnkv.PipelinedMaxWriteStall(-time.Second))}},
		{"zero flush concurrency", []txnkv.TxnOption{txnkv.WithPipelinedDML(txnkv.PipelinedFlushConcurrency(0))}},
		{"zero max txn ttl", []txnkv.TxnOption{txnkv.WithPipelinedDML(txnkv.PipelinedMaxTxnTTL(0))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.cli.Begin(t.Context(), tc.opts...); !errors.Is(err, txnkv.ErrInvalidOption) {
				t.Fatalf("Begin: %v, want ErrInvalidOption", err)
			}
		})
	}
	// A client-wide default is undone per transaction.
	txn, err := e.cli.Begin(t.Context(), txnkv.WithPipelinedDML(), txnkv.WithoutPipelinedDML())
	if err != nil || txn.IsPipelined() {
		t.Fatalf("WithoutPipelinedDML: %v, pipelined %v", err, txn != nil && txn.IsPipelined())
	}
	_ = txn.Rollback(t.Context())
}

// TestPipelinedHeartbeat: once the primary is flushed its lock is kept
// alive by TxnHeartBeat until the commit.
func TestPipelinedHeartbeat(t *testing.T) {
	e := pipeStart(t, nil, txnkv.WithCommitterOptions(twopc.WithManagedLockTTL(40*time.Millisecond, time.Hour)))
	beats := make(chan struct{}, 1)
	defer e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvTxnHeartBeat" {
			select {
			case beats <- struct{}{}:
			default:
			}
		}
	})()
	ctx := t.Context()
	txn, err := e.cli.Begin(ctx, txnkv.WithPipelinedDML(txnkv.PipelinedFlushSize(pipeFlushSize), txnkv.PipelinedThrottleSize(pipeFlushSize)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := txn.Set(pipeKey(i), pipeValue(i, pipeValueSize)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-beats:
	case <-ctx.Done():
		t.Fatal("no heartbeat for the flushed primary")
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e.readAll(200, func(i int) []byte { return pipeValue(i, pipeValueSize) })
	if err := e.cli.Committer().Drain(ctx); err != nil {
		t.Fatal(err)
	}
}
