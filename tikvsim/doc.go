// Package tikvsim runs a simulated TiKV + PD cluster that speaks the real
// kvproto gRPC protocol on loopback, with Percolator/MVCC semantics
// (internal/mvcc), regions, and deterministic fault injection. It is a test
// and demo tool for tikvgo and its users; it is never a production backend.
//
// # Usage
//
//	c, err := tikvsim.Start(ctx, tikvsim.Options{Stores: 3})
//	if err != nil { ... }
//	defer c.Close()
//	client := connect(c.PDAddrs())          // any PD client
//	c.SplitRegion([]byte("m"))              // region keys are memcomparable
//	c.TransferLeader(regionID, storeID)     // clients see NotLeader
//	c.InjectFault(tikvsim.Fault{Command: "KvCommit", Count: 1, GRPCCode: codes.Unavailable})
//
// The cmd/tikvsim binary runs a cluster in the foreground and exposes the
// same operations through [AdminHandler].
//
// # What is simulated
//
//   - PD ([Cluster.PDAddrs]): members with one leader (followers answer
//     codes.Unavailable "not leader"; region queries are served by a follower
//     only with the pd-allow-follower-handle metadata), TSO streams packing
//     physical<<18|logical and answering the last timestamp of each batch,
//     region and store queries, GC safe points, SplitRegions/ScatterRegion,
//     keyspaces. Every member shares one state, so timestamps stay monotonic
//     across leader changes. PD's embedded etcd is not served.
//   - TiKV ([Cluster.StoreAddrs]): every KV RPC goes through TiKV's checks
//     in TiKV's order (cluster id, api version and key mode, store id,
//     region, peer id, leadership or replica/stale-read rules, term, epoch
//     version, keys inside the region) before reaching the engine.
//     Responses carry the matching errorpb errors. BatchCommands answers
//     sub-requests concurrently, out of order, grouped across messages.
//   - Regions: boundaries are region keys, memcomparable-encoded
//     ([EncodeKey]) for transactional and API V2 keys, raw for API V1 raw
//     keys. Splits derive right (the original id keeps the right-most part),
//     merges keep the target, leader changes raise max_ts.
//
// # Health
//
// Every store and PD member serves grpc.health.v1.Health: SERVING while up;
// a stopped server refuses connections (open Watch streams hear NOT_SERVING,
// then end); a partitioned store answers nothing, health checks included, as
// with every other request; after a restart or heal it is SERVING again.
//
// # Simplifications
//
// All stores share one storage engine: replication is instantaneous, so a
// replica read on a follower sees exactly what the leader sees (read-index
// semantics without lag), data survives StopStore, and UnsafeDestroyRange
// applies once for all replicas. A region's stale-read safe ts is the last
// timestamp PD handed out, lowered to the start ts of the region's oldest
// Put/Delete lock, unless set with [Cluster.SetSafeTS]; it is computed when
// asked, with no refresh interval. The GC model
// is PD master's (txn safe point, GC safe point, GC barriers) with every
// keyspace unified into the null keyspace; the engine collects garbage
// synchronously when the GC safe point advances. A request outliving its
// max_execution_duration_ms gets ServerIsBusy "deadline is exceeded"; busy
// thresholds, disk-full and max-ts sync delays are not modelled except
// through [Cluster.InjectFault].
//
// # Concurrency and errors
//
// A [Cluster] is safe for concurrent use. Cluster operations return errors
// that wrap the package's ErrXxx sentinels; test them with errors.Is.
//
// It does not depend on any other tikvgo module, and no client module imports
// it outside its tests.
package tikvsim
