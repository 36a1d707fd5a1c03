package peer

import (
	"fmt"
	"slices"
)

// UnimplementedCode is the name of the gRPC status code a server answers
// for a method it does not serve, as tikvsim's GET /rpcs reports it.
const UnimplementedCode = "Unimplemented"

// ServedExceptions are the gRPC methods a client may send during the peer
// runs that tikvsim deliberately answers Unimplemented, each with the
// reason. Every other method a client sends must be served: the soak test
// (peer/tikvgo TestUpstreamSoak) and cmd/compare fail listing any that is
// not. Empty today: every method the newest client-go sends in those runs
// is served.
var ServedExceptions = map[string]string{}

// Unserved returns "method (n calls)" for every method in counts (calls by
// method, of those answered Unimplemented) that ServedExceptions does not
// excuse, sorted.
func Unserved(unimplemented map[string]int) []string {
	var out []string
	for m, n := range unimplemented {
		if _, ok := ServedExceptions[m]; !ok {
			out = append(out, fmt.Sprintf("%s (%d calls)", m, n))
		}
	}
	slices.Sort(out)
	return out
}
