// Package pdclient owns the connection to PD: member discovery and leader
// tracking, region and store queries, GC safe points and GC state, keyspace
// metadata, and region split/scatter requests.
//
// It does not hand out timestamps (package tso does, on top of pdclient's
// discovery) and does not cache regions (package locate does).
//
// # Usage
//
//	cli, err := pdclient.New(ctx, []string{"127.0.0.1:2379"},
//		pdclient.WithLogger(logger), pdclient.WithTLS(tlsCfg))
//	if err != nil { ... }
//	defer cli.Close()
//	region, err := cli.GetRegion(ctx, encodedKey, pdclient.WithBuckets())
//
// # Keys
//
// Every key given to or returned by the region APIs is a region key exactly as
// PD stores it: the caller encodes user keys (memcomparable for TxnKV, the
// keyspace prefix for API V2) before calling, and decodes region boundaries
// afterwards. pdclient never changes keys.
//
// # Discovery and leadership
//
// [New] asks the given endpoints for the member list, learns the cluster id
// and dials the leader. A background loop refreshes members every
// [WithMemberRefreshInterval], and at once after a "not leader" or
// Unavailable answer ([Client.ScheduleCheckLeader]). [Client.Leader] exposes
// the current leader connection and a channel closed when it changes, which
// package tso uses to follow the leader with its own stream.
//
// # Concurrency, timeouts and retries
//
// A [Client] is safe for concurrent use. The ctx of each call bounds the whole
// call, retries included; [WithCallTimeout] tightens it per call and
// [WithRPCTimeout] bounds each attempt. Reads, and GC calls whose repetition
// converges on the same state, are retried on transport errors and leader
// changes within [WithRetryBudget]. SplitRegions and ScatterRegion(s) are
// retried only when PD provably did not receive them.
//
// # Errors
//
// Test errors with errors.Is and errors.As: [ErrRegionNotFound],
// [ErrStoreNotFound], [ErrKeyspaceNotFound], [ErrNotBootstrapped] and
// [ErrClusterIDMismatch] match errors decoded from PD; [*PDError] carries the
// header error type; [*RPCError] wraps gRPC failures with the method and
// member; [ErrClosed] follows Close. Bad options wrap [ErrInvalidOption] and
// bad BatchScanRegions ranges [ErrInvalidRange]; these and ErrClosed are
// package retry's shared values, the same in every module.
package pdclient
