"""From one binary a daemon needs to the findings about it: missing (SP801), not
executable (SP802), or replaceable by someone other than root (SP803)."""

from __future__ import annotations

import stat

from .._typing import TYPE_CHECKING, NamedTuple
from ..lint.finding import Finding
from ..lint.rulebook import default_severity

if TYPE_CHECKING:
    from ..lint.finding import Location
    from .fs import RootFS
    from .resolve import Resolution


class Need(NamedTuple):
    """One binary a daemon will execute for a runtime, and where the node's configuration
    names it.  ``what`` names the setting ("handler 'kata' runtime_type"), ``who`` what
    fails without it ("pods using handler 'kata'")."""

    what: str
    value: str
    at: Location
    who: str
    looker: str  # who looks the binary up: "containerd 2.x", "the runc shim"


def findings(fs: RootFS, need: Need, found: Resolution) -> list[Finding]:
    if found.found is None:
        return [_finding(need, "SP801", _missing(need, found))]
    lookup = found.found
    if not lookup.executable:
        return [_finding(need, "SP802", _not_executable(need, found))]
    unsafe = fs.unsafe(lookup)
    if not unsafe:
        return []
    where = "; ".join(f"{u.path} is {u.why}" for u in unsafe)
    message = (
        f"{_subject(need)}: {_runs(need, found)} as root, but {where}: whoever can write there "
        "can replace what runs"
    )
    return [_finding(need, "SP803", message)]


def _subject(need: Need) -> str:
    return f"{need.what} '{need.value}'"


def _runs(need: Need, found: Resolution) -> str:
    assert found.found is not None
    path = found.found.path
    via = f" (through {found.found.asked})" if found.found.asked != path else ""
    return f"{need.looker} runs {path}{via}"


def _missing(need: Need, found: Resolution) -> str:
    fails = f"{need.who} fail to start" + (f" with `{found.error}`" if found.error else "")
    if found.how == "invalid":
        return f"{_subject(need)}: {need.looker} cannot resolve it to a binary: {fails}"
    if found.how == "path":
        failed = found.failed
        if failed is not None and failed.error != "no such file or directory":
            return f"{_subject(need)}: {found.value} cannot be looked up ({failed.error}): {fails}"
        gone = failed.path if failed and failed.links else found.value
        leads = f" leads to {gone}, which" if gone != found.value else ""
        return f"{_subject(need)}: {found.value}{leads} does not exist: {fails}"
    dirs = _dirs(found.searched)
    passed = "".join(f"; {p.asked} is there but not executable" for p in found.passed)
    where = "PATH" if found.how == "PATH" else f"where {need.looker} looks"
    return (
        f"{_subject(need)}: no {found.binary} in {dirs} ({where}, in that order){passed}: {fails}"
    )


def _not_executable(need: Need, found: Resolution) -> str:
    assert found.found is not None
    st = found.found.stat
    assert st is not None
    if stat.S_ISDIR(st.st_mode):
        what = "a directory"
    elif not stat.S_ISREG(st.st_mode):
        what = "not a regular file"
    else:
        what = f"not executable (mode {stat.S_IMODE(st.st_mode):04o})"
    return (
        f"{_subject(need)}: {_runs(need, found)}, which is {what}: {need.who} fail to start "
        "(permission denied)"
    )


def _dirs(paths: tuple[str, ...]) -> str:
    out: list[str] = []
    for path in paths:
        directory = path.rsplit("/", 1)[0] or "/"
        if directory not in out:
            out.append(directory)
    return ", ".join(out)


def _finding(need: Need, rule: str, message: str) -> Finding:
    at = need.at
    return Finding(
        at.path,
        at.line,
        at.column,
        at.end_line,
        at.end_column,
        rule,
        default_severity(rule),
        message,
    )
