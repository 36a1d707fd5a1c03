package memdb

import (
	"testing"
	"unsafe"
)

// TestNodeSizes keeps nodeBytes and kidsBytes honest: they are the heap
// size classes of a node and of an inner node's child array.
func TestNodeSizes(t *testing.T) {
	if s := unsafe.Sizeof(node{}); s > nodeBytes || s <= 512 {
		t.Errorf("node is %d bytes, nodeBytes %d", s, nodeBytes)
	}
	if s := unsafe.Sizeof([maxKeys + 2]*node{}); s != kidsBytes {
		t.Errorf("kids array is %d bytes, kidsBytes %d", s, kidsBytes)
	}
}
