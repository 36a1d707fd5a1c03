package cluster_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/e2e/cluster"
)

// TestFromEnv runs the backend the environment selects (the in-process sim
// by default; TIKVGO_E2E_BACKEND=containers or external to switch), checks it
// over raw gRPC and closes it.
func TestFromEnv(t *testing.T) {
	start := time.Now()
	c, err := cluster.FromEnv(t.Context(), t)
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	t.Logf("%s backend ready after %v: PD %v", c.Kind(), time.Since(start).Round(time.Millisecond), c.PDAddrs())
	wantPDs, wantStores := 3, 3
	switch {
	case c.Kind() == cluster.KindExternal:
		wantPDs, wantStores = 0, 0 // whatever the user runs
	case c.Kind() == cluster.KindContainers && !c.Supports(cluster.CapChangePDLeader):
		wantPDs = 1 // official images: one PD
	}
	checkCluster(t, c, wantPDs, wantStores)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	t.Logf("%s backend: start, checks and teardown took %v", c.Kind(), time.Since(start).Round(time.Millisecond))
}

func TestStartExternal(t *testing.T) {
	t.Parallel()

	t.Run("without PD addresses", func(t *testing.T) {
		t.Parallel()
		_, err := cluster.Start(t.Context(), cluster.WithBackend(cluster.KindExternal))
		if !errors.Is(err, cluster.ErrNoPDAddrs) {
			t.Fatalf("Start error = %v, want ErrNoPDAddrs", err)
		}
	})

	t.Run("nothing listening", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		_, err = cluster.Start(ctx, cluster.WithBackend(cluster.KindExternal), cluster.WithPDAddrs(addr))
		if !errors.Is(err, cluster.ErrNotReady) {
			t.Fatalf("Start error = %v, want ErrNotReady", err)
		}
		if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "PD_ADDRS") {
			t.Errorf("error %q should name PD_ADDRS and the address %s", err, addr)
		}
	})
}

func TestFromEnvUnknownBackend(t *testing.T) {
	t.Setenv(cluster.EnvBackend, "k8s")
	_, err := cluster.FromEnv(t.Context(), t)
	if !errors.Is(err, cluster.ErrUnknownBackend) {
		t.Fatalf("FromEnv error = %v, want ErrUnknownBackend", err)
	}
}

func TestFromEnvExternalWithoutPDAddrs(t *testing.T) {
	t.Setenv(cluster.EnvBackend, "external")
	t.Setenv(cluster.EnvPDAddrs, "")
	_, err := cluster.FromEnv(t.Context(), t)
	if !errors.Is(err, cluster.ErrNoPDAddrs) {
		t.Fatalf("FromEnv error = %v, want ErrNoPDAddrs", err)
	}
	if !strings.Contains(err.Error(), "PD_ADDRS is empty") {
		t.Errorf("error %q should say PD_ADDRS is empty", err)
	}
}

func TestCapabilityHas(t *testing.T) {
	t.Parallel()
	all := cluster.CapStopStore | cluster.CapRestartStore | cluster.CapChangePDLeader
	tests := []struct {
		name string
		have cluster.Capability
		want cluster.Capability
		ok   bool
	}{
		{"none has nothing", 0, cluster.CapStopStore, false},
		{"none has the empty set", 0, 0, true},
		{"all has each", all, cluster.CapChangePDLeader, true},
		{"stores only lacks PD leader", cluster.CapStopStore | cluster.CapRestartStore, cluster.CapStopStore | cluster.CapChangePDLeader, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.have.Has(tt.want); got != tt.ok {
				t.Errorf("%b.Has(%b) = %v, want %v", tt.have, tt.want, got, tt.ok)
			}
		})
	}
}
