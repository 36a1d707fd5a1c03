package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"testing"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// ErrPDHeader is returned when PD answers with an error in its response
// header.
var ErrPDHeader = errors.New("peer: PD returned an error header")

// SimTarget reaches a TiKV-compatible cluster (tikvsim, or anything that
// serves pdpb.PD and tikvpb.Tikv) over gRPC. It asks PD for the region and
// leader of every request's routing key and for store addresses, exactly as
// a client would, and keeps no region cache: every Send sees PD's current
// view.
type SimTarget struct {
	pdConn    *grpc.ClientConn
	pd        pdpb.PDClient
	clusterID uint64

	mu     sync.Mutex
	stores map[uint64]tikvpb.TikvClient // by store id
	conns  []*grpc.ClientConn
}

// NewSimTarget dials the first PD address, learns the cluster id from
// GetMembers and returns a target that routes through that PD.
func NewSimTarget(ctx context.Context, pdAddrs []string) (*SimTarget, error) {
	if len(pdAddrs) == 0 {
		return nil, fmt.Errorf("peer: NewSimTarget: %w", ErrNoRegion)
	}
	conn, err := grpc.NewClient(pdAddrs[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	client := pdpb.NewPDClient(conn)
	members, err := client.GetMembers(ctx, &pdpb.GetMembersRequest{Header: &pdpb.RequestHeader{}})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("peer: PD GetMembers: %w", err)
	}
	if e := members.GetHeader().GetError(); e != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: GetMembers: %s", ErrPDHeader, e.String())
	}
	return &SimTarget{
		pdConn:    conn,
		pd:        client,
		clusterID: members.GetHeader().GetClusterId(),
		stores:    make(map[uint64]tikvpb.TikvClient),
	}, nil
}

// Name implements Target.
func (s *SimTarget) Name() string { return "tikvsim" }

// ClusterID returns the cluster id PD reported.
func (s *SimTarget) ClusterID() uint64 { return s.clusterID }

func (s *SimTarget) header() *pdpb.RequestHeader {
	return &pdpb.RequestHeader{ClusterId: s.clusterID}
}

// Locate asks PD for the region holding key (interpreted per mode) and its
// leader.
func (s *SimTarget) Locate(ctx context.Context, key []byte, mode KeyMode) (*metapb.Region, *metapb.Peer, error) {
	lookup := key
	if mode == TxnKey {
		lookup = EncodeKey(key)
	}
	resp, err := s.pd.GetRegion(ctx, &pdpb.GetRegionRequest{Header: s.header(), RegionKey: lookup})
	if err != nil {
		return nil, nil, &RouteError{Target: s.Name(), Key: key, Err: err}
	}
	if e := resp.GetHeader().GetError(); e != nil {
		return nil, nil, &RouteError{Target: s.Name(), Key: key, Err: fmt.Errorf("%w: GetRegion: %s", ErrPDHeader, e.String())}
	}
	if resp.GetRegion() == nil || resp.GetLeader() == nil {
		return nil, nil, &RouteError{Target: s.Name(), Key: key, Err: ErrNoRegion}
	}
	return resp.GetRegion(), resp.GetLeader(), nil
}

func (s *SimTarget) store(ctx context.Context, storeID uint64) (tikvpb.TikvClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.stores[storeID]; ok {
		return c, nil
	}
	resp, err := s.pd.GetStore(ctx, &pdpb.GetStoreRequest{Header: s.header(), StoreId: storeID})
	if err != nil {
		return nil, err
	}
	if e := resp.GetHeader().GetError(); e != nil {
		return nil, fmt.Errorf("%w: GetStore %d: %s", ErrPDHeader, storeID, e.String())
	}
	conn, err := grpc.NewClient(resp.GetStore().GetAddress(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	c := tikvpb.NewTikvClient(conn)
	s.conns = append(s.conns, conn)
	s.stores[storeID] = c
	return c, nil
}

// Send implements Target.
func (s *SimTarget) Send(ctx context.Context, req *Request, key []byte, mode KeyMode) (*Response, error) {
	region, leader, err := s.Locate(ctx, key, mode)
	if err != nil {
		return nil, err
	}
	client, err := s.store(ctx, leader.GetStoreId())
	if err != nil {
		return nil, &RouteError{Target: s.Name(), Key: key, Err: err}
	}
	if err := SetContext(req, region, leader); err != nil {
		return nil, err
	}
	return CallRPC(ctx, client, req)
}

// Close implements Target.
func (s *SimTarget) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := []error{s.pdConn.Close()}
	for _, c := range s.conns {
		errs = append(errs, c.Close())
	}
	s.conns = nil
	s.stores = map[uint64]tikvpb.TikvClient{}
	return errors.Join(errs...)
}

// startSim starts a tikvsim cluster with opts, closed by tb.Cleanup.
func startSim(tb testing.TB, opts tikvsim.Options) *tikvsim.Cluster {
	tb.Helper()
	c, err := tikvsim.Start(context.Background(), opts)
	if err != nil {
		tb.Fatalf("tikvsim.Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("tikvsim close: %v", err)
		}
	})
	return c
}
