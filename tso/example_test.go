package tso_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"

	"github.com/tikvgo/tikvgo/tso"
)

func ExampleCompose() {
	ts := tso.Compose(1_700_000_000_000, 42)
	fmt.Println(ts.Physical(), ts.Logical())
	fmt.Println(ts.Time().UTC().Format(time.RFC3339))
	fmt.Println(tso.FromTime(ts.Time()) < ts)
	// Output:
	// 1700000000000 42
	// 2023-11-14T22:13:20Z
	// true
}

func ExampleClient_GetTS() {
	ctx := context.Background()
	// A one-member PD that answers GetMembers and Tso, in process; the
	// integration module runs the same against a simulated cluster.
	pd, stop := startExamplePD()
	defer stop()

	c, err := tso.New(ctx, []string{pd})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	a, _ := c.GetTS(ctx)
	f := c.GetTSAsync(ctx)
	b, _ := f.Wait(ctx)
	fmt.Println(b > a)
	// Output: true
}

// examplePD is the smallest PD the TSO client works with.
type examplePD struct {
	pdpb.UnimplementedPDServer
	addr string

	mu       sync.Mutex
	physical int64
	logical  int64
}

func startExamplePD() (addr string, stop func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	pd := &examplePD{addr: lis.Addr().String(), physical: time.Now().UnixMilli()}
	srv := grpc.NewServer()
	pdpb.RegisterPDServer(srv, pd)
	go func() { _ = srv.Serve(lis) }()
	return pd.addr, srv.Stop
}

func (p *examplePD) GetMembers(context.Context, *pdpb.GetMembersRequest) (*pdpb.GetMembersResponse, error) {
	me := &pdpb.Member{Name: "pd", MemberId: 1, ClientUrls: []string{"http://" + p.addr}}
	return &pdpb.GetMembersResponse{Header: &pdpb.ResponseHeader{ClusterId: 1}, Members: []*pdpb.Member{me}, Leader: me}, nil
}

func (p *examplePD) Tso(stream pdpb.PD_TsoServer) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.logical += int64(req.Count) // the last of the batch, as PD answers
		ts := &pdpb.Timestamp{Physical: p.physical, Logical: p.logical}
		p.mu.Unlock()
		resp := &pdpb.TsoResponse{Header: &pdpb.ResponseHeader{ClusterId: 1}, Count: req.Count, Timestamp: ts}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}
