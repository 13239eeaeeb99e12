"""The default policy as data: ``default.yaml`` as PyYAML's safe loader reads it.

``default.yaml`` is the policy's source, the file to edit.  This copy of its data spares a
process that only decides names the import of PyYAML, which takes longer than everything
else its first decision needs (``bench/bench_decide.py`` prints both import times).
tests/policy/test_default.py fails until the two agree; to write the data again, replace
the assignment below with the output of

    python -c "import pprint, yaml; print('POLICY =', pprint.pformat(yaml.safe_load(open(
        'shimpolicy/policy/default.yaml', encoding='utf-8')), sort_dicts=False))"

and run ``ruff format`` on this file.
"""

from __future__ import annotations

POLICY = {
    "version": 1,
    "containerd": "2.3",
    "docker": "29",
    "platform": "linux",
    "default": "deny",
    "rules": [
        {
            "id": "SP101",
            "name": "control-characters",
            "match": {"note": ["control", "bidi"]},
            "action": "deny",
            "reason": "'{name}' contains control or bidirectional-override "
            "characters, so it reads differently from what "
            "containerd would run",
        },
        {
            "id": "SP102",
            "name": "containerd-rejects",
            "match": {"kind": ["invalid", "empty"]},
            "action": "deny",
            "reason": "containerd {containerd} rejects this name: {error}",
        },
        {
            "id": "SP103",
            "name": "relative-name",
            "match": {"kind": "relative"},
            "action": "deny",
            "reason": "containerd {containerd} would look for {binary} in "
            "'{directory}' relative to its own working directory "
            "before anywhere else (C2 step 6), so what runs depends "
            "on where containerd was started",
        },
        {
            "id": "SP104",
            "name": "path-in-request",
            "match": {"kind": "path", "context": "request"},
            "action": "deny",
            "reason": "'{name}' is a path that containerd would execute "
            "directly as root (C2 step 2); chosen per container, it "
            "would let anyone with API access run any file on the "
            "host, which is why Docker refuses such names",
        },
        {
            "id": "SP105",
            "name": "docker-refuses",
            "match": {"context": "request", "docker_permitted": False},
            "action": "deny",
            "reason": "Docker {docker} refuses this name unless daemon.json "
            "configures it: {docker_message}",
        },
        {
            "id": "SP106",
            "name": "writable-shim-directory",
            "match": {
                "kind": "path",
                "context": "config",
                "dir": [
                    "/tmp",
                    "/tmp/*",
                    "/var/tmp",
                    "/var/tmp/*",
                    "/dev/shm",
                    "/dev/shm/*",
                    "/run/shm",
                    "/run/shm/*",
                    "/run/lock",
                    "/run/lock/*",
                    "/var/lock",
                    "/var/lock/*",
                    "/run/user",
                    "/run/user/*",
                    "/home",
                    "/home/*",
                    "/Users",
                    "/Users/*",
                    "/private/tmp",
                    "/private/tmp/*",
                    "/private/var/tmp",
                    "/private/var/tmp/*",
                    "*:\\Windows\\Temp",
                    "*:\\Windows\\Temp\\*",
                    "*:\\Temp",
                    "*:\\Temp\\*",
                    "*:\\Tmp",
                    "*:\\Tmp\\*",
                    "*:\\Users\\*",
                ],
            },
            "action": "deny",
            "reason": "containerd would execute '{name}' as root from "
            "'{directory}', a directory other users can write to; "
            "install the shim in a directory only root can write, "
            "such as /usr/local/bin",
        },
        {
            "id": "SP107",
            "name": "administrator-shim-path",
            "match": {"kind": "path", "context": "config"},
            "action": "allow",
            "reason": "the host administrator configured this shim by path; "
            "containerd executes '{name}' directly (C2 step 2)",
        },
        {
            "id": "SP108",
            "name": "legacy-v1-runtime",
            "match": {"note": "legacy-v1"},
            "action": "warn",
            "reason": "'{name}' is the legacy v1 runtime: deprecated, and "
            "removed in containerd 2.0, where the name resolves to "
            "the missing binary containerd-shim-v1-linux (C4); use "
            "io.containerd.runc.v2, and keep a custom runc binary "
            "(runtime_engine) as the handler's options.BinaryName",
        },
        {
            "id": "SP109",
            "name": "removed-in-containerd-2",
            "match": {"note": "removed-in-2.0"},
            "action": "warn",
            "reason": "containerd 2.0 no longer ships {binary} (C4); use io.containerd.runc.v2",
        },
        {
            "id": "SP110",
            "name": "alias-of-known-shim",
            "match": {"note": "alias"},
            "action": "warn",
            "reason": "'{name}' runs {binary} ({shim}), the shim documented as "
            "{documented}: containerd reads only the last two pieces "
            "of a name (C1), so the rest of it selects nothing",
        },
        {
            "id": "SP111",
            "name": "unusual-characters",
            "match": {"note": ["whitespace", "non-ascii"]},
            "action": "warn",
            "reason": "'{name}' contains whitespace or non-ASCII characters, "
            "which containerd copies verbatim into the binary name "
            "{binary}",
        },
        {
            "id": "SP112",
            "name": "malformed-shim-name",
            "match": [
                {"note": ["empty-piece", "leading-dot", "binary-separator"]},
                {"note": "no-version", "known": False},
            ],
            "action": "warn",
            "reason": "'{name}' is not a well-formed shim name (non-empty "
            "pieces ending in <shim>.<version>, such as "
            "io.containerd.runc.v2); containerd would run {binary}",
        },
        {
            "id": "SP113",
            "name": "well-formed-shim",
            "match": {"kind": "shim"},
            "action": "allow",
            "reason": "containerd runs {binary} for '{name}'",
        },
    ],
}
