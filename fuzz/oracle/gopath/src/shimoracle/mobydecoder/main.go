// Command mobydecoder answers, for each request body, what runtime moby's own request decoders
// take from it (SPEC §6 "Docker's request decoding"): runconfig.ContainerDecoder.DecodeConfig,
// which dockerd runs for POST /containers/create, and, where the moby has it (up to 25),
// DecodeHostConfig, which it runs for the legacy POST /containers/{name}/start with a body.
//
// stdin: one base64 body per line. stdout: one JSON object per line, in input order:
// {"create": reading, "start": reading or null}, a reading being {"runtime": the host
// configuration's Runtime ("" when the decoder returns none), "err": its error ("" when none)}.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/sysinfo"
	"github.com/docker/docker/runconfig"
)

type reading struct {
	Runtime string `json:"runtime"`
	Err     string `json:"err"`
}

type answer struct {
	Create reading  `json:"create"`
	Start  *reading `json:"start"`
}

// The legacy start decoder, which moby 26 removed: asked for at run time, so that one program
// builds against every moby.
type hostConfigDecoder interface {
	DecodeHostConfig(io.Reader) (*container.HostConfig, error)
}

func read(hc *container.HostConfig, err error) reading {
	switch {
	case err != nil:
		return reading{Err: err.Error()}
	case hc != nil:
		return reading{Runtime: hc.Runtime}
	}
	return reading{}
}

func main() {
	// The oracle's own empty SysInfo: the decoder's resource checks never look at this machine.
	decoder := runconfig.ContainerDecoder{GetSysInfo: func() *sysinfo.SysInfo { return &sysinfo.SysInfo{} }}
	start, hasStart := interface{}(decoder).(hostConfigDecoder)
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
		a.Create = read(hc, err)
		if hasStart {
			r := read(start.DecodeHostConfig(bytes.NewReader(body)))
			a.Start = &r
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
