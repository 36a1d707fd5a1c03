package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tikvgo/tikvgo/tikvsim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRunPrintsAddressesAndStops runs the binary's main loop and cancels it,
// as SIGINT would.
func TestRunPrintsAddressesAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-pds", "2", "-stores", "1"}, pw, io.Discard)
		_ = pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var pd, store, admin int
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "PD 127.0.0.1:"):
			pd++
		case strings.HasPrefix(line, "STORE 1 127.0.0.1:"):
			store++
		case strings.HasPrefix(line, "ADMIN 127.0.0.1:"):
			admin++
		}
		if admin > 0 {
			break
		}
	}
	if pd != 2 || store != 1 || admin != 1 {
		t.Fatalf("printed %d PD, %d STORE, %d ADMIN lines", pd, store, admin)
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	if err := run(t.Context(), []string{"-pd-ports", "x"}, io.Discard, io.Discard); err == nil {
		t.Fatal("bad port accepted")
	}
	if err := run(t.Context(), []string{"-pds", "9"}, io.Discard, io.Discard); err == nil {
		t.Fatal("9 PDs accepted")
	}
	// Keyspace-level GC only for DEFAULT or a keyspace -keyspaces creates.
	if err := run(t.Context(), []string{"-keyspace-level-gc", "nosuch"}, io.Discard, io.Discard); !errors.Is(err, tikvsim.ErrInvalidOptions) {
		t.Fatalf("-keyspace-level-gc of an unknown keyspace: %v, want ErrInvalidOptions", err)
	}
}
