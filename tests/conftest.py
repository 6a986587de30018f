"""Test configuration: compiled kernels go to a cache inside the checkout unless told otherwise."""

import os
from pathlib import Path

os.environ.setdefault("ONCOIMMUNE_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".oncoimmune-cache"))

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


import pytest  # noqa: E402 - after the cache directory is set, before any kernel is compiled


@pytest.fixture
def run_cli():
    """Invoke ``oncoimmune ARGS...`` in process; a wide terminal keeps rich tables unwrapped."""
    from typer.testing import CliRunner

    from oncoimmune.cli import app

    runner = CliRunner(env={"COLUMNS": "400"})

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return invoke
