package twopc_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"google.golang.org/grpc/codes"

	"github.com/tikvgo/tikvgo/integration/internal/simstack"
	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// flushTwo starts a pipelined transaction and flushes a put of "a" (the
// primary) and of "z" (a secondary, in another region when e splits at
// "m").
func flushTwo(t *testing.T, ctx context.Context, cli *twopc.Client, start tso.Timestamp) *twopc.Pipeline {
	t.Helper()
	p, err := cli.NewPipeline(start)
	if err != nil {
		t.Fatal(err)
	}
	muts := twopc.MutationSlice{
		{Op: twopc.OpPut, Key: []byte("a"), Value: []byte("va")},
		{Op: twopc.OpPut, Key: []byte("z"), Value: []byte("vz")},
	}
	if err := p.Flush(ctx, muts, 1); err != nil {
		t.Fatal(err)
	}
	return p
}

// beats returns a channel that gets a value per TxnHeartBeat the stores
// receive.
func beats(t *testing.T, sim *tikvsim.Cluster) <-chan struct{} {
	ch := make(chan struct{}, 1000)
	t.Cleanup(sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "KvTxnHeartBeat" {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}))
	return ch
}

// safeTS is the smallest stale-read safe ts the stores report.
func safeTS(t *testing.T, ctx context.Context, e *env) uint64 {
	t.Helper()
	if err := e.cache.RefreshSafeTS(ctx, e.snd.RPCClient()); err != nil {
		t.Fatal(err)
	}
	return e.cache.MinSafeTS()
}

