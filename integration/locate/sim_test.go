package locate_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
	"github.com/tikvgo/tikvgo/tikvsim"
)

// simEnv is a tikvsim cluster with the whole client stack on top of it:
// pdclient, the region cache, kvrpc and the sender.
type simEnv struct {
	sim   *tikvsim.Cluster
	pd    *pdclient.Client
	cache *locate.Cache
	rpc   *kvrpc.Client
	snd   *locate.Sender
}

func startSimEnv(t *testing.T, opts tikvsim.Options, cacheOpts ...locate.Option) *simEnv {
	t.Helper()
	sim, err := tikvsim.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("tikvsim.Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pd, err := pdclient.New(ctx, sim.PDAddrs(), pdclient.WithBackoff(retry.Backoff{Base: time.Millisecond, Max: 50 * time.Millisecond}))
	if err != nil {
		t.Fatalf("pdclient.New: %v", err)
	}
	t.Cleanup(func() { _ = pd.Close() })
	rpc, err := kvrpc.New(kvrpc.WithDialTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rpc.Close() })
	cache := newCache(t, pd, cacheOpts...)
	return &simEnv{sim: sim, pd: pd, cache: cache, rpc: rpc, snd: locate.NewSender(cache, rpc)}
}

// do sends the request build returns to the region of key through a
// Router, which locates again after stale-region errors.
func (e *simEnv) do(ctx context.Context, key []byte, build func() *kvrpc.Request, opts ...locate.SendOption) (*kvrpc.Response, error) {
	return locate.NewRouter(e.snd, nil).SendKey(ctx, retry.New(20*time.Second), key, build(), opts...)
}

func (e *simEnv) put(ctx context.Context, key, value string) error {
	resp, err := e.do(ctx, []byte(key), func() *kvrpc.Request {
		return kvrpc.NewRawPut(&kvrpcpb.RawPutRequest{Key: []byte(key), Value: []byte(value)})
	})
	if err != nil {
		return err
	}
	if msg := resp.Message().(*kvrpcpb.RawPutResponse).Error; msg != "" {
		return errors.New(msg)
	}
	return nil
}

func (e *simEnv) get(ctx context.Context, key string, opts ...locate.SendOption) (string, error) {
	resp, err := e.do(ctx, []byte(key), func() *kvrpc.Request {
		return kvrpc.NewRawGet(&kvrpcpb.RawGetRequest{Key: []byte(key)})
	}, opts...)
	if err != nil {
		return "", err
	}
	m := resp.Message().(*kvrpcpb.RawGetResponse)
	if m.Error != "" {
		return "", errors.New(m.Error)
	}
	return string(m.Value), nil
}

