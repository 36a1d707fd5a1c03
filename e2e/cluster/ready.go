package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// readyProbeKey is the raw key every store is asked for during readiness.
// Reading it changes nothing, so probing a shared cluster is harmless.
var readyProbeKey = []byte("tikvgo-e2e/ready-probe")

const (
	// readyRPCTimeout bounds one probe RPC, so one hung endpoint cannot eat
	// the whole readiness budget.
	readyRPCTimeout = 3 * time.Second
	readyPollMin    = 50 * time.Millisecond
	readyPollMax    = time.Second
)

// WaitReady polls the cluster behind pdAddrs until it is ready or ctx ends.
// Ready means: some PD answers GetMembers and names a leader; the leader's
// GetAllStores lists at least wantStores stores (at least one if wantStores
// is 0), every one of them Up; PD knows the region of a probe key and its
// leader; and every listed store answers a RawGet for that key sent with the
// region's Context (a region error such as NotLeader from a follower still
// counts as an answer, but the leader must serve the read). On failure the
// error matches [ErrNotReady] and says which check failed last.
func WaitReady(ctx context.Context, pdAddrs []string, wantStores int) error {
	addrs := cleanAddrs(pdAddrs)
	if len(addrs) == 0 {
		return fmt.Errorf("%w: no PD address", ErrNotReady)
	}
	p := &prober{conns: map[string]*grpc.ClientConn{}}
	defer p.close()
	return poll(ctx, func(ctx context.Context) error { return p.check(ctx, addrs, max(wantStores, 1)) })
}

// waitPD polls until some PD in pdAddrs answers GetMembers with a leader.
func waitPD(ctx context.Context, pdAddrs []string) error {
	p := &prober{conns: map[string]*grpc.ClientConn{}}
	defer p.close()
	return poll(ctx, func(ctx context.Context) error {
		_, _, err := p.pdLeader(ctx, pdAddrs)
		return err
	})
}

// listStores returns the stores PD knows, tombstones excluded.
func listStores(ctx context.Context, pdAddrs []string) ([]*metapb.Store, error) {
	p := &prober{conns: map[string]*grpc.ClientConn{}}
	defer p.close()
	leader, clusterID, err := p.pdLeader(ctx, pdAddrs)
	if err != nil {
		return nil, err
	}
	cc, err := p.conn(leader)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, readyRPCTimeout)
	defer cancel()
	st, err := pdpb.NewPDClient(cc).GetAllStores(rctx, &pdpb.GetAllStoresRequest{
		Header: &pdpb.RequestHeader{ClusterId: clusterID}, ExcludeTombstoneStores: true,
	})
	if err != nil {
		return nil, fmt.Errorf("PD %s GetAllStores: %w", leader, err)
	}
	if e := st.GetHeader().GetError(); e != nil {
		return nil, fmt.Errorf("PD %s GetAllStores: %s: %s", leader, e.GetType(), e.GetMessage())
	}
	return st.GetStores(), nil
}

// poll runs check until it succeeds or ctx ends, backing off between tries.
// The cluster is another process (or container): there is no event to wait
// for, so polling with a bounded interval is the only option.
func poll(ctx context.Context, check func(context.Context) error) error {
	wait := readyPollMin
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w (last check: %w)", ErrNotReady, context.Cause(ctx), err)
		case <-t.C:
		}
		wait = min(2*wait, readyPollMax)
	}
}

// prober keeps one connection per address across polls.
type prober struct {
	conns map[string]*grpc.ClientConn
}

