"""`oncoimmune vpop TABLE --target TARGET.yaml`: the shipped example selects plausible melanoma patients whose
baseline burden follows the published log-normal; bad targets and tables are answered with one line and
exit 2, and leave no output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import kstest

from oncoimmune.population import sample_population

TARGET = Path(__file__).resolve().parents[2] / "examples" / "vpop" / "melanoma_burden.yaml"


@pytest.fixture(scope="module")
def plausible(tmp_path_factory):
    path = tmp_path_factory.mktemp("pp") / "pp.parquet"
    sample_population("melanoma", 3000, 1).to_parquet(path)
    return path


def test_the_example_target_selects_patients_whose_burden_follows_it(run_cli, plausible, tmp_path):
    r = run_cli("vpop", plausible, "--target", TARGET, "--seed", "1", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "of 3000 plausible" in r.output and "tumour_burden_mm" in r.output
    chosen = pd.read_parquet(tmp_path / "out" / "vpop.parquet")
    report = json.loads((tmp_path / "out" / "vpop.json").read_text())
    assert report["selected"] == len(chosen) and report["plausible"] == 3000
    # the rows are the table's own (pp_index), with every column kept
    table = pd.read_parquet(plausible)
    assert np.array_equal(chosen["tumour_burden_mm"], table["tumour_burden_mm"].to_numpy()[chosen["pp_index"]])
    assert set(table.columns) <= set(chosen.columns)
    # log burden ~ N(ln 59, 0.7): the target in the file
    z = (np.log(chosen["tumour_burden_mm"]) - np.log(59.0)) / 0.7
    assert kstest(z, "norm").pvalue > 0.05
    assert report["ks"]["tumour_burden_mm"]["pvalue"] > 0.05
    assert "RELATIVITY-047" in report["provenance"]["source"] and report["provenance"]["seed"] == 1


def test_bad_targets_and_tables_give_one_line_exit_2_and_no_output(run_cli, plausible, tmp_path):
    out = tmp_path / "out"
    good = yaml.safe_load(TARGET.read_text())

    def target(edit):
        d = json.loads(json.dumps(good))
        edit(d)
        path = tmp_path / f"t{len(list(tmp_path.glob('t*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(d))
        return path

    cases = [
        (target(lambda d: d["observables"][0].update(column="no_such")), plausible, "'observables'"),
        (target(lambda d: d["target"].update(mean=[1.0, 2.0])), plausible, "'target.mean'"),
        (target(lambda d: d["target"].update(cov=[[-0.5]])), plausible, "positive definite"),
        (target(lambda d: d["target"].pop("cov")), plausible, "give both mean and cov"),
        (target(lambda d: d.update(color="blue")), plausible, "'color'"),
        (target(lambda d: d["target"].update(data="observed.csv")), plausible, "'target'"),
        (TARGET, tmp_path / "pp.txt", "'TABLE'"),
    ]
    for t, table, needle in cases:
        r = run_cli("vpop", table, "--target", t, "--out", out)
        assert r.exit_code == 2 and needle in r.output and len(r.output.strip().splitlines()) == 1, (needle, r.output)
    frame = pd.read_parquet(plausible).head(50)
    frame.loc[7, "tumour_burden_mm"] = np.nan
    frame.to_csv(tmp_path / "nan.csv", index=False)
    r = run_cli("vpop", tmp_path / "nan.csv", "--target", TARGET, "--out", out)
    assert r.exit_code == 2 and "'table column 'tumour_burden_mm' row 7'" in r.output and "be finite" in r.output
    assert not out.exists()


def test_a_trials_patient_table_is_selected_and_its_outcomes_reported_before_and_after(run_cli, tmp_path):
    spec = Path(__file__).resolve().parents[2] / "examples" / "trials" / "checkmate067_like.yaml"
    r = run_cli("trial", spec, "--patients", "90", "--seed", "5", "--out", tmp_path / "trial")
    assert r.exit_code == 0, r.output
    # a target of smaller tumours than the trial's: median 35 mm
    target = {
        "name": "small tumours",
        "observables": [{"column": "tumour_burden_mm", "log": True}],
        "target": {"mean": [float(np.log(35.0))], "cov": [[0.25]]},
        "source": "a what-if, not a published distribution",
    }
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(target))
    table = tmp_path / "trial" / "patients.parquet"
    r = run_cli("vpop", table, "--target", tmp_path / "t.yaml", "--seed", "2", "--out", tmp_path / "v")
    assert r.exit_code == 0, r.output
    assert "outcomes: plausible patients -> VPop" in r.output
    report = json.loads((tmp_path / "v" / "vpop.json").read_text())
    chosen = pd.read_parquet(tmp_path / "v" / "vpop.parquet")
    patients = pd.read_parquet(table)
    assert np.median(chosen["tumour_burden_mm"]) < np.median(patients["tumour_burden_mm"])
    for arm, g in chosen.groupby("arm"):
        row = report["outcomes"]["vpop"][arm]
        assert row["n"] == len(g) and row["orr"] == pytest.approx(g["best_overall_response"].isin(["CR", "PR"]).mean())
    assert sum(r["n"] for r in report["outcomes"]["plausible"].values()) == 90
