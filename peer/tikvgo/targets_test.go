package main

import (
	"context"
	"errors"
	"fmt"
)

// KeyMode says how a routing key maps to a region boundary.
type KeyMode int

const (
	// TxnKey routes by the memcomparable encoding of the key, as TiKV stores
	// region boundaries for transactional data.
	TxnKey KeyMode = iota
	// RawKey routes by the key as is (RawKV under API V1).
	RawKey
)

// Target is one backend that answers TiKV requests.
type Target interface {
	// Name is a short label used in test output ("mock", "tikvsim").
	Name() string
	// Send locates the region leader holding key (interpreted per mode),
	// fills in req.Context (region id, epoch, peer) while keeping the other
	// Context fields the caller set, and sends req there. req must not be
	// shared between concurrent calls: Send writes its Context.
	Send(ctx context.Context, req *Request, key []byte, mode KeyMode) (*Response, error)
	// Close releases the target's connections and storage.
	Close() error
}

// ErrNoRegion is returned when a target cannot find a region or leader for
// a key.
var ErrNoRegion = errors.New("peer: no region or leader for key")

// RouteError says which key could not be routed and why.
type RouteError struct {
	Target string
	Key    []byte
	Err    error
}

// Error implements error.
func (e *RouteError) Error() string {
	return fmt.Sprintf("peer: %s: route key %q: %v", e.Target, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *RouteError) Unwrap() error { return e.Err }

// EncodeKey returns the memcomparable encoding TiKV uses for transactional
// keys and region boundaries: 8-byte groups, each padded with zeros and
// followed by the marker 0xFF minus the pad count; a key whose length is a
// multiple of 8 (the empty key included) ends with an all-zero group marked
// 0xF7.
func EncodeKey(key []byte) []byte {
	const group = 8
	out := make([]byte, 0, (len(key)/group+1)*(group+1))
	for i := 0; ; i += group {
		rest := len(key) - i
		if rest >= group {
			out = append(out, key[i:i+group]...)
			out = append(out, 0xFF)
			continue
		}
		out = append(out, key[i:]...)
		pad := group - rest
		for range pad {
			out = append(out, 0)
		}
		out = append(out, byte(0xFF-pad))
		return out
	}
}
