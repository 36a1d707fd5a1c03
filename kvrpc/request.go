package kvrpc

import (
	"context"
	"fmt"

	"github.com/pingcap/kvproto/pkg/errorpb"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/protoadapt"
)

// Message is a kvproto request or response message.
type Message = protoadapt.MessageV1

// CmdType names the TiKV command a [Request] carries. Its string form is the
// gRPC method name of the command (for example "KvGet"), which is stable and
// bounded, so it is suitable as a metric label.
type CmdType string

// command is the per-command behaviour behind a Request: how to reach its
// kvrpcpb.Context, how to call it unary, and how to pack and unpack it in a
// BatchCommands message. One value per command type exists (see commands.go).
type command interface {
	cmdType() CmdType
	hasContext() bool
	context(m Message) *kvrpcpb.Context
	setContext(m Message, c *kvrpcpb.Context)
	batchable() bool
	toBatch(m Message) *tikvpb.BatchCommandsRequest_Request
	fromBatch(r *tikvpb.BatchCommandsResponse_Response) (Message, bool)
	decodeBatch(raw []byte) (Message, error)
	batchArm() protowire.Number
	unary(ctx context.Context, c tikvpb.TikvClient, m Message) (Message, error)
}

// spec is the generic implementation of command for request type Q and
// response type P. Every field is a method expression or a tiny closure, so a
// new command costs one table entry rather than a branch in a giant switch.
type spec[Q, P Message] struct {
	typ CmdType
	// getCtx and setCtx are nil for the few commands without a Context.
	getCtx func(Q) *kvrpcpb.Context
	setCtx func(Q, *kvrpcpb.Context)
	call   func(tikvpb.TikvClient, context.Context, Q, ...grpc.CallOption) (P, error)
	// wrap and unwrap are nil for commands TiKV does not accept in a
	// BatchCommands stream; those always take the unary path.
	wrap   func(Q) *tikvpb.BatchCommandsRequest_Request
	unwrap func(*tikvpb.BatchCommandsResponse_Response) P
	// arm and fast, when set, encode the request and decode the response
	// straight to and from bytes (see frame.go and decode.go): arm is the
	// field number of the command's oneof arm in both batch messages, fast
	// decodes that arm's response message and reports false for anything
	// it does not expect.
	arm  protowire.Number
	fast func([]byte) (P, bool)
}

func (s *spec[Q, P]) cmdType() CmdType { return s.typ }

func (s *spec[Q, P]) context(m Message) *kvrpcpb.Context {
	if s.getCtx == nil {
		return nil
	}
	return s.getCtx(m.(Q))
}

func (s *spec[Q, P]) setContext(m Message, c *kvrpcpb.Context) {
	if s.setCtx != nil {
		s.setCtx(m.(Q), c)
	}
}

func (s *spec[Q, P]) hasContext() bool { return s.setCtx != nil }

func (s *spec[Q, P]) batchable() bool { return s.wrap != nil }

func (s *spec[Q, P]) toBatch(m Message) *tikvpb.BatchCommandsRequest_Request {
	return s.wrap(m.(Q))
}

func (s *spec[Q, P]) fromBatch(r *tikvpb.BatchCommandsResponse_Response) (Message, bool) {
	p := s.unwrap(r)
	// A typed nil means the response carried a different command.
	if any(p) == any(*new(P)) {
		return nil, false
	}
	return p, true
}

// batchArm is the field number of the command's oneof arm in the batch
// request and response messages (the same in both), or 0 if unknown.
func (s *spec[Q, P]) batchArm() protowire.Number { return s.arm }

// decodeBatch decodes one encoded BatchCommandsResponse.Response with the
// fast decoder when it applies, else with the generated one.
func (s *spec[Q, P]) decodeBatch(raw []byte) (Message, error) {
	if s.fast != nil {
		if num, body, ok := responseArm(raw); ok && num == s.arm {
			if p, ok := s.fast(body); ok {
				return p, nil
			}
		}
	}
	r := &tikvpb.BatchCommandsResponse_Response{}
	if err := r.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("kvrpc: %w: %w", ErrUnexpectedResponse, err)
	}
	m, ok := s.fromBatch(r)
	if !ok {
		return nil, fmt.Errorf("kvrpc: %w: got %T", ErrUnexpectedResponse, r.GetCmd())
	}
	return m, nil
}

func (s *spec[Q, P]) unary(ctx context.Context, c tikvpb.TikvClient, m Message) (Message, error) {
	p, err := s.call(c, ctx, m.(Q))
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Request is one TiKV command addressed to a store. Build it with the
// constructor of its command ([NewGet], [NewRawPut], ...). A Request may be
// sent several times (retries re-send the same value) but must not be sent
// concurrently with itself, because callers stamp its [kvrpcpb.Context]
// between attempts.
type Request struct {
	cmd command
	msg Message
	// unaryOnly forces the unary path even for a batchable command.
	unaryOnly bool
}

func newRequest[Q, P Message](s *spec[Q, P], q Q) *Request {
	return &Request{cmd: s, msg: q}
}

// Type reports the command the request carries.
func (r *Request) Type() CmdType { return r.cmd.cmdType() }

// Message returns the kvrpcpb request message. Callers may read it; the
// region sender mutates only its Context.
func (r *Request) Message() Message { return r.msg }

// Context returns the request's kvrpcpb.Context, creating an empty one when
// the message has none, so callers can stamp region, epoch and peer in place.
// It returns nil for the store-level commands whose message has no Context
// field (StoreSafeTS, CheckLeader).
func (r *Request) Context() *kvrpcpb.Context {
	if !r.cmd.hasContext() {
		return nil
	}
	c := r.cmd.context(r.msg)
	if c == nil {
		c = &kvrpcpb.Context{}
		r.cmd.setContext(r.msg, c)
	}
	return c
}

// SetContext replaces the request's kvrpcpb.Context.
func (r *Request) SetContext(c *kvrpcpb.Context) { r.cmd.setContext(r.msg, c) }

// Batchable reports whether the request may travel in a BatchCommands
// stream: TiKV accepts it there and [Request.SetUnary] was not called.
func (r *Request) Batchable() bool { return !r.unaryOnly && r.cmd.batchable() }

// SetUnary forces the request onto the unary gRPC path even if its command
// could be batched (for example a large scan that should not delay a batch).
func (r *Request) SetUnary() { r.unaryOnly = true }

// Response is the answer to a [Request]. The client never modifies a
// Response after returning it, so it may be read from several goroutines.
type Response struct {
	msg Message
	// TransportLayerLoad is the gRPC CPU usage TiKV reported on the batch
	// that carried this response (280 means 280%); zero for unary responses.
	TransportLayerLoad uint64
	// Batched reports whether the response came through a BatchCommands stream.
	Batched bool
}

// NewResponse wraps a kvrpcpb response message. Interceptors and test fakes
// use it to answer without reaching a store.
func NewResponse(m Message) *Response { return &Response{msg: m} }

// Message returns the kvrpcpb response message; type-assert it to the
// response type of the request's command (for example *kvrpcpb.GetResponse).
func (r *Response) Message() Message { return r.msg }

// RegionError returns the region error the store attached to the response,
// or nil. Every region-scoped kvrpcpb response carries this field.
func (r *Response) RegionError() *errorpb.Error {
	if m, ok := r.msg.(interface{ GetRegionError() *errorpb.Error }); ok {
		return m.GetRegionError()
	}
	return nil
}
