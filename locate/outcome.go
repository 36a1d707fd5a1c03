package locate

import (
	"errors"
	"sync/atomic"

	"github.com/tikvgo/tikvgo/kvrpc"
)

// Outcome records, across every attempt of one write operation, whether
// any attempt may have been applied by a store. One operation may send many
// attempts (retries on other replicas, resends after a region change, one
// request per batch or per range span), and an attempt whose answer was lost
// may be applied even if a later attempt fails with a definite error; so the
// operation's outcome is unknown as soon as any attempt may have reached a
// store, not only when the last one did.
//
// Pass the same Outcome to every [Sender.Send] (through [WithOutcome]) and
// router call of the operation, then ask [Outcome.MayHaveApplied] when it
// failed. The zero value is ready; a nil *Outcome records nothing. It is
// safe for concurrent use (batches of one operation run in parallel).
type Outcome struct {
	applied atomic.Bool
}

// MayHaveApplied reports whether any attempt recorded so far may have been
// applied: a transport failure after the request may have left the client
// (kvrpc.RPCError.Sent, or an error of unknown kind), an UndeterminedResult
// answer, or a successful answer (another batch or span of the same
// operation failing later leaves the operation partly applied).
func (o *Outcome) MayHaveApplied() bool { return o != nil && o.applied.Load() }

func (o *Outcome) mark() {
	if o != nil {
		o.applied.Store(true)
	}
}

// recordSendErr records a failed attempt: it may have been applied unless
// the transport proves it never left the client.
func (o *Outcome) recordSendErr(err error) {
	if o == nil {
		return
	}
	var rpcErr *kvrpc.RPCError
	switch {
	case errors.As(err, &rpcErr):
		if rpcErr.Sent {
			o.mark()
		}
	case errors.Is(err, kvrpc.ErrInvalidRequest):
		// Rejected before anything was sent.
	default:
		// An error of unknown origin (an interceptor's, a fake's) proves
		// nothing about the request: assume it may have left.
		o.mark()
	}
}

// WithOutcome makes the send record into o whether an attempt of the
// request may have been applied. Use it for writes; reads need no record.
func WithOutcome(o *Outcome) SendOption {
	return sendOption(func(c sendConfig) sendConfig { c.outcome = o; return c })
}
