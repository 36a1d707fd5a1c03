package tikvsim_test

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/pingcap/kvproto/pkg/pdpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// etcdClient connects the upstream etcd client to the given PD members.
func etcdClient(t testing.TB, addrs ...string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   addrs,
		DialTimeout: testTimeout,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func TestEtcdKV(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{})
	cli := etcdClient(t, c.PDAddrs()...)
	ctx := tctx(t)

	p1, err := cli.Put(ctx, "/a/1", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/a/2", "y"); err != nil {
		t.Fatal(err)
	}
	p3, err := cli.Put(ctx, "/a/1", "z", clientv3.WithPrevKV())
	if err != nil {
		t.Fatal(err)
	}
	if string(p3.PrevKv.Value) != "x" || p3.Header.Revision != p1.Header.Revision+2 {
		t.Fatalf("put prev %v rev %d after %d", p3.PrevKv, p3.Header.Revision, p1.Header.Revision)
	}
	if _, err := cli.Put(ctx, "/b", "outside"); err != nil {
		t.Fatal(err)
	}

	g, err := cli.Get(ctx, "/a/1")
	if err != nil {
		t.Fatal(err)
	}
	kv := g.Kvs[0]
	if string(kv.Value) != "z" || kv.Version != 2 || kv.CreateRevision != p1.Header.Revision || kv.ModRevision != p3.Header.Revision {
		t.Fatalf("get /a/1 = %+v", kv)
	}
	pre, err := cli.Get(ctx, "/a/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if pre.Count != 2 || string(pre.Kvs[0].Key) != "/a/1" || string(pre.Kvs[1].Key) != "/a/2" {
		t.Fatalf("prefix get = %v", pre.Kvs)
	}
	lim, err := cli.Get(ctx, "/", clientv3.WithPrefix(), clientv3.WithLimit(1), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	if err != nil {
		t.Fatal(err)
	}
	if !lim.More || lim.Count != 3 || string(lim.Kvs[0].Key) != "/b" {
		t.Fatalf("limited descending get = %v more %v count %d", lim.Kvs, lim.More, lim.Count)
	}
	old, err := cli.Get(ctx, "/a/1", clientv3.WithRev(p1.Header.Revision))
	if err != nil || string(old.Kvs[0].Value) != "x" {
		t.Fatalf("historical get = %v, %v", old, err)
	}
	if _, err := cli.Get(ctx, "/a/1", clientv3.WithRev(p3.Header.Revision+100)); !errors.Is(err, rpctypes.ErrFutureRev) {
		t.Fatalf("future revision: %v", err)
	}

	// Compare-and-swap, as PD and TiDB use etcd.
	tx, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value("/a/1"), "=", "z")).
		Then(clientv3.OpPut("/a/1", "w"), clientv3.OpGet("/a/1")).
		Else(clientv3.OpGet("/a/1")).Commit()
	if err != nil || !tx.Succeeded || string(tx.Responses[1].GetResponseRange().Kvs[0].Value) != "w" {
		t.Fatalf("txn = %+v, %v", tx, err)
	}
	tx, err = cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision("/missing"), "=", 0), clientv3.Compare(clientv3.Version("/a/1"), ">", 5)).
		Then(clientv3.OpPut("/never", "v")).Commit()
	if err != nil || tx.Succeeded {
		t.Fatalf("failing txn = %+v, %v", tx, err)
	}
	if _, err := cli.Txn(ctx).Then(clientv3.OpPut("/d", "1"), clientv3.OpPut("/d", "2")).Commit(); !errors.Is(err, rpctypes.ErrDuplicateKey) {
		t.Fatalf("duplicate key txn: %v", err)
	}

	del, err := cli.Delete(ctx, "/a/", clientv3.WithPrefix(), clientv3.WithPrevKV())
	if err != nil || del.Deleted != 2 || len(del.PrevKvs) != 2 {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	if g, err := cli.Get(ctx, "/a/", clientv3.WithPrefix()); err != nil || len(g.Kvs) != 0 {
		t.Fatalf("after delete = %v, %v", g, err)
	}

	if _, err := cli.Compact(ctx, del.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Get(ctx, "/a/1", clientv3.WithRev(p1.Header.Revision)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("compacted revision: %v", err)
	}
	if g, err := cli.Get(ctx, "/b"); err != nil || string(g.Kvs[0].Value) != "outside" {
		t.Fatalf("latest value after compaction = %v, %v", g, err)
	}
}

func TestEtcdWatch(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{})
	cli := etcdClient(t, c.PDAddrs()...)
	ctx := tctx(t)

	first, err := cli.Put(ctx, "/w/1", "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/other", "b"); err != nil {
		t.Fatal(err)
	}
	// From a past revision: history is replayed, other keys are not sent.
	wc := cli.Watch(ctx, "/w/", clientv3.WithPrefix(), clientv3.WithRev(first.Header.Revision), clientv3.WithPrevKV())
	if _, err := cli.Delete(ctx, "/w/1"); err != nil {
		t.Fatal(err)
	}
	var evs []*clientv3.Event
	for len(evs) < 2 {
		wr := <-wc
		if err := wr.Err(); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, wr.Events...)
	}
	if evs[0].Type != mvccpb.PUT || string(evs[0].Kv.Value) != "a" || evs[1].Type != mvccpb.DELETE || string(evs[1].PrevKv.Value) != "a" {
		t.Fatalf("events = %v", evs)
	}

	// Progress: the stream-wide answer carries the current revision.
	pw := cli.Watch(ctx, "/p", clientv3.WithCreatedNotify())
	if cr := <-pw; !cr.Created {
		t.Fatalf("first response = %+v", cr)
	}
	if err := cli.RequestProgress(ctx); err != nil {
		t.Fatal(err)
	}
	pr := <-pw
	if !pr.IsProgressNotify() || pr.Header.Revision == 0 {
		t.Fatalf("progress response = %+v", pr)
	}

	// A watch from a compacted revision is cancelled with the compact
	// revision.
	last, err := cli.Put(ctx, "/w/2", "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, last.Header.Revision); err != nil {
		t.Fatal(err)
	}
	cw := cli.Watch(ctx, "/w/", clientv3.WithPrefix(), clientv3.WithRev(first.Header.Revision))
	cr := <-cw
	if !errors.Is(cr.Err(), rpctypes.ErrCompacted) || cr.CompactRevision != last.Header.Revision {
		t.Fatalf("compacted watch = %+v (%v)", cr, cr.Err())
	}
}

