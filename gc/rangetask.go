package gc

import (
	"context"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// Progress reports how far a range task is. Pieces are the region-aligned
// parts the range was cut into when the task started; Regions counts the
// regions actually handled, which exceeds Pieces when regions split while
// the task ran.
type Progress struct {
	Done, Total int
	Regions     int
}

// TaskOption configures one range task (a GC round's lock phase, a
// DeleteRange). It is sealed: only this package implements it.
type TaskOption interface{ applyTask(*taskConfig) }

type taskConfig struct {
	concurrency int
	budget      time.Duration
	progress    func(Progress)
}

type taskOption func(*taskConfig)

func (f taskOption) applyTask(c *taskConfig) { f(c) }

// WithProgress calls fn after each piece of the range is done (and once
// before the first, with Done 0). Calls are serialised, so fn need not be
// safe for concurrent use; it runs on a worker, so it should be quick.
func WithProgress(fn func(Progress)) TaskOption {
	return taskOption(func(c *taskConfig) { c.progress = fn })
}

// WithTaskConcurrency overrides the client's concurrency (see
// [WithConcurrency]) for one task; n < 1 is ignored.
func WithTaskConcurrency(n int) TaskOption {
	return taskOption(func(c *taskConfig) {
		if n >= 1 {
			c.concurrency = n
		}
	})
}

// RangeTask runs a per-region function over a key range with bounded
// concurrency. It first cuts [start, end) at the region boundaries the
// cache knows (one locate per region, nothing sent), then hands the pieces
// to at most Concurrency workers, through [locate.Router.WalkRangeParallel]:
// each region is located again when it is reached, so a piece whose region
// split meanwhile is simply walked as two regions, and a stale region error
// makes the walk re-locate and call fn again for the same span (fn must
// therefore be idempotent, as ScanLock + resolve and DeleteRange are). Each
// piece has the whole retry budget.
//
// A RangeTask is safe for concurrent use; Run starts goroutines and waits
// for all of them before it returns.
type RangeTask struct {
	router *locate.Router
	cfg    taskConfig
}

// NewRangeTask returns a task over router with concurrency workers (at
// least 1) and a retry budget per piece.
func NewRangeTask(router *locate.Router, concurrency int, budget time.Duration, opts ...TaskOption) *RangeTask {
	cfg := taskConfig{concurrency: max(concurrency, 1), budget: budget}
	for _, o := range opts {
		if o != nil {
			o.applyTask(&cfg)
		}
	}
	return &RangeTask{router: router, cfg: cfg}
}

// Run calls fn for every region span of the wire range [start, end) (empty
// end: +inf) and returns the final progress. The first error stops the
// workers and is returned.
func (t *RangeTask) Run(ctx context.Context, start, end []byte, fn locate.SpanFunc) (Progress, error) {
	var prog Progress
	err := t.router.WalkRangeParallel(ctx, retry.New(t.cfg.budget), start, end, fn,
		locate.WithWalkConcurrency(t.cfg.concurrency),
		locate.WithWalkProgress(func(p locate.WalkProgress) {
			prog = Progress{Done: p.Done, Total: p.Total, Regions: p.Spans}
			if t.cfg.progress != nil {
				t.cfg.progress(prog)
			}
		}))
	if err != nil {
		return prog, fmt.Errorf("gc: range [%q, %q): %w", start, end, err)
	}
	return prog, nil
}
