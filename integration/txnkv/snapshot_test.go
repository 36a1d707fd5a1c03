package txnkv_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/txnkv"
)

// park holds the next request of cmd (optionally for key) until the
// returned release is called, and returns a channel that is closed once
// the request has arrived.
func (e *env) park(cmd string, key []byte) (arrived <-chan struct{}, release func()) {
	return e.parkAfter(cmd, key, 1)
}

// parkAfter is park for a call that sends n requests of cmd at once, one of
// them for key: arrived is closed once all n have arrived, so the parked
// one is among them whatever their order.
func (e *env) parkAfter(cmd string, key []byte, n int) (arrived <-chan struct{}, release func()) {
	hold := make(chan struct{})
	in := make(chan struct{})
	var (
		relOnce sync.Once
		seen    atomic.Int64
	)
	remove := e.sim.OnRequest(func(_ uint64, c string) {
		if c == cmd && seen.Add(1) == int64(n) {
			close(in)
		}
	})
	removeFault := e.sim.InjectFault(tikvsim.Fault{Command: cmd, Key: key, Count: 1, Hold: hold})
	e.t.Cleanup(func() { remove(); removeFault() })
	return in, func() { relOnce.Do(func() { close(hold) }) }
}

// reshape splits the region holding key at key and moves the leader of
// both halves to another store, as PD's scheduler might mid-request.
func (e *env) reshape(key string) {
	e.t.Helper()
	if _, err := e.sim.SplitRegion([]byte(key)); err != nil {
		e.t.Fatalf("split at %q: %v", key, err)
	}
	for _, k := range []string{key, key + "\x00"} {
		r, err := e.sim.RegionByKey(tikvsim.EncodeKey([]byte(k)))
		if err != nil {
			e.t.Fatal(err)
		}
		for _, p := range r.Peers {
			if p.StoreID != r.Leader && !p.Learner {
				if err := e.sim.TransferLeader(r.ID, p.StoreID); err != nil {
					e.t.Fatal(err)
				}
				break
			}
		}
	}
}

func keysN(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

func TestBatchGetAcrossRegionsWhileSplitting(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []string{"k030", "k060"}, txnkv.WithReadConcurrency(2))
	ctx := testCtx(t)
	keys := keysN("k", 90)
	var kv []string
	for _, k := range keys {
		kv = append(kv, k, "v"+k)
	}
	e.put(ctx, kv...)

	snap, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Three regions, three requests; the one for the middle region is
	// held while that region splits and its halves change leaders.
	arrived, release := e.parkAfter("KvBatchGet", []byte("k045"), 3)
	defer release()
	type result struct {
		m   map[string][]byte
		err error
	}
	done := make(chan result, 1)
	var req [][]byte
	for _, k := range keys {
		req = append(req, []byte(k))
	}
	req = append(req, []byte("k010"), []byte("missing"))
	go func() {
		m, err := snap.BatchGet(ctx, req)
		done <- result{m, err}
	}()
	<-arrived
	e.reshape("k045")
	release()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.m) != len(keys) {
		t.Fatalf("got %d keys, want %d", len(r.m), len(keys))
	}
	for _, k := range keys {
		if string(r.m[k]) != "v"+k {
			t.Fatalf("%s = %q", k, r.m[k])
		}
	}
}

