package twopc_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tso"
	"github.com/tikvgo/tikvgo/twopc"
)

// The examples are compiled here but not run: they need a cluster. The
// same examples run, with their output checked, against a simulated cluster
// in the integration module (integration/twopc).

// pdAddrs are the PD endpoints of the cluster the examples talk to.
var pdAddrs = []string{"127.0.0.1:2379"}

// Example commits two keys with async commit.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pd, err := pdclient.New(ctx, pdAddrs)
	if err != nil {
		panic(err)
	}
	defer pd.Close()
	ts, err := tso.NewFromPD(ctx, pd)
	if err != nil {
		panic(err)
	}
	defer ts.Close()
	rpc, err := kvrpc.New()
	if err != nil {
		panic(err)
	}
	defer rpc.Close()
	cache, err := locate.New(pd)
	if err != nil {
		panic(err)
	}

	c, err := twopc.New(locate.NewSender(cache, rpc), ts)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	start, err := ts.GetTS(ctx)
	if err != nil {
		panic(err)
	}
	res, err := c.Commit(ctx, twopc.MutationSlice{
		{Op: twopc.OpPut, Key: []byte("k1"), Value: []byte("v1")},
		{Op: twopc.OpInsert, Key: []byte("k2"), Value: []byte("v2")},
	}, start, twopc.WithAsyncCommit())
	switch {
	case errors.Is(err, twopc.ErrUndetermined):
		fmt.Println("outcome unknown: check the primary before retrying")
		return
	case err != nil:
		fmt.Println("not committed:", err)
		return
	}
	fmt.Println(res.Mode(), res.CommitTS() > start)
	if err := res.Wait(ctx); err != nil {
		fmt.Println("secondaries left for readers to resolve:", err)
	}

	// Inserting k2 again fails with a typed error.
	again, _ := ts.GetTS(ctx)
	_, err = c.Commit(ctx, twopc.MutationSlice{{Op: twopc.OpInsert, Key: []byte("k2"), Value: []byte("v")}}, again)
	var exists *twopc.KeyExistsError
	fmt.Println(errors.As(err, &exists), string(exists.Key))
	// Against an empty cluster this prints:
	// async-commit true
	// true k2
}