func TestEtcdMemberList(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{PDs: 3})
	cli := etcdClient(t, c.PDAddrs()[2])
	ml, err := cli.MemberList(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ml.Members) != 3 {
		t.Fatalf("members = %v", ml.Members)
	}
	for i, m := range ml.Members {
		if want := "http://" + c.PDAddrs()[i]; len(m.ClientURLs) != 1 || m.ClientURLs[0] != want {
			t.Fatalf("member %d client urls %v, want %s", i, m.ClientURLs, want)
		}
	}
	// client-go's etcd client auto-syncs its endpoints from the member list.
	if err := cli.Sync(tctx(t)); err != nil {
		t.Fatal(err)
	}
	if eps := cli.Endpoints(); len(eps) != 3 {
		t.Fatalf("synced endpoints = %v", eps)
	}
}

func TestEtcdPDFaults(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{})
	ctx := tctx(t)
	kv := pb.NewKVClient(dial(t, c.PDAddrs()[0]))
	if _, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	c.InjectPDFault(tikvsim.PDFault{Method: "Range", AnyMember: true, Count: 1, GRPCCode: codes.Unavailable})
	if _, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("k")}); status.Code(err) != codes.Unavailable {
		t.Fatalf("faulted Range: %v", err)
	}
	// A header fault has no pdpb header to fill on etcd: the answer is empty.
	c.InjectPDFault(tikvsim.PDFault{Method: "Range", AnyMember: true, Count: 1, HeaderError: pdpb.ErrorType_UNKNOWN})
	if r, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("k")}); err != nil || len(r.Kvs) != 0 {
		t.Fatalf("header-faulted Range: %v, %v", r, err)
	}
	if r, err := kv.Range(ctx, &pb.RangeRequest{Key: []byte("k")}); err != nil || len(r.Kvs) != 1 {
		t.Fatalf("Range after the faults: %v, %v", r, err)
	}
}

