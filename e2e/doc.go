// Package e2e owns the end-to-end suite: one set of tests that drives the
// public tikv facade against a cluster chosen by environment variable (an
// in-process tikvsim by default, containers started with testcontainers, or an
// external cluster given by PD_ADDRS).
//
// The suite itself is the package's external tests (package e2e_test): one
// cluster per run, started in TestMain, and tests that each write under a
// random key prefix and delete it at the end. The cluster backends live in
// [github.com/tikvgo/tikvgo/e2e/cluster], the Dockerfile of the local tikvsim
// image in [github.com/tikvgo/tikvgo/e2e/docker]; cmd/dockercheck tells the
// test command whether a Docker engine answers. README.md explains how to run the
// suite against each backend. Nothing outside e2e imports this module.
package e2e
