"""Fuzzing and differential testing for shimpolicy's runtime-name grammar.

``fuzz.strategies`` generates runtime names from the grammar (for hypothesis and for seeded
runs); ``fuzz.differential`` compares shimpolicy with containerd's and moby's own code, compiled
by ``fuzz/oracle/build.sh``.
"""
