package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/tikvgo/tikvgo/e2e/cluster"
)

// requireContainers skips unless the containers backend was chosen: the
// test command runs these only when a Docker engine answers. Once chosen, a
// missing engine is a failure, not a skip.
func requireContainers(t *testing.T) {
	t.Helper()
	if os.Getenv(cluster.EnvBackend) != string(cluster.KindContainers) {
		t.Skipf("containers backend not selected (set %s=%s)", cluster.EnvBackend, cluster.KindContainers)
	}
	if !cluster.DockerAvailable(t.Context()) {
		t.Fatalf("%s=%s but no Docker engine answers", cluster.EnvBackend, cluster.KindContainers)
	}
}

// dockerObjects returns the IDs of every container and network on the
// engine, to prove teardown leaves nothing behind.
func dockerObjects(t *testing.T) map[string]string {
	t.Helper()
	cli, err := testcontainers.NewDockerClientWithOpts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	objs := map[string]string{}
	cs, err := cli.ContainerList(t.Context(), client.ContainerListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		objs[c.ID] = "container " + strings.Join(c.Names, ",")
	}
	ns, err := cli.NetworkList(t.Context(), client.NetworkListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns.Items {
		objs[n.ID] = "network " + n.Name
	}
	return objs
}

func checkNothingLeft(t *testing.T, before map[string]string) {
	t.Helper()
	for id, what := range dockerObjects(t) {
		if _, ok := before[id]; !ok {
			t.Errorf("left behind after Close: %s (%s)", what, id[:12])
		}
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestContainersLocalImage builds the tikvsim image, runs the cluster in one
// container, checks it over raw gRPC from the host, drives the fault hooks
// through the published admin endpoint, and checks teardown.
func TestContainersLocalImage(t *testing.T) {
	requireContainers(t)
	before := dockerObjects(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()

	start := time.Now()
	c, err := cluster.Start(ctx, cluster.WithBackend(cluster.KindContainers),
		cluster.WithImageMode(cluster.ImageLocal), cluster.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("local image: build + start + ready in %v", time.Since(start).Round(time.Millisecond))
	for _, a := range append(c.PDAddrs(), c.StoreAddrs()...) {
		if !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("address %s is not on the host loopback", a)
		}
	}
	checkCluster(t, c, 3, 3)
	checkFaults(t, c)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("local image: whole test %v", time.Since(start).Round(time.Millisecond))
	checkNothingLeft(t, before)
}

// TestContainersOfficialImagesMissing asks for official images that exist
// nowhere: Start must fail with ErrImageUnavailable, say what to do, and
// leave nothing behind.
func TestContainersOfficialImagesMissing(t *testing.T) {
	requireContainers(t)
	before := dockerObjects(t)
	const pd = "tikvgo-e2e-missing/pd:never"
	_, err := cluster.Start(t.Context(), cluster.WithBackend(cluster.KindContainers),
		cluster.WithImageMode(cluster.ImageOfficial), cluster.WithImages(pd, "tikvgo-e2e-missing/tikv:never"),
		cluster.WithLogger(testLogger(t)))
	if !errors.Is(err, cluster.ErrImageUnavailable) {
		t.Fatalf("Start error = %v, want ErrImageUnavailable", err)
	}
	for _, want := range []string{pd, cluster.EnvImageMode + "=" + string(cluster.ImageLocal)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	checkNothingLeft(t, before)
}
