"""cloud-init user data (``#cloud-config``): the files its ``write_files`` entries write.

Each entry with a ``path`` whose name gives a file type (lint/embedded.py) is checked as a
file of that type: ``content`` written as a YAML string is placed character by character
where it is written; ``encoding: b64`` (or ``base64``) content, and ``gz+b64`` content,
is decoded as cloud-init decodes it and every finding placed on the ``content`` value.
``append: true`` adds to a file the entry does not write whole: noted (SP003), not read.
Nothing else in the file concerns container runtimes.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib

from ..syntax import Mapping, Node, Scalar, Sequence
from ..syntax.yaml import parse_yaml
from .context import LintContext
from .embedded import Embedded, embedded_type, whole_value
from .facts import Facts, placeholder
from .filetype import FileType
from .source import SourceFile
from .workflow import ScriptText, yaml_lines

# cloud-init's names for its encodings (cc_write_files.py, canonicalize_extraction).
_BASE64 = frozenset({"b64", "base64"})
_GZIP_BASE64 = frozenset({"gz+base64", "gzip+base64", "gz+b64", "gzip+b64"})
_GZIP = frozenset({"gz", "gzip"})
_TRUE = frozenset({True, "true", "True", "yes", "on"})


def load(source: SourceFile) -> list[Node]:
    return parse_yaml(source.text)


def collect(doc: list[Node], source: SourceFile, facts: Facts) -> None:
    return None


def check(doc: list[Node], source: SourceFile, ctx: LintContext) -> None:
    return None


def embedded(doc: list[Node], source: SourceFile) -> list[Embedded]:
    out: list[Embedded] = []
    lines: list[str] | None = None
    for root in doc:
        entries = root.get("write_files") if isinstance(root, Mapping) else None
        for entry in entries.items if isinstance(entries, Sequence) else ():
            if not isinstance(entry, Mapping):
                continue
            path, content = entry.get("path"), entry.get("content")
            if not isinstance(path, Scalar) or not isinstance(path.value, str):
                continue
            if content is None:
                content = Scalar("", *path.span)  # cloud-init writes an empty file
            if not isinstance(content, Scalar) or not isinstance(content.value, str):
                continue
            encoding = entry.get("encoding")
            how = str(encoding.value).strip().lower() if isinstance(encoding, Scalar) else ""
            text, problem = _decoded(content.value, how)
            note = f"{path.value}: {problem}" if problem else ""
            kind = embedded_type(path.value, text if note == "" else None)
            if kind is None:
                continue
            append = entry.get("append")
            if isinstance(append, Scalar) and append.value in _TRUE:
                note = (
                    f"{path.value} is appended to (`append: true`): the file's earlier "
                    "content is not known here, so what it holds cannot be checked"
                )
            if how in _BASE64 | _GZIP_BASE64 or note:
                where = whole_value(text, content.span)
            else:
                if lines is None:
                    lines = yaml_lines(source.text)
                key = entry.key("content")
                indent = key.column - 1 if key is not None else 0
                where = ScriptText.of(lines, content, indent)
            placeholders = placeholder(text) is not None
            out.append(Embedded(path.value, kind, text, where, path.span, placeholders, note))
    return out


def _decoded(content: str, how: str) -> tuple[str, str]:
    """The text cloud-init writes for ``content`` in encoding ``how``, and why it cannot
    be read ("" when it can)."""
    if how in ("", "text/plain"):
        return content, ""
    try:
        if how in _BASE64:
            raw = base64.b64decode(content)
        elif how in _GZIP_BASE64:
            raw = gzip.decompress(base64.b64decode(content))
        else:
            what = "compressed binary" if how in _GZIP else f"in encoding {how!r}"
            return "", f"the content is {what}: what it holds cannot be checked here"
        return raw.decode("utf-8"), ""
    except (binascii.Error, ValueError, OSError, EOFError, zlib.error):
        return "", f"the content is not valid {how}: cloud-init cannot decode it"


TYPE = FileType("cloud-init", "cloud-init user data", load, collect, check, embedded=embedded)
