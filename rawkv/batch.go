package rawkv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"golang.org/x/sync/errgroup"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// item is one key of a batch call.
type item struct {
	idx   int    // position in the caller's slices
	wire  []byte // key as TiKV sees it
	rk    []byte // region key
	value []byte
	ttl   uint64
}

func (it *item) size() int { return len(it.wire) + len(it.value) }

// chunk is the part of a batch one RPC carries.
type chunk struct {
	loc   locate.Location
	items []item
}

// chunkSender sends one chunk; a stale-region error sends its keys back to
// be grouped again.
type chunkSender func(ctx context.Context, bo *retry.Backoffer, ch chunk) error

// prepareItems validates keys (and values) and returns them sorted by region
// key, so grouping walks each region once.
func (c *Client) prepareItems(keys, values [][]byte, ttls []uint64) ([]item, error) {
	if len(keys) > c.cfg.maxBatchKeys {
		return nil, fmt.Errorf("%w: %d keys, limit %d", ErrBatchTooLarge, len(keys), c.cfg.maxBatchKeys)
	}
	items := make([]item, len(keys))
	total := 0
	for i, k := range keys {
		w, err := c.checkKey(k)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		it := item{idx: i, wire: w, rk: c.codec.regionKey(w)}
		if values != nil {
			if err := c.checkValue(values[i]); err != nil {
				return nil, fmt.Errorf("key %d: %w", i, err)
			}
			it.value = values[i]
		}
		if ttls != nil {
			it.ttl = ttls[i]
		}
		total += it.size()
		if total > c.cfg.maxBatchBytes {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrBatchTooLarge, c.cfg.maxBatchBytes)
		}
		items[i] = it
	}
	slices.SortStableFunc(items, func(a, b item) int { return bytes.Compare(a.rk, b.rk) })
	return items, nil
}

// runBatch groups items by region, cuts each group by the batch limits and
// sends the chunks in parallel, at most WithParallelism at a time. Chunks
// whose region changed are grouped again and resent; every chunk shares the
// call's backoff budget.
//
// Resending a chunk after a stale-region error is safe for reads and writes:
// TiKV rejected the whole request before executing it.
func (c *Client) runBatch(ctx context.Context, bo *retry.Backoffer, items []item, send chunkSender) error {
	chunks, err := c.groupItems(ctx, items)
	if err != nil {
		return err
	}
	if len(chunks) == 1 {
		return c.sendChunk(ctx, bo, chunks[0], send)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.parallelism)
	for _, ch := range chunks {
		g.Go(func() error { return c.sendChunk(gctx, bo.Fork(), ch, send) })
	}
	return g.Wait()
}

func (c *Client) sendChunk(ctx context.Context, bo *retry.Backoffer, ch chunk, send chunkSender) error {
	err := send(ctx, bo, ch)
	if errors.Is(err, locate.ErrRegionStale) {
		if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
			return c.wrapErr(err)
		}
		return c.runBatch(ctx, bo, ch.items, send)
	}
	return err
}

// groupItems cuts sorted items into chunks: one region each, at most
// batchKeys keys, closed once batchBytes is reached.
func (c *Client) groupItems(ctx context.Context, items []item) ([]chunk, error) {
	var out []chunk
	for i := 0; i < len(items); {
		loc, err := c.cache.LocateKey(ctx, items[i].rk)
		if err != nil {
			return nil, c.wrapErr(err)
		}
		j := i
		for j < len(items) && loc.Contains(items[j].rk) {
			j++
		}
		if j == i {
			// The cache answered with a region that does not hold the
			// key; never loop on it.
			return nil, fmt.Errorf("rawkv: region cache returned %v not containing key %q", loc.Region, items[i].wire)
		}
		for start := i; start < j; {
			end, size := start, 0
			for end < j && end-start < c.cfg.batchKeys && size < c.cfg.batchBytes {
				size += items[end].size()
				end++
			}
			out = append(out, chunk{loc: loc, items: items[start:end]})
			start = end
		}
		i = j
	}
	return out, nil
}

// sendChunkRPC sends one chunk's request to its region.
func (c *Client) sendChunkRPC(ctx context.Context, bo *retry.Backoffer, ch chunk, write bool, req *kvrpc.Request) (*kvrpc.Response, error) {
	resp, err := c.sender.Send(ctx, bo, req, ch.loc.Region, c.sendOpts()...)
	if err != nil {
		if errors.Is(err, locate.ErrRegionStale) {
			return nil, err
		}
		return nil, c.writeErr(req, write, err)
	}
	return resp, nil
}

