"""Following runs: the stack, Jenkins stand-in and per-test workspace of `tests/runs`.

`tests/runs/conftest.py`'s fixtures are imported here so that this folder shares their
behaviour (one stack and one stand-in per module, a fresh workspace per test).
"""

from __future__ import annotations

from tests.runs.conftest import ci, runs_jenkins, runs_stack

__all__ = ["ci", "runs_jenkins", "runs_stack"]
