package peer

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/tikv/client-go/v2/tikv"
	pd "github.com/tikv/pd/client"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
)

// Side-by-side region cache benchmarks (issue 5, item 6): tikvgo's
// locate.Cache against client-go v2.0.4's tikv.NewRegionCache, both fed the
// same synthetic regions by fakes of their PD clients, in the same run.
//
//	cd peer && GOWORK=off go test -run '^$' -bench 'LocateKeyPeer/regions=(1000|100000)/' -benchmem
//	cd peer && GOWORK=off go test -run '^$' -bench 'LocateKeyPeer/regions=1000000/' -benchmem
//
// The 1M case needs a few GiB and is skipped under -short.

// synthRegions describes n regions over TiDB-shaped row keys: region i starts
// at the row key of table 100+i/4096, handle (i%4096)*1000 (19 bytes:
// 't', an 8-byte table id, "_r", an 8-byte handle, both memcomparable), has
// three peers on stores 1-3, its leader on the first, and epoch
// conf_ver 5 / version 10+i%7. Nothing is kept in memory: PD answers are built
// afresh per call, as a real PD client decodes them off the wire, so the
// heap growth measured while a cache loads is the cache's own.
type synthRegions struct{ n int }

const rowsPerTable = 4096

// rowKey returns the row key of (table, handle).
func rowKey(table, handle uint64) []byte {
	k := make([]byte, 0, 19)
	k = append(k, 't')
	k = binary.BigEndian.AppendUint64(k, table^(1<<63))
	k = append(k, '_', 'r')
	return binary.BigEndian.AppendUint64(k, handle^(1<<63))
}

// startKey returns region i's start key (the empty key for region 0).
func (s synthRegions) startKey(i int) []byte {
	if i == 0 {
		return nil
	}
	return rowKey(100+uint64(i/rowsPerTable), uint64(i%rowsPerTable)*1000)
}

// probeKey returns a key strictly inside region i.
func (s synthRegions) probeKey(i int) []byte {
	return rowKey(100+uint64(i/rowsPerTable), uint64(i%rowsPerTable)*1000+500)
}

// meta builds region i afresh.
func (s synthRegions) meta(i int) *metapb.Region {
	var end []byte
	if i < s.n-1 {
		end = s.startKey(i + 1)
	}
	id := uint64(i + 1)
	return &metapb.Region{
		Id:          id,
		StartKey:    s.startKey(i),
		EndKey:      end,
		RegionEpoch: &metapb.RegionEpoch{ConfVer: 5, Version: 10 + uint64(i%7)},
		Peers: []*metapb.Peer{
			{Id: id*10 + 1, StoreId: 1},
			{Id: id*10 + 2, StoreId: 2},
			{Id: id*10 + 3, StoreId: 3},
		},
	}
}

// index returns the region containing key.
func (s synthRegions) index(key []byte) int {
	// Region i+1 starts at startKey(i+1); find the first whose start is
	// after key, and step back.
	return sort.Search(s.n-1, func(i int) bool { return bytes.Compare(key, s.startKey(i+1)) < 0 })
}

func (s synthRegions) store(id uint64) *metapb.Store {
	if id < 1 || id > 3 {
		return nil
	}
	return &metapb.Store{Id: id, Address: fmt.Sprintf("127.0.0.1:%d", 20160+id), State: metapb.StoreState_Up}
}

func (s synthRegions) stores() []*metapb.Store {
	return []*metapb.Store{s.store(1), s.store(2), s.store(3)}
}

// synthTikvgoPD serves synthRegions to locate.Cache.
type synthTikvgoPD struct{ s synthRegions }

var _ locate.PD = synthTikvgoPD{}

func (p synthTikvgoPD) region(i int) *pdclient.Region {
	m := p.s.meta(i)
	return &pdclient.Region{Meta: m, Leader: m.Peers[0]}
}

func (p synthTikvgoPD) GetRegion(_ context.Context, key []byte, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	return p.region(p.s.index(key)), nil
}

func (p synthTikvgoPD) GetPrevRegion(_ context.Context, key []byte, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	i := p.s.index(key)
	if i == 0 {
		return nil, nil
	}
	return p.region(i - 1), nil
}

func (p synthTikvgoPD) GetRegionByID(_ context.Context, id uint64, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	if id == 0 || id > uint64(p.s.n) {
		return nil, nil
	}
	return p.region(int(id - 1)), nil
}

