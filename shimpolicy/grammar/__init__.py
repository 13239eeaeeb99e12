"""containerd's and Docker's rules for runtime names: the bottom layer, importing nothing
above it.

``name`` reads a name as a containerd version would (C1–C4), ``catalog`` knows the
well-known shims, ``docker`` says what dockerd passes on (D1–D3), ``versions`` reads the
version and platform arguments, and ``_gofilepath`` is Go's ``path/filepath`` as those
rules use it.
"""
