package pdclient_test

import (
	"bytes"
	"context"
	"fmt"
	"net"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"

	"github.com/tikvgo/tikvgo/pdclient"
)

func ExampleClient_GetRegion() {
	ctx := context.Background()
	// An in-process PD with two regions split at "m"; the integration module
	// runs the same against a simulated cluster, with encoded keys.
	pd, stop := startExamplePD([]byte("m"))
	defer stop()

	cli, err := pdclient.New(ctx, []string{pd})
	if err != nil {
		panic(err)
	}
	defer cli.Close()

	// Region keys are what PD stores; with TiKV they are encoded by the
	// caller (memcomparable for TxnKV).
	r, err := cli.GetRegion(ctx, []byte("x"))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(r.Meta.StartKey), len(r.Meta.EndKey) == 0, r.Leader.StoreId)
	regions, _ := cli.ScanRegions(ctx, nil, nil, 0)
	fmt.Println(len(regions))
	// Output:
	// m true 2
	// 2
}

// examplePD answers GetMembers, GetRegion and ScanRegions for fixed regions.
type examplePD struct {
	pdpb.UnimplementedPDServer
	addr    string
	regions []*pdpb.Region
}

func startExamplePD(split []byte) (addr string, stop func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	pd := &examplePD{addr: lis.Addr().String()}
	for i, bounds := range [][2][]byte{{nil, split}, {split, nil}} {
		id := uint64(i + 1)
		peer := &metapb.Peer{Id: 10 + id, StoreId: id}
		pd.regions = append(pd.regions, &pdpb.Region{
			Region: &metapb.Region{Id: id, StartKey: bounds[0], EndKey: bounds[1], Peers: []*metapb.Peer{peer},
				RegionEpoch: &metapb.RegionEpoch{Version: 1, ConfVer: 1}},
			Leader: peer,
		})
	}
	srv := grpc.NewServer()
	pdpb.RegisterPDServer(srv, pd)
	go func() { _ = srv.Serve(lis) }()
	return pd.addr, srv.Stop
}

func (p *examplePD) header() *pdpb.ResponseHeader { return &pdpb.ResponseHeader{ClusterId: 1} }

func (p *examplePD) GetMembers(context.Context, *pdpb.GetMembersRequest) (*pdpb.GetMembersResponse, error) {
	me := &pdpb.Member{Name: "pd", MemberId: 1, ClientUrls: []string{"http://" + p.addr}}
	return &pdpb.GetMembersResponse{Header: p.header(), Members: []*pdpb.Member{me}, Leader: me}, nil
}

func (p *examplePD) GetRegion(_ context.Context, req *pdpb.GetRegionRequest) (*pdpb.GetRegionResponse, error) {
	for _, r := range p.regions {
		m := r.Region
		if bytes.Compare(m.StartKey, req.RegionKey) <= 0 && (len(m.EndKey) == 0 || bytes.Compare(req.RegionKey, m.EndKey) < 0) {
			return &pdpb.GetRegionResponse{Header: p.header(), Region: m, Leader: r.Leader}, nil
		}
	}
	return &pdpb.GetRegionResponse{Header: p.header()}, nil
}

func (p *examplePD) ScanRegions(context.Context, *pdpb.ScanRegionsRequest) (*pdpb.ScanRegionsResponse, error) {
	// Every region overlaps the example's whole-keyspace scan.
	return &pdpb.ScanRegionsResponse{Header: p.header(), Regions: p.regions}, nil
}
