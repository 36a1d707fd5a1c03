package rawkv

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// item is one key of a batch call.
type item struct {
	wire  []byte // key as TiKV sees it
	value []byte
	ttl   uint64
}

// itemKey is the routing view of an item: its wire key, and the bytes it
// adds to a request (counted against WithBatchLimits' byte limit).
func itemKey(it item) ([]byte, int) { return it.wire, len(it.wire) + len(it.value) }

// prepareItems validates keys (and values) and returns them in the
// caller's order.
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
		it := item{wire: w}
		if values != nil {
			if err := c.checkValue(values[i]); err != nil {
				return nil, fmt.Errorf("key %d: %w", i, err)
			}
			it.value = values[i]
		}
		if ttls != nil {
			it.ttl = ttls[i]
		}
		total += len(it.wire) + len(it.value)
		if total > c.cfg.maxBatchBytes {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrBatchTooLarge, c.cfg.maxBatchBytes)
		}
		items[i] = it
	}
	return items, nil
}

// runBatch groups items by region, cuts each group by the batch limits and
// sends the batches in parallel, at most WithParallelism at a time, all on
// the call's backoff budget. The router groups again and resends a batch
// whose region changed: safe for reads and writes, since TiKV rejected the
// whole request before executing it.
func (c *Client) runBatch(ctx context.Context, kind callKind, cmd kvrpc.CmdType, items []item, build func(b locate.Batch[item]) *kvrpc.Request, check func(b locate.Batch[item], resp *kvrpc.Response) error) error {
	batches, err := locate.GroupByRegion(ctx, c.router, items, itemKey, c.batchOpts...)
	if err != nil {
		return c.wrapErr(err)
	}
	cl := c.newCall(kind, cmd)
	err = locate.SendBatches(ctx, cl.bo, c.router, batches, itemKey, func(ctx context.Context, bo *retry.Backoffer, b locate.Batch[item]) error {
		// A stale region error goes back to the router unchanged, to be
		// grouped again.
		resp, err := c.sender.Send(ctx, bo, build(b), b.Location.Region, cl.opts...)
		if err != nil {
			return err
		}
		return check(b, resp)
	}, c.batchOpts...)
	return c.finish(cl, err)
}

// BatchGet returns the values of keys in the caller's order; nil marks a
// missing key. Keys are split by region and by the batch limits and fetched
// in parallel.
func (c *Client) BatchGet(ctx context.Context, keys [][]byte, opts ...CallOption) ([][]byte, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	cf, err := c.checkCF(callOpts(opts).cf)
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
	err = c.runBatch(ctx, pointRead, kvrpc.CmdRawBatchGet, items, func(b locate.Batch[item]) *kvrpc.Request {
		ks := make([][]byte, 0, len(b.Items))
		for i, it := range b.Items {
			if i == 0 || !bytes.Equal(it.wire, b.Items[i-1].wire) {
				ks = append(ks, it.wire)
			}
		}
		return kvrpc.NewRawBatchGet(&kvrpcpb.RawBatchGetRequest{Context: c.codec.Context(), Keys: ks, Cf: cf})
	}, func(b locate.Batch[item], resp *kvrpc.Response) error {
		// Each batch writes only its own items' slots, so batches running
		// in parallel never touch the same element.
		pos := 0
		for _, p := range resp.Message().(*kvrpcpb.RawBatchGetResponse).Pairs {
			if p.Error != nil {
				return serverErr(kvrpc.CmdRawBatchGet, keyErrorText(p.Error))
			}
			for pos < len(b.Items) && bytes.Compare(b.Items[pos].wire, p.Key) < 0 {
				pos++
			}
			v := p.Value
			if v == nil {
				v = []byte{}
			}
			for k := pos; k < len(b.Items) && bytes.Equal(b.Items[k].wire, p.Key); k++ {
				out[b.Index[k]] = v
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
// across RPCs: on error some pairs may have been written, so an error after
// any batch may have been applied (one succeeded, or an answer was lost)
// matches ErrUndetermined. Retries follow the rules of Put.
func (c *Client) BatchPut(ctx context.Context, keys, values [][]byte, opts ...CallOption) error {
	co := callOpts(opts)
	ttl, err := c.ttlSeconds(co.ttl)
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
		s, err := c.ttlSeconds(d)
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
	cf, err := c.checkCF(co.cf)
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
	return c.runBatch(ctx, write, kvrpc.CmdRawBatchPut, items, func(b locate.Batch[item]) *kvrpc.Request {
		pairs := make([]*kvrpcpb.KvPair, len(b.Items))
		var secs []uint64
		if ttls != nil {
			secs = make([]uint64, len(b.Items))
		}
		for i, it := range b.Items {
			pairs[i] = &kvrpcpb.KvPair{Key: it.wire, Value: it.value}
			if secs != nil {
				secs[i] = it.ttl
			}
		}
		return kvrpc.NewRawBatchPut(&kvrpcpb.RawBatchPutRequest{
			Context: c.writeContext(), Pairs: pairs, Cf: cf, Ttls: secs, ForCas: c.cfg.atomic,
		})
	}, func(_ locate.Batch[item], resp *kvrpc.Response) error {
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
	cf, err := c.checkCF(callOpts(opts).cf)
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
	return c.runBatch(ctx, write, kvrpc.CmdRawBatchDelete, items, func(b locate.Batch[item]) *kvrpc.Request {
		ks := make([][]byte, len(b.Items))
		for i, it := range b.Items {
			ks[i] = it.wire
		}
		return kvrpc.NewRawBatchDelete(&kvrpcpb.RawBatchDeleteRequest{Context: c.writeContext(), Keys: ks, Cf: cf, ForCas: c.cfg.atomic})
	}, func(_ locate.Batch[item], resp *kvrpc.Response) error {
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
