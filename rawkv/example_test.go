package rawkv_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/rawkv"
)

// The examples are compiled here but not run: they need a cluster. The
// same examples run, with their output checked, against a simulated cluster
// in the integration module (integration/rawkv).

// pdAddrs are the PD endpoints of the cluster the examples talk to.
var pdAddrs = []string{"127.0.0.1:2379"}

func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cli, err := rawkv.New(ctx, pdAddrs)
	if err != nil {
		panic(err)
	}
	defer cli.Close()

	if err := cli.Put(ctx, []byte("apple"), []byte("red")); err != nil {
		panic(err)
	}
	err = cli.BatchPut(ctx,
		[][]byte{[]byte("banana"), []byte("plum"), []byte("zucchini")},
		[][]byte{[]byte("yellow"), []byte("purple"), []byte("green")})
	if err != nil {
		panic(err)
	}
	v, _ := cli.Get(ctx, []byte("apple"))
	fmt.Printf("apple is %s\n", v)

	vs, _ := cli.BatchGet(ctx, [][]byte{[]byte("plum"), []byte("cherry"), []byte("banana")})
	fmt.Printf("batch: %q\n", vs)

	// The scan crosses region boundaries (the running version splits at "m").
	kvs, _ := cli.Scan(ctx, []byte("b"), nil, 10)
	for _, kv := range kvs {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
	}
	// Against an empty cluster this prints:
	// apple is red
	// batch: ["purple" "" "yellow"]
	// banana=yellow
	// plum=purple
	// zucchini=green
}

func ExampleClient_CompareAndSwap() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// CAS needs atomic mode, on every client writing the key.
	cli, err := rawkv.New(ctx, pdAddrs, rawkv.WithAtomicForCAS())
	if err != nil {
		panic(err)
	}
	defer cli.Close()

	// nil expected: create the key only if it does not exist.
	r, _ := cli.CompareAndSwap(ctx, []byte("leader"), nil, []byte("node-1"))
	fmt.Printf("swapped=%v existed=%v\n", r.Swapped, r.Existed)
	r, _ = cli.CompareAndSwap(ctx, []byte("leader"), nil, []byte("node-2"))
	fmt.Printf("swapped=%v previous=%s\n", r.Swapped, r.Previous)
	r, _ = cli.CompareAndSwap(ctx, []byte("leader"), []byte("node-1"), []byte("node-2"))
	fmt.Printf("swapped=%v previous=%s\n", r.Swapped, r.Previous)
	// Against an empty cluster this prints:
	// swapped=true existed=false
	// swapped=false previous=node-1
	// swapped=true previous=node-1
}

func ExampleClient_All() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Pages of 3 pairs: memory stays bounded however large the range.
	cli, err := rawkv.New(ctx, pdAddrs, rawkv.WithPageSize(3))
	if err != nil {
		panic(err)
	}
	defer cli.Close()
	for i := range 8 {
		k := fmt.Appendf(nil, "k%02d", i)
		if err := cli.Put(ctx, k, k); err != nil {
			panic(err)
		}
	}
	n := 0
	for kv, err := range cli.All(ctx, []byte("k01"), []byte("k07")) {
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s ", kv.Key)
		n++
	}
	fmt.Println(n)
	// Against an empty cluster this prints:
	// k01 k02 k03 k04 k05 k06 6
}

func ExampleWithKeyspace() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	open := func(ks string) *rawkv.Client {
		cli, err := rawkv.New(ctx, pdAddrs, rawkv.WithAPIVersion(rawkv.V2), rawkv.WithKeyspace(ks))
		if err != nil {
			panic(err)
		}
		return cli
	}
	a, b := open("tenant-a"), open("tenant-b")
	defer a.Close()
	defer b.Close()

	_ = a.PutWithTTL(ctx, []byte("session"), []byte("alice"), time.Hour)
	_ = b.Put(ctx, []byte("session"), []byte("bob"))
	va, _ := a.Get(ctx, []byte("session"))
	vb, _ := b.Get(ctx, []byte("session"))
	fmt.Printf("keyspace %d: %s, keyspace %d: %s\n", a.KeyspaceID(), va, b.KeyspaceID(), vb)
	_, hasTTL, _ := a.GetKeyTTL(ctx, []byte("session"))
	fmt.Println("tenant-a session has a ttl:", hasTTL)
	// Against an empty cluster this prints:
	// keyspace 1: alice, keyspace 2: bob
	// tenant-a session has a ttl: true
}
