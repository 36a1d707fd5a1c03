// Package tools owns the project's command-line tools (the tikv CLI) and the
// repository checks that guard the workspace, such as the test that enforces
// the allowed dependency direction between modules.
//
// It holds no library code; nothing imports it.
package tools
