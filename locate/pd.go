package locate

import (
	"context"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/pdclient"
)

// PD is the slice of the PD client the cache needs. *pdclient.Client
// satisfies it; tests use small fakes.
type PD interface {
	// GetRegion returns the region containing key.
	GetRegion(ctx context.Context, key []byte, opts ...pdclient.RegionOption) (*pdclient.Region, error)
	// GetPrevRegion returns the region just before the one containing key.
	GetPrevRegion(ctx context.Context, key []byte, opts ...pdclient.RegionOption) (*pdclient.Region, error)
	// GetRegionByID returns the region with the given id.
	GetRegionByID(ctx context.Context, id uint64, opts ...pdclient.RegionOption) (*pdclient.Region, error)
	// ScanRegions returns up to limit regions overlapping [start, end),
	// starting with the one containing start; an empty end means +inf.
	ScanRegions(ctx context.Context, start, end []byte, limit int, opts ...pdclient.RegionOption) ([]*pdclient.Region, error)
	// GetStore returns one store.
	GetStore(ctx context.Context, id uint64) (*metapb.Store, error)
	// GetAllStores returns every store PD knows.
	GetAllStores(ctx context.Context, opts ...pdclient.StoreOption) ([]*metapb.Store, error)
}
