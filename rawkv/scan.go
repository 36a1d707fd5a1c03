package rawkv

import (
	"bytes"
	"context"
	"fmt"
	"iter"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// KV is a key-value pair a scan returned.
type KV struct {
	Key   []byte
	Value []byte
}

// Checksum is the checksum of a key range: the XOR of CRC-64/ECMA of every
// key ++ value, the number of pairs and their total key+value bytes. Under
// API V2 the keys TiKV hashes carry the keyspace prefix.
type Checksum struct {
	Crc64Xor   uint64
	TotalKVs   uint64
	TotalBytes uint64
}

// Scan returns up to limit pairs of [start, end) in ascending key order,
// reading region after region; an empty end means the end of the key space
// (of the keyspace under V2). limit must be in [0, MaxScanLimit]. With
// WithKeyOnly values are nil. Reads retry on every retryable failure.
func (c *Client) Scan(ctx context.Context, start, end []byte, limit int, opts ...CallOption) ([]KV, error) {
	return c.scan(ctx, start, end, limit, false, opts)
}

// ReverseScan returns up to limit pairs of [start, end) in descending key
// order, beginning just below end. Unlike client-go's ReverseScan, the
// arguments keep the order of Scan: start is the inclusive lower bound and
// end the exclusive upper bound. Under V1 and V1TTL end must not be empty
// (ErrInvalidRange); under V2 an empty end means the end of the keyspace.
func (c *Client) ReverseScan(ctx context.Context, start, end []byte, limit int, opts ...CallOption) ([]KV, error) {
	return c.scan(ctx, start, end, limit, true, opts)
}

func (c *Client) scan(ctx context.Context, start, end []byte, limit int, reverse bool, opts []CallOption) ([]KV, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	if limit < 0 || limit > MaxScanLimit {
		return nil, fmt.Errorf("%w: %d not in [0, %d]", ErrScanLimitExceeded, limit, MaxScanLimit)
	}
	co := callOpts(opts)
	cf, err := c.checkCF(co.cf)
	if err != nil {
		return nil, err
	}
	ws, we, err := c.checkRange(start, end)
	if err != nil {
		return nil, err
	}
	if reverse && len(we) == 0 {
		return nil, fmt.Errorf("rawkv: %w: reverse scan needs an end key under api version %v", ErrInvalidRange, c.cfg.apiVersion)
	}
	if limit == 0 || (len(we) > 0 && bytes.Equal(ws, we)) {
		return nil, nil
	}
	cl := c.newCall(rangeRead, kvrpc.CmdRawScan)
	// Sized for the common case up front: growing by append would copy
	// the pairs several times.
	out := make([]KV, 0, min(limit, 256))
	step := func(ctx context.Context, bo *retry.Backoffer, sp locate.Span) (bool, error) {
		s, e := sp.Start, sp.End
		q := &kvrpcpb.RawScanRequest{
			Context: c.codec.Context(), StartKey: s, EndKey: e,
			Limit: uint32(limit - len(out)), KeyOnly: co.keyOnly, Cf: cf,
		}
		if reverse {
			q.StartKey, q.EndKey, q.Reverse = e, s, true
		}
		resp, err := c.sender.Send(ctx, bo, kvrpc.NewRawScan(q), sp.Location.Region, cl.opts...)
		if err != nil {
			return false, err
		}
		for _, p := range resp.Message().(*kvrpcpb.RawScanResponse).Kvs {
			if p.Error != nil {
				return false, serverErr(kvrpc.CmdRawScan, keyErrorText(p.Error))
			}
			k, err := c.userKey(p.Key)
			if err != nil {
				return false, err
			}
			kv := KV{Key: k}
			if !co.keyOnly {
				kv.Value = p.Value
				if kv.Value == nil {
					kv.Value = []byte{}
				}
			}
			out = append(out, kv)
		}
		return len(out) >= limit, nil
	}
	if reverse {
		err = c.router.WalkRangeReverse(ctx, cl.bo, ws, we, step)
	} else {
		err = c.router.WalkRange(ctx, cl.bo, ws, we, step)
	}
	if err != nil {
		return nil, c.finish(cl, err)
	}
	return out, nil
}

// All iterates over every pair of [start, end) in ascending key order,
// fetching WithPageSize pairs per request, so memory stays bounded however
// large the range. The iteration stops at the first error, which it yields
// with a zero KV. Keys and values handed out stay valid after the loop.
func (c *Client) All(ctx context.Context, start, end []byte, opts ...CallOption) iter.Seq2[KV, error] {
	return func(yield func(KV, error) bool) {
		cur := start
		page := c.cfg.pageSize
		for {
			kvs, err := c.Scan(ctx, cur, end, page, opts...)
			if err != nil {
				yield(KV{}, err)
				return
			}
			for _, kv := range kvs {
				if !yield(kv, nil) {
					return
				}
			}
			if len(kvs) < page {
				return
			}
			last := kvs[len(kvs)-1].Key
			cur = append(append(make([]byte, 0, len(last)+1), last...), 0)
		}
	}
}

// DeleteRange removes every key of [start, end), region by region; an
// empty end means the end of the key space (of the keyspace under V2).
// TiKV deletes each region's part atomically, but not the whole range: on
// error a prefix of the range may be gone. It is not allowed in atomic mode
// (ErrNotInAtomicMode), because RawDeleteRange cannot take CAS latches.
// Region errors are retried (TiKV did not execute the request); a request
// whose answer was lost is resent, deleting the same range again. An error
// after any region's part may have been deleted matches ErrUndetermined.
func (c *Client) DeleteRange(ctx context.Context, start, end []byte, opts ...CallOption) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	if c.cfg.atomic {
		return fmt.Errorf("%w: DeleteRange", ErrNotInAtomicMode)
	}
	cf, err := c.checkCF(callOpts(opts).cf)
	if err != nil {
		return err
	}
	ws, we, err := c.checkRange(start, end)
	if err != nil {
		return err
	}
	if len(we) > 0 && bytes.Equal(ws, we) {
		return nil
	}
	cl := c.newCall(write, kvrpc.CmdRawDeleteRange)
	err = c.router.WalkRange(ctx, cl.bo, ws, we, func(ctx context.Context, bo *retry.Backoffer, sp locate.Span) (bool, error) {
		req := kvrpc.NewRawDeleteRange(&kvrpcpb.RawDeleteRangeRequest{Context: c.writeContext(), StartKey: sp.Start, EndKey: sp.End, Cf: cf})
		resp, err := c.sender.Send(ctx, bo, req, sp.Location.Region, cl.opts...)
		if err != nil {
			return false, err
		}
		if m := resp.Message().(*kvrpcpb.RawDeleteRangeResponse); m.Error != "" {
			return false, serverErr(kvrpc.CmdRawDeleteRange, m.Error)
		}
		return false, nil
	})
	return c.finish(cl, err)
}

