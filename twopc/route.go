package twopc

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// Routing. Every request twopc sends goes through the three functions in
// this file, which wrap locate: sendKey (one key), groupByRegion (keys to
// regions) and runBatches (fan-out under the concurrency bound, re-grouping
// a batch whose region went stale). They are kept small so that moving to
// locate's shared routing helpers (issue 10) touches only this file.
// TODO(#10): switch to locate's routing helpers and key codec when they land.

// regionKey maps a transactional user key to the region key space: PD and
// the region cache hold memcomparable-encoded boundaries for transactional
// keys (API V1).
func regionKey(dst, k []byte) []byte {
	const group, marker = 8, 0xFF
	for i := 0; ; i += group {
		rest := len(k) - i
		if rest >= group {
			dst = append(dst, k[i:i+group]...)
			dst = append(dst, marker)
			continue
		}
		dst = append(dst, k[i:]...)
		for range group - rest {
			dst = append(dst, 0)
		}
		return append(dst, marker-byte(group-rest))
	}
}

// sendKey sends the request build returns to the region holding key,
// locating again whenever the region proves stale.
func (c *Client) sendKey(ctx context.Context, bo *retry.Backoffer, key []byte, build func() *kvrpc.Request, opts ...locate.SendOption) (*kvrpc.Response, error) {
	rk := regionKey(nil, key)
	for {
		loc, err := c.cache.LocateKey(ctx, rk)
		if err != nil {
			return nil, err
		}
		resp, err := c.sender.Send(ctx, bo, build(), loc.Region, opts...)
		if errors.Is(err, locate.ErrRegionStale) {
			// The request was refused before being applied (a region
			// error), so sending it again is safe.
			if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
				return nil, err
			}
			continue
		}
		return resp, err
	}
}

// batch is a set of keys in one region, named by their indexes in the
// caller's key list.
type batch struct {
	loc locate.Location
	idx []int
}

// groupByRegion groups the indexes idx (sorted by key) by region, in key
// order, cutting each region's run into batches of at most maxBytes (as
// measured by size) and maxKeys.
func (c *Client) groupByRegion(ctx context.Context, idx []int, key func(int) []byte, size func(int) int, maxBytes, maxKeys int) ([]batch, error) {
	var (
		out     []batch
		scratch []byte
		bytesIn int
	)
	for _, i := range idx {
		scratch = regionKey(scratch[:0], key(i))
		n := len(out)
		if n > 0 && out[n-1].loc.Contains(scratch) {
			s := size(i)
			if len(out[n-1].idx) < maxKeys && (bytesIn+s <= maxBytes || len(out[n-1].idx) == 0) {
				out[n-1].idx = append(out[n-1].idx, i)
				bytesIn += s
				continue
			}
			out = append(out, batch{loc: out[n-1].loc, idx: []int{i}})
			bytesIn = s
			continue
		}
		loc, err := c.cache.LocateKey(ctx, slices.Clone(scratch))
		if err != nil {
			return nil, err
		}
		out = append(out, batch{loc: loc, idx: []int{i}})
		bytesIn = size(i)
	}
	return out, nil
}

// sortedIndexes returns 0..n-1 ordered by key, so that grouping walks each
// region once.
func sortedIndexes(n int, key func(int) []byte, keep func(int) bool) []int {
	idx := make([]int, 0, n)
	for i := range n {
		if keep == nil || keep(i) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return bytes.Compare(key(a), key(b)) })
	return idx
}

// batchRunner carries what runBatches needs to re-group a stale batch.
type batchRunner struct {
	c        *Client
	key      func(int) []byte
	size     func(int) int
	maxBytes int
	maxKeys  int
	// first, when set, marks the part of a re-grouped batch that must run
	// before the others (the primary's, for a commit).
	first func(b batch) bool
}

// run runs fn on every batch, at most the client's concurrency at once, and
// returns the first error. A batch whose fn fails with a stale region is
// re-grouped (its keys may now span several regions) and its parts run
// again under the same backoff budget.
func (r *batchRunner) run(ctx context.Context, bo *retry.Backoffer, batches []batch, fn func(ctx context.Context, bo *retry.Backoffer, b batch) error) error {
	if len(batches) == 1 {
		return r.one(ctx, bo, batches[0], fn)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.c.cfg.concurrency)
	for _, b := range batches {
		fbo := bo.Fork()
		g.Go(func() error { return r.one(gctx, fbo, b, fn) })
	}
	return g.Wait()
}

func (r *batchRunner) one(ctx context.Context, bo *retry.Backoffer, b batch, fn func(ctx context.Context, bo *retry.Backoffer, b batch) error) error {
	err := fn(ctx, bo, b)
	if !errors.Is(err, locate.ErrRegionStale) {
		return err
	}
	// Region errors are returned before TiKV applies anything, so the
	// batch's keys may be sent again in their new regions.
	if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
		return err
	}
	parts, err := r.c.groupByRegion(ctx, b.idx, r.key, r.size, r.maxBytes, r.maxKeys)
	if err != nil {
		return err
	}
	if r.first != nil {
		// The primary's part goes first: a secondary must never be
		// committed before the primary that decides the transaction.
		slices.SortStableFunc(parts, func(a, b batch) int {
			fa, fb := r.first(a), r.first(b)
			switch {
			case fa && !fb:
				return -1
			case fb && !fa:
				return 1
			}
			return 0
		})
	}
	for _, p := range parts {
		if err := r.one(ctx, bo, p, fn); err != nil {
			return err
		}
	}
	return nil
}
