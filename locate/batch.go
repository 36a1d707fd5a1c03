package locate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/tikvgo/tikvgo/retry"
)

// DefaultBatchConcurrency is how many batches [SendBatches] sends at once
// unless [WithConcurrency] says otherwise (client-go's default committer
// concurrency).
const DefaultBatchConcurrency = 128

// Batch is the share of a grouped call that one request carries: items of
// one region, in ascending key order, cut by [WithBatchLimit].
type Batch[T any] struct {
	// Location is the region the batch is for.
	Location Location
	// Items are the caller's items, sorted by key. They may share the
	// slice passed to GroupByRegion (when it was already sorted): neither
	// side may modify them while the batches are in use.
	Items []T
	// Index[i] is the position of Items[i] in the slice the caller passed
	// to [GroupByRegion], so results can be put back in the caller's order.
	Index []int
	// Primary reports that the batch holds the key given to [WithPrimary].
	Primary bool
}

// ItemFunc returns an item's wire key and the bytes it adds to a request
// (for example len(key)+len(value) for a write); the size only matters with
// a byte limit.
type ItemFunc[T any] func(item T) (key []byte, size int)

// BatchFunc sends one batch, typically one request to b.Location.Region.
// Returning an error matching [ErrRegionStale] makes [SendBatches] group the
// batch's items again and send the new batches.
type BatchFunc[T any] func(ctx context.Context, bo *retry.Backoffer, b Batch[T]) error

// BatchOption tunes [GroupByRegion] and [SendBatches]. Pass the same options
// to both: a batch grouped again after a region change is cut by them too.
type BatchOption interface{ applyBatch(batchConfig) batchConfig }

type batchConfig struct {
	maxKeys      int
	maxBytes     int
	concurrency  int
	primary      []byte
	primaryFirst bool
}

// batchOption edits a copy of the config: passing a pointer through the
// interface would move every call's config to the heap.
type batchOption func(batchConfig) batchConfig

func (f batchOption) applyBatch(c batchConfig) batchConfig { return f(c) }

// WithBatchLimit cuts each region's items into batches of at most keys
// items, closing a batch once its items' sizes reach bytes (so a batch may
// overshoot by one item). Zero or less means no limit of that kind; the
// default is one batch per region.
//
// client-go's limits: 2PC cuts at 16 KiB (key+value sizes for prewrite, key
// sizes for commit, cleanup and lock); snapshot BatchGet at 5120 keys; raw
// batches at 512 keys and 16 KiB.
func WithBatchLimit(keys, bytes int) BatchOption {
	return batchOption(func(c batchConfig) batchConfig { c.maxKeys, c.maxBytes = keys, bytes; return c })
}

// WithConcurrency bounds how many batches [SendBatches] sends at once.
// Default [DefaultBatchConcurrency]; values below 1 mean 1.
func WithConcurrency(n int) BatchOption {
	return batchOption(func(c batchConfig) batchConfig { c.concurrency = n; return c })
}

// WithPrimary names a transaction's primary key: the batch that holds it is
// marked [Batch.Primary] and placed first.
func WithPrimary(key []byte) BatchOption {
	return batchOption(func(c batchConfig) batchConfig { c.primary = key; return c })
}

// WithPrimaryFirst makes [SendBatches] send the primary batch alone, and
// the others only once it succeeded (2PC commits the primary first: its
// commit decides the transaction). Without it every batch may run at once.
func WithPrimaryFirst() BatchOption {
	return batchOption(func(c batchConfig) batchConfig { c.primaryFirst = true; return c })
}

func batchOpts(opts []BatchOption) batchConfig {
	c := batchConfig{concurrency: DefaultBatchConcurrency}
	for _, o := range opts {
		if o != nil {
			c = o.applyBatch(c)
		}
	}
	c.concurrency = max(c.concurrency, 1)
	return c
}

// GroupByRegion sorts items by key, groups them by region and cuts each
// group by [WithBatchLimit]. Batches come out in key order, except that
// with [WithPrimary] the primary batch comes first. Equal keys stay in
// their input order.
func GroupByRegion[T any](ctx context.Context, r *Router, items []T, item ItemFunc[T], opts ...BatchOption) ([]Batch[T], error) {
	cfg := batchOpts(opts)
	sorted, index := sortItems(items, item)
	return groupSorted(ctx, r, sorted, index, item, cfg)
}

