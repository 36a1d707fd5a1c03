package twopc

import "context"

// GroupKeys groups keys by region and batch limits as a commit does and
// returns the number of batches (for benchmarks).
func (c *Client) GroupKeys(ctx context.Context, keys [][]byte, size func(int) int) (int, error) {
	key := func(i int) []byte { return keys[i] }
	idx := sortedIndexes(len(keys), key, nil)
	b, err := c.groupByRegion(ctx, idx, key, size, c.cfg.batchSize, c.cfg.batchKeys)
	return len(b), err
}
