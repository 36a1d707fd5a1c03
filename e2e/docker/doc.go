// Package docker holds the Dockerfile of the local e2e image (the standalone
// tikvsim binary FROM scratch) and hands it to the containers backend of
// [github.com/tikvgo/tikvgo/e2e/cluster], which builds the image without
// pulling anything.
//
// Usage:
//
//	os.WriteFile(filepath.Join(buildContext, "Dockerfile"), docker.Dockerfile(), 0o644)
//
// It has no state; Dockerfile is safe for concurrent use.
package docker