// TestEtcdGCSafePointAcrossLeaderChange checks that the txn safe point and
// the GC safe point appear where PD keeps them, read with the etcd client
// as older client-go versions read them, and that the data outlives a PD
// leader change.
func TestEtcdGCSafePointAcrossLeaderChange(t *testing.T) {
	t.Parallel()
	c := start(t, tikvsim.Options{PDs: 3})
	ctx := tctx(t)
	pd := pdClient(t, c, 0)
	cli := etcdClient(t, c.PDAddrs()...)
	gcKey := tikvsim.GCSafePointKey(c.ClusterID())
	if want := fmt.Sprintf("/pd/%d/gc/safe_point", c.ClusterID()); gcKey != want {
		t.Fatalf("GCSafePointKey = %q, want %q", gcKey, want)
	}

	advance := func(pd pdpb.PDClient, sp uint64) {
		t.Helper()
		if _, err := pd.UpdateServiceGCSafePoint(ctx, &pdpb.UpdateServiceGCSafePointRequest{Header: hdr(c), ServiceId: []byte("gc_worker"), TTL: math.MaxInt64, SafePoint: sp}); err != nil {
			t.Fatal(err)
		}
		if _, err := pd.UpdateGCSafePoint(ctx, &pdpb.UpdateGCSafePointRequest{Header: hdr(c), SafePoint: sp}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(cli *clientv3.Client, sp uint64) {
		t.Helper()
		txn, err := cli.Get(ctx, tikvsim.TxnSafePointKey)
		if err != nil || len(txn.Kvs) != 1 {
			t.Fatalf("txn safe point: %v, %v", txn, err)
		}
		if got, err := strconv.ParseUint(string(txn.Kvs[0].Value), 10, 64); err != nil || got != sp {
			t.Fatalf("txn safe point = %q, want %d", txn.Kvs[0].Value, sp)
		}
		gc, err := cli.Get(ctx, gcKey)
		if err != nil || len(gc.Kvs) != 1 {
			t.Fatalf("gc safe point: %v, %v", gc, err)
		}
		if got, err := strconv.ParseUint(string(gc.Kvs[0].Value), 16, 64); err != nil || got != sp {
			t.Fatalf("gc safe point = %q, want %x", gc.Kvs[0].Value, sp)
		}
	}

	if g, err := cli.Get(ctx, tikvsim.TxnSafePointKey); err != nil || len(g.Kvs) != 0 {
		t.Fatalf("safe point before any GC: %v, %v", g, err)
	}
	wc := cli.Watch(ctx, gcKey)
	advance(pd, 1000)
	check(cli, 1000)
	if wr := <-wc; wr.Err() != nil || len(wr.Events) != 1 || string(wr.Events[0].Kv.Value) != strconv.FormatUint(1000, 16) {
		t.Fatalf("watched gc safe point = %+v (%v)", wr.Events, wr.Err())
	}

	if err := c.StopPD(0); err != nil {
		t.Fatal(err)
	}
	follower := etcdClient(t, c.PDAddrs()[2])
	check(follower, 1000)
	advance(pdClient(t, c, c.PDLeader()), 2000)
	check(follower, 2000)
	if err := c.RestartPD(0); err != nil {
		t.Fatal(err)
	}
	check(etcdClient(t, c.PDAddrs()[0]), 2000)
}

// TestConcurrentSafeEtcdWatch writes from several goroutines while a
// watcher follows: it must see every write once, in revision order, with
// no revision skipped.
func TestConcurrentSafeEtcdWatch(t *testing.T) {
	c := start(t, tikvsim.Options{PDs: 2})
	ctx := tctx(t)
	cli := etcdClient(t, c.PDAddrs()...)
	base, err := cli.Get(ctx, "/c/")
	if err != nil {
		t.Fatal(err)
	}
	wc := cli.Watch(ctx, "/c/", clientv3.WithPrefix(), clientv3.WithRev(base.Header.Revision+1))
	const writers, perWriter = 4, 25
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for i := range perWriter {
				if _, err := cli.Put(ctx, fmt.Sprintf("/c/%d/%d", w, i), "v"); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	next := base.Header.Revision + 1
	for next <= base.Header.Revision+writers*perWriter {
		wr := <-wc
		if err := wr.Err(); err != nil {
			t.Fatal(err)
		}
		for _, e := range wr.Events {
			if e.Kv.ModRevision != next {
				t.Fatalf("event at revision %d, want %d", e.Kv.ModRevision, next)
			}
			next++
		}
	}
}
