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
//     region and store queries, GC safe points, SplitRegions/ScatterRegion
//     with GetOperator, external timestamps, global config, keyspaces
//     (DEFAULT, id 0, under every API version), the resource manager
//     (resource groups, RU token buckets) and the meta-storage service (a
//     gRPC view of PD's etcd that the PD client's resource controller
//     uses). Every member shares one state, so timestamps stay monotonic
//     across leader changes.
//   - PD's etcd: etcd's KV (Range, Put, DeleteRange, Txn, Compact), Watch
//     and Cluster (MemberList) services answer on every PD address, as they
//     do on real PD, which embeds etcd. Any running member serves them, from
//     one store shared by all members, so a PD leader change keeps the data.
//     PD writes there what PD writes: the GC safe point at
//     [GCSafePointKey] (hexadecimal) and the txn safe point at
//     [TxnSafePointKey] (decimal, where client-go reads it from PD versions
//     without the GC-state API), and global config under /global/config/.
//     Leases, auth, maintenance, periodic watch progress notifications and
//     membership changes are not served.
//   - TiKV ([Cluster.StoreAddrs]): every KV RPC goes through TiKV's checks
//     in TiKV's order (cluster id, api version and key mode, store id,
//     region, peer id, leadership or replica/stale-read rules, term, epoch
//     version, keys inside the region) before reaching the engine.
//     Responses carry the matching errorpb errors. BatchCommands answers
//     sub-requests concurrently, out of order, grouped across messages.
//     Stores keep fixed flow-control windows (a 2 MiB stream window, TiKV's
//     default), so, like TiKV, they do not ping a client after every round
//     trip of received data, as a grpc-go server with dynamic windows does;
//     PD members, grpc-go servers on real PD too, keep the default.
//   - Txn status cache: each store keeps the statuses clients broadcast
//     with BroadcastTxnStatus for their pipelined transactions (an LRU of
//     4096 entries per store; a running txn's min commit ts only rises, a
//     committed or rolled-back status is final). As in TiKV, snapshot reads
//     do not consult it; the stale-read safe ts (TiKV's resolved ts) does:
//     a pipelined txn's lock holds it below the cached min commit ts (below
//     its start ts without an entry), and not at all once the txn is known
//     committed or rolled back. [Cluster.TxnStatus] shows a store's entry.
//     TxnHeartBeat raises a pipelined, non-async-commit primary's
//     min_commit_ts to the request's, never lowering it (TiKV's rule).
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
// # Observing requests
//
// [Cluster.OnRequest] sees each store command (BatchCommands sub-requests
// included) by name before any check. [Cluster.OnRPC] sees every gRPC call
// a PD member or store finishes, on any service, with its status code,
// methods nothing serves included (answered Unimplemented, as gRPC does):
// a test that drives another client finds what it sent that the simulator
// does not serve. The admin endpoint's GET /rpcs counts the same calls for
// drivers in another process.
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
// is PD master's (txn safe point, GC safe point, GC barriers) per keyspace
// scope: keyspaces in [Options.KeyspaceLevelGC] have their own state, the
// others are unified into the null keyspace; the engine collects garbage
// synchronously, in the scope's keys, when a GC safe point advances. A request outliving its
// max_execution_duration_ms gets ServerIsBusy "deadline is exceeded"; busy
// thresholds, disk-full and max-ts sync delays are not modelled except
// through [Cluster.InjectFault].
//
// # Why PD's etcd is not embedded etcd
//
// Real PD embeds etcd (go.etcd.io/etcd/server/v3). tikvsim serves etcd's
// wire API from a small MVCC store instead (revisions, create/mod revisions
// and versions, prefix ranges, transactions, compaction, watches from any
// uncompacted revision), because:
//
//   - tikvsim is required by every module's tests, and the embedded server
//     would put raft, bbolt, OpenTelemetry, Prometheus and about 60 modules
//     in all into each of their build lists (server v3.7.3, counted with go
//     get), where the v3.5.10 API types and test client add 9;
//   - the embedded server has its own listeners, data directory and start-up
//     and election timing, while tikvsim's PD members must stop, restart on
//     the same address, be partitioned and change leader instantly and
//     deterministically on its one gRPC server per member;
//   - the newest client-go (tidb-8.5) is built with etcd v3.5.10, whose API
//     types are gogoproto-generated; a server of v3.7 (protobuf-go types)
//     would lift the peer module's etcd API past what that client compiles
//     against, so tikvsim uses the v3.5.10 API types;
//   - what clients use is small and fully specified by etcd's API: KV reads
//     and writes with revisions, watches and the member list.
//
// # Concurrency and errors
//
// A [Cluster] is safe for concurrent use. Cluster operations return errors
// that wrap the package's ErrXxx sentinels; test them with errors.Is.
//
// It does not depend on any other tikvgo module, and no client module imports
// it outside its tests.
package tikvsim