// rawGet reads key at readTS once, without resolving: it reports the lock
// the read met, if any.
func rawGet(t *testing.T, ctx context.Context, e *env, key string, readTS tso.Timestamp) *kvrpcpb.GetResponse {
	t.Helper()
	resp, err := e.send(ctx, []byte(key), func() *kvrpc.Request {
		return kvrpc.NewGet(&kvrpcpb.GetRequest{Context: e.codec.Context(), Key: []byte(key), Version: uint64(readTS)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Message().(*kvrpcpb.GetResponse)
}

// primaryLock returns the primary lock of the transaction as TiKV holds
// it.
func primaryLock(t *testing.T, ctx context.Context, e *env, start tso.Timestamp) *kvrpcpb.LockInfo {
	t.Helper()
	resp, err := e.send(ctx, []byte("a"), func() *kvrpc.Request {
		return kvrpc.NewScanLock(&kvrpcpb.ScanLockRequest{Context: e.codec.Context(), MaxVersion: uint64(start), StartKey: []byte("a"), EndKey: []byte("b"), Limit: 10})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range resp.Message().(*kvrpcpb.ScanLockResponse).GetLocks() {
		if l.GetLockVersion() == uint64(start) {
			return l
		}
	}
	t.Fatal("primary lock not found")
	return nil
}

// TestPipelinedHeartbeatPushesAndBroadcasts: each beat pushes the
// primary's min commit ts to a fresh ts and broadcasts the running status
// to every store; the stores' safe ts then passes a reader below that ts,
// and the secondary lock it meets is ignored at once; Commit tells the
// stores the commit ts before it returns, and once the locks are resolved
// (and the grace period passed) that the transaction completed.
func TestPipelinedHeartbeatPushesAndBroadcasts(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: []string{"m"}, opts: []twopc.Option{
		twopc.WithManagedLockTTL(40*time.Millisecond, time.Hour), twopc.WithBroadcastGracePeriod(0)}})
	ctx := testCtx(t)
	hb := beats(t, e.sim)
	bc := broadcasts(t, e.sim)
	start := e.now(ctx)
	p := flushTwo(t, ctx, e.cli, start)
	readTS := e.now(ctx) // taken before any beat: below every pushed ts

	// Without a status, the stores hold their resolved (stale-read safe)
	// ts below the transaction's start.
	if ts := safeTS(t, ctx, e); ts >= uint64(start) {
		t.Fatalf("safe ts %d before any beat, want below start ts %d", ts, start)
	}
	// The second beat starts after the first one's broadcast returned.
	<-hb
	<-hb
	if l := primaryLock(t, ctx, e, start); l.GetMinCommitTs() <= uint64(readTS) {
		t.Fatalf("primary min commit ts %d not pushed above %d", l.GetMinCommitTs(), readTS)
	}
	for id := uint64(1); id <= 3; id++ {
		if bc.of(id) == 0 {
			t.Fatalf("store %d got no broadcast", id)
		}
		minTS, commitTS, rolledBack, ok := e.sim.TxnStatus(id, uint64(start))
		if !ok || minTS <= uint64(readTS) || commitTS != 0 || rolledBack {
			t.Fatalf("store %d status: min %d commit %d rolled back %v cached %v", id, minTS, commitTS, rolledBack, ok)
		}
	}
	// Every store now knows the transaction commits above readTS: a stale
	// reader at readTS is served, and the secondary lock it meets (on a
	// store without the primary) is ignored at once, without waiting for
	// the lock's TTL.
	if ts := safeTS(t, ctx, e); ts < uint64(readTS) {
		t.Fatalf("safe ts %d, want at least the reader's ts %d", ts, readTS)
	}
	r := rawGet(t, ctx, e, "z", readTS)
	if r.GetError().GetLocked() == nil {
		t.Fatalf("read of z: %v, want the secondary lock", r)
	}
	rr, err := e.cli.Resolver().ResolveLocksForRead(ctx, retry.New(time.Second), readTS, []*twopc.Lock{twopc.NewLock(r.GetError().GetLocked())})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Wait != 0 || !slices.Contains(rr.Resolved, start) {
		t.Fatalf("resolving for a read below the min commit ts: wait %v, ignorable %v", rr.Wait, rr.Resolved)
	}

	// Park the resolution so that the committed status is seen while the
	// secondary lock is still there.
	hold := make(chan struct{})
	remove := e.sim.InjectFault(tikvsim.Fault{Command: "KvResolveLock", Hold: hold})
	res, err := p.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := bc.total()
	for id := uint64(1); id <= 3; id++ {
		_, commitTS, _, ok := e.sim.TxnStatus(id, uint64(start))
		if !ok || commitTS != uint64(res.CommitTS()) {
			t.Fatalf("store %d: commit ts %d cached %v, want %d", id, commitTS, ok, res.CommitTS())
		}
	}
	// A committed transaction's locks no longer hold the safe ts back.
	if ts := safeTS(t, ctx, e); ts < uint64(res.CommitTS()) {
		t.Fatalf("safe ts %d below the commit ts %d with the secondary lock left", ts, res.CommitTS())
	}
	remove()
	close(hold)
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	bc.waitTotal(t, n+3) // the completed broadcast, one per store
	_ = e.cli.Close()    // waits for the broadcast's answers
	for id := uint64(1); id <= 3; id++ {
		if _, commitTS, _, ok := e.sim.TxnStatus(id, uint64(start)); !ok || commitTS != uint64(res.CommitTS()) {
			t.Fatalf("store %d: commit ts %d cached %v after completion", id, commitTS, ok)
		}
	}
	if v, ok, err := e.get(ctx, e.newClient(), "z", e.now(ctx)); err != nil || !ok || v != "vz" {
		t.Fatalf("after commit z = %q, %v, %v", v, ok, err)
	}
	if n := e.cli.BroadcastFailures(); n != 0 {
		t.Fatalf("%d broadcast failures", n)
	}
}

// TestPipelinedRollbackBroadcasts: after a rollback resolved every lock,
// the stores are told the transaction rolled back and completed.
func TestPipelinedRollbackBroadcasts(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: []string{"m"}, opts: []twopc.Option{
		twopc.WithManagedLockTTL(40*time.Millisecond, time.Hour), twopc.WithBroadcastGracePeriod(0)}})
	ctx := testCtx(t)
	hb := beats(t, e.sim)
	bc := broadcasts(t, e.sim)
	start := e.now(ctx)
	p := flushTwo(t, ctx, e.cli, start)
	<-hb
	<-hb
	for id := uint64(1); id <= 3; id++ {
		if _, _, _, ok := e.sim.TxnStatus(id, uint64(start)); !ok {
			t.Fatalf("store %d: no running status", id)
		}
	}
	if err := p.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	n := bc.total()
	if r := rawGet(t, ctx, e, "z", e.now(ctx)); r.GetError() != nil || !r.GetNotFound() {
		t.Fatalf("read after rollback: %v", r)
	}
	bc.waitTotal(t, n+3)
	_ = e.cli.Close()
	for id := uint64(1); id <= 3; id++ {
		if _, _, rb, ok := e.sim.TxnStatus(id, uint64(start)); !ok || !rb {
			t.Fatalf("store %d: rolled back %v cached %v after completion", id, rb, ok)
		}
	}
}

// broadcastCount counts the BroadcastTxnStatus requests each store gets.
type broadcastCount struct {
	mu      sync.Mutex
	per     map[uint64]int
	n       int
	changed chan struct{} // closed and replaced on every request
}

func broadcasts(t *testing.T, sim *tikvsim.Cluster) *broadcastCount {
	b := &broadcastCount{per: map[uint64]int{}, changed: make(chan struct{})}
	t.Cleanup(sim.OnRequest(func(id uint64, cmd string) {
		if cmd != "BroadcastTxnStatus" {
			return
		}
		b.mu.Lock()
		b.per[id]++
		b.n++
		close(b.changed)
		b.changed = make(chan struct{})
		b.mu.Unlock()
	}))
	return b
}

func (b *broadcastCount) of(id uint64) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.per[id]
}

func (b *broadcastCount) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// waitTotal waits until the stores got n broadcasts in all.
func (b *broadcastCount) waitTotal(t *testing.T, n int) {
	t.Helper()
	for {
		b.mu.Lock()
		got, ch := b.n, b.changed
		b.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-t.Context().Done():
			t.Fatalf("%d broadcasts, want %d", got, n)
		}
	}
}

