package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/txnkv"
	"github.com/tikv/client-go/v2/txnkv/transaction"
	"github.com/tikv/client-go/v2/txnkv/txnsnapshot"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/peer"
)

// The -txnsched mode runs transactional schedules (peer.TxnSchedule)
// through client-go's txnkv client, the way an application uses it: Begin,
// Set/Delete/insert through the memory buffer, LockKeys with a lock
// context at a for-update ts from TSO, Commit, Rollback, and snapshots at
// an earlier transaction's start ts. peer/tikvgo's TestTxnDifferential runs
// the same schedules through tikvgo and compares.

// serveTxnSchedules answers one peer.TxnOutcome per peer.TxnSchedRequest
// line, each schedule on a client of its own built for the request's
// cluster.
func serveTxnSchedules(ctx context.Context, pdAddrs []string, in io.Reader, out io.Writer) error {
	return peer.ServeTxnSchedules(ctx, "client-go", in, out, func(ctx context.Context, req peer.TxnSchedRequest) peer.TxnOutcome {
		if len(req.PD) == 0 {
			req.PD = pdAddrs
		}
		d, err := newCGDriver(req)
		if err != nil {
			return peer.TxnOutcome{Failed: err.Error()}
		}
		defer d.close()
		return peer.RunTxnSchedule(ctx, req.Schedule, d)
	})
}

// cgDriver is client-go behind peer.TxnDriver.
type cgDriver struct {
	cli  *txnkv.Client
	conn *grpc.ClientConn
	kv   tikvpb.TikvClient
	// bg counts the transactions' background goroutines (secondary
	// commits, cleanups), through client-go's lifecycle hooks.
	bg sync.WaitGroup
}

