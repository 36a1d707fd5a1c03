package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// Start starts (or, for [KindExternal], attaches to) a cluster and returns it
// once it passes the readiness checks of [WaitReady]. ctx bounds the whole
// start, image build and readiness included; on failure everything already
// started is torn down.
func Start(ctx context.Context, opts ...Option) (*Cluster, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.resolveAPIVersion()
	var (
		b   backend
		err error
	)
	switch cfg.kind {
	case KindSim:
		b, err = startSim(ctx, &cfg)
	case KindContainers:
		b, err = startContainers(ctx, &cfg)
	case KindExternal:
		b, err = attachExternal(ctx, &cfg)
	}
	if err != nil {
		return nil, err
	}
	cfg.logger.Info("cluster: ready", "backend", string(cfg.kind), "pd", strings.Join(b.pdAddrs(), ","),
		"api_version", string(cfg.apiVersion))
	return &Cluster{kind: cfg.kind, api: cfg.apiVersion, b: b, log: cfg.logger}, nil
}

// FromEnv starts the cluster that the environment asks for (see
// [OptionsFromEnv]), logs through t, and registers Close with t.Cleanup
// (a Close error fails the test). A backend chosen explicitly that cannot
// run makes FromEnv fail; it never falls back and never skips.
func FromEnv(ctx context.Context, t testing.TB) (*Cluster, error) {
	t.Helper()
	opts, err := OptionsFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(tbWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := Start(ctx, append(opts, WithLogger(logger))...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("cluster: close %s backend: %v", c.Kind(), err)
		}
	})
	return c, nil
}

// tbWriter sends each slog line to the test log.
type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = tbWriter{}

// external is a cluster somebody else runs; it is never stopped.
type external struct {
	addrs []string
}

func attachExternal(ctx context.Context, cfg *config) (backend, error) {
	if len(cfg.pdAddrs) == 0 {
		return nil, ErrNoPDAddrs
	}
	if err := WaitReady(ctx, cfg.pdAddrs, 1); err != nil {
		return nil, fmt.Errorf("cluster: external cluster at PD_ADDRS=%s: %w", strings.Join(cfg.pdAddrs, ","), err)
	}
	return &external{addrs: cfg.pdAddrs}, nil
}

func (e *external) pdAddrs() []string                          { return e.addrs }
func (e *external) storeAddrs() []string                       { return nil }
func (e *external) capabilities() Capability                   { return 0 }
func (e *external) stopStore(context.Context, uint64) error    { return ErrUnsupported }
func (e *external) restartStore(context.Context, uint64) error { return ErrUnsupported }
func (e *external) changePDLeader(context.Context) error       { return ErrUnsupported }
func (e *external) close(context.Context) error                { return nil }
