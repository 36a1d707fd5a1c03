package twopc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/pingcap/kvproto/pkg/metapb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// staticPD serves a fixed region layout and answers nothing else; grouping
// only reads regions, so no store is ever dialled.
type staticPD struct{ regions []*pdclient.Region }

var errStaticPD = errors.New("static pd: not served")

// newStaticPD splits the transactional key space at the given user keys,
// encoded as a V1 transactional client puts them on the wire.
func newStaticPD(splits ...string) *staticPD {
	bounds := [][]byte{nil}
	for _, s := range splits {
		bounds = append(bounds, keycodec.EncodeBytes([]byte(s)))
	}
	pd := &staticPD{}
	for i, start := range bounds {
		var end []byte
		if i+1 < len(bounds) {
			end = bounds[i+1]
		}
		id := uint64(i + 1)
		leader := &metapb.Peer{Id: id * 10, StoreId: 1}
		pd.regions = append(pd.regions, &pdclient.Region{
			Meta: &metapb.Region{Id: id, StartKey: start, EndKey: end,
				RegionEpoch: &metapb.RegionEpoch{ConfVer: 1, Version: 1}, Peers: []*metapb.Peer{leader}},
			Leader: leader,
		})
	}
	return pd
}

func (pd *staticPD) GetRegion(_ context.Context, key []byte, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	for _, r := range pd.regions {
		if bytes.Compare(key, r.Meta.StartKey) >= 0 && (len(r.Meta.EndKey) == 0 || bytes.Compare(key, r.Meta.EndKey) < 0) {
			return r, nil
		}
	}
	return nil, errStaticPD
}

func (pd *staticPD) GetPrevRegion(context.Context, []byte, ...pdclient.RegionOption) (*pdclient.Region, error) {
	return nil, errStaticPD
}

func (pd *staticPD) GetRegionByID(_ context.Context, id uint64, _ ...pdclient.RegionOption) (*pdclient.Region, error) {
	for _, r := range pd.regions {
		if r.Meta.Id == id {
			return r, nil
		}
	}
	return nil, errStaticPD
}

func (pd *staticPD) ScanRegions(_ context.Context, start, end []byte, limit int, _ ...pdclient.RegionOption) ([]*pdclient.Region, error) {
	var out []*pdclient.Region
	for _, r := range pd.regions {
		if len(out) == limit {
			break
		}
		if (len(r.Meta.EndKey) == 0 || bytes.Compare(start, r.Meta.EndKey) < 0) && (len(end) == 0 || bytes.Compare(r.Meta.StartKey, end) < 0) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (pd *staticPD) GetStore(_ context.Context, id uint64) (*metapb.Store, error) {
	return &metapb.Store{Id: id, Address: "store1"}, nil
}

func (pd *staticPD) GetAllStores(context.Context, ...pdclient.StoreOption) ([]*metapb.Store, error) {
	return []*metapb.Store{{Id: 1, Address: "store1"}}, nil
}

// noRPC fails every send; the grouping benchmark never sends.
type noRPC struct{}

func (noRPC) Send(context.Context, string, *kvrpc.Request) (*kvrpc.Response, error) {
	return nil, errStaticPD
}

// noTS is a timestamp source the grouping benchmark never asks.
type noTS struct{}

func (noTS) GetTS(context.Context) (tso.Timestamp, error) { return 0, errStaticPD }

// BenchmarkGroupMutations measures sorting and grouping n keys over four
// cached regions, the committer's per-commit routing cost. The regions come
// from an in-process static PD: grouping reads only the region cache.
//
//	go test -run '^$' -bench BenchmarkGroupMutations ./twopc/
func BenchmarkGroupMutations(b *testing.B) {
	cache, err := locate.New(newStaticPD("a010", "a020", "a030"))
	if err != nil {
		b.Fatal(err)
	}
	cli, err := twopc.New(locate.NewSender(cache, noRPC{}), noTS{})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	for _, n := range []int{16, 256, 4096} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			keys := make([][]byte, n)
			for i := range keys {
				keys[i] = fmt.Appendf(nil, "a%03d-%04d", (i*7)%40, i)
			}
			size := func(i int) int { return len(keys[i]) + 16 }
			groups, err := cli.GroupKeys(b.Context(), keys, size) // warms the cache
			if err != nil {
				b.Fatal(err)
			}
			if groups < 4 {
				b.Fatalf("%d keys grouped into %d batches, want at least one per region", n, groups)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cli.GroupKeys(b.Context(), keys, size); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
