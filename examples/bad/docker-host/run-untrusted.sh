#!/usr/bin/env bash
set -euo pipefail
# A shim picked by path per container: Docker refuses it, ctr executes it as root.
ctr run --rm --runtime /usr/local/bin/containerd-shim-kata-v2 docker.io/library/busybox:latest job1 true
docker run --rm \
  --runtime com.example.runc.v2 \
  busybox true