func TestScanAcrossRegionsWhileSplitting(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []string{"k020", "k050"})
	ctx := testCtx(t)
	keys := keysN("k", 80)
	var kv []string
	for _, k := range keys {
		kv = append(kv, k, "v"+k)
	}
	e.put(ctx, kv...)
	snap, err := e.cli.Snapshot(ctx, 0, txnkv.WithScanBatchSize(7))
	if err != nil {
		t.Fatal(err)
	}
	scan := func(reverse bool, start, end string) ([]string, error) {
		seq := snap.Iter(ctx, []byte(start), []byte(end))
		if reverse {
			seq = snap.IterReverse(ctx, []byte(start), []byte(end))
		}
		var out []string
		for p, err := range seq {
			if err != nil {
				return out, err
			}
			if string(p.Value) != "v"+string(p.Key) {
				return out, fmt.Errorf("%s = %q", p.Key, p.Value)
			}
			out = append(out, string(p.Key))
		}
		return out, nil
	}
	// Forward over everything while a region splits and moves its leader
	// under a parked page.
	arrived, release := e.park("KvScan", nil)
	done := make(chan error, 1)
	var got []string
	go func() {
		var err error
		got, err = scan(false, "", "")
		done <- err
	}()
	<-arrived
	e.reshape("k035")
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, keys) {
		t.Fatalf("forward scan got %d keys: %v", len(got), got)
	}
	rev, err := scan(true, "k010", "k070")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(keys[10:70])
	slices.Reverse(want)
	if !slices.Equal(rev, want) {
		t.Fatalf("reverse scan = %v", rev)
	}
	// Early break and bounds.
	n := 0
	for _, err := range snap.Iter(ctx, []byte("k005"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	for _, err := range snap.IterReverse(ctx, nil, nil) {
		if !errors.Is(err, txnkv.ErrInvalidRange) {
			t.Fatalf("reverse without end: %v", err)
		}
	}
}

func TestReadsResolveLocks(t *testing.T) {
	t.Parallel()
	e := startEnv(t, []string{"m"})
	ctx := testCtx(t)
	e.put(ctx, "a", "old", "z", "old")

	// A writer whose primary commit is parked: its locks are live.
	arrived, release := e.park("KvCommit", []byte("a"))
	w, _ := e.cli.Begin(ctx)
	_ = w.Set([]byte("a"), []byte("new"))
	_ = w.Set([]byte("z"), []byte("new"))
	done := make(chan error, 1)
	go func() { done <- w.Commit(ctx) }()
	<-arrived

	// A reader at a later ts meets the live locks: the resolver pushes
	// the writer's min commit ts above it, so it reads the old values
	// without waiting for the TTL.
	start := time.Now()
	r, _ := e.cli.Begin(ctx)
	got, err := r.BatchGet(ctx, [][]byte{[]byte("a"), []byte("z")})
	if err != nil || string(got["a"]) != "old" || string(got["z"]) != "old" {
		t.Fatalf("read through live locks = %q, %v", got, err)
	}
	var scanned []string
	for p, err := range r.Iter(ctx, nil, nil) {
		if err != nil {
			t.Fatal(err)
		}
		scanned = append(scanned, string(p.Value))
	}
	if !slices.Equal(scanned, []string{"old", "old"}) {
		t.Fatalf("scan through live locks = %v", scanned)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("reads waited %v for a lock they could push", d)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if w.CommitTS() <= r.StartTS() {
		t.Fatalf("writer committed at %v, not above the reader's %v", w.CommitTS(), r.StartTS())
	}
	_ = r.Rollback(ctx)

	// A writer whose secondary commit is parked: the primary is committed,
	// so a later reader reads through the secondary's lock.
	arrived, release = e.park("KvCommit", []byte("z"))
	defer release()
	w2 := e.put(ctx, "a", "newer", "z", "newer")
	<-arrived
	snap, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if snap.TS() <= w2.CommitTS() {
		t.Fatal("snapshot not after the commit")
	}
	v, err := snap.Get(ctx, []byte("z"))
	if err != nil || string(v) != "newer" {
		t.Fatalf("read of a committed transaction's lock = %q, %v", v, err)
	}
	release()
}

func TestGCTooEarly(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	old := e.put(ctx, "k", "v")
	if _, err := e.cli.Snapshot(ctx, old.CommitTS()); err != nil {
		t.Fatal(err)
	}
	now, _ := e.cli.CurrentTS(ctx)
	if _, err := e.pd.AdvanceTxnSafePoint(ctx, pdclient.NullKeyspaceID, uint64(now)); err != nil {
		t.Fatal(err)
	}
	// Once the safe point is past the read ts, reads fail rather than
	// returning what GC may have removed. (The old snapshot's client
	// cached the safe point; a ts below the cached value is checked, one
	// above it is trusted for WithSafePointTTL.)
	e.cli = e.newClient()
	_, err := e.cli.Snapshot(ctx, old.CommitTS())
	if !errors.Is(err, txnkv.ErrGCTooEarly) {
		t.Fatalf("snapshot below the safe point: %v", err)
	}
	var gce *txnkv.GCTooEarlyError
	if !errors.As(err, &gce) || gce.StartTS != old.CommitTS() || txnkv.IsRetryable(err) {
		t.Fatalf("error %v", err)
	}
	if _, err := e.cli.Begin(ctx, txnkv.WithStartTS(old.StartTS())); !errors.Is(err, txnkv.ErrGCTooEarly) {
		t.Fatalf("begin below the safe point: %v", err)
	}
	if v, ok := e.mustGet(ctx, "k"); !ok || v != "v" {
		t.Fatalf("fresh read = %q %v", v, ok)
	}
}

func TestStaleAndReplicaReads(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	w := e.put(ctx, "k", "v")
	gets := e.count("KvGet")

	// A stale read of a replica whose safe ts is behind gets
	// DataIsNotReady and is answered by the leader.
	r, err := e.sim.RegionByKey(tikvsim.EncodeKey([]byte("k")))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetSafeTS(r.ID, 1); err != nil {
		t.Fatal(err)
	}
	stale, err := e.cli.Begin(ctx, txnkv.WithStartTS(w.CommitTS()), txnkv.WithStaleRead())
	if err != nil {
		t.Fatal(err)
	}
	if v, err := stale.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("stale read = %q, %v", v, err)
	}
	if gets.Load() < 1 {
		t.Fatal("no KvGet reached a store")
	}
	if err := stale.Set([]byte("k"), nil); !errors.Is(err, txnkv.ErrReadOnly) {
		t.Fatalf("write in a stale transaction: %v", err)
	}
	_ = stale.Rollback(ctx)
	_ = e.sim.SetSafeTS(r.ID, 0)

	for _, mode := range []txnkv.ReplicaRead{txnkv.ReadFollower, txnkv.ReadMixed, txnkv.ReadPreferLeader} {
		snap, err := e.cli.Snapshot(ctx, 0, txnkv.WithReplicaRead(mode), txnkv.WithIsolation(txnkv.RC))
		if err != nil {
			t.Fatal(err)
		}
		if v, err := snap.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
			t.Fatalf("%v read = %q, %v", mode, v, err)
		}
	}
}

