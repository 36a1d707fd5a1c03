package pdclient

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/metadata"
)

// Region is a region as PD reports it: its metadata (range, epoch, peers),
// the current leader and, when PD has them, bucket boundaries and the peers PD
// considers down or pending. A Region returned by the client is never mutated
// by it afterwards, so it is safe to share between goroutines for reading.
type Region struct {
	// Meta is the region: id, key range (region keys), epoch and peers.
	Meta *metapb.Region
	// Leader is the leader peer, or nil when PD does not know it.
	Leader *metapb.Peer
	// Buckets are the bucket boundaries, when asked for and available.
	Buckets *metapb.Buckets
	// DownPeers are the peers the leader reports as down.
	DownPeers []*metapb.Peer
	// PendingPeers are the peers still catching up with the leader.
	PendingPeers []*metapb.Peer
}

// KeyRange is a half-open key range [Start, End); an empty End means +inf.
type KeyRange struct {
	// Start is the inclusive start (a region key).
	Start []byte
	// End is the exclusive end; empty means +inf.
	End []byte
}

// Region keys: every key passed to or returned by the region APIs is a region
// key exactly as PD stores it. The caller encodes user keys first
// (memcomparable for TxnKV, keyspace prefix for API V2); pdclient never
// changes them.

const allowFollowerMD = "pd-allow-follower-handle"

func regionCallContext(ctx context.Context, rc regionConfig) context.Context {
	if rc.allowFollower {
		return metadata.AppendToOutgoingContext(ctx, allowFollowerMD, "true")
	}
	return ctx
}

func peersOf(stats []*pdpb.PeerStats) []*metapb.Peer {
	if len(stats) == 0 {
		return nil
	}
	out := make([]*metapb.Peer, 0, len(stats))
	for _, s := range stats {
		if s.GetPeer() != nil {
			out = append(out, s.Peer)
		}
	}
	return out
}

// leaderOrNil drops the empty Peer PD sends when it knows no leader.
func leaderOrNil(p *metapb.Peer) *metapb.Peer {
	if p == nil || (p.Id == 0 && p.StoreId == 0) {
		return nil
	}
	return p
}

func regionFromResponse(resp *pdpb.GetRegionResponse) (*Region, error) {
	if resp.GetRegion() == nil {
		return nil, ErrRegionNotFound
	}
	return &Region{
		Meta:         resp.Region,
		Leader:       leaderOrNil(resp.Leader),
		Buckets:      resp.Buckets,
		DownPeers:    peersOf(resp.DownPeers),
		PendingPeers: resp.PendingPeers,
	}, nil
}

func regionFromPB(r *pdpb.Region) *Region {
	return &Region{
		Meta:         r.Region,
		Leader:       leaderOrNil(r.Leader),
		Buckets:      r.Buckets,
		DownPeers:    peersOf(r.DownPeers),
		PendingPeers: r.PendingPeers,
	}
}

// GetRegion returns the region containing key (a region key: see the
// package doc), with its leader, peers and, with [WithBuckets], buckets. It
// returns [ErrRegionNotFound] when PD knows no such region.
func (c *Client) GetRegion(ctx context.Context, key []byte, opts ...RegionOption) (*Region, error) {
	rc := collectRegion(opts)
	resp, err := invoke(ctx, c, "GetRegion", idempotent, rc.callConfig,
		func(ctx context.Context, l *Leader) (*pdpb.GetRegionResponse, error) {
			return l.pd.GetRegion(regionCallContext(ctx, rc), &pdpb.GetRegionRequest{
				Header: c.header(), RegionKey: key, NeedBuckets: rc.buckets,
			})
		})
	if err != nil {
		return nil, err
	}
	return regionFromResponse(resp)
}

// GetPrevRegion returns the region just before the one containing key, when
// the two are adjacent; otherwise [ErrRegionNotFound].
func (c *Client) GetPrevRegion(ctx context.Context, key []byte, opts ...RegionOption) (*Region, error) {
	rc := collectRegion(opts)
	resp, err := invoke(ctx, c, "GetPrevRegion", idempotent, rc.callConfig,
		func(ctx context.Context, l *Leader) (*pdpb.GetRegionResponse, error) {
			return l.pd.GetPrevRegion(regionCallContext(ctx, rc), &pdpb.GetRegionRequest{
				Header: c.header(), RegionKey: key, NeedBuckets: rc.buckets,
			})
		})
	if err != nil {
		return nil, err
	}
	return regionFromResponse(resp)
}