func (p synthTikvgoPD) ScanRegions(_ context.Context, start, end []byte, limit int, _ ...pdclient.RegionOption) ([]*pdclient.Region, error) {
	var out []*pdclient.Region
	for i := p.s.index(start); i < p.s.n && len(out) < limit; i++ {
		if len(end) > 0 && i > 0 && bytes.Compare(p.s.startKey(i), end) >= 0 {
			break
		}
		out = append(out, p.region(i))
	}
	return out, nil
}

func (p synthTikvgoPD) GetStore(_ context.Context, id uint64) (*metapb.Store, error) {
	return p.s.store(id), nil
}

func (p synthTikvgoPD) GetAllStores(context.Context, ...pdclient.StoreOption) ([]*metapb.Store, error) {
	return p.s.stores(), nil
}

// synthClientGoPD serves synthRegions to client-go's RegionCache. It implements
// the region and store calls the cache makes; the embedded (nil) interface
// only completes the method set, and any other call panics, which would show
// the benchmark exercising more than lookups.
type synthClientGoPD struct {
	pd.Client
	s synthRegions
}

func (p synthClientGoPD) region(i int) *pd.Region {
	m := p.s.meta(i)
	return &pd.Region{Meta: m, Leader: m.Peers[0]}
}

func (p synthClientGoPD) GetClusterID(context.Context) uint64 { return 1 }

func (p synthClientGoPD) GetRegion(_ context.Context, key []byte, _ ...pd.GetRegionOption) (*pd.Region, error) {
	return p.region(p.s.index(key)), nil
}

func (p synthClientGoPD) GetPrevRegion(_ context.Context, key []byte, _ ...pd.GetRegionOption) (*pd.Region, error) {
	i := p.s.index(key)
	if i == 0 {
		return nil, nil
	}
	return p.region(i - 1), nil
}

func (p synthClientGoPD) GetRegionByID(_ context.Context, id uint64, _ ...pd.GetRegionOption) (*pd.Region, error) {
	if id == 0 || id > uint64(p.s.n) {
		return nil, nil
	}
	return p.region(int(id - 1)), nil
}

func (p synthClientGoPD) ScanRegions(_ context.Context, start, end []byte, limit int) ([]*pd.Region, error) {
	var out []*pd.Region
	for i := p.s.index(start); i < p.s.n && len(out) < limit; i++ {
		if len(end) > 0 && i > 0 && bytes.Compare(p.s.startKey(i), end) >= 0 {
			break
		}
		out = append(out, p.region(i))
	}
	return out, nil
}

func (p synthClientGoPD) GetStore(_ context.Context, id uint64) (*metapb.Store, error) {
	return p.s.store(id), nil
}

func (p synthClientGoPD) GetAllStores(context.Context, ...pd.GetStoreOption) ([]*metapb.Store, error) {
	return p.s.stores(), nil
}

func (p synthClientGoPD) Close() {}

// locateLoadBatch is how many regions one PD call returns while a cache is
// warmed; both caches load through their batched path with the same size.
const locateLoadBatch = 512

// heapAlloc returns the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// locateFunc locates one key and returns its region id.
type locateFunc func(key []byte) (uint64, error)

// regionCacheImpl is one cache under comparison.
type regionCacheImpl struct {
	name string
	// load builds a cache over s, caches every region and returns a lookup
	// function and a closer.
	load func(tb testing.TB, s synthRegions) (locateFunc, func())
}

var regionCacheImpls = []regionCacheImpl{
	{"tikvgo", loadTikvgoCache},
	{"client-go", loadClientGoCache},
}

// loadTikvgoCache warms a locate.Cache by locating the first key of every
// batch: each miss scans locateLoadBatch regions ahead.
func loadTikvgoCache(tb testing.TB, s synthRegions) (locateFunc, func()) {
	c, err := locate.New(synthTikvgoPD{s: s}, locate.WithScanAhead(locateLoadBatch))
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	var key []byte
	for {
		loc, err := c.LocateKey(ctx, key)
		if err != nil {
			tb.Fatal(err)
		}
		if len(loc.EndKey) == 0 {
			break
		}
		key = loc.EndKey
	}
	if c.Len() != s.n {
		tb.Fatalf("tikvgo cached %d regions, want %d", c.Len(), s.n)
	}
	return func(key []byte) (uint64, error) {
		loc, err := c.LocateKey(ctx, key)
		return loc.Region.ID, err
	}, func() {}
}

