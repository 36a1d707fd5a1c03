package cli_test

import (
	"bytes"
	"context"
	"errors"
	"hash/crc64"
	"slices"
	"sync"
	"time"

	"github.com/tikvgo/tikvgo/tools/internal/cli"
)

// fakeRaw is an in-memory cli.RawClient. TTLs are stored as given; nothing
// expires, which keeps the tests free of clocks.
type fakeRaw struct {
	mu     sync.Mutex
	data   map[string][]byte
	ttl    map[string]time.Duration
	closed bool
}

var errFakeClosed = errors.New("fake raw: closed")

func newFakeRaw() *fakeRaw {
	return &fakeRaw{data: map[string][]byte{}, ttl: map[string]time.Duration{}}
}

// fakeOpener hands out a fresh fakeRaw per open and records every open, so
// a test can tell how many raw clients a run built and with what target.
type fakeOpener struct {
	mu      sync.Mutex
	targets []cli.RawTarget
	clients []*fakeRaw
}

func (o *fakeOpener) open(_ context.Context, t cli.RawTarget) (cli.RawClient, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := newFakeRaw()
	o.targets = append(o.targets, t)
	o.clients = append(o.clients, c)
	return c, nil
}

func (o *fakeOpener) opens() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.clients)
}

func (f *fakeRaw) check() error {
	if f.closed {
		return errFakeClosed
	}
	return nil
}

func (f *fakeRaw) Get(_ context.Context, key []byte) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, false, err
	}
	v, ok := f.data[string(key)]
	return v, ok, nil
}

func (f *fakeRaw) Put(_ context.Context, key, value []byte, ttl time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	f.data[string(key)] = bytes.Clone(value)
	f.ttl[string(key)] = ttl
	return nil
}

func (f *fakeRaw) Delete(_ context.Context, key []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return err
	}
	delete(f.data, string(key))
	delete(f.ttl, string(key))
	return nil
}

func (f *fakeRaw) inRange(start, end []byte) []string {
	var keys []string
	for k := range f.data {
		if k >= string(start) && (len(end) == 0 || k < string(end)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func (f *fakeRaw) Scan(_ context.Context, start, end []byte, limit int, opts cli.ScanOptions) ([]cli.KV, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return nil, err
	}
	keys := f.inRange(start, end)
	if opts.Reverse {
		slices.Reverse(keys)
	}
	var out []cli.KV
	for _, k := range keys {
		if len(out) == limit {
			break
		}
		kv := cli.KV{Key: []byte(k)}
		if !opts.KeyOnly {
			kv.Value = f.data[k]
		}
		out = append(out, kv)
	}
	return out, nil
}

func (f *fakeRaw) CompareAndSwap(_ context.Context, key, expected, value []byte) (cli.CASResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return cli.CASResult{}, err
	}
	cur, ok := f.data[string(key)]
	res := cli.CASResult{PreviousExists: ok, Previous: cur}
	if (expected == nil && !ok) || (expected != nil && ok && bytes.Equal(cur, expected)) {
		f.data[string(key)] = bytes.Clone(value)
		res.Swapped = true
	}
	return res, nil
}

func (f *fakeRaw) TTL(_ context.Context, key []byte) (time.Duration, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return 0, false, err
	}
	_, ok := f.data[string(key)]
	return f.ttl[string(key)], ok, nil
}

func (f *fakeRaw) Checksum(_ context.Context, start, end []byte) (cli.Checksum, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(); err != nil {
		return cli.Checksum{}, err
	}
	var sum cli.Checksum
	tab := crc64.MakeTable(crc64.ECMA)
	for _, k := range f.inRange(start, end) {
		v := f.data[k]
		h := crc64.New(tab)
		h.Write([]byte(k))
		h.Write(v)
		sum.CRC64Xor ^= h.Sum64()
		sum.TotalKVs++
		sum.TotalBytes += uint64(len(k) + len(v))
	}
	return sum, nil
}

func (f *fakeRaw) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}
