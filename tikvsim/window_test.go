package tikvsim_test

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pingcap/kvproto/pkg/tikvpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tikvgo/tikvgo/tikvsim"
)

// pingCounter wraps a client connection and counts the HTTP/2 PING frames
// (not acks) the server sends on it, following frame boundaries in what
// the client reads.
type pingCounter struct {
	net.Conn
	pings *atomic.Int64

	mu   sync.Mutex
	head []byte // bytes of the current frame header read so far
	skip int    // payload bytes of the current frame still to pass
}

func (c *pingCounter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	for b := p[:n]; len(b) > 0; {
		if c.skip > 0 {
			k := min(c.skip, len(b))
			c.skip -= k
			b = b[k:]
			continue
		}
		k := min(9-len(c.head), len(b))
		c.head = append(c.head, b[:k]...)
		b = b[k:]
		if len(c.head) < 9 {
			continue
		}
		length := int(binary.BigEndian.Uint32(append([]byte{0}, c.head[:3]...)))
		const typePing, flagAck = 0x6, 0x1
		if c.head[3] == typePing && c.head[4]&flagAck == 0 {
			c.pings.Add(1)
		}
		c.head, c.skip = c.head[:0], length
	}
	return n, err
}

// TestStoreDoesNotPingPerRequest: a store keeps fixed flow-control windows,
// as TiKV does, so it does not probe the connection's bandwidth with a ping
// after every request a lone caller sends (grpc-go's default would).
func TestStoreDoesNotPingPerRequest(t *testing.T) {
	c := start(t, tikvsim.Options{})
	ri := c.Regions()[0]
	var pings atomic.Int64
	cc, err := grpc.NewClient(c.Stores()[0].Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return &pingCounter{Conn: conn, pings: &pings}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	stream, err := tikvpb.NewTikvClient(cc).BatchCommands(tctx(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		if err := stream.Send(&tikvpb.BatchCommandsRequest{
			Requests:   []*tikvpb.BatchCommandsRequest_Request{rawGetCmd(ri, "k")},
			RequestIds: []uint64{uint64(i + 1)},
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if p := pings.Load(); p > 2 {
		t.Fatalf("the store sent %d pings over %d requests, want at most 2", p, n)
	}
}
