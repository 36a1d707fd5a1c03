package locate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// BenchmarkGroupByRegion groups keys spread over 1000 cached regions into
// batches of at most 64 keys, sorted and shuffled, per batch size.
func BenchmarkGroupByRegion(b *testing.B) {
	const regions = 1000
	cache, err := locate.New(synthPD{n: regions}, locate.WithScanAhead(regions))
	if err != nil {
		b.Fatal(err)
	}
	router := locate.NewRouter(locate.NewSender(cache, okRPC{}), nil)
	if err := warmAll(b.Context(), cache); err != nil {
		b.Fatal(err)
	}
	key := func(k []byte) ([]byte, int) { return k, len(k) }
	for _, n := range []int{16, 1024, 16384} {
		keys := make([][]byte, n)
		for i := range keys {
			keys[i] = fmt.Appendf(synthKey(i*regions/n), "%04d", i)
		}
		shuffled := append([][]byte(nil), keys...)
		rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for _, in := range []struct {
			name string
			keys [][]byte
		}{{"sorted", keys}, {"shuffled", shuffled}} {
			b.Run(fmt.Sprintf("keys=%d/%s", n, in.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := locate.GroupByRegion(b.Context(), router, in.keys, key, locate.WithBatchLimit(64, 0)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSendKey measures the routing overhead of one point request on a
// warm cache (the fake RPC client answers at once).
func BenchmarkSendKey(b *testing.B) {
	cache := newCache(b, newFakePD("m"))
	router := locate.NewRouter(locate.NewSender(cache, okRPC{}), nil)
	req := batchGet(nil)
	key := []byte("a")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := router.SendKey(b.Context(), retry.New(0), key, req); err != nil {
			b.Fatal(err)
		}
	}
}

// okRPC answers every request at once with an empty response.
type okRPC struct{}

var okResponse = kvrpc.NewResponse(&kvrpcpb.RawBatchGetResponse{})

func (okRPC) Send(context.Context, string, *kvrpc.Request) (*kvrpc.Response, error) {
	return okResponse, nil
}
