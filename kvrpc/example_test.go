package kvrpc_test

import (
	"context"
	"fmt"
	"net"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"

	"github.com/tikvgo/tikvgo/kvrpc"
)

// exampleStore starts the echoing fake store outside a test.
func exampleStore() (addr string, stop func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer()
	tikvpb.RegisterTikvServer(srv, &fakeStore{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	return lis.Addr().String(), func() { srv.Stop(); <-done }
}

func Example() {
	addr, stop := exampleStore()
	defer stop()

	// Count requests by command with an interceptor.
	counts := map[kvrpc.CmdType]int{}
	count := func(ctx context.Context, target string, req *kvrpc.Request, next kvrpc.Invoker) (*kvrpc.Response, error) {
		counts[req.Type()]++
		return next(ctx, target, req)
	}
	c, err := kvrpc.New(kvrpc.WithConnectionCount(2), kvrpc.WithInterceptors(count))
	if err != nil {
		panic(err)
	}
	defer c.Close()

	resp, err := c.Send(context.Background(), addr, kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte("hello")}))
	if err != nil {
		panic(err)
	}
	fmt.Printf("value %s, batched %v, region error %v\n",
		resp.Message().(*kvrpcpb.RawGetResponse).Value, resp.Batched, resp.RegionError())
	fmt.Println(counts)
	// Output:
	// value hello, batched true, region error <nil>
	// map[RawGet:1]
}
