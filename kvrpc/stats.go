package kvrpc

import "sync/atomic"

// Stats are cumulative counters of a [Client], for metrics adapters.
type Stats struct {
	// BatchMessages is how many BatchCommands messages were sent, and
	// BatchedRequests how many requests they carried; their ratio is the
	// average batch size.
	BatchMessages   uint64
	BatchedRequests uint64
	// DirectSends counts the BatchCommands messages that a caller sent
	// from its own goroutine (its request and any others queued
	// meanwhile) because nobody else was sending on the connection; the
	// rest were sent by the connection's sender goroutine, which takes over
	// from a caller that already sent several messages for others and
	// while the store reports overload.
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
