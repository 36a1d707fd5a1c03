package txnkv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// Routing. Every request txnkv sends goes through the functions in this
// file, which wrap locate's Cache and Sender: sendKey (one key), groupKeys
// and runGroups (keys to regions, fanned out under a bound, re-grouped when
// a region went stale) and walkRange (a range region by region). They are
// kept small so that moving to locate's Router (issue 10, branch routing)
// touches only this file.
// TODO(#10): switch to locate.Router and locate/keycodec when they land.

const (
	encGroup  = 8
	encMarker = 0xFF
)

// regionKey maps a transactional user key to the region key space: PD holds
// memcomparable-encoded boundaries for transactional keys (API V1).
func regionKey(dst, k []byte) []byte {
	for i := 0; ; i += encGroup {
		rest := len(k) - i
		if rest >= encGroup {
			dst = append(dst, k[i:i+encGroup]...)
			dst = append(dst, encMarker)
			continue
		}
		dst = append(dst, k[i:]...)
		for range encGroup - rest {
			dst = append(dst, 0)
		}
		return append(dst, encMarker-byte(encGroup-rest))
	}
}

// userBound maps a region boundary back to a user key. An empty boundary
// (the key space's end) stays empty.
func userBound(enc []byte) ([]byte, error) {
	if len(enc) == 0 {
		return nil, nil
	}
	var key []byte
	for n := 0; ; n += encGroup + 1 {
		if len(enc)-n < encGroup+1 {
			return nil, fmt.Errorf("txnkv: region boundary %x is not an encoded key", enc)
		}
		group, pad := enc[n:n+encGroup], encMarker-int(enc[n+encGroup])
		if pad == 0 {
			key = append(key, group...)
			continue
		}
		if pad < 0 || pad > encGroup {
			return nil, fmt.Errorf("txnkv: region boundary %x is not an encoded key", enc)
		}
		return append(key, group[:encGroup-pad]...), nil
	}
}

// sendKey sends the request build returns to the region holding key,
// locating again whenever the region proves stale.
func (c *Client) sendKey(ctx context.Context, bo *retry.Backoffer, key []byte, build func() *kvrpc.Request, opts []locate.SendOption) (*kvrpc.Response, error) {
	rk := regionKey(nil, key)
	for {
		loc, err := c.cache.LocateKey(ctx, rk)
		if err != nil {
			return nil, err
		}
		resp, err := c.sender.Send(ctx, bo, build(), loc.Region, opts...)
		if errors.Is(err, locate.ErrRegionStale) {
			// Refused before being executed: reads may be sent again.
			if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
				return nil, err
			}
			continue
		}
		return resp, err
	}
}

// keyGroup is a set of keys in one region.
type keyGroup struct {
	loc  locate.Location
	keys [][]byte
}

// groupKeys groups keys (sorted here) by region, cutting each region's run
// into groups of at most maxKeys.
func (c *Client) groupKeys(ctx context.Context, keys [][]byte, maxKeys int) ([]keyGroup, error) {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, bytes.Compare)
	var (
		out     []keyGroup
		scratch []byte
	)
	for _, k := range keys {
		scratch = regionKey(scratch[:0], k)
		if n := len(out); n > 0 && out[n-1].loc.Contains(scratch) {
			if len(out[n-1].keys) < maxKeys {
				out[n-1].keys = append(out[n-1].keys, k)
			} else {
				out = append(out, keyGroup{loc: out[n-1].loc, keys: [][]byte{k}})
			}
			continue
		}
		loc, err := c.cache.LocateKey(ctx, slices.Clone(scratch))
		if err != nil {
			return nil, err
		}
		out = append(out, keyGroup{loc: loc, keys: [][]byte{k}})
	}
	return out, nil
}

// runGroups runs fn on every group, at most limit at once, each on a fork
// of bo, and returns the first error. A group whose fn fails with a stale
// region is grouped again and its parts run again.
func (c *Client) runGroups(ctx context.Context, bo *retry.Backoffer, groups []keyGroup, limit, maxKeys int, fn func(ctx context.Context, bo *retry.Backoffer, g keyGroup) error) error {
	var one func(ctx context.Context, bo *retry.Backoffer, g keyGroup) error
	one = func(ctx context.Context, bo *retry.Backoffer, g keyGroup) error {
		err := fn(ctx, bo, g)
		if !errors.Is(err, locate.ErrRegionStale) {
			return err
		}
		if err := bo.Backoff(ctx, retry.RegionMiss, err); err != nil {
			return err
		}
		parts, err := c.groupKeys(ctx, g.keys, maxKeys)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if err := one(ctx, bo, p); err != nil {
				return err
			}
		}
		return nil
	}
	if len(groups) == 1 {
		return one(ctx, bo, groups[0])
	}
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(limit)
	for _, g := range groups {
		fbo := bo.Fork()
		eg.Go(func() error { return one(gctx, fbo, g) })
	}
	return eg.Wait()
}

// locateRange returns the region holding the user key k (forward) or the
// region whose range ends at or after k (reverse, k exclusive), with its
// bounds as user keys.
func (c *Client) locateRange(ctx context.Context, k []byte, reverse bool) (loc locate.Location, start, end []byte, err error) {
	if reverse {
		loc, err = c.cache.LocateEndKey(ctx, regionKey(nil, k))
	} else {
		loc, err = c.cache.LocateKey(ctx, regionKey(nil, k))
	}
	if err != nil {
		return loc, nil, nil, err
	}
	if start, err = userBound(loc.StartKey); err != nil {
		return loc, nil, nil, err
	}
	if end, err = userBound(loc.EndKey); err != nil {
		return loc, nil, nil, err
	}
	return loc, start, end, nil
}
