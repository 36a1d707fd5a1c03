package sicheck

import "slices"

type pair struct{ from, to int }

// edgeInfo holds the kinds of dependency from one transaction to another
// and, per kind, one key that caused it.
type edgeInfo struct {
	kinds EdgeKind
	keys  [3]string // indexed by kindIndex
}

func kindIndex(k EdgeKind) int {
	switch k {
	case WW:
		return 0
	case WR:
		return 1
	}
	return 2
}

// graph is a directed graph over history indices.
type graph struct {
	out  [][]int
	info map[pair]*edgeInfo
}

func newGraph(n int) graph {
	return graph{out: make([][]int, n), info: make(map[pair]*edgeInfo)}
}

// nodes counts the transactions with at least one edge.
func (g *graph) nodes() int {
	in := make([]bool, len(g.out))
	for p := range g.info {
		in[p.from], in[p.to] = true, true
	}
	n := 0
	for _, b := range in {
		if b {
			n++
		}
	}
	return n
}

func (g *graph) add(from, to int, k EdgeKind, key string) {
	p := pair{from, to}
	e := g.info[p]
	if e == nil {
		e = &edgeInfo{}
		g.info[p] = e
		g.out[from] = append(g.out[from], to)
	}
	if e.kinds&k == 0 {
		e.kinds |= k
		e.keys[kindIndex(k)] = key
	}
}

// sccs returns the strongly connected components with more than one node
// of the subgraph of edges having a kind in mask (Tarjan's algorithm, with
// an explicit stack so that long chains cannot exhaust the goroutine stack).
func (g *graph) sccs(mask EdgeKind) [][]int {
	n := len(g.out)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var out [][]int
	var comp []int
	next := 0
	type frame struct{ v, i int }
	for root := range n {
		if index[root] >= 0 || len(g.out[root]) == 0 {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		comp = append(comp, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.i < len(g.out[f.v]) {
				w := g.out[f.v][f.i]
				f.i++
				if g.info[pair{f.v, w}].kinds&mask == 0 {
					continue
				}
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					comp = append(comp, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] {
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] == index[v] {
				i := len(comp) - 1
				for comp[i] != v {
					i--
				}
				members := slices.Clone(comp[i:])
				for _, m := range members {
					onStack[m] = false
				}
				comp = comp[:i]
				if len(members) > 1 {
					slices.Sort(members)
					out = append(out, members)
				}
			}
		}
	}
	return out
}

// shortestCycleVia returns the shortest cycle inside scc that uses exactly
// one edge of kind first (taken first) and then only edges of kinds in rest,
// or nil. It tries every first-kind edge inside the component and keeps the
// shortest, stopping at a cycle of two.
func (g *graph) shortestCycleVia(scc []int, first, rest EdgeKind) []Step {
	in := make(map[int]bool, len(scc))
	for _, v := range scc {
		in[v] = true
	}
	var best []Step
	for _, u := range scc {
		for _, v := range g.out[u] {
			if !in[v] || g.info[pair{u, v}].kinds&first == 0 {
				continue
			}
			path := g.bfs(v, u, rest, in, len(best))
			if path == nil {
				continue
			}
			cyc := append([]Step{g.step(u, v, first)}, path...)
			if best == nil || len(cyc) < len(best) {
				best = cyc
				if len(best) == 2 {
					return best
				}
			}
		}
	}
	return best
}

// bfs returns the shortest path from src to dst over edges with a kind in
// mask and nodes in in, or nil; it gives up on paths of limit steps or more
// when limit > 0.
func (g *graph) bfs(src, dst int, mask EdgeKind, in map[int]bool, limit int) []Step {
	if src == dst {
		return []Step{}
	}
	parent := map[int]int{src: src}
	frontier := []int{src}
	for depth := 1; len(frontier) > 0; depth++ {
		if limit > 0 && depth+1 >= limit {
			return nil
		}
		var nextFrontier []int
		for _, u := range frontier {
			for _, v := range g.out[u] {
				if _, seen := parent[v]; seen || !in[v] || g.info[pair{u, v}].kinds&mask == 0 {
					continue
				}
				parent[v] = u
				if v == dst {
					var path []Step
					for x := dst; x != src; x = parent[x] {
						path = append(path, g.step(parent[x], x, mask))
					}
					slices.Reverse(path)
					return path
				}
				nextFrontier = append(nextFrontier, v)
			}
		}
		frontier = nextFrontier
	}
	return nil
}

// step describes the edge from→to by one of its kinds in mask, preferring
// ww, then wr, then rw.
func (g *graph) step(from, to int, mask EdgeKind) Step {
	e := g.info[pair{from, to}]
	for _, k := range []EdgeKind{WW, WR, RW} {
		if e.kinds&mask&k != 0 {
			return Step{From: from, To: to, Kind: k, Key: e.keys[kindIndex(k)]}
		}
	}
	return Step{From: from, To: to}
}
