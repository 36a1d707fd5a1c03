package tikvsim

import (
	"cmp"
	"net/http"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
)

// RPCCount is one row of the admin endpoint GET /rpcs: how many calls to
// Method on one kind of server ended with Code since the handler was
// built.
type RPCCount struct {
	Server string `json:"server"`
	Method string `json:"method"`
	// Code is the gRPC status code's name ("OK", "Unimplemented", ...).
	Code  string `json:"code"`
	Count int    `json:"count"`
}

type rpcCountKey struct {
	server, method string
	code           codes.Code
}

// rpcCounter counts every call OnRPC reports, for GET /rpcs: an
// out-of-process driver (peer's compare) asks it which methods its
// clients sent that tikvsim answered Unimplemented.
type rpcCounter struct {
	mu     sync.Mutex
	counts map[rpcCountKey]int
}

func (r *rpcCounter) add(rpc RPC) {
	r.mu.Lock()
	r.counts[rpcCountKey{rpc.Server, rpc.Method, rpc.Code}]++
	r.mu.Unlock()
}

func (r *rpcCounter) rows() []RPCCount {
	r.mu.Lock()
	out := make([]RPCCount, 0, len(r.counts))
	for k, n := range r.counts {
		out = append(out, RPCCount{Server: k.server, Method: k.method, Code: k.code.String(), Count: n})
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b RPCCount) int {
		return cmp.Or(cmp.Compare(a.Server, b.Server), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Code, b.Code))
	})
	return out
}

// handleRPCCounts registers GET /rpcs on mux, counting from now for as
// long as the cluster runs.
func handleRPCCounts(mux *http.ServeMux, c *Cluster) {
	r := &rpcCounter{counts: map[rpcCountKey]int{}}
	c.OnRPC(r.add)
	mux.HandleFunc("GET /rpcs", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, r.rows()) })
}
