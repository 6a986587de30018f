"""`oncoimmune vpop TABLE --target TARGET.yaml`: the shipped example selects plausible melanoma patients whose
baseline burden follows the published log-normal; bad targets and tables are answered with one line and
exit 2, and leave no output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import chi2, kstest

from oncoimmune.population import sample_population

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TARGET = EXAMPLES / "vpop" / "melanoma_burden.yaml"


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
        (target(lambda d: d["observables"][0].update(column="sex")), plausible, "'observables.0.column'"),
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


@pytest.fixture(scope="module")
def trial_table(tmp_path_factory):
    """The patients.parquet of a 150-patient CheckMate 067-like virtual trial (the calibrated melanoma population)."""
    from oncoimmune.trial import load_trial_spec, run_trial

    spec = load_trial_spec(EXAMPLES / "trials" / "checkmate067_like.yaml").with_overrides(patients=150, seed=5)
    out = tmp_path_factory.mktemp("trial")
    run_trial(spec).write(out)
    return out / "patients.parquet"


def test_a_trials_patient_table_is_selected_and_its_outcomes_reported_before_and_after(run_cli, trial_table, tmp_path):
    # a target of smaller tumours than the trial's: median 35 mm
    target = {
        "name": "small tumours",
        "observables": [{"column": "tumour_burden_mm", "log": True}],
        "target": {"mean": [float(np.log(35.0))], "cov": [[0.25]]},
        "source": "a what-if, not a published distribution",
    }
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(target))
    table = trial_table
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
    assert sum(r["n"] for r in report["outcomes"]["plausible"].values()) == 150


def test_the_mapel_example_weights_a_trials_patients_to_the_published_response_rates(run_cli, trial_table, tmp_path):
    problem = EXAMPLES / "vpop" / "checkmate067_orr_mapel.yaml"
    r = run_cli("vpop", trial_table, "--target", problem, "--seed", "1", "--out", tmp_path / "w")
    assert r.exit_code == 0, r.output
    assert "MAPEL weights on 150 patients" in r.output
    weighted = pd.read_parquet(tmp_path / "w" / "vpop.parquet")
    report = json.loads((tmp_path / "w" / "vpop.json").read_text())
    assert len(weighted) == 150 and weighted["weight"].sum() == pytest.approx(1.0)
    # each figure is the weighted response rate of its arm's rows, as the table's weights give it
    for arm, published in (("nivolumab + ipilimumab", 0.58), ("nivolumab", 0.45), ("ipilimumab", 0.19)):
        g = weighted[weighted["arm"] == arm]
        rate = np.dot(g["weight"], g["best_overall_response"].isin(["CR", "PR"])) / g["weight"].sum()
        row = report["figures"][f"{arm} ORR"]
        assert row["simulated"] == pytest.approx(rate) and row["observed"] == published
    # a VP's weight is the product of its bins' probabilities
    probs = report["bin_probabilities"]
    edges = report["bin_edges"]
    expected = np.ones(150)
    for axis in ("growth_rate", "tmb"):
        b = np.clip(np.searchsorted(edges[axis][1:-1], weighted[axis], side="right"), 0, 1)
        expected *= np.asarray(probs[axis])[b]
    assert weighted["weight"].to_numpy() == pytest.approx(expected / expected.sum())
    fisher = -2 * sum(np.log(max(f["p"], 1e-300)) for f in report["figures"].values())
    assert report["composite_p"] == pytest.approx(chi2.sf(fisher, 2 * 3))
    assert len(report["alternates"]) == 4 and "Hodi" in report["sources"]["nivolumab ORR"]

    # the weighted VPop then enrols a trial (population.vpop; the table's path is the spec's neighbour)
    spec = yaml.safe_load((EXAMPLES / "trials" / "checkmate067_like.yaml").read_text())
    spec["population"]["vpop"] = {"table": "w/vpop.parquet", "weight": "weight"}
    spec.update(patients=60, targets=[], follow_up={"months": 12})
    (tmp_path / "trial.yaml").write_text(yaml.safe_dump(spec))
    r = run_cli("trial", tmp_path / "trial.yaml", "--out", tmp_path / "t")
    assert r.exit_code == 0, r.output
    enrolled = pd.read_parquet(tmp_path / "t" / "patients.parquet")
    summary = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert summary["provenance"]["vpop"]["table"] == str((tmp_path / "w" / "vpop.parquet").resolve())
    vp = weighted.iloc[enrolled["vpop_row"].to_numpy()]
    assert (enrolled["tmb"].to_numpy() == vp["tmb"].to_numpy()).all()
    assert (enrolled["param_k_CT"].to_numpy() == vp["param_k_CT"].to_numpy()).all()
    # the enrolled patients are drawn in proportion to the weights: their mean weight is the weight-weighted mean
    # of the table's (sum w^2 / sum w), within 4 standard errors of 60 draws, and above the plain mean
    w = weighted["weight"].to_numpy()
    expected = np.dot(w, w) / w.sum()
    se = math.sqrt(np.dot(w, (w - expected) ** 2) / w.sum() / len(vp))
    assert abs(vp["weight"].mean() - expected) < 4 * se
    assert expected - w.mean() > 3 * se


def test_a_bad_mapel_problem_names_the_field(run_cli, trial_table, tmp_path):
    good = yaml.safe_load((EXAMPLES / "vpop" / "checkmate067_orr_mapel.yaml").read_text())
    for edit, needle in [
        (lambda d: d["targets"][0].update(arm="placebo"), "'targets.0.arm'"),
        (lambda d: d["targets"][1].pop("equals"), "'targets.1'"),
        (lambda d: d["targets"][2].update(rate=1.2), "'targets.2.rate'"),
        (lambda d: d.update(axes=["growth_rate", "arm"]), "'axes.1'"),
        (lambda d: d.update(bins=1), "'bins'"),
    ]:
        d = json.loads(json.dumps(good))
        edit(d)
        (tmp_path / "m.yaml").write_text(yaml.safe_dump(d))
        r = run_cli("vpop", trial_table, "--target", tmp_path / "m.yaml", "--out", tmp_path / "o")
        assert r.exit_code == 2 and needle in r.output, (needle, r.output)
    assert not (tmp_path / "o").exists()
