package tso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
)

// dispatcher owns the Tso stream and the last timestamp handed out. Only its
// goroutine touches its fields.
type dispatcher struct {
	c    *Client
	st   *stream
	last Timestamp
}

// stream is one open Tso stream to one leader.
type stream struct {
	leader *pdclient.Leader
	cli    pdpb.PD_TsoClient
	cancel context.CancelFunc
	timer  *time.Timer // cancels the stream when a round overruns
	req    pdpb.TsoRequest
	// resp is decoded in place every round (see streamCodec); nothing
	// keeps a reference to it past the round that received it.
	resp  pdpb.TsoResponse
	codec streamCodec
}

func (s *stream) close() {
	s.timer.Stop()
	s.cancel()
}

func newDispatcher(c *Client) *dispatcher {
	return &dispatcher{c: c}
}

func (d *dispatcher) run() {
	c := d.c
	defer c.wg.Done()
	var g *group
	defer func() { d.shutdown(g) }()
	// bo spans one streak of failing rounds; nil while rounds succeed.
	var bo *retry.Backoffer
	for {
		if g == nil {
			// Natural batching: the next group holds everything that
			// queued up while the previous round was in flight.
			if g = c.take(); g == nil {
				select {
				case <-c.kick:
					continue
				case <-c.ctx.Done():
					return
				}
			}
		}
		first, err := d.round(g.n)
		if err == nil {
			g.first = first
			close(g.done)
			c.stats.rounds.Add(1)
			c.stats.timestamps.Add(uint64(g.n))
			g, bo = nil, nil
			continue
		}
		if c.ctx.Err() != nil {
			return
		}
		c.stats.failedRounds.Add(1)
		d.closeStream()
		if isLeaderErr(err) {
			c.pd.ScheduleCheckLeader()
		}
		if !retryable(err) {
			d.fail(g, err)
			g, bo = nil, nil
			continue
		}
		if bo == nil {
			bo = retry.New(c.cfg.retryBudget)
		}
		var wake <-chan struct{}
		if l, lerr := c.pd.Leader(); lerr == nil {
			wake = l.Changed()
		}
		c.log.Debug("tso: round failed, retrying", slog.Any("error", err))
		// Retrying is safe: a failed round handed nothing out, and the
		// regression check guards whatever the next round returns.
		if berr := bo.BackoffOrWake(c.ctx, c.cfg.kind, wake, err); berr != nil {
			if c.ctx.Err() != nil {
				return
			}
			d.fail(g, berr)
			g, bo = nil, nil
		}
	}
}

func (d *dispatcher) fail(g *group, err error) {
	d.c.log.Warn("tso: requests failed", slog.Int("count", g.n), slog.Any("error", err))
	g.err = err
	close(g.done)
}

// shutdown fails the group in hand and every queued one. Close marked the
// client closed before cancelling, so no group can be queued afterwards.
func (d *dispatcher) shutdown(g *group) {
	d.closeStream()
	if g != nil {
		g.err = errClosed
		close(g.done)
	}
	for g := d.c.take(); g != nil; g = d.c.take() {
		g.err = errClosed
		close(g.done)
	}
}

func (d *dispatcher) closeStream() {
	if d.st != nil {
		d.st.close()
		d.st = nil
	}
}

// openStream opens a Tso stream to the current leader and arms the stream's
// round timer, which then bounds the open and the first round together.
func (d *dispatcher) openStream() error {
	c := d.c
	l, err := c.pd.Leader()
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(c.ctx)
	st := &stream{leader: l, cancel: cancel}
	st.timer = time.AfterFunc(c.cfg.roundTimeout, cancel)
	st.req.Header = c.pd.RequestHeader()
	cli, err := pdpb.NewPDClient(l.Conn()).Tso(sctx, grpc.ForceCodecV2(&st.codec))
	if err != nil {
		st.close()
		return fmt.Errorf("tso: open stream to %s: %w", l.Addr, err)
	}
	st.cli = cli
	d.st = st
	c.stats.streams.Add(1)
	c.log.Debug("tso: stream opened", slog.String("addr", l.Addr))
	return nil
}

// round asks PD for n timestamps in one message and returns the first.
func (d *dispatcher) round(n int) (Timestamp, error) {
	c := d.c
	if d.st != nil {
		select {
		case <-d.st.leader.Changed():
			// Follow the leader before PD has to tell us.
			d.closeStream()
		default:
		}
	}
	if d.st == nil {
		if err := d.openStream(); err != nil {
			return 0, err
		}
	} else {
		d.st.timer.Reset(c.cfg.roundTimeout)
	}
	st := d.st
	st.req.Count = uint32(n)
	if err := st.cli.Send(&st.req); err != nil {
		return 0, d.streamErr("send", err)
	}
	resp := &st.resp
	err := st.cli.RecvMsg(resp)
	if !st.timer.Stop() {
		// The timer fired and cancelled the stream; even a response that
		// made it through is on a stream we are about to drop.
		if err == nil {
			err = ErrRoundTimeout
		}
	}
	if err != nil {
		return 0, d.streamErr("recv", err)
	}
	if err := c.pd.CheckResponseHeader(resp.GetHeader()); err != nil {
		return 0, err
	}
	if resp.Count != uint32(n) || resp.Timestamp == nil {
		return 0, fmt.Errorf("tso: %w: asked for %d, got count %d", ErrUnexpectedResponse, n, resp.Count)
	}
	// The response carries the last timestamp of the batch.
	lastLogical := resp.Timestamp.Logical
	firstLogical := lastLogical - int64(n) + 1
	if firstLogical < 0 || lastLogical >= MaxLogical {
		return 0, fmt.Errorf("tso: %w: logical %d for count %d", ErrUnexpectedResponse, lastLogical, n)
	}
	first := Compose(resp.Timestamp.Physical, firstLogical)
	if first <= d.last {
		return 0, &RegressionError{Last: d.last, Got: first}
	}
	d.last = first + Timestamp(n-1)
	return first, nil
}

func (d *dispatcher) streamErr(op string, err error) error {
	if d.c.ctx.Err() != nil {
		return errClosed
	}
	if status.Code(err) == codes.Canceled || errors.Is(err, context.Canceled) {
		// Only our round timer cancels a live stream.
		err = fmt.Errorf("%w: %w", ErrRoundTimeout, err)
	}
	return fmt.Errorf("tso: %s on stream to %s: %w", op, d.st.leader.Addr, err)
}

func retryable(err error) bool {
	return !errors.Is(err, pdclient.ErrClusterIDMismatch) && !errors.Is(err, ErrClosed) // pdclient.ErrClosed is the same value
}

func isLeaderErr(err error) bool {
	if errors.Is(err, ErrRoundTimeout) || errors.Is(err, ErrRegression) {
		return true
	}
	s, ok := status.FromError(err)
	if !ok {
		return errors.Is(err, ErrUnexpectedResponse)
	}
	return s.Code() == codes.Unavailable || strings.Contains(s.Message(), "not leader")
}
