// Command tikvsim runs a simulated TiKV + PD cluster in the foreground.
//
// It prints one line per server ("PD 127.0.0.1:NNNN", "STORE 1
// 127.0.0.1:NNNN", "ADMIN 127.0.0.1:NNNN") and serves until SIGINT or
// SIGTERM. The admin address serves the JSON fault-injection API described
// in [tikvsim.AdminHandler].
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/tikvsim"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tikvsim:", err)
		os.Exit(1)
	}
}

func parsePorts(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("bad port %q", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tikvsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pds := fs.Int("pds", 1, "number of PD members (1-3)")
	stores := fs.Int("stores", 3, "number of TiKV stores")
	replicas := fs.Int("replicas", 3, "peers per region (capped at -stores)")
	host := fs.String("host", "127.0.0.1", "host to listen on")
	advertise := fs.String("advertise-host", "", "host put into advertised addresses (default: -host)")
	pdPorts := fs.String("pd-ports", "", "comma-separated fixed PD ports (default: ephemeral)")
	storePorts := fs.String("store-ports", "", "comma-separated fixed store ports (default: ephemeral)")
	admin := fs.String("admin", "127.0.0.1:0", "admin HTTP listen address (empty: no admin endpoint)")
	apiV2 := fs.Bool("api-v2", false, "run stores with storage api-version V2")
	keyspaces := fs.String("keyspaces", "", "comma-separated keyspaces to create (implies -api-v2)")
	keyspaceGC := fs.String("keyspace-level-gc", "", "comma-separated keyspaces (from -keyspaces, or DEFAULT) with keyspace-level GC (implies -api-v2)")
	verbose := fs.Bool("v", false, "log cluster state changes to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pp, err := parsePorts(*pdPorts)
	if err != nil {
		return err
	}
	sp, err := parsePorts(*storePorts)
	if err != nil {
		return err
	}
	opts := tikvsim.Options{
		PDs: *pds, Stores: *stores, Replicas: *replicas,
		ListenHost: *host, AdvertiseHost: *advertise,
		PDPorts: pp, StorePorts: sp,
	}
	if *keyspaces != "" {
		opts.Keyspaces = strings.Split(*keyspaces, ",")
		*apiV2 = true
	}
	if *keyspaceGC != "" {
		opts.KeyspaceLevelGC = strings.Split(*keyspaceGC, ",")
		*apiV2 = true
	}
	if *apiV2 {
		opts.APIVersion = kvrpcpb.APIVersion_V2
	}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := tikvsim.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, a := range c.PDAddrs() {
		fmt.Fprintln(stdout, "PD", a)
	}
	for _, s := range c.Stores() {
		fmt.Fprintln(stdout, "STORE", s.ID, s.Addr)
	}
	if *admin != "" {
		lis, err := net.Listen("tcp", *admin)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: tikvsim.AdminHandler(c), ReadHeaderTimeout: 10 * time.Second}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(lis) }()
		defer func() {
			_ = srv.Close()
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(stderr, "tikvsim: admin:", err)
			}
		}()
		fmt.Fprintln(stdout, "ADMIN", lis.Addr().String())
	}
	<-ctx.Done()
	return nil
}
