// Package e2e owns the end-to-end suite: one set of tests that drives the
// public tikv facade against a cluster chosen by environment variable (an
// in-process tikvsim by default, containers started with testcontainers, or an
// external cluster given by PD_ADDRS).
//
// The cluster backends live in [github.com/tikvgo/tikvgo/e2e/cluster]; the
// Dockerfile of the local tikvsim image in
// [github.com/tikvgo/tikvgo/e2e/docker]; cmd/dockercheck tells the test
// command whether a Docker engine answers. README.md explains how to run the
// suite against each backend. Nothing outside e2e imports this module.
package e2e