// sortItems returns items in ascending key order and their input positions.
func sortItems[T any](items []T, item ItemFunc[T]) ([]T, []int) {
	index := make([]int, len(items))
	inOrder := true
	var prev []byte
	for i := range items {
		index[i] = i
		k, _ := item(items[i])
		if i > 0 && bytes.Compare(prev, k) > 0 {
			inOrder = false
		}
		prev = k
	}
	if inOrder {
		// Sorted input (a transaction's memdb, a caller's sorted keys) is
		// common enough to skip the key copy and the sort.
		return items, index
	}
	keys := make([][]byte, len(items))
	for i := range items {
		keys[i], _ = item(items[i])
	}
	slices.SortStableFunc(index, func(a, b int) int { return bytes.Compare(keys[a], keys[b]) })
	sorted := make([]T, len(items))
	for i, p := range index {
		sorted[i] = items[p]
	}
	return sorted, index
}

// groupSorted cuts sorted items into batches of one region each.
func groupSorted[T any](ctx context.Context, r *Router, items []T, index []int, item ItemFunc[T], cfg batchConfig) ([]Batch[T], error) {
	var out []Batch[T]
	primary := -1
	for i := 0; i < len(items); {
		k, _ := item(items[i])
		loc, err := r.cache.LocateKey(ctx, r.codec.RegionKey(k))
		if err != nil {
			return nil, err
		}
		for start := i; ; {
			end, size, isPrimary := start, 0, false
			for end < len(items) && (cfg.maxKeys <= 0 || end-start < cfg.maxKeys) && (cfg.maxBytes <= 0 || size < cfg.maxBytes) {
				k, n := item(items[end])
				if !r.contains(loc, k) {
					break
				}
				if cfg.primary != nil && !isPrimary && bytes.Equal(k, cfg.primary) {
					isPrimary = true
				}
				size += n
				end++
			}
			if end == start {
				if start == i {
					// The cache answered with a region that does not
					// hold the key; never loop on it.
					return nil, fmt.Errorf("locate: region %v does not contain key %q", loc.Region, k)
				}
				i = start
				break
			}
			if isPrimary && primary < 0 {
				primary = len(out)
			}
			out = append(out, Batch[T]{Location: loc, Items: items[start:end:end], Index: index[start:end:end], Primary: isPrimary})
			start = end
			if start == len(items) {
				i = start
				break
			}
		}
	}
	if primary > 0 {
		p := out[primary]
		copy(out[1:primary+1], out[:primary])
		out[0] = p
	}
	return out, nil
}

// contains reports whether the wire key k lies in loc.
func (r *Router) contains(loc Location, k []byte) bool {
	return r.codec.CompareRegionKey(k, loc.StartKey) >= 0 &&
		(len(loc.EndKey) == 0 || r.codec.CompareRegionKey(k, loc.EndKey) < 0)
}

// SendBatches calls send for each batch, at most [WithConcurrency] at a
// time, and returns the first error; the others' ctx is then cancelled.
// Batches running in parallel each get a fork of bo, so together they
// spend the caller's budget; a lone batch runs on bo itself, on the
// caller's goroutine. A batch
// whose send fails with [ErrRegionStale] is grouped again and its new
// batches sent, after a retry.RegionMiss backoff. With [WithPrimaryFirst]
// a leading primary batch is sent, and succeeds, before any other.
//
// send must write results only to the slots of its own batch's items (for
// example out[b.Index[i]]): batches run in parallel.
func SendBatches[T any](ctx context.Context, bo *retry.Backoffer, r *Router, batches []Batch[T], item ItemFunc[T], send BatchFunc[T], opts ...BatchOption) error {
	cfg := batchOpts(opts)
	return sendBatches(ctx, bo, r, batches, item, send, cfg)
}

func sendBatches[T any](ctx context.Context, bo *retry.Backoffer, r *Router, batches []Batch[T], item ItemFunc[T], send BatchFunc[T], cfg batchConfig) error {
	if cfg.primaryFirst && len(batches) > 1 && batches[0].Primary {
		if err := sendBatch(ctx, bo, r, batches[0], item, send, cfg); err != nil {
			return err
		}
		batches = batches[1:]
	}
	switch {
	case len(batches) == 0:
		return nil
	case len(batches) == 1 || cfg.concurrency == 1:
		// No goroutine, no fork: the common single-region call costs
		// what a point call does.
		for _, b := range batches {
			if err := sendBatch(ctx, bo, r, b, item, send, cfg); err != nil {
				return err
			}
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.concurrency)
	for _, b := range batches {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return sendBatch(gctx, bo.Fork(), r, b, item, send, cfg) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func sendBatch[T any](ctx context.Context, bo *retry.Backoffer, r *Router, b Batch[T], item ItemFunc[T], send BatchFunc[T], cfg batchConfig) error {
	err := send(ctx, bo, b)
	if !errors.Is(err, ErrRegionStale) {
		return err
	}
	if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
		return err
	}
	// The items are still sorted; only the region cut changes.
	again, err := groupSorted(ctx, r, b.Items, b.Index, item, cfg)
	if err != nil {
		return err
	}
	return sendBatches(ctx, bo, r, again, item, send, cfg)
}
