package locate_test

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
)

// The cache must accept the real PD client.
var _ locate.PD = (*pdclient.Client)(nil)

var errPDDown = errors.New("fake pd: unavailable")

// fakePD holds a sorted region list and a store map. Tests mutate it (split,
// transfer leader) to play the cluster changing under the cache.
type fakePD struct {
	mu      sync.Mutex
	regions []*pdclient.Region // sorted by start key, covering the key space
	stores  map[uint64]*metapb.Store
	nextID  uint64
	fail    error
	// block, if set, is waited on by every region query (singleflight test).
	block chan struct{}

	getRegion, getPrev, getByID, scan, getStore atomic.Int32
}

// newFakePD builds regions split at the given keys, each with three peers on
// stores 1-3 and the leader on store 1.
func newFakePD(splits ...string) *fakePD {
	pd := &fakePD{stores: map[uint64]*metapb.Store{}, nextID: 1000}
	for s := uint64(1); s <= 3; s++ {
		pd.stores[s] = &metapb.Store{Id: s, Address: "store" + string(rune('0'+s)),
			Labels: []*metapb.StoreLabel{{Key: "zone", Value: "z" + string(rune('0'+s))}}}
	}
	bounds := append([]string{""}, splits...)
	for i, start := range bounds {
		end := ""
		if i+1 < len(bounds) {
			end = bounds[i+1]
		}
		pd.regions = append(pd.regions, pd.newRegionLocked(uint64(i+1), []byte(start), []byte(end), 1, 1))
	}
	return pd
}

func (pd *fakePD) newRegionLocked(id uint64, start, end []byte, confVer, ver uint64) *pdclient.Region {
	peers := []*metapb.Peer{{Id: id*10 + 1, StoreId: 1}, {Id: id*10 + 2, StoreId: 2}, {Id: id*10 + 3, StoreId: 3}}
	return &pdclient.Region{
		Meta: &metapb.Region{Id: id, StartKey: start, EndKey: end,
			RegionEpoch: &metapb.RegionEpoch{ConfVer: confVer, Version: ver}, Peers: peers},
		Leader: peers[0],
	}
}

// split splits the region containing key at key; the left part keeps the id.
func (pd *fakePD) split(key string) (left, right *metapb.Region) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	i := pd.indexLocked([]byte(key))
	old := pd.regions[i].Meta
	ver := old.RegionEpoch.Version + 1
	pd.nextID++
	l := pd.newRegionLocked(old.Id, old.StartKey, []byte(key), old.RegionEpoch.ConfVer, ver)
	r := pd.newRegionLocked(pd.nextID, []byte(key), old.EndKey, old.RegionEpoch.ConfVer, ver)
	pd.regions = append(pd.regions[:i], append([]*pdclient.Region{l, r}, pd.regions[i+1:]...)...)
	return l.Meta, r.Meta
}

func (pd *fakePD) indexLocked(key []byte) int {
	return sort.Search(len(pd.regions), func(i int) bool {
		e := pd.regions[i].Meta.EndKey
		return len(e) == 0 || bytes.Compare(key, e) < 0
	})
}

func (pd *fakePD) wait(ctx context.Context) error {
	pd.mu.Lock()
	block, fail := pd.block, pd.fail
	pd.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fail
}

func (pd *fakePD) GetRegion(ctx context.Context, key []byte, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	pd.getRegion.Add(1)
	if err := pd.wait(ctx); err != nil {
		return nil, err
	}
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.regions[pd.indexLocked(key)], nil
}

func (pd *fakePD) GetPrevRegion(ctx context.Context, key []byte, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	pd.getPrev.Add(1)
	if err := pd.wait(ctx); err != nil {
		return nil, err
	}
	pd.mu.Lock()
	defer pd.mu.Unlock()
	i := pd.indexLocked(key)
	if i == 0 {
		return nil, nil
	}
	return pd.regions[i-1], nil
}

func (pd *fakePD) GetRegionByID(ctx context.Context, id uint64, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	pd.getByID.Add(1)
	if err := pd.wait(ctx); err != nil {
		return nil, err
	}
	pd.mu.Lock()
	defer pd.mu.Unlock()
	for _, r := range pd.regions {
		if r.Meta.Id == id {
			return r, nil
		}
	}
	return nil, nil
}

func (pd *fakePD) ScanRegions(ctx context.Context, start, end []byte, limit int, _ ...pdclient.RegionOption) ([]*pdclient.Region, error) {
	pd.scan.Add(1)
	if err := pd.wait(ctx); err != nil {
		return nil, err
	}
	pd.mu.Lock()
	defer pd.mu.Unlock()
	var out []*pdclient.Region
	for i := pd.indexLocked(start); i < len(pd.regions) && len(out) < limit; i++ {
		r := pd.regions[i]
		if len(end) > 0 && bytes.Compare(r.Meta.StartKey, end) >= 0 {
			break
		}
		out = append(out, r)
	}
	return out, nil
}

func (pd *fakePD) GetStore(ctx context.Context, id uint64) (*metapb.Store, error) {
	pd.getStore.Add(1)
	if err := pd.wait(ctx); err != nil {
		return nil, err
	}
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.stores[id], nil
}

func (pd *fakePD) GetAllStores(ctx context.Context, _ ...pdclient.StoreOption) ([]*metapb.Store, error) {
	if err := pd.wait(ctx); err != nil {
		return nil, err
	}
	pd.mu.Lock()
	defer pd.mu.Unlock()
	var out []*metapb.Store
	for _, s := range pd.stores {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return out, nil
}

// regionVer returns PD's current version of the region containing key.
func (pd *fakePD) regionVer(key string) uint64 {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.regions[pd.indexLocked([]byte(key))].Meta.RegionEpoch.Version
}

// warmAll loads every region into c, walking the key space from -inf.
func warmAll(ctx context.Context, c *locate.Cache) error {
	var key []byte
	for {
		loc, err := c.LocateKey(ctx, key)
		if err != nil {
			return err
		}
		if len(loc.EndKey) == 0 {
			return nil
		}
		key = loc.EndKey
	}
}
