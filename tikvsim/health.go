package tikvsim

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Every store and PD member serves grpc.health.v1.Health, as real TiKV does
// and as real PD's embedded etcd does: clients probe a store they could not
// reach through it before routing to it again.
//
// The states a client can observe:
//   - up: Check and Watch answer SERVING for the server ("" service);
//   - stopped (StopStore, StopPD): the listener is closed, so the probe
//     cannot connect; open Watch streams first receive NOT_SERVING, then end;
//   - partitioned (PartitionStore): Check hangs until the caller's deadline
//     and a new Watch sends nothing, exactly as every other request to a
//     partitioned store does (the network drops it; the server is fine);
//   - restarted or healed: SERVING again.

// serveHealth registers a fresh health server on g. Each start of an
// endpoint gets its own, so a restart answers SERVING however the previous
// run ended.
func serveHealth(g *grpc.Server) *health.Server {
	h := health.NewServer() // the "" service starts SERVING
	healthpb.RegisterHealthServer(g, h)
	return h
}

// healthWatchMethod is the one streaming health RPC.
const healthWatchMethod = "/grpc.health.v1.Health/Watch"

// streamInterceptor drops a health Watch opened to a partitioned store the
// way its unary interceptor drops Check. Other streams (BatchCommands) deal
// with partitions themselves, per sub-request.
func (s *store) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if info.FullMethod == healthWatchMethod && s.partitioned() != nil {
		return s.blackhole(ss.Context())
	}
	return h(srv, ss)
}
