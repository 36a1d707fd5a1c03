package pdclient

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
)

// GetStore returns the store with the given id, tombstones included. It
// returns an error matching [ErrStoreNotFound] when PD knows no such store.
func (c *Client) GetStore(ctx context.Context, id uint64) (*metapb.Store, error) {
	resp, err := invoke(ctx, c, "GetStore", idempotent, callConfig{},
		func(ctx context.Context, l *Leader) (*pdpb.GetStoreResponse, error) {
			return l.pd.GetStore(ctx, &pdpb.GetStoreRequest{Header: c.header(), StoreId: id})
		})
	if err != nil {
		// PD reports an unknown id as UNKNOWN "invalid store ID N, not found".
		var pe *PDError
		if errors.As(err, &pe) && strings.Contains(pe.Message, "not found") {
			return nil, fmt.Errorf("%w: %w", ErrStoreNotFound, err)
		}
		return nil, err
	}
	if resp.GetStore() == nil {
		return nil, fmt.Errorf("%w: %d", ErrStoreNotFound, id)
	}
	return resp.Store, nil
}

// GetAllStores returns every store PD knows, with labels and state. With
// [WithExcludeTombstones] removed stores are left out.
func (c *Client) GetAllStores(ctx context.Context, opts ...StoreOption) ([]*metapb.Store, error) {
	sc := collectStore(opts)
	resp, err := invoke(ctx, c, "GetAllStores", idempotent, sc.callConfig,
		func(ctx context.Context, l *Leader) (*pdpb.GetAllStoresResponse, error) {
			return l.pd.GetAllStores(ctx, &pdpb.GetAllStoresRequest{
				Header: c.header(), ExcludeTombstoneStores: sc.excludeTombstone,
			})
		})
	if err != nil {
		return nil, err
	}
	return resp.Stores, nil
}

// GetMinTS returns PD's minimum timestamp across TSO keyspace groups, which
// is a freshly allocated timestamp when PD serves TSO itself. The value is
// a composed TSO (physical << 18 | logical).
func (c *Client) GetMinTS(ctx context.Context, opts ...CallOption) (uint64, error) {
	resp, err := invoke(ctx, c, "GetMinTS", idempotent, collectCall(opts),
		func(ctx context.Context, l *Leader) (*pdpb.GetMinTSResponse, error) {
			return l.pd.GetMinTS(ctx, &pdpb.GetMinTSRequest{Header: c.header()})
		})
	if err != nil {
		return 0, err
	}
	ts := resp.GetTimestamp()
	return uint64(ts.GetPhysical())<<18 | uint64(ts.GetLogical()), nil
}
