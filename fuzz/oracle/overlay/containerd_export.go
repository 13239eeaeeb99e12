package v2

// This file is not part of containerd: `go build -overlay` adds it to containerd's package
// runtime/v2 (1.6 and 1.7 alike) so that the oracle can call the unexported
// resolveRuntimePath. A fresh ShimManager per call keeps one name's answer out of another's:
// the real manager caches by binary name (SPEC C2 step 5).
func ShimpolicyOracleResolveRuntimePath(name string) (string, error) {
	return (&ShimManager{}).resolveRuntimePath(name)
}
