package kvrpc

// Codec is the kvproto gRPC codec, exported so the fake store in tests
// decodes as cheaply as the client does.
var Codec = codec{}

// InFlight returns how many requests wait for a response on the streams to
// addr, so tests can check that abandoned requests are forgotten.
func (c *Client) InFlight(addr string) int {
	v, ok := c.pools.Load(addr)
	if !ok {
		return 0
	}
	n := 0
	for _, cn := range v.(*connPool).conns {
		if cn.batch == nil {
			continue
		}
		n += cn.batch.inFlight()
	}
	return n
}
