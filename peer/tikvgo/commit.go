package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/peer"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// txnStack is the transactional stack of the commit scenarios: PD, TSO,
// region cache, sender and twopc, built once per worker with default
// options, as txnkv will build it.
type txnStack struct {
	pd  *pdclient.Client
	tso *tso.Client
	rpc *kvrpc.Client
	tpc *twopc.Client
}

func (s *txnStack) close() {
	_ = s.tpc.Close()
	_ = s.rpc.Close()
	_ = s.tso.Close()
	_ = s.pd.Close()
}

func newTxnStack(ctx context.Context, pdAddrs []string) (*txnStack, error) {
	pd, err := pdclient.New(ctx, pdAddrs)
	if err != nil {
		return nil, err
	}
	s := &txnStack{pd: pd}
	if s.tso, err = tso.NewFromPD(ctx, pd); err != nil {
		_ = pd.Close()
		return nil, err
	}
	if s.rpc, err = kvrpc.New(); err != nil {
		_ = s.tso.Close()
		_ = pd.Close()
		return nil, err
	}
	cache, err := locate.New(pd)
	if err == nil {
		s.tpc, err = twopc.New(locate.NewSender(cache, s.rpc), s.tso)
	}
	if err != nil {
		_ = s.rpc.Close()
		_ = s.tso.Close()
		_ = pd.Close()
		return nil, err
	}
	return s, nil
}

func (w *tikvgoWorker) txn(ctx context.Context) (*txnStack, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.txnStack != nil {
		return w.txnStack, nil
	}
	if len(w.pdAddrs) == 0 {
		return nil, errNoPD
	}
	s, err := newTxnStack(ctx, w.pdAddrs)
	if err != nil {
		return nil, err
	}
	w.txnStack = s
	return s, nil
}

// commitSetup commits c.Arg keys per operation through twopc: a start ts
// from TSO, then Commit, which returns once the primary is committed (the
// secondaries, or every key under async commit, commit in the background,
// as client-go's do).
func (w *tikvgoWorker) commitSetup(name string) peer.Setup {
	return func(ctx context.Context, c peer.Case) (peer.Op, func(), error) {
		if c.Arg < 1 {
			return nil, nil, fmt.Errorf("tikvgo worker: %s needs arg (keys) >= 1", name)
		}
		s, err := w.txn(ctx)
		if err != nil {
			return nil, nil, err
		}
		var opts []twopc.CommitOption
		switch name {
		case peer.TxnCommitAsync:
			opts = append(opts, twopc.WithAsyncCommit())
		case peer.TxnCommit1PC:
			opts = append(opts, twopc.With1PC())
		}
		// Each caller's mutations are built once: a write buffer hands its
		// entries to twopc without copying.
		muts := make([]twopc.MutationSlice, c.Callers)
		for caller := range muts {
			muts[caller] = make(twopc.MutationSlice, c.Arg)
			for j := range c.Arg {
				muts[caller][j] = twopc.Mutation{Op: twopc.OpPut, Key: peer.TxnCommitKey(name, caller, j), Value: rawValue}
			}
		}
		cleanup := func() {
			// Let the background commits of this case finish before the
			// next one is timed.
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = s.tpc.Drain(dctx)
		}
		return func(ctx context.Context, caller, _ int) error {
			start, err := s.tso.GetTS(ctx)
			if err != nil {
				return err
			}
			_, err = s.tpc.Commit(ctx, muts[caller], start, opts...)
			return err
		}, cleanup, nil
	}
}
