package tikvsim

import (
	"context"
	"path"
	"reflect"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PDFault describes an injected failure for requests to PD members: every
// service on the PD address (pdpb.PD, keyspacepb.Keyspace, the resource
// manager, meta storage, and etcd's KV, Watch and Cluster, whose methods
// are "Range", "Put", "Watch", "MemberList", ...). Method names are not
// qualified by service. A request matches when every selector matches; the
// first matching fault with uses left applies.
type PDFault struct {
	// Method is the RPC name ("GetRegion", "Tso", "LoadKeyspace", ...);
	// "" matches every method.
	Method string
	// Member restricts the fault to one PD member (by index) when
	// AnyMember is false.
	Member    int
	AnyMember bool
	// Count is how many matching requests the fault affects; 0 means every
	// matching request until the fault is removed.
	Count int

	// Effects: Delay and Hold are waited first (bounded by the caller's
	// context); then GRPCCode, if set, fails the call (for Tso: the stream
	// open), else HeaderError, if set, replaces a unary response with an
	// empty one whose header carries this error type.
	Delay       time.Duration
	Hold        <-chan struct{}
	GRPCCode    codes.Code
	HeaderError pdpb.ErrorType
	// HeaderMessage is the header error's message (default "injected").
	HeaderMessage string
}

type pdFaultEntry struct {
	f    PDFault
	left int
}

type pdFaultTable struct {
	mu   sync.Mutex
	list []*pdFaultEntry
}

// InjectPDFault installs f and returns a function that removes it.
func (c *Cluster) InjectPDFault(f PDFault) (remove func()) {
	e := &pdFaultEntry{f: f, left: f.Count}
	if f.Count <= 0 {
		e.left = -1
	}
	t := &c.pdFaults
	t.mu.Lock()
	t.list = append(t.list, e)
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		for i, x := range t.list {
			if x == e {
				t.list = append(t.list[:i:i], t.list[i+1:]...)
				return
			}
		}
	}
}

func (t *pdFaultTable) match(member int, method string) *PDFault {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, e := range t.list {
		f := &e.f
		if (f.Method != "" && f.Method != method) || (!f.AnyMember && f.Member != member) {
			continue
		}
		if e.left > 0 {
			e.left--
			if e.left == 0 {
				t.list = append(t.list[:i:i], t.list[i+1:]...)
			}
		}
		out := *f
		return &out
	}
	return nil
}

// wait applies Delay and Hold.
func (f *PDFault) wait(ctx context.Context) error {
	if err := waitDelay(ctx, f.Delay); err != nil {
		return status.FromContextError(err).Err()
	}
	if err := waitHold(ctx, f.Hold); err != nil {
		return status.FromContextError(err).Err()
	}
	return nil
}

func (m *pdMember) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	f := m.c.pdFaults.match(m.idx, path.Base(info.FullMethod))
	if f == nil {
		return h(ctx, req)
	}
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	if f.GRPCCode != codes.OK {
		return nil, status.Error(f.GRPCCode, "tikvsim: injected PD fault")
	}
	resp, err := h(ctx, req)
	if err != nil || f.HeaderError == pdpb.ErrorType_OK {
		return resp, err
	}
	msg := f.HeaderMessage
	if msg == "" {
		msg = "injected"
	}
	out := reflect.New(reflect.TypeOf(resp).Elem())
	// Only PD-style headers can carry a pdpb error; other services' answers
	// (etcd, resource manager) come back empty.
	if hf := out.Elem().FieldByName("Header"); hf.IsValid() && hf.Type() == reflect.TypeFor[*pdpb.ResponseHeader]() {
		hf.Set(reflect.ValueOf(&pdpb.ResponseHeader{ClusterId: m.c.clusterID, Error: &pdpb.Error{Type: f.HeaderError, Message: msg}}))
	}
	return out.Interface(), nil
}

func (m *pdMember) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if f := m.c.pdFaults.match(m.idx, path.Base(info.FullMethod)); f != nil {
		if err := f.wait(ss.Context()); err != nil {
			return err
		}
		if f.GRPCCode != codes.OK {
			return status.Error(f.GRPCCode, "tikvsim: injected PD fault")
		}
	}
	return h(srv, ss)
}
