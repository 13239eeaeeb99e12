"""Find ``--runtime`` values in POSIX shell text, with exact positions (SPEC D4).

``docker|nerdctl run|create --runtime NAME`` and ``ctr run --runtime NAME`` choose a runtime
name per container: the ``request`` context of SPEC D4.  This module finds those names in
shell scripts (and in shell text taken from other files, such as a CI ``run:`` block) without
executing anything.

The text is split into words the way a POSIX shell does (quotes, escapes, line
continuations, comments, ``$'...'``, command substitutions, here-documents, redirections)
and every simple command is examined, including the ones inside ``$(...)`` and backticks.
A command counts when, after leading assignments, reserved words and the wrappers
``sudo``, ``env``, ``exec``, ``time``, ``nohup`` and ``command``, it is one of::

    docker [global options] [container] run|create [options] IMAGE ...
    nerdctl [global options] [container] run|create [options] IMAGE ...
    ctr [global options] run [options] IMAGE ID ...
    ctr [global options] c|container|containers create [options] IMAGE ID ...

Options are read up to the first operand (the image), as the CLIs do, so a ``--runtime``
after the image belongs to the container's own command and is not reported.  ``podman``
takes a runc-compatible binary and is not containerd, so it is left alone (SPEC D4).

Known limits, all on the side of reporting less: a word that only expands to options
(``docker run $OPTS --runtime x img``) is taken for the image; ``bash -c '...'`` strings,
``eval`` and array elements (``cmd=(docker run ...)``) are not commands here; a ``case``
pattern's ``)`` inside ``$(...)`` closes the substitution early; commands nested more
than 16 substitutions deep are not examined.

Positions are 1-based lines and columns in code points, ``end_column`` exclusive, as
everywhere in :mod:`shimpolicy.syntax`.  Lines are separated by ``\\n`` only; the ``\\r``
of a CRLF line ending is the last character of its line and never part of a span.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from shimpolicy.syntax import Span

from .._typing import NamedTuple

__all__ = [
    "FileWrite",
    "RuntimeFlag",
    "Word",
    "find_file_writes",
    "find_runtime_flags",
    "scan_shell",
]


class Word(NamedTuple):
    """One word of a command line: its value after quote removal, and where it is written."""

    value: str
    literal: bool  # False when the value contains an expansion or a glob
    span: Span


class RuntimeFlag(NamedTuple):
    """One ``--runtime`` option given to a container-creating command."""

    tool: str  # "docker" | "nerdctl" | "ctr"
    command: str  # "docker run", "docker container create", "ctr container create", ...
    value: str  # the word after quote removal; expansions are kept as written
    literal: bool  # False when the value contains an expansion or a glob
    span: Span  # the value as written (for ``--runtime=X``: the X part only)
    flag_span: Span  # ``--runtime X`` or ``--runtime=X`` as written


def find_runtime_flags(
    text: str, *, line_offset: int = 0, column_offsets: Sequence[int] | None = None
) -> list[RuntimeFlag]:
    """Every ``--runtime`` given to ``docker``/``nerdctl``/``ctr`` in ``text``, in text order.

    When ``text`` was cut out of a larger file, ``line_offset`` and ``column_offsets`` map
    positions back to it: line ``i`` of ``text`` (1-based) is reported as line
    ``line_offset + i`` and its columns are moved right by ``column_offsets[i - 1]``
    (lines past the end of ``column_offsets`` are not moved).  For a YAML block scalar
    whose content starts on file line 12 with 6 columns of indentation, pass
    ``line_offset=11`` and ``column_offsets=[6] * line_count``.

    Never raises; runs in time linear in ``len(text)``.
    """
    return scan_shell(text, line_offset=line_offset, column_offsets=column_offsets)[0]


def scan_shell(
    text: str, *, line_offset: int = 0, column_offsets: Sequence[int] | None = None
) -> tuple[list[RuntimeFlag], list[list[Word]]]:
    """:func:`find_runtime_flags`, and the arguments of every ``dockerd`` command (after
    the same wrappers), each a list of words, in one pass over the text."""
    lexer = _Lexer(text)
    lexer.run()
    if not lexer.found and not lexer.daemons:
        return [], []
    where = _Positions(text, line_offset, column_offsets)
    daemons = [
        [Word(w.value, w.last_expansion < 0, where.span(w.start, w.end)) for w in words]
        for words in lexer.daemons
    ]
    return [
        RuntimeFlag(
            tool=f.tool,
            command=f.command,
            value=f.value,
            literal=f.literal,
            span=where.span(f.start, f.end),
            flag_span=where.span(f.flag_start, f.end),
        )
        for f in sorted(lexer.found, key=lambda f: (f.start, f.flag_start))
    ], daemons


Point = tuple[int, int]  # (line, column)


class FileWrite(NamedTuple):
    """Text a command writes to a file: ``cat > PATH <<EOF``, ``cat <<EOF | tee PATH``,
    ``printf '%s\\n' '...' > PATH``, ``echo '...' >> PATH``."""

    command: str  # "cat", "tee", "printf" or "echo"
    target: Word  # the file written (its value may hold expansions)
    append: bool  # ``>>``, ``tee -a``
    text: str | None  # what is written; None when the script does not spell it out
    starts: tuple[Point, ...]  # where each character of ``text`` is written
    ends: tuple[Point, ...]  # (exclusive)
    expanded: bool  # the shell expands parameters in it (``$VAR``, ``${VAR}``)
    substituted: bool  # the shell runs commands for it (``$(...)``, backticks)


def find_file_writes(
    text: str, *, line_offset: int = 0, column_offsets: Sequence[int] | None = None
) -> list[FileWrite]:
    """Every file a ``cat``, ``tee``, ``printf`` or ``echo`` command of ``text`` writes,
    with what it writes when the script spells it out (a here-document, a quoted literal),
    in text order.  ``line_offset`` and ``column_offsets`` as for :func:`find_runtime_flags`.

    What is written is known for: ``cat`` reading a here-document, a here-string or the
    output of such a command through ``|``; ``tee`` reading the same; ``echo`` (without
    backslashes, which shells read differently); ``printf`` with a format of plain text,
    the escapes ``\\n \\t \\\\ \\" \\'``, ``%%`` and at most one ``%s`` (reused for each
    argument).  In an unquoted here-document, ``\\$``, ``\\```, ``\\\\`` and line
    continuations are undone; expansions are kept as written.  Never raises.
    """
    if ">" not in text and "tee" not in text:
        return []
    lexer = _Lexer(text)
    lexer.run()
    if not lexer.writers:
        return []
    where = _Positions(text, line_offset, column_offsets)
    out: list[FileWrite] = []
    for command in lexer.writers:
        for target, append, written in _writes(text, command):
            if written is None:
                out.append(
                    FileWrite(
                        command.tool, _public(where, target), append, None, (), (), False, False
                    )
                )
                continue
            out.append(
                FileWrite(
                    command.tool,
                    _public(where, target),
                    append,
                    "".join(written.chars),
                    tuple(where.point(o) for o in written.starts),
                    tuple(where.point(o) for o in written.ends),
                    written.expanded,
                    written.substituted,
                )
            )
    return out


def _public(where: _Positions, word: _Word) -> Word:
    return Word(word.value, word.last_expansion < 0, where.span(word.start, word.end))


# --------------------------------------------------------------------------------------
# Positions


class _Positions:
    def __init__(self, text: str, line_offset: int, column_offsets: Sequence[int] | None) -> None:
        starts = [0]
        at = text.find("\n")
        while at >= 0:
            starts.append(at + 1)
            at = text.find("\n", at + 1)
        self._starts = starts
        self._line_offset = line_offset
        self._column_offsets = column_offsets or ()

    def point(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self._starts, offset) - 1
        column = offset - self._starts[index] + 1
        if index < len(self._column_offsets):
            column += self._column_offsets[index]
        return index + 1 + self._line_offset, column

    def span(self, start: int, end: int) -> Span:
        return Span(*self.point(start), *self.point(end))


# --------------------------------------------------------------------------------------
# Words and the frames of the word splitter


class _Word:
    """A shell word being read: where it is, and its value after quote removal."""

    __slots__ = (
        "_value",
        "end",
        "last_expansion",
        "pieces",
        "quoted",
        "raw_depth",
        "raw_start",
        "size",
        "start",
        "text",
    )

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.start = start
        self.end = start
        # The value's pieces in order, as (source offset, length, decoded text); the text
        # is None when the piece is the source itself, which stays unsliced until the value
        # is read (most words never are).
        self.pieces: list[tuple[int, int, str | None]] = []
        self.size = 0
        self._value: str | None = None
        self.quoted = False  # quotes or backslashes were used: not a reserved word
        # Value index of the last character that came from an expansion or a glob.
        self.last_expansion = -1
        # Inside ``$(..)``, backticks, ``${..}`` (or an array's ``(..)``) the text is kept
        # verbatim: nothing is added piecewise until the outermost one closes.
        self.raw_depth = 0
        self.raw_start = start

    def verbatim(self, start: int, stop: int, end: int) -> None:
        """The source ``text[start:stop]`` is part of the value; the word now ends at ``end``."""
        if self.raw_depth:
            return
        if stop > start:
            self.pieces.append((start, stop - start, None))
            self.size += stop - start
        self.end = end

    def decoded(self, piece: str, source: int, end: int) -> None:
        if self.raw_depth:
            return
        if piece:
            self.pieces.append((source, len(piece), piece))
            self.size += len(piece)
        self.end = end

    def expansion(self, start: int, end: int) -> None:
        if not self.raw_depth:
            self.last_expansion = self.size
            self.verbatim(start, end, end)

    def open_raw(self, start: int) -> None:
        if not self.raw_depth:
            self.last_expansion = self.size
            self.raw_start = start
        self.raw_depth += 1

    def close_raw(self, end: int) -> None:
        self.raw_depth -= 1
        self.verbatim(self.raw_start, end, end)

    @property
    def value(self) -> str:
        if self._value is None:
            text = self.text
            self._value = "".join(
                text[source : source + length] if piece is None else piece
                for source, length, piece in self.pieces
            )
        return self._value

    @property
    def plain(self) -> bool:
        """Written without quotes, escapes or expansions: the value is the source text."""
        return not self.quoted and self.last_expansion < 0

    def source_of(self, index: int) -> int:
        """Offset in the text of the value's character at ``index``."""
        at = 0
        for source, length, _ in self.pieces:
            if index < at + length:
                return source + index - at
            at += length
        return self.end


# Kinds of command frames.
_TOP, _SUBST, _BACKTICK, _ARRAY, _ARITH = range(5)


class _Commands:
    """A place where commands are read: the text itself, ``$(..)``, backticks, ``x=(..)``."""

    __slots__ = (
        "depth",
        "heredoc",
        "kind",
        "level",
        "owner",
        "piped",
        "redirect",
        "redirects",
        "word",
        "words",
    )

    def __init__(self, kind: int, owner: _Word | None, level: int) -> None:
        self.kind = kind
        self.owner = owner  # the word this substitution is part of
        self.level = level  # how many substitutions deep
        self.words: list[_Word] = []
        self.word: _Word | None = None
        self.depth = 0  # unclosed ``(`` inside a substitution
        self.redirect = ""  # the operator (``>``, ``2>>``, ``<<<``): the next word is its target
        self.heredoc = 0  # 1 after ``<<``, 2 after ``<<-``: the next word is a delimiter
        self.redirects: list[_Redirect] = []  # of the command being read
        self.piped: _Command | None = None  # the command writing into this one's input


class _Heredoc:
    """A here-document: its delimiter, and where its body is (known once it is read)."""

    __slots__ = ("end", "quoted", "start", "strip_tabs")

    def __init__(self, strip_tabs: bool, quoted: bool) -> None:
        self.strip_tabs = strip_tabs
        self.quoted = quoted  # a quoted delimiter: the body is not expanded
        self.start = self.end = -1  # the body, without the delimiter line


class _Redirect(NamedTuple):
    operator: str  # as written, with its file descriptor (``>``, ``2>``, ``>>``, ``<<``)
    word: _Word  # the target, or the here-document's delimiter
    heredoc: _Heredoc | None = None


class _Command(NamedTuple):
    """A simple command that may write a file (its program is one of ``_WRITERS``)."""

    words: list[_Word]  # from the program's name on
    redirects: list[_Redirect]
    piped: _Command | None  # the command before ``|``

    @property
    def tool(self) -> str:
        return self.words[0].value.rsplit("/", 1)[-1]


class _DoubleQuote:
    __slots__ = ("word",)

    def __init__(self, word: _Word) -> None:
        self.word = word


class _Brace:
    __slots__ = ("in_quotes", "word")

    def __init__(self, word: _Word, in_quotes: bool) -> None:
        self.word = word
        self.in_quotes = in_quotes


_Frame = _Commands | _DoubleQuote | _Brace

_ORDINARY = re.compile(r"[^ \t\r\n'\"\\$`;&|()<>]+")
_IN_DOUBLE_QUOTES = re.compile(r'[^"\\$`]+')
_IN_BRACE = re.compile(r"[^}\\'\"$`]+")
_ANSI_C_BODY = re.compile(r"(?:[^'\\]+|\\.)*", re.DOTALL)
_PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_BLANKS = re.compile(r"[ \t]+")
_GLOB = re.compile(r"[*?\[]")