func TestSimSplitsUnderConcurrentTraffic(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	const writers, perWriter = 8, 40

	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				k := fmt.Sprintf("k%02d-%03d", i%20, w*perWriter+i)
				if err := e.put(ctx, k, "v"+k); err != nil {
					errs <- fmt.Errorf("put %s: %w", k, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := 19; i > 0; i-- {
			if _, err := e.sim.SplitRegionAt(fmt.Appendf(nil, "k%02d", i)); err != nil {
				errs <- fmt.Errorf("split: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Read everything back through the (now heavily stale) cache: every
	// value must come from its own key's region, none may be lost.
	for w := range writers {
		for i := range perWriter {
			k := fmt.Sprintf("k%02d-%03d", i%20, w*perWriter+i)
			v, err := e.get(ctx, k)
			if err != nil || v != "v"+k {
				t.Fatalf("get %s = %q, %v", k, v, err)
			}
		}
	}
	if n := len(e.sim.Regions()); n != 20 {
		t.Fatalf("sim has %d regions, want 20", n)
	}
}

func TestSimLeaderTransfer(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{})
	ctx := t.Context()
	if err := e.put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	r, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.TransferLeader(r.ID, 2); err != nil {
		t.Fatal(err)
	}
	if v, err := e.get(ctx, "a"); err != nil || v != "1" {
		t.Fatalf("get after transfer = %q, %v", v, err)
	}
	cached, err := e.cache.RegionByKey(ctx, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := cached.Leader(); l.StoreID != 2 {
		t.Fatalf("cache leader on store %d, want 2 (learned from NotLeader)", l.StoreID)
	}
}

func TestSimStoreStoppedAndRestarted(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{})
	ctx := t.Context()
	if err := e.put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	r, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.StopStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	next := r.Peers[1].StoreID
	if err := e.sim.TransferLeader(r.ID, next); err != nil {
		t.Fatal(err)
	}
	if v, err := e.get(ctx, "a"); err != nil || v != "1" {
		t.Fatalf("get with the old leader's store down = %q, %v", v, err)
	}
	if s := e.cache.CachedStore(r.Leader); s == nil || s.Reachable() {
		t.Fatal("stopped store not marked unreachable")
	}
	if err := e.sim.RestartStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.TransferLeader(r.ID, r.Leader); err != nil {
		t.Fatal(err)
	}
	if err := e.put(ctx, "a", "2"); err != nil {
		t.Fatal(err)
	}
	if v, err := e.get(ctx, "a"); err != nil || v != "2" {
		t.Fatalf("get after restart = %q, %v", v, err)
	}
	if s := e.cache.CachedStore(r.Leader); !s.Reachable() {
		t.Fatal("restarted store still marked unreachable after serving")
	}
}

func TestSimPartitionedStore(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{})
	ctx := t.Context()
	if err := e.put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	r, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.PartitionStore(r.Leader); err != nil {
		t.Fatal(err)
	}
	t.Run("no attempt timeout: gives up at the deadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if _, err := e.get(dctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("get = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("follower read goes elsewhere", func(t *testing.T) {
		for range 5 {
			v, err := e.get(ctx, "a", locate.WithReplicaRead(locate.ReadMixed), locate.WithAttemptTimeout(100*time.Millisecond))
			if err != nil || v != "1" {
				t.Fatalf("mixed read = %q, %v", v, err)
			}
		}
	})
	t.Run("leader moved: attempt timeout moves on", func(t *testing.T) {
		if err := e.sim.TransferLeader(r.ID, r.Peers[1].StoreID); err != nil {
			t.Fatal(err)
		}
		v, err := e.get(ctx, "a", locate.WithAttemptTimeout(100*time.Millisecond))
		if err != nil || v != "1" {
			t.Fatalf("leader read = %q, %v", v, err)
		}
	})
	if err := e.sim.HealStore(r.Leader); err != nil {
		t.Fatal(err)
	}
}

func TestSimServerIsBusyStorm(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{})
	ctx := t.Context()
	if err := e.put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	r, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	remove := e.sim.InjectFault(tikvsim.Fault{Command: "RawGet", StoreID: r.Leader,
		RegionError: &errorpb.Error{ServerIsBusy: &errorpb.ServerIsBusy{Reason: "scheduler is busy", EstimatedWaitMs: 1000}}})
	defer remove()
	var served sync.Map
	stop := e.sim.OnRequest(func(store uint64, cmd string) {
		if cmd == "RawGet" {
			served.Store(store, true)
		}
	})
	defer stop()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if v, err := e.get(ctx, "a", locate.WithBusyThreshold(10*time.Millisecond)); err != nil || v != "1" {
				t.Errorf("get under busy leader = %q, %v", v, err)
			}
		})
	}
	wg.Wait()
	n := 0
	served.Range(func(any, any) bool { n++; return true })
	if n < 2 {
		t.Fatalf("reads touched %d stores, want the busy leader to be bypassed", n)
	}
}

