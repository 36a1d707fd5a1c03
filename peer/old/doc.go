// Package peer compares tikvgo's simulator and clients with their upstream
// peers: client-go v2.0.4 and its in-process mock TiKV.
//
// The module lives outside go.work on purpose: client-go v2.0.4 pulls in an
// old dependency set (gogo protobuf, pd/client of 2022, prometheus, zap) that
// must never enter the product modules' build list. It is tested on its own:
//
//	cd peer && GOWORK=off go test ./...
//
// A [Target] is one backend that answers TiKV requests: [NewMockTarget] wraps
// client-go's mocktikv (testutils.NewMockTiKV), [NewSimTarget] reaches a
// tikvsim cluster over real gRPC, locating regions through its PD. Both take
// the same [tikvrpc.Request] and fill in the region Context themselves, so a
// test can send one request to both and compare the answers. That is what
// the differential test in this package does.
//
// Usage sketch:
//
//	mock, err := peer.NewMockTarget()
//	sim, err := peer.NewSimTarget(ctx, cluster.PDAddrs())
//	resp, err := sim.Send(ctx, req, routingKey, peer.TxnKey)
//
// Targets are safe for concurrent use. Errors are returned as values: a
// transport or routing failure is an error, while TiKV-level failures (region
// errors, key errors) stay inside the response, as the server sent them.
//
// [tikvrpc.Request]: https://pkg.go.dev/github.com/tikv/client-go/v2/tikvrpc#Request
package peer
