package locate_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// kvGets counts the KvGet requests each store of the simulated cluster
// receives, and each stale one among them.
type kvGets struct {
	mu       sync.Mutex
	perStore map[uint64]int
}

func countKvGets(t *testing.T, sim *tikvsim.Cluster) *kvGets {
	g := &kvGets{perStore: map[uint64]int{}}
	t.Cleanup(sim.OnRequest(func(store uint64, cmd string) {
		if cmd == "KvGet" {
			g.mu.Lock()
			g.perStore[store]++
			g.mu.Unlock()
		}
	}))
	return g
}

func (g *kvGets) snapshot() map[uint64]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[uint64]int{}
	for k, v := range g.perStore {
		out[k] = v
	}
	return out
}

func (e *simEnv) staleGet(t *testing.T, key string, ts uint64) {
	t.Helper()
	resp, err := e.do(t.Context(), []byte(key), func() *kvrpc.Request {
		return kvrpc.NewGet(&kvrpcpb.GetRequest{Key: []byte(key), Version: ts})
	}, locate.WithStaleReadAt(ts))
	if err != nil {
		t.Fatalf("stale read: %v", err)
	}
	if ke := resp.Message().(*kvrpcpb.GetResponse).Error; ke != nil {
		t.Fatalf("stale read key error %v", ke)
	}
}

// TestSimStaleReadPicksCoveringReplica: store X holds only region A, whose
// safe ts covers the read; the other stores also hold region B, whose safe
// ts is 1, so their store safe ts is 1. Every stale read of A goes to X,
// the one replica known to serve it.
func TestSimStaleReadPicksCoveringReplica(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{SplitKeys: [][]byte{[]byte("m")}})
	ctx := t.Context()
	a, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.sim.RegionByKey([]byte("n"))
	if err != nil {
		t.Fatal(err)
	}
	var x uint64
	for _, s := range e.sim.Stores() {
		if s.ID != b.Leader && s.ID != a.Leader {
			x = s.ID
		}
	}
	if err := e.sim.RemovePeer(b.ID, x); err != nil {
		t.Fatal(err)
	}
	ts := e.sim.CurrentTS()
	if err := e.sim.SetSafeTS(a.ID, ts); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetSafeTS(b.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cache.RefreshStores(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.cache.RefreshSafeTS(ctx, e.rpc); err != nil {
		t.Fatal(err)
	}
	for _, s := range e.sim.Stores() {
		st, err := e.cache.Store(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(1)
		if s.ID == x {
			want = ts
		}
		if st.SafeTS() != want {
			t.Fatalf("store %d safe ts %d, want %d", s.ID, st.SafeTS(), want)
		}
	}
	if got := e.cache.MinSafeTS(); got != 1 {
		t.Fatalf("MinSafeTS = %d, want 1", got)
	}

	gets := countKvGets(t, e.sim)
	for range 20 {
		e.staleGet(t, "a", ts)
	}
	if got := gets.snapshot(); got[x] != 20 || len(got) != 1 {
		t.Fatalf("KvGets per store %v: want all 20 on store %d", got, x)
	}
}

// TestSimStaleReadSkipsDataIsNotReady: no store's safe ts covers the read,
// so every stale read goes straight to the leader as a normal read, one
// request each, with no DataIsNotReady round trip first (compare
// TestSimStaleReadFallsBackToLeader, which has no safe ts to go by).
func TestSimStaleReadSkipsDataIsNotReady(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{})
	ctx := t.Context()
	r, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetSafeTS(r.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cache.RefreshStores(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.cache.RefreshSafeTS(ctx, e.rpc); err != nil {
		t.Fatal(err)
	}
	gets := countKvGets(t, e.sim)
	for range 20 {
		e.staleGet(t, "a", e.sim.CurrentTS())
	}
	if got := gets.snapshot(); got[r.Leader] != 20 || len(got) != 1 {
		t.Fatalf("KvGets per store %v: want exactly 20, all on leader %d", got, r.Leader)
	}
}

// TestSimUpkeepPollsSafeTS: with WithSafeTSUpdate the loop polls every
// store; once a second round has begun the first one's answers are in.
func TestSimUpkeepPollsSafeTS(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{})
	ctx := t.Context()
	e.sim.CurrentTS() // a computed safe ts follows the last TSO answer
	stores, err := e.cache.RefreshStores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	polls := make(chan struct{}, 64)
	t.Cleanup(e.sim.OnRequest(func(_ uint64, cmd string) {
		if cmd == "GetStoreSafeTS" {
			select {
			case polls <- struct{}{}:
			default:
			}
		}
	}))
	u, err := e.cache.StartUpkeep(locate.WithSafeTSUpdate(e.rpc, 5*time.Millisecond), locate.WithPurge(0, 0), locate.WithStoreRefresh(0))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	// A round waits for all its polls before the next tick is taken, so
	// the first poll of round two comes after every answer of round one.
	for range len(stores) + 1 {
		select {
		case <-polls:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	for _, st := range stores {
		if st.SafeTS() == 0 {
			t.Fatalf("store %d safe ts not polled", st.ID())
		}
	}
	if e.cache.MinSafeTS() == 0 {
		t.Fatal("MinSafeTS = 0 after a poll round")
	}
}