// loadClientGoCache warms client-go's RegionCache through its bulk-load path
// (BatchLoadRegionsFromKey), locateLoadBatch regions per PD call.
func loadClientGoCache(tb testing.TB, s synthRegions) (locateFunc, func()) {
	c := tikv.NewRegionCache(synthClientGoPD{s: s})
	bo := tikv.NewBackofferWithVars(context.Background(), 1000, nil)
	var key []byte
	loaded := 0
	for {
		end, err := c.BatchLoadRegionsFromKey(bo, key, locateLoadBatch)
		if err != nil {
			c.Close()
			tb.Fatal(err)
		}
		loaded += min(locateLoadBatch, s.n-loaded)
		if len(end) == 0 {
			break
		}
		key = end
	}
	if loaded != s.n {
		c.Close()
		tb.Fatalf("client-go loaded %d regions, want %d", loaded, s.n)
	}
	return func(key []byte) (uint64, error) {
		loc, err := c.LocateKey(bo, key)
		if err != nil {
			return 0, err
		}
		return loc.Region.GetID(), nil
	}, c.Close
}

// probes returns count keys, each inside a random region, and the index of
// that region.
func probes(s synthRegions, count int, seed uint64) ([][]byte, []int) {
	rng := rand.New(rand.NewPCG(seed, uint64(s.n)))
	keys := make([][]byte, count)
	idx := make([]int, count)
	for i := range keys {
		idx[i] = rng.IntN(s.n)
		keys[i] = s.probeKey(idx[i])
	}
	return keys, idx
}

// checkProbes fails unless find maps every probe to its region.
func checkProbes(tb testing.TB, name string, find locateFunc, keys [][]byte, idx []int) {
	tb.Helper()
	for i, k := range keys {
		id, err := find(k)
		if err != nil {
			tb.Fatalf("%s: locate %x: %v", name, k, err)
		}
		if want := uint64(idx[i] + 1); id != want {
			tb.Fatalf("%s: locate %x = region %d, want %d", name, k, id, want)
		}
	}
}

// TestLocatePeerCachesAgree checks the benchmark's premise: both caches,
// loaded from the same synthetic PD, place every probe key (and every region
// boundary) in the same, expected region.
func TestLocatePeerCachesAgree(t *testing.T) {
	s := synthRegions{n: 5000} // crosses a table boundary every 4096 regions
	keys, idx := probes(s, 2000, 7)
	for i := range s.n {
		keys = append(keys, s.startKey(i))
		idx = append(idx, i)
	}
	for _, impl := range regionCacheImpls {
		t.Run(impl.name, func(t *testing.T) {
			find, closeFn := impl.load(t, s)
			defer closeFn()
			checkProbes(t, impl.name, find, keys, idx)
		})
	}
}

// BenchmarkLocateKeyPeer measures a cache hit in tikvgo's locate.Cache and
// client-go's RegionCache holding the same 1k, 100k and 1M regions, and
// reports the live heap each cached region costs (B/region).
func BenchmarkLocateKeyPeer(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		for _, impl := range regionCacheImpls {
			b.Run(fmt.Sprintf("regions=%d/%s", n, impl.name), func(b *testing.B) {
				if n >= 1_000_000 && testing.Short() {
					b.Skip("1M regions need a few GiB; skipped under -short")
				}
				s := synthRegions{n: n}
				keys, idx := probes(s, 4096, 1)
				before := heapAlloc()
				find, closeFn := impl.load(b, s)
				defer closeFn()
				perRegion := float64(heapAlloc()-before) / float64(n)
				checkProbes(b, impl.name, find, keys, idx)
				b.ReportAllocs()
				b.ResetTimer()
				i := 0
				for b.Loop() {
					if _, err := find(keys[i&4095]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(perRegion, "B/region")
			})
		}
	}
}

// BenchmarkLocateKeyPeerParallel is BenchmarkLocateKeyPeer at 100k regions
// with GOMAXPROCS concurrent readers.
func BenchmarkLocateKeyPeerParallel(b *testing.B) {
	const n = 100_000
	for _, impl := range regionCacheImpls {
		b.Run(fmt.Sprintf("regions=%d/%s", n, impl.name), func(b *testing.B) {
			s := synthRegions{n: n}
			keys, _ := probes(s, 4096, 2)
			find, closeFn := impl.load(b, s)
			defer closeFn()
			var seq atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := seq.Add(1) * 997
				for pb.Next() {
					if _, err := find(keys[i&4095]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
