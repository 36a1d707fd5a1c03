package main

import (
	"bytes"
	"context"
	"fmt"
	"runtime"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/peer"
)

// synthPD serves peer.SynthRegions to locate.Cache, building every answer
// afresh as a real PD client decodes it off the wire, so the heap the cache
// holds afterwards is its own. The regions are the same as the upstream
// worker's.
type synthPD struct{ s peer.SynthRegions }

var _ locate.PD = synthPD{}

func (p synthPD) region(i int) *pdclient.Region {
	id := uint64(i + 1)
	m := &metapb.Region{
		Id:          id,
		StartKey:    p.s.StartKey(i),
		EndKey:      p.s.EndKey(i),
		RegionEpoch: &metapb.RegionEpoch{ConfVer: 5, Version: 10 + uint64(i%7)},
		Peers: []*metapb.Peer{
			{Id: id*10 + 1, StoreId: 1},
			{Id: id*10 + 2, StoreId: 2},
			{Id: id*10 + 3, StoreId: 3},
		},
	}
	return &pdclient.Region{Meta: m, Leader: m.Peers[0]}
}

func (p synthPD) GetRegion(_ context.Context, key []byte, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	return p.region(p.s.Index(key)), nil
}

func (p synthPD) GetPrevRegion(_ context.Context, key []byte, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	i := p.s.Index(key)
	if i == 0 {
		return nil, nil
	}
	return p.region(i - 1), nil
}

func (p synthPD) GetRegionByID(_ context.Context, id uint64, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	if id == 0 || id > uint64(p.s.N) {
		return nil, nil
	}
	return p.region(int(id - 1)), nil
}

func (p synthPD) ScanRegions(_ context.Context, start, end []byte, limit int, _ ...pdclient.RegionOption) ([]*pdclient.Region, error) {
	var out []*pdclient.Region
	for i := p.s.Index(start); i < p.s.N && len(out) < limit; i++ {
		if len(end) > 0 && i > 0 && bytes.Compare(p.s.StartKey(i), end) >= 0 {
			break
		}
		out = append(out, p.region(i))
	}
	return out, nil
}

func (p synthPD) store(id uint64) *metapb.Store {
	return &metapb.Store{Id: id, Address: fmt.Sprintf("127.0.0.1:%d", 20160+id), State: metapb.StoreState_Up}
}

func (p synthPD) GetStore(_ context.Context, id uint64) (*metapb.Store, error) {
	if id < 1 || id > 3 {
		return nil, nil
	}
	return p.store(id), nil
}

func (p synthPD) GetAllStores(context.Context, ...pdclient.StoreOption) ([]*metapb.Store, error) {
	return []*metapb.Store{p.store(1), p.store(2), p.store(3)}, nil
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// loadLocate builds a locate.Cache over n synthetic regions, warming it by
// locating the first key of every batch (each miss scans peer.LocateBatch
// regions ahead), and checks that every probe key locates to its region.
func loadLocate(ctx context.Context, n int) (*locateState, error) {
	s := peer.SynthRegions{N: n}
	keys, ids := s.Probes(4096, 1)
	before := heapAlloc()
	c, err := locate.New(synthPD{s: s}, locate.WithScanAhead(peer.LocateBatch))
	if err != nil {
		return nil, err
	}
	var key []byte
	for {
		loc, err := c.LocateKey(ctx, key)
		if err != nil {
			return nil, err
		}
		if len(loc.EndKey) == 0 {
			break
		}
		key = loc.EndKey
	}
	if c.Len() != n {
		return nil, fmt.Errorf("tikvgo worker: cached %d regions, want %d", c.Len(), n)
	}
	st := &locateState{n: n, cache: c, keys: keys, ids: ids}
	st.perReg = float64(heapAlloc()-before) / float64(n)
	for i, k := range keys {
		loc, err := c.LocateKey(ctx, k)
		if err != nil || loc.Region.ID != ids[i] {
			return nil, fmt.Errorf("tikvgo worker: probe %x located to region %d (%v), want %d", k, loc.Region.ID, err, ids[i])
		}
	}
	return st, nil
}
