package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/peer"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/txnkv"
)

// The -txnsched mode runs transactional schedules (peer.TxnSchedule)
// through tikvgo's txnkv client; TestTxnDifferential runs the same
// function in process against one tikvsim cluster while the upstream
// worker runs client-go against another.

// serveTxnSchedules answers one peer.TxnOutcome per peer.TxnSchedRequest
// line, each schedule on a client of its own.
func serveTxnSchedules(ctx context.Context, pdAddrs []string, in io.Reader, out io.Writer) error {
	return peer.ServeTxnSchedules(ctx, "tikvgo", in, out, func(ctx context.Context, req peer.TxnSchedRequest) peer.TxnOutcome {
		if len(req.PD) == 0 {
			req.PD = pdAddrs
		}
		return runTxnSchedule(ctx, req)
	})
}

// runTxnSchedule runs one schedule on a tikvgo client built for the
// request's cluster.
func runTxnSchedule(ctx context.Context, req peer.TxnSchedRequest) peer.TxnOutcome {
	d, err := newTGDriver(ctx, req)
	if err != nil {
		return peer.TxnOutcome{Client: "tikvgo", Failed: err.Error()}
	}
	defer d.close()
	out := peer.RunTxnSchedule(ctx, req.Schedule, d)
	out.Client = "tikvgo"
	return out
}

// tgDriver is tikvgo's txnkv behind peer.TxnDriver.
type tgDriver struct {
	cli  *txnkv.Client
	conn *grpc.ClientConn
	kv   tikvpb.TikvClient
}

func newTGDriver(ctx context.Context, req peer.TxnSchedRequest) (*tgDriver, error) {
	if len(req.PD) == 0 {
		return nil, errNoPD
	}
	cli, err := txnkv.New(ctx, req.PD)
	if err != nil {
		return nil, fmt.Errorf("txnkv.New: %w", err)
	}
	conn, err := grpc.NewClient(req.LockWaitStore, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	return &tgDriver{cli: cli, conn: conn, kv: tikvpb.NewTikvClient(conn)}, nil
}

func (d *tgDriver) close() {
	_ = d.conn.Close()
	_ = d.cli.Close()
}

func (d *tgDriver) Begin(ctx context.Context, spec peer.TxnSpec) (peer.TxnHandle, error) {
	opts := []txnkv.TxnOption{}
	if spec.Pessimistic {
		opts = append(opts, txnkv.WithPessimistic())
	}
	switch spec.Commit {
	case peer.CommitAsync:
		opts = append(opts, txnkv.WithAsyncCommit())
	case peer.Commit1PC:
		opts = append(opts, txnkv.With1PC())
	}
	txn, err := d.cli.Begin(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return tgTxn{txn: txn}, nil
}

func (d *tgDriver) SnapshotAt(ctx context.Context, ts uint64) (peer.TxnReader, error) {
	snap, err := d.cli.Snapshot(ctx, tso.Timestamp(ts))
	if err != nil {
		return nil, err
	}
	return tgSnap{snap: snap}, nil
}

func (d *tgDriver) Settle(ctx context.Context) error { return d.cli.Committer().Drain(ctx) }

func (d *tgDriver) Waiting(ctx context.Context, startTS uint64) (bool, error) {
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

// Classify maps tikvgo's typed errors to the compared classes.
func (d *tgDriver) Classify(err error) string {
	var locked *txnkv.KeyIsLockedError
	switch {
	case errors.Is(err, txnkv.ErrWriteConflict):
		return peer.ClassWriteConflict
	case errors.Is(err, txnkv.ErrKeyExists):
		return peer.ClassKeyExists
	case errors.Is(err, txnkv.ErrDeadlock):
		return peer.ClassDeadlock
	case errors.Is(err, txnkv.ErrLockWaitTimeout):
		return peer.ClassLockWaitTimeout
	case errors.As(err, &locked):
		return peer.ClassLockNoWait
	}
	return peer.ClassOther
}

// tgReader is what a transaction and a snapshot share.
type tgReader interface {
	Get(ctx context.Context, key []byte) ([]byte, error)
	BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error)
}

func tgGet(ctx context.Context, r tgReader, key []byte) ([]byte, bool, error) {
	v, err := r.Get(ctx, key)
	if errors.Is(err, txnkv.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func tgScan(seq func(func(txnkv.KV, error) bool)) ([]string, error) {
	var out []string
	for kv, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, string(kv.Key)+"="+string(kv.Value))
	}
	return out, nil
}

type tgSnap struct{ snap *txnkv.Snapshot }

func (s tgSnap) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	return tgGet(ctx, s.snap, key)
}

func (s tgSnap) BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error) {
	return s.snap.BatchGet(ctx, keys)
}

func (s tgSnap) Scan(ctx context.Context, start, end []byte) ([]string, error) {
	return tgScan(s.snap.Iter(ctx, start, end))
}

type tgTxn struct{ txn *txnkv.Txn }

func (t tgTxn) StartTS() uint64 { return uint64(t.txn.StartTS()) }

func (t tgTxn) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	return tgGet(ctx, t.txn, key)
}

func (t tgTxn) BatchGet(ctx context.Context, keys [][]byte) (map[string][]byte, error) {
	return t.txn.BatchGet(ctx, keys)
}

func (t tgTxn) Scan(ctx context.Context, start, end []byte) ([]string, error) {
	return tgScan(t.txn.Iter(ctx, start, end))
}

func (t tgTxn) Set(key, value []byte) error    { return t.txn.Set(key, value) }
func (t tgTxn) Delete(key []byte) error        { return t.txn.Delete(key) }
func (t tgTxn) Insert(key, value []byte) error { return t.txn.Insert(key, value) }

func (t tgTxn) Lock(ctx context.Context, wait time.Duration, keys ...[]byte) error {
	if wait < 0 {
		wait = txnkv.NoWait
	}
	_, err := t.txn.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: wait}, keys...)
	return err
}

func (t tgTxn) Commit(ctx context.Context) error   { return t.txn.Commit(ctx) }
func (t tgTxn) Rollback(ctx context.Context) error { return t.txn.Rollback(ctx) }
