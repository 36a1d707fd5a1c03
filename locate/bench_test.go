package locate_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
)

// synthPD serves n regions split at keys "t%08d"-style boundaries, built on
// demand so that it holds no memory of its own while the cache is measured.
type synthPD struct{ n int }

func synthKey(i int) []byte { return fmt.Appendf(nil, "t_%010d_r", i) }

func (pd synthPD) region(i int) *pdclient.Region {
	var start, end []byte
	if i > 0 {
		start = synthKey(i)
	}
	if i < pd.n-1 {
		end = synthKey(i + 1)
	}
	id := uint64(i + 1)
	peers := []*metapb.Peer{{Id: id*10 + 1, StoreId: 1}, {Id: id*10 + 2, StoreId: 2}, {Id: id*10 + 3, StoreId: 3}}
	return &pdclient.Region{
		Meta:   &metapb.Region{Id: id, StartKey: start, EndKey: end, RegionEpoch: &metapb.RegionEpoch{ConfVer: 5, Version: 10}, Peers: peers},
		Leader: peers[0],
	}
}

func (pd synthPD) index(key []byte) int {
	return sort.Search(pd.n-1, func(i int) bool { return bytes.Compare(key, synthKey(i+1)) < 0 })
}

func (pd synthPD) GetRegion(_ context.Context, key []byte, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	return pd.region(pd.index(key)), nil
}

func (pd synthPD) GetPrevRegion(_ context.Context, key []byte, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	i := pd.index(key)
	if i == 0 {
		return nil, nil
	}
	return pd.region(i - 1), nil
}

func (pd synthPD) GetRegionByID(_ context.Context, id uint64, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	if id == 0 || id > uint64(pd.n) {
		return nil, nil
	}
	return pd.region(int(id - 1)), nil
}

func (pd synthPD) ScanRegions(_ context.Context, start, _ []byte, limit int, _ ...pdclient.RegionOption) ([]*pdclient.Region, error) {
	var out []*pdclient.Region
	for i := pd.index(start); i < pd.n && len(out) < limit; i++ {
		out = append(out, pd.region(i))
	}
	return out, nil
}

func (synthPD) GetStore(_ context.Context, id uint64) (*metapb.Store, error) {
	return &metapb.Store{Id: id, Address: fmt.Sprint("store", id)}, nil
}

func (synthPD) GetAllStores(context.Context, ...pdclient.StoreOption) ([]*metapb.Store, error) {
	return nil, nil
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// loadAll walks the whole key space so every region is cached, and returns
// the heap growth per cached region.
func loadAll(b *testing.B, n int) (*locate.Cache, float64) {
	before := heapInUse()
	c, err := locate.New(synthPD{n: n}, locate.WithScanAhead(512))
	if err != nil {
		b.Fatal(err)
	}
	var key []byte
	for {
		loc, err := c.LocateKey(context.Background(), key)
		if err != nil {
			b.Fatal(err)
		}
		if len(loc.EndKey) == 0 {
			break
		}
		key = loc.EndKey
	}
	if c.Len() != n {
		b.Fatalf("cached %d regions, want %d", c.Len(), n)
	}
	after := heapInUse()
	return c, float64(after-before) / float64(n)
}

// BenchmarkLocateKey measures a cache hit at several cache sizes and reports
// the heap bytes each cached region costs (B/region).
func BenchmarkLocateKey(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("regions=%d", n), func(b *testing.B) {
			c, perRegion := loadAll(b, n)
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			keys := make([][]byte, 4096)
			for i := range keys {
				keys[i] = append(synthKey(rng.IntN(n)), 'x')
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if _, err := c.LocateKey(ctx, keys[i&4095]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(perRegion, "B/region")
			runtime.KeepAlive(c)
		})
	}
}

// BenchmarkLocateKeyParallel is BenchmarkLocateKey under concurrent readers.
func BenchmarkLocateKeyParallel(b *testing.B) {
	const n = 100_000
	c, _ := loadAll(b, n)
	rng := rand.New(rand.NewPCG(2, 3))
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = append(synthKey(rng.IntN(n)), 'x')
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) * 997
		for pb.Next() {
			if _, err := c.LocateKey(context.Background(), keys[i&4095]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
