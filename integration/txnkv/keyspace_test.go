package txnkv_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/txnkv"
)

// Keyspaces a (id 1) and b (id 2) of the API V2 test cluster.
const (
	ksA uint32 = 1
	ksB uint32 = 2
)

// wireKey is the API V2 transactional wire key of key in keyspace id.
func wireKey(id uint32, key string) []byte {
	return append([]byte{'x', byte(id >> 16), byte(id >> 8), byte(id)}, key...)
}

// startV2Env starts an API V2 cluster with keyspaces a and b, regions
// split inside keyspace a at splits (user keys), and e.cli in keyspace a.
func startV2Env(t testing.TB, splits ...string) *env {
	t.Helper()
	var sk [][]byte
	for _, s := range splits {
		sk = append(sk, tikvsim.EncodeKey(wireKey(ksA, s)))
	}
	return startSimEnv(t, tikvsim.Options{Stores: 3, SplitKeys: sk,
		APIVersion: kvrpcpb.APIVersion_V2, Keyspaces: []string{"a", "b"}}, txnkv.WithKeyspaceID(ksA))
}

// scanKeys collects the keys and values of an iteration.
func scanKeys(t testing.TB, seq func(func(txnkv.KV, error) bool)) []string {
	t.Helper()
	var out []string
	for kv, err := range seq {
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		out = append(out, string(kv.Key)+"="+string(kv.Value))
	}
	return out
}