# Commands nested deeper than this in substitutions are not examined and their here-docs
# are not skipped.  Each character is then read as part of at most this many values,
# which keeps the work linear even for ``$($($(...)))`` thousands deep; real scripts
# nest a few levels.
_MAX_NESTING = 16


class _Found(NamedTuple):
    tool: str
    command: str
    value: str
    literal: bool
    start: int
    end: int
    flag_start: int


class _Lexer:
    """Splits shell text into simple commands (one pass, explicit stack, no recursion)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.top = _Commands(_TOP, None, 0)
        self.stack: list[_Frame] = [self.top]
        self.level = 0  # of the innermost command frame
        self.heredocs: list[tuple[str, _Heredoc]] = []
        self.writers: list[_Command] = []  # commands that may write a file (``_WRITERS``)
        self.found: list[_Found] = []
        self.daemons: list[list[_Word]] = []  # the arguments of each dockerd command

    def run(self) -> None:
        text, stack = self.text, self.stack
        i, n = 0, len(text)
        while i < n:
            frame = stack[-1]
            if isinstance(frame, _Commands):
                i = self._commands(frame, i)
            elif isinstance(frame, _DoubleQuote):
                i = self._double_quoted(frame, i)
            else:
                i = self._brace(frame, i)
        # Unterminated quotes and substitutions end with the text.
        while len(stack) > 1:
            self._pop(n)
        self._end_command(self.top)

    # -- frames -------------------------------------------------------------------------

    def _push_commands(self, kind: int, owner: _Word, start: int) -> None:
        owner.open_raw(start)
        self.level += 1
        self.stack.append(_Commands(kind, owner, self.level))

    def _pop(self, end: int) -> None:
        frame = self.stack.pop()
        if isinstance(frame, _Commands):
            self._end_command(frame)
            self.level -= 1
            if frame.owner is not None:
                frame.owner.close_raw(end)
        elif isinstance(frame, _Brace):
            frame.word.close_raw(end)
        else:
            frame.word.verbatim(end, end, end)

    def _word(self, frame: _Commands, i: int) -> _Word:
        if frame.word is None:
            frame.word = _Word(self.text, i)
        return frame.word

    def _end_word(self, frame: _Commands) -> None:
        word = frame.word
        if word is None:
            return
        frame.word = None
        if frame.redirect:
            frame.redirects.append(_Redirect(frame.redirect, word))
            frame.redirect = ""
        elif frame.heredoc:
            if frame.level <= _MAX_NESTING:
                doc = _Heredoc(frame.heredoc == 2, word.quoted)
                self.heredocs.append((word.value, doc))
                frame.redirects.append(_Redirect("<<", word, doc))
            frame.heredoc = 0
        else:
            frame.words.append(word)

    def _end_command(self, frame: _Commands, piped: bool = False) -> None:
        """The command read so far is complete; ``piped``: its output goes to the next."""
        self._end_word(frame)
        frame.redirect = ""
        frame.heredoc = 0
        if frame.words:
            # Array elements and arithmetic are not commands.
            writer = None
            if frame.kind not in (_ARRAY, _ARITH) and frame.level <= _MAX_NESTING:
                self._command(frame.words)
                writer = self._writer(frame)
            frame.piped = writer if piped else None
            frame.words = []
        frame.redirects = []

    def _writer(self, frame: _Commands) -> _Command | None:
        words = frame.words
        i = _skip_prefix(self.text, words)
        if i >= len(words) or words[i].value.rsplit("/", 1)[-1] not in _WRITERS:
            return None
        command = _Command(words[i:], frame.redirects, frame.piped)
        self.writers.append(command)
        return command

    # -- unquoted text ------------------------------------------------------------------

    def _commands(self, frame: _Commands, i: int) -> int:
        text = self.text
        c = text[i]
        if c in " \t":
            self._end_word(frame)
            blanks = _BLANKS.match(text, i)
            return blanks.end() if blanks else i + 1
        if c == "\n":
            self._end_command(frame)
            return self._skip_heredocs(i + 1)
        if c == "\r" and text.startswith("\n", i + 1):
            self._end_word(frame)
            return i + 1
        if c == "#" and frame.word is None:
            return self._comment(frame, i)
        if c == "\\":
            return self._backslash(frame, i)
        if c == "'":
            return self._single_quoted(self._word(frame, i), i)
        if c == '"':
            word = self._word(frame, i)
            word.quoted = True
            self.stack.append(_DoubleQuote(word))
            return i + 1
        if c == "$":
            return self._dollar(self._word(frame, i), i, in_quotes=False)
        if c == "`":
            if frame.kind == _BACKTICK:
                self._pop(i + 1)
            else:
                self._push_commands(_BACKTICK, self._word(frame, i), i)
            return i + 1
        if c in ";&|()<>":
            return self._operator(frame, i)
        match = _ORDINARY.match(text, i)
        end = match.end() if match and match.end() > i else i + 1
        word = self._word(frame, i)
        # The first glob character of a run is enough: one before the "=" of
        # ``--runtime=X`` would already make the option another one.
        glob = _GLOB.search(text, i, end)
        if glob:
            word.last_expansion = word.size + glob.start() - i
        elif word.start == i and c == "~":
            word.last_expansion = 0  # tilde expansion
        word.verbatim(i, end, end)
        return end

    def _comment(self, frame: _Commands, i: int) -> int:
        end = self.text.find("\n", i)
        if frame.kind == _BACKTICK:
            # The closing backtick ends a comment inside backticks.
            tick = self.text.find("`", i)
            if tick >= 0 and (end < 0 or tick < end):
                end = tick
        return len(self.text) if end < 0 else end

    def _backslash(self, frame: _Commands, i: int) -> int:
        text = self.text
        if text.startswith("\n", i + 1):
            return i + 2  # line continuation: not even a word boundary
        if text.startswith("\r\n", i + 1):
            return i + 3
        word = self._word(frame, i)
        word.quoted = True
        if i + 1 >= len(text):
            word.verbatim(i, i + 1, i + 1)
            return i + 1
        word.verbatim(i + 1, i + 2, i + 2)
        return i + 2

    def _single_quoted(self, word: _Word, i: int) -> int:
        text = self.text
        word.quoted = True
        close = text.find("'", i + 1)
        if close < 0:
            word.verbatim(i + 1, len(text), len(text))
            return len(text)
        word.verbatim(i + 1, close, close + 1)
        return close + 1

    def _dollar(self, word: _Word, i: int, in_quotes: bool) -> int:
        text = self.text
        following = text[i + 1 : i + 2]
        if following == "(":
            if text.startswith("((", i + 1):
                self._push_commands(_ARITH, word, i)
                return i + 3
            self._push_commands(_SUBST, word, i)
            return i + 2
        if following == "{":
            word.open_raw(i)
            self.stack.append(_Brace(word, in_quotes))
            return i + 2
        if following == "'" and not in_quotes:
            return self._ansi_c(word, i)
        if following == '"' and not in_quotes:
            word.quoted = True
            self.stack.append(_DoubleQuote(word))
            return i + 2
        match = _PARAMETER.match(text, i + 1)
        if match:
            word.expansion(i, match.end())
            return match.end()
        word.verbatim(i, i + 1, i + 1)
        return i + 1

    def _ansi_c(self, word: _Word, i: int) -> int:
        text = self.text
        word.quoted = True
        body = _ANSI_C_BODY.match(text, i + 2)
        end = body.end() if body else i + 2
        close = end + 1 if end < len(text) else end
        word.decoded(_decode_ansi_c(text[i + 2 : end]), i + 2, close)
        return close

    def _operator(self, frame: _Commands, i: int) -> int:
        text = self.text
        c = text[i]
        following = text[i + 1 : i + 2]
        if frame.kind == _ARITH:
            return self._arithmetic(frame, i)
        if c == ")":
            if frame.kind in (_SUBST, _ARRAY) and frame.depth == 0:
                self._pop(i + 1)
                return i + 1
            self._end_command(frame)
            frame.depth = max(frame.depth - 1, 0)
            return i + 1
        if c == "(":
            word = frame.word
            if word is not None and word.plain and _ASSIGNMENT.fullmatch(text, word.start, i):
                self._push_commands(_ARRAY, word, i)
                return i + 1
            self._end_command(frame)
            if following == "(":
                self._push_commands(_ARITH, self._word(frame, i), i)
                return i + 2
            frame.depth += 1
            return i + 1
        if c in "<>":
            if following == "(":  # process substitution
                self._push_commands(_SUBST, self._word(frame, i), i)
                return i + 2
            return self._redirection(frame, i)
        if c == "&" and following == ">":
            self._end_word(frame)
            frame.redirect = "&>>" if text.startswith("&>>", i) else "&>"
            return i + len(frame.redirect)
        self._end_command(frame, piped=c == "|" and following != "|")
        if text.startswith(";;&", i):
            return i + 3
        if c + following in ("&&", "||", "|&", ";;", ";&"):
            return i + 2
        return i + 1

    def _arithmetic(self, frame: _Commands, i: int) -> int:
        c = self.text[i]
        if c == "(":
            frame.depth += 1
        elif c == ")":
            if frame.depth == 0:
                end = i + 2 if self.text.startswith("))", i) else i + 1
                self._pop(end)
                return end
            frame.depth -= 1
        self._end_word(frame)
        return i + 1

    def _redirection(self, frame: _Commands, i: int) -> int:
        text = self.text
        word = frame.word
        fd = ""
        if word is not None and word.end == i and word.plain and text[word.start : i].isdigit():
            frame.word = None  # ``2>``: the digits name a file descriptor
            fd = text[word.start : i]
        else:
            self._end_word(frame)
        if text.startswith("<<<", i):
            frame.redirect = "<<<"
            return i + 3
        if text.startswith("<<-", i):
            frame.heredoc = 2
            return i + 3
        if text.startswith("<<", i):
            frame.heredoc = 1
            return i + 2
        two = text[i : i + 2]
        operator = two if two in ("<&", "<>", ">>", ">&", ">|") else text[i]
        frame.redirect = fd + operator
        return i + len(operator)

    def _skip_heredocs(self, i: int) -> int:
        """Here-document bodies are data, not commands: skip to after each delimiter line."""
        text = self.text
        for delimiter, doc in self.heredocs:
            doc.start = doc.end = i
            while i < len(text):
                end = text.find("\n", i)
                line = text[i:] if end < 0 else text[i:end]
                doc.end = i
                i = len(text) if end < 0 else end + 1
                line = line.removesuffix("\r")
                if (line.lstrip("\t") if doc.strip_tabs else line) == delimiter:
                    break
            else:
                doc.end = i  # unterminated: the body runs to the end of the text
        self.heredocs.clear()
        return i

    # -- inside double quotes and ${...} ------------------------------------------------

    def _double_quoted(self, frame: _DoubleQuote, i: int) -> int:
        text, word = self.text, frame.word
        c = text[i]
        if c == '"':
            self.stack.pop()
            word.verbatim(i, i, i + 1)
            return i + 1
        if c == "\\":
            if text.startswith("\n", i + 1):
                return i + 2
            if text.startswith("\r\n", i + 1):
                return i + 3
            following = text[i + 1 : i + 2]
            if following and following in '$`"\\':
                word.verbatim(i + 1, i + 2, i + 2)
                return i + 2
            word.verbatim(i, i + 1, i + 1)
            return i + 1
        if c == "$":
            return self._dollar(word, i, in_quotes=True)
        if c == "`":
            self._push_commands(_BACKTICK, word, i)
            return i + 1
        match = _IN_DOUBLE_QUOTES.match(text, i)
        end = match.end() if match else i + 1
        word.verbatim(i, end, end)
        return end

    def _brace(self, frame: _Brace, i: int) -> int:
        text, word = self.text, frame.word
        c = text[i]
        if c == "}":
            self.stack.pop()
            word.close_raw(i + 1)
            return i + 1
        if c == "\\":
            return min(i + 2, len(text))
        if c == "'" and not frame.in_quotes:
            close = text.find("'", i + 1)
            return len(text) if close < 0 else close + 1
        if c == '"':
            self.stack.append(_DoubleQuote(word))
            return i + 1
        if c == "$":
            return self._dollar(word, i, frame.in_quotes)
        if c == "`":
            self._push_commands(_BACKTICK, word, i)
            return i + 1
        match = _IN_BRACE.match(text, i)
        return match.end() if match and match.end() > i else i + 1

    # -- commands -----------------------------------------------------------------------

    def _command(self, words: list[_Word]) -> None:
        i = _skip_prefix(self.text, words)
        if i >= len(words) or words[i].last_expansion >= 0:
            return
        tool = words[i].value.rsplit("/", 1)[-1]
        if tool == "dockerd":
            self.daemons.append(words[i + 1 :])
            return
        grammars = _TOOLS.get(tool)
        if grammars is None:
            return
        global_grammar, run_grammar = grammars
        _, at = _read_options(words, i + 1, global_grammar, _SUBCOMMAND_WORDS[tool])
        command = _subcommand(tool, words, at)
        if command is None:
            return
        name, first = command
        options, _ = _read_options(words, first, run_grammar, want="--runtime")
        for option in options:
            self._report(tool, name, words, option)

    def _report(self, tool: str, command: str, words: list[_Word], option: _Option) -> None:
        flag = words[option.word]
        if option.inline >= 0:
            value = flag.value[option.inline :]
            literal = flag.last_expansion < option.inline
            start = flag.source_of(option.inline - 1) + 1  # just after the "="
            end = flag.end
        elif option.value >= 0:
            word = words[option.value]
            value, literal, start, end = word.value, word.last_expansion < 0, word.start, word.end
        else:
            return  # ``--runtime`` as the last word: the CLI would reject it
        self.found.append(_Found(tool, command, value, literal, start, end, flag.start))


# --------------------------------------------------------------------------------------
# Command lines: wrappers, global options, subcommands, options


class _Grammar(NamedTuple):
    """How a program reads its options, as far as finding its first operand needs."""

    flags: frozenset[str]  # options that take no value
    values: frozenset[str] = frozenset()  # options that take a value
    unknown_takes_value: bool = True
    # Go's ``flag`` package (ctr): ``-name`` equals ``--name``; letters are never grouped.
    go_flags: bool = False
    # Options that make the program print instead of running its operand (``command -v``).
    stops: frozenset[str] = frozenset()


class _Option(NamedTuple):
    word: int  # index of the option's word
    inline: int = -1  # value index where an attached value starts (``--runtime=x``: 10)
    value: int = -1  # index of the separate value word


def _options(*names: str) -> frozenset[str]:
    return frozenset(name for group in names for name in group.split())


# Global options: docker (cli/flags), nerdctl (root persistent flags), ctr (app flags).
# Unknown global options are taken to have a value unless the next word is a subcommand.
_DOCKER_GLOBAL = _Grammar(
    flags=_options("-D --debug --tls --tlsverify -v --version -h --help"),
    values=_options(
        "--config -c --context -H --host -l --log-level --tlscacert --tlscert --tlskey"
    ),
)
_NERDCTL_GLOBAL = _Grammar(
    flags=_options("--debug --debug-full --insecure-registry --experimental --kube-hide-dupe"),
    values=_options(
        "-a --address -H --host -n --namespace --snapshotter --storage-driver --cni-path",
        "--cni-netconfpath --data-root --cgroup-manager --hosts-dir --host-gateway-ip",
        "--bridge-ip --cdi-spec-dirs --userns-remap",
    ),
)
_CTR_GLOBAL = _Grammar(
    flags=_options("--debug -h --help -v --version"),
    values=_options("-a --address --timeout --connect-timeout -n --namespace"),
    go_flags=True,
)
# ``run``/``create`` options: the boolean ones are few and stable, every other option
# takes a value (``-e X``, ``--name n``, ``-v a:b``, ``-p``, ``--network``, ...), so
# only the booleans are listed.
_DOCKER_RUN = _Grammar(
    flags=_options(
        "-d --detach -i --interactive -t --tty -P --publish-all -q --quiet --rm --privileged",
        "--read-only --init --oom-kill-disable --no-healthcheck --sig-proxy --help",
        "--disable-content-trust --use-api-socket",
    )
)
_NERDCTL_RUN = _Grammar(
    flags=_DOCKER_RUN.flags | _NERDCTL_GLOBAL.flags | _options("--rootfs --help")
)
_CTR_RUN = _Grammar(
    flags=_options(
        "--rm --null-io -d --detach --cni --net-host --privileged --read-only -t --tty",
        "--allow-new-privs --seccomp --rootfs --no-pivot --runc-systemd-cgroup --remap-labels",
        "--privileged-without-host-devices -h --help",
    ),
    go_flags=True,
)
_TOOLS = {
    "docker": (_DOCKER_GLOBAL, _DOCKER_RUN),
    "nerdctl": (_NERDCTL_GLOBAL, _NERDCTL_RUN),
    "ctr": (_CTR_GLOBAL, _CTR_RUN),
}
_SUBCOMMAND_WORDS = {
    "docker": frozenset({"run", "create", "container"}),
    "nerdctl": frozenset({"run", "create", "container"}),
    "ctr": frozenset({"run", "c", "container", "containers"}),
}

# Commands that run their operand: wrapper -> how it reads its own options.
_WRAPPERS = {
    "sudo": _Grammar(
        flags=frozenset(),
        values=_options(
            "-C -D -g -p -R -r -T -t -U -u -c --close-from --chdir --group --host --prompt",
            "--chroot --role --command-timeout --type --other-user --user --login-class",
        ),
        unknown_takes_value=False,
        # These list, validate, edit or print instead of running the command.
        stops=_options("-l --list -e --edit -v --validate -V --version -h --help -K"),
    ),
    "env": _Grammar(
        flags=frozenset(),
        values=_options("-u -C -S -P --unset --chdir --split-string"),
        unknown_takes_value=False,
    ),
    "exec": _Grammar(flags=frozenset(), values=_options("-a"), unknown_takes_value=False),
    "time": _Grammar(
        flags=frozenset(), values=_options("-f -o --format --output"), unknown_takes_value=False
    ),
    "nohup": _Grammar(flags=frozenset(), unknown_takes_value=False),
    "command": _Grammar(flags=frozenset(), unknown_takes_value=False, stops=_options("-v -V")),
}
_RESERVED = frozenset(
    {"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "esac"}
)


def _skip_prefix(text: str, words: list[_Word]) -> int:
    """Index of the word naming the program a simple command runs (past the end: none)."""
    i = 0
    while i < len(words):
        word = words[i]
        # An assignment's name is written unquoted (``"A"=1`` is a command name), so the
        # source text shows it.
        if _ASSIGNMENT.match(text, word.start, word.end):
            i += 1
            continue
        if word.last_expansion >= 0:
            return i
        if word.value in _RESERVED and not word.quoted:
            i += 1
            continue
        grammar = _WRAPPERS.get(word.value)
        if grammar is None:
            return i
        _, i = _read_options(words, i + 1, grammar)
        if i < 0:
            return len(words)
    return i


def _subcommand(tool: str, words: list[_Word], at: int) -> tuple[str, int] | None:
    """The command's name and the index of its first option, for the subcommands of D4."""
    if at < 0 or at >= len(words):
        return None
    first = words[at].value
    second = words[at + 1].value if at + 1 < len(words) else ""
    if tool == "ctr":
        if first == "run":
            return "ctr run", at + 1
        if first in ("c", "container", "containers") and second == "create":
            return "ctr container create", at + 2
        return None
    if first in ("run", "create"):
        return f"{tool} {first}", at + 1
    if first == "container" and second in ("run", "create"):
        return f"{tool} container {second}", at + 2
    return None


