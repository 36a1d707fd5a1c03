package pdclient

import (
	"context"
	"errors"

	"github.com/pingcap/kvproto/pkg/pdpb"
)

// SplitResult is PD's answer to [Client.SplitRegions].
type SplitResult struct {
	// FinishedPercent is how much of the split PD completed (0-100).
	FinishedPercent uint64
	// RegionIDs are the ids of the regions the split produced.
	RegionIDs []uint64
}

// SplitRegions asks PD to split regions at keys (region keys). The request
// is not repeated after an ambiguous failure; it is retried only when PD
// provably did not receive it.
func (c *Client) SplitRegions(ctx context.Context, keys [][]byte, opts ...CallOption) (SplitResult, error) {
	resp, err := invoke(ctx, c, "SplitRegions", mutating, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.SplitRegionsResponse, error) {
			return l.pd.SplitRegions(ctx, &pdpb.SplitRegionsRequest{Header: c.header(), SplitKeys: keys})
		})
	if err != nil {
		return SplitResult{}, err
	}
	return SplitResult{FinishedPercent: resp.FinishedPercentage, RegionIDs: resp.RegionsId}, nil
}

// ScatterResult is PD's answer to [Client.ScatterRegions].
type ScatterResult struct {
	// FinishedPercent is how much of the scatter PD completed (0-100).
	FinishedPercent uint64
	// FailedRegionIDs lists regions PD could not scatter.
	FailedRegionIDs []uint64
}

// ScatterRegions asks PD to spread the given regions over the stores; regions
// with the same non-empty group are scattered as a whole. Like
// [Client.SplitRegions] it is retried only when provably not received.
func (c *Client) ScatterRegions(ctx context.Context, regionIDs []uint64, group string, opts ...CallOption) (ScatterResult, error) {
	resp, err := invoke(ctx, c, "ScatterRegion", mutating, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.ScatterRegionResponse, error) {
			return l.pd.ScatterRegion(ctx, &pdpb.ScatterRegionRequest{
				Header: c.header(), RegionsId: regionIDs, Group: group,
			})
		})
	if err != nil {
		return ScatterResult{}, err
	}
	return ScatterResult{FinishedPercent: resp.FinishedPercentage, FailedRegionIDs: resp.FailedRegionsId}, nil
}

// ScatterRegion scatters one region; see [Client.ScatterRegions].
func (c *Client) ScatterRegion(ctx context.Context, regionID uint64, opts ...CallOption) (ScatterResult, error) {
	return c.ScatterRegions(ctx, []uint64{regionID}, "", opts...)
}

// Operator is a region's current or recently finished PD operator, as
// [Client.GetOperator] reports it.
type Operator struct {
	// RegionID is the region the operator works on.
	RegionID uint64
	// Desc names the operator, e.g. "scatter-region".
	Desc string
	// Kind is PD's operator kind list, e.g. "admin,region".
	Kind string
	// Status is where the operator stands (RUNNING, SUCCESS, TIMEOUT, ...).
	Status pdpb.OperatorStatus
}

// Running reports whether the operator has not finished yet.
func (o *Operator) Running() bool { return o.Status == pdpb.OperatorStatus_RUNNING }

// GetOperator returns the operator PD runs, or ran recently, on a region.
// PD answers REGION_NOT_FOUND when the region has no operator (PD forgets
// finished ones after a while); GetOperator returns (nil, nil) then, so a
// waiter treats "none" as "nothing left to wait for".
func (c *Client) GetOperator(ctx context.Context, regionID uint64, opts ...CallOption) (*Operator, error) {
	resp, err := invoke(ctx, c, "GetOperator", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.GetOperatorResponse, error) {
			return l.pd.GetOperator(ctx, &pdpb.GetOperatorRequest{Header: c.header(), RegionId: regionID})
		})
	if errors.Is(err, ErrRegionNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Operator{RegionID: resp.RegionId, Desc: string(resp.Desc), Kind: string(resp.Kind), Status: resp.Status}, nil
}
