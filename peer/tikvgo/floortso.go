package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/pdclient"
)

// naiveTSO is the TSO floor: one Tso stream to the PD leader, one request
// of count 1 per stream message. No batching, no reconnection, no check of
// the answers beyond their count. Its own gRPC connection, with fixed
// flow-control windows as tikvgo's pdclient sets (so neither side of this
// connection sends BDP pings of its own), keeps it apart from the clients'.
//
// Two forms. As naive-stream, each caller sends its own message under a
// mutex and queues for its answer, and one goroutine receives and answers
// the queue in order (PD answers a stream's requests in order). As unary
// (lockstep), a caller holds the mutex across its Send and its Recv: one
// round trip at a time and no goroutine hand-off at all, the least a
// timestamp can cost one lone caller on grpc-go (and useless above one).
type naiveTSO struct {
	lockstep bool
	mu       sync.Mutex // serialises Send and the queue order
	stream   pdpb.PD_TsoClient
	req      *pdpb.TsoRequest // reused under mu
	queue    []chan uint64    // FIFO of callers in flight, guarded by qmu
	qmu      sync.Mutex
	conn     *grpc.ClientConn
	cancel   context.CancelFunc
	dead     chan struct{} // closed when the receiver stops
	err      error         // why it stopped; read after dead is closed
}

var errTSOAnswer = errors.New("tikvgo worker: TSO floor got a bad answer")

func dialNaiveTSO(ctx context.Context, pdAddrs []string, lockstep bool) (*naiveTSO, error) {
	pd, err := pdclient.New(ctx, pdAddrs)
	if err != nil {
		return nil, err
	}
	defer pd.Close()
	l, err := pd.Leader()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(l.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(16<<20), grpc.WithInitialConnWindowSize(16<<20))
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	s, err := pdpb.NewPDClient(conn).Tso(sctx)
	if err != nil {
		cancel()
		_ = conn.Close()
		return nil, err
	}
	n := &naiveTSO{lockstep: lockstep, stream: s, conn: conn, cancel: cancel, dead: make(chan struct{}),
		req: &pdpb.TsoRequest{Header: pd.RequestHeader(), Count: 1}}
	if lockstep {
		close(n.dead)
	} else {
		go n.receive()
	}
	return n, nil
}

func (n *naiveTSO) getTS(ctx context.Context) (uint64, error) {
	if n.lockstep {
		return n.roundTrip()
	}
	ch := make(chan uint64, 1)
	n.mu.Lock()
	n.qmu.Lock()
	n.queue = append(n.queue, ch)
	n.qmu.Unlock()
	err := n.stream.Send(n.req)
	n.mu.Unlock()
	if err != nil {
		return 0, err
	}
	select {
	case ts, ok := <-ch:
		if !ok {
			return 0, errTSOAnswer
		}
		return ts, nil
	case <-n.dead:
		return 0, n.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// roundTrip is the lockstep form: it ignores ctx once it holds the
// stream, as a floor may.
func (n *naiveTSO) roundTrip() (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.stream.Send(n.req); err != nil {
		return 0, err
	}
	resp, err := n.stream.Recv()
	if err != nil {
		return 0, err
	}
	return answerTS(resp)
}

func answerTS(resp *pdpb.TsoResponse) (uint64, error) {
	if resp.GetCount() != 1 || resp.GetTimestamp() == nil {
		return 0, fmt.Errorf("%w: %v", errTSOAnswer, resp)
	}
	return uint64(resp.Timestamp.Physical)<<18 | uint64(resp.Timestamp.Logical), nil
}

func (n *naiveTSO) receive() {
	defer close(n.dead)
	for {
		resp, err := n.stream.Recv()
		if err != nil {
			n.err = err
			return
		}
		n.qmu.Lock()
		if len(n.queue) == 0 {
			n.qmu.Unlock()
			n.err = fmt.Errorf("%w: answer with nothing in flight", errTSOAnswer)
			return
		}
		ch := n.queue[0]
		n.queue = n.queue[1:]
		n.qmu.Unlock()
		ts, err := answerTS(resp)
		if err != nil {
			close(ch)
			continue
		}
		ch <- ts
	}
}

func (n *naiveTSO) close() {
	n.cancel()
	_ = n.conn.Close()
	<-n.dead
}