def _read_options(
    words: list[_Word],
    i: int,
    grammar: _Grammar,
    subcommands: frozenset[str] = frozenset(),
    want: str = "",
) -> tuple[list[_Option], int]:
    """The options named ``want`` from ``words[i]`` on, and the index of the first operand.

    The index is -1 after one of the grammar's ``stops``.  ``subcommands``: an unknown
    option followed by one of these words is taken to have no value (the word is the
    subcommand).
    """
    found: list[_Option] = []
    while i < len(words):
        value = words[i].value
        if value == "--":
            return found, i + 1
        if len(value) < 2 or not value.startswith("-"):
            return found, i
        if grammar.go_flags or value.startswith("--"):
            body = value[2:] if value.startswith("--") else value[1:]
            bare, equals, _ = body.partition("=")
            # Go's flag package reads "-n" and "--n" alike; name them as their help does.
            name = ("-" if len(bare) == 1 else "--") + bare
            if name in grammar.stops:
                return found, -1
            if equals:
                if name == want:
                    found.append(_Option(i, inline=len(value) - len(body) + len(bare) + 1))
                i += 1
            elif _takes_value(name, words, i, grammar, subcommands):
                if name == want:
                    found.append(_Option(i, value=i + 1 if i + 1 < len(words) else -1))
                i += 2
            else:
                i += 1
            continue
        # Grouped single letters (``-it``, ``-e FOO``, ``-eFOO``, ``-Eu root``): the
        # first one that takes a value takes the rest of the word, or the next word.
        letters = value[1:]
        for k, letter in enumerate(letters):
            if "-" + letter in grammar.stops:
                return found, -1
            if _takes_value("-" + letter, words, i, grammar, subcommands):
                if k == len(letters) - 1:
                    i += 1
                break
        i += 1
    return found, len(words)


