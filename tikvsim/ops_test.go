package tikvsim_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/tikvsim"
)

func rawPut(t *testing.T, c *tikvsim.Cluster, kv map[uint64]tikvpb.TikvClient, key, val string) {
	t.Helper()
	ri := rawRegionFor(t, c, []byte(key))
	resp, err := kv[ri.Leader].RawPut(tctx(t), &kvrpcpb.RawPutRequest{Context: rctx(ri, 0), Key: []byte(key), Value: []byte(val)})
	if err != nil || resp.GetRegionError() != nil || resp.GetError() != "" {
		t.Fatalf("RawPut(%s): %v %v", key, resp, err)
	}
}

func TestSplitRegionRPC(t *testing.T) {
	c := start(t, tikvsim.Options{})
	kv := kvClients(t, c)
	ctx := tctx(t)
	orig := c.Regions()[0]
	resp, err := kv[orig.Leader].SplitRegion(ctx, &kvrpcpb.SplitRegionRequest{
		Context: rctx(orig, 0), SplitKeys: [][]byte{[]byte("m"), []byte("c"), []byte("m")},
	})
	if err != nil || resp.GetRegionError() != nil {
		t.Fatalf("SplitRegion: %v %v", resp, err)
	}
	regs := resp.GetRegions()
	if len(regs) != 3 {
		t.Fatalf("%d regions, want 3", len(regs))
	}
	// Right-derive: the original id keeps the right-most range.
	if regs[2].GetId() != orig.ID || !bytes.Equal(regs[2].GetStartKey(), tikvsim.EncodeKey([]byte("m"))) {
		t.Fatalf("right-most region %v, want id %d from encoded m", regs[2], orig.ID)
	}
	for _, r := range regs {
		if r.GetRegionEpoch().GetVersion() != orig.Version+2 || r.GetRegionEpoch().GetConfVer() != orig.ConfVer {
			t.Fatalf("epoch %v, want version %d conf_ver %d", r.GetRegionEpoch(), orig.Version+2, orig.ConfVer)
		}
	}
	// PD sees the split at once.
	pd := pdClient(t, c, 0)
	got, err := pd.GetRegion(ctx, &pdpb.GetRegionRequest{Header: hdr(c), RegionKey: tikvsim.EncodeKey([]byte("d"))})
	if err != nil || got.GetRegion().GetId() != regs[1].GetId() {
		t.Fatalf("GetRegion after split: %v %v", got, err)
	}
	// The stale epoch gets EpochNotMatch with the region and its siblings.
	gr, err := kv[orig.Leader].KvGet(ctx, &kvrpcpb.GetRequest{Context: rctx(orig, 0), Key: []byte("x"), Version: c.CurrentTS()})
	if err != nil {
		t.Fatal(err)
	}
	if cur := gr.GetRegionError().GetEpochNotMatch().GetCurrentRegions(); len(cur) != 3 || cur[0].GetId() != orig.ID {
		t.Fatalf("EpochNotMatch = %v", gr.GetRegionError())
	}
	// Splitting at the start key only is refused.
	right, _ := c.Region(orig.ID)
	bad, err := kv[orig.Leader].SplitRegion(ctx, &kvrpcpb.SplitRegionRequest{Context: rctx(right, 0), SplitKeys: [][]byte{[]byte("m")}})
	if err != nil || bad.GetRegionError() == nil {
		t.Fatalf("split at start key: %v %v", bad, err)
	}
	out, err := kv[orig.Leader].SplitRegion(ctx, &kvrpcpb.SplitRegionRequest{Context: rctx(right, 0), SplitKeys: [][]byte{[]byte("a")}})
	if err != nil || out.GetRegionError().GetKeyNotInRegion() == nil {
		t.Fatalf("split outside: %v %v", out, err)
	}
}

func TestSplitMergeFromGo(t *testing.T) {
	c := start(t, tikvsim.Options{})
	kv := kvClients(t, c)
	ctx := tctx(t)
	orig := c.Regions()[0]
	left, err := c.SplitRegionAt([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SplitRegionAt([]byte("k")); !errors.Is(err, tikvsim.ErrInvalidSplitKey) {
		t.Fatalf("split at boundary: %v", err)
	}
	l, _ := c.Region(left)
	r, _ := c.Region(orig.ID)
	if !bytes.Equal(l.EndKey, []byte("k")) || !bytes.Equal(r.StartKey, []byte("k")) {
		t.Fatalf("left %+v right %+v", l, r)
	}
	rawPut(t, c, kv, "a", "1")
	rawPut(t, c, kv, "z", "2")
	if err := c.MergeRegions(left, orig.ID); err != nil {
		t.Fatal(err)
	}
	merged, _ := c.Region(orig.ID)
	if len(merged.StartKey) != 0 || len(merged.EndKey) != 0 || merged.Version != max(l.Version+1, r.Version)+1 {
		t.Fatalf("merged = %+v (left %+v, right %+v)", merged, l, r)
	}
	if _, err := c.Region(left); !errors.Is(err, tikvsim.ErrRegionNotFound) {
		t.Fatalf("source still exists: %v", err)
	}
	// The source's id is gone on the stores.
	resp, err := kv[l.Leader].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rctx(l, 0), Key: []byte("a")})
	if err != nil || resp.GetRegionError().GetRegionNotFound() == nil {
		t.Fatalf("get via merged-away region: %v %v", resp, err)
	}
	// Data survives the merge.
	for _, k := range []string{"a", "z"} {
		resp, err := kv[merged.Leader].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rctx(merged, 0), Key: []byte(k)})
		if err != nil || resp.GetNotFound() || resp.GetRegionError() != nil {
			t.Fatalf("RawGet(%s) after merge: %v %v", k, resp, err)
		}
	}
	if err := c.MergeRegions(orig.ID, orig.ID); err == nil {
		t.Fatal("merge with itself succeeded")
	}
}

