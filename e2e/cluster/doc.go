// Package cluster starts, or attaches to, the TiKV + PD cluster that the
// end-to-end suite runs against, and hides which kind of cluster it is.
//
// The backend is chosen by the TIKVGO_E2E_BACKEND environment variable:
//
//   - "sim" (the default): an in-process
//     [github.com/tikvgo/tikvgo/tikvsim] cluster.
//   - "containers": containers started with testcontainers-go on a private
//     Docker network, either the official pingcap/pd and pingcap/tikv images
//     or one locally built image holding the standalone tikvsim binary (see
//     [ImageMode]).
//   - "external": an already running cluster whose PD endpoints are listed,
//     comma-separated, in PD_ADDRS.
//
// A test obtains its cluster with [FromEnv], which also registers Close with
// the test's cleanup:
//
//	c, err := cluster.FromEnv(t.Context(), t)
//	if err != nil {
//		t.Fatal(err)
//	}
//	client := newClient(c.PDAddrs()) // dial the returned PD endpoints
//	if err := c.StopStore(ctx, id); errors.Is(err, cluster.ErrUnsupported) {
//		t.Skip("backend cannot stop stores")
//	}
//
// Every backend is returned only once it is ready: PD answers GetMembers,
// GetAllStores lists the expected stores as Up, and every store answers a
// RawGet. [WaitReady] runs the same checks against any PD endpoints.
//
// Fault hooks ([Cluster.StopStore], [Cluster.RestartStore],
// [Cluster.ChangePDLeader]) are capability-gated: a backend that cannot
// perform one returns an error matching [ErrUnsupported], and
// [Cluster.Supports] reports the capabilities up front.
//
// A backend chosen explicitly that cannot run (no Docker engine, PD_ADDRS
// empty, images missing) makes FromEnv fail with an error saying why; it
// never falls back to another backend and never skips.
//
// A [Cluster] is safe for concurrent use. Close is idempotent.
package cluster