func newCGDriver(req peer.TxnSchedRequest) (*cgDriver, error) {
	if len(req.PD) == 0 {
		return nil, errNoPD
	}
	cli, err := txnkv.NewClient(req.PD)
	if err != nil {
		return nil, fmt.Errorf("txnkv.NewClient: %w", err)
	}
	conn, err := grpc.NewClient(req.LockWaitStore, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	return &cgDriver{cli: cli, conn: conn, kv: tikvpb.NewTikvClient(conn)}, nil
}

func (d *cgDriver) close() {
	d.bg.Wait()
	_ = d.conn.Close()
	_ = d.cli.Close()
}

func (d *cgDriver) Begin(_ context.Context, spec peer.TxnSpec) (peer.TxnHandle, error) {
	txn, err := d.cli.Begin()
	if err != nil {
		return nil, err
	}
	txn.SetBackgroundGoroutineLifecycleHooks(transaction.LifecycleHooks{Pre: func() { d.bg.Add(1) }, Post: d.bg.Done})
	txn.SetPessimistic(spec.Pessimistic)
	switch spec.Commit {
	case peer.CommitAsync:
		txn.SetEnableAsyncCommit(true)
	case peer.Commit1PC:
		txn.SetEnable1PC(true)
	}
	return &cgTxn{d: d, txn: txn}, nil
}

func (d *cgDriver) SnapshotAt(_ context.Context, ts uint64) (peer.TxnReader, error) {
	if ts == 0 {
		var err error
		if ts, err = d.cli.CurrentTimestamp(oracle.GlobalTxnScope); err != nil {
			return nil, err
		}
	}
	return cgSnap{snap: d.cli.GetSnapshot(ts)}, nil
}

func (d *cgDriver) Settle(ctx context.Context) error {
	done := make(chan struct{})
	go func() { d.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *cgDriver) Waiting(ctx context.Context, startTS uint64) (bool, error) {
	resp, err := d.kv.GetLockWaitInfo(ctx, &kvrpcpb.GetLockWaitInfoRequest{Context: &kvrpcpb.Context{}})
	if err != nil {
		return false, err
	}
	for _, e := range resp.GetEntries() {
		if e.GetTxn() == startTS {
			return true, nil
		}
	}
	return false, nil
}

// Classify maps client-go's typed errors (package error, matched as
// client-go's own callers match them) to the compared classes.
func (d *cgDriver) Classify(err error) string {
	var deadlock *tikverr.ErrDeadlock
	switch {
	case tikverr.IsErrWriteConflict(err):
		return peer.ClassWriteConflict
	case tikverr.IsErrKeyExist(err):
		return peer.ClassKeyExists
	case errors.As(err, &deadlock):
		return peer.ClassDeadlock
	case errors.Is(err, tikverr.ErrLockWaitTimeout):
		return peer.ClassLockWaitTimeout
	case errors.Is(err, tikverr.ErrLockAcquireFailAndNoWaitSet):
		return peer.ClassLockNoWait
	}
	return peer.ClassOther
}

// cgReader reads through a transaction or a snapshot, whose Get, BatchGet
// and Iter differ only in receiver type.
type cgReader interface {
	Get(ctx context.Context, k []byte, options ...kv.GetOption) (kv.ValueEntry, error)
	BatchGet(ctx context.Context, keys [][]byte, options ...kv.BatchGetOption) (map[string]kv.ValueEntry, error)
}

func cgGet(ctx context.Context, r cgReader, key []byte) ([]byte, bool, error) {
	e, err := r.Get(ctx, key)
	if tikverr.IsErrNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return e.Value, true, nil
}

func cgBatchGet(ctx context.Context, r cgReader, keys [][]byte) (map[string][]byte, error) {
	m, err := r.BatchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(m))
	for k, e := range m {
		out[k] = e.Value
	}
	return out, nil
}

// cgIterator is what Iter returns (unionstore.Iterator, internal to
// client-go).
type cgIterator interface {
	Valid() bool
	Key() []byte
	Value() []byte
	Next() error
	Close()
}

func cgScan(it cgIterator, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []string
	for it.Valid() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
		if err := it.Next(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type cgSnap struct{ snap *txnsnapshot.KVSnapshot }

func (s cgSnap) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	return cgGet(ctx, s.snap, key)
}

func (s cgSnap) BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error) {
	return cgBatchGet(ctx, s.snap, keys)
}

func (s cgSnap) Scan(_ context.Context, start, end []byte) ([]string, error) {
	it, err := s.snap.Iter(start, end)
	return cgScan(it, err)
}

type cgTxn struct {
	d   *cgDriver
	txn *transaction.KVTxn
}

func (t *cgTxn) StartTS() uint64 { return t.txn.StartTS() }

func (t *cgTxn) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	return cgGet(ctx, t.txn, key)
}

func (t *cgTxn) BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error) {
	return cgBatchGet(ctx, t.txn, keys)
}

func (t *cgTxn) Scan(_ context.Context, start, end []byte) ([]string, error) {
	it, err := t.txn.Iter(start, end)
	return cgScan(it, err)
}

func (t *cgTxn) Set(key, value []byte) error { return t.txn.Set(key, value) }

func (t *cgTxn) Delete(key []byte) error { return t.txn.Delete(key) }

// Insert is how TiDB writes a row that must not exist: a buffered write
// flagged presume-not-exists, sent as an Insert mutation the prewrite
// checks.
func (t *cgTxn) Insert(key, value []byte) error {
	return t.txn.GetMemBuffer().SetWithFlags(key, value, kv.SetPresumeKeyNotExists)
}

func (t *cgTxn) Lock(ctx context.Context, wait time.Duration, keys ...[]byte) error {
	forUpdate, err := t.d.cli.CurrentTimestamp(oracle.GlobalTxnScope)
	if err != nil {
		return err
	}
	ms := kv.LockNoWait
	if wait >= 0 {
		ms = wait.Milliseconds()
	}
	return t.txn.LockKeys(ctx, kv.NewLockCtx(forUpdate, ms, time.Now()), keys...)
}

func (t *cgTxn) Commit(ctx context.Context) error { return t.txn.Commit(ctx) }

func (t *cgTxn) Rollback(context.Context) error { return t.txn.Rollback() }
