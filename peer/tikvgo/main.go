// Command tikvgo is the peer worker for tikvgo's own clients and for the
// two floors they are measured against, and (in its tests) the driver of
// the differential test against client-go's mock TiKV.
//
//	tikvgo -client tikvgo -pd 127.0.0.1:2379
//	tikvgo -client naive-stream -pd 127.0.0.1:2379
//	tikvgo -client unary -pd 127.0.0.1:2379
//
// Each reads one JSON peer.Case per stdin line and writes one JSON
// peer.Result per stdout line. One client per process, so the
// allocations reported are that client's alone:
//
//   - tikvgo: tikvgo's rawkv, tso and locate modules, default options.
//   - naive-stream: about 35 lines on one BatchCommands stream, one request
//     per stream message, each caller sending its own under a mutex, no
//     batching, no routing, no retries (raw Get and Put; txn snapshot Get
//     and BatchGet(100), 2PC and 1PC commit).
//   - unary: one unary RPC per operation straight to the leader, region
//     context looked up once (raw Get, Put, BatchGet, Scan; the same txn
//     scenarios as naive-stream).
//
// The floors know the cluster has one region; they fail a case otherwise.
//
//	tikvgo -txnsched [-pd 127.0.0.1:2379]
//
// runs transactional schedules (one peer.TxnSchedRequest per stdin line,
// one peer.TxnOutcome per stdout line) through tikvgo's txnkv client, as
// the upstream worker's -txnsched mode does through client-go's;
// TestTxnDifferential compares the two.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tikvgo/tikvgo/peer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tikvgo worker:", err)
		os.Exit(1)
	}
}

func run() error {
	pdFlag := flag.String("pd", "", "comma-separated PD addresses of the tikvsim cluster")
	client := flag.String("client", "tikvgo", "client to run: tikvgo, naive-stream or unary")
	txnSched := flag.Bool("txnsched", false, "run one transactional schedule (peer.TxnSchedRequest) per stdin line through tikvgo's txnkv, one peer.TxnOutcome per stdout line")
	flag.Parse()
	var pdAddrs []string
	if *pdFlag != "" {
		pdAddrs = strings.Split(*pdFlag, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *txnSched {
		return serveTxnSchedules(ctx, pdAddrs, os.Stdin, os.Stdout)
	}
	var reg *peer.Registry
	switch *client {
	case "tikvgo":
		w := &tikvgoWorker{pdAddrs: pdAddrs}
		defer w.close()
		reg = w.registry()
	case "naive-stream":
		f := &floorWorker{pdAddrs: pdAddrs, stream: true}
		defer f.close()
		reg = f.registry()
	case "unary":
		f := &floorWorker{pdAddrs: pdAddrs}
		defer f.close()
		reg = f.registry()
	default:
		return fmt.Errorf("unknown -client %q", *client)
	}
	return peer.Serve(ctx, reg, *client, os.Stdin, os.Stdout)
}

// mustRegister fills reg; a duplicate name is a programming error.
func mustRegister(reg *peer.Registry, setups map[string]peer.Setup) *peer.Registry {
	for name, s := range setups {
		if err := reg.Register(name, s); err != nil {
			panic(err)
		}
	}
	return reg
}
