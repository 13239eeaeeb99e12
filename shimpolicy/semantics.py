"""What the rule numbers that messages and rules cite (C1 … C5, D1 … D4, K1 … K4) say,
in a user's words.  ``docs/semantics.md`` is rendered from here
(``python -m shimpolicy.rulesdoc``); a test fails when a rule or a message cites a
number that is not explained here."""

from __future__ import annotations

from ._typing import NamedTuple
from .grammar.versions import CONTAINERD_KNOWN, DOCKER_KNOWN


class Semantic(NamedTuple):
    id: str  # C1, D2, K4 …
    title: str
    text: str  # Markdown, one or more paragraphs


SEMANTICS = (
    Semantic(
        "C1",
        "containerd: the shim binary a runtime name selects",
        "containerd splits a runtime name at every dot and keeps only the last two pieces: "
        "`io.containerd.kata.v2` runs `containerd-shim-kata-v2` (with `.exe` on Windows). "
        "Everything before them selects nothing, so `com.example.runc.v2` runs the same "
        "binary as `io.containerd.runc.v2`. A name without a dot selects no binary at all "
        "and is refused; from containerd 1.7 a name that starts with a dot is refused too. "
        "No other character is checked: slashes, spaces and control characters are copied "
        "into the binary name as they are.",
    ),
    Semantic(
        "C2",
        "containerd: how a runtime name is resolved to a file",
        "In this order: (1) an empty name is refused (`no runtime name`); (2) an absolute "
        "path (`/opt/x` on Linux, `C:\\x` on Windows) is executed directly as the shim, "
        "as root: the file only has to exist; (3) from 1.7, any other name containing "
        "`/` is refused; (4) a name that C1 gives no binary is refused; "
        "(6) the binary name is first looked for in the name's own directory, relative to "
        "containerd's working directory (for a plain name, the working directory itself); "
        "(7) then on containerd's `$PATH`, then beside containerd's own executable. "
        "Step 5 is a cache: once a binary name is resolved, containerd keeps using that "
        "file until it restarts.",
    ),
    Semantic(
        "C3",
        "containerd: what differs between versions",
        "containerd 1.5 has no path support (an absolute name is read as a relative one); "
        "1.6 executes absolute paths and resolves names with `/` relative to its working "
        "directory; 1.7 and 2.x execute absolute paths and refuse other names with `/` or "
        "a leading dot. shimpolicy applies the rules of the version you target "
        "(`--containerd`, or `containerd:` in the policy): a release such as 1.6.20 or a "
        "series such as 1.7 (its newest release); the releases known are "
        f"{CONTAINERD_KNOWN}, and Docker {DOCKER_KNOWN}. Configuration behaviour also "
        "changes inside a series (1.6.21 honours `runtime_path`, 1.6.32 refuses config "
        "versions above 2, 2.0.2 merges the two CRI sections, 2.3 reads version 4): see the "
        "README's version table.",
    ),
    Semantic(
        "C4",
        "containerd: the legacy v1 runtime",
        "In containerd 1.5 to 1.7 the exact name `io.containerd.runtime.v1.linux` is the "
        "deprecated v1 runtime (`containerd-shim` and runc). containerd 2.0 removed it: "
        "there the name goes through C1 and asks for `containerd-shim-v1-linux`, which "
        "does not exist. 2.0 no longer ships `containerd-shim-runc-v1` either "
        "(`io.containerd.runc.v1`).",
    ),
    Semantic(
        "C5",
        "containerd: CRI runtime handlers in config.toml",
        "Kubernetes runs pods through containerd's CRI plugin, whose `runtimes.<handler>` "
        "tables name each handler's `runtime_type` (a runtime name, resolved by C1 and "
        "C2), optionally a `runtime_path` and `options` such as `BinaryName`. Where the "
        "tables live depends on the file's `version` (no key: 1, `[plugins.cri…]`; 2: "
        '`[plugins."io.containerd.grpc.v1.cri"…]`; 3 and 4: '
        '`[plugins."io.containerd.cri.v1.runtime"…]`); containerd converts older versions '
        "at every start and refuses newer ones than it knows. `default_runtime_name` "
        "(default `runc`) must name a configured handler.",
    ),
    Semantic(
        "D1",
        "Docker: which runtime names it passes to containerd",
        "A runtime name that daemon.json does not configure, and that is not one of "
        "Docker's own (D2), reaches containerd only if it is not an absolute path, "
        "contains no `/`, and C1 gives it a binary (Docker 25 and later also refuse a "
        "leading dot). Otherwise Docker answers `unknown or invalid runtime name: <name>`. "
        "Before Docker 23 every name that daemon.json does not configure was refused. "
        "Docker on Windows takes no per-container runtime names up to Docker 28.",
    ),
    Semantic(
        "D2",
        "Docker: its own runtimes and the ones you configure",
        "Docker 23 and later on Linux always have `runc` and `io.containerd.runc.v2`; "
        "`runc` is reserved and cannot be redefined in daemon.json. A name configured under "
        "`runtimes` in daemon.json always means that entry, whatever it looks like, and "
        "is never checked further: it is the host administrator's choice.",
    ),
    Semantic(
        "D3",
        "Docker: runtime settings in daemon.json",
        "Each entry of `runtimes` has either a `path` (a runc-compatible binary, with "
        "optional `runtimeArgs`) or a `runtimeType` (a containerd shim name or path, with "
        "optional `options`; Docker 24 and later), never both and never neither. "
        "`default-runtime` must be a runtime Docker has. Docker ignores keys it does not "
        "know inside an entry, and pastes `path` and `runtimeArgs` unquoted into a shell "
        "script. The same names can be given as `dockerd --add-runtime` and "
        "`--default-runtime` flags.",
    ),
    Semantic(
        "D4",
        "Docker: where runtime names are chosen",
        "Per container: `docker run --runtime` and `docker create --runtime` (the Engine "
        "API's `HostConfig.Runtime`), Compose `services.<name>.runtime` (after `${VAR}` "
        "interpolation; `docker stack deploy` refuses the key), `nerdctl run --runtime` "
        "and `ctr run --runtime` (which talk to containerd directly, paths included).",
    ),
    Semantic(
        "K1",
        "Kubernetes: RuntimeClass names",
        "A RuntimeClass's `metadata.name` must be a DNS-1123 subdomain: lower-case letters, "
        "digits, `-` and `.`, starting and ending with a letter or digit, at most 253 "
        "characters.",
    ),
    Semantic(
        "K2",
        "Kubernetes: RuntimeClass handlers",
        "A RuntimeClass's `handler` must be a DNS-1123 label: lower-case letters, digits "
        "and `-`, starting and ending with a letter or digit, at most 63 characters, and "
        "no dots. So `io.containerd.kata.v2` is a runtime name, never a handler: the "
        "handler is the name of a containerd `runtimes.<handler>` table (C5).",
    ),
    Semantic(
        "K3",
        "Kubernetes: a Pod's runtimeClassName",
        "`spec.runtimeClassName` of a Pod, or of the pod template of a Deployment, "
        "StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job or CronJob, must "
        "be a DNS-1123 subdomain and name an existing RuntimeClass; otherwise the API "
        'server refuses the pod (`pod rejected: RuntimeClass "<name>" not found`).',
    ),
    Semantic(
        "K4",
        "Kubernetes: the handler must exist on the node",
        "The kubelet asks containerd for the RuntimeClass's handler; a handler that the "
        "node's containerd config does not define makes every pod of that class fail to "
        'start (`no runtime for "<handler>" is configured`).',
    ),
)


def semantic(rule_id: str) -> Semantic | None:
    """One entry by its number (``C2``; ``C2 step 6`` is looked up as ``C2``)."""
    key = rule_id.split()[0].split(".")[0]
    return next((s for s in SEMANTICS if s.id == key), None)