// BatchGet returns the values of keys in the caller's order; nil marks a
// missing key. Keys are split by region and by the batch limits and fetched
// in parallel.
func (c *Client) BatchGet(ctx context.Context, keys [][]byte, opts ...CallOption) ([][]byte, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	cf, err := c.codec.checkCF(callOpts(opts).cf)
	if err != nil {
		return nil, err
	}
	items, err := c.prepareItems(keys, nil, nil)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(keys))
	if len(items) == 0 {
		return out, nil
	}
	err = c.runBatch(ctx, c.newBackoffer(), items, func(ctx context.Context, bo *retry.Backoffer, ch chunk) error {
		ks := make([][]byte, 0, len(ch.items))
		for i, it := range ch.items {
			if i == 0 || !bytes.Equal(it.wire, ch.items[i-1].wire) {
				ks = append(ks, it.wire)
			}
		}
		req := kvrpc.NewRawBatchGet(&kvrpcpb.RawBatchGetRequest{Context: c.codec.context(), Keys: ks, Cf: cf})
		resp, err := c.sendChunkRPC(ctx, bo, ch, false, req)
		if err != nil {
			return err
		}
		// Each chunk writes only its own items' slots, so chunks running in
		// parallel never touch the same element.
		pos := 0
		for _, p := range resp.Message().(*kvrpcpb.RawBatchGetResponse).Pairs {
			if p.Error != nil {
				return serverErr(kvrpc.CmdRawBatchGet, keyErrorText(p.Error))
			}
			for pos < len(ch.items) && bytes.Compare(ch.items[pos].wire, p.Key) < 0 {
				pos++
			}
			v := p.Value
			if v == nil {
				v = []byte{}
			}
			for k := pos; k < len(ch.items) && bytes.Equal(ch.items[k].wire, p.Key); k++ {
				out[ch.items[k].idx] = v
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// BatchPut writes values under keys (same length, else ErrLengthMismatch).
// With WithTTL every value expires after the TTL. The batch is split by
// region and by the batch limits and written in parallel; it is not atomic
// across RPCs: on error some pairs may have been written. Retries follow
// the rules of Put.
func (c *Client) BatchPut(ctx context.Context, keys, values [][]byte, opts ...CallOption) error {
	co := callOpts(opts)
	ttl, err := c.codec.ttlSeconds(co.ttl)
	if err != nil {
		return err
	}
	var ttls []uint64
	if ttl > 0 {
		ttls = make([]uint64, len(keys))
		for i := range ttls {
			ttls[i] = ttl
		}
	}
	return c.batchPut(ctx, keys, values, ttls, co)
}

// BatchPutWithTTL is BatchPut with one TTL per pair (0 = never expires).
func (c *Client) BatchPutWithTTL(ctx context.Context, keys, values [][]byte, ttls []time.Duration, opts ...CallOption) error {
	if len(ttls) != len(keys) {
		return fmt.Errorf("%w: %d keys, %d ttls", ErrLengthMismatch, len(keys), len(ttls))
	}
	secs := make([]uint64, len(ttls))
	for i, d := range ttls {
		s, err := c.codec.ttlSeconds(d)
		if err != nil {
			return fmt.Errorf("ttl %d: %w", i, err)
		}
		secs[i] = s
	}
	return c.batchPut(ctx, keys, values, secs, callOpts(opts))
}

func (c *Client) batchPut(ctx context.Context, keys, values [][]byte, ttls []uint64, co callConfig) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	if len(keys) != len(values) {
		return fmt.Errorf("%w: %d keys, %d values", ErrLengthMismatch, len(keys), len(values))
	}
	cf, err := c.codec.checkCF(co.cf)
	if err != nil {
		return err
	}
	if values == nil {
		values = [][]byte{}
	}
	items, err := c.prepareItems(keys, values, ttls)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	return c.runBatch(ctx, c.newBackoffer(), items, func(ctx context.Context, bo *retry.Backoffer, ch chunk) error {
		pairs := make([]*kvrpcpb.KvPair, len(ch.items))
		var secs []uint64
		if ttls != nil {
			secs = make([]uint64, len(ch.items))
		}
		for i, it := range ch.items {
			pairs[i] = &kvrpcpb.KvPair{Key: it.wire, Value: it.value}
			if secs != nil {
				secs[i] = it.ttl
			}
		}
		req := kvrpc.NewRawBatchPut(&kvrpcpb.RawBatchPutRequest{
			Context: c.writeContext(), Pairs: pairs, Cf: cf, Ttls: secs, ForCas: c.cfg.atomic,
		})
		resp, err := c.sendChunkRPC(ctx, bo, ch, true, req)
		if err != nil {
			return err
		}
		if m := resp.Message().(*kvrpcpb.RawBatchPutResponse); m.Error != "" {
			return serverErr(kvrpc.CmdRawBatchPut, m.Error)
		}
		return nil
	})
}

// BatchDelete removes keys, split by region and by the batch limits, in
// parallel. Retries follow the rules of Put.
func (c *Client) BatchDelete(ctx context.Context, keys [][]byte, opts ...CallOption) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	cf, err := c.codec.checkCF(callOpts(opts).cf)
	if err != nil {
		return err
	}
	items, err := c.prepareItems(keys, nil, nil)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	return c.runBatch(ctx, c.newBackoffer(), items, func(ctx context.Context, bo *retry.Backoffer, ch chunk) error {
		ks := make([][]byte, len(ch.items))
		for i, it := range ch.items {
			ks[i] = it.wire
		}
		req := kvrpc.NewRawBatchDelete(&kvrpcpb.RawBatchDeleteRequest{Context: c.writeContext(), Keys: ks, Cf: cf, ForCas: c.cfg.atomic})
		resp, err := c.sendChunkRPC(ctx, bo, ch, true, req)
		if err != nil {
			return err
		}
		if m := resp.Message().(*kvrpcpb.RawBatchDeleteResponse); m.Error != "" {
			return serverErr(kvrpc.CmdRawBatchDelete, m.Error)
		}
		return nil
	})
}

// keyErrorText is the message of a key error TiKV attached to a raw pair.
func keyErrorText(e *kvrpcpb.KeyError) string {
	if e.Abort != "" {
		return e.Abort
	}
	return e.String()
}
