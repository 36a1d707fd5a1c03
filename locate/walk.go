package locate

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/tikvgo/tikvgo/retry"
)

// DefaultWalkConcurrency is how many pieces [Router.WalkRangeParallel]
// walks at once when [WithWalkConcurrency] is not given.
const DefaultWalkConcurrency = 8

// WalkProgress reports how far a [Router.WalkRangeParallel] is. Pieces are
// the region-aligned parts the range was cut into when the walk started;
// Spans counts the spans fn handled without error in the finished pieces,
// which exceeds Total when regions split while the walk ran.
type WalkProgress struct {
	Done, Total int
	Spans       int
}

// WalkOption configures one [Router.WalkRangeParallel]. It is sealed: build
// it with the WithWalk* functions of this package.
type WalkOption interface{ applyWalk(*walkConfig) }

type walkConfig struct {
	concurrency int
	progress    func(WalkProgress)
}

type walkOption func(*walkConfig)

func (f walkOption) applyWalk(c *walkConfig) { f(c) }

// WithWalkConcurrency bounds how many pieces are walked at once. Default
// [DefaultWalkConcurrency]; values below 1 mean 1.
func WithWalkConcurrency(n int) WalkOption {
	return walkOption(func(c *walkConfig) { c.concurrency = n })
}

// WithWalkProgress calls fn once before the first piece (Done 0) and after
// each piece is done. Calls are serialised, so fn need not be safe for
// concurrent use; it runs on a walking goroutine, so it should be quick.
func WithWalkProgress(fn func(WalkProgress)) WalkOption {
	return walkOption(func(c *walkConfig) { c.progress = fn })
}

// WalkRangeParallel calls fn for each region overlapping the wire range
// [start, end) (an empty end means +inf), walking several regions at once.
// It first cuts the range at the region boundaries the cache knows (one
// locate per region, nothing sent; bo pays for reloads), then walks the
// pieces, at most [WithWalkConcurrency] at once, each with
// [Router.WalkRange]: a piece whose region split meanwhile is walked as
// two spans, and a span failing with a stale region is located again and
// handed to fn once more.
//
// Each piece runs on its own Clone of bo as it was when the walk started,
// so every piece may spend the budget the caller gave, and a piece stuck
// backing off does not starve the others.
//
// fn runs on several goroutines at once and must be safe for that. Its
// done ends the walk of its own piece only. The first error cancels the
// ctx of the pieces still running, keeps the rest from starting and is
// returned unchanged; when ctx ends first its error is returned. All
// goroutines have ended when WalkRangeParallel returns.
func (r *Router) WalkRangeParallel(ctx context.Context, bo *retry.Backoffer, start, end []byte, fn SpanFunc, opts ...WalkOption) error {
	cfg := walkConfig{concurrency: DefaultWalkConcurrency}
	for _, o := range opts {
		if o != nil {
			o.applyWalk(&cfg)
		}
	}
	cfg.concurrency = max(cfg.concurrency, 1)

	// Taken before the plan walk sleeps, so that pieces get the whole budget.
	tmpl := bo.Clone()
	var pieces []Span
	err := r.WalkRange(ctx, bo, start, end, func(_ context.Context, _ *retry.Backoffer, s Span) (bool, error) {
		pieces = append(pieces, Span{Start: s.Start, End: s.End})
		return false, nil
	})
	if err != nil {
		return err
	}

	var mu sync.Mutex
	prog := WalkProgress{Total: len(pieces)}
	if cfg.progress != nil {
		cfg.progress(prog)
	}
	walk := func(ctx context.Context, bo *retry.Backoffer, p Span) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		spans := 0
		err := r.WalkRange(ctx, bo, p.Start, p.End, func(ctx context.Context, bo *retry.Backoffer, s Span) (bool, error) {
			done, err := fn(ctx, bo, s)
			if err == nil {
				spans++
			}
			return done, err
		})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		prog.Done++
		prog.Spans += spans
		if cfg.progress != nil {
			cfg.progress(prog)
		}
		return nil
	}

	if len(pieces) == 1 || cfg.concurrency == 1 {
		// No goroutine for a walk that could not use one.
		for _, p := range pieces {
			if err := walk(ctx, tmpl.Clone(), p); err != nil {
				return err
			}
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.concurrency)
	for _, p := range pieces {
		// Go blocks while the limit is reached; a piece that failed
		// meanwhile cancelled gctx, and the rest must not start.
		if gctx.Err() != nil {
			break
		}
		pbo := tmpl.Clone()
		g.Go(func() error { return walk(gctx, pbo, p) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