// TestPipelinedBroadcastBound: with 12 stores, at most 10 broadcasts are
// in flight at once; the rest go once those return.
func TestPipelinedBroadcastBound(t *testing.T) {
	t.Parallel()
	s := simstack.Start(t, tikvsim.Options{Stores: 12})
	cli, err := twopc.New(s.Sender, s.TSO, twopc.WithManagedLockTTL(40*time.Millisecond, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	ctx := testCtx(t)
	var mu sync.Mutex
	seen := 0
	all := make(chan struct{})
	t.Cleanup(s.Sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "BroadcastTxnStatus" {
			mu.Lock()
			seen++
			if seen == 12 {
				close(all)
			}
			mu.Unlock()
		}
	}))
	hold := make(chan struct{})
	held := make(chan struct{}, 32)
	remove := s.Sim.InjectFault(tikvsim.Fault{Command: "BroadcastTxnStatus", Hold: hold, Held: held})
	start, err := s.TSO.GetTS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := flushTwo(t, ctx, cli, start)
	for range 10 {
		<-held
	}
	// Ten are parked; the other two wait for a slot, so the stores have
	// seen exactly ten.
	mu.Lock()
	n := seen
	mu.Unlock()
	if n != 10 {
		t.Fatalf("%d broadcasts in flight, want 10", n)
	}
	remove()
	close(hold)
	<-all
	if err := p.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPipelinedBroadcastFailureDoesNotFailCommit: every store refuses the
// broadcast; heartbeats and the commit go on, the failures are counted.
func TestPipelinedBroadcastFailureDoesNotFailCommit(t *testing.T) {
	t.Parallel()
	e := startEnv(t, envConfig{splits: []string{"m"}, opts: []twopc.Option{twopc.WithManagedLockTTL(40*time.Millisecond, time.Hour)}})
	ctx := testCtx(t)
	hb := beats(t, e.sim)
	e.sim.InjectFault(tikvsim.Fault{Command: "BroadcastTxnStatus", GRPCCode: codes.Unavailable})
	start := e.now(ctx)
	p := flushTwo(t, ctx, e.cli, start)
	<-hb
	<-hb // the first beat's broadcast has failed by now
	if e.cli.BroadcastFailures() == 0 {
		t.Fatal("no broadcast failure counted")
	}
	res, err := p.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if v, ok := e.mustGet(ctx, "a"); !ok || v != "va" {
		t.Fatalf("after commit a = %q, %v", v, ok)
	}
}