func TestTransferLeader(t *testing.T) {
	c := start(t, tikvsim.Options{})
	kv := kvClients(t, c)
	ctx := tctx(t)
	ri := c.Regions()[0]
	to := follower(t, ri)
	before := c.MaxTS()
	if err := c.TransferLeader(ri.ID, to); err != nil {
		t.Fatal(err)
	}
	if c.MaxTS() <= before {
		t.Fatalf("max_ts %d not raised above %d on leader change", c.MaxTS(), before)
	}
	resp, err := kv[ri.Leader].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte("a")})
	if err != nil || resp.GetRegionError().GetNotLeader().GetLeader().GetStoreId() != to {
		t.Fatalf("old leader answered %v %v", resp, err)
	}
	cur, _ := c.Region(ri.ID)
	if cur.Version != ri.Version || cur.ConfVer != ri.ConfVer {
		t.Fatalf("epoch changed by a leader transfer: %+v", cur)
	}
	resp, err = kv[to].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rctx(cur, 0), Key: []byte("a")})
	if err != nil || resp.GetRegionError() != nil {
		t.Fatalf("new leader: %v %v", resp, err)
	}
}

func TestAddRemovePeer(t *testing.T) {
	c := start(t, tikvsim.Options{Stores: 3, Replicas: 1})
	kv := kvClients(t, c)
	ctx := tctx(t)
	ri := c.Regions()[0]
	other := ri.Leader%3 + 1
	if err := c.AddLearner(ri.ID, other); err != nil {
		t.Fatal(err)
	}
	cur, _ := c.Region(ri.ID)
	if cur.ConfVer != ri.ConfVer+1 || len(cur.Peers) != 2 {
		t.Fatalf("after AddLearner: %+v", cur)
	}
	if err := c.TransferLeader(ri.ID, other); !errors.Is(err, tikvsim.ErrLearnerLeader) {
		t.Fatalf("learner leader: %v", err)
	}
	rc := rctx(cur, other)
	rc.ReplicaRead = true
	resp, err := kv[other].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rc, Key: []byte("a")})
	if err != nil || resp.GetRegionError() != nil {
		t.Fatalf("learner replica read: %v %v", resp, err)
	}
	if err := c.RemovePeer(ri.ID, ri.Leader); !errors.Is(err, tikvsim.ErrRemoveLeader) {
		t.Fatalf("remove leader: %v", err)
	}
	if err := c.RemovePeer(ri.ID, other); err != nil {
		t.Fatal(err)
	}
	cur, _ = c.Region(ri.ID)
	if cur.ConfVer != ri.ConfVer+2 || len(cur.Peers) != 1 {
		t.Fatalf("after RemovePeer: %+v", cur)
	}
	resp, err = kv[other].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rc, Key: []byte("a")})
	if err != nil || resp.GetRegionError().GetRegionNotFound() == nil {
		t.Fatalf("removed peer answered: %v %v", resp, err)
	}
	if err := c.AddPeer(ri.ID, ri.Leader); !errors.Is(err, tikvsim.ErrPeerExists) {
		t.Fatalf("duplicate peer: %v", err)
	}
}

