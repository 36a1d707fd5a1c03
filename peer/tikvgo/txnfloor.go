package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"

	"github.com/tikvgo/tikvgo/peer"
	"github.com/tikvgo/tikvgo/tso"
)

// floorLockTTL is the lock TTL, in milliseconds, of the floors' prewrites:
// short enough for a lock a failed case leaves to expire soon.
const floorLockTTL = 3000

// txnCalls are the four transactional commands of the floors, sent either
// on the naive stream or as unary RPCs, so each floor operation is written
// once for both.
type txnCalls struct {
	get      func(context.Context, *kvrpcpb.GetRequest) (*kvrpcpb.GetResponse, error)
	batchGet func(context.Context, *kvrpcpb.BatchGetRequest) (*kvrpcpb.BatchGetResponse, error)
	prewrite func(context.Context, *kvrpcpb.PrewriteRequest) (*kvrpcpb.PrewriteResponse, error)
	commit   func(context.Context, *kvrpcpb.CommitRequest) (*kvrpcpb.CommitResponse, error)
}

// unaryTxnCalls sends each command as its own unary RPC.
func unaryTxnCalls(kv tikvpb.TikvClient) txnCalls {
	return txnCalls{
		get: func(ctx context.Context, q *kvrpcpb.GetRequest) (*kvrpcpb.GetResponse, error) {
			return kv.KvGet(ctx, q)
		},
		batchGet: func(ctx context.Context, q *kvrpcpb.BatchGetRequest) (*kvrpcpb.BatchGetResponse, error) {
			return kv.KvBatchGet(ctx, q)
		},
		prewrite: func(ctx context.Context, q *kvrpcpb.PrewriteRequest) (*kvrpcpb.PrewriteResponse, error) {
			return kv.KvPrewrite(ctx, q)
		},
		commit: func(ctx context.Context, q *kvrpcpb.CommitRequest) (*kvrpcpb.CommitResponse, error) {
			return kv.KvCommit(ctx, q)
		},
	}
}

// streamTxnCalls sends each command as its own message on the naive
// stream; an answer of another command type fails the call.
func streamTxnCalls(n *naiveStream) txnCalls {
	return txnCalls{
		get: func(ctx context.Context, q *kvrpcpb.GetRequest) (*kvrpcpb.GetResponse, error) {
			r, err := n.call(ctx, &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_Get{Get: q}})
			return answer(r, err, r.GetGet())
		},
		batchGet: func(ctx context.Context, q *kvrpcpb.BatchGetRequest) (*kvrpcpb.BatchGetResponse, error) {
			r, err := n.call(ctx, &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_BatchGet{BatchGet: q}})
			return answer(r, err, r.GetBatchGet())
		},
		prewrite: func(ctx context.Context, q *kvrpcpb.PrewriteRequest) (*kvrpcpb.PrewriteResponse, error) {
			r, err := n.call(ctx, &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_Prewrite{Prewrite: q}})
			return answer(r, err, r.GetPrewrite())
		},
		commit: func(ctx context.Context, q *kvrpcpb.CommitRequest) (*kvrpcpb.CommitResponse, error) {
			r, err := n.call(ctx, &tikvpb.BatchCommandsRequest_Request{Cmd: &tikvpb.BatchCommandsRequest_Request_Commit{Commit: q}})
			return answer(r, err, r.GetCommit())
		},
	}
}

// answer unwraps one stream answer: the getter of the wrong type returns nil.
func answer[T any](r *tikvpb.BatchCommandsResponse_Response, err error, got *T) (*T, error) {
	if err != nil {
		return nil, err
	}
	if got == nil {
		return nil, fmt.Errorf("%w: %v", errAnswer, r)
	}
	return got, nil
}

// txnCalls returns the commands of the floor connect opened.
func (f *floorWorker) txnCalls() txnCalls {
	if f.naive != nil {
		return streamTxnCalls(f.naive)
	}
	return unaryTxnCalls(f.kv)
}

// tsoClient returns the floor's TSO client (tikvgo's, the same the tikvgo
// worker uses, so the floors time the KV path, not a TSO of their own),
// and writes the keys of the snapshot scenarios on first use.
func (f *floorWorker) tsoClient(ctx context.Context) (*tso.Client, error) {
	if err := f.connect(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tso != nil {
		return f.tso, nil
	}
	ts, err := tso.New(ctx, f.pdAddrs)
	if err != nil {
		return nil, err
	}
	keys := txnReadKeys()
	muts := make([]*kvrpcpb.Mutation, len(keys))
	for i, k := range keys {
		muts[i] = &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: k, Value: rawValue}
	}
	if err := commit2PC(ctx, unaryTxnCalls(f.kv), ts, f.rctx, muts, keys); err != nil {
		_ = ts.Close()
		return nil, fmt.Errorf("tikvgo worker: floor loading the snapshot keys: %w", err)
	}
	f.tso = ts
	return ts, nil
}

func txnReadKeys() [][]byte {
	keys := make([][]byte, 100)
	for i := range keys {
		keys[i] = peer.TxnReadKey(i)
	}
	return keys
}

// floorSafeWindow bounds a 1PC commit ts above the least one, as the
// clients' safe window does (2 s, both clients' default).
const floorSafeWindow = 2 * time.Second

