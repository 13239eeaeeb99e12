// Command moby answers, for each runtime name, whether moby 26's daemon would pass it to
// containerd as an unconfigured runtime: the real isPermissibleC8dRuntimeName (SPEC D1),
// exported by an overlay file (see ../../../../overlay/moby_export.go), which in turn calls the
// containerd 1.7 shim.BinaryName that Debian builds docker.io with.
//
// stdin: one JSON string per line. stdout: one JSON object per line, in input order.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/docker/docker/daemon"
)

type answer struct {
	In        string `json:"in"`
	Permitted bool   `json:"permitted"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<16), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		var name string
		if err := json.Unmarshal(in.Bytes(), &name); err != nil {
			fmt.Fprintln(os.Stderr, "input line is not a JSON string:", err)
			os.Exit(2)
		}
		a := answer{In: name, Permitted: daemon.ShimpolicyOracleIsPermissible(name)}
		if err := enc.Encode(a); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		os.Exit(2)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(2)
	}
}
