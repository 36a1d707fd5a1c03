package pdclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/retry"
)

// Leader is a snapshot of the PD leader as the client last discovered it.
// A Leader value never changes; when discovery finds a different leader the
// client publishes a new Leader and closes the old one's [Leader.Changed]
// channel. It is safe for concurrent use.
type Leader struct {
	// Addr is the leader's client address (host:port, no scheme).
	Addr string
	// ID is the leader's PD member id.
	ID      uint64
	conn    *grpc.ClientConn
	pd      pdpb.PDClient
	changed chan struct{}
}

// Conn returns the gRPC connection to the leader. The client owns it: do not
// close it. It stays usable until the client is closed, even after the
// leader changes (it then reaches a follower, which answers "not leader").
func (l *Leader) Conn() *grpc.ClientConn { return l.conn }

// Changed returns a channel that is closed when this leader is superseded
// by a newer discovery result, or when the client is closed. Call
// [Client.Leader] again after it fires.
func (l *Leader) Changed() <-chan struct{} { return l.changed }

// Leader returns the current leader snapshot, or [ErrClosed].
func (c *Client) Leader() (*Leader, error) {
	if c.ctx.Err() != nil {
		return nil, errClosed
	}
	return c.leader.Load(), nil
}

// ScheduleCheckLeader asks the background loop to re-discover members now.
// Callers use it after a "not leader" or Unavailable answer. It never
// blocks; requests made while a discovery is pending are coalesced.
func (c *Client) ScheduleCheckLeader() {
	select {
	case c.checkLeader <- struct{}{}:
	default:
	}
}

// Members returns the client addresses of the PD members found by the last
// successful discovery.
func (c *Client) Members() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.urls...)
}

// normalizeAddr turns "http://host:port" or "host:port" into "host:port".
func normalizeAddr(u string) string {
	u = strings.TrimSpace(u)
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	return strings.TrimRight(u, "/")
}

// conn returns the cached connection to addr, creating it if needed.
// pdWindowSize is the HTTP/2 stream and connection flow-control window of
// PD connections: gRPC's BDP estimation limit, enough for large region scans.
const pdWindowSize = 16 << 20

func (c *Client) conn(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		return nil, errClosed
	}
	if cc, ok := c.conns[addr]; ok {
		return cc, nil
	}
	creds := insecure.NewCredentials()
	if c.cfg.tls != nil {
		creds = credentials.NewTLS(c.cfg.tls)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		// Fixed flow-control windows (as large as gRPC's BDP estimation
		// would ever grow them) turn that estimation off: it sends a PING
		// after each burst of data and waits for the ack, which on the Tso
		// stream at low load is one extra ping round trip per timestamp.
		grpc.WithInitialWindowSize(pdWindowSize),
		grpc.WithInitialConnWindowSize(pdWindowSize),
		// PD members restart and come back on the same address; reconnect
		// quickly instead of grpc's default backoff that reaches 2 minutes.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  50 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   time.Second,
			},
			MinConnectTimeout: c.cfg.rpcTimeout,
		}),
	}
	opts = append(opts, c.cfg.dialOpts...)
	cc, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("pdclient: dial %s: %w", addr, err)
	}
	c.conns[addr] = cc
	return cc, nil
}

// discover asks the known members, the current leader first, for the member
// list, and publishes the leader it reports. Only New and the discovery loop
// call it, never concurrently, so leader publication has a single writer.
func (c *Client) discover(ctx context.Context) error {
	c.mu.Lock()
	candidates := append([]string(nil), c.urls...)
	c.mu.Unlock()
	if cur := c.leader.Load(); cur != nil {
		candidates = append([]string{cur.Addr}, candidates...)
	}
	var errs []error
	tried := make(map[string]bool, len(candidates))
	for _, addr := range candidates {
		if tried[addr] {
			continue
		}
		tried[addr] = true
		err := c.discoverFrom(ctx, addr)
		if err == nil {
			c.stats.discoveries.Add(1)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs = append(errs, err)
	}
	c.stats.discoveryFailures.Add(1)
	return errors.Join(errs...)
}

func (c *Client) discoverFrom(ctx context.Context, addr string) error {
	cc, err := c.conn(addr)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.rpcTimeout)
	defer cancel()
	resp, err := pdpb.NewPDClient(cc).GetMembers(actx, &pdpb.GetMembersRequest{Header: c.header()})
	if err != nil {
		return &RPCError{Method: "GetMembers", Addr: addr, Err: err}
	}
	h := resp.GetHeader()
	if e := h.GetError(); e != nil && e.Type != pdpb.ErrorType_OK {
		return fmt.Errorf("pdclient: GetMembers to %s: %w", addr, &PDError{Type: e.Type, Message: e.Message})
	}
	want := c.clusterID.Load()
	if want != 0 && h.GetClusterId() != want {
		return &ClusterIDMismatchError{Want: want, Got: h.GetClusterId(), Addr: addr}
	}
	leader := resp.GetLeader()
	if leader == nil || len(leader.ClientUrls) == 0 {
		return fmt.Errorf("%w: member %s reports none", ErrNoLeader, addr)
	}
	if want == 0 {
		c.clusterID.Store(h.GetClusterId())
	}
	leaderAddr := normalizeAddr(leader.ClientUrls[0])
	lc, err := c.conn(leaderAddr)
	if err != nil {
		return err
	}
	var urls []string
	for _, m := range resp.GetMembers() {
		for _, u := range m.ClientUrls {
			urls = append(urls, normalizeAddr(u))
		}
	}
	if len(urls) > 0 {
		c.mu.Lock()
		c.urls = urls
		c.mu.Unlock()
	}
	old := c.leader.Load()
	if old != nil && old.Addr == leaderAddr && old.ID == leader.MemberId {
		return nil
	}
	c.leader.Store(&Leader{
		Addr:    leaderAddr,
		ID:      leader.MemberId,
		conn:    lc,
		pd:      pdpb.NewPDClient(lc),
		changed: make(chan struct{}),
	})
	if old != nil {
		c.stats.leaderChanges.Add(1)
		close(old.changed)
		c.log.Info("pdclient: leader changed", slog.String("from", old.Addr), slog.String("to", leaderAddr))
	} else {
		c.log.Info("pdclient: leader found", slog.String("addr", leaderAddr), slog.Uint64("cluster_id", c.clusterID.Load()))
	}
	return nil
}

// discoveryLoop refreshes members every refresh interval, at once when asked
// through ScheduleCheckLeader, and with backoff while discovery fails.
func (c *Client) discoveryLoop() {
	defer c.wg.Done()
	timer := time.NewTimer(c.cfg.refreshInterval)
	defer timer.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-timer.C:
		case <-c.checkLeader:
		}
		// Retry until discovery succeeds: without a leader nothing works.
		bo := retry.New(retry.Unbounded)
		for {
			err := c.discover(c.ctx)
			if err == nil || c.ctx.Err() != nil {
				break
			}
			c.log.Warn("pdclient: member discovery failed", slog.Any("error", err))
			if bo.Backoff(c.ctx, c.cfg.kind, err) != nil {
				return // only the lifecycle ctx ends an unbounded backoff
			}
		}
		timer.Reset(c.cfg.refreshInterval)
	}
}
