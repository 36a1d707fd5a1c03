package main

import (
	"context"
	"fmt"

	"github.com/tikv/client-go/v2/txnkv"

	"github.com/tikvgo/tikvgo/peer"
)

func (w *worker) txnClient() (*txnkv.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.txn != nil {
		return w.txn, nil
	}
	if len(w.pdAddrs) == 0 {
		return nil, errNoPD
	}
	c, err := txnkv.NewClient(w.pdAddrs)
	if err != nil {
		return nil, err
	}
	w.txn = c
	return c, nil
}

// commitSetup commits c.Arg keys per operation through client-go's txnkv:
// Begin (a start ts from TSO), Set of each key into the memdb, then Commit,
// which returns once the primary is committed (secondaries, or every key
// under async commit, commit in the background).
func (w *worker) commitSetup(name string) peer.Setup {
	return func(ctx context.Context, c peer.Case) (peer.Op, func(), error) {
		if c.Arg < 1 {
			return nil, nil, fmt.Errorf("upstream: %s needs arg (keys) >= 1", name)
		}
		cli, err := w.txnClient()
		if err != nil {
			return nil, nil, err
		}
		keys := make([][][]byte, c.Callers)
		for caller := range keys {
			keys[caller] = make([][]byte, c.Arg)
			for j := range c.Arg {
				keys[caller][j] = peer.TxnCommitKey(name, caller, j)
			}
		}
		return func(ctx context.Context, caller, _ int) error {
			txn, err := cli.Begin()
			if err != nil {
				return err
			}
			switch name {
			case peer.TxnCommitAsync:
				txn.SetEnableAsyncCommit(true)
			case peer.TxnCommit1PC:
				txn.SetEnable1PC(true)
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
}