// TestBoundedStaleness: the start ts is the stores' smallest safe ts when
// that is within the bound, and the bound otherwise.
func TestBoundedStaleness(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	w := e.put(ctx, "k", "v")
	r, err := e.sim.RegionByKey(tikvsim.EncodeKey([]byte("k")))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetSafeTS(r.ID, uint64(w.CommitTS())); err != nil {
		t.Fatal(err)
	}
	txn, err := e.cli.Begin(ctx, txnkv.WithBoundedStaleness(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if txn.StartTS() != w.CommitTS() {
		t.Fatalf("start ts %v, want the safe ts %v", txn.StartTS(), w.CommitTS())
	}
	if v, err := txn.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("read = %q, %v", v, err)
	}
	// A safe ts older than the bound: the bound wins.
	if err := e.sim.SetSafeTS(r.ID, 1); err != nil {
		t.Fatal(err)
	}
	now, _ := e.cli.CurrentTS(ctx)
	txn, err = e.cli.Begin(ctx, txnkv.WithBoundedStaleness(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got, lo := txn.StartTS().Physical(), now.Physical()-1000; got < lo || got > now.Physical() {
		t.Fatalf("start ts physical %d, want within [%d, %d]", got, lo, now.Physical())
	}
	if _, err := e.cli.Begin(ctx, txnkv.WithBoundedStaleness(time.Second), txnkv.WithStaleness(time.Second)); !errors.Is(err, txnkv.ErrInvalidOption) {
		t.Fatalf("two staleness options: %v", err)
	}
}

// TestReadBacksOffOnLiveLock: an async-commit transaction's lock cannot be
// pushed, so a reader that meets it while its commit is in flight backs
// off and reads the committed value once the lock is gone.
func TestReadBacksOffOnLiveLock(t *testing.T) {
	t.Parallel()
	e := startEnv(t, nil)
	ctx := testCtx(t)
	e.put(ctx, "k", "old")
	arrived, release := e.park("KvCommit", []byte("k"))
	defer release()
	w, _ := e.cli.Begin(ctx, txnkv.WithAsyncCommit())
	_ = w.Set([]byte("k"), []byte("new"))
	if err := w.Commit(ctx); err != nil { // decided once prewritten
		t.Fatal(err)
	}
	<-arrived
	checked := make(chan struct{}, 64)
	remove := e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvCheckTxnStatus" {
			checked <- struct{}{}
		}
	})
	defer remove()
	type result struct {
		v   []byte
		err error
	}
	done := make(chan result, 1)
	snap, err := e.cli.Snapshot(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		v, err := snap.Get(ctx, []byte("k"))
		done <- result{v, err}
	}()
	<-checked // the reader met the lock and asked its primary
	select {
	case r := <-done:
		t.Fatalf("read returned %q, %v while the lock was live", r.v, r.err)
	default:
	}
	release()
	r := <-done
	if r.err != nil || string(r.v) != "new" {
		t.Fatalf("read after the commit = %q, %v", r.v, r.err)
	}
}