// TestKeyspacesAreIsolated: two clients in two keyspaces of one cluster
// write the same user keys; each reads back only its own, under the user
// keys, with every read form, and a scan of the whole user key space stays
// inside the keyspace.
func TestKeyspacesAreIsolated(t *testing.T) {
	t.Parallel()
	e := startV2Env(t, "m")
	ctx := testCtx(t)
	a := e.cli
	b := e.newClient(txnkv.WithKeyspaceID(ksB))
	if a.KeyspaceID() != ksA || b.KeyspaceID() != ksB {
		t.Fatalf("keyspace ids %d, %d", a.KeyspaceID(), b.KeyspaceID())
	}
	// Every request carries the keyspace in its context; tikvsim checks
	// that each key carries the same one.
	e.put(ctx, "a1", "A", "k", "A", "z", "A")
	eb := &env{t: t, sim: e.sim, cli: b}
	eb.put(ctx, "k", "B")

	for _, c := range []struct {
		cli  *txnkv.Client
		want []string
	}{{a, []string{"a1=A", "k=A", "z=A"}}, {b, []string{"k=B"}}} {
		snap, err := c.cli.Snapshot(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := scanKeys(t, snap.Iter(ctx, nil, nil)); !slices.Equal(got, c.want) {
			t.Errorf("keyspace %d: scan = %v, want %v", c.cli.KeyspaceID(), got, c.want)
		}
		rev := slices.Clone(c.want)
		slices.Reverse(rev)
		if got := scanKeys(t, snap.IterReverse(ctx, nil, []byte("\xff\xff"))); !slices.Equal(got, rev) {
			t.Errorf("keyspace %d: reverse scan = %v, want %v", c.cli.KeyspaceID(), got, rev)
		}
		// A page size of one walks the region boundary page by page.
		if got := scanKeys(t, snap.Iter(ctx, nil, nil, txnkv.ScanBatchSize(1))); !slices.Equal(got, c.want) {
			t.Errorf("keyspace %d: paged scan = %v, want %v", c.cli.KeyspaceID(), got, c.want)
		}
		got, err := snap.BatchGet(ctx, [][]byte{[]byte("a1"), []byte("k"), []byte("z")})
		if err != nil || len(got) != len(c.want) {
			t.Errorf("keyspace %d: batch get = %q, %v", c.cli.KeyspaceID(), got, err)
		}
	}
	snapB, _ := b.Snapshot(ctx, 0)
	if _, err := snapB.Get(ctx, []byte("a1")); !errors.Is(err, txnkv.ErrNotFound) {
		t.Fatalf("b reads a's key: %v", err)
	}
	if v, err := snapB.Get(ctx, []byte("k")); err != nil || string(v) != "B" {
		t.Fatalf("b get k = %q, %v", v, err)
	}

	// A transaction's iteration merges its buffer with the keyspace's
	// data, in user keys.
	txn, _ := a.Begin(ctx)
	_ = txn.Set([]byte("n"), []byte("buf"))
	_ = txn.Delete([]byte("k"))
	if got := scanKeys(t, txn.Iter(ctx, nil, nil)); !slices.Equal(got, []string{"a1=A", "n=buf", "z=A"}) {
		t.Fatalf("txn scan = %v", got)
	}
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if v, ok := eb.mustGet(ctx, "k"); !ok || v != "B" {
		t.Fatalf("a's delete reached b: %q %v", v, ok)
	}
}

// TestKeyspaceErrorsNameUserKeys: conflicts, existing keys, live locks and
// deadlocks found under API V2 name the keys the caller used.
func TestKeyspaceErrorsNameUserKeys(t *testing.T) {
	t.Parallel()
	e := startV2Env(t, "m")
	ctx := testCtx(t)
	e.put(ctx, "dup", "1")

	// Optimistic write conflict.
	t1, _ := e.cli.Begin(ctx)
	_ = t1.Set([]byte("c"), []byte("1"))
	e.put(ctx, "c", "2")
	var wc *txnkv.WriteConflictError
	err := t1.Commit(ctx)
	if !errors.As(err, &wc) || string(wc.Key) != "c" || string(wc.Primary) != "c" || !txnkv.IsRetryable(err) {
		t.Fatalf("write conflict: %v", err)
	}
	if strings.Contains(err.Error(), `\x00`) || !strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("write conflict message names a wire key: %v", err)
	}
	// Insert of an existing key.
	t2, _ := e.cli.Begin(ctx)
	_ = t2.Insert([]byte("dup"), []byte("2"))
	var ke *txnkv.KeyExistsError
	if err := t2.Commit(ctx); !errors.As(err, &ke) || string(ke.Key) != "dup" {
		t.Fatalf("key exists: %v", err)
	}
	// A no-wait lock request meets another transaction's lock.
	p1, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	p2, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := p1.LockKeys(ctx, txnkv.LockOptions{}, []byte("p"), []byte("q")); err != nil {
		t.Fatal(err)
	}
	var kl *txnkv.KeyIsLockedError
	_, err = p2.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("q"))
	if !errors.As(err, &kl) || string(kl.Lock.Key) != "q" || string(kl.Lock.Primary) != "p" {
		t.Fatalf("no-wait lock: %v", err)
	}
	// The lock on the wire is the encoded key: the resolver works on it.
	if err := p1.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("q")); err != nil {
		t.Fatalf("lock after the holder rolled back: %v", err)
	}
	_ = p2.Set([]byte("q"), []byte("p2"))
	if err := p2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if v, ok := e.mustGet(ctx, "q"); !ok || v != "p2" {
		t.Fatalf("q = %q %v", v, ok)
	}

	// A deadlock between two pessimistic transactions.
	d1, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	d2, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := d1.LockKeys(ctx, txnkv.LockOptions{}, []byte("d1")); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.LockKeys(ctx, txnkv.LockOptions{}, []byte("d2")); err != nil {
		t.Fatal(err)
	}
	arrived := make(chan struct{}, 16)
	remove := e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvPessimisticLock" {
			arrived <- struct{}{}
		}
	})
	defer remove()
	out := make(chan error, 2)
	go func() {
		_, err := d1.LockKeys(ctx, txnkv.LockOptions{Aggressive: true}, []byte("d2"))
		out <- err
	}()
	<-arrived
	go func() {
		_, err := d2.LockKeys(ctx, txnkv.LockOptions{Aggressive: true}, []byte("d1"))
		out <- err
	}()
	var dl *txnkv.DeadlockError
	if err := <-out; !errors.As(err, &dl) {
		t.Fatalf("first outcome %v, want a deadlock", err)
	}
	if k := string(dl.LockKey); k != "" && k != "d1" && k != "d2" {
		t.Errorf("deadlock lock key %q", dl.LockKey)
	}
	for _, w := range dl.WaitChain {
		if k := string(w.Key); k != "" && k != "d1" && k != "d2" {
			t.Errorf("wait chain key %q", w.Key)
		}
	}
	victim, survivor := d1, d2
	if dl.StartTS == d2.StartTS() {
		victim, survivor = d2, d1
	}
	if err := victim.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-out; err != nil {
		t.Fatalf("survivor: %v", err)
	}
	if err := survivor.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestKeyspaceSplitsAndLocks: regions split at encoded keyspace keys while
