package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tikvgo/tikvgo/peer"
)

// row is one case: every client's results over the rounds.
type row struct {
	label   string
	results map[string][]peer.Result // by client, one per round
}

// table is one scenario's rows and the clients that ran it.
type table struct {
	spec    peer.ScenarioSpec
	clients []string
	rows    []row
}

// runScenario runs every case of spec in rounds and returns its table and
// the problems seen (failed cases, errors, clients that should have run
// it and did not).
func runScenario(ctx context.Context, cfg config, spec peer.ScenarioSpec, workers map[string]*worker) (table, []string, error) {
	t := table{spec: spec}
	var problems []string
	args := spec.Args
	if len(args) == 0 {
		args = []int{0}
	}
	if cfg.smoke {
		args = args[:1] // the smallest: seconds, not minutes
	}
	unsupported := map[string]bool{}
	for _, arg := range args {
		for _, callers := range spec.Callers {
			c := peer.Case{Scenario: spec.Name, Callers: callers, Arg: arg, Duration: cfg.duration, Warmup: cfg.warmup}
			rounds := cfg.rounds
			if cfg.smoke {
				c.Duration, c.MaxOps, c.Warmup, rounds = 10*time.Second, max(2*callers, 20), 2, 1
			}
			label := fmt.Sprint(callers)
			if spec.ArgName != "" {
				label = fmt.Sprintf("%d %s", arg, spec.ArgName)
				if len(spec.Callers) > 1 {
					label += fmt.Sprintf(", %d callers", callers)
				}
			}
			r := row{label: label, results: map[string][]peer.Result{}}
			logf("%s %s: %d round(s)", spec.Name, label, rounds)
			if cfg.profile != "" {
				// One extra, profiled round first, kept out of the table.
				rounds++
			}
			for round := range rounds {
				order := rotate(cfg.clients, round)
				profiled := cfg.profile != "" && round == 0
				for _, name := range order {
					if unsupported[name] {
						continue
					}
					c := c
					if profiled {
						base := filepath.Join(cfg.profile, fmt.Sprintf("%s-%s-c%d-a%d", name, spec.Name, callers, arg))
						c.CPUProfile, c.BlockProfile = base+".cpu.pprof", base+".block.pprof"
					}
					res, err := workers[name].do(ctx, c)
					if err != nil {
						return t, problems, err
					}
					if strings.Contains(res.Failed, peer.ErrUnknownScenario.Error()) {
						unsupported[name] = true
						continue
					}
					if res.Failed != "" {
						problems = append(problems, fmt.Sprintf("%s %s %s: %s", name, spec.Name, label, res.Failed))
						continue
					}
					if res.Errors > 0 {
						problems = append(problems, fmt.Sprintf("%s %s %s: %d of %d ops failed, first: %s", name, spec.Name, label, res.Errors, res.Ops, res.FirstError))
					}
					if !profiled {
						r.results[name] = append(r.results[name], res)
					}
				}
			}
			t.rows = append(t.rows, r)
		}
	}
	for _, name := range cfg.clients {
		if !unsupported[name] {
			t.clients = append(t.clients, name)
		} else if name == "tikvgo" || name == "client-go" {
			problems = append(problems, fmt.Sprintf("%s does not run scenario %s", name, spec.Name))
		}
	}
	return t, problems, nil
}

func rotate(s []string, n int) []string {
	n %= len(s)
	return append(slices.Clone(s[n:]), s[:n]...)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func field(rs []peer.Result, f func(peer.Result) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return median(xs)
}

// ratio is the median over rounds of a's ops/s divided by b's in the same
// round.
func ratio(a, b []peer.Result) float64 {
	var xs []float64
	for i := range min(len(a), len(b)) {
		if b[i].OpsPerSec > 0 {
			xs = append(xs, a[i].OpsPerSec/b[i].OpsPerSec)
		}
	}
	return median(xs)
}

func num(x float64) string {
	switch {
	case math.IsNaN(x):
		return "–"
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

// render writes the table as Markdown.
func (t table) render(b *strings.Builder) {
	fmt.Fprintf(b, "### %s (%s)\n\n", t.spec.Title, t.spec.Name)
	first := "callers"
	if t.spec.ArgName != "" {
		first = "case"
	}
	head := []string{first}
	var others []string
	for _, c := range t.clients {
		head = append(head, c+" ops/s")
		if c != t.clients[0] {
			others = append(others, c)
		}
	}
	for _, o := range others {
		head = append(head, t.clients[0]+"/"+o)
	}
	head = append(head, "p99 µs ("+strings.Join(t.clients, " / ")+")", "allocs/op ("+strings.Join(t.clients, " / ")+")", "CPU µs/op ("+strings.Join(t.clients, " / ")+")")
	extra := t.spec.Name == peer.LocateKey
	if extra {
		head = append(head, "B/region ("+strings.Join(t.clients, " / ")+")")
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, r := range t.rows {
		cells := []string{r.label}
		var p99s, allocs, cpus, perRegion []string
		for _, c := range t.clients {
			rs := r.results[c]
			cells = append(cells, num(field(rs, func(x peer.Result) float64 { return x.OpsPerSec })))
			p99s = append(p99s, num(field(rs, func(x peer.Result) float64 { return x.P99us })))
			allocs = append(allocs, num(field(rs, func(x peer.Result) float64 { return x.AllocsPerOp })))
			cpus = append(cpus, num(field(rs, func(x peer.Result) float64 { return x.CPUusPerOp })))
			perRegion = append(perRegion, num(field(rs, func(x peer.Result) float64 { return x.Extra["bytes_per_region"] })))
		}
		for _, o := range others {
			x := ratio(r.results[t.clients[0]], r.results[o])
			s := "–"
			if !math.IsNaN(x) {
				s = fmt.Sprintf("%.2fx", x)
			}
			cells = append(cells, s)
		}
		cells = append(cells, strings.Join(p99s, " / "), strings.Join(allocs, " / "), strings.Join(cpus, " / "))
		if extra {
			cells = append(cells, strings.Join(perRegion, " / "))
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
}
