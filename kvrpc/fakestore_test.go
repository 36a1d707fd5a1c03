package kvrpc_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/tikvgo/tikvgo/kvrpc"
)

// fakeStore is an in-test TikvServer. By default it answers every batched
// request at once, echoing the key as the value; tests replace onBatch to
// hold, reorder or fail requests.
type fakeStore struct {
	tikvpb.UnimplementedTikvServer
	addr string

	// onBatch handles one received batch on stream number n (1-based). It
	// runs on the stream's goroutine; returning an error breaks the stream.
	onBatch func(n int32, s tikvpb.Tikv_BatchCommandsServer, req *tikvpb.BatchCommandsRequest) error
	// hold, when set, keeps a unary RawGet of the key "hold" unanswered
	// until it is closed.
	hold chan struct{}

	streams   atomic.Int32
	unary     atomic.Int32
	batched   atomic.Int64
	batchMsgs atomic.Int64
}

func startStore(t testing.TB, f *fakeStore, creds credentials.TransportCredentials) *fakeStore {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := []grpc.ServerOption{grpc.ForceServerCodec(kvrpc.Codec)}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	srv := grpc.NewServer(opts...)
	tikvpb.RegisterTikvServer(srv, f)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	f.addr = lis.Addr().String()
	return f
}

// echo answers one batched request the way the fake store answers it.
func echo(r *tikvpb.BatchCommandsRequest_Request) *tikvpb.BatchCommandsResponse_Response {
	switch {
	case r.GetRawGet() != nil:
		return &tikvpb.BatchCommandsResponse_Response{Cmd: &tikvpb.BatchCommandsResponse_Response_RawGet{
			RawGet: &kvrpcpb.RawGetResponse{Value: r.GetRawGet().GetKey()}}}
	case r.GetGet() != nil:
		return &tikvpb.BatchCommandsResponse_Response{Cmd: &tikvpb.BatchCommandsResponse_Response_Get{
			Get: &kvrpcpb.GetResponse{Value: r.GetGet().GetKey()}}}
	default:
		return &tikvpb.BatchCommandsResponse_Response{Cmd: &tikvpb.BatchCommandsResponse_Response_Empty{
			Empty: &tikvpb.BatchCommandsEmptyResponse{}}}
	}
}

func echoAll(s tikvpb.Tikv_BatchCommandsServer, req *tikvpb.BatchCommandsRequest) error {
	resp := &tikvpb.BatchCommandsResponse{RequestIds: req.RequestIds}
	for _, r := range req.Requests {
		resp.Responses = append(resp.Responses, echo(r))
	}
	return s.Send(resp)
}

func (f *fakeStore) BatchCommands(s tikvpb.Tikv_BatchCommandsServer) error {
	n := f.streams.Add(1)
	for {
		req, err := s.Recv()
		if err != nil {
			return nil
		}
		f.batched.Add(int64(len(req.Requests)))
		f.batchMsgs.Add(1)
		h := f.onBatch
		if h == nil {
			h = func(_ int32, s tikvpb.Tikv_BatchCommandsServer, req *tikvpb.BatchCommandsRequest) error {
				return echoAll(s, req)
			}
		}
		if err := h(n, s, req); err != nil {
			return err
		}
	}
}

// RawGet echoes the key; see hold.
func (f *fakeStore) RawGet(_ context.Context, r *kvrpcpb.RawGetRequest) (*kvrpcpb.RawGetResponse, error) {
	f.unary.Add(1)
	if f.hold != nil && string(r.Key) == "hold" {
		// Not the call's ctx: its deadline, sent along, would end the
		// call on the server's side first.
		<-f.hold
	}
	return &kvrpcpb.RawGetResponse{Value: r.Key}, nil
}

func (f *fakeStore) RawGetKeyTTL(_ context.Context, r *kvrpcpb.RawGetKeyTTLRequest) (*kvrpcpb.RawGetKeyTTLResponse, error) {
	f.unary.Add(1)
	return &kvrpcpb.RawGetKeyTTLResponse{Ttl: uint64(len(r.Key))}, nil
}
