package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// sim is an in-process tikvsim cluster: simPDs PD members and three stores
// on 127.0.0.1 ephemeral ports, with every fault hook available.
type sim struct {
	c *tikvsim.Cluster
}

func startSim(ctx context.Context, cfg *config) (backend, error) {
	opts := tikvsim.Options{
		PDs:        simPDs,
		Stores:     stores,
		APIVersion: cfg.apiVersion.kvrpc(),
		Logger:     cfg.logger.With("component", "tikvsim"),
	}
	if cfg.apiVersion == APIV2 {
		// The suite's keyspace runs its own GC, so the GC tests can run
		// rounds on the shared cluster (a keyspace under unified GC may
		// not advance the whole cluster's safe points).
		opts.KeyspaceLevelGC = []string{tikvsim.DefaultKeyspace}
	}
	c, err := tikvsim.Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: start tikvsim: %w", err)
	}
	if err := WaitReady(ctx, c.PDAddrs(), stores); err != nil {
		return nil, fmt.Errorf("cluster: tikvsim: %w", errors.Join(err, c.Close()))
	}
	return &sim{c: c}, nil
}

func (s *sim) pdAddrs() []string    { return s.c.PDAddrs() }
func (s *sim) storeAddrs() []string { return s.c.StoreAddrs() }
func (s *sim) capabilities() Capability {
	return CapStopStore | CapRestartStore | CapChangePDLeader
}

func (s *sim) stopStore(_ context.Context, id uint64) error    { return s.c.StopStore(id) }
func (s *sim) restartStore(_ context.Context, id uint64) error { return s.c.RestartStore(id) }

// changePDLeader hands leadership to the member after the current leader.
func (s *sim) changePDLeader(context.Context) error {
	return s.c.SetPDLeader((s.c.PDLeader() + 1) % len(s.c.PDAddrs()))
}

func (s *sim) close(context.Context) error { return s.c.Close() }
