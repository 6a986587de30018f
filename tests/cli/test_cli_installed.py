"""End-to-end checks of the installed console script `.venv/bin/oncoimmune` (a real subprocess)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import oncoimmune

SCRIPT = Path(sys.executable).parent / "oncoimmune"
pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed next to the interpreter")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=600, check=False)


def test_installed_version():
    proc = _run("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"oncoimmune {oncoimmune.__version__}\n"


def test_installed_simulate_prints_csv():
    proc = _run("simulate", "kirschner_panetta_1998", "--times", "0,150")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(io.StringIO(proc.stdout))
    assert list(table.columns) == ["patient_id", "time", "E", "T", "IL", "status"]
    # models.md §1.7: T(150) = 618.37 cells from the default (0, 1, 0), c = 0.035.
    assert table["T"].iloc[1] == pytest.approx(618.37, rel=1e-4)


def test_installed_error_is_one_line_without_traceback():
    proc = _run("simulate", "kirschner_panetta_1998", "--bolus", "E=5")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "error: The '--bolus' parameter must look like STATE=AMOUNT@DAY[,DAY...]. Got 'E=5'.\n"