func TestStopRestartStore(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	addr := c.StoreAddrs()[ri.Leader-1]
	kv := kvClients(t, c)
	rawPut(t, c, kv, "a", "1")
	if err := c.StopStore(ri.Leader); err != nil {
		t.Fatal(err)
	}
	_, err := kv[ri.Leader].RawGet(tctx(t), &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte("a")})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("stopped store: %v, want Unavailable", err)
	}
	if err := c.EvacuateLeaders(ri.Leader); err != nil {
		t.Fatal(err)
	}
	moved, _ := c.Region(ri.ID)
	if moved.Leader == ri.Leader {
		t.Fatalf("leader still on stopped store %d", ri.Leader)
	}
	got, err := kv[moved.Leader].RawGet(tctx(t), &kvrpcpb.RawGetRequest{Context: rctx(moved, 0), Key: []byte("a")})
	if err != nil || string(got.GetValue()) != "1" {
		t.Fatalf("new leader after evacuation: %v %v", got, err)
	}
	if err := c.TransferLeader(ri.ID, ri.Leader); err != nil {
		t.Fatal(err)
	}
	if err := c.RestartStore(ri.Leader); err != nil {
		t.Fatal(err)
	}
	if got := c.StoreAddrs()[ri.Leader-1]; got != addr {
		t.Fatalf("restarted on %s, want %s", got, addr)
	}
	// A fresh connection works (the old one may still be backing off).
	fresh := kvClients(t, c)
	resp, err := fresh[ri.Leader].RawGet(tctx(t), &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte("a")})
	if err != nil || string(resp.GetValue()) != "1" {
		t.Fatalf("after restart: %v %v (data is kept)", resp, err)
	}
}

func TestPartitionStore(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(t, c)
	if err := c.PartitionStore(ri.Leader); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := kv[ri.Leader].RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte("a")})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("partitioned store: %v, want DeadlineExceeded", err)
	}
	if err := c.HealStore(ri.Leader); err != nil {
		t.Fatal(err)
	}
	if _, err := kv[ri.Leader].RawGet(tctx(t), &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte("a")}); err != nil {
		t.Fatalf("healed store: %v", err)
	}
}

func TestInjectFault(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(t, c)[ri.Leader]
	ctx := tctx(t)
	get := func(key string) (*kvrpcpb.RawGetResponse, error) {
		return kv.RawGet(ctx, &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte(key)})
	}
	t.Run("region error count", func(t *testing.T) {
		c.InjectFault(tikvsim.Fault{Command: "RawGet", Count: 2, RegionError: &errorpb.Error{ServerIsBusy: &errorpb.ServerIsBusy{Reason: "scheduler is busy"}}})
		for i := range 3 {
			resp, err := get("a")
			if err != nil {
				t.Fatal(err)
			}
			busy := resp.GetRegionError().GetServerIsBusy() != nil
			if busy != (i < 2) {
				t.Fatalf("request %d: busy=%v", i, busy)
			}
		}
	})
	t.Run("key filter and key error", func(t *testing.T) {
		remove := c.InjectFault(tikvsim.Fault{Key: []byte("k"), KeyError: &kvrpcpb.KeyError{Abort: "boom"}})
		defer remove()
		resp, err := kv.KvGet(ctx, &kvrpcpb.GetRequest{Context: rctx(ri, 0), Key: []byte("k"), Version: c.CurrentTS()})
		if err != nil || resp.GetError().GetAbort() != "boom" {
			t.Fatalf("got %v %v", resp, err)
		}
		other, err := get("other")
		if err != nil || other.GetError() != "" {
			t.Fatalf("unfiltered key affected: %v %v", other, err)
		}
	})
	t.Run("grpc code", func(t *testing.T) {
		c.InjectFault(tikvsim.Fault{StoreID: ri.Leader, Count: 1, GRPCCode: codes.Unavailable})
		if _, err := get("a"); status.Code(err) != codes.Unavailable {
			t.Fatalf("got %v", err)
		}
		if _, err := get("a"); err != nil {
			t.Fatalf("fault outlived its count: %v", err)
		}
	})
	t.Run("applied but response lost", func(t *testing.T) {
		c.InjectFault(tikvsim.Fault{Command: "RawPut", Count: 1, GRPCCode: codes.Unavailable, AfterApply: true})
		_, err := kv.RawPut(ctx, &kvrpcpb.RawPutRequest{Context: rctx(ri, 0), Key: []byte("lost"), Value: []byte("v")})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("got %v", err)
		}
		resp, err := get("lost")
		if err != nil || string(resp.GetValue()) != "v" {
			t.Fatalf("write was not applied: %v %v", resp, err)
		}
	})
	t.Run("delay bounded by deadline", func(t *testing.T) {
		remove := c.InjectFault(tikvsim.Fault{Command: "RawGet", Delay: time.Hour})
		defer remove()
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := kv.RawGet(short, &kvrpcpb.RawGetRequest{Context: rctx(ri, 0), Key: []byte("a")}); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOnRequestObserver(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	kv := kvClients(t, c)
	seen := make(chan string, 16)
	remove := c.OnRequest(func(store uint64, cmd string) {
		if store == ri.Leader {
			seen <- cmd
		}
	})
	rawPut(t, c, kv, "a", "1")
	if got := <-seen; got != "RawPut" {
		t.Fatalf("observed %q", got)
	}
	remove()
	rawPut(t, c, kv, "b", "1")
	select {
	case got := <-seen:
		t.Fatalf("removed observer still called with %q", got)
	default:
	}
}
