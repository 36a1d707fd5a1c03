package twopc_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/tikvgo/tikvgo/twopc"
)

type recorder struct {
	mu      sync.Mutex
	starts  []twopc.CommitStartData
	ends    []twopc.CommitEndData
	resolve []twopc.ResolveEndData
}

type spanKey struct{}

func (r *recorder) CommitStart(ctx context.Context, d twopc.CommitStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, d)
	return context.WithValue(ctx, spanKey{}, d.StartTS)
}

func (r *recorder) CommitEnd(ctx context.Context, d twopc.CommitEndData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(spanKey{}) != d.StartTS {
		d.Err = errors.New("span lost")
	}
	r.ends = append(r.ends, d)
}

func (r *recorder) ResolveStart(ctx context.Context, _ twopc.ResolveStartData) context.Context {
	return ctx
}

func (r *recorder) ResolveEnd(_ context.Context, d twopc.ResolveEndData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resolve = append(r.resolve, d)
}

func TestTracer(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	e := startEnv(t, envConfig{opts: []twopc.Option{twopc.WithTracer(rec)}})
	ctx := testCtx(t)
	res, err := e.cli.Commit(ctx, puts("t", 3), e.now(ctx), twopc.With1PC())
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.cli.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpInsert, Key: []byte("t000"), Value: []byte("x")}}, e.now(ctx))
	if !errors.Is(err, twopc.ErrKeyExists) {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.starts) != 2 || rec.starts[0].Keys != 3 || !rec.starts[0].OnePC {
		t.Fatalf("starts %+v", rec.starts)
	}
	if len(rec.ends) != 2 || rec.ends[0].CommitTS != res.CommitTS() || rec.ends[0].Mode != twopc.Mode1PC || rec.ends[0].Err != nil ||
		!errors.Is(rec.ends[1].Err, twopc.ErrKeyExists) {
		t.Fatalf("ends %+v", rec.ends)
	}
}
