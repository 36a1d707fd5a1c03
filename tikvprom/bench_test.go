package tikvprom_test

import (
	"context"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/tikvprom"
)

// BenchmarkInterceptRPC measures what the interceptor adds to one RPC:
// "disabled" calls the invoker directly, as kvrpc does with no interceptor.
func BenchmarkInterceptRPC(b *testing.B) {
	m, err := tikvprom.New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	resp := kvrpc.NewResponse(&kvrpcpb.RawGetResponse{})
	next := func(context.Context, string, *kvrpc.Request) (*kvrpc.Response, error) { return resp, nil }
	req := kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte("k")})
	ctx := context.Background()
	b.Run("disabled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = next(ctx, "s", req)
		}
	})
	b.Run("enabled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = m.InterceptRPC(ctx, "s", req, next)
		}
	})
}
