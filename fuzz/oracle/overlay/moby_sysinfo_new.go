package sysinfo

// This file is not part of moby: `go build -overlay` puts it in place of pkg/sysinfo's
// sysinfo_linux.go and cgroup2_linux.go, which read this machine's cgroups and need packages
// Debian ships apart (go-systemd, cilium/ebpf). The request decoder oracle hands the decoder
// its own empty SysInfo, so New is never called.

// New stands in for the real one in sysinfo_linux.go.
func New(options ...Opt) *SysInfo {
	panic("shimpolicy oracle: sysinfo_linux.go is not part of this build")
}
