package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/peer"
	"github.com/tikvgo/tikvgo/rawkv"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/txnkv"
)

// errNoPD is returned by scenarios that need a cluster when -pd is empty.
var errNoPD = errors.New("tikvgo worker: scenario needs -pd")

// Keys and values of the raw scenarios, the same as the upstream worker's:
// 100 keys "bench-raw-000".."099" with 64-byte values.
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

// tikvgoWorker holds tikvgo's clients, each created on first use and kept
// for the worker's life, as an application would.
type tikvgoWorker struct {
	pdAddrs []string

	mu       sync.Mutex
	raw      *rawkv.Client
	tso      *tso.Client
	loc      *locateState
	txnStack *txnStack
	tkv      *txnkv.Client
}

func (w *tikvgoWorker) registry() *peer.Registry {
	return mustRegister(peer.NewRegistry(), map[string]peer.Setup{
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
	})
}

func (w *tikvgoWorker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.raw != nil {
		_ = w.raw.Close()
	}
	if w.tso != nil {
		_ = w.tso.Close()
	}
	if w.txnStack != nil {
		w.txnStack.close()
	}
	if w.tkv != nil {
		_ = w.tkv.Close()
	}
	w.loc = nil
}

func (w *tikvgoWorker) rawClient(ctx context.Context) (*rawkv.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.raw != nil {
		return w.raw, nil
	}
	if len(w.pdAddrs) == 0 {
		return nil, errNoPD
	}
	c, err := rawkv.New(ctx, w.pdAddrs)
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

func (w *tikvgoWorker) rawSetup(name string) peer.Setup {
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
					err = errors.New("tikvgo worker: Get found no value")
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
				kvs, err := c.Scan(ctx, rawKeys[0], nil, len(rawKeys))
				return expectCount("Scan", len(kvs), err)
			}, nil, nil
		}
	}
}

func expectFound(vs [][]byte) error {
	for i, v := range vs {
		if v == nil {
			return fmt.Errorf("tikvgo worker: BatchGet found no value for key %d", i)
		}
	}
	return expectCount("BatchGet", len(vs), nil)
}

func expectCount(op string, got int, err error) error {
	if err == nil && got != len(rawKeys) {
		err = fmt.Errorf("tikvgo worker: %s returned %d values, want %d", op, got, len(rawKeys))
	}
	return err
}

func (w *tikvgoWorker) tsoSetup(ctx context.Context, _ peer.Case) (peer.Op, func(), error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tso == nil {
		if len(w.pdAddrs) == 0 {
			return nil, nil, errNoPD
		}
		c, err := tso.New(ctx, w.pdAddrs)
		if err != nil {
			return nil, nil, err
		}
		w.tso = c
	}
	c := w.tso
	return func(ctx context.Context, _, _ int) error {
		_, err := c.GetTS(ctx)
		return err
	}, nil, nil
}

// locateState is a loaded cache, kept between the rounds of one region
// count so a 1M-region cache is built once.
type locateState struct {
	n      int
	cache  *locate.Cache
	keys   [][]byte
	ids    []uint64
	perReg float64
}

func (w *tikvgoWorker) locateSetup(ctx context.Context, c peer.Case) (peer.Op, func(), error) {
	if c.Arg < 1 {
		return nil, nil, fmt.Errorf("tikvgo worker: %s needs arg (regions) >= 1", peer.LocateKey)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loc == nil || w.loc.n != c.Arg {
		w.loc = nil
		st, err := loadLocate(ctx, c.Arg)
		if err != nil {
			return nil, nil, err
		}
		w.loc = st
	}
	st := w.loc
	peer.ExtrasFrom(ctx)["bytes_per_region"] = st.perReg
	return func(ctx context.Context, caller, i int) error {
		j := (caller*997 + i) & 4095
		loc, err := st.cache.LocateKey(ctx, st.keys[j])
		if err == nil && loc.Region.ID != st.ids[j] {
			err = fmt.Errorf("tikvgo worker: located region %d, want %d", loc.Region.ID, st.ids[j])
		}
		return err
	}, nil, nil
}
