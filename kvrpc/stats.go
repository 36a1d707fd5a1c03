package kvrpc

import "sync/atomic"

// Stats are cumulative counters of a [Client], for metrics adapters.
type Stats struct {
	// BatchMessages is how many BatchCommands messages were sent, and
	// BatchedRequests how many requests they carried; their ratio is the
	// average batch size.
	BatchMessages   uint64
	BatchedRequests uint64
	// DirectSends counts batches of one request that a caller sent from
	// its own goroutine because nobody else was sending on the connection
	// and few callers waited on it, instead of handing them to the
	// connection's sender goroutine.
	DirectSends uint64
	// UnaryRequests is how many requests took the unary path.
	UnaryRequests uint64
	// StreamsOpened counts BatchCommands streams opened, StreamFailures
	// those that broke while in use.
	StreamsOpened  uint64
	StreamFailures uint64
}

type counters struct {
	batchMessages, batchedRequests, directSends, unaryRequests, streamsOpened, streamFailures atomic.Uint64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		BatchMessages:   c.stats.batchMessages.Load(),
		BatchedRequests: c.stats.batchedRequests.Load(),
		DirectSends:     c.stats.directSends.Load(),
		UnaryRequests:   c.stats.unaryRequests.Load(),
		StreamsOpened:   c.stats.streamsOpened.Load(),
		StreamFailures:  c.stats.streamFailures.Load(),
	}
}
