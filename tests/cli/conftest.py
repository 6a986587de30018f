"""Shared helpers for the command-line tests (typer's CliRunner, in process)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from oncoimmune.cli import app


@pytest.fixture
def run_cli() -> Callable[..., Result]:
    """Invoke ``oncoimmune ARGS...`` in process; a wide terminal keeps rich tables unwrapped."""
    runner = CliRunner(env={"COLUMNS": "400"})

    def invoke(*args: str) -> Result:
        return runner.invoke(app, [str(a) for a in args])

    return invoke
