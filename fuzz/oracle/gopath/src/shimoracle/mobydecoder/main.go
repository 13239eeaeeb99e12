// Command mobydecoder answers, for each request body, what runtime moby's own create decoder
// takes from it: runconfig.ContainerDecoder.DecodeConfig, the decoder dockerd runs for
// POST /containers/create (SPEC §6 "Docker's request decoding").
//
// stdin: one base64 body per line. stdout: one JSON object per line, in input order:
// {"runtime": the host configuration's Runtime ("" when it sets none), "host_config": whether
// the decoder returned a host configuration, "err": the decoder's error ("" when none)}.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"github.com/docker/docker/pkg/sysinfo"
	"github.com/docker/docker/runconfig"
)

type answer struct {
	Runtime    string `json:"runtime"`
	HostConfig bool   `json:"host_config"`
	Err        string `json:"err"`
}

func main() {
	// An empty SysInfo: the decoder's resource checks never look at this machine.
	decoder := runconfig.ContainerDecoder{GetSysInfo: func() *sysinfo.SysInfo { return &sysinfo.SysInfo{} }}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<16), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		body, err := base64.StdEncoding.DecodeString(in.Text())
		if err != nil {
			fmt.Fprintln(os.Stderr, "input line is not base64:", err)
			os.Exit(2)
		}
		var a answer
		_, hc, _, err := decoder.DecodeConfig(bytes.NewReader(body))
		if err != nil {
			a.Err = err.Error()
		} else if hc != nil {
			a.HostConfig, a.Runtime = true, hc.Runtime
		}
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
