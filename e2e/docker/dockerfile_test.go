package docker_test

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/tikvgo/tikvgo/e2e/docker"
)

// TestDockerfileNeedsNoPull checks the image is built FROM scratch around the
// tikvsim binary alone: CI has no registry to pull a base image from.
func TestDockerfileNeedsNoPull(t *testing.T) {
	t.Parallel()
	var instr []string
	sc := bufio.NewScanner(bytes.NewReader(docker.Dockerfile()))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr = append(instr, line)
	}
	want := []string{"FROM scratch", "COPY tikvsim /tikvsim", `ENTRYPOINT ["/tikvsim"]`}
	if strings.Join(instr, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Dockerfile instructions:\n%s\nwant:\n%s", strings.Join(instr, "\n"), strings.Join(want, "\n"))
	}
}

func TestDockerfileReturnsACopy(t *testing.T) {
	t.Parallel()
	a := docker.Dockerfile()
	a[0] = 'X'
	if b := docker.Dockerfile(); b[0] == 'X' {
		t.Fatal("Dockerfile() shares its backing array with callers")
	}
}
