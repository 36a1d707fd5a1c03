package tso_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakePD is a small PD cluster that serves GetMembers and Tso. Members share
// one allocator; only the leader serves Tso.
type fakePD struct {
	t         testing.TB
	clusterID uint64
	members   []*fakeMember
	leader    atomic.Int32

	mu       sync.Mutex
	physical int64
	logical  int64
	counts   []uint32 // count of every Tso request answered or broken
	// breakNext makes the next Tso request end its stream unanswered,
	// after answerBeforeBreak more requests have been answered.
	breakNext         int
	answerBeforeBreak int
	// regressNext makes the next answers return an old timestamp.
	regressNext int
	// wrongCluster makes Tso headers carry another cluster id.
	wrongCluster bool
	paused       chan struct{} // non-nil: Tso waits until it is closed
	// received is signalled (non-blocking) for every Tso request.
	received chan uint32
}

type fakeMember struct {
	pdpb.UnimplementedPDServer
	pd   *fakePD
	idx  int
	addr string

	mu  sync.Mutex
	srv *grpc.Server
}

func newFakePD(t testing.TB, n int) *fakePD {
	t.Helper()
	p := &fakePD{t: t, clusterID: 42, physical: time.Now().UnixMilli(), received: make(chan uint32, 1024)}
	for i := range n {
		m := &fakeMember{pd: p, idx: i}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		m.addr = lis.Addr().String()
		m.serve(lis)
		p.members = append(p.members, m)
	}
	t.Cleanup(func() {
		p.resume()
		for _, m := range p.members {
			m.stop()
		}
	})
	return p
}

func (p *fakePD) endpoints() []string {
	var out []string
	for _, m := range p.members {
		out = append(out, m.addr)
	}
	return out
}

func (m *fakeMember) serve(lis net.Listener) {
	srv := grpc.NewServer()
	pdpb.RegisterPDServer(srv, m)
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
	go func() { _ = srv.Serve(lis) }()
}

func (m *fakeMember) stop() {
	m.mu.Lock()
	srv := m.srv
	m.srv = nil
	m.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

func (m *fakeMember) restart() {
	lis, err := net.Listen("tcp", m.addr)
	if err != nil {
		m.pd.t.Fatalf("relisten %s: %v", m.addr, err)
	}
	m.serve(lis)
}

func (p *fakePD) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused == nil {
		p.paused = make(chan struct{})
	}
}

func (p *fakePD) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused != nil {
		close(p.paused)
		p.paused = nil
	}
}

func (p *fakePD) roundCounts() []uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]uint32(nil), p.counts...)
}

func (p *fakePD) set(f func(p *fakePD)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (m *fakeMember) GetMembers(context.Context, *pdpb.GetMembersRequest) (*pdpb.GetMembersResponse, error) {
	resp := &pdpb.GetMembersResponse{Header: &pdpb.ResponseHeader{ClusterId: m.pd.clusterID}}
	for _, o := range m.pd.members {
		mem := &pdpb.Member{Name: fmt.Sprintf("pd%d", o.idx), MemberId: uint64(o.idx + 1), ClientUrls: []string{"http://" + o.addr}}
		resp.Members = append(resp.Members, mem)
		if int(m.pd.leader.Load()) == o.idx {
			resp.Leader = mem
		}
	}
	return resp, nil
}

func (m *fakeMember) Tso(stream pdpb.PD_TsoServer) error {
	p := m.pd
	// Requests are read ahead of the answers, as PD's gRPC server does, so
	// a test can see a second round arrive while the first is held.
	reqs := make(chan *pdpb.TsoRequest, 64)
	go func() {
		defer close(reqs)
		for {
			req, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case p.received <- req.Count:
			default:
			}
			select {
			case reqs <- req:
			case <-stream.Context().Done():
				return
			}
		}
	}()
	for {
		var req *pdpb.TsoRequest
		select {
		case req = <-reqs:
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
		if req == nil {
			return nil // the client closed its side
		}
		p.mu.Lock()
		paused := p.paused
		p.mu.Unlock()
		if paused != nil {
			select {
			case <-paused:
			case <-stream.Context().Done():
				return stream.Context().Err()
			}
		}
		if int(p.leader.Load()) != m.idx {
			return status.Error(codes.Unavailable, "requested pd is not leader of cluster")
		}
		if req.Count == 0 {
			return status.Error(codes.InvalidArgument, "tso count should be positive")
		}
		p.mu.Lock()
		p.counts = append(p.counts, req.Count)
		if p.breakNext > 0 {
			if p.answerBeforeBreak > 0 {
				p.answerBeforeBreak--
			} else {
				p.breakNext--
				p.mu.Unlock()
				return status.Error(codes.Unavailable, "stream broken by test")
			}
		}
		if p.logical+int64(req.Count) >= 1<<18 {
			p.physical++
			p.logical = 0
		}
		p.logical += int64(req.Count)
		phys, logical := p.physical, p.logical
		if p.regressNext > 0 {
			p.regressNext--
			phys -= 1000
		}
		id := p.clusterID
		if p.wrongCluster {
			id++
		}
		p.mu.Unlock()
		if err := stream.Send(&pdpb.TsoResponse{
			Header:    &pdpb.ResponseHeader{ClusterId: id},
			Count:     req.Count,
			Timestamp: &pdpb.Timestamp{Physical: phys, Logical: logical},
		}); err != nil {
			return err
		}
	}
}
