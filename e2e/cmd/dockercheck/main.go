// Command dockercheck tells the test command whether the containers backend
// of the e2e suite can run: it exits 0 when a Docker engine answers, as
// testcontainers-go would find it, and otherwise prints one line saying so
// and exits 1.
//
//	if go run ./e2e/cmd/dockercheck; then
//		TIKVGO_E2E_BACKEND=containers go test ./e2e/...
//	fi
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/tikvgo/tikvgo/e2e/cluster"
)

func main() {
	// testcontainers prints a banner about the engine it found; a check
	// should print nothing when the answer is yes.
	tclog.SetDefault(tclog.NewNoopLogger())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if !cluster.DockerAvailable(ctx) {
		fmt.Println("e2e: containers backend not run: no Docker engine answers")
		os.Exit(1)
	}
}
