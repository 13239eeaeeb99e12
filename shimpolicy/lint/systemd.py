"""systemd units (``docker.service``, drop-ins under ``docker.service.d/``): the dockerd
command line of ``ExecStart=`` and its runtime flags (lint/dockerd.py).

systemd applies a unit's drop-ins (``*.conf`` in ``<unit>.d/``, in name order) over the
unit: an empty ``ExecStart=`` clears the commands set so far, and a service that is not
``Type=oneshot`` may have only one, so a drop-in that sets ``ExecStart=`` without clearing
it first makes systemd refuse the unit (``Service has more than one ExecStart= setting,
which is only allowed for Type=oneshot services. Refusing.``).

:func:`dockerd_flags` reads the dockerd command a unit and its drop-ins leave in force,
for whoever needs dockerd's flags from the files on a host.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._typing import NamedTuple
from ..syntax.shell import Word
from ..syntax.systemd import Positions, UnitEntry, read_unit, split_command
from .context import LintContext
from .dockerd import DockerdFlag, check_flags, collect_flags, read_flags
from .facts import Facts
from .filetype import FileType, is_unit_drop_in
from .source import SourceFile

_PROGRAM = "dockerd"


class Unit:
    """A unit file read: its assignments, and positions to report them at."""

    def __init__(self, text: str) -> None:
        self.entries = read_unit(text)
        self.positions = Positions(text)

    def exec_starts(self) -> list[UnitEntry]:
        return [e for e in self.entries if e.section == "Service" and e.key == "ExecStart"]

    def words(self, entry: UnitEntry) -> list[Word]:
        """The words of an ``Exec*=`` command, positioned in the file."""
        return [
            Word(w.value, w.literal, self.positions.span(w.start, w.end))
            for w in split_command(entry)
        ]

    def command_flags(self, entry: UnitEntry) -> list[DockerdFlag] | None:
        """dockerd's runtime flags in one ``ExecStart=``, or None when it runs no dockerd."""
        return _flags(self.words(entry))


def _flags(words: list[Word]) -> list[DockerdFlag] | None:
    """dockerd's runtime flags in a command's words, or None when it runs no dockerd."""
    if not words or words[0].value.rsplit("/", 1)[-1] != _PROGRAM:
        return None
    return read_flags(words[1:])


def load(source: SourceFile) -> Unit:
    return Unit(source.text)


def collect(unit: Unit, source: SourceFile, facts: Facts) -> None:
    for entry in unit.exec_starts():
        flags = unit.command_flags(entry)
        if flags:
            collect_flags(flags, source, facts)


def check(unit: Unit, source: SourceFile, ctx: LintContext) -> None:
    oneshot = any(
        e.section == "Service" and e.key == "Type" and e.value == "oneshot" for e in unit.entries
    )
    drop_in = is_unit_drop_in(source.own_path)
    commands = 1 if drop_in else 0  # the unit's own, under a drop-in
    for entry in unit.exec_starts():
        if not entry.value:
            commands = 0
            continue
        commands += 1
        flags = unit.command_flags(entry)
        if flags is None:
            continue
        if commands > 1 and not oneshot:
            where = "the unit's own ExecStart=" if drop_in else "the one above"
            ctx.report(
                source,
                entry.key_span,
                "SP217",
                f"a second ExecStart= (besides {where}): systemd refuses the unit (`Service has "
                "more than one ExecStart= setting, which is only allowed for Type=oneshot "
                "services. Refusing.`) and dockerd does not start; put an empty `ExecStart=` "
                "line before this one",
            )
        check_flags(ctx, source, flags)


def dockerd_flags(units: Sequence[SourceFile]) -> list[DockerdFlag]:
    """dockerd's runtime flags from a unit and its drop-ins (in the order systemd applies
    them): those of the ``ExecStart=`` that :func:`service` finds in force.  Empty when
    that command runs no dockerd."""
    found = service(units)
    return (_flags(found.words) or []) if found else []


class Service(NamedTuple):
    """What a service unit and its drop-ins leave in force: the ``ExecStart=`` command (its
    words positioned in the file that sets it), and the ``[Service]`` settings that
    decide where the command looks for files."""

    source: SourceFile  # the file whose ExecStart= is in force
    command: UnitEntry
    words: list[Word]
    working_directory: str | None  # None: systemd's default, /
    path: tuple[str, ...] | None  # PATH from Environment=; None: systemd's default


def service(units: Sequence[SourceFile]) -> Service | None:
    """The service a unit's files describe (the unit, then its drop-ins in the order systemd
    applies them), or None when no ``ExecStart=`` is left in force.  Later assignments win;
    an empty ``ExecStart=`` clears the commands before it."""
    found: tuple[SourceFile, UnitEntry, list[Word]] | None = None
    working: str | None = None
    path: tuple[str, ...] | None = None
    for source in units:
        unit = Unit(source.text)
        for entry in unit.entries:
            if entry.section != "Service":
                continue
            if entry.key == "ExecStart":
                found = (source, entry, unit.words(entry)) if entry.value else None
            elif entry.key == "WorkingDirectory":
                # "-" ignores a missing directory; "~" is the user's home, root's for a service
                value = entry.value.removeprefix("-")
                working = "/root" if value == "~" else value or None
            elif entry.key == "Environment":
                for word in split_command(entry):
                    name, equals, value = word.value.partition("=")
                    if name == "PATH" and equals:
                        path = tuple(value.split(":"))
    if found is None:
        return None
    return Service(*found, working, path)


TYPE = FileType("systemd", "systemd unit", load, collect, check)
