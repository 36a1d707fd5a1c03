package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tikv/client-go/v2/config"
	"github.com/tikv/client-go/v2/rawkv"
	"github.com/tikv/client-go/v2/txnkv"
	pd "github.com/tikv/pd/client"

	"github.com/tikvgo/tikvgo/peer"
)

// errNoPD is returned by scenarios that need a cluster when -pd is empty.
var errNoPD = errors.New("upstream: scenario needs -pd")

// worker holds client-go's clients; each is created on first use and kept
// for the worker's life, as an application would.
type worker struct {
	pdAddrs []string

	mu  sync.Mutex
	raw *rawkv.Client
	pd  pd.Client
	loc *locateState
	txn *txnkv.Client
	// txnLoaded: the snapshot scenarios' keys are written.
	txnLoaded bool
}

func newWorker(pdAddrs []string) *worker { return &worker{pdAddrs: pdAddrs} }

func (w *worker) registry() *peer.Registry {
	reg := peer.NewRegistry()
	for name, s := range map[string]peer.Setup{
		peer.RawGet:              w.rawSetup(peer.RawGet),
		peer.RawPut:              w.rawSetup(peer.RawPut),
		peer.RawBatchGet100:      w.rawSetup(peer.RawBatchGet100),
		peer.RawScan100:          w.rawSetup(peer.RawScan100),
		peer.TSOGetTS:            w.tsoSetup,
		peer.LocateKey:           w.locateSetup,
		peer.TxnCommit2PC:        w.commitSetup(peer.TxnCommit2PC),
		peer.TxnCommitAsync:      w.commitSetup(peer.TxnCommitAsync),
		peer.TxnCommit1PC:        w.commitSetup(peer.TxnCommit1PC),
		peer.TxnSnapGet:          w.snapSetup(peer.TxnSnapGet),
		peer.TxnSnapBatchGet100:  w.snapSetup(peer.TxnSnapBatchGet100),
		peer.TxnSnapScan100:      w.snapSetup(peer.TxnSnapScan100),
		peer.TxnOptimistic:       w.txnSetup(peer.TxnOptimistic),
		peer.TxnPessimisticLock1: w.txnSetup(peer.TxnPessimisticLock1),
	} {
		if err := reg.Register(name, s); err != nil {
			panic(err) // a duplicate in the literal above: a programming error
		}
	}
	return reg
}

func (w *worker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.raw != nil {
		_ = w.raw.Close()
	}
	if w.pd != nil {
		w.pd.Close()
	}
	if w.txn != nil {
		_ = w.txn.Close()
	}
	w.loc = nil
}

// Keys and values of the raw scenarios: 100 keys "bench-raw-000".."099"
// with 64-byte values, written once per client.
var (
	rawKeys = func() [][]byte {
		ks := make([][]byte, 100)
		for i := range ks {
			ks[i] = fmt.Appendf(nil, "bench-raw-%03d", i)
		}
		return ks
	}()
	rawValue = make([]byte, 64)
)

func (w *worker) rawClient(ctx context.Context) (*rawkv.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.raw != nil {
		return w.raw, nil
	}
	if len(w.pdAddrs) == 0 {
		return nil, errNoPD
	}
	// The constructors keep ctx as the client's lifetime: no timeout here.
	c, err := rawkv.NewClient(ctx, w.pdAddrs, config.Security{})
	if err != nil {
		return nil, err
	}
	vals := make([][]byte, len(rawKeys))
	for i := range vals {
		vals[i] = rawValue
	}
	if err := c.BatchPut(ctx, rawKeys, vals); err != nil {
		_ = c.Close()
		return nil, err
	}
	w.raw = c
	return c, nil
}

func (w *worker) rawSetup(name string) peer.Setup {
	return func(ctx context.Context, _ peer.Case) (peer.Op, func(), error) {
		c, err := w.rawClient(ctx)
		if err != nil {
			return nil, nil, err
		}
		switch name {
		case peer.RawGet:
			return func(ctx context.Context, _, i int) error {
				v, err := c.Get(ctx, rawKeys[i%len(rawKeys)])
				if err == nil && v == nil {
					err = errors.New("upstream: Get found no value")
				}
				return err
			}, nil, nil
		case peer.RawPut:
			return func(ctx context.Context, _, i int) error {
				return c.Put(ctx, rawKeys[i%len(rawKeys)], rawValue)
			}, nil, nil
		case peer.RawBatchGet100:
			return func(ctx context.Context, _, _ int) error {
				vs, err := c.BatchGet(ctx, rawKeys)
				if err == nil {
					err = expectFound(vs)
				}
				return err
			}, nil, nil
		default:
			return func(ctx context.Context, _, _ int) error {
				ks, _, err := c.Scan(ctx, rawKeys[0], nil, len(rawKeys))
				if err == nil && len(ks) != len(rawKeys) {
					err = fmt.Errorf("upstream: Scan returned %d pairs, want %d", len(ks), len(rawKeys))
				}
				return err
			}, nil, nil
		}
	}
}

func expectFound(vs [][]byte) error {
	for i, v := range vs {
		if v == nil {
			return fmt.Errorf("upstream: BatchGet found no value for key %d", i)
		}
	}
	if len(vs) != len(rawKeys) {
		return fmt.Errorf("upstream: BatchGet returned %d values, want %d", len(vs), len(rawKeys))
	}
	return nil
}

func (w *worker) tsoSetup(ctx context.Context, _ peer.Case) (peer.Op, func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pd == nil {
		if len(w.pdAddrs) == 0 {
			return nil, nil, errNoPD
		}
		c, err := pd.NewClientWithContext(ctx, w.pdAddrs, pd.SecurityOption{})
		if err != nil {
			return nil, nil, err
		}
		w.pd = c
	}
	c := w.pd
	return func(ctx context.Context, _, _ int) error {
		_, _, err := c.GetTS(ctx)
		return err
	}, nil, nil
}
