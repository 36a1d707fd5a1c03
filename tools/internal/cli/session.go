package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/tikv"
	"github.com/tikvgo/tikvgo/tikvsim"
	"github.com/tikvgo/tikvgo/tso"
)

// Session is one connection to a cluster, shared by every command of a shell
// or used by a single one-shot command. When the configuration names no PD
// endpoints it owns an embedded tikvsim cluster. The TSO and raw clients are
// made on first use, so a command pays only for what it needs. A Session is
// safe for concurrent use; Close releases everything it started.
type Session struct {
	cfg     Config
	openRaw RawOpener
	sim     *tikvsim.Cluster
	pd      *pdclient.Client
	tlsCfg  *tls.Config
	addrs   []string

	mu     sync.Mutex
	tso    *tso.Client
	raw    RawClient
	facade *tikv.Client // the transactional client's stack, made on first use
	txn    *tikv.Txn    // the shell's open transaction (begin ... commit)
	admin  *tikv.Client // the facade behind Regions, made on first use
	closed bool
}

// ErrSessionClosed is returned by a Session used after Close.
var ErrSessionClosed = errors.New("cli: session closed")

// OpenSession validates cfg, starts an embedded cluster when cfg.PD is empty,
// and connects to PD. ctx bounds the start-up and the PD discovery only.
// openRaw builds the raw client on first use; nil means OpenRaw.
func OpenSession(ctx context.Context, cfg Config, openRaw RawOpener) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if openRaw == nil {
		openRaw = OpenRaw
	}
	s := &Session{cfg: cfg, openRaw: openRaw, addrs: cfg.PD}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	s.tlsCfg = tlsCfg
	if len(s.addrs) == 0 {
		simOpts, err := cfg.simOptions()
		if err != nil {
			return nil, err
		}
		sim, err := tikvsim.Start(ctx, simOpts)
		if err != nil {
			return nil, fmt.Errorf("cli: start embedded cluster: %w", err)
		}
		s.sim = sim
		s.addrs = sim.PDAddrs()
	}
	pd, err := pdclient.New(ctx, s.addrs, pdOptions(tlsCfg)...)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("cli: connect to PD %v: %w", s.addrs, err)
	}
	s.pd = pd
	return s, nil
}

// Embedded reports whether the session runs its own simulated cluster.
func (s *Session) Embedded() bool { return s.sim != nil }

// PDAddrs returns the PD endpoints the session is connected to.
func (s *Session) PDAddrs() []string { return s.addrs }

// PD returns the session's PD client.
func (s *Session) PD() *pdclient.Client { return s.pd }

// TSO returns the session's timestamp client, creating it on first use.
func (s *Session) TSO(ctx context.Context) (*tso.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrSessionClosed
	}
	if s.tso == nil {
		c, err := tso.NewFromPD(ctx, s.pd)
		if err != nil {
			return nil, err
		}
		s.tso = c
	}
	return s.tso, nil
}

// Raw returns the session's raw client, creating it on first use with the
// session's RawOpener. A failed open is retried by the next call.
func (s *Session) Raw(ctx context.Context) (RawClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrSessionClosed
	}
	if s.raw == nil {
		c, err := s.openRaw(ctx, RawTarget{
			PDAddrs:    s.addrs,
			PD:         s.pd,
			TLS:        s.tlsCfg,
			APIVersion: s.cfg.APIVersion,
			Keyspace:   s.cfg.Keyspace,
		})
		if err != nil {
			return nil, err
		}
		s.raw = c
	}
	return s.raw, nil
}

// Regions returns the facade's region admin API, building on first use a
// facade client on the session's PD client (which stays the session's) with
// the session's TLS, API version and keyspace. The facade's background
// upkeep is off: a command does not live long enough to need it.
func (s *Session) Regions(ctx context.Context) (tikv.RegionAdmin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return tikv.RegionAdmin{}, ErrSessionClosed
	}
	if s.admin == nil {
		v, err := facadeAPIVersion(s.cfg.APIVersion)
		if err != nil {
			return tikv.RegionAdmin{}, err
		}
		opts := []tikv.Option{tikv.WithPDClient(s.pd), tikv.WithoutUpkeep(), tikv.WithAPIVersion(v)}
		if s.tlsCfg != nil {
			opts = append(opts, tikv.WithTLS(s.tlsCfg))
		}
		if s.cfg.Keyspace != "" {
			opts = append(opts, tikv.WithKeyspace(s.cfg.Keyspace))
		}
		c, err := tikv.New(ctx, s.addrs, opts...)
		if err != nil {
			return tikv.RegionAdmin{}, fmt.Errorf("cli: open facade client: %w", err)
		}
		s.admin = c
	}
	return s.admin.Regions(), nil
}

// Txn returns the session's transactional client, creating it on first use
// over the session's PD client.
func (s *Session) Txn(ctx context.Context) (*tikv.TxnClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrSessionClosed
	}
	if s.facade == nil {
		// Upkeep off, as for Regions: a shell's transactions do not need
		// the cache's background refreshes.
		opts := []tikv.Option{tikv.WithPDClient(s.pd), tikv.WithoutUpkeep()}
		if s.tlsCfg != nil {
			opts = append(opts, tikv.WithTLS(s.tlsCfg))
		}
		v, err := facadeAPIVersion(s.cfg.APIVersion)
		if err != nil {
			return nil, err
		}
		if s.cfg.Keyspace != "" {
			opts = append(opts, tikv.WithKeyspace(s.cfg.Keyspace))
		}
		c, err := tikv.New(ctx, s.addrs, append(opts, tikv.WithAPIVersion(v))...)
		if err != nil {
			return nil, fmt.Errorf("cli: open transactional client: %w", err)
		}
		s.facade = c
	}
	return s.facade.Txn(ctx)
}

// GC returns the session's GC client, over the same facade as Txn (whose
// lock resolver it uses).
func (s *Session) GC(ctx context.Context) (*tikv.GCClient, error) {
	if _, err := s.Txn(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	f, closed := s.facade, s.closed
	s.mu.Unlock()
	if closed || f == nil {
		return nil, ErrSessionClosed
	}
	return f.GC(ctx)
}

// OpenTxn returns the shell's open transaction, or nil outside
// begin ... commit.
func (s *Session) OpenTxn() *tikv.Txn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.txn
}

// setTxn records (or, with nil, forgets) the shell's open transaction.
func (s *Session) setTxn(t *tikv.Txn) {
	s.mu.Lock()
	s.txn = t
	s.mu.Unlock()
}

// Close closes the clients in dependency order (raw and TSO before PD, PD
// before the embedded cluster) and returns the first error. It is
// idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	raw, tc, admin, facade, txn := s.raw, s.tso, s.admin, s.facade, s.txn
	s.mu.Unlock()
	var errs []error
	if txn != nil {
		// A shell that ends inside begin ... commit rolls back.
		errs = append(errs, txn.Rollback(context.Background()))
	}
	if facade != nil {
		errs = append(errs, facade.Close())
	}
	if raw != nil {
		errs = append(errs, raw.Close())
	}
	if admin != nil {
		errs = append(errs, admin.Close())
	}
	if tc != nil {
		errs = append(errs, tc.Close())
	}
	if s.pd != nil {
		errs = append(errs, s.pd.Close())
	}
	if s.sim != nil {
		errs = append(errs, s.sim.Close())
	}
	return errors.Join(errs...)
}