// commit2PC is the floor's Percolator commit: a start ts, one prewrite of
// every mutation with the first key as primary, a commit ts, one commit of
// every key. The cluster has one region, so one request of each suffices.
func commit2PC(ctx context.Context, c txnCalls, ts *tso.Client, rctx *kvrpcpb.Context, muts []*kvrpcpb.Mutation, keys [][]byte) error {
	start, err := ts.GetTS(ctx)
	if err != nil {
		return err
	}
	p, err := c.prewrite(ctx, &kvrpcpb.PrewriteRequest{Context: rctx, Mutations: muts, PrimaryLock: keys[0],
		StartVersion: uint64(start), LockTtl: floorLockTTL, TxnSize: uint64(len(muts))})
	if err != nil {
		return err
	}
	if p.RegionError != nil || len(p.Errors) != 0 {
		return fmt.Errorf("%w: prewrite %v", errAnswer, p)
	}
	commitTS, err := ts.GetTS(ctx)
	if err != nil {
		return err
	}
	r, err := c.commit(ctx, &kvrpcpb.CommitRequest{Context: rctx, Keys: keys, StartVersion: uint64(start), CommitVersion: uint64(commitTS)})
	if err != nil {
		return err
	}
	if r.RegionError != nil || r.Error != nil {
		return fmt.Errorf("%w: commit %v", errAnswer, r)
	}
	return nil
}

// commit1PC is one prewrite asking TiKV to commit at once; an answer
// without a 1PC commit ts (TiKV fell back to 2PC) fails it, as the floor
// does not finish such a commit. Like both clients by default, it takes a
// second ts before the prewrite as the least commit ts, so the commit ts
// exceeds every ts handed out before the commit began (linearizability):
// a 1PC floor without it would do one round trip less than any correct
// client.
func commit1PC(ctx context.Context, c txnCalls, ts *tso.Client, rctx *kvrpcpb.Context, muts []*kvrpcpb.Mutation, keys [][]byte) error {
	start, err := ts.GetTS(ctx)
	if err != nil {
		return err
	}
	now, err := ts.GetTS(ctx)
	if err != nil {
		return err
	}
	p, err := c.prewrite(ctx, &kvrpcpb.PrewriteRequest{Context: rctx, Mutations: muts, PrimaryLock: keys[0],
		StartVersion: uint64(start), LockTtl: floorLockTTL, TxnSize: uint64(len(muts)), TryOnePc: true,
		MinCommitTs: uint64(now) + 1, MaxCommitTs: uint64(tso.Compose(now.Physical()+floorSafeWindow.Milliseconds(), 0))})
	if err != nil {
		return err
	}
	if p.RegionError != nil || len(p.Errors) != 0 || p.OnePcCommitTs == 0 {
		return fmt.Errorf("%w: 1PC prewrite %v", errAnswer, p)
	}
	return nil
}

// snapSetup reads at a ts taken once at setup: one KvGet of one of the
// 100 keys, or one KvBatchGet of all of them.
func (f *floorWorker) snapSetup(name string) peer.Setup {
	return func(ctx context.Context, _ peer.Case) (peer.Op, func(), error) {
		ts, err := f.tsoClient(ctx)
		if err != nil {
			return nil, nil, err
		}
		at, err := ts.GetTS(ctx)
		if err != nil {
			return nil, nil, err
		}
		c, rctx, keys, version := f.txnCalls(), f.rctx, txnReadKeys(), uint64(at)
		if name == peer.TxnSnapGet {
			return func(ctx context.Context, _, i int) error {
				r, err := c.get(ctx, &kvrpcpb.GetRequest{Context: rctx, Key: keys[i%len(keys)], Version: version})
				if err == nil && (r.RegionError != nil || r.Error != nil || r.NotFound || len(r.Value) == 0) {
					err = fmt.Errorf("%w: %v", errAnswer, r)
				}
				return err
			}, nil, nil
		}
		return func(ctx context.Context, _, _ int) error {
			r, err := c.batchGet(ctx, &kvrpcpb.BatchGetRequest{Context: rctx, Keys: keys, Version: version})
			if err != nil {
				return err
			}
			if r.RegionError != nil || r.Error != nil {
				return fmt.Errorf("%w: %v", errAnswer, r)
			}
			for _, p := range r.Pairs {
				if p.Error != nil {
					return fmt.Errorf("%w: %v", errAnswer, p)
				}
			}
			return expectCount("KvBatchGet", len(r.Pairs), nil)
		}, nil, nil
	}
}

// commitSetup commits max(c.Arg, 1) puts per operation, each caller its
// own keys (the tikvgo and client-go workers' keys), by 2PC or 1PC.
func (f *floorWorker) commitSetup(name string) peer.Setup {
	return func(ctx context.Context, c peer.Case) (peer.Op, func(), error) {
		ts, err := f.tsoClient(ctx)
		if err != nil {
			return nil, nil, err
		}
		n := max(c.Arg, 1)
		muts := make([][]*kvrpcpb.Mutation, c.Callers)
		keys := make([][][]byte, c.Callers)
		for caller := range muts {
			muts[caller] = make([]*kvrpcpb.Mutation, n)
			keys[caller] = make([][]byte, n)
			for j := range n {
				k := peer.TxnCommitKey(name, caller, j)
				keys[caller][j] = k
				muts[caller][j] = &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: k, Value: rawValue}
			}
		}
		commit := commit2PC
		if name == peer.TxnCommit1PC {
			commit = commit1PC
		}
		calls, rctx := f.txnCalls(), f.rctx
		return func(ctx context.Context, caller, _ int) error {
			return commit(ctx, calls, ts, rctx, muts[caller], keys[caller])
		}, nil, nil
	}
}
