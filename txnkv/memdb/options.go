package memdb

// Option configures a [MemDB] at [New].
type Option interface {
	apply(*config)
}

type config struct {
	entryLimit uint64
	totalLimit uint64
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithEntrySizeLimit caps the bytes of one key plus its value; a larger
// write fails with ErrEntryTooLarge. The default is no limit (TiKV's own
// raft entry limit, 8 MiB by default, then applies at commit).
func WithEntrySizeLimit(n uint64) Option {
	return optionFunc(func(c *config) { c.entryLimit = n })
}

// WithTotalSizeLimit caps [MemDB.Size]; a write that would exceed it fails
// with ErrTxnTooLarge. The default is no limit.
func WithTotalSizeLimit(n uint64) Option {
	return optionFunc(func(c *config) { c.totalLimit = n })
}
