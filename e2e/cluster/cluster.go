package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
)

// Kind names a cluster backend, as written in TIKVGO_E2E_BACKEND.
type Kind string

const (
	// KindSim is an in-process tikvsim cluster (the default).
	KindSim Kind = "sim"
	// KindContainers is a cluster in Docker containers started with
	// testcontainers-go.
	KindContainers Kind = "containers"
	// KindExternal is an already running cluster reached through PD_ADDRS.
	KindExternal Kind = "external"
)

// Capability is a set of fault hooks a backend can perform.
type Capability uint8

const (
	// CapStopStore means [Cluster.StopStore] is supported.
	CapStopStore Capability = 1 << iota
	// CapRestartStore means [Cluster.RestartStore] is supported.
	CapRestartStore
	// CapChangePDLeader means [Cluster.ChangePDLeader] is supported.
	CapChangePDLeader
)

// Has reports whether every capability in want is in c.
func (c Capability) Has(want Capability) bool { return c&want == want }

var (
	// ErrUnsupported is returned by a fault hook the backend cannot perform.
	ErrUnsupported = errors.New("cluster: operation not supported by this backend")
	// ErrUnknownBackend is returned for a TIKVGO_E2E_BACKEND (or
	// TIKVGO_E2E_IMAGE) value that names no backend (or image mode).
	ErrUnknownBackend = errors.New("cluster: unknown backend")
	// ErrNoPDAddrs is returned when the external backend is chosen and no PD
	// address is given.
	ErrNoPDAddrs = errors.New("cluster: external backend chosen but PD_ADDRS is empty")
	// ErrDockerUnavailable is returned when the containers backend is chosen
	// and no Docker engine answers.
	ErrDockerUnavailable = errors.New("cluster: containers backend chosen but no Docker engine answers")
	// ErrImageUnavailable is returned when an image the containers backend
	// needs is neither present locally nor pullable.
	ErrImageUnavailable = errors.New("cluster: container image not available")
	// ErrNotReady is returned when a cluster did not pass the readiness
	// checks before the context ended.
	ErrNotReady = errors.New("cluster: cluster not ready")
	// ErrNoSuchStore is returned by the official-images backend's fault
	// hooks for an unknown store ID (the simulator backends return the
	// simulator's own error).
	ErrNoSuchStore = errors.New("cluster: no such store")
	// ErrClosed is returned by a fault hook called after Close.
	ErrClosed = errors.New("cluster: cluster closed")
)

// backend is what each cluster kind implements. Fault hooks that a backend
// cannot perform return ErrUnsupported.
type backend interface {
	pdAddrs() []string
	storeAddrs() []string
	capabilities() Capability
	stopStore(ctx context.Context, id uint64) error
	restartStore(ctx context.Context, id uint64) error
	changePDLeader(ctx context.Context) error
	close(ctx context.Context) error
}

// Cluster is a ready TiKV + PD cluster of some [Kind]. It is safe for
// concurrent use.
type Cluster struct {
	kind Kind
	api  APIVersion
	b    backend
	log  *slog.Logger

	mu     sync.Mutex // serialises fault hooks against Close
	closed bool
	err    error
}

// Kind reports which backend runs the cluster.
func (c *Cluster) Kind() Kind { return c.kind }

// APIVersion reports the stores' api-version: the one the backend started
// them with, or the one declared for an external cluster. Never [APIDefault].
func (c *Cluster) APIVersion() APIVersion { return c.api }

// PDAddrs returns the PD endpoints ("host:port") the test process dials.
func (c *Cluster) PDAddrs() []string { return slices.Clone(c.b.pdAddrs()) }

// StoreAddrs returns the store addresses the backend started, or nil when it
// does not know them (external clusters: ask PD).
func (c *Cluster) StoreAddrs() []string { return slices.Clone(c.b.storeAddrs()) }

// Supports reports whether the backend can perform every fault hook in want.
func (c *Cluster) Supports(want Capability) bool { return c.b.capabilities().Has(want) }

// StopStore makes the store with the given ID unreachable until
// [Cluster.RestartStore]. It returns an error matching [ErrUnsupported] when
// the backend cannot.
func (c *Cluster) StopStore(ctx context.Context, id uint64) error {
	return c.fault(ctx, CapStopStore, "stop store", func(ctx context.Context) error { return c.b.stopStore(ctx, id) })
}

// RestartStore brings a store stopped by [Cluster.StopStore] back on the
// same address. It returns an error matching [ErrUnsupported] when the
// backend cannot.
func (c *Cluster) RestartStore(ctx context.Context, id uint64) error {
	return c.fault(ctx, CapRestartStore, "restart store", func(ctx context.Context) error { return c.b.restartStore(ctx, id) })
}

// ChangePDLeader moves PD leadership to another member. It returns an error
// matching [ErrUnsupported] when the backend cannot (one PD, or no control).
func (c *Cluster) ChangePDLeader(ctx context.Context) error {
	return c.fault(ctx, CapChangePDLeader, "change PD leader", c.b.changePDLeader)
}

func (c *Cluster) fault(ctx context.Context, want Capability, what string, do func(context.Context) error) error {
	if !c.Supports(want) {
		return fmt.Errorf("%s on %s backend: %w", what, c.kind, ErrUnsupported)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if err := do(ctx); err != nil {
		return fmt.Errorf("cluster: %s: %w", what, err)
	}
	c.log.Info("cluster: fault injected", "backend", string(c.kind), "fault", what)
	return nil
}

// Close stops whatever the backend started (servers, containers, the Docker
// network) and waits for it. External clusters are left running. Close is
// idempotent: later calls return the first call's result.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.err
	}
	c.closed = true
	// Teardown must run even when the test's context is already done.
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	c.err = c.b.close(ctx)
	return c.err
}
