package tikvsim_test

import (
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// BenchmarkHandlers measures request handling over loopback gRPC, so client
// benchmarks can tell whether the simulator is their bottleneck.
func BenchmarkHandlers(b *testing.B) {
	c := start(b, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(b, c)[ri.Leader]
	ctx := tctx(b)
	rc := rctx(ri, 0)
	if _, err := kv.RawPut(ctx, &kvrpcpb.RawPutRequest{Context: rc, Key: []byte("k"), Value: []byte("v")}); err != nil {
		b.Fatal(err)
	}
	readTS := c.CurrentTS()

	b.Run("RawGet/unary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kv.RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rc, Key: []byte("k")}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("KvGet/unary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kv.KvGet(ctx, &kvrpcpb.GetRequest{Context: rc, Key: []byte("k"), Version: readTS}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, batch := range []int{1, 16, 128} {
		b.Run("RawGet/batch-"+itoa(batch), func(b *testing.B) {
			stream, err := kv.BatchCommands(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = stream.CloseSend() }()
			req := &tikvpb.BatchCommandsRequest{}
			for i := range batch {
				req.Requests = append(req.Requests, &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawGet{
					RawGet: &kvrpcpb.RawGetRequest{Context: rc, Key: []byte("k")},
				}})
				req.RequestIds = append(req.RequestIds, uint64(i))
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := stream.Send(req); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < batch; {
					msg, err := stream.Recv()
					if err != nil {
						b.Fatal(err)
					}
					got += len(msg.GetResponses())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/subreq")
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf []byte
	for ; n > 0; n /= 10 {
		buf = append([]byte{byte('0' + n%10)}, buf...)
	}
	return string(buf)
}

// BenchmarkTSO measures one TSO round trip on a stream.
func BenchmarkTSO(b *testing.B) {
	c := start(b, tikvsim.Options{})
	stream, err := pdClient(b, c, 0).Tso(tctx(b))
	if err != nil {
		b.Fatal(err)
	}
	req := &pdpb.TsoRequest{Header: hdr(c), Count: 10}
	b.ReportAllocs()
	for b.Loop() {
		if err := stream.Send(req); err != nil {
			b.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			b.Fatal(err)
		}
	}
}
