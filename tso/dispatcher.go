package tso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/pdclient"
	"github.com/tikvgo/tikvgo/retry"
)

// dispatcher owns the Tso stream and the last timestamp handed out. Only its
// goroutine touches its fields.
type dispatcher struct {
	c     *Client
	batch []*request
	st    *stream
	last  Timestamp
}

// stream is one open Tso stream to one leader.
type stream struct {
	leader *pdclient.Leader
	cli    pdpb.PD_TsoClient
	cancel context.CancelFunc
	timer  *time.Timer // cancels the stream when a round overruns
	req    pdpb.TsoRequest
}

func (s *stream) close() {
	s.timer.Stop()
	s.cancel()
}

func newDispatcher(c *Client) *dispatcher {
	return &dispatcher{c: c, batch: make([]*request, 0, 64)}
}

func (d *dispatcher) run() {
	c := d.c
	defer c.wg.Done()
	defer d.shutdown()
	// bo spans one streak of failing rounds; nil while rounds succeed.
	var bo *retry.Backoffer
	for {
		if len(d.batch) == 0 {
			select {
			case r := <-c.reqs:
				d.batch = append(d.batch, r)
			case <-c.ctx.Done():
				return
			}
		}
		// Natural batching: take everything that queued up while the
		// previous round was in flight, without waiting for more.
	drain:
		for len(d.batch) < c.cfg.maxBatch {
			select {
			case r := <-c.reqs:
				d.batch = append(d.batch, r)
			default:
				break drain
			}
		}
		d.dropCancelled()
		if len(d.batch) == 0 {
			continue
		}
		err := d.round()
		if err == nil {
			bo = nil
			continue
		}
		if c.ctx.Err() != nil {
			return
		}
		d.closeStream()
		if isLeaderErr(err) {
			c.pd.ScheduleCheckLeader()
		}
		if !retryable(err) {
			d.fail(err)
			bo = nil
			continue
		}
		if bo == nil {
			bo = retry.New(c.cfg.retryBudget)
		}
		var wake <-chan struct{}
		if l, lerr := c.pd.Leader(); lerr == nil {
			wake = l.Changed()
		}
		c.log.Debug("TSO round failed, retrying", slog.Any("error", err))
		// Retrying is safe: a failed round handed nothing out, and the
		// regression check guards whatever the next round returns.
		if berr := bo.BackoffOrWake(c.ctx, c.cfg.kind, wake, err); berr != nil {
			if c.ctx.Err() != nil {
				return
			}
			d.fail(berr)
			bo = nil
		}
	}
}

func (d *dispatcher) fail(err error) {
	d.c.log.Warn("TSO requests failed", slog.Int("count", len(d.batch)), slog.Any("error", err))
	d.finishAll(err)
}

// dropCancelled answers requests whose caller has gone away, so they cost
// PD nothing.
func (d *dispatcher) dropCancelled() {
	kept := d.batch[:0]
	for _, r := range d.batch {
		if err := r.ctx.Err(); err != nil {
			r.ts, r.err = 0, err
			r.done <- struct{}{}
			continue
		}
		kept = append(kept, r)
	}
	clear(d.batch[len(kept):])
	d.batch = kept
}

func (d *dispatcher) finishAll(err error) {
	for _, r := range d.batch {
		r.ts, r.err = 0, err
		r.done <- struct{}{}
	}
	clear(d.batch)
	d.batch = d.batch[:0]
}

func (d *dispatcher) shutdown() {
	d.closeStream()
	d.finishAll(ErrClosed)
	for {
		select {
		case r := <-d.c.reqs:
			r.ts, r.err = 0, ErrClosed
			r.done <- struct{}{}
		default:
			return
		}
	}
}

func (d *dispatcher) closeStream() {
	if d.st != nil {
		d.st.close()
		d.st = nil
	}
}

// openStream opens a Tso stream to the current leader. The stream's timer
// is armed by the caller.
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
	cli, err := pdpb.NewPDClient(l.Conn()).Tso(sctx)
	if err != nil {
		st.close()
		return fmt.Errorf("tso: open stream to %s: %w", l.Addr, err)
	}
	st.cli = cli
	d.st = st
	c.log.Debug("TSO stream opened", slog.String("addr", l.Addr))
	return nil
}

// round sends one request for the whole batch and hands out the answer.
func (d *dispatcher) round() error {
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
			return err
		}
	} else {
		d.st.timer.Reset(c.cfg.roundTimeout)
	}
	st := d.st
	n := len(d.batch)
	st.req.Count = uint32(n)
	if err := st.cli.Send(&st.req); err != nil {
		return d.streamErr("send", err)
	}
	resp, err := st.cli.Recv()
	if !st.timer.Stop() {
		// The timer fired and cancelled the stream; even a response that
		// made it through is on a stream we are about to drop.
		if err == nil {
			err = ErrRoundTimeout
		}
	}
	if err != nil {
		return d.streamErr("recv", err)
	}
	if err := c.pd.CheckResponseHeader(resp.GetHeader()); err != nil {
		return err
	}
	if resp.Count != uint32(n) || resp.Timestamp == nil {
		return fmt.Errorf("%w: asked for %d, got count %d", ErrStreamBroken, n, resp.Count)
	}
	// The response carries the last timestamp of the batch.
	lastLogical := resp.Timestamp.Logical
	firstLogical := lastLogical - int64(n) + 1
	if firstLogical < 0 || lastLogical >= MaxLogical {
		return fmt.Errorf("%w: logical %d for count %d", ErrStreamBroken, lastLogical, n)
	}
	first := Compose(resp.Timestamp.Physical, firstLogical)
	if first <= d.last {
		return &RegressionError{Last: d.last, Got: first}
	}
	for i, r := range d.batch {
		r.ts, r.err = first+Timestamp(i), nil
		r.done <- struct{}{}
	}
	d.last = first + Timestamp(n-1)
	clear(d.batch)
	d.batch = d.batch[:0]
	return nil
}

func (d *dispatcher) streamErr(op string, err error) error {
	if d.c.ctx.Err() != nil {
		return ErrClosed
	}
	if status.Code(err) == codes.Canceled || errors.Is(err, context.Canceled) {
		// Only our round timer cancels a live stream.
		err = fmt.Errorf("%w: %w", ErrRoundTimeout, err)
	}
	return fmt.Errorf("tso: %s on stream to %s: %w", op, d.st.leader.Addr, err)
}

func retryable(err error) bool {
	return !errors.Is(err, pdclient.ErrClusterIDMismatch) && !errors.Is(err, pdclient.ErrClosed) && !errors.Is(err, ErrClosed)
}

func isLeaderErr(err error) bool {
	if errors.Is(err, ErrRoundTimeout) || errors.Is(err, ErrRegression) {
		return true
	}
	s, ok := status.FromError(err)
	if !ok {
		return errors.Is(err, ErrStreamBroken)
	}
	return s.Code() == codes.Unavailable || strings.Contains(s.Message(), "not leader")
}
