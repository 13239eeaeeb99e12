// Package shimopts stands in for moby's libcontainerd/shimopts, which Debian's
// golang-github-docker-docker-dev does not ship. `go build -overlay` adds it; daemon's
// runtime_unix.go calls Generate only while configuring runtimes from daemon.json, never from
// the function the oracle tests.
package shimopts

func Generate(string, map[string]interface{}) (interface{}, error) {
	panic("shimpolicy oracle: libcontainerd/shimopts is not part of this build")
}
