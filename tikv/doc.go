// Package tikv is the facade of tikvgo: one constructor that takes PD
// addresses and options and hands out the raw and transactional clients, and
// one Close that releases everything.
//
// It owns no protocol logic of its own; it combines rawkv and txnkv and
// re-exports their public API. No other library module imports it.
package tikv
