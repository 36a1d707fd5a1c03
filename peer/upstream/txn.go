package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/txnkv"

	"github.com/tikvgo/tikvgo/peer"
)

// loadTxnReadKeys writes the 100 keys the snapshot scenarios read (once
// per worker).
func (w *worker) loadTxnReadKeys(ctx context.Context, cli *txnkv.Client) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.txnLoaded {
		return nil
	}
	txn, err := cli.Begin()
	if err != nil {
		return err
	}
	for i := range 100 {
		if err := txn.Set(peer.TxnReadKey(i), rawValue); err != nil {
			_ = txn.Rollback()
			return err
		}
	}
	if err := txn.Commit(ctx); err != nil {
		return err
	}
	w.txnLoaded = true
	return nil
}

// snapSetup reads at a ts taken at setup through client-go's KVSnapshot,
// a new snapshot per operation (no I/O) so its read cache does not answer
// repeated reads: the timed part is the read itself.
func (w *worker) snapSetup(name string) peer.Setup {
	return func(ctx context.Context, _ peer.Case) (peer.Op, func(), error) {
		cli, err := w.txnClient()
		if err != nil {
			return nil, nil, err
		}
		if err := w.loadTxnReadKeys(ctx, cli); err != nil {
			return nil, nil, err
		}
		ts, err := cli.CurrentTimestamp(oracle.GlobalTxnScope)
		if err != nil {
			return nil, nil, err
		}
		keys := make([][]byte, 100)
		for i := range keys {
			keys[i] = peer.TxnReadKey(i)
		}
		start, end := peer.TxnReadKey(0), peer.TxnReadKey(100)
		switch name {
		case peer.TxnSnapGet:
			return func(ctx context.Context, _, i int) error {
				_, err := cli.GetSnapshot(ts).Get(ctx, keys[i%len(keys)])
				return err
			}, nil, nil
		case peer.TxnSnapBatchGet100:
			return func(ctx context.Context, _, _ int) error {
				m, err := cli.GetSnapshot(ts).BatchGet(ctx, keys)
				if err == nil && len(m) != len(keys) {
					err = fmt.Errorf("upstream: batch get returned %d of %d keys", len(m), len(keys))
				}
				return err
			}, nil, nil
		}
		return func(ctx context.Context, _, _ int) error {
			it, err := cli.GetSnapshot(ts).Iter(start, end)
			if err != nil {
				return err
			}
			defer it.Close()
			n := 0
			for it.Valid() {
				n++
				if err := it.Next(); err != nil {
					return err
				}
			}
			if n != len(keys) {
				return fmt.Errorf("upstream: scan returned %d of %d pairs", n, len(keys))
			}
			return nil
		}, nil, nil
	}
}

// txnSetup runs whole transactions through client-go's txnkv: optimistic
// (Begin, Set, Commit) or pessimistic of one key (Begin, LockKeys at a
// for-update ts from TSO, Set, Commit).
func (w *worker) txnSetup(name string) peer.Setup {
	return func(ctx context.Context, c peer.Case) (peer.Op, func(), error) {
		cli, err := w.txnClient()
		if err != nil {
			return nil, nil, err
		}
		n := max(c.Arg, 1)
		keys := make([][][]byte, c.Callers)
		for caller := range keys {
			keys[caller] = make([][]byte, n)
			for j := range n {
				keys[caller][j] = peer.TxnCommitKey(name, caller, j)
			}
		}
		if name == peer.TxnOptimistic {
			return func(ctx context.Context, caller, _ int) error {
				txn, err := cli.Begin()
				if err != nil {
					return err
				}
				for _, k := range keys[caller] {
					if err := txn.Set(k, rawValue); err != nil {
						_ = txn.Rollback()
						return err
					}
				}
				return txn.Commit(ctx)
			}, nil, nil
		}
		return func(ctx context.Context, caller, _ int) error {
			txn, err := cli.Begin()
			if err != nil {
				return err
			}
			txn.SetPessimistic(true)
			k := keys[caller][0]
			forUpdate, err := cli.CurrentTimestamp(oracle.GlobalTxnScope)
			if err != nil {
				_ = txn.Rollback()
				return err
			}
			if err := txn.LockKeys(ctx, kv.NewLockCtx(forUpdate, kv.LockAlwaysWait, time.Now()), k); err != nil {
				_ = txn.Rollback()
				return err
			}
			if err := txn.Set(k, rawValue); err != nil {
				_ = txn.Rollback()
				return err
			}
			return txn.Commit(ctx)
		}, nil, nil
	}
}
