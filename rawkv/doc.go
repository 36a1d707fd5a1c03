// Package rawkv owns the raw key-value API of TiKV: get, put, delete, scans,
// TTLs, compare-and-swap, checksum and column families, with API v1, v1ttl and
// v2 (keyspace) encoding.
//
// It does not offer transactions (package txnkv does) and never imports txnkv.
package rawkv
