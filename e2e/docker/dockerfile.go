package docker

import (
	_ "embed"
	"slices"
)

//go:embed Dockerfile
var dockerfile []byte

// Dockerfile returns a copy of the Dockerfile of the local tikvsim image. Its
// build context must hold the linux tikvsim binary under the name "tikvsim".
func Dockerfile() []byte { return slices.Clone(dockerfile) }
