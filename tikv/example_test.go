package tikv_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/tikvgo/tikvgo/tikv"
)

// The examples are compiled here but not run: they need a cluster. The
// same examples run, with their output checked, against a simulated cluster
// in the integration module (integration/tikv).

// pdAddrs are the PD endpoints of the cluster the examples talk to.
var pdAddrs = []string{"127.0.0.1:2379"}

// Connect to a cluster, write a key and read it back.
func Example() {

	ctx := context.Background()
	cli, err := tikv.New(ctx, pdAddrs)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	raw := cli.Raw()
	if err := raw.Put(ctx, []byte("greeting"), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	v, err := raw.Get(ctx, []byte("greeting"))
	if err != nil {
		log.Fatal(err)
	}
	missing, err := raw.Get(ctx, []byte("nobody"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %v\n", v, missing == nil)
	// Against an empty cluster this prints: hello true
}

// Scan a range that spans two regions; the client reads them in order.
func Example_scan() {

	ctx := context.Background()
	cli, err := tikv.New(ctx, pdAddrs)
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	raw := cli.Raw()
	keys := [][]byte{[]byte("user/1"), []byte("user/2"), []byte("user/3"), []byte("zzz")}
	vals := [][]byte{[]byte("ann"), []byte("bob"), []byte("cyd"), []byte("other")}
	if err := raw.BatchPut(ctx, keys, vals); err != nil {
		log.Fatal(err)
	}
	kvs, err := raw.Scan(ctx, []byte("user/"), []byte("user0"), 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, kv := range kvs {
		fmt.Printf("%s=%s\n", kv.Key, kv.Value)
	}
	// Against an empty cluster this prints:
	// user/1=ann
	// user/2=bob
	// user/3=cyd
}

// CompareAndSwap needs atomic mode on every client writing the keys it
// touches; a nil expected value means "only if absent".
func Example_compareAndSwap() {

	ctx := context.Background()
	cli, err := tikv.New(ctx, pdAddrs, tikv.WithAtomicForCAS())
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	raw := cli.Raw()
	res, err := raw.CompareAndSwap(ctx, []byte("leader"), nil, []byte("node-1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("node-1 elected:", res.Swapped)
	res, err = raw.CompareAndSwap(ctx, []byte("leader"), nil, []byte("node-2"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("node-2 elected: %v (leader is %s)\n", res.Swapped, res.Previous)
	// Against an empty cluster this prints:
	// node-1 elected: true
	// node-2 elected: false (leader is node-1)
}

// Values with a TTL need API V1TTL or V2 on the cluster and the client.
func Example_ttl() {

	ctx := context.Background()
	cli, err := tikv.New(ctx, pdAddrs, tikv.WithAPIVersion(tikv.V1TTL))
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	raw := cli.Raw()
	if err := raw.Put(ctx, []byte("session"), []byte("abc"), tikv.WithTTL(time.Hour)); err != nil {
		log.Fatal(err)
	}
	ttl, found, err := raw.GetKeyTTL(ctx, []byte("session"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("found:", found, "expires within the hour:", ttl > 0 && ttl <= time.Hour)
	// Against an empty cluster this prints: found: true expires within the hour: true
}

// Each keyspace of an API V2 cluster is a separate key space.
func Example_keyspace() {

	ctx := context.Background()
	a, err := tikv.New(ctx, pdAddrs, tikv.WithAPIVersion(tikv.V2), tikv.WithKeyspace("tenant-a"))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	def, err := tikv.New(ctx, pdAddrs, tikv.WithAPIVersion(tikv.V2))
	if err != nil {
		log.Fatal(err)
	}
	defer def.Close()

	if err := a.Raw().Put(ctx, []byte("k"), []byte("a's value")); err != nil {
		log.Fatal(err)
	}
	va, _ := a.Raw().Get(ctx, []byte("k"))
	vd, _ := def.Raw().Get(ctx, []byte("k"))
	fmt.Printf("tenant-a: %q, default: %q\n", va, vd)
	// Against an empty cluster this prints: tenant-a: "a's value", default: ""
}
