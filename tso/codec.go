package tso

import (
	"fmt"

	"github.com/pingcap/kvproto/pkg/pdpb"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// streamCodec is the gRPC codec of one Tso stream. gRPC's default proto
// codec wraps every kvproto (gogo) message in a protobuf-v2 adapter and
// decodes every response into a freshly allocated TsoResponse, Header and
// Timestamp. On the Tso stream the dispatcher receives into one response
// it owns and reuses, so this codec calls the generated Marshal/Unmarshal
// directly and decodes in place. That takes several allocations off every
// round, which is what a single caller pays per timestamp.
//
// Requests differ only in their count (a stream keeps one header), so the
// encodings of small counts are kept and sent again: gRPC only reads a
// payload, and frees nothing that is a plain slice, so one immutable
// encoding can be in several sends at once. That takes the encoding's
// allocations off a round of one.
//
// One goroutine at a time sends on a stream (the client's send role) and
// only its receive goroutine receives, so neither side needs a lock. Other
// message types fall back to gRPC's proto codec.
type streamCodec struct {
	enc     [cachedCounts]mem.BufferSlice // by count; nil until first sent
	scratch []byte                        // joins a response that arrived in several buffers
	// The sub-messages of the last response decoded; reused every round.
	header pdpb.ResponseHeader
	ts     pdpb.Timestamp
}

// cachedCounts bounds the counts whose encoding a stream keeps.
const cachedCounts = 128

var _ encoding.CodecV2 = (*streamCodec)(nil)

// Name keeps the standard content subtype: PD sees a plain proto stream.
func (*streamCodec) Name() string { return grpcproto.Name }

func (c *streamCodec) Marshal(v any) (mem.BufferSlice, error) {
	req, ok := v.(*pdpb.TsoRequest)
	if !ok {
		return encoding.GetCodecV2(grpcproto.Name).Marshal(v)
	}
	if req.Count < cachedCounts && c.enc[req.Count] != nil {
		return c.enc[req.Count], nil
	}
	buf := make([]byte, req.Size())
	n, err := req.MarshalToSizedBuffer(buf)
	if err != nil {
		return nil, fmt.Errorf("tso: marshal request: %w", err)
	}
	// MarshalToSizedBuffer fills buf from its end.
	bs := mem.BufferSlice{mem.SliceBuffer(buf[len(buf)-n:])}
	if req.Count < cachedCounts {
		c.enc[req.Count] = bs
	}
	return bs, nil
}

func (c *streamCodec) Unmarshal(data mem.BufferSlice, v any) error {
	resp, ok := v.(*pdpb.TsoResponse)
	if !ok {
		return encoding.GetCodecV2(grpcproto.Name).Unmarshal(data, v)
	}
	var b []byte
	if len(data) == 1 {
		b = data[0].ReadOnlyData()
	} else {
		n := data.Len()
		if cap(c.scratch) < n {
			c.scratch = make([]byte, n)
		}
		b = c.scratch[:n]
		data.CopyTo(b)
	}
	// The generated Unmarshal decodes into the sub-messages it finds
	// non-nil and keeps fields the new message lacks, so start from a clean
	// response whose sub-messages are the codec's own, then drop those the
	// message did not carry: a missing header must stay nil for the
	// header check to see it.
	c.header, c.ts = pdpb.ResponseHeader{}, pdpb.Timestamp{}
	*resp = pdpb.TsoResponse{Header: &c.header, Timestamp: &c.ts}
	if err := resp.Unmarshal(b); err != nil {
		return fmt.Errorf("tso: unmarshal response: %w", err)
	}
	hasHeader, hasTS := false, false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break // Unmarshal accepted it, so this cannot happen
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			break
		}
		b = b[n+m:]
		switch num {
		case 1:
			hasHeader = true
		case 3:
			hasTS = true
		}
	}
	if !hasHeader {
		resp.Header = nil
	}
	if !hasTS {
		resp.Timestamp = nil
	}
	return nil
}