func TestSimMergeUnderStaleCache(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{SplitKeys: [][]byte{[]byte("m")}})
	ctx := t.Context()
	for _, k := range []string{"a", "x"} {
		if err := e.put(ctx, k, "v"+k); err != nil {
			t.Fatal(err)
		}
	}
	left, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	right, err := e.sim.RegionByKey([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.MergeRegions(left.ID, right.ID); err != nil {
		t.Fatal(err)
	}
	// The cache still holds both old regions: the source answers
	// RegionNotFound, the target EpochNotMatch; both must recover.
	for _, k := range []string{"a", "x"} {
		if v, err := e.get(ctx, k); err != nil || v != "v"+k {
			t.Fatalf("get %s after merge = %q, %v", k, v, err)
		}
	}
	loc, err := e.cache.LocateKey(ctx, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Region.ID != right.ID || len(loc.StartKey) != 0 || len(loc.EndKey) != 0 {
		t.Fatalf("after merge key a is in %v [%q,%q), want region %d covering everything", loc.Region, loc.StartKey, loc.EndKey, right.ID)
	}
}

func TestSimStaleReadFallsBackToLeader(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{})
	ctx := t.Context()
	r, err := e.sim.RegionByKey([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	// Followers cannot serve any stale read: their safe ts is 1.
	if err := e.sim.SetSafeTS(r.ID, 1); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	perStore := map[uint64]int{}
	stop := e.sim.OnRequest(func(store uint64, cmd string) {
		if cmd == "KvGet" {
			mu.Lock()
			perStore[store]++
			mu.Unlock()
		}
	})
	defer stop()
	for range 20 {
		ts := e.sim.CurrentTS()
		resp, err := e.do(ctx, []byte("a"), func() *kvrpc.Request {
			return kvrpc.NewGet(&kvrpcpb.GetRequest{Key: []byte("a"), Version: ts})
		}, locate.WithStaleRead())
		if err != nil {
			t.Fatalf("stale read: %v", err)
		}
		if ke := resp.Message().(*kvrpcpb.GetResponse).Error; ke != nil {
			t.Fatalf("stale read key error %v", ke)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	followers := 0
	for store, n := range perStore {
		if store != r.Leader {
			followers += n
		}
	}
	// Random tie-breaking sends roughly two in three first attempts to a
	// follower; each of those must have fallen back to the leader.
	if followers == 0 || perStore[r.Leader] != 20 {
		t.Fatalf("requests per store %v: want followers tried and all 20 reads finished on leader %d", perStore, r.Leader)
	}
}

// TestSimTxnRouting routes transactional requests (API V1) through regions
// split at transactional keys, whose boundaries PD holds memcomparable-
// encoded. tikvsim checks every key against the encoded boundaries, so a
// request routed by raw-key comparison would come back KeyNotInRegion until
// the budget ran out.
func TestSimTxnRouting(t *testing.T) {
	t.Parallel()
	e := startSimEnv(t, tikvsim.Options{Stores: 1, Replicas: 1})
	for _, k := range []string{"b\x00", "c", "d"} {
		if _, err := e.sim.SplitRegion([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	codec, err := keycodec.NewV1(keycodec.Txn)
	if err != nil {
		t.Fatal(err)
	}
	router := locate.NewRouter(e.snd, codec)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	bo := retry.New(2 * time.Second)

	keys := [][]byte{[]byte("c"), []byte("b"), []byte("b\x00"), []byte("ba"), []byte("a"), []byte("d\x00")}
	for _, k := range keys {
		if _, err := router.SendKey(ctx, bo, k, kvrpc.NewGet(&kvrpcpb.GetRequest{Key: k, Version: 1})); err != nil {
			t.Fatalf("Get %q: %v", k, err)
		}
	}

	key := func(k []byte) ([]byte, int) { return k, len(k) }
	batches, err := locate.GroupByRegion(ctx, router, keys, key)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range batches {
		got = append(got, fmt.Sprintf("%q", b.Items))
	}
	if g, want := fmt.Sprint(got), `[["a" "b"] ["b\x00" "ba"] ["c"] ["d\x00"]]`; g != want {
		t.Fatalf("batches %s, want %s", g, want)
	}
	err = locate.SendBatches(ctx, bo, router, batches, key, func(ctx context.Context, bo *retry.Backoffer, b locate.Batch[[]byte]) error {
		_, err := e.snd.Send(ctx, bo, kvrpc.NewBatchGet(&kvrpcpb.BatchGetRequest{Keys: b.Items, Version: 1}), b.Location.Region)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	var spans []string
	err = router.WalkRange(ctx, bo, []byte("a"), []byte("e"), func(ctx context.Context, bo *retry.Backoffer, s locate.Span) (bool, error) {
		spans = append(spans, fmt.Sprintf("[%q,%q)", s.Start, s.End))
		_, err := e.snd.Send(ctx, bo, kvrpc.NewScan(&kvrpcpb.ScanRequest{StartKey: s.Start, EndKey: s.End, Limit: 10, Version: 1}), s.Location.Region)
		return false, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, want := fmt.Sprint(spans), `[["a","b\x00") ["b\x00","c") ["c","d") ["d","e")]`; g != want {
		t.Fatalf("spans %s, want %s", g, want)
	}
	if tries := bo.Tries(); len(tries) != 0 {
		t.Fatalf("backed off %v: some request was routed to the wrong region", tries)
	}
}