def _takes_value(
    name: str, words: list[_Word], i: int, grammar: _Grammar, subcommands: frozenset[str]
) -> bool:
    if name in grammar.flags:
        return False
    if name in grammar.values:
        return True
    if not grammar.unknown_takes_value:
        return False
    return i + 1 >= len(words) or words[i + 1].value not in subcommands


# --------------------------------------------------------------------------------------
# $'...'

_ANSI_C_ESCAPE = re.compile(
    r"\\(?:([abeEfnrtv\\'\"?])|([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{1,4})"
    r"|U([0-9A-Fa-f]{1,8})|c(.))",
    re.DOTALL,
)
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def _decode_ansi_c(body: str) -> str:
    """The value of ``$'body'`` (bash); unknown escapes stay as written."""

    def one(match: re.Match[str]) -> str:
        simple, octal, hex2, hex4, hex8, control = match.groups()
        if simple is not None:
            return _SIMPLE_ESCAPES[simple]
        if control is not None:
            return chr(ord(control) & 0x1F)
        digits = octal or hex2 or hex4 or hex8
        code = int(digits, 8 if octal else 16)
        return chr(code) if code <= 0x10FFFF else match.group()

    return _ANSI_C_ESCAPE.sub(one, body)


# --------------------------------------------------------------------------------------
# Files written: cat, tee, printf, echo

