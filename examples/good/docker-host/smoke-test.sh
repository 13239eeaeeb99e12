#!/bin/sh
# Start one container under each sandboxed runtime and check it answers.
set -eu
for rt in io.containerd.kata.v2 io.containerd.runsc.v1; do
  echo "runtime $rt"
done
docker run --rm --runtime io.containerd.kata.v2 busybox uname -a
docker run --rm --runtime=io.containerd.runsc.v1 busybox true
nerdctl run --rm --runtime crun busybox true
