package tikvsim_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// rpcLog collects what an OnRPC observer reports.
type rpcLog struct {
	mu   sync.Mutex
	rpcs []tikvsim.RPC
}

func (l *rpcLog) add(r tikvsim.RPC) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rpcs = append(l.rpcs, r)
}

func (l *rpcLog) has(want tikvsim.RPC) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.rpcs, want)
}

func (l *rpcLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.rpcs)
}

// TestOnRPCReportsEveryMethod checks the observer sees served calls with
// their code, methods a service leaves unimplemented, methods and services
// nothing serves (which still answer Unimplemented), and BatchCommands
// sub-requests of no served kind; and that every one is reported before
// the client has its answer.
func TestOnRPCReportsEveryMethod(t *testing.T) {
	c := start(t, tikvsim.Options{Stores: 1})
	var log rpcLog
	remove := c.OnRPC(log.add)
	ctx := tctx(t)
	store := c.Stores()[0]
	pdConn := dial(t, c.PDAddrs()[0])
	kvConn := dial(t, store.Addr)

	if _, err := pdpb.NewPDClient(pdConn).GetMembers(ctx, &pdpb.GetMembersRequest{}); err != nil {
		t.Fatal(err)
	}
	if want := (tikvsim.RPC{Server: tikvsim.ServerPD, ID: 0, Method: "/pdpb.PD/GetMembers", Code: codes.OK}); !log.has(want) {
		t.Errorf("GetMembers not reported as %+v: %+v", want, log.rpcs)
	}

	// A method the store's service deliberately leaves unimplemented.
	kv := tikvpb.NewTikvClient(kvConn)
	if _, err := kv.KvGC(ctx, &kvrpcpb.GCRequest{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("KvGC: %v, want Unimplemented", err)
	}
	if want := (tikvsim.RPC{Server: tikvsim.ServerStore, ID: store.ID, Method: "/tikvpb.Tikv/KvGC", Code: codes.Unimplemented}); !log.has(want) {
		t.Errorf("KvGC not reported as %+v", want)
	}

	// A method and a service nothing registers: answered Unimplemented, as
	// gRPC does, and reported.
	for _, tc := range []struct {
		server, method, addr string
		id                   uint64
	}{
		{tikvsim.ServerStore, "/tikvpb.Tikv/NoSuchMethod", store.Addr, store.ID},
		{tikvsim.ServerPD, "/no.such.Service/Call", c.PDAddrs()[0], 0},
	} {
		conn := kvConn
		if tc.server == tikvsim.ServerPD {
			conn = pdConn
		}
		err := conn.Invoke(ctx, tc.method, &pdpb.GetMembersRequest{}, &pdpb.GetMembersResponse{})
		if status.Code(err) != codes.Unimplemented {
			t.Fatalf("%s: %v, want Unimplemented", tc.method, err)
		}
		if want := (tikvsim.RPC{Server: tc.server, ID: tc.id, Method: tc.method, Code: codes.Unimplemented}); !log.has(want) {
			t.Errorf("%s not reported as %+v", tc.method, want)
		}
	}

	// A BatchCommands sub-request with no command: answered (empty), and
	// reported as a kind nothing serves.
	stream, err := kv.BatchCommands(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&tikvpb.BatchCommandsRequest{Requests: []*tikvpb.BatchCommandsRequest_Request{{}}, RequestIds: []uint64{1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if want := (tikvsim.RPC{Server: tikvsim.ServerStore, ID: store.ID, Method: "/tikvpb.Tikv/BatchCommands/empty", Code: codes.Unimplemented}); !log.has(want) {
		t.Errorf("empty sub-request not reported as %+v", want)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}

	// Once removed, the observer hears nothing more.
	remove()
	n := log.len()
	if _, err := pdpb.NewPDClient(pdConn).GetMembers(ctx, &pdpb.GetMembersRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := log.len(); got != n {
		t.Errorf("removed observer got %d more reports", got-n)
	}
}

// TestOnRPCSeesFaults checks an injected gRPC error is reported with its
// code: the observer is outside fault injection.
func TestOnRPCSeesFaults(t *testing.T) {
	c := start(t, tikvsim.Options{Stores: 1})
	var log rpcLog
	c.OnRPC(log.add)
	c.InjectPDFault(tikvsim.PDFault{Method: "GetMembers", Count: 1, GRPCCode: codes.Unavailable})
	_, err := pdClient(t, c, 0).GetMembers(tctx(t), &pdpb.GetMembersRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("GetMembers: %v, want the injected Unavailable", err)
	}
	if want := (tikvsim.RPC{Server: tikvsim.ServerPD, Method: "/pdpb.PD/GetMembers", Code: codes.Unavailable}); !log.has(want) {
		t.Errorf("faulted GetMembers not reported as %+v: %+v", want, log.rpcs)
	}
}
