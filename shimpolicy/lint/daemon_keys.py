"""The top-level keys dockerd accepts in daemon.json, per Docker version.

dockerd decodes the file into a map first and refuses to start when a key matches none of
its command-line flags: ``the following directives don't match any configuration option:
<keys>``. A key is accepted when it is the name of a flag (``debug``, ``add-runtime``), the
configuration name of a flag whose file name differs (``runtimes`` for ``--add-runtime``,
``labels`` for ``--label``), or one of a few keys exempt from the check. Before comparing,
dockerd flattens one level: an object under a key that is not one of the "flat" options
contributes its own keys instead of its name (so ``"proxies": {"http-proxy": …}`` is read as
``http-proxy``), and an empty object contributes nothing.

Read from moby's ``cmd/dockerd`` (``daemon/command`` in 29) and ``daemon/config/config.go``
at the newest tag of each series: v20.10.27, v22.06.0-beta.0, v23.0.18, v24.0.9, v25.0.17,
v26.1.5, v27.5.1, v28.5.2 and docker-v29.7.2 (SPEC §6; live on dockerd 20.10.24).
"""

from __future__ import annotations

from functools import cache

# Docker 20.10: every flag name and every configuration name of a flag, plus "help" (the
# flag cobra adds to every command).
_DOCKER_20_10 = frozenset(
    (
        "add-runtime",
        "allow-nondistributable-artifacts",
        "api-cors-header",
        "authorization-plugin",
        "authorization-plugins",
        "bip",
        "bridge",
        "cgroup-parent",
        "cluster-advertise",
        "cluster-store",
        "cluster-store-opt",
        "cluster-store-opts",
        "config-file",
        "containerd",
        "containerd-namespace",
        "containerd-plugins-namespace",
        "cpu-rt-period",
        "cpu-rt-runtime",
        "cri-containerd",
        "data-root",
        "debug",
        "default-address-pool",
        "default-address-pools",
        "default-cgroupns-mode",
        "default-gateway",
        "default-gateway-v6",
        "default-ipc-mode",
        "default-runtime",
        "default-shm-size",
        "default-ulimit",
        "default-ulimits",
        "dns",
        "dns-opt",
        "dns-opts",
        "dns-search",
        "exec-opt",
        "exec-opts",
        "exec-root",
        "experimental",
        "fixed-cidr",
        "fixed-cidr-v6",
        "graph",
        "group",
        "help",
        "host",
        "host-gateway-ip",
        "hosts",
        "icc",
        "init",
        "init-path",
        "insecure-registries",
        "insecure-registry",
        "ip",
        "ip-forward",
        "ip-masq",
        "ip6tables",
        "iptables",
        "ipv6",
        "label",
        "labels",
        "live-restore",
        "log-driver",
        "log-level",
        "log-opt",
        "log-opts",
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "metrics-addr",
        "mtu",
        "network-control-plane-mtu",
        "network-diagnostic-port",
        "no-new-privileges",
        "node-generic-resource",
        "node-generic-resources",
        "oom-score-adjust",
        "pidfile",
        "raw-logs",
        "registry-mirror",
        "registry-mirrors",
        "restart",
        "rootless",
        "runtimes",
        "seccomp-profile",
        "selinux-enabled",
        "shutdown-timeout",
        "storage-driver",
        "storage-opt",
        "storage-opts",
        "swarm-default-advertise-addr",
        "tls",
        "tlscacert",
        "tlscert",
        "tlskey",
        "tlsverify",
        "userland-proxy",
        "userland-proxy-path",
        "userns-remap",
        "version",
    )
)

# What each later series added and removed, in order.
_CHANGES: dict[int, tuple[str, str]] = {
    22: ("http-proxy https-proxy no-proxy validate", ""),
    23: ("", ""),
    24: (
        "default-network-opt default-network-opts",
        "cluster-advertise cluster-store cluster-store-opt cluster-store-opts graph",
    ),
    25: ("cdi-spec-dir cdi-spec-dirs log-format", ""),
    26: ("", "oom-score-adjust"),
    27: ("feature features", ""),
    28: ("allow-direct-routing bip6 host-gateway-ips ip-forward-no-drop", ""),
    29: (
        "bridge-accept-fwmark default-stop-timeout firewall-backend nri-opts",
        "allow-nondistributable-artifacts api-cors-header",
    ),
}

# Keys exempt from the check (skipValidateOptions), and from which major version.
_EXEMPT = {
    "features": 20,
    "builder": 20,
    "deprecated-key-path": 20,
    "allow-nondistributable-artifacts": 28,
    "min-api-version": 29,
}

# Objects read as one value, not flattened (flatOptions), and from which major version.
_FLAT = {
    "cluster-store-opts": 20,
    "log-opts": 20,
    "runtimes": 20,
    "default-ulimits": 20,
    "features": 20,
    "builder": 20,
    "default-network-opts": 24,
    "nri-opts": 29,
}


def _since(table: dict[str, int], major: int) -> frozenset[str]:
    return frozenset(key for key, since in table.items() if since <= major)


@cache
def accepted_keys(major: int) -> frozenset[str]:
    """The top-level keys Docker ``major`` (20 for 20.10, 22 for 22.06, 23 …) accepts."""
    keys = set(_DOCKER_20_10)
    for version, (added, removed) in _CHANGES.items():
        if version <= major:
            keys = (keys | set(added.split())) - set(removed.split())
    return frozenset(keys) | _since(_EXEMPT, major)


@cache
def flat_keys(major: int) -> frozenset[str]:
    """Keys whose object value dockerd does not flatten before the check."""
    return _since(_FLAT, major)