// Checksum computes the checksum of [start, end) region by region and
// merges the parts (XOR of the CRCs, sums of the counts); an empty end means
// the end of the key space (of the keyspace under V2).
func (c *Client) Checksum(ctx context.Context, start, end []byte) (Checksum, error) {
	if err := c.checkOpen(); err != nil {
		return Checksum{}, err
	}
	ws, we, err := c.checkRange(start, end)
	if err != nil {
		return Checksum{}, err
	}
	var sum Checksum
	if len(we) > 0 && bytes.Equal(ws, we) {
		return sum, nil
	}
	cl := c.newCall(rangeRead, kvrpc.CmdRawChecksum)
	err = c.router.WalkRange(ctx, cl.bo, ws, we, func(ctx context.Context, bo *retry.Backoffer, sp locate.Span) (bool, error) {
		req := kvrpc.NewRawChecksum(&kvrpcpb.RawChecksumRequest{
			Context:   c.codec.Context(),
			Algorithm: kvrpcpb.ChecksumAlgorithm_Crc64_Xor,
			Ranges:    []*kvrpcpb.KeyRange{{StartKey: sp.Start, EndKey: sp.End}},
		})
		resp, err := c.sender.Send(ctx, bo, req, sp.Location.Region, cl.opts...)
		if err != nil {
			return false, err
		}
		m := resp.Message().(*kvrpcpb.RawChecksumResponse)
		if m.Error != "" {
			return false, serverErr(kvrpc.CmdRawChecksum, m.Error)
		}
		sum.Crc64Xor ^= m.Checksum
		sum.TotalKVs += m.TotalKvs
		sum.TotalBytes += m.TotalBytes
		return false, nil
	})
	if err != nil {
		return Checksum{}, c.finish(cl, err)
	}
	return sum, nil
}
