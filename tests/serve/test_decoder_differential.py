"""The plugin reads request bodies as moby's own decoders do: generated bodies against
``runconfig.ContainerDecoder`` of moby 26.1.5 (create) and 20.10.24 (create and the legacy
start), compiled from Debian's source (``fuzz/request_bodies.py``).  Where a decoder takes
runtime R the plugin decides R; where it fails the plugin denies.

``.ci/run`` builds the oracles (``fuzz/oracle/build.sh 1.7`` and ``moby20``); elsewhere
the test skips saying so.  ``SHIMPOLICY_DECODER_BODIES`` sets how many bodies (10,000 by
default, about a second each); ``python -m fuzz.request_bodies --count 100000`` runs a
longer pass.
"""

from __future__ import annotations

import os

import pytest

from fuzz.differential import build_dir
from fuzz.request_bodies import ORACLES, compare, generate

BODIES = int(os.environ.get("SHIMPOLICY_DECODER_BODIES", "10000"))
SEED = 20261206  # fixed, so that a failure here is a failure on every run


@pytest.mark.parametrize("moby", sorted(ORACLES))
def test_the_plugin_reads_every_body_as_mobys_decoder_does(moby: str) -> None:
    oracle = ORACLES[moby]
    executable = build_dir() / oracle.executable
    if not executable.exists():
        pytest.skip(f"{executable} is not built: run fuzz/oracle/build.sh {oracle.build_target}")
    found = compare(oracle, generate(BODIES, SEED))
    assert not found, "\n".join([f"{len(found)} of {BODIES} disagree", *map(str, found[:20])])
