package kvrpc

import (
	"bytes"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
)

func TestEncodeBatchRoundTrip(t *testing.T) {
	t.Parallel()
	reqs := []*Request{
		NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte("a"), Context: &kvrpcpb.Context{RegionId: 7}}),
		NewRawScan(&kvrpcpb.RawScanRequest{StartKey: []byte("s"), Limit: 100, KeyOnly: true}),
		NewRawBatchGet(&kvrpcpb.RawBatchGetRequest{Keys: [][]byte{[]byte("a"), bytes.Repeat([]byte("b"), 200)}}),
		NewGet(&kvrpcpb.GetRequest{Key: bytes.Repeat([]byte("k"), 300), Version: 1 << 40}),
		NewPrewrite(&kvrpcpb.PrewriteRequest{StartVersion: 9, Mutations: []*kvrpcpb.Mutation{{Key: []byte("x"), Value: []byte("y")}}}),
	}
	ids := []uint64{1, 1 << 20, 7, 8, 1<<63 + 5}
	var es []*entry
	for _, r := range reqs {
		f, err := encodeFrame(r)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, &entry{req: r, frame: f})
	}
	raw := encodeBatch(es, ids, 123456789)
	var got tikvpb.BatchCommandsRequest
	if err := got.Unmarshal(*raw.buf); err != nil {
		t.Fatal(err)
	}
	want := tikvpb.BatchCommandsRequest{RequestIds: ids, ClientSendTimeNs: 123456789}
	for _, r := range reqs {
		want.Requests = append(want.Requests, r.cmd.toBatch(r.msg))
	}
	if got.String() != want.String() {
		t.Fatalf("decoded %v\nwant    %v", got.String(), want.String())
	}
}
