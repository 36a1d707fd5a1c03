package kvrpc

import (
	"bytes"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc/mem"
)

func TestEncodeBatchRoundTrip(t *testing.T) {
	t.Parallel()
	all := []*Request{
		NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte("a"), Context: &kvrpcpb.Context{RegionId: 7}}),
		NewRawScan(&kvrpcpb.RawScanRequest{StartKey: []byte("s"), Limit: 100, KeyOnly: true}),
		NewRawBatchGet(&kvrpcpb.RawBatchGetRequest{Keys: [][]byte{[]byte("a"), bytes.Repeat([]byte("b"), 200)}}),
		NewGet(&kvrpcpb.GetRequest{Key: bytes.Repeat([]byte("k"), 300), Version: 1 << 40}),
		NewPrewrite(&kvrpcpb.PrewriteRequest{StartVersion: 9, Mutations: []*kvrpcpb.Mutation{{Key: []byte("x"), Value: []byte("y")}}}),
		NewRawPut(&kvrpcpb.RawPutRequest{Key: []byte("p"), Value: bytes.Repeat([]byte("v"), 5000)}),
	}
	allIDs := []uint64{1, 1 << 20, 7, 8, 1<<63 + 5, 1<<64 - 1}
	for _, tc := range []struct {
		name string
		reqs []int
	}{
		{"one small frame", []int{0}},
		{"one large frame", []int{5}},
		{"small message", []int{0, 1, 4}},
		{"large message", []int{0, 1, 2, 3, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var es []*entry
			var reqs []*Request
			var ids []uint64
			for _, i := range tc.reqs {
				r := all[i]
				f, err := encodeFrame(r)
				if err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, r)
				ids = append(ids, allIDs[i])
				es = append(es, &entry{cmd: r.Type(), frame: f})
			}
			m := encodeBatch(es, ids, 123456789)
			// Every message buffer is one gRPC pools again once written.
			if c := cap(*m.buf); mem.IsBelowBufferPoolingThreshold(c) {
				t.Fatalf("message buffer of capacity %d is below gRPC's pooling threshold", c)
			}
			var got tikvpb.BatchCommandsRequest
			if err := got.Unmarshal(*m.buf); err != nil {
				t.Fatal(err)
			}
			want := tikvpb.BatchCommandsRequest{RequestIds: ids, ClientSendTimeNs: 123456789}
			for _, r := range reqs {
				want.Requests = append(want.Requests, r.cmd.toBatch(r.msg))
			}
			if got.String() != want.String() {
				t.Fatalf("decoded %v\nwant    %v", got.String(), want.String())
			}
		})
	}
}
