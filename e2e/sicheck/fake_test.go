package sicheck_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	. "github.com/tikvgo/tikvgo/e2e/sicheck"
)

// memStore is an in-memory multi-version store whose transactions are
// snapshot isolated (reads at the start timestamp, first committer wins),
// unless a planted bug says otherwise.
type memStore struct {
	mu       sync.Mutex
	clock    uint64
	versions map[string][]version // ascending commit timestamps
	rng      *rand.Rand
	// loseAnswers is the chance (in 1/100) that a commit answer is lost;
	// half of those commits take effect.
	loseAnswers int
	bug         bug
}

type bug uint8

const (
	noBug bug = iota
	// readLatest reads the newest committed version, not the snapshot's
	// (read committed).
	readLatest
	// noConflictCheck lets concurrent writers of one key both commit
	// (lost update).
	noConflictCheck
)

type version struct {
	ts  uint64
	val []byte
}

var errConflict = errors.New("memstore: write conflict")

func newMemStore(seed uint64, loseAnswers int, b bug) *memStore {
	return &memStore{versions: make(map[string][]version), rng: rand.New(rand.NewPCG(seed, 7)), loseAnswers: loseAnswers, bug: b}
}

func (s *memStore) Begin(ctx context.Context) (ClientTxn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock++
	return &memTxn{s: s, start: s.clock, buf: make(map[string][]byte)}, nil
}

type memTxn struct {
	s      *memStore
	start  uint64
	commit uint64
	buf    map[string][]byte
}

func (t *memTxn) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	if v, ok := t.buf[string(key)]; ok {
		return v, true, nil
	}
	runtime.Gosched() // let other workers interleave between reads
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	vs := t.s.versions[string(key)]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].ts < t.start || t.s.bug == readLatest {
			return vs[i].val, true, nil
		}
	}
	return nil, false, nil
}

func (t *memTxn) Set(key, value []byte) error {
	t.buf[string(key)] = value
	return nil
}

func (t *memTxn) Commit(ctx context.Context) error {
	runtime.Gosched()
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bug != noConflictCheck {
		for k := range t.buf {
			if vs := s.versions[k]; len(vs) > 0 && vs[len(vs)-1].ts > t.start {
				return fmt.Errorf("key %q: %w", k, errConflict)
			}
		}
	}
	lost := s.rng.IntN(100) < s.loseAnswers
	if lost && s.rng.IntN(2) == 0 {
		return fmt.Errorf("answer lost before apply: %w", ErrIndeterminate)
	}
	s.clock++
	t.commit = s.clock
	for k, v := range t.buf {
		s.versions[k] = append(s.versions[k], version{ts: t.commit, val: v})
	}
	if lost {
		t.commit = 0
		return fmt.Errorf("answer lost after apply: %w", ErrIndeterminate)
	}
	return nil
}

func (t *memTxn) Rollback(ctx context.Context) error { return nil }
func (t *memTxn) StartTS() uint64                    { return t.start }
func (t *memTxn) CommitTS() uint64                   { return t.commit }