_WRITERS = frozenset({"cat", "tee", "printf", "echo"})
_STDOUT = frozenset({">", "1>", ">|", "1>|", ">>", "1>>", "&>", "&>>"})
_EXPANSION = re.compile(r"\$(?:\{|\(|[A-Za-z_0-9@*#?!$-])")
_PRINTF_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_TEE_FLAGS = frozenset({"-a", "--append", "-i", "--ignore-interrupts", "-p"})


class _Text:
    """Text a command writes, and the source offsets each character comes from."""

    __slots__ = ("chars", "ends", "expanded", "starts", "substituted")

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.expanded = False
        self.substituted = False

    def add(self, char: str, start: int, end: int) -> None:
        self.chars.append(char)
        self.starts.append(start)
        self.ends.append(end)

    def extend(self, other: _Text) -> None:
        self.chars += other.chars
        self.starts += other.starts
        self.ends += other.ends
        self.expanded = self.expanded or other.expanded
        self.substituted = self.substituted or other.substituted


def _writes(text: str, command: _Command) -> list[tuple[_Word, bool, _Text | None]]:
    """(target, appends, what is written) for each file ``command`` writes."""
    tool, args = command.tool, command.words[1:]
    if tool == "tee":
        files = [w for w in args if w.value not in _TEE_FLAGS and w.value != "-"]
        if any(w.value.startswith("-") for w in files):
            return []  # an option this reading does not know: the files are not certain
        append = any(w.value in ("-a", "--append") for w in args)
        written = _stdin(text, command)
        return [(w, append, written) for w in files]
    out = [r for r in command.redirects if r.operator in _STDOUT]
    if not out:
        return []
    target = out[-1]  # the shell opens each in turn; the last one gets the output
    return [(target.word, target.operator.endswith(">>"), _output(text, command))]


