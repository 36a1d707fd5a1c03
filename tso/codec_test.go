package tso

import (
	"testing"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/mem"
)

func encodeResp(t *testing.T, r *pdpb.TsoResponse) []byte {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStreamCodecDecodesInPlace checks that reusing one response across
// rounds never carries a field from an earlier message into a later one,
// and that a missing header or timestamp decodes as nil (the header check
// tells "no header" from a cluster-id mismatch by it).
func TestStreamCodecDecodesInPlace(t *testing.T) {
	var (
		c    streamCodec
		resp pdpb.TsoResponse
	)
	msgs := []struct {
		name string
		msg  *pdpb.TsoResponse
	}{
		{"error header", &pdpb.TsoResponse{
			Header: &pdpb.ResponseHeader{ClusterId: 7, Error: &pdpb.Error{Type: pdpb.ErrorType_NOT_BOOTSTRAPPED, Message: "x"}},
			Count:  3, Timestamp: &pdpb.Timestamp{Physical: 10, Logical: 5, SuffixBits: 2},
		}},
		{"ok", &pdpb.TsoResponse{
			Header: &pdpb.ResponseHeader{ClusterId: 7},
			Count:  1, Timestamp: &pdpb.Timestamp{Physical: 11},
		}},
		{"no header, no timestamp", &pdpb.TsoResponse{Count: 4}},
		{"empty", &pdpb.TsoResponse{}},
		{"ok again", &pdpb.TsoResponse{
			Header: &pdpb.ResponseHeader{ClusterId: 9},
			Count:  2, Timestamp: &pdpb.Timestamp{Physical: 12, Logical: 1},
		}},
	}
	for _, m := range msgs {
		b := encodeResp(t, m.msg)
		for _, split := range []bool{false, true} {
			data := mem.BufferSlice{mem.SliceBuffer(b)}
			if split && len(b) > 1 {
				data = mem.BufferSlice{mem.SliceBuffer(b[:1]), mem.SliceBuffer(b[1:])}
			}
			if err := c.Unmarshal(data, &resp); err != nil {
				t.Fatalf("%s: %v", m.name, err)
			}
			if !sameResp(&resp, m.msg) {
				t.Errorf("%s (split=%v): decoded %v, want %v", m.name, split, &resp, m.msg)
			}
			if (resp.Header == nil) != (m.msg.Header == nil) || (resp.Timestamp == nil) != (m.msg.Timestamp == nil) {
				t.Errorf("%s (split=%v): presence header=%v ts=%v, want header=%v ts=%v", m.name, split,
					resp.Header != nil, resp.Timestamp != nil, m.msg.Header != nil, m.msg.Timestamp != nil)
			}
		}
	}
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x0a, 0x05})}, &resp); err == nil {
		t.Error("truncated response decoded without error")
	}
}

func TestStreamCodecMarshal(t *testing.T) {
	var c streamCodec
	req := &pdpb.TsoRequest{Header: &pdpb.RequestHeader{ClusterId: 7}, Count: 42, DcLocation: "global"}
	data, err := c.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var got pdpb.TsoRequest
	if err := got.Unmarshal(data.Materialize()); err != nil {
		t.Fatal(err)
	}
	if got.Header.GetClusterId() != 7 || got.Count != 42 || got.DcLocation != "global" {
		t.Errorf("round trip: got %v, want %v", &got, req)
	}
	// Other messages go through gRPC's proto codec.
	other := &pdpb.GetMembersRequest{Header: &pdpb.RequestHeader{ClusterId: 7}}
	if data, err = c.Marshal(other); err != nil {
		t.Fatal(err)
	}
	var back pdpb.GetMembersRequest
	if err := c.Unmarshal(data, &back); err != nil || back.Header.GetClusterId() != 7 {
		t.Errorf("fallback round trip: %v, %v", &back, err)
	}
}

func sameResp(a, b *pdpb.TsoResponse) bool {
	if a.Count != b.Count || (a.Header == nil) != (b.Header == nil) || (a.Timestamp == nil) != (b.Timestamp == nil) {
		return false
	}
	if a.Header != nil {
		ae, be := a.Header.Error, b.Header.Error
		if a.Header.ClusterId != b.Header.ClusterId || (ae == nil) != (be == nil) {
			return false
		}
		if ae != nil && (ae.Type != be.Type || ae.Message != be.Message) {
			return false
		}
	}
	return a.Timestamp == nil || *a.Timestamp == *b.Timestamp
}
