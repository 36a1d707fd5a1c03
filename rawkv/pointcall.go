package rawkv

import (
	"sync"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/tikvgo/tikvgo/kvrpc"
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/retry"
)

// pointState is the reusable state of one point call of a hot command (Get,
// Put): the call, its outcome record, its request context and message, and
// the kvrpc request wrapping them, with the call's backoffer, in one object.
//
// Reusing it after the call is safe because nothing holds it by then:
// kvrpc encodes a batched request in the caller's goroutine and keeps no
// reference to it once Send returned (a unary request is marshalled before
// gRPC's call returns), the router and sender start no goroutines of their
// own, and what the call returns (values, errors) is decoded from the
// response or copied. Interceptors installed on the RPC client must not
// keep a request either (kvrpc.Interceptor says so).
type pointState[M any] struct {
	cl      call
	bo      retry.Backoffer
	outcome locate.Outcome
	rctx    kvrpcpb.Context
	msg     M
	// req wraps &msg; made once, with the state.
	req *kvrpc.Request
}

// pointPool recycles the pointState of one command of one client.
type pointPool[M any] struct {
	pool sync.Pool
	kind callKind
	cmd  kvrpc.CmdType
	wrap func(*M) *kvrpc.Request // the command's kvrpc constructor
	// base is the request context every call starts from (API version,
	// keyspace, and for writes the execution limit).
	base kvrpcpb.Context
	// opts are the sender options of the kind; a write's state adds the
	// option recording into its own outcome.
	opts []locate.SendOption
}

func newPointPool[M any](c *Client, kind callKind, cmd kvrpc.CmdType, wrap func(*M) *kvrpc.Request) *pointPool[M] {
	p := &pointPool[M]{kind: kind, cmd: cmd, wrap: wrap, opts: c.kindOpts[kind]}
	if kind == write {
		p.base = *c.writeContext()
	} else {
		p.base = *c.codec.Context()
	}
	return p
}

// get returns a state ready for a new call: a reset backoffer and outcome,
// the base request context, and a zero message for the caller to fill in
// (with Context pointing at rctx).
func (p *pointPool[M]) get(c *Client) *pointState[M] {
	st, _ := p.pool.Get().(*pointState[M])
	if st == nil {
		st = new(pointState[M])
		st.req = p.wrap(&st.msg)
		st.cl.cmd = p.cmd
		st.cl.bo = &st.bo
		st.cl.opts = p.opts
		if p.kind == write {
			st.cl.outcome = &st.outcome
			// The three-index slice makes append copy: p.opts is shared.
			st.cl.opts = append(p.opts[:len(p.opts):len(p.opts)], locate.WithOutcome(&st.outcome))
		}
	}
	st.bo.Reset(c.cfg.budget, c.cfg.boOpts...)
	st.outcome = locate.Outcome{}
	// The epoch and peer messages of the previous call are kept: the
	// sender reuses them when this call's target is the same (they are
	// never written to, only replaced).
	epoch, peer := st.rctx.RegionEpoch, st.rctx.Peer
	st.rctx = p.base
	st.rctx.RegionEpoch, st.rctx.Peer = epoch, peer
	st.req.SetTimeout(0)
	return st
}

// put returns st to the pool once its call returned. The message is
// cleared first, so the pool pins no key or value of the caller's.
func (p *pointPool[M]) put(st *pointState[M]) {
	var zero M
	st.msg = zero
	p.pool.Put(st)
}
