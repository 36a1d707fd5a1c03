package tso

import "sync/atomic"

// Stats are cumulative counters of a [Client], for monitoring. Read them
// with [Client.Stats]; adapters turn them into metrics.
type Stats struct {
	// Rounds is the number of Tso stream rounds that succeeded.
	Rounds uint64
	// Timestamps is the number of timestamps those rounds handed out.
	Timestamps uint64
	// FailedRounds is the number of rounds that failed (and were retried or
	// failed their requests); a broken stream fails every round in flight
	// on it.
	FailedRounds uint64
	// Streams is the number of Tso streams opened.
	Streams uint64
}

type stats struct {
	rounds, timestamps, failedRounds, streams atomic.Uint64
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Rounds:       c.stats.rounds.Load(),
		Timestamps:   c.stats.timestamps.Load(),
		FailedRounds: c.stats.failedRounds.Load(),
		Streams:      c.stats.streams.Load(),
	}
}
