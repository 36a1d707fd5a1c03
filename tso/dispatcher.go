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

// errLeaderChanged breaks a stream whose PD member is no longer the leader
// the pdclient knows; what was in flight is resent at once, without backoff.
var errLeaderChanged = errors.New("tso: PD leader changed")

// stream is one open Tso stream to one leader. Groups are sent on it in
// queue order by whoever holds the client's send role, and its receive
// goroutine answers them in the same order: PD answers the requests of one
// stream one after another, so the n-th answer is for the n-th request.
type stream struct {
	c      *Client
	leader *pdclient.Leader
	cli    pdpb.PD_TsoClient
	cancel context.CancelFunc
	// timer checks the round timeout: it bounds the open, and then the age
	// of the oldest unanswered group. It re-arms itself rather than being
	// reset on every send, which keeps timer operations off the hot path.
	timer    *time.Timer
	openedAt time.Time
	// req is encoded only by the goroutine holding the send role.
	req pdpb.TsoRequest
	// resp is decoded in place by the receive goroutine (see streamCodec);
	// nothing keeps a reference to it past the answer that filled it.
	resp  pdpb.TsoResponse
	codec streamCodec

	// Guarded by c.mu.
	sent      []*group // in flight, in send order
	installed bool     // is (or was) c.st
	broken    bool     // no more sends; the receive goroutine drains sent
	cause     error    // why we cancelled it, if we did
	drained   bool     // its receive goroutine is done with it
	answered  bool     // at least one answer arrived
}

func (st *stream) send(n int) error {
	st.req.Count = uint32(n)
	return st.cli.Send(&st.req)
}

func (st *stream) errorf(op string, err error) error {
	return fmt.Errorf("tso: %s on stream to %s: %w", op, st.leader.Addr, err)
}

// breakLocked stops sends on st and cancels it; its receive goroutine then
// sees the stream end and resends or fails what is in flight.
func (c *Client) breakLocked(st *stream, cause error) {
	if st.cause != nil {
		return
	}
	st.broken = true
	st.cause = cause
	st.cancel()
}

// dispatch owns stream setup: it opens a stream when groups are queued and
// there is none, backs off between failures, following the leader, and
// fails the queue when the retry budget runs out. Sending and receiving on
// an open stream happen elsewhere (pumpLocked, receive).
func (c *Client) dispatch() {
	defer c.wg.Done()
	defer c.shutdown()
	// bo spans one streak of failures; nil while streams work.
	var bo *retry.Backoffer
	for {
		select {
		case <-c.kick:
		case <-c.ctx.Done():
			return
		}
		for {
			c.mu.Lock()
			err, answered := c.broke, c.brokeAnswered
			c.broke, c.brokeAnswered = nil, false
			need := c.st == nil && len(c.queue) > 0 && !c.closed
			c.mu.Unlock()
			if answered {
				bo = nil // the stream that broke had been working
			}
			if err == nil {
				if !need {
					break
				}
				if err = c.openStream(); err == nil {
					break
				}
			}
			if c.ctx.Err() != nil {
				return
			}
			if errors.Is(err, errLeaderChanged) {
				continue // reopen to the new leader at once
			}
			if isLeaderErr(err) {
				c.pd.ScheduleCheckLeader()
			}
			if !retryable(err) {
				c.failQueue(err)
				continue
			}
			if bo == nil {
				bo = retry.New(c.cfg.retryBudget)
			}
			var wake <-chan struct{}
			if l, lerr := c.pd.Leader(); lerr == nil {
				wake = l.Changed()
			}
			c.log.Debug("tso: stream failed, retrying", slog.Any("error", err))
			// Retrying is safe: unanswered groups handed nothing out, and
			// the regression check guards whatever the next stream says.
			if berr := bo.BackoffOrWake(c.ctx, c.cfg.kind, wake, err); berr != nil {
				if c.ctx.Err() != nil {
					return
				}
				c.failQueue(berr)
				bo = nil
			}
		}
	}
}

// failQueue fails every queued group: they all waited through the streak of
// failures that ran out of budget, or the error will not go away.
func (c *Client) failQueue(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for g := c.takeLocked(); g != nil; g = c.takeLocked() {
		n += g.n
		g.err = err
		close(g.done)
	}
	if n > 0 {
		c.log.Warn("tso: requests failed", slog.Int("count", n), slog.Any("error", err))
	}
}

// shutdown fails every queued group and stops the stream, whose receive
// goroutine fails what is in flight. Close marked the client closed before
// cancelling, so nothing is queued or sent afterwards.
func (c *Client) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st != nil {
		c.breakLocked(c.st, errClosed)
	}
	for g := c.takeLocked(); g != nil; g = c.takeLocked() {
		g.err = errClosed
		close(g.done)
	}
}

