// Package tools owns the project's command-line tools (the tikv CLI and the
// release command) and the repository checks that guard the workspace, such
// as the test that enforces the allowed dependency direction between modules,
// the versions check (versions.yaml against go.work and the go.mod files) and
// the consumer test, which depends on tso and the facade through a local
// module proxy as a user outside the repository would.
//
// It holds no library code; nothing imports it.
package tools