func (p *prober) conn(addr string) (*grpc.ClientConn, error) {
	if cc, ok := p.conns[addr]; ok {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	p.conns[addr] = cc
	return cc, nil
}

func (p *prober) close() {
	for _, cc := range p.conns {
		_ = cc.Close()
	}
}

// check runs every readiness check once.
func (p *prober) check(ctx context.Context, pdAddrs []string, wantStores int) error {
	leader, clusterID, err := p.pdLeader(ctx, pdAddrs)
	if err != nil {
		return err
	}
	cc, err := p.conn(leader)
	if err != nil {
		return err
	}
	pd := pdpb.NewPDClient(cc)
	hdr := &pdpb.RequestHeader{ClusterId: clusterID}

	rctx, cancel := context.WithTimeout(ctx, readyRPCTimeout)
	defer cancel()
	st, err := pd.GetAllStores(rctx, &pdpb.GetAllStoresRequest{Header: hdr, ExcludeTombstoneStores: true})
	if err != nil {
		return fmt.Errorf("PD %s GetAllStores: %w", leader, err)
	}
	if e := st.GetHeader().GetError(); e != nil {
		return fmt.Errorf("PD %s GetAllStores: %s: %s", leader, e.GetType(), e.GetMessage())
	}
	stores := st.GetStores()
	if len(stores) < wantStores {
		return fmt.Errorf("PD lists %d stores, want %d", len(stores), wantStores)
	}
	for _, s := range stores {
		if s.GetState() != metapb.StoreState_Up {
			return fmt.Errorf("store %d (%s) is %s, not Up", s.GetId(), s.GetAddress(), s.GetState())
		}
	}

	reg, err := pd.GetRegion(rctx, &pdpb.GetRegionRequest{Header: hdr, RegionKey: readyProbeKey})
	if err != nil {
		return fmt.Errorf("PD %s GetRegion: %w", leader, err)
	}
	if e := reg.GetHeader().GetError(); e != nil {
		return fmt.Errorf("PD %s GetRegion: %s: %s", leader, e.GetType(), e.GetMessage())
	}
	if reg.GetRegion() == nil || reg.GetLeader() == nil {
		return errors.New("PD knows no region, or no region leader, for the probe key")
	}
	for _, s := range stores {
		if err := p.probeStore(ctx, s, reg.GetRegion(), reg.GetLeader()); err != nil {
			return err
		}
	}
	return nil
}

// pdLeader asks each PD in turn for the members and returns the leader's
// first client URL (as host:port) and the cluster ID.
func (p *prober) pdLeader(ctx context.Context, pdAddrs []string) (string, uint64, error) {
	var errs []error
	for _, addr := range pdAddrs {
		cc, err := p.conn(addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, readyRPCTimeout)
		resp, err := pdpb.NewPDClient(cc).GetMembers(rctx, &pdpb.GetMembersRequest{Header: &pdpb.RequestHeader{}})
		cancel()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("PD %s GetMembers: %w", addr, err))
		case resp.GetHeader().GetError() != nil:
			e := resp.GetHeader().GetError()
			errs = append(errs, fmt.Errorf("PD %s GetMembers: %s: %s", addr, e.GetType(), e.GetMessage()))
		case len(resp.GetLeader().GetClientUrls()) == 0:
			errs = append(errs, fmt.Errorf("PD %s GetMembers: no leader yet", addr))
		default:
			return hostPort(resp.GetLeader().GetClientUrls()[0]), resp.GetHeader().GetClusterId(), nil
		}
	}
	return "", 0, errors.Join(errs...)
}

// probeStore sends one RawGet to store s. The Context names the peer of the
// region on s (or the leader, if s holds no peer, which makes the store
// answer StoreNotMatch: still an answer).
func (p *prober) probeStore(ctx context.Context, s *metapb.Store, region *metapb.Region, leader *metapb.Peer) error {
	peer := leader
	for _, pr := range region.GetPeers() {
		if pr.GetStoreId() == s.GetId() {
			peer = pr
		}
	}
	cc, err := p.conn(s.GetAddress())
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, readyRPCTimeout)
	defer cancel()
	resp, err := tikvpb.NewTikvClient(cc).RawGet(rctx, &kvrpcpb.RawGetRequest{
		Context: &kvrpcpb.Context{RegionId: region.GetId(), RegionEpoch: region.GetRegionEpoch(), Peer: peer},
		Key:     readyProbeKey,
	})
	if err != nil {
		return fmt.Errorf("store %d (%s) RawGet: %w", s.GetId(), s.GetAddress(), err)
	}
	if s.GetId() == leader.GetStoreId() && resp.GetRegionError() != nil {
		return fmt.Errorf("store %d (%s), leader of region %d, RawGet: region error: %s",
			s.GetId(), s.GetAddress(), region.GetId(), resp.GetRegionError().GetMessage())
	}
	return nil
}

// hostPort strips a URL scheme and trailing slash: PD reports client URLs
// such as http://127.0.0.1:2379, gRPC dials host:port.
func hostPort(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		url = url[i+3:]
	}
	return strings.TrimSuffix(url, "/")
}