// openStream opens a Tso stream to the current leader, starts its receive
// goroutine, makes it the client's stream and sends what is queued.
func (c *Client) openStream() error {
	l, err := c.pd.Leader()
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(c.ctx)
	st := &stream{c: c, leader: l, cancel: cancel, openedAt: time.Now()}
	st.req.Header = c.pd.RequestHeader()
	c.mu.Lock() // watch reads st.timer under c.mu
	st.timer = time.AfterFunc(c.cfg.roundTimeout, st.watch)
	c.mu.Unlock()
	cli, err := pdpb.NewPDClient(l.Conn()).Tso(sctx, grpc.ForceCodecV2(&st.codec))
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed || c.ctx.Err() != nil:
		err = errClosed
	case st.cause != nil:
		err = st.cause // the round timer fired during the open
	case err != nil:
		err = fmt.Errorf("tso: open stream to %s: %w", l.Addr, err)
	}
	if err != nil {
		st.broken = true
		st.timer.Stop()
		cancel()
		return err
	}
	st.cli = cli
	st.installed = true
	c.st = st
	c.stats.streams.Add(1)
	c.log.Debug("tso: stream opened", slog.String("addr", l.Addr))
	c.wg.Add(1)
	go c.receive(st)
	c.pumpLocked()
	return nil
}

// watch is the round timer of st: it breaks the stream when the open, or
// the oldest group in flight, has waited longer than the round timeout.
func (st *stream) watch() {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.cause != nil || st.drained {
		return
	}
	since := st.openedAt
	if st.installed {
		if len(st.sent) == 0 {
			st.timer.Reset(c.cfg.roundTimeout)
			return
		}
		since = st.sent[0].sentAt
	}
	if wait := c.cfg.roundTimeout - time.Since(since); wait > 0 {
		st.timer.Reset(wait)
		return
	}
	c.breakLocked(st, fmt.Errorf("tso: stream to %s: %w", st.leader.Addr, ErrRoundTimeout))
}

// receive answers the groups in flight on st in the order they were sent,
// refilling the pipeline after each answer, until the stream ends; then it
// resends or fails what is still in flight.
func (c *Client) receive(st *stream) {
	defer c.wg.Done()
	for {
		err := st.cli.RecvMsg(&st.resp)
		c.mu.Lock()
		var g *group
		if err == nil {
			g, err = c.answerLocked(st)
		} else if st.cause != nil {
			err = st.cause
		} else {
			err = st.errorf("recv", err)
		}
		if err != nil {
			c.drainLocked(st, err)
			c.mu.Unlock()
			return
		}
		// Send what queued while the answer was on its way before waking
		// the callers it answers, so the pipeline stays full.
		c.pumpLocked()
		c.mu.Unlock()
		close(g.done)
	}
}

// answerLocked checks the answer in st.resp against the oldest group in
// flight and, if it fits, assigns the group its timestamps.
func (c *Client) answerLocked(st *stream) (*group, error) {
	if len(st.sent) == 0 {
		return nil, fmt.Errorf("tso: %w: answer with no request in flight", ErrUnexpectedResponse)
	}
	g := st.sent[0]
	resp := &st.resp
	if err := c.pd.CheckResponseHeader(resp.GetHeader()); err != nil {
		return nil, err
	}
	n := g.n
	if resp.Count != uint32(n) || resp.Timestamp == nil {
		return nil, fmt.Errorf("tso: %w: asked for %d, got count %d", ErrUnexpectedResponse, n, resp.Count)
	}
	// The answer carries the last timestamp of the batch.
	lastLogical := resp.Timestamp.Logical
	firstLogical := lastLogical - int64(n) + 1
	if firstLogical < 0 || lastLogical >= MaxLogical {
		return nil, fmt.Errorf("tso: %w: logical %d for count %d", ErrUnexpectedResponse, lastLogical, n)
	}
	first := Compose(resp.Timestamp.Physical, firstLogical)
	if first <= c.last {
		return nil, &RegressionError{Last: c.last, Got: first}
	}
	c.last = first + Timestamp(n-1)
	g.first = first
	copy(st.sent, st.sent[1:])
	st.sent[len(st.sent)-1] = nil
	st.sent = st.sent[:len(st.sent)-1]
	st.answered = true
	if n > 1 {
		c.burst = true
	}
	c.stats.rounds.Add(1)
	c.stats.timestamps.Add(uint64(n))
	return g, nil
}

// drainLocked retires a stream that ended: every group still in flight goes
// back to the front of the queue to be resent on the next stream, in the
// same order (a failed round handed nothing out), or fails when the error
// will not go away or the client is closing.
func (c *Client) drainLocked(st *stream, err error) {
	st.broken, st.drained = true, true
	st.timer.Stop()
	st.cancel()
	gs := st.sent
	st.sent = nil
	if c.st == st {
		c.st = nil
	}
	c.stats.failedRounds.Add(uint64(len(gs)))
	switch {
	case c.closed || c.ctx.Err() != nil:
		err = errClosed
	case !retryable(err):
		n := 0
		for _, g := range gs {
			n += g.n
		}
		if n > 0 {
			c.log.Warn("tso: requests failed", slog.Int("count", n), slog.Any("error", err))
		}
	default:
		c.requeueLocked(gs)
		if len(gs) > 0 {
			c.broke, c.brokeAnswered = err, st.answered
		}
		gs = nil
	}
	for _, g := range gs {
		g.err = err
		close(g.done)
	}
	if len(c.queue) > 0 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
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
