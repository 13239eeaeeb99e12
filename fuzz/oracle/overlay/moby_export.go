package daemon

import "github.com/docker/docker/daemon/config"

// This file is not part of moby: `go build -overlay` adds it to package daemon, which the
// oracle compiles from the unmodified runtime_unix.go alone (every other daemon/*.go is hidden).

// ShimpolicyOracleIsPermissible exposes the unexported function under test (SPEC D1).
func ShimpolicyOracleIsPermissible(name string) bool {
	return isPermissibleC8dRuntimeName(name)
}

// UsingSystemd stands in for the real one in daemon_unix.go (hidden from this build);
// runtime_unix.go calls it only while building the stock runc options, never from
// isPermissibleC8dRuntimeName.
func UsingSystemd(*config.Config) bool {
	panic("shimpolicy oracle: daemon_unix.go is not part of this build")
}
