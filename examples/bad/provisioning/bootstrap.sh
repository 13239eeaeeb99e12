#!/bin/sh
# Node bootstrap: containerd with Kata, Docker with a custom runc.
set -eu
cat > /etc/containerd/config.toml <<'EOF'
version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]
  runtime_type = "/tmp/kata/containerd-shim-kata-v2"
EOF
cat <<EOF | sudo tee /etc/docker/daemon.json
{"default-runtime": "$DOCKER_RUNTIME", "runtimes": {"runc": {"path": "/opt/runc"}}}
EOF
