package twopc

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// Routing. Every request twopc sends goes through locate's routing helpers
// (Router.SendKey, GroupByRegion, SendBatches) by way of the small adapters
// in this file: sendKey (one key), groupByRegion (mutation indexes to
// region batches) and batchRunner (fan-out under the concurrency bound,
// re-grouping a batch whose region went stale, primary first when asked).

// sendKey sends the request build returns to the region holding key,
// locating again whenever the region proves stale.
func (c *Client) sendKey(ctx context.Context, bo *retry.Backoffer, key []byte, build func() *kvrpc.Request, opts ...locate.SendOption) (*kvrpc.Response, error) {
	return c.router.SendKey(ctx, bo, key, build(), opts...)
}

// batch is a set of keys in one region, named by their indexes in the
// caller's key list.
type batch struct {
	loc locate.Location
	idx []int
}

// limits returns the batch limit option for maxBytes and maxKeys; the two
// every commit uses are built once (an option is an allocation).
func (c *Client) limits(maxBytes, maxKeys int) locate.BatchOption {
	switch {
	case c.sizeLimit != nil && maxBytes == c.cfg.batchSize && maxKeys == c.cfg.batchKeys:
		return c.sizeLimit
	case c.keyLimit != nil && maxBytes == math.MaxInt && maxKeys == c.cfg.batchKeys:
		return c.keyLimit
	}
	return limits(maxBytes, maxKeys)
}

func limits(maxBytes, maxKeys int) locate.BatchOption {
	if maxBytes == math.MaxInt {
		maxBytes = 0
	}
	if maxKeys == math.MaxInt {
		maxKeys = 0
	}
	return locate.WithBatchLimit(maxKeys, maxBytes)
}

// groupByRegion groups the indexes idx (sorted by key) by region, in key
// order, cutting each region's run into batches of at most maxBytes (as
// measured by size) and maxKeys.
func (c *Client) groupByRegion(ctx context.Context, idx []int, key func(int) []byte, size func(int) int, maxBytes, maxKeys int) ([]batch, error) {
	item := func(i int) ([]byte, int) { return key(i), size(i) }
	lbs, err := locate.GroupByRegion(ctx, c.router, idx, item, c.limits(maxBytes, maxKeys))
	if err != nil {
		return nil, err
	}
	out := make([]batch, len(lbs))
	for i, b := range lbs {
		out[i] = batch{loc: b.Location, idx: b.Items}
	}
	return out, nil
}

// sortedIndexes returns 0..n-1 ordered by key, so that grouping walks each
// region once.
func sortedIndexes(n int, key func(int) []byte, keep func(int) bool) []int {
	return sortedIndexesInto(make([]int, 0, n), n, key, keep)
}

// sortedIndexesInto is sortedIndexes appending to idx.
func sortedIndexesInto(idx []int, n int, key func(int) []byte, keep func(int) bool) []int {
	for i := range n {
		if keep == nil || keep(i) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return bytes.Compare(key(a), key(b)) })
	return idx
}

// batchRunner carries what a fan-out needs to re-group a stale batch.
type batchRunner struct {
	c        *Client
	key      func(int) []byte
	size     func(int) int
	maxBytes int
	maxKeys  int
	// primary, when set, is sent first when its batch is re-grouped (the
	// primary's commit decides the transaction).
	primary []byte
	// concurrency, when positive, overrides the client's bound.
	concurrency int
}

// run runs fn on every batch, at most the client's concurrency at once, and
// returns the first error. A batch whose fn fails with a stale region is
// re-grouped (its keys may now span several regions) and its parts run
// again under the same backoff budget.
func (r *batchRunner) run(ctx context.Context, bo *retry.Backoffer, batches []batch, fn func(ctx context.Context, bo *retry.Backoffer, b batch) error) error {
	if len(batches) == 1 {
		// The common single-region call skips the fan-out's setup; only a
		// stale region takes the general path, which groups the keys again.
		err := fn(ctx, bo, batches[0])
		if !errors.Is(err, locate.ErrRegionStale) {
			return err
		}
		// The region error came before TiKV applied anything, so the keys
		// may be sent again in their new regions.
		if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
			return err
		}
		again, err := r.c.groupByRegion(ctx, batches[0].idx, r.key, r.size, r.maxBytes, r.maxKeys)
		if err != nil {
			return err
		}
		if r.primary != nil {
			for i, b := range again {
				if r.contains(b) {
					again[0], again[i] = again[i], again[0]
					break
				}
			}
		}
		return r.fanOut(ctx, bo, again, fn)
	}
	return r.fanOut(ctx, bo, batches, fn)
}

// contains reports whether b holds the primary.
func (r *batchRunner) contains(b batch) bool {
	for _, i := range b.idx {
		if bytes.Equal(r.key(i), r.primary) {
			return true
		}
	}
	return false
}

// fanOut sends batches through locate.SendBatches.
func (r *batchRunner) fanOut(ctx context.Context, bo *retry.Backoffer, batches []batch, fn func(ctx context.Context, bo *retry.Backoffer, b batch) error) error {
	lbs := make([]locate.Batch[int], len(batches))
	for i, b := range batches {
		lbs[i] = locate.Batch[int]{Location: b.loc, Items: b.idx, Index: b.idx, Primary: r.primary != nil && r.contains(b)}
	}
	item := func(i int) ([]byte, int) { return r.key(i), r.size(i) }
	conc := r.c.cfg.concurrency
	if r.concurrency > 0 {
		conc = r.concurrency
	}
	opts := []locate.BatchOption{r.c.limits(r.maxBytes, r.maxKeys), locate.WithConcurrency(conc)}
	if r.primary != nil {
		opts = append(opts, locate.WithPrimary(r.primary), locate.WithPrimaryFirst())
	}
	return locate.SendBatches(ctx, bo, r.c.router, lbs, item, func(ctx context.Context, bo *retry.Backoffer, b locate.Batch[int]) error {
		return fn(ctx, bo, batch{loc: b.Location, idx: b.Items})
	}, opts...)
}
