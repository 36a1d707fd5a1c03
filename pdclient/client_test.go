package pdclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/keyspacepb"
	"github.com/pingcap/kvproto/pkg/metapb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
)

func newClient(t *testing.T, c *fakeCluster, opts ...pdclient.Option) *pdclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	opts = append([]pdclient.Option{pdclient.WithBackoff(retry.Backoff{Base: time.Millisecond, Max: 20 * time.Millisecond})}, opts...)
	cli, err := pdclient.New(ctx, c.endpoints(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func TestNewDiscoversLeaderAndClusterID(t *testing.T) {
	c := newFakeCluster(t, 3, nil)
	c.leader.Store(1)
	// Give only a follower: the rest is learned from GetMembers.
	ctx := t.Context()
	cli, err := pdclient.New(ctx, []string{"http://" + c.members[2].addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if got := cli.ClusterID(); got != c.clusterID {
		t.Fatalf("ClusterID = %d, want %d", got, c.clusterID)
	}
	l, err := cli.Leader()
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr != c.members[1].addr || l.ID != c.members[1].id {
		t.Fatalf("leader = %s/%d, want %s/%d", l.Addr, l.ID, c.members[1].addr, c.members[1].id)
	}
	if got := len(cli.Members()); got != 3 {
		t.Fatalf("Members = %d, want 3", got)
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	if _, err := pdclient.New(t.Context(), nil); !errors.Is(err, pdclient.ErrNoEndpoints) {
		t.Fatalf("no endpoints: %v", err)
	}
	if _, err := pdclient.New(t.Context(), []string{"127.0.0.1:1"}, pdclient.WithRPCTimeout(0)); !errors.Is(err, pdclient.ErrInvalidOption) {
		t.Fatalf("zero timeout: %v", err)
	}
	if _, err := pdclient.New(t.Context(), []string{"127.0.0.1:1"}, pdclient.WithBackoff(retry.Backoff{Base: time.Second})); !errors.Is(err, pdclient.ErrInvalidOption) {
		t.Fatalf("bad backoff: %v", err)
	}
	// Nothing listens: New keeps retrying until ctx ends.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := pdclient.New(ctx, []string{"127.0.0.1:1"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestRegionQueries(t *testing.T) {
	c := newFakeCluster(t, 1, nil)
	c.addRegion(1, nil, []byte("b"), 1)
	c.addRegion(2, []byte("b"), []byte("d"), 2)
	c.addRegion(3, []byte("d"), nil, 3)
	cli := newClient(t, c)
	ctx := t.Context()

	tests := []struct {
		name    string
		get     func() (*pdclient.Region, error)
		wantID  uint64
		buckets bool
		err     error
	}{
		{"GetRegion", func() (*pdclient.Region, error) { return cli.GetRegion(ctx, []byte("c")) }, 2, false, nil},
		{"GetRegionBuckets", func() (*pdclient.Region, error) { return cli.GetRegion(ctx, []byte("c"), pdclient.WithBuckets()) }, 2, true, nil},
		{"GetRegionFirst", func() (*pdclient.Region, error) { return cli.GetRegion(ctx, nil) }, 1, false, nil},
		{"GetPrevRegion", func() (*pdclient.Region, error) { return cli.GetPrevRegion(ctx, []byte("e")) }, 2, false, nil},
		{"GetPrevRegionNone", func() (*pdclient.Region, error) { return cli.GetPrevRegion(ctx, []byte("a")) }, 0, false, pdclient.ErrRegionNotFound},
		{"GetRegionByID", func() (*pdclient.Region, error) { return cli.GetRegionByID(ctx, 3, pdclient.WithAllowFollower()) }, 3, false, nil},
		{"GetRegionByIDMissing", func() (*pdclient.Region, error) { return cli.GetRegionByID(ctx, 99) }, 0, false, pdclient.ErrRegionNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.get()
			if tc.err != nil {
				if !errors.Is(err, tc.err) || r != nil {
					t.Fatalf("got %v, %v; want error %v", r, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Meta.Id != tc.wantID || r.Leader == nil || r.Leader.StoreId != tc.wantID || len(r.Meta.Peers) != 1 {
				t.Fatalf("region = %+v", r)
			}
			if (r.Buckets != nil) != tc.buckets {
				t.Fatalf("buckets = %v, want present=%v", r.Buckets, tc.buckets)
			}
		})
	}

	t.Run("ScanRegions", func(t *testing.T) {
		rs, err := cli.ScanRegions(ctx, []byte("a"), []byte("c"), 0)
		if err != nil {
			t.Fatal(err)
		}
		if ids := regionIDs(rs); !equalIDs(ids, []uint64{1, 2}) {
			t.Fatalf("ids = %v", ids)
		}
		rs, err = cli.ScanRegions(ctx, nil, nil, 2)
		if err != nil || !equalIDs(regionIDs(rs), []uint64{1, 2}) {
			t.Fatalf("limit 2: %v %v", regionIDs(rs), err)
		}
	})
	t.Run("BatchScanRegions", func(t *testing.T) {
		rs, err := cli.BatchScanRegions(ctx, []pdclient.KeyRange{
			{Start: []byte("a"), End: []byte("a1")},
			{Start: []byte("a2"), End: []byte("c")},
			{Start: []byte("x"), End: nil},
		}, 0, pdclient.WithBuckets())
		if err != nil {
			t.Fatal(err)
		}
		if ids := regionIDs(rs); !equalIDs(ids, []uint64{1, 2, 3}) {
			t.Fatalf("ids = %v", ids)
		}
		if rs[0].Buckets == nil {
			t.Fatal("buckets missing")
		}
	})
	t.Run("BatchScanRegionsInvalid", func(t *testing.T) {
		before := c.callCount("BatchScanRegions")
		for _, ranges := range [][]pdclient.KeyRange{
			nil,
			{{Start: []byte("b"), End: []byte("a")}},
			{{Start: []byte("a"), End: []byte("c")}, {Start: []byte("b"), End: []byte("d")}},
			{{Start: []byte("a")}, {Start: []byte("b"), End: []byte("d")}},
		} {
			if _, err := cli.BatchScanRegions(ctx, ranges, 0); !errors.Is(err, pdclient.ErrInvalidRange) {
				t.Fatalf("%v: err = %v", ranges, err)
			}
		}
		if c.callCount("BatchScanRegions") != before {
			t.Fatal("invalid ranges reached PD")
		}
	})
}

func regionIDs(rs []*pdclient.Region) []uint64 {
	var ids []uint64
	for _, r := range rs {
		ids = append(ids, r.Meta.Id)
	}
	return ids
}

func equalIDs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStores(t *testing.T) {
	c := newFakeCluster(t, 1, nil)
	c.stores = []*metapb.Store{
		{Id: 1, Address: "s1", Labels: []*metapb.StoreLabel{{Key: "zone", Value: "z1"}}},
		{Id: 2, Address: "s2", NodeState: metapb.NodeState_Removed, State: metapb.StoreState_Tombstone},
	}
	cli := newClient(t, c)
	ctx := t.Context()
	s, err := cli.GetStore(ctx, 1)
	if err != nil || s.Address != "s1" || s.Labels[0].Value != "z1" {
		t.Fatalf("GetStore(1) = %v, %v", s, err)
	}
	if s, err := cli.GetStore(ctx, 2); err != nil || s.State != metapb.StoreState_Tombstone {
		t.Fatalf("tombstone GetStore(2) = %v, %v", s, err)
	}
	_, err = cli.GetStore(ctx, 9)
	var pe *pdclient.PDError
	if !errors.Is(err, pdclient.ErrStoreNotFound) || !errors.As(err, &pe) || pe.Type != pdpb.ErrorType_UNKNOWN {
		t.Fatalf("GetStore(9) err = %v", err)
	}
	all, err := cli.GetAllStores(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("GetAllStores = %v, %v", all, err)
	}
	up, err := cli.GetAllStores(ctx, pdclient.WithExcludeTombstones(), pdclient.WithCallTimeout(time.Second))
	if err != nil || len(up) != 1 || up[0].Id != 1 {
		t.Fatalf("GetAllStores(exclude) = %v, %v", up, err)
	}
}

func TestGCKeyspaceSplitAndMinTS(t *testing.T) {
	c := newFakeCluster(t, 1, nil)
	c.keyspaces["ks1"] = &keyspacepb.KeyspaceMeta{Keyspace: &keyspacepb.KeyspaceMeta_Id{Id: 42}, Name: "ks1",
		State: keyspacepb.KeyspaceState_ENABLED, CreatedAt: 1700000000, Config: map[string]string{"gc_management_type": "keyspace_level"}}
	cli := newClient(t, c)
	ctx := t.Context()

	c.safePoint = 50
	if sp, err := cli.GetGCSafePoint(ctx); err != nil || sp != 50 {
		t.Fatalf("GetGCSafePoint = %d, %v", sp, err)
	}
	b, err := cli.SetGCBarrier(ctx, 42, "br", 77, pdclient.NoExpiry)
	if err != nil || b.ID != "br" || b.TS != 77 || b.TTL != pdclient.NoExpiry {
		t.Fatalf("SetGCBarrier = %+v, %v", b, err)
	}
	st, err := cli.GetGCState(ctx, 42, true)
	if err != nil || st.KeyspaceID != 42 || st.GCSafePoint != 50 || st.TxnSafePoint != 60 || len(st.Barriers) != 1 {
		t.Fatalf("GetGCState = %+v, %v", st, err)
	}
	if st, err := cli.GetGCState(ctx, pdclient.NullKeyspaceID, false); err != nil || st.KeyspaceID != pdclient.NullKeyspaceID || len(st.Barriers) != 0 {
		t.Fatalf("GetGCState(null) = %+v, %v", st, err)
	}
	if d, err := cli.DeleteGCBarrier(ctx, 42, "br"); err != nil || d == nil || d.ID != "br" {
		t.Fatalf("DeleteGCBarrier = %v, %v", d, err)
	}
	if d, err := cli.DeleteGCBarrier(ctx, 42, "br"); err != nil || d != nil {
		t.Fatalf("DeleteGCBarrier again = %v, %v", d, err)
	}
	gb, err := cli.SetGlobalGCBarrier(ctx, "global", 88, 90*time.Second)
	if err != nil || gb.ID != "global" || gb.TS != 88 || gb.TTL != 90*time.Second {
		t.Fatalf("SetGlobalGCBarrier = %+v, %v", gb, err)
	}
	all, err := cli.GetAllKeyspacesGCStates(ctx)
	if err != nil || len(all.States) != 2 || all.States[0].KeyspaceID != pdclient.NullKeyspaceID ||
		all.States[1].KeyspaceID != 42 || !all.States[1].KeyspaceLevelGC || len(all.GlobalBarriers) != 1 {
		t.Fatalf("GetAllKeyspacesGCStates = %+v, %v", all, err)
	}
	if d, err := cli.DeleteGlobalGCBarrier(ctx, "global"); err != nil || d == nil || d.TS != 88 {
		t.Fatalf("DeleteGlobalGCBarrier = %+v, %v", d, err)
	}
	if d, err := cli.DeleteGlobalGCBarrier(ctx, "global"); err != nil || d != nil {
		t.Fatalf("DeleteGlobalGCBarrier again = %+v, %v", d, err)
	}
	if r, err := cli.AdvanceTxnSafePoint(ctx, pdclient.NullKeyspaceID, 90); err != nil || r.New != 90 || r.Old != 1 || r.BlockerDescription != "none" {
		t.Fatalf("AdvanceTxnSafePoint = %+v, %v", r, err)
	}
	if ts, err := cli.GetMinTS(ctx); err != nil || ts != 1000<<18|5 {
		t.Fatalf("GetMinTS = %d, %v", ts, err)
	}
	ks, err := cli.LoadKeyspace(ctx, "ks1")
	if err != nil || ks.ID != 42 || ks.Config["gc_management_type"] != "keyspace_level" || ks.CreatedAt.Unix() != 1700000000 {
		t.Fatalf("LoadKeyspace = %+v, %v", ks, err)
	}
	if _, err := cli.LoadKeyspace(ctx, "nope"); !errors.Is(err, pdclient.ErrKeyspaceNotFound) {
		t.Fatalf("LoadKeyspace(nope) = %v", err)
	}
	sr, err := cli.SplitRegions(ctx, [][]byte{[]byte("k1"), []byte("k2")})
	if err != nil || sr.FinishedPercent != 100 || len(sr.RegionIDs) != 2 {
		t.Fatalf("SplitRegions = %+v, %v", sr, err)
	}
	sc, err := cli.ScatterRegions(ctx, []uint64{3, 4}, "fail-first")
	if err != nil || len(sc.FailedRegionIDs) != 1 || sc.FailedRegionIDs[0] != 3 {
		t.Fatalf("ScatterRegions = %+v, %v", sc, err)
	}
	if sc, err := cli.ScatterRegion(ctx, 3); err != nil || len(sc.FailedRegionIDs) != 0 {
		t.Fatalf("ScatterRegion = %+v, %v", sc, err)
	}
}

func TestLeaderChangeIsFollowed(t *testing.T) {
	c := newFakeCluster(t, 3, nil)
	c.addRegion(1, nil, nil, 1)
	cli := newClient(t, c)
	ctx := t.Context()
	l0, _ := cli.Leader()
	if l0.Addr != c.members[0].addr {
		t.Fatalf("leader = %s", l0.Addr)
	}
	c.leader.Store(2)
	// The old leader now answers "not leader"; the call re-discovers and
	// retries on the new leader without surfacing an error.
	if _, err := cli.GetRegion(ctx, []byte("x")); err != nil {
		t.Fatalf("GetRegion after leader change: %v", err)
	}
	select {
	case <-l0.Changed():
	default:
		t.Fatal("old leader's Changed channel not closed")
	}
	l1, _ := cli.Leader()
	if l1.Addr != c.members[2].addr {
		t.Fatalf("new leader = %s, want %s", l1.Addr, c.members[2].addr)
	}
	if st := cli.Stats(); st.LeaderChanges != 1 || st.Retries < 1 || st.Discoveries < 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestPeriodicRefreshFindsNewLeader(t *testing.T) {
	c := newFakeCluster(t, 2, nil)
	cli := newClient(t, c, pdclient.WithMemberRefreshInterval(5*time.Millisecond))
	l0, _ := cli.Leader()
	c.leader.Store(1)
	// No RPC is made: only the background refresh can notice.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case <-l0.Changed():
	case <-ctx.Done():
		t.Fatal("leader change not noticed by the periodic refresh")
	}
	if l, _ := cli.Leader(); l.Addr != c.members[1].addr {
		t.Fatalf("leader = %s", l.Addr)
	}
}

func TestClusterIDMismatch(t *testing.T) {
	c := newFakeCluster(t, 1, nil)
	c.addRegion(1, nil, nil, 1)
	cli := newClient(t, c)
	c.mu.Lock()
	c.headerClusterID = 9999
	c.mu.Unlock()
	before := c.callCount("GetRegion")
	_, err := cli.GetRegion(t.Context(), []byte("a"))
	var me *pdclient.ClusterIDMismatchError
	if !errors.Is(err, pdclient.ErrClusterIDMismatch) || !errors.As(err, &me) || me.Want != c.clusterID || me.Got != 9999 {
		t.Fatalf("err = %v", err)
	}
	if n := c.callCount("GetRegion") - before; n != 1 {
		t.Fatalf("mismatch was retried: %d calls", n)
	}
	// A gRPC-level mismatch is recognised too and not retried.
	c.mu.Lock()
	c.headerClusterID = 0
	c.mu.Unlock()
	c.setHook(func(context.Context, *fakeMember, string) error {
		return status.Error(codes.FailedPrecondition, "mismatch cluster id, need 1 but got 2")
	})
	if _, err := cli.GetRegion(t.Context(), []byte("a")); !errors.Is(err, pdclient.ErrClusterIDMismatch) {
		t.Fatalf("grpc mismatch err = %v", err)
	}
}

func TestRetryPolicy(t *testing.T) {
	c := newFakeCluster(t, 1, nil)
	c.addRegion(1, nil, nil, 1)
	cli := newClient(t, c)
	ctx := t.Context()
	failOnce := func(method string, err error) {
		var n int
		c.setHook(func(_ context.Context, _ *fakeMember, m string) error {
			if m == method {
				n++
				if n == 1 {
					return err
				}
			}
			return nil
		})
	}
	t.Run("ReadRetriesAmbiguousUnavailable", func(t *testing.T) {
		failOnce("GetRegion", status.Error(codes.Unavailable, "transport is closing"))
		before := c.callCount("GetRegion")
		if _, err := cli.GetRegion(ctx, []byte("a")); err != nil {
			t.Fatal(err)
		}
		if n := c.callCount("GetRegion") - before; n != 2 {
			t.Fatalf("calls = %d, want 2", n)
		}
	})
	t.Run("WriteNotRetriedWhenAmbiguous", func(t *testing.T) {
		failOnce("SplitRegions", status.Error(codes.Unavailable, "transport is closing"))
		before := c.callCount("SplitRegions")
		_, err := cli.SplitRegions(ctx, [][]byte{[]byte("k")})
		if status.Code(errors.Unwrap(err)) != codes.Unavailable {
			t.Fatalf("err = %v", err)
		}
		if n := c.callCount("SplitRegions") - before; n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
	})
	t.Run("WriteRetriedWhenNotLeader", func(t *testing.T) {
		failOnce("SplitRegions", status.Error(codes.Unavailable, "not leader"))
		if _, err := cli.SplitRegions(ctx, [][]byte{[]byte("k")}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("HeaderErrorNotRetried", func(t *testing.T) {
		c.setHook(nil)
		before := c.callCount("LoadKeyspace")
		_, err := cli.LoadKeyspace(ctx, "missing")
		var pe *pdclient.PDError
		if !errors.As(err, &pe) || pe.Type != pdpb.ErrorType_ENTRY_NOT_FOUND {
			t.Fatalf("err = %v", err)
		}
		if n := c.callCount("LoadKeyspace") - before; n != 1 {
			t.Fatalf("calls = %d", n)
		}
	})
	t.Run("BudgetExhausted", func(t *testing.T) {
		short := newClient(t, c, pdclient.WithRetryBudget(30*time.Millisecond))
		c.setHook(func(_ context.Context, _ *fakeMember, m string) error {
			if m == "GetRegion" {
				return status.Error(codes.Unavailable, "busy")
			}
			return nil
		})
		defer c.setHook(nil)
		_, err := short.GetRegion(ctx, []byte("a"))
		var re *pdclient.RPCError
		if !errors.As(err, &re) || re.Method != "GetRegion" || !re.Retryable() {
			t.Fatalf("err = %v", err)
		}
		// The budget is spent: the final error is not retryable any more.
		if !errors.Is(err, retry.ErrBudgetExhausted) || !errors.Is(err, retry.ErrPDServerTimeout) || retry.IsRetryable(err) {
			t.Fatalf("exhausted err = %v", err)
		}
	})
}

func TestPDUnreachableThenBack(t *testing.T) {
	c := newFakeCluster(t, 3, nil)
	c.addRegion(1, nil, nil, 1)
	cli := newClient(t, c)
	for _, m := range c.members {
		m.stop()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	_, err := cli.GetRegion(ctx, []byte("a"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while down: err = %v", err)
	}
	// Bring the cluster back with a different leader.
	c.leader.Store(1)
	for _, m := range c.members {
		m.restart()
	}
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r, err := cli.GetRegion(ctx, []byte("a"))
	if err != nil || r.Meta.Id != 1 {
		t.Fatalf("after restart: %v, %v", r, err)
	}
}

func TestCancelledContextReturnsPromptly(t *testing.T) {
	c := newFakeCluster(t, 1, nil)
	cli := newClient(t, c)
	entered := make(chan struct{}, 1)
	c.setHook(func(ctx context.Context, _ *fakeMember, m string) error {
		if m == "GetRegion" {
			entered <- struct{}{}
			<-ctx.Done() // hang until the client gives up
			return ctx.Err()
		}
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := cli.GetRegion(ctx, []byte("a"))
		done <- err
	}()
	<-entered
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("returned after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("call did not return after cancel")
	}
	// Already-cancelled ctx: returns without retrying.
	if _, err := cli.GetStore(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("pre-cancelled: %v", err)
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	c := newFakeCluster(t, 3, nil)
	cli := newClient(t, c)
	l, _ := cli.Leader()
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cli.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	select {
	case <-l.Changed():
	default:
		t.Fatal("Close did not close the leader's Changed channel")
	}
	if _, err := cli.GetRegion(t.Context(), []byte("a")); !errors.Is(err, pdclient.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := cli.Leader(); !errors.Is(err, pdclient.ErrClosed) {
		t.Fatalf("Leader after Close: %v", err)
	}
}

func TestFollowerFallback(t *testing.T) {
	c := newFakeCluster(t, 3, nil)
	c.addRegion(1, nil, nil, 1)
	cli := newClient(t, c, pdclient.WithRetryBudget(50*time.Millisecond))
	ctx := t.Context()
	// The leader stays leader (GetMembers says so) but cannot serve.
	c.setHook(func(_ context.Context, m *fakeMember, method string) error {
		if m.idx == 0 && method == "GetRegion" {
			return status.Error(codes.Unavailable, "leader overloaded")
		}
		return nil
	})
	if _, err := cli.GetRegion(ctx, []byte("a")); err == nil {
		t.Fatal("leader-only GetRegion succeeded while the leader is down")
	}
	if n := c.callCount("follower:GetRegion"); n != 0 {
		t.Fatalf("leader-only call reached followers %d times", n)
	}
	r, err := cli.GetRegion(ctx, []byte("a"), pdclient.WithAllowFollower())
	if err != nil || r.Meta.Id != 1 {
		t.Fatalf("GetRegion with follower fallback = %v, %v", r, err)
	}
	if n := c.callCount("follower:GetRegion"); n != 1 {
		t.Fatalf("follower calls = %d, want 1", n)
	}
	// A follower that has no such region sends the retry back to the leader.
	c.setHook(func(_ context.Context, m *fakeMember, method string) error {
		if m.idx == 0 && method == "GetRegionByID" && c.callCount("follower:GetRegionByID") == 0 {
			return status.Error(codes.Unavailable, "leader blip")
		}
		return nil
	})
	before := c.callCount("GetRegionByID")
	_, err = cli.GetRegionByID(ctx, 99, pdclient.WithAllowFollower())
	var pe *pdclient.PDError
	if !errors.Is(err, pdclient.ErrRegionNotFound) || errors.As(err, &pe) {
		t.Fatalf("missing region: %v (want the leader's answer, not the follower's header)", err)
	}
	// leader (blip), follower (REGION_NOT_FOUND), leader (authoritative).
	if n := c.callCount("GetRegionByID") - before; n != 3 {
		t.Fatalf("GetRegionByID calls = %d, want 3", n)
	}
}
