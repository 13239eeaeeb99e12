"""The plugin reads request bodies as moby's own decoder does: generated create bodies
against ``runconfig.ContainerDecoder.DecodeConfig`` of moby 26.1.5, compiled from Debian's
source (``fuzz/request_bodies.py``).  Where the decoder takes runtime R the plugin decides
R; where it fails the plugin denies.

``.ci/run`` builds the oracle (``fuzz/oracle/build.sh 1.7``); elsewhere the test skips
saying so.  ``SHIMPOLICY_DECODER_BODIES`` sets how many bodies (10,000 by default, about a
second); ``python -m fuzz.request_bodies --count 100000`` runs a longer pass.
"""

from __future__ import annotations

import os

import pytest

from fuzz.differential import build_dir
from fuzz.request_bodies import ORACLE, compare, generate

BODIES = int(os.environ.get("SHIMPOLICY_DECODER_BODIES", "10000"))
SEED = 20261206  # fixed, so that a failure here is a failure on every run


def test_the_plugin_reads_every_body_as_mobys_decoder_does() -> None:
    if not (build_dir() / ORACLE).exists():
        pytest.skip(f"{build_dir() / ORACLE} is not built: run fuzz/oracle/build.sh 1.7")
    found = compare(generate(BODIES, SEED))
    assert not found, "\n".join([f"{len(found)} of {BODIES} disagree", *map(str, found[:20])])
