// Package mvcc is tikvsim's storage engine.
package mvcc
