// Package tikvsim owns a simulated TiKV + PD cluster that speaks the real
// kvproto gRPC protocol on loopback, with Percolator/MVCC semantics, regions,
// and fault injection. It is a test and demo tool for tikvgo and its users;
// it is never a production backend.
//
// It does not depend on any other tikvgo module, and no client module imports
// it outside its tests.
package tikvsim
