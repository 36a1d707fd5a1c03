package txnkv_test

import (
	"errors"
	"testing"

	"github.com/tikvgo/tikvgo/twopc"
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
