package tikvsim_test

import (
	"slices"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/tikvsim"
)

func rawGetCmd(ri tikvsim.RegionInfo, key string) *tikvpb.BatchCommandsRequest_Request {
	return &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawGet{
		RawGet: &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte(key)},
	}}
}

func TestBatchCommandsOutOfOrder(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(t, c)
	rawPut(t, c, kv, "a", "A")
	hold := make(chan struct{})
	c.InjectFault(tikvsim.Fault{Command: "RawGet", Key: []byte("slow"), Count: 1, Hold: hold})

	stream, err := kv[ri.Leader].BatchCommands(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	put := &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawPut{
		RawPut: &kvrpcpb.RawPutRequest{Context: rctx(ri, 0), Key: []byte("b"), Value: []byte("B")},
	}}
	gc := &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_GC{GC: &kvrpcpb.GCRequest{Context: rctx(ri, 0)}}}
	if err := stream.Send(&tikvpb.BatchCommandsRequest{
		Requests:   []*tikvpb.BatchCommandsRequest_Request{rawGetCmd(ri, "slow"), gc, rawGetCmd(ri, "a"), put},
		RequestIds: []uint64{1, 2, 3, 4},
	}); err != nil {
		t.Fatal(err)
	}
	got := map[uint64]*tikvpb.BatchCommandsResponse_Response{}
	var order []uint64
	for first := true; len(got) < 2; first = false {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if first && msg.GetHealthFeedback().GetStoreId() != ri.Leader {
			t.Fatalf("first message carries no health feedback: %v", msg.GetHealthFeedback())
		}
		if len(msg.GetResponses()) != len(msg.GetRequestIds()) {
			t.Fatalf("responses %d != ids %d", len(msg.GetResponses()), len(msg.GetRequestIds()))
		}
		for i, id := range msg.GetRequestIds() {
			got[id] = msg.GetResponses()[i]
			order = append(order, id)
		}
	}
	slices.Sort(order)
	if !slices.Equal(order, []uint64{3, 4}) {
		t.Fatalf("first answers %v, want ids 3 and 4 while 1 is held and 2 (GC) is never answered", order)
	}
	if v := got[3].GetRawGet().GetValue(); string(v) != "A" {
		t.Fatalf("RawGet(a) = %q", v)
	}
	// Release the held request: it arrives in a later message.
	close(hold)
	msg, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(msg.GetRequestIds(), []uint64{1}) || !msg.GetResponses()[0].GetRawGet().GetNotFound() {
		t.Fatalf("late message %v", msg)
	}
	// A cluster id mismatch ends the whole stream.
	bad := rawGetCmd(ri, "a")
	bad.GetRawGet().Context.ClusterId = c.ClusterID() + 1
	if err := stream.Send(&tikvpb.BatchCommandsRequest{Requests: []*tikvpb.BatchCommandsRequest_Request{bad}, RequestIds: []uint64{9}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("got %v, want InvalidArgument", err)
	}
}

func TestBatchCommandsManyRequests(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(t, c)
	stream, err := kv[ri.Leader].BatchCommands(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for m := range 3 {
		req := &tikvpb.BatchCommandsRequest{}
		for i := range n / 3 {
			req.Requests = append(req.Requests, rawGetCmd(ri, "k"))
			req.RequestIds = append(req.RequestIds, uint64(m*(n/3)+i))
		}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for len(seen) < n {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %d answers: %v", len(seen), err)
		}
		if len(msg.GetResponses()) > 128 {
			t.Fatalf("%d responses in one message", len(msg.GetResponses()))
		}
		for _, id := range msg.GetRequestIds() {
			if seen[id] {
				t.Fatalf("id %d answered twice", id)
			}
			seen[id] = true
		}
	}
}
