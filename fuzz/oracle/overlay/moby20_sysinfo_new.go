package sysinfo

// This file is not part of moby: `go build -overlay` puts it in place of moby 20.10's
// pkg/sysinfo/sysinfo_linux.go and cgroup2_linux.go, which read this machine's cgroups and need
// packages Debian ships apart. The request decoder oracle hands the decoder its own empty
// SysInfo, so New is never called.

// Opt stands in for the one in sysinfo_linux.go.
type Opt func(*opts)

type opts struct{}

// New stands in for the real one in sysinfo_linux.go.
func New(quiet bool, options ...Opt) *SysInfo {
	panic("shimpolicy oracle: sysinfo_linux.go is not part of this build")
}
