package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/peer"
	"github.com/tikvgo/tikvgo/txnkv"
)

// txnClient returns the worker's transactional client, with the 100 keys
// of the snapshot scenarios loaded.
func (w *tikvgoWorker) txnClient(ctx context.Context) (*txnkv.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tkv != nil {
		return w.tkv, nil
	}
	if len(w.pdAddrs) == 0 {
		return nil, errNoPD
	}
	c, err := txnkv.New(ctx, w.pdAddrs)
	if err != nil {
		return nil, err
	}
	txn, err := c.Begin(ctx)
	if err == nil {
		for i := range 100 {
			if err = txn.Set(peer.TxnReadKey(i), rawValue); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = txn.Commit(ctx)
	}
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	w.tkv = c
	return c, nil
}

// snapSetup reads at a ts taken at setup, a new snapshot per operation as
// the upstream worker does (client-go's snapshot caches what it read).
func (w *tikvgoWorker) snapSetup(name string) peer.Setup {
	return func(ctx context.Context, _ peer.Case) (peer.Op, func(), error) {
		c, err := w.txnClient(ctx)
		if err != nil {
			return nil, nil, err
		}
		first, err := c.Snapshot(ctx, 0)
		if err != nil {
			return nil, nil, err
		}
		ts := first.TS()
		snapshot := func(ctx context.Context) (*txnkv.Snapshot, error) { return c.Snapshot(ctx, ts) }
		keys := make([][]byte, 100)
		for i := range keys {
			keys[i] = peer.TxnReadKey(i)
		}
		start, end := peer.TxnReadKey(0), peer.TxnReadKey(100)
		switch name {
		case peer.TxnSnapGet:
			return func(ctx context.Context, _, i int) error {
				snap, err := snapshot(ctx)
				if err != nil {
					return err
				}
				_, err = snap.Get(ctx, keys[i%len(keys)])
				return err
			}, nil, nil
		case peer.TxnSnapBatchGet100:
			return func(ctx context.Context, _, _ int) error {
				snap, err := snapshot(ctx)
				if err != nil {
					return err
				}
				m, err := snap.BatchGet(ctx, keys)
				if err == nil && len(m) != len(keys) {
					err = fmt.Errorf("tikvgo worker: batch get returned %d of %d keys", len(m), len(keys))
				}
				return err
			}, nil, nil
		}
		return func(ctx context.Context, _, _ int) error {
			snap, err := snapshot(ctx)
			if err != nil {
				return err
			}
			n := 0
			for _, err := range snap.Iter(ctx, start, end) {
				if err != nil {
					return err
				}
				n++
			}
			if n != len(keys) {
				return fmt.Errorf("tikvgo worker: scan returned %d of %d pairs", n, len(keys))
			}
			return nil
		}, nil, nil
	}
}

// txnSetup runs whole transactions through the transactional client.
func (w *tikvgoWorker) txnSetup(name string) peer.Setup {
	return func(ctx context.Context, c peer.Case) (peer.Op, func(), error) {
		cli, err := w.txnClient(ctx)
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
		cleanup := func() { drain(cli) }
		if name == peer.TxnOptimistic {
			return func(ctx context.Context, caller, _ int) error {
				txn, err := cli.Begin(ctx)
				if err != nil {
					return err
				}
				for _, k := range keys[caller] {
					if err := txn.Set(k, rawValue); err != nil {
						return err
					}
				}
				return txn.Commit(ctx)
			}, cleanup, nil
		}
		return func(ctx context.Context, caller, _ int) error {
			txn, err := cli.Begin(ctx, txnkv.WithPessimistic())
			if err != nil {
				return err
			}
			k := keys[caller][0]
			if _, err := txn.LockKeys(ctx, txnkv.LockOptions{}, k); err != nil {
				_ = txn.Rollback(ctx)
				return err
			}
			if err := txn.Set(k, rawValue); err != nil {
				return err
			}
			return txn.Commit(ctx)
		}, cleanup, nil
	}
}

// drain lets the background commits of a case finish before the next one.
func drain(c *txnkv.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	_ = c.Committer().Drain(ctx)
}

// drainTimeout bounds the wait for a case's background commits.
const drainTimeout = 30 * time.Second
