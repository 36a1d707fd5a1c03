package memdb

import (
	"testing"
	"unsafe"
)

// TestNodeSizes keeps the node within its intended size and kidsBytes
// equal to an inner node's child array.
func TestNodeSizes(t *testing.T) {
	if s := unsafe.Sizeof(node{}); s != 64+8*nodeCap+24 {
		t.Errorf("node is %d bytes, want %d", s, 64+8*nodeCap+24)
	}
	if o := unsafe.Offsetof(node{}.heads); o != 64 {
		t.Errorf("heads at offset %d, want 64", o)
	}
	if o := unsafe.Offsetof(node{}.keys); o%32 != 0 {
		t.Errorf("keys at offset %d, want a multiple of 32", o)
	}
	if s := unsafe.Sizeof([nodeCap]*node{}); s != kidsBytes {
		t.Errorf("kids array is %d bytes, kidsBytes %d", s, kidsBytes)
	}
}
