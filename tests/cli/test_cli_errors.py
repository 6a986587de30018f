"""Bad input: exit status 2, one line `error: ...` naming the field and the value, no file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

KP = "kirschner_panetta_1998"


def _patients(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


CASES = [
    # (id, args after `simulate`, files to create {name: text}, expected fragments of the message)
    ("unknown model", ["no_such_model"], {}, ["'model'", "Got 'no_such_model'."]),
    ("unknown variant", [KP, "--variant", "patient42"], {}, ["'--variant'", "[default, sbml]", "Got 'patient42'."]),
    ("unknown parameter", [KP, "--set", "zz=1"], {}, ["'--set'", "Got 'zz'."]),
    ("non-numeric value", [KP, "--set", "c=abc"], {}, ["'c' parameter of --set", "be a number", "Got 'abc'."]),
    ("out of bounds", [KP, "--set", "c=-1"], {}, ["'c' parameter of --set", "lie in [0, 1] (1/day)", "Got -1.0."]),
    ("set without value", [KP, "--set", "c"], {}, ["'--set'", "NAME=VALUE", "Got 'c'."]),
    ("negative init", [KP, "--init", "T=-3"], {}, ["'init.T'", ">= 0", "Got -3.0."]),
    ("unknown state", [KP, "--init", "X=1"], {}, ["'--init'", "[E, IL, T]", "Got 'X'."]),
    (
        "NaN in patients",
        [KP, "--patients", "{tmp}/nan.csv"],
        {"nan.csv": "patient_id,c\na,0.03\nb,\n"},
        ["'c' parameter of nan.csv row 2", "not NaN", "Got nan."],
    ),
    (
        "unknown column",
        [KP, "--patients", "{tmp}/col.csv"],
        {"col.csv": "patient_id,c,zz\na,0.03,1\n"},
        ["'column' parameter of col.csv", "Got 'zz'."],
    ),
    (
        "patients out of bounds",
        [KP, "--patients", "{tmp}/b.csv"],
        {"b.csv": "c\n0.03\n0.02\n7\n"},
        ["'c' parameter of b.csv row 3", "lie in [0, 1]", "Got 7."],
    ),
    ("missing patients file", [KP, "--patients", "{tmp}/none.csv"], {}, ["'--patients'", "existing file", "none.csv"]),
    ("empty patients file", [KP, "--patients", "{tmp}/empty.csv"], {"empty.csv": ""}, ["'--patients'", "empty.csv"]),
    (
        "header-only patients file",
        [KP, "--patients", "{tmp}/hdr.csv"],
        {"hdr.csv": "patient_id,c\n"},
        ["'--patients'", "at least one row", "hdr.csv"],
    ),
    (
        "patients wrong extension",
        [KP, "--patients", "{tmp}/p.txt"],
        {"p.txt": "c\n0.1\n"},
        ["'--patients'", ".csv or .parquet", "p.txt"],
    ),
    (
        "malformed bolus",
        [KP, "--bolus", "E=5"],
        {},
        ["The '--bolus' parameter must look like STATE=AMOUNT@DAY[,DAY...]. Got 'E=5'."],
    ),
    ("bolus bad day", [KP, "--bolus", "E=5@x"], {}, ["'--bolus'", "Got 'E=5@x'."]),
    ("bolus unknown state", [KP, "--bolus", "Q=5@1"], {}, ["'--bolus'", "Got 'Q'."]),
    ("bolus negative amount", [KP, "--bolus", "E=-5@1"], {}, ["'amount'", "> 0", "Got -5.0."]),
    ("times not increasing", [KP, "--times", "0,5,3"], {}, ["'--times'", "strictly increasing", "Got '0,5,3'."]),
    ("times not numbers", [KP, "--times", "0,a"], {}, ["'--times'", "Got '0,a'."]),
    ("times and t-end", [KP, "--times", "0,1", "--t-end", "5"], {}, ["'--times'", "--t-end", "Got '0,1'."]),
    ("negative t-end", [KP, "--t-end", "-5"], {}, ["'--t-end'", "> 0", "Got '-5'."]),
    ("rtol not a number", [KP, "--rtol", "abc"], {}, ["'--rtol'", "Got 'abc'."]),
    ("rtol too large", [KP, "--rtol", "2"], {}, ["'--rtol'", "< 1", "Got 2.0."]),
    ("unknown method", [KP, "--method", "euler"], {}, ["'--method'", "radau9", "Got 'euler'."]),
    ("missing regimen", [KP, "--regimen", "{tmp}/none.yaml"], {}, ["'--regimen'", "none.yaml"]),
    (
        "regimen unknown target",
        [KP, "--regimen", "{tmp}/r.yaml"],
        {"r.yaml": "doses:\n  - infusion: {target: v_M, rate: 1, duration: 1}\n"},
        ["'target'", "Got 'v_M'."],
    ),
    ("plot wrong extension", [KP, "--plot", "{tmp}/p.jpg"], {}, ["'--plot'", ".png", "p.jpg"]),
]


@pytest.mark.parametrize(("args", "files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_error_and_leaves_no_file(run_cli, tmp_path, args, files, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out.csv"
    res = run_cli("simulate", *[a.format(tmp=tmp_path) for a in args], "--out", out)
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    assert res.stderr.startswith("error: ") and res.stderr.endswith("\n")
    assert res.stderr.count("\n") == 1, res.stderr  # one line, no traceback
    for fragment in expected:
        assert fragment in res.stderr, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_out_with_unsupported_extension(run_cli, tmp_path):
    res = run_cli("simulate", KP, "--out", tmp_path / "table.txt")
    assert res.exit_code == 2
    assert res.stderr == f"error: The '--out' parameter must end in .csv or .parquet. Got '{tmp_path / 'table.txt'}'.\n"
    assert list(tmp_path.iterdir()) == []


def test_out_in_missing_directory(run_cli, tmp_path):
    res = run_cli("simulate", KP, "--out", tmp_path / "no" / "table.csv")
    assert res.exit_code == 2
    assert "'--out'" in res.stderr and "does not exist" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_plot_failure_after_writing_removes_the_table(run_cli, tmp_path, monkeypatch):
    """A failure while plotting must not leave the table of a half-finished command behind."""
    import oncoimmune.plot

    def broken(*args, **kwargs):
        raise oncoimmune.ValidationError("plot", "be drawable", "x")

    monkeypatch.setattr(oncoimmune.plot, "plot_result", broken)
    res = run_cli("simulate", KP, "--times", "0,1", "--out", tmp_path / "t.csv", "--plot", tmp_path / "t.png")
    assert res.exit_code == 2
    assert res.stderr == "error: The 'plot' parameter must be drawable. Got 'x'.\n"
    assert list(tmp_path.iterdir()) == []
