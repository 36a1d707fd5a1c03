package pdclient

import "sync/atomic"

// Stats are cumulative counters of a [Client], for monitoring. Read them
// with [Client.Stats]; adapters turn them into metrics.
type Stats struct {
	// Discoveries counts successful member discoveries.
	Discoveries uint64
	// DiscoveryFailures counts discoveries where no member answered usefully.
	DiscoveryFailures uint64
	// LeaderChanges counts leader switches after the first discovery.
	LeaderChanges uint64
	// Retries counts RPC attempts repeated after a retryable failure.
	Retries uint64
}

type stats struct {
	discoveries, discoveryFailures, leaderChanges, retries atomic.Uint64
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Discoveries:       c.stats.discoveries.Load(),
		DiscoveryFailures: c.stats.discoveryFailures.Load(),
		LeaderChanges:     c.stats.leaderChanges.Load(),
		Retries:           c.stats.retries.Load(),
	}
}
