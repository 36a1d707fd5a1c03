package peer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Case is one request to a worker: run Scenario with Callers concurrent
// callers until Duration has passed or MaxOps operations are done,
// whichever comes first, after Warmup sequential untimed operations.
type Case struct {
	Scenario string `json:"scenario"`
	Callers  int    `json:"callers"`
	// Arg is a scenario parameter (LocateKey: the number of regions).
	Arg      int           `json:"arg,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	MaxOps   int           `json:"max_ops,omitempty"`
	Warmup   int           `json:"warmup,omitempty"`
	// CPUProfile and BlockProfile, when set, are files the worker writes
	// a CPU profile and a block profile (every blocking event) of the
	// timed part to. Profiling costs time: figures from such a case are
	// not comparable with unprofiled ones.
	CPUProfile   string `json:"cpu_profile,omitempty"`
	BlockProfile string `json:"block_profile,omitempty"`
}

// Validate rejects a case the runner cannot run.
func (c Case) Validate() error {
	switch {
	case c.Scenario == "":
		return errors.New("peer: case without scenario")
	case c.Callers < 1:
		return fmt.Errorf("peer: case %s: callers %d < 1", c.Scenario, c.Callers)
	case c.Duration <= 0 && c.MaxOps <= 0:
		return fmt.Errorf("peer: case %s: neither duration nor max_ops", c.Scenario)
	case c.Duration < 0 || c.MaxOps < 0 || c.Warmup < 0 || c.Arg < 0:
		return fmt.Errorf("peer: case %s: negative parameter", c.Scenario)
	}
	return nil
}

// Result is what a worker measured for one case.
type Result struct {
	Client   string `json:"client"`
	Scenario string `json:"scenario"`
	Callers  int    `json:"callers"`
	Arg      int    `json:"arg,omitempty"`

	Ops        int64   `json:"ops"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Seconds    float64 `json:"seconds"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	P50us      float64 `json:"p50_us"`
	P90us      float64 `json:"p90_us"`
	P99us      float64 `json:"p99_us"`
	P999us     float64 `json:"p999_us"`
	// AllocsPerOp and BytesPerOp are the worker process's heap allocations
	// during the timed part (runtime.MemStats), divided by Ops: the
	// client's own, background goroutines included, since nothing else
	// runs in the worker.
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	// CPUusPerOp is the worker process's CPU time (user and system, every
	// thread) during the timed part, in microseconds, divided by Ops: what
	// the client costs the machine per operation, which unlike throughput
	// hardly moves with the load other processes put on a shared machine.
	CPUusPerOp float64 `json:"cpu_us_per_op,omitempty"`
	// Extra holds scenario-specific figures (LocateKey: "bytes_per_region").
	Extra map[string]float64 `json:"extra,omitempty"`
	// Failed is set when the case could not run at all (setup or warm-up
	// failed, unknown scenario).
	Failed string `json:"failed,omitempty"`
}

// Extras lets a Setup report scenario figures: a Setup whose ctx carries
// an Extras (see [WithExtras]) may set values in it.
type Extras map[string]float64

type extrasKey struct{}

// WithExtras returns ctx carrying e, for a Setup to fill.
func WithExtras(ctx context.Context, e Extras) context.Context {
	return context.WithValue(ctx, extrasKey{}, e)
}

// ExtrasFrom returns the Extras in ctx, or a throwaway map.
func ExtrasFrom(ctx context.Context) Extras {
	if e, ok := ctx.Value(extrasKey{}).(Extras); ok {
		return e
	}
	return Extras{}
}

// Run sets up and runs one case and returns its result; a case that cannot
// run comes back with Failed set.
func Run(ctx context.Context, reg *Registry, client string, c Case) Result {
	res := Result{Client: client, Scenario: c.Scenario, Callers: c.Callers, Arg: c.Arg}
	if err := c.Validate(); err != nil {
		res.Failed = err.Error()
		return res
	}
	setup, err := reg.Lookup(c.Scenario)
	if err != nil {
		res.Failed = err.Error()
		return res
	}
	extras := Extras{}
	op, cleanup, err := setup(WithExtras(ctx, extras), c)
	if err != nil {
		res.Failed = fmt.Sprintf("setup: %v", err)
		return res
	}
	if cleanup != nil {
		defer cleanup()
	}
	if len(extras) > 0 {
		res.Extra = extras
	}
	for i := range c.Warmup {
		if err := op(ctx, 0, i); err != nil {
			res.Failed = fmt.Sprintf("warm-up: %v", err)
			return res
		}
	}
	stop, err := startProfiles(c)
	if err != nil {
		res.Failed = fmt.Sprintf("profile: %v", err)
		return res
	}
	measure(ctx, op, c, &res)
	if err := stop(); err != nil {
		res.Failed = fmt.Sprintf("profile: %v", err)
	}
	return res
}

// startProfiles starts the profiles c asks for and returns the function
// that stops them and writes them out.
func startProfiles(c Case) (stop func() error, err error) {
	var cpu *os.File
	if c.CPUProfile != "" {
		if cpu, err = os.Create(c.CPUProfile); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, err
		}
	}
	if c.BlockProfile != "" {
		runtime.SetBlockProfileRate(1)
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpu.Close())
		}
		if c.BlockProfile != "" {
			runtime.SetBlockProfileRate(0)
			f, err := os.Create(c.BlockProfile)
			if err != nil {
				return err
			}
			errs = append(errs, pprof.Lookup("block").WriteTo(f, 0), f.Close())
		}
		return errors.Join(errs...)
	}, nil
}

// measure runs the timed part of a case.
func measure(ctx context.Context, op Op, c Case, res *Result) {
	hists := make([]latencyHist, c.Callers)
	var (
		started  atomic.Int64
		failed   atomic.Int64
		firstErr atomic.Pointer[string]
		wg       sync.WaitGroup
	)
	budget := int64(c.MaxOps)
	// Collect the garbage of set-up and warm-up now, so the timed part
	// does not pay for it.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := processCPU()
	t0 := time.Now()
	var deadline time.Time
	if c.Duration > 0 {
		deadline = t0.Add(c.Duration)
	}
	for caller := range c.Callers {
		wg.Go(func() {
			h := &hists[caller]
			for i := 0; ; i++ {
				if budget > 0 && started.Add(1) > budget {
					return
				}
				s := time.Now()
				if !deadline.IsZero() && !s.Before(deadline) {
					return
				}
				err := op(ctx, caller, i)
				h.record(time.Since(s))
				if err != nil {
					failed.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					if ctx.Err() != nil {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&after)

	var all latencyHist
	for i := range hists {
		all.merge(&hists[i])
	}
	res.Ops = int64(all.n)
	res.Errors = failed.Load()
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	res.Seconds = elapsed.Seconds()
	if res.Ops == 0 {
		return
	}
	res.OpsPerSec = float64(res.Ops) / res.Seconds
	res.P50us = micros(all.quantile(0.50))
	res.P90us = micros(all.quantile(0.90))
	res.P99us = micros(all.quantile(0.99))
	res.P999us = micros(all.quantile(0.999))
	res.AllocsPerOp = float64(after.Mallocs-before.Mallocs) / float64(res.Ops)
	res.BytesPerOp = float64(after.TotalAlloc-before.TotalAlloc) / float64(res.Ops)
	if cpu > 0 {
		res.CPUusPerOp = micros(cpu) / float64(res.Ops)
	}
}

// processCPU returns the process's user plus system CPU time so far, or 0
// where getrusage is not available.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
