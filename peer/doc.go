// Package peer is the harness that compares tikvgo's clients with their
// upstream peers (the newest client-go and its PD client) and with two
// hand-written floors, each client in its own process.
//
// One Go module cannot hold both clients: the newest client-go and its
// pd/client compile only against an older kvproto than tikvgo's. So the
// comparison is split into three modules, all outside go.work:
//
//   - peer (this one, standard library only): the scenario registry, the
//     timed runner that measures ops/s, latency percentiles and allocations
//     per op inside the worker, the worker's line protocol, the synthetic
//     region layout, and cmd/compare, the orchestrator.
//   - peer/upstream: a worker binary on the newest client-go, pd/client and
//     their kvproto. It also serves client-go's mock TiKV over gRPC for the
//     differential test.
//   - peer/tikvgo: a worker binary on tikvgo's modules (by replace) for
//     tikvgo's clients and the floors (a naive BatchCommands stream and bare
//     unary RPCs), and the differential test, which drives the upstream
//     mock and tikvsim with the same random command sequences.
//
// A worker reads one JSON [Case] per line on stdin, runs it against the
// out-of-process tikvsim cluster named by its -pd flag (or in process, for
// the LocateKey scenario) and writes one JSON [Result] per line on stdout.
// Every client runs in a worker of its own, so the allocations a Result
// reports are that client's alone.
//
// The full comparison, one command (peer/README.md has the tables):
//
//	cd peer && GOWORK=off go run ./cmd/compare -rounds 5 -duration 2s
//
// It builds tikvsim and both workers, starts one tikvsim process, runs every
// case of every scenario for every client in alternating rounds (the order
// of the clients rotates each round) and prints tables of the median of the
// per-round throughput ratios, with p99 latency and allocations per op.
// -smoke runs every case once with a handful of operations; scripts/test.sh
// runs that.
//
// peer/tikvgo's TestUpstreamSoak runs the newest client-go's txnkv and
// rawkv clients (the upstream worker's -soak mode) against tikvsim through
// a store restart and, with -peer.long, past client-go's safe-point
// window. It and cmd/compare fail on any method tikvsim answered
// Unimplemented unless [ServedExceptions] lists it with a reason.
//
// The transactional differential runs seeded schedules ([TxnSchedule],
// [GenerateTxnSchedule]: concurrent optimistic and pessimistic
// transactions in one fixed order of steps) through each client's
// transactional API ([RunTxnSchedule] over a [TxnDriver], the workers'
// -txnsched mode) and peer/tikvgo's TestTxnDifferential compares the reads,
// error classes and final states.
//
// New scenarios (the transactional ones: snapshot Get/BatchGet/Scan,
// commit of 1/16/256 keys, 2PC/async/1PC, pessimistic) are added by naming
// them in [Scenarios] and registering a [Setup] under that name in each
// worker's registry; the orchestrator then runs them for every client whose
// worker registered them.
package peer
