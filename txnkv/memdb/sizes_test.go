package memdb

import (
	"testing"
	"unsafe"
)

// TestNodeSizes keeps the node within its intended size and kidsBytes
// equal to an inner node's child array.
func TestNodeSizes(t *testing.T) {
	if s := unsafe.Sizeof(node{}); s > 576 || s <= 512 {
		t.Errorf("node is %d bytes, want the 576-byte size class", s)
	}
	if s := unsafe.Sizeof([maxKeys + 2]*node{}); s != kidsBytes {
		t.Errorf("kids array is %d bytes, kidsBytes %d", s, kidsBytes)
	}
}
