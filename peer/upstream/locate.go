package main

import (
	"bytes"
	"context"
	"fmt"
	"runtime"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/tikv/client-go/v2/tikv"
	pd "github.com/tikv/pd/client"
	"github.com/tikv/pd/client/clients/router"
	"github.com/tikv/pd/client/opt"

	"github.com/tikvgo/tikvgo/peer"
)

// synthPD serves peer.SynthRegions to client-go's RegionCache. It
// implements the region and store calls the cache makes; the embedded
// (nil) interface only completes the method set, so any other call
// panics, which would show the benchmark exercising more than lookups.
// Answers are built afresh per call, as a real PD client decodes them off
// the wire, so the heap the cache holds afterwards is its own.
type synthPD struct {
	pd.Client
	s peer.SynthRegions
}

func (p synthPD) region(i int) *router.Region {
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
	return &router.Region{Meta: m, Leader: m.Peers[0]}
}

func (p synthPD) GetClusterID(context.Context) uint64 { return 1 }

func (p synthPD) GetRegion(_ context.Context, key []byte, _ ...opt.GetRegionOption) (*router.Region, error) {
	return p.region(p.s.Index(key)), nil
}

func (p synthPD) GetPrevRegion(_ context.Context, key []byte, _ ...opt.GetRegionOption) (*router.Region, error) {
	i := p.s.Index(key)
	if i == 0 {
		return nil, nil
	}
	return p.region(i - 1), nil
}

func (p synthPD) GetRegionByID(_ context.Context, id uint64, _ ...opt.GetRegionOption) (*router.Region, error) {
	if id == 0 || id > uint64(p.s.N) {
		return nil, nil
	}
	return p.region(int(id - 1)), nil
}

func (p synthPD) ScanRegions(_ context.Context, start, end []byte, limit int, _ ...opt.GetRegionOption) ([]*router.Region, error) {
	var out []*router.Region
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

func (p synthPD) GetAllStores(context.Context, ...opt.GetStoreOption) ([]*metapb.Store, error) {
	return []*metapb.Store{p.store(1), p.store(2), p.store(3)}, nil
}

func (p synthPD) Close() {}

// locateState is a loaded cache, kept between the rounds of one region
// count so a 1M-region cache is built once.
type locateState struct {
	n      int
	cache  *tikv.RegionCache
	find   func(key []byte) (uint64, error)
	keys   [][]byte
	ids    []uint64
	perReg float64
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// loadLocate builds client-go's RegionCache over n synthetic regions,
// loading them through its bulk path (BatchLoadRegionsFromKey), and checks
// that every probe key locates to its region.
func loadLocate(n int) (*locateState, error) {
	s := peer.SynthRegions{N: n}
	keys, ids := s.Probes(4096, 1)
	before := heapAlloc()
	c := tikv.NewRegionCache(synthPD{s: s})
	bo := tikv.NewBackofferWithVars(context.Background(), 1000, nil)
	var key []byte
	for {
		end, err := c.BatchLoadRegionsFromKey(bo, key, peer.LocateBatch)
		if err != nil {
			c.Close()
			return nil, err
		}
		if len(end) == 0 {
			break
		}
		key = end
	}
	st := &locateState{n: n, cache: c, keys: keys, ids: ids}
	st.perReg = float64(heapAlloc()-before) / float64(n)
	st.find = func(key []byte) (uint64, error) {
		loc, err := c.LocateKey(bo, key)
		if err != nil {
			return 0, err
		}
		return loc.Region.GetID(), nil
	}
	for i, k := range keys {
		id, err := st.find(k)
		if err != nil || id != ids[i] {
			c.Close()
			return nil, fmt.Errorf("upstream: probe %x located to region %d (%v), want %d", k, id, err, ids[i])
		}
	}
	return st, nil
}

func (w *worker) locateSetup(ctx context.Context, c peer.Case) (peer.Op, func(), error) {
	if c.Arg < 1 {
		return nil, nil, fmt.Errorf("upstream: %s needs arg (regions) >= 1", peer.LocateKey)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loc == nil || w.loc.n != c.Arg {
		if w.loc != nil {
			w.loc.cache.Close()
			w.loc = nil
		}
		st, err := loadLocate(c.Arg)
		if err != nil {
			return nil, nil, err
		}
		w.loc = st
	}
	st := w.loc
	peer.ExtrasFrom(ctx)["bytes_per_region"] = st.perReg
	return func(_ context.Context, caller, i int) error {
		j := (caller*997 + i) & 4095
		id, err := st.find(st.keys[j])
		if err == nil && id != st.ids[j] {
			err = fmt.Errorf("upstream: located region %d, want %d", id, st.ids[j])
		}
		return err
	}, nil, nil
}