// transactions run; commits, pessimistic locks, scans and lock resolution
// go on in wire keys and answer in user keys.
func TestKeyspaceSplitsAndLocks(t *testing.T) {
	t.Parallel()
	e := startV2Env(t)
	ctx := testCtx(t)
	keys := []string{"b", "f", "k", "p", "u"}
	w, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := w.LockKeys(ctx, txnkv.LockOptions{}, []byte("b"), []byte("u")); err != nil {
		t.Fatal(err)
	}
	// Split the keyspace between the keys, at encoded boundaries, while
	// the transaction holds its locks.
	for _, k := range []string{"d", "h", "m", "r"} {
		if _, err := e.sim.SplitRegionAt(tikvsim.EncodeKey(wireKey(ksA, k))); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		_ = w.Set([]byte(k), []byte("v-"+k))
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	snap, _ := e.cli.Snapshot(ctx, 0)
	var want []string
	for _, k := range keys {
		want = append(want, k+"=v-"+k)
	}
	if got := scanKeys(t, snap.Iter(ctx, nil, nil, txnkv.ScanBatchSize(2))); !slices.Equal(got, want) {
		t.Fatalf("scan across regions = %v", got)
	}
	if got := scanKeys(t, snap.Iter(ctx, []byte("c"), []byte("q"))); !slices.Equal(got, want[1:4]) {
		t.Fatalf("bounded scan = %v", got)
	}

	// A writer whose secondary commit is parked leaves a lock on an
	// encoded key; a later reader resolves it (the primary committed) and
	// reads through it.
	arrived, release := e.park("KvCommit", wireKey(ksA, "u"))
	defer release()
	w2 := e.put(ctx, "b", "new", "u", "new")
	<-arrived
	snap, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if snap.TS() <= w2.CommitTS() {
		t.Fatal("snapshot not after the commit")
	}
	if v, err := snap.Get(ctx, []byte("u")); err != nil || string(v) != "new" {
		t.Fatalf("read through a committed transaction's lock = %q, %v", v, err)
	}
	release()
}

// gcStates is a GC state source that answers for one keyspace with its own
// keyspace-level GC state and for everything else with the null keyspace.
type gcStates struct {
	keyspace  uint32
	ownGC     bool
	keyspaceP uint64 // the keyspace's txn safe point
	nullP     uint64 // the null keyspace's
	asked     []uint32
}

func (g *gcStates) GetGCState(_ context.Context, id uint32, _ bool, _ ...pdclient.CallOption) (pdclient.GCState, error) {
	g.asked = append(g.asked, id)
	if id == g.keyspace && g.ownGC {
		return pdclient.GCState{KeyspaceID: id, KeyspaceLevelGC: true, TxnSafePoint: g.keyspaceP}, nil
	}
	// As PD does, a keyspace without its own GC is answered with the
	// null keyspace's state.
	return pdclient.GCState{KeyspaceID: pdclient.NullKeyspaceID, TxnSafePoint: g.nullP}, nil
}

// TestKeyspaceGCState: under API V2 the GC-too-early check uses the
// keyspace's safe point when the keyspace runs its own GC, and the null
// keyspace's otherwise.
func TestKeyspaceGCState(t *testing.T) {
	t.Parallel()
	e := startV2Env(t)
	ctx := testCtx(t)
	now, err := e.cli.CurrentTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := tso.Compose(now.Physical()-60_000, 0)
	for _, c := range []struct {
		name    string
		src     gcStates
		tooOld  bool
		askedID []uint32
	}{
		{"keyspace GC ahead", gcStates{keyspace: ksA, ownGC: true, keyspaceP: uint64(now), nullP: 0}, true, []uint32{ksA}},
		{"keyspace GC behind", gcStates{keyspace: ksA, ownGC: true, keyspaceP: 0, nullP: uint64(now)}, false, []uint32{ksA}},
		{"unified GC", gcStates{keyspace: ksA, nullP: uint64(now)}, true, []uint32{ksA}},
	} {
		cli, err := txnkv.NewWithCluster(txnkv.Cluster{GC: &c.src, Cache: e.cache, RPC: e.rpc, TSO: e.tso}, txnkv.WithKeyspaceID(ksA))
		if err != nil {
			t.Fatal(err)
		}
		_, err = cli.Snapshot(ctx, old)
		if got := errors.Is(err, txnkv.ErrGCTooEarly); got != c.tooOld || (err != nil && !got) {
			t.Errorf("%s: snapshot at an old ts: %v", c.name, err)
		}
		if !slices.Equal(c.src.asked, c.askedID) {
			t.Errorf("%s: asked for keyspaces %v, want %v", c.name, c.src.asked, c.askedID)
		}
		_ = cli.Close()
	}
}

// TestKeyspaceOptions: WithKeyspace loads the keyspace by name in New,
// NewWithCluster refuses it (it does no I/O), and an unknown keyspace fails
// with ErrKeyspace.
func TestKeyspaceOptions(t *testing.T) {
	t.Parallel()
	e := startV2Env(t)
	ctx := testCtx(t)
	if _, err := txnkv.NewWithCluster(txnkv.Cluster{Cache: e.cache, RPC: e.rpc, TSO: e.tso}, txnkv.WithKeyspace("a")); !errors.Is(err, txnkv.ErrInvalidOption) {
		t.Fatalf("NewWithCluster with a keyspace name: %v", err)
	}
	if _, err := txnkv.NewWithCluster(txnkv.Cluster{Cache: e.cache, RPC: e.rpc, TSO: e.tso}, txnkv.WithKeyspaceID(1<<24)); !errors.Is(err, txnkv.ErrInvalidOption) {
		t.Fatalf("keyspace id beyond 24 bits: %v", err)
	}
	if _, err := txnkv.New(ctx, e.sim.PDAddrs(), txnkv.WithKeyspace("nope")); !errors.Is(err, txnkv.ErrKeyspace) {
		t.Fatalf("unknown keyspace: %v", err)
	}
	cli, err := txnkv.New(ctx, e.sim.PDAddrs(), txnkv.WithKeyspace("b"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	if cli.KeyspaceID() != ksB {
		t.Fatalf("keyspace id %d", cli.KeyspaceID())
	}
	txn, _ := cli.Begin(ctx)
	_ = txn.Set([]byte("k"), []byte("b"))
	if err := txn.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.mustGet(ctx, "k"); ok {
		t.Fatal("b's write visible in a")
	}
}

// TestKeyspaceSharedLocks: two transactions share-lock one key of an API V2
// keyspace and commit; an exclusive no-wait locker meanwhile is refused
// with the user key.
func TestKeyspaceSharedLocks(t *testing.T) {
	t.Parallel()
	e := startV2Env(t)
	ctx := testCtx(t)
	var holders []*txnkv.Txn
	for _, primary := range []string{"p1", "p2"} {
		h, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
		if _, err := h.LockKeys(ctx, txnkv.LockOptions{}, []byte(primary)); err != nil {
			t.Fatal(err)
		}
		if _, err := h.LockKeys(ctx, txnkv.LockOptions{Shared: true}, []byte("s")); err != nil {
			t.Fatalf("shared lock by %s: %v", primary, err)
		}
		holders = append(holders, h)
	}
	x, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	var kl *txnkv.KeyIsLockedError
	if _, err := x.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("s")); !errors.As(err, &kl) || string(kl.Lock.Key) != "s" {
		t.Fatalf("exclusive lock over shared holders: %v", err)
	}
	_ = x.Rollback(ctx)
	for _, h := range holders {
		if err := h.Commit(ctx); err != nil {
			t.Fatalf("holder commit: %v", err)
		}
	}
	w, _ := e.cli.Begin(ctx, txnkv.WithPessimistic())
	if _, err := w.LockKeys(ctx, txnkv.LockOptions{WaitTimeout: txnkv.NoWait}, []byte("s")); err != nil {
		t.Fatalf("exclusive lock after the holders left: %v", err)
	}
	_ = w.Set([]byte("s"), []byte("w"))
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if v, ok := e.mustGet(ctx, "s"); !ok || v != "w" {
		t.Fatalf("s = %q %v", v, ok)
	}
}
