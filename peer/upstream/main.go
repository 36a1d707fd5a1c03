// Command upstream is the peer worker for the newest upstream client:
// github.com/tikv/client-go/v2 (tidb-8.5 branch) and the pd/client it
// brings, on the kvproto they compile against. It lives in a module of its
// own because that kvproto is older than tikvgo's and the two do not
// compile together.
//
// Two modes:
//
//	upstream -pd 127.0.0.1:2379
//
// serves benchmark cases (one JSON peer.Case per stdin line, one JSON
// peer.Result per stdout line) with client-go as the client, against the
// tikvsim cluster whose PD is given (LocateKey runs in process against a
// synthetic PD and needs no cluster).
//
//	upstream -mock
//
// starts one instance of client-go's in-process mock TiKV
// (testutils.NewMockTiKV: one store, one region over the whole key space)
// per line read on stdin, serves each over gRPC (tikvpb.Tikv) on its own
// loopback port, answers each line with one JSON line giving the
// instance's address, region and leader, and serves them all until stdin
// closes. The differential test in peer/tikvgo drives them.
//
//	upstream -soak -pd 127.0.0.1:2379
//
// builds client-go's transactional client (txnkv.NewClient) and raw client
// (rawkv.NewClientWithOpts), answers one JSON line when they exist, then
// runs one round of reads and writes per JSON SoakCommand line and answers
// each with a SoakResult line, for as long as stdin stays open.
// peer/tikvgo's TestUpstreamSoak drives it against tikvsim across
// client-go's safe-point window and a store restart.
//
//	upstream -txnsched [-pd 127.0.0.1:2379]
//
// reads one peer.TxnSchedRequest per stdin line (a transactional schedule,
// the PD of a fresh tikvsim cluster and a store to ask GetLockWaitInfo),
// runs it step by step through client-go's txnkv client and answers with
// one peer.TxnOutcome line. peer/tikvgo's TestTxnDifferential drives it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pingcap/log"
	"go.uber.org/zap/zapcore"

	"github.com/tikvgo/tikvgo/peer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}

func run() error {
	pdFlag := flag.String("pd", "", "comma-separated PD addresses of the tikvsim cluster")
	mock := flag.Bool("mock", false, "serve mock TiKV instances over gRPC (one per stdin line) instead of benchmark cases")
	soak := flag.Bool("soak", false, "run one round of reads and writes per stdin line with long-lived clients instead of benchmark cases")
	txnSched := flag.Bool("txnsched", false, "run one transactional schedule (peer.TxnSchedRequest) per stdin line through client-go's txnkv, one peer.TxnOutcome per stdout line")
	logLevel := flag.String("log-level", "fatal", "client-go's log level (pingcap/log: debug, info, warn, error, fatal)")
	flag.Parse()
	// client-go and pd/client log through pingcap/log's process-wide
	// logger, which writes to stdout by default: move it to stderr, where
	// it cannot corrupt the JSON lines on stdout.
	lg, props, err := log.InitLoggerWithWriteSyncer(&log.Config{Level: *logLevel}, zapcore.AddSync(os.Stderr), zapcore.AddSync(os.Stderr))
	if err != nil {
		return err
	}
	log.ReplaceGlobals(lg, props)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *mock {
		return serveMocks(ctx, os.Stdin, os.Stdout)
	}
	var pdAddrs []string
	if *pdFlag != "" {
		pdAddrs = strings.Split(*pdFlag, ",")
	}
	if *soak {
		return serveSoak(ctx, pdAddrs, os.Stdin, os.Stdout)
	}
	if *txnSched {
		return serveTxnSchedules(ctx, pdAddrs, os.Stdin, os.Stdout)
	}
	w := newWorker(pdAddrs)
	defer w.close()
	return peer.Serve(ctx, w.registry(), "client-go", os.Stdin, os.Stdout)
}