// GetRegionByID returns the region with the given id, or [ErrRegionNotFound].
func (c *Client) GetRegionByID(ctx context.Context, id uint64, opts ...RegionOption) (*Region, error) {
	rc := collectRegion(opts)
	resp, err := invoke(ctx, c, "GetRegionByID", idempotent, rc.callConfig,
		func(ctx context.Context, l *Leader) (*pdpb.GetRegionResponse, error) {
			return l.pd.GetRegionByID(regionCallContext(ctx, rc), &pdpb.GetRegionByIDRequest{
				Header: c.header(), RegionId: id, NeedBuckets: rc.buckets,
			})
		})
	if err != nil {
		return nil, err
	}
	return regionFromResponse(resp)
}

func clampLimit(limit int) int32 {
	if limit <= 0 {
		return 0
	}
	return int32(min(limit, math.MaxInt32))
}

// ScanRegions returns, in key order, the regions overlapping [start, end)
// (empty end = +inf), starting with the one containing start, at most limit
// of them (limit <= 0: no limit). Buckets are never included; use
// [Client.BatchScanRegions] for them.
func (c *Client) ScanRegions(ctx context.Context, start, end []byte, limit int, opts ...RegionOption) ([]*Region, error) {
	rc := collectRegion(opts)
	resp, err := invoke(ctx, c, "ScanRegions", idempotent, rc.callConfig,
		func(ctx context.Context, l *Leader) (*pdpb.ScanRegionsResponse, error) {
			return l.pd.ScanRegions(regionCallContext(ctx, rc), &pdpb.ScanRegionsRequest{
				Header: c.header(), StartKey: start, EndKey: end, Limit: clampLimit(limit),
			})
		})
	if err != nil {
		return nil, err
	}
	if len(resp.Regions) > 0 {
		out := make([]*Region, 0, len(resp.Regions))
		for _, r := range resp.Regions {
			out = append(out, regionFromPB(r))
		}
		return out, nil
	}
	// Older PDs fill only the legacy parallel lists.
	out := make([]*Region, 0, len(resp.RegionMetas))
	for i, m := range resp.RegionMetas {
		r := &Region{Meta: m}
		if i < len(resp.Leaders) {
			r.Leader = leaderOrNil(resp.Leaders[i])
		}
		out = append(out, r)
	}
	return out, nil
}

// BatchScanRegions returns, in key order and each once, the regions
// overlapping any of ranges, at most limit in total (limit <= 0: no limit).
// ranges must be sorted and non-overlapping, each Start <= End (empty End =
// +inf); otherwise it fails with [ErrInvalidRange] without calling PD.
func (c *Client) BatchScanRegions(ctx context.Context, ranges []KeyRange, limit int, opts ...RegionOption) ([]*Region, error) {
	if err := validateRanges(ranges); err != nil {
		return nil, err
	}
	rc := collectRegion(opts)
	pbRanges := make([]*pdpb.KeyRange, len(ranges))
	for i, r := range ranges {
		pbRanges[i] = &pdpb.KeyRange{StartKey: r.Start, EndKey: r.End}
	}
	resp, err := invoke(ctx, c, "BatchScanRegions", idempotent, rc.callConfig,
		func(ctx context.Context, l *Leader) (*pdpb.BatchScanRegionsResponse, error) {
			return l.pd.BatchScanRegions(regionCallContext(ctx, rc), &pdpb.BatchScanRegionsRequest{
				Header: c.header(), Ranges: pbRanges, Limit: clampLimit(limit),
				NeedBuckets: rc.buckets, ContainAllKeyRange: rc.containAllKeys,
			})
		})
	if err != nil {
		return nil, err
	}
	out := make([]*Region, 0, len(resp.Regions))
	for _, r := range resp.Regions {
		out = append(out, regionFromPB(r))
	}
	return out, nil
}

func validateRanges(ranges []KeyRange) error {
	if len(ranges) == 0 {
		return fmt.Errorf("pdclient: %w: no key range", ErrInvalidRange)
	}
	for i, r := range ranges {
		if len(r.End) > 0 && bytes.Compare(r.Start, r.End) > 0 {
			return fmt.Errorf("pdclient: %w: range %d has start > end", ErrInvalidRange, i)
		}
		if i > 0 {
			prev := ranges[i-1]
			if len(prev.End) == 0 || bytes.Compare(r.Start, prev.End) < 0 {
				return fmt.Errorf("pdclient: %w: range %d overlaps or precedes range %d", ErrInvalidRange, i, i-1)
			}
		}
	}
	return nil
}
