package config

import "github.com/docker/docker/api/types/swarm"

// This file is not part of moby: `go build -overlay` puts it in place of daemon/config/opts.go,
// whose only function parses swarm generic resources with swarmkit, which Debian does not
// package. Only config validation calls it, never the function the oracle tests.
func ParseGenericResources([]string) ([]swarm.GenericResource, error) {
	panic("shimpolicy oracle: swarmkit is not part of this build")
}
