package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/peer"
	"github.com/tikvgo/tikvgo/tso"
)

// naiveStream is the floor of issue 17: one BatchCommands stream with one
// request per stream message. Each caller sends its own message under a
// mutex; one goroutine receives and hands each answer to its caller by
// request id. No batching, no routing, no retries, no reconnection.
type naiveStream struct {
	mu      sync.Mutex // serialises Send
	stream  tikvpb.Tikv_BatchCommandsClient
	nextID  atomic.Uint64
	waiters sync.Map      // request id -> chan *tikvpb.BatchCommandsResponse_Response
	dead    chan struct{} // closed when the receiver stops
	err     error         // why it stopped; read after dead is closed
}

func (n *naiveStream) call(ctx context.Context, req *tikvpb.BatchCommandsRequest_Request) (*tikvpb.BatchCommandsResponse_Response, error) {
	id := n.nextID.Add(1)
	ch := make(chan *tikvpb.BatchCommandsResponse_Response, 1)
	n.waiters.Store(id, ch)
	defer n.waiters.Delete(id)
	n.mu.Lock()
	err := n.stream.Send(&tikvpb.BatchCommandsRequest{Requests: []*tikvpb.BatchCommandsRequest_Request{req}, RequestIds: []uint64{id}})
	n.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-n.dead:
		return nil, n.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (n *naiveStream) receive() {
	defer close(n.dead)
	for {
		resp, err := n.stream.Recv()
		if err != nil {
			n.err = err
			return
		}
		for i, id := range resp.GetRequestIds() {
			if ch, ok := n.waiters.Load(id); ok {
				ch.(chan *tikvpb.BatchCommandsResponse_Response) <- resp.GetResponses()[i]
			}
		}
	}
}

// floorWorker runs the floors: the naive stream or bare unary RPCs, both
// straight to the leader of the cluster's only region.
type floorWorker struct {
	pdAddrs []string
	stream  bool

	mu     sync.Mutex
	conn   *grpc.ClientConn
	cancel context.CancelFunc
	kv     tikvpb.TikvClient
	rctx   *kvrpcpb.Context
	naive  *naiveStream
	tso    *tso.Client // the transactional floors' timestamps; see tsoClient
	ntso   *naiveTSO   // the TSO floor (stream only)
}

func (f *floorWorker) registry() *peer.Registry {
	setups := map[string]peer.Setup{
		peer.RawGet: f.setup(peer.RawGet),
		peer.RawPut: f.setup(peer.RawPut),
		// The transactional floors run on both: the same few lines send
		// their commands on the stream or as unary RPCs (txnfloor.go).
		peer.TxnSnapGet:         f.snapSetup(peer.TxnSnapGet),
		peer.TxnSnapBatchGet100: f.snapSetup(peer.TxnSnapBatchGet100),
		peer.TxnCommit2PC:       f.commitSetup(peer.TxnCommit2PC),
		peer.TxnCommit1PC:       f.commitSetup(peer.TxnCommit1PC),
	}
	setups[peer.TSOGetTS] = f.tsoFloorSetup
	if !f.stream {
		setups[peer.RawBatchGet100] = f.setup(peer.RawBatchGet100)
		setups[peer.RawScan100] = f.setup(peer.RawScan100)
	}
	return mustRegister(peer.NewRegistry(), setups)
}

func (f *floorWorker) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tso != nil {
		_ = f.tso.Close()
	}
	if f.ntso != nil {
		f.ntso.close()
	}
	if f.cancel != nil {
		f.cancel()
	}
	if f.conn != nil {
		_ = f.conn.Close()
	}
	if f.naive != nil {
		<-f.naive.dead
	}
}

// connect looks the region up once, writes the keys, and opens the
// connection (and the stream).
func (f *floorWorker) connect(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		return nil
	}
	if len(f.pdAddrs) == 0 {
		return errNoPD
	}
	pd, err := pdclient.New(ctx, f.pdAddrs)
	if err != nil {
		return err
	}
	defer pd.Close()
	r, err := pd.GetRegion(ctx, rawKeys[0])
	if err != nil {
		return err
	}
	if r.Leader == nil || len(r.Meta.GetStartKey()) != 0 || len(r.Meta.GetEndKey()) != 0 {
		return fmt.Errorf("tikvgo worker: the floors need one region with a leader, got %v leader %v", r.Meta, r.Leader)
	}
	st, err := pd.GetStore(ctx, r.Leader.GetStoreId())
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(st.GetAddress(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithInitialWindowSize(1<<30), grpc.WithInitialConnWindowSize(1<<30))
	if err != nil {
		return err
	}
	kv := tikvpb.NewTikvClient(conn)
	rctx := &kvrpcpb.Context{RegionId: r.Meta.GetId(), RegionEpoch: r.Meta.GetRegionEpoch(), Peer: r.Leader}
	if _, err := kv.RawBatchPut(ctx, &kvrpcpb.RawBatchPutRequest{Context: rctx, Pairs: rawPairs()}); err != nil {
		_ = conn.Close()
		return err
	}
	if f.stream {
		sctx, cancel := context.WithCancel(context.Background())
		s, err := kv.BatchCommands(sctx)
		if err != nil {
			cancel()
			_ = conn.Close()
			return err
		}
		f.naive = &naiveStream{stream: s, dead: make(chan struct{})}
		go f.naive.receive()
		f.cancel = cancel
	}
	f.conn, f.kv, f.rctx = conn, kv, rctx
	return nil
}

