package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tools/internal/cli"
)

// TestBadFlags checks that impossible flags and arguments fail with a clear
// ErrUsage before any cluster is started or dialled.
func TestBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"output", []string{"--output", "xml", "tso"}, `--output "xml": want text or json`},
		{"zero timeout", []string{"--timeout", "0s", "tso"}, "--timeout 0s: must be positive"},
		{"bad timeout", []string{"--timeout", "soon", "tso"}, `invalid argument "soon"`},
		{"api version", []string{"--api-version", "v3", "stores"}, `--api-version "v3": want v1, v1ttl or v2`},
		{"keyspace without v2", []string{"--keyspace", "ks", "tso"}, "--keyspace needs --api-version v2"},
		{"pd without port", []string{"--pd", "pdhost", "tso"}, `--pd "pdhost": want host:port`},
		{"pd second endpoint", []string{"--pd", "127.0.0.1:2379,:2379", "tso"}, `--pd ":2379": want host:port`},
		{"cert without key", []string{"--pd", "127.0.0.1:1", "--ca", "ca.pem", "--cert", "c.pem", "tso"}, "--cert and --key go together"},
		{"cert without ca", []string{"--pd", "127.0.0.1:1", "--cert", "c.pem", "--key", "k.pem", "tso"}, "--cert and --key need --ca"},
		{"tls without pd", []string{"--ca", "ca.pem", "tso"}, "TLS flags need --pd"},
		{"unknown flag", []string{"--colour", "tso"}, `unknown flag: --colour (see "tikv --help")`},
		{"unknown command", []string{"version2"}, `unknown command "version2" for "tikv"`},
		{"tso argument", []string{"tso", "now"}, "tikv tso: unexpected arguments now"},
		{"regions negative limit", []string{"regions", "--limit", "-1"}, "--limit must not be negative"},
		{"regions reversed", []string{"regions", "--start", "z", "--end", "a"}, "--start must not be after --end"},
		{"sim with pd", []string{"--pd", "127.0.0.1:1", "sim"}, "sim starts its own cluster"},
		{"sim bad flag", []string{"sim", "--stores", "many"}, `invalid argument "many"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, "", []cli.Option{failOpener(t)}, tt.args...)
			if !errors.Is(r.err, cli.ErrUsage) || !strings.Contains(r.err.Error(), tt.msg) {
				t.Errorf("err = %v, want ErrUsage containing %q", r.err, tt.msg)
			}
			if r.out != "" {
				t.Errorf("stdout %q, want nothing", r.out)
			}
		})
	}
}

// TestMissingTLSFiles checks that unreadable TLS files fail at connect time
// with an error naming TLS.
func TestMissingTLSFiles(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "missing-ca.pem")
	r := run(t, "", nil, "--pd", "127.0.0.1:1", "--ca", ca, "tso")
	if r.err == nil || errors.Is(r.err, cli.ErrUsage) || !strings.Contains(r.err.Error(), "TLS") {
		t.Errorf("err = %v, want a TLS loading error", r.err)
	}
}

// TestPDEndpointList checks that --pd takes a comma-separated list and that
// the CLI gets through when one endpoint is dead.
func TestPDEndpointList(t *testing.T) {
	c, _ := startSim(t, tikvsim.Options{})
	dead := deadAddr(t)
	out := mustRun(t, nil, "--pd", dead+","+c.PDAddrs()[0], "stores")
	if !strings.Contains(out, c.Stores()[0].Addr) {
		t.Errorf("stores output %q lacks %s", out, c.Stores()[0].Addr)
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestSim runs `tikv sim` in the background, connects to the PD it prints,
// and stops it by cancelling its ctx as SIGINT does in main.
func TestSim(t *testing.T) {
	pr, pw := io.Pipe()
	root := cli.NewCommand()
	root.SetArgs([]string{"sim", "--stores", "2", "--admin", "127.0.0.1:0", "-o", "json"})
	root.SetOut(pw)
	root.SetErr(io.Discard)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		pw.CloseWithError(err)
		done <- err
	}()

	var doc struct {
		PD     []string `json:"pd"`
		Stores []struct {
			ID      uint64 `json:"id"`
			Address string `json:"address"`
		} `json:"stores"`
		Admin string `json:"admin"`
	}
	if err := json.NewDecoder(pr).Decode(&doc); err != nil {
		t.Fatalf("reading sim output: %v", err)
	}
	if len(doc.PD) != 1 || len(doc.Stores) != 2 || doc.Admin == "" {
		t.Fatalf("sim printed %+v, want 1 PD, 2 stores and an admin address", doc)
	}

	pd, err := pdclient.New(t.Context(), doc.PD)
	if err != nil {
		t.Fatal(err)
	}
	stores, err := pd.GetAllStores(t.Context())
	if cerr := pd.Close(); cerr != nil {
		t.Error(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(stores) != 2 {
		t.Errorf("PD at %s reports %d stores, want 2", doc.PD[0], len(stores))
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sim returned %v after cancel", err)
	}
	for _, addr := range []string{doc.PD[0], doc.Admin} {
		if conn, err := net.Dial("tcp", addr); err == nil {
			_ = conn.Close()
			t.Errorf("%s still accepts connections after sim stopped", addr)
		}
	}
}

// TestTimeoutBoundsConnect points --pd at a dead address: the command gives
// up when --timeout expires instead of retrying for pdclient's whole budget.
func TestTimeoutBoundsConnect(t *testing.T) {
	start := time.Now()
	r := run(t, "", nil, "--pd", deadAddr(t), "--timeout", "300ms", "stores")
	if !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline exceeded", r.err)
	}
	if !strings.Contains(r.err.Error(), "connect to PD") {
		t.Errorf("err %q does not say what timed out", r.err)
	}
	// Far below pdclient's 20s retry budget: the deadline, not the budget,
	// ended it.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v with a 300ms timeout", d)
	}
}
