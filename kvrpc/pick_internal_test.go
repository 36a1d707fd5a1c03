package kvrpc

import "testing"

// TestPickSkipsUnready checks that pick hands out only ready connections
// while one exists, round-robin among them, and falls back to plain
// round-robin when none is ready.
func TestPickSkipsUnready(t *testing.T) {
	p := &connPool{}
	for range 3 {
		p.conns = append(p.conns, &conn{pool: p})
	}
	count := func() map[int]int {
		got := map[int]int{}
		for range 30 {
			cn := p.pick()
			for i, c := range p.conns {
				if c == cn {
					got[i]++
				}
			}
		}
		return got
	}
	if got := count(); len(got) != 3 || got[0] != 10 {
		t.Fatalf("none ready: picks %v, want 10 each", got)
	}
	p.conns[1].ready.Store(true)
	if got := count(); got[1] != 30 {
		t.Fatalf("only conn 1 ready: picks %v, want all on 1", got)
	}
	p.conns[2].ready.Store(true)
	if got := count(); got[0] != 0 || got[1] == 0 || got[2] == 0 {
		t.Fatalf("conns 1 and 2 ready: picks %v, want both and never 0", got)
	}
}
