"""`oncoimmune calibrate PROBLEM.yaml`: bad input answered with one line and exit 2, and a tiny search that
writes a calibration file a trial spec can use."""

from __future__ import annotations

from pathlib import Path

import yaml

from oncoimmune.trial import load_calibration

PROBLEM = Path(__file__).resolve().parents[2] / "examples" / "calibration" / "checkmate067.yaml"


def test_bad_problem_and_options_give_one_line_and_exit_2(run_cli, tmp_path):
    r = run_cli("calibrate", tmp_path / "missing.yaml", "--out", tmp_path / "c.yaml")
    assert r.exit_code == 2 and "must be a readable YAML file" in r.output
    r = run_cli("calibrate", PROBLEM, "--out", tmp_path / "c.txt")
    assert r.exit_code == 2 and "'--out'" in r.output and "end in .yaml" in r.output
    r = run_cli("calibrate", PROBLEM, "--out", tmp_path / "c.yaml", "--workers", "0")
    assert r.exit_code == 2 and "'--workers'" in r.output
    r = run_cli("calibrate", PROBLEM, "--out", tmp_path / "c.yaml", "--journal", tmp_path / "j.txt")
    assert r.exit_code == 2 and "'--journal'" in r.output and "end in .jsonl" in r.output
    (tmp_path / "j.jsonl").write_text("a log of something else\nits last line")
    r = run_cli("calibrate", PROBLEM, "--out", tmp_path / "c.yaml", "--journal", tmp_path / "j.jsonl")
    assert r.exit_code == 2 and "'journal'" in r.output and "written by `oncoimmune calibrate`" in r.output
    assert (tmp_path / "j.jsonl").read_text() == "a log of something else\nits last line"  # left as it was
    assert not (tmp_path / "c.yaml").exists()
    data = yaml.safe_load(PROBLEM.read_text())
    data["targets"][0]["metric"] = "orrr"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data))
    r = run_cli("calibrate", tmp_path / "bad.yaml", "--out", tmp_path / "c.yaml")
    assert r.exit_code == 2 and "'targets.0" in r.output


def test_a_tiny_search_writes_a_loadable_calibration_and_prints_the_targets(run_cli, tmp_path):
    data = yaml.safe_load(PROBLEM.read_text())
    data.update(patients=18, seed=4)
    data["stages"] = [
        {"targets": ["orr"], "max_evaluations": 2, "free": {"parameters.k_CT.median": {"lower": 1.0, "upper": 20.0}}}
    ]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    r = run_cli("calibrate", tmp_path / "p.yaml", "--out", tmp_path / "fitted.yaml")
    assert r.exit_code == 0, r.output
    assert "target vs simulated" in r.output and "os_rate.60" in r.output
    cal = load_calibration(str(tmp_path / "fitted.yaml"))
    assert cal.provenance["patients"] == 18 and cal.provenance["evaluations"] >= 1