def _output(text: str, command: _Command) -> _Text | None:
    """What ``command`` prints, when the script spells it out."""
    tool, args = command.tool, command.words[1:]
    if tool in ("cat", "tee"):
        if tool == "cat" and any(w.value != "-" for w in args):
            return None  # copies files
        return _stdin(text, command)
    if tool == "echo":
        return _echo(text, args)
    return _printf(text, args)


def _stdin(text: str, command: _Command) -> _Text | None:
    for redirect in reversed(command.redirects):
        if redirect.heredoc is not None:
            return _heredoc_text(text, redirect.heredoc)
        if redirect.operator == "<<<":
            out = _word_text(text, redirect.word)
            out.add("\n", redirect.word.end, redirect.word.end)
            return out
        if redirect.operator in ("<", "0<", "<>"):
            return None
    source = command.piped
    if source is None or any(r.operator in _STDOUT for r in source.redirects):
        return None
    return _output(text, source)


def _heredoc_text(text: str, doc: _Heredoc) -> _Text:
    out = _Text()
    i = doc.start
    while i < doc.end:
        newline = text.find("\n", i, doc.end)
        stop = doc.end if newline < 0 else newline + 1
        if doc.strip_tabs:
            while i < stop and text[i] == "\t":
                i += 1
        while i < stop:
            c = text[i]
            if not doc.quoted:
                if c == "\\" and i + 1 < stop and text[i + 1] in "$`\\\n":
                    if text[i + 1] != "\n":  # a line continuation is removed
                        out.add(text[i + 1], i, i + 2)
                    i += 2
                    continue
                if c == "`" or text.startswith("$(", i):
                    out.substituted = True
                elif c == "$" and _EXPANSION.match(text, i):
                    out.expanded = True
            out.add(c, i, i + 1)
            i += 1
    return out