func rawPairs() []*kvrpcpb.KvPair {
	ps := make([]*kvrpcpb.KvPair, len(rawKeys))
	for i, k := range rawKeys {
		ps[i] = &kvrpcpb.KvPair{Key: k, Value: rawValue}
	}
	return ps
}

// errAnswer is a floor's error for a region or key error in an answer.
var errAnswer = errors.New("tikvgo worker: floor got an error answer")

func (f *floorWorker) setup(name string) peer.Setup {
	return func(ctx context.Context, _ peer.Case) (peer.Op, func(), error) {
		if err := f.connect(ctx); err != nil {
			return nil, nil, err
		}
		kv, rctx, naive := f.kv, f.rctx, f.naive
		switch {
		case name == peer.RawGet && naive != nil:
			return func(ctx context.Context, _, i int) error {
				r, err := naive.call(ctx, &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawGet{
					RawGet: &kvrpcpb.RawGetRequest{Context: rctx, Key: rawKeys[i%len(rawKeys)]}}})
				if err != nil {
					return err
				}
				if g := r.GetRawGet(); g == nil || g.RegionError != nil || g.Error != "" || len(g.Value) == 0 {
					return fmt.Errorf("%w: %v", errAnswer, r)
				}
				return nil
			}, nil, nil
		case name == peer.RawPut && naive != nil:
			return func(ctx context.Context, _, i int) error {
				r, err := naive.call(ctx, &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_RawPut{
					RawPut: &kvrpcpb.RawPutRequest{Context: rctx, Key: rawKeys[i%len(rawKeys)], Value: rawValue}}})
				if err != nil {
					return err
				}
				if p := r.GetRawPut(); p == nil || p.RegionError != nil || p.Error != "" {
					return fmt.Errorf("%w: %v", errAnswer, r)
				}
				return nil
			}, nil, nil
		case name == peer.RawGet:
			return func(ctx context.Context, _, i int) error {
				r, err := kv.RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rctx, Key: rawKeys[i%len(rawKeys)]})
				if err == nil && (r.RegionError != nil || r.Error != "" || len(r.Value) == 0) {
					err = fmt.Errorf("%w: %v", errAnswer, r)
				}
				return err
			}, nil, nil
		case name == peer.RawPut:
			return func(ctx context.Context, _, i int) error {
				r, err := kv.RawPut(ctx, &kvrpcpb.RawPutRequest{Context: rctx, Key: rawKeys[i%len(rawKeys)], Value: rawValue})
				if err == nil && (r.RegionError != nil || r.Error != "") {
					err = fmt.Errorf("%w: %v", errAnswer, r)
				}
				return err
			}, nil, nil
		case name == peer.RawBatchGet100:
			return func(ctx context.Context, _, _ int) error {
				r, err := kv.RawBatchGet(ctx, &kvrpcpb.RawBatchGetRequest{Context: rctx, Keys: rawKeys})
				if err == nil && r.RegionError != nil {
					err = fmt.Errorf("%w: %v", errAnswer, r.RegionError)
				}
				if err != nil {
					return err
				}
				return expectCount("RawBatchGet", len(r.Pairs), nil)
			}, nil, nil
		default:
			return func(ctx context.Context, _, _ int) error {
				r, err := kv.RawScan(ctx, &kvrpcpb.RawScanRequest{Context: rctx, StartKey: rawKeys[0], Limit: uint32(len(rawKeys))})
				if err == nil && r.RegionError != nil {
					err = fmt.Errorf("%w: %v", errAnswer, r.RegionError)
				}
				if err != nil {
					return err
				}
				return expectCount("RawScan", len(r.Kvs), nil)
			}, nil, nil
		}
	}
}

// tsoFloorSetup opens the TSO floor's stream once (naiveTSO: queued on
// the naive stream, lockstep as unary); every caller shares it.
func (f *floorWorker) tsoFloorSetup(ctx context.Context, _ peer.Case) (peer.Op, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ntso == nil {
		if len(f.pdAddrs) == 0 {
			return nil, nil, errNoPD
		}
		n, err := dialNaiveTSO(ctx, f.pdAddrs, !f.stream)
		if err != nil {
			return nil, nil, err
		}
		f.ntso = n
	}
	n := f.ntso
	return func(ctx context.Context, _, _ int) error {
		_, err := n.getTS(ctx)
		return err
	}, nil, nil
}
