// Command containerd answers, for each runtime name, what containerd's own code makes of it.
//
// It is compiled in GOPATH mode against the containerd source that Debian ships (1.6 from
// bookworm, 1.7 from trixie; the import paths are the same in both), so every answer comes
// from the real shim.BinaryName, shim.BinaryPath and resolveRuntimePath (the last one exported
// by an overlay file, see ../../../../overlay/containerd_export.go), and from the Go standard
// library that containerd was built with (filepath.IsAbs, Dir and Split, strings.Split).
//
// stdin: one JSON string per line (JSON so that any name, newlines and NUL included, fits
// on one line). stdout: one JSON object per line, in input order.
//
// resolveRuntimePath consults the file system and $PATH: the caller runs this program in
// an empty working directory with PATH naming an empty directory, so that a relative
// lookup finds nothing and the outcome depends on the name alone.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v2 "github.com/containerd/containerd/runtime/v2"
	"github.com/containerd/containerd/runtime/v2/shim"
)

type answer struct {
	In         string   `json:"in"`
	BinaryName string   `json:"binary_name"`
	BinaryPath string   `json:"binary_path"`
	IsAbs      bool     `json:"is_abs"`
	Dir        string   `json:"dir"`
	SplitDir   string   `json:"split_dir"`
	Pieces     []string `json:"pieces"`
	Path       string   `json:"path"`
	Err        *string  `json:"err"`
	Cwd        string   `json:"cwd"`
}

func main() {
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "getwd:", err)
		os.Exit(2)
	}
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
		splitDir, _ := filepath.Split(name)
		a := answer{
			In:         name,
			BinaryName: shim.BinaryName(name),
			BinaryPath: shim.BinaryPath(name),
			IsAbs:      filepath.IsAbs(name),
			Dir:        filepath.Dir(name),
			SplitDir:   splitDir,
			Pieces:     strings.Split(name, "."),
			Cwd:        cwd,
		}
		path, rerr := v2.ShimpolicyOracleResolveRuntimePath(name)
		a.Path = path
		if rerr != nil {
			msg := rerr.Error()
			a.Err = &msg
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