def _word_text(text: str, word: _Word) -> _Text:
    out = _Text()
    for source, length, piece in word.pieces:
        if piece is None:
            for k in range(source, source + length):
                out.add(text[k], k, k + 1)
        else:
            for char in piece:
                out.add(char, source, source + 1)
    if word.last_expansion >= 0:
        written = text[word.start : word.end]
        if "$(" in written or "`" in written:
            out.substituted = True
        else:
            out.expanded = True
    return out


def _echo(text: str, args: list[_Word]) -> _Text | None:
    newline = True
    while args and re.fullmatch(r"-[neE]+", args[0].value):
        newline = newline and "n" not in args[0].value
        args = args[1:]
    out = _Text()
    for k, word in enumerate(args):
        if k:
            out.add(" ", args[k - 1].end, args[k - 1].end)
        out.extend(_word_text(text, word))
    if "\\" in out.chars:
        return None  # bash prints backslashes as they are, dash reads escapes
    if newline:
        end = args[-1].end if args else 0
        out.add("\n", end, end)
    return out


def _printf(text: str, args: list[_Word]) -> _Text | None:
    if args and args[0].value == "--":
        args = args[1:]
    if not args or args[0].value.startswith("-"):
        return None  # ``printf -v NAME``: into a variable
    fmt = _word_text(text, args[0])
    parts: list[_Text | None] = []  # None: where ``%s`` is
    part = _Text()
    chars, i = fmt.chars, 0
    while i < len(chars):
        c = chars[i]
        following = chars[i + 1] if i + 1 < len(chars) else ""
        if c == "\\" and following in _PRINTF_ESCAPES:
            part.add(_PRINTF_ESCAPES[following], fmt.starts[i], fmt.ends[i + 1])
            i += 2
        elif c == "%" and following == "%":
            part.add("%", fmt.starts[i], fmt.ends[i + 1])
            i += 2
        elif c == "%" and following == "s":
            parts += [part, None]
            part = _Text()
            i += 2
        elif c in "\\%":
            return None  # another escape or conversion: not spelled out here
        else:
            part.add(c, fmt.starts[i], fmt.ends[i])
            i += 1
    parts.append(part)
    values = [_word_text(text, w) for w in args[1:]]
    if parts.count(None) > 1 or (values and None not in parts):
        return None
    out = _Text()
    out.expanded, out.substituted = fmt.expanded, fmt.substituted
    for value in values or [_Text()]:  # the format is used again for each argument
        for piece in parts:
            out.extend(value if piece is None else piece)
    return out
