package locate

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/retry"
)

// Router routes requests by key: it finds the regions of keys and ranges
// through the sender's cache, sends, and locates again when a region turns
// out stale. It speaks the client's wire keys (prefixed under API V2); its
// codec maps them to the region keys the cache compares.
//
// Every helper retries a stale region itself: on an error matching
// [ErrRegionStale] it backs off with retry.RegionMiss on the caller's
// Backoffer, locates the keys again (a batch whose region split is grouped
// again) and resends. Resending is safe for reads and writes alike: a stale
// region error means TiKV rejected the request without executing it. Every
// other error comes back to the caller unchanged.
//
// A Router is safe for concurrent use and starts no goroutines of its own
// (only [SendBatches] runs batches in parallel, and waits for them).
type Router struct {
	cache  *Cache
	sender *Sender
	codec  *keycodec.Codec
}

// NewRouter returns a router sending through sender (and its cache), with
// codec mapping wire keys to region keys; a nil codec is API V1 raw, where
// both are the same bytes.
func NewRouter(sender *Sender, codec *keycodec.Codec) *Router {
	if codec == nil {
		codec = &keycodec.Codec{}
	}
	return &Router{cache: sender.cache, sender: sender, codec: codec}
}

// SendKey sends req to the region holding the wire key key and returns the
// first response without a region error.
func (r *Router) SendKey(ctx context.Context, bo *retry.Backoffer, key []byte, req *kvrpc.Request, opts ...SendOption) (*kvrpc.Response, error) {
	rk := r.codec.RegionKey(key)
	for {
		loc, err := r.cache.LocateKey(ctx, rk)
		if err != nil {
			return nil, err
		}
		resp, err := r.sender.Send(ctx, bo, req, loc.Region, opts...)
		if !errors.Is(err, ErrRegionStale) {
			return resp, err
		}
		if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
			return nil, err
		}
	}
}

// Span is the part of a walked range that lies in one region.
type Span struct {
	// Location is the region; its keys are region keys.
	Location Location
	// Start and End are the piece of the walked range inside the region,
	// as wire keys; an empty End means +inf.
	Start, End []byte
}

// SpanFunc handles one span of a range walk, typically by sending one
// request to s.Location.Region. Returning done stops the walk; returning an
// error matching [ErrRegionStale] makes the walk locate the span's start
// again and call it once more for the new region.
type SpanFunc func(ctx context.Context, bo *retry.Backoffer, s Span) (done bool, err error)

// WalkRange calls fn for each region overlapping the wire range
// [start, end) in ascending key order, one region at a time, locating each
// only when the previous one is done (memory stays bounded however many
// regions the range has). An empty end means +inf.
//
// A span is handed to fn again only after fn failed with a stale region,
// which TiKV rejected unexecuted, so nothing is counted twice. To read a
// range page by page, call WalkRange once per page from the key after the
// last one read, returning done when a page fills.
func (r *Router) WalkRange(ctx context.Context, bo *retry.Backoffer, start, end []byte, fn SpanFunc) error {
	if len(end) > 0 && bytes.Compare(start, end) > 0 {
		return fmt.Errorf("locate: %w: [%q, %q)", ErrInvalidRange, start, end)
	}
	key := start
	for {
		loc, err := r.cache.LocateKey(ctx, r.codec.RegionKey(key))
		if err != nil {
			return err
		}
		regionEnd, err := r.codec.WireBound(loc.EndKey)
		if err != nil {
			return err
		}
		upper, last := regionEnd, false
		if len(regionEnd) == 0 || (len(end) > 0 && bytes.Compare(regionEnd, end) >= 0) {
			upper, last = end, true
		} else if bytes.Compare(regionEnd, key) <= 0 {
			// Never loop on a region that does not move the walk on.
			return fmt.Errorf("locate: region %v ends at %q, not after %q", loc.Region, regionEnd, key)
		}
		done, err := fn(ctx, bo, Span{Location: loc, Start: key, End: upper})
		if errors.Is(err, ErrRegionStale) {
			if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
				return err
			}
			continue
		}
		if err != nil || done || last {
			return err
		}
		key = regionEnd
	}
}

// WalkRangeReverse is [Router.WalkRange] in descending key order: the
// first span is the one just below end. An empty end means +inf.
func (r *Router) WalkRangeReverse(ctx context.Context, bo *retry.Backoffer, start, end []byte, fn SpanFunc) error {
	if len(end) > 0 && bytes.Compare(start, end) > 0 {
		return fmt.Errorf("locate: %w: [%q, %q)", ErrInvalidRange, start, end)
	}
	upper := end
	// The region key to locate the next region by: the end's, then the
	// start boundary of the region just walked, as PD reports it. Locating
	// by the region key of a wire bound would find the walked region
	// again when the boundary is no encoding (a raw split key in a V1
	// cluster shared with raw KV): the bound then encodes past it.
	rk := r.codec.RegionKey(upper)
	for {
		loc, err := r.cache.LocateEndKey(ctx, rk)
		if err != nil {
			return err
		}
		regionStart, err := r.codec.WireBound(loc.StartKey)
		if err != nil {
			return err
		}
		lower, last := regionStart, false
		if bytes.Compare(regionStart, start) <= 0 {
			lower, last = start, true
		} else if len(upper) > 0 && bytes.Compare(regionStart, upper) >= 0 {
			// The region holds no wire key below upper: its start is a
			// boundary no wire key encodes to (a raw split key), which
			// sorts below upper's region key but maps to upper itself.
			// Its start boundary is strictly below rk, so stepping to
			// the region before it always moves the walk on.
			if bytes.Compare(loc.StartKey, rk) >= 0 {
				return fmt.Errorf("locate: region %v starts at %q, not before %q", loc.Region, regionStart, upper)
			}
			rk = loc.StartKey
			continue
		}
		done, err := fn(ctx, bo, Span{Location: loc, Start: lower, End: upper})
		if errors.Is(err, ErrRegionStale) {
			if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
				return err
			}
			continue
		}
		if err != nil || done || last {
			return err
		}
		upper, rk = regionStart, loc.StartKey
	}
}
