package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tikvgo/tikvgo/e2e/cluster"
	"github.com/tikvgo/tikvgo/tikv"
)

// txnClient returns the suite cluster's transactional client (over a
// facade client built with opts), skipping
// under API V1TTL (TiKV serves no transactional commands there). Its keys
// are cleaned up with a transaction that deletes everything under ks's
// prefix: the raw cleanup of newKeyspace cannot reach transactional keys
// under API V2, whose prefix differs.
func txnClient(t *testing.T, opts ...tikv.Option) (*tikv.TxnClient, *keyspace) {
	t.Helper()
	if suiteCluster.APIVersion() == cluster.APIV1TTL {
		t.Skipf("transactions need API V1 or V2; the %s backend runs %s", suiteCluster.Kind(), suiteCluster.APIVersion())
	}
	cli := newClient(t, opts...)
	ks := newKeyspace(t, cli)
	tc, err := cli.Txn(callCtx(t))
	if err != nil {
		t.Fatalf("Txn: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		txn, err := tc.Begin(ctx)
		if err != nil {
			t.Errorf("cleanup begin: %v", err)
			return
		}
		for kv, err := range txn.Iter(ctx, ks.prefix, ks.end()) {
			if err != nil {
				t.Errorf("cleanup scan: %v", err)
				_ = txn.Rollback(ctx)
				return
			}
			_ = txn.Delete(kv.Key)
		}
		if err := txn.Commit(ctx); err != nil {
			t.Errorf("cleanup commit: %v", err)
		}
	})
	return tc, ks
}

// txnRegionKey is the region key of a transactional user key: under API
// V2 'x' and the keyspace id go first; every API version encodes it.
func txnRegionKey(cli *tikv.TxnClient, key []byte) []byte {
	if suiteCluster.APIVersion() != cluster.APIV2 {
		return encodeBytes(key)
	}
	id := cli.KeyspaceID()
	return encodeBytes(append([]byte{'x', byte(id >> 16), byte(id >> 8), byte(id)}, key...))
}

// TestTxnSmoke commits optimistic and pessimistic transactions on the
// suite's cluster (API V2 by default), across a region boundary, and
// checks reads, scans, a write conflict and a rollback speak user keys.
func TestTxnSmoke(t *testing.T) {
	tc, ks := txnClient(t)
	ctx := callCtx(t)
	keys, values := ks.numbered(6)

	// A boundary in the middle of the test's keys, through PD.
	pdCli := newClient(t)
	if _, err := pdCli.PD().SplitRegions(ctx, [][]byte{txnRegionKey(tc, keys[3])}); err != nil {
		t.Fatalf("PD SplitRegions: %v", err)
	}

	txn, err := tc.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if err := txn.Set(k, values[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}

	snap, err := tc.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for kv, err := range snap.Iter(ctx, ks.prefix, ks.end()) {
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		i := slices.IndexFunc(keys, func(k []byte) bool { return bytes.Equal(k, kv.Key) })
		if i < 0 || !bytes.Equal(kv.Value, values[i]) {
			t.Fatalf("scan yielded %q=%q", kv.Key, kv.Value)
		}
		got = append(got, kv.Key)
	}
	if len(got) != len(keys) {
		t.Fatalf("scan found %d keys, want %d", len(got), len(keys))
	}
	m, err := snap.BatchGet(ctx, keys)
	if err != nil || len(m) != len(keys) {
		t.Fatalf("batch get: %d keys, %v", len(m), err)
	}

	// Two transactions write one key: the second to commit conflicts, and
	// the error names the user key.
	t1, _ := tc.Begin(ctx)
	t2, _ := tc.Begin(ctx)
	_ = t1.Set(keys[0], []byte("t1"))
	_ = t2.Set(keys[0], []byte("t2"))
	if err := t2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var wc *tikv.WriteConflictError
	if err := t1.Commit(ctx); !errors.As(err, &wc) || !bytes.Equal(wc.Key, keys[0]) {
		t.Fatalf("conflicting commit: %v", err)
	}

	// A pessimistic transaction locks keys on both sides of the boundary,
	// rolls back, and another one locks them and commits.
	p, _ := tc.Begin(ctx, tikv.WithPessimistic())
	if _, err := p.LockKeys(ctx, tikv.LockOptions{}, keys[1], keys[4]); err != nil {
		t.Fatalf("lock keys: %v", err)
	}
	if err := p.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	p2, _ := tc.Begin(ctx, tikv.WithPessimistic())
	if _, err := p2.LockKeys(ctx, tikv.LockOptions{WaitTimeout: tikv.NoWait}, keys[1], keys[4]); err != nil {
		t.Fatalf("lock keys after rollback: %v", err)
	}
	_ = p2.Set(keys[4], []byte("p2"))
	if err := p2.Commit(ctx); err != nil {
		t.Fatalf("pessimistic commit: %v", err)
	}
	after, _ := tc.Snapshot(ctx, 0)
	for i, want := range map[int]string{0: "t2", 4: "p2", 5: string(values[5])} {
		if v, err := after.Get(ctx, keys[i]); err != nil || string(v) != want {
			t.Fatalf("%q = %q, %v; want %q", keys[i], v, err, want)
		}
	}
}

// TestTxnPipelined writes a pipelined transaction across a region
// boundary with a flush size small enough to flush many times, reads its
// own flushed writes, commits, and checks a rolled-back pipelined
// transaction leaves the data as it was.
func TestTxnPipelined(t *testing.T) {
	tc, ks := txnClient(t)
	ctx := callCtx(t)
	keys, values := ks.numbered(300)
	pdCli := newClient(t)
	if _, err := pdCli.PD().SplitRegions(ctx, [][]byte{txnRegionKey(tc, keys[150])}); err != nil {
		t.Fatalf("PD SplitRegions: %v", err)
	}
	pipelined := tikv.WithPipelinedDML(tikv.PipelinedFlushSize(1<<10), tikv.PipelinedThrottleSize(2<<10))

	txn, err := tc.Begin(ctx, pipelined)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if err := txn.Set(k, values[i]); err != nil {
			t.Fatalf("set: %v", err)
		}
	}
	if v, err := txn.Get(ctx, keys[0]); err != nil || !bytes.Equal(v, values[0]) {
		t.Fatalf("read own write: %q, %v", v, err)
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if st := txn.PipelinedStats(); st.Flushes < 2 || txn.CommitTS() == 0 {
		t.Fatalf("stats %+v, commit ts %d", st, txn.CommitTS())
	}

	rb, err := tc.Begin(ctx, pipelined)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := rb.Set(k, []byte("rolled back")); err != nil {
			t.Fatalf("set: %v", err)
		}
	}
	if err := rb.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}

	snap, err := tc.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := snap.BatchGet(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if !bytes.Equal(m[string(k)], values[i]) {
			t.Fatalf("key %q: %q, want %q", k, m[string(k)], values[i])
		}
	}
}
