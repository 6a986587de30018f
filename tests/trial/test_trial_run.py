"""The virtual-trial spec and runner (issue 4): validation with field-named errors, the outputs the
issue lists, determinism whatever the number of workers, and the command line.

The runs here are small (a dozen patients, one year) and check structure and invariants; the
calibration of the figures against published trials is a separate, later test set.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oncoimmune.errors import ValidationError
from oncoimmune.trial import load_trial_spec, run_trial, trial_schema, trial_spec_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trials" / "checkmate067_like.yaml"

BASE = {
    "name": "small NSCLC trial",
    "population": {"tumour_type": "nsclc", "overrides": {"pdl1": 0.6}},
    "patients": 12,
    "seed": 11,
    "arms": [
        {"name": "pembrolizumab", "regimen": "pembrolizumab 200 mg q3w"},
        {"name": "control", "regimen": "none"},
    ],
    "scans": {"every_weeks": 9},
    "follow_up": {"months": 12},
}


def spec(**changes):
    data = json.loads(json.dumps(BASE))
    data.update(changes)
    return trial_spec_from_dict(data)


@pytest.fixture(scope="module")
def small():
    return run_trial(spec())


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"patients": 0}, "patients"),
        ({"patients": -5}, "patients"),
        ({"seed": -1}, "seed"),
        ({"arms": [{"name": "a", "regimen": "unobtainium 3 mg/kg q3w"}]}, "arms[0].regimen"),
        (
            {"arms": [{"name": "a", "regimen": "nivolumab 3 mg/kg q2w"}, {"name": "b", "regimen": "nivolumab 3 q2w"}]},
            "arms[1].regimen",
        ),
        ({"arms": [{"name": "a", "regimen": "none"}, {"name": "a", "regimen": "none"}]}, "arms"),
        ({"arms": []}, "arms"),
        ({"scans": {"every_weeks": -6}}, "scans.every_weeks"),
        ({"scans": {}}, "scans"),
        ({"follow_up": {"months": 0}}, "follow_up.months"),
        ({"population": {"tumour_type": "glioma"}}, "population.tumour_type"),
        ({"model": "kirschner_panetta_1998"}, "model"),
        ({"colour": "blue"}, "colour"),
        ({"analysis": {"population": "per protocol"}}, "analysis.population"),
        ({"treatment": {"oral_input": "smooth"}}, "treatment.oral_input"),
        ({"toxicity": {"checkpoint_label": "2011"}}, "toxicity.checkpoint_label"),
        ({"analysis": {"treated_with": "pembrolizumab"}}, "analysis.treated_with"),
        ({"analysis": {"population": "treated", "treated_with": "unobtainium"}}, "analysis.treated_with"),
        ({"analysis": {"population": "treated"}}, "arms[1].regimen"),  # the control arm gives no drug
        (
            {"arms": [{"name": "a", "regimen": "nivolumab 3 mg/kg q2w", "placebo_every_weeks": -2}]},
            "arms[0].placebo_every_weeks",
        ),
        ({"arms": [{"name": "a", "regimen": "none", "placebo_every_weeks": 2}]}, "arms[0].placebo_every_weeks"),
        (
            {"arms": [{"name": "a", "regimen": "rituximab 375 mg/m2 q1w x4", "placebo_every_weeks": 2}]},
            "arms[0].placebo_every_weeks",
        ),
        (
            {"arms": [{"name": "a", "regimen": "nivolumab 3 mg/kg q2w", "placebo_every_weeks": 0.5}]},
            "arms[0].placebo_every_weeks",
        ),
        (
            {"arms": [{"name": "a", "regimen": "nivolumab 3 mg/kg q2w", "placebo_every_weeks": float("nan")}]},
            "arms[0].placebo_every_weeks",
        ),
        (
            {"arms": [{"name": "a", "regimen": "nivolumab 3 mg/kg q2w", "placebo_every_weeks": True}]},
            "arms[0].placebo_every_weeks",
        ),
        (
            {
                "analysis": {"population": "treated", "treated_with": "nivolumab"},
                "arms": [{"name": "a", "regimen": "pembrolizumab 200 mg q3w"}],
            },
            "arms[0].regimen",
        ),
    ],
)
def test_invalid_spec_names_the_field(change, field):
    with pytest.raises(ValidationError) as err:
        spec(**change)
    assert err.value.field == field, str(err.value)


def test_missing_field_is_named():
    data = dict(BASE)
    del data["arms"]
    with pytest.raises(ValidationError) as err:
        trial_spec_from_dict(data)
    assert err.value.field == "arms" and "be given" in str(err.value)


def test_a_repeated_key_is_an_error_not_the_last_value(tmp_path):
    # YAML keys are unique; a parser that kept the last of two `seed:` lines would run another trial
    # than the one its author reads at the top of the file
    f = tmp_path / "twice.yaml"
    f.write_text(EXAMPLE.read_text(encoding="utf-8") + "\nseed: 99\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_trial_spec(f)
    assert err.value.field == "trial spec" and "'seed' repeated at line" in str(err.value)


def test_schema_describes_every_field_of_the_example():
    schema = trial_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["required"]) >= {"name", "population", "patients", "seed", "arms", "scans", "follow_up"}
    example = load_trial_spec(EXAMPLE)
    assert set(example.model_dump(exclude_defaults=True)) <= set(schema["properties"])


# -- the run ---------------------------------------------------------------------------------


def test_patient_table_has_the_columns_the_issue_lists(small):
    p = small.patients
    for col in ("patient_id", "arm", "best_overall_response", "pfs_days", "pfs_event", "os_days", "os_event"):
        assert col in p.columns, col
    assert len(p) == 12 and p["patient_id"].tolist() == list(range(12))
    assert set(p["best_overall_response"]) <= {"CR", "PR", "SD", "PD", "NE"}
    # covariates travel with the patient
    assert {"age_years", "sex", "pdl1", "tmb", "tumour_burden_mm"} <= set(p.columns)
    assert np.allclose(p["pdl1"], 0.6)
    # side effects: worst grade per term (0 = none), dose holds and discontinuation
    assert {"ae_fatigue_grade", "ae_diarrhoea_colitis_grade", "ae_crs_grade", "discontinued"} <= set(p.columns)
    assert p.filter(like="_grade").isin(range(6)).all().all()
    control = p[p["arm"] == "control"]
    assert (control["ae_crs_grade"] == 0).all() and not control["discontinued"].any()  # no drug, no CRS
    # PFS never exceeds OS; follow-up is one year
    assert (p["pfs_days"] <= p["os_days"] + 1e-9).all()
    assert p["os_days"].max() <= 365.25 + 1e-6


def test_summary_has_the_issue_fields_as_fractions(small):
    arms = small.summary["arms"]
    assert set(arms) == {"pembrolizumab", "control"}
    for name, a in arms.items():
        for key in (
            "n",
            "orr",
            "cr",
            "dcr",
            "median_pfs_months",
            "median_os_months",
            "pfs_hr_vs",
            "os_hr_vs",
            "os_rate",
        ):
            assert key in a, (name, key)
        assert 0.0 <= a["orr"] <= a["dcr"] <= 1.0
        assert set(a["os_rate"]) == {"12", "24", "36", "60"}
    assert arms["pembrolizumab"]["pfs_hr_vs"].keys() == {"control"}
    # randomisation 1:1 in permuted blocks of 2
    assert arms["pembrolizumab"]["n"] == arms["control"]["n"] == 6
    json.dumps(small.summary, allow_nan=False)  # JSON-ready (no NaN / inf)


def test_a_treated_analysis_set_counts_only_the_patients_given_the_named_drug():
    # ZUMA-1 counted the patients given axi-cel, not those whose treatment stopped during lymphodepletion:
    # with a lymphodepletion so toxic that some patients stop before the CAR-T infusion, the arm's figures
    # are those of the patients infused, and the patient table says who they are
    regimen = (
        "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 daily x3 then axicabtagene ciloleucel "
        "2e6 CAR+ viable T cells/kg once (max 2e8) after 2 days"
    )
    base = {
        "population": {"tumour_type": "lbcl"},
        "patients": 60,
        "seed": 5,
        "arms": [{"name": "axi-cel", "regimen": regimen}],
        "scans": {"days": [0, 33, 96, 188]},
        "follow_up": {"months": 6},
    }
    itt = run_trial(spec(**base))
    mitt = run_trial(spec(**base, analysis={"population": "treated", "treated_with": "axicabtagene ciloleucel"}))
    p = mitt.patients
    infused = (p["treatment_stop_day"] >= 5.0) & (p["os_days"] > 5.0)
    assert (p["analysed"] == infused).all()
    assert itt.patients["analysed"].all()
    # the same patients and trajectories either way; only who is counted differs
    pd.testing.assert_series_equal(itt.patients["best_overall_response"], p["best_overall_response"])
    a = mitt.summary["arms"]["axi-cel"]
    assert a["n_randomised"] == 60 and a["n"] == int(infused.sum()) < 60
    counted = p.loc[p["analysed"], "best_overall_response"]
    assert a["orr"] == pytest.approx(counted.isin(["CR", "PR"]).mean())
    assert a["ae"]["crs"]["any"] == pytest.approx((p.loc[p["analysed"], "ae_crs_grade"] > 0).mean())
    # the waterfall and spider plots show the same patients the figures count
    assert mitt.trajectories["axi-cel"]["sld_mm"].shape[0] == a["n"]
    stopped = p["treatment_stop_day"] < 5.0
    assert stopped.any() and (p.loc[stopped, "car_t_peak_per_uL"] == 0.0).all()  # never infused


def test_an_untreated_arm_has_no_drug_benefit(small):
    # The control arm's responses come from the untreated tumours only: no CR/PR beyond what the
    # immune system does unaided; pembrolizumab cannot do worse than nothing on the same kind of patients.
    arms = small.summary["arms"]
    assert arms["pembrolizumab"]["dcr"] >= arms["control"]["dcr"] - 0.5


def test_same_seed_same_trial_whatever_the_workers(small):
    again = run_trial(spec(), workers=1)
    pd.testing.assert_frame_equal(small.patients, again.patients)


def test_patient_i_is_the_same_in_a_larger_trial(small):
    bigger = run_trial(spec(patients=16))
    cols = ["arm", "age_years", "tmb", "pfs_days", "os_days", "best_overall_response"]
    pd.testing.assert_frame_equal(bigger.patients[cols].iloc[:12].reset_index(drop=True), small.patients[cols])


def test_write_puts_the_tables_and_the_report_and_nothing_else(small, tmp_path):
    written = small.write(tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert {"patients.parquet", "summary.json", "report.html"} <= names
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "patients.parquet",
        "summary.json",
        "report.html",
        "figures",
    }
    back = pd.read_parquet(tmp_path / "out" / "patients.parquet")
    pd.testing.assert_frame_equal(back, small.patients)
    tables_only = small.write(tmp_path / "tables", report=False)
    assert sorted(p.name for p in tables_only) == ["patients.parquet", "summary.json"]


# -- command line ------------------------------------------------------------------------------


def test_trial_command_runs_the_example(run_cli, tmp_path):
    out = tmp_path / "t"
    res = run_cli("trial", EXAMPLE, "--patients", "6", "--seed", "3", "--out", out)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["provenance"]["patients"] == 6 and summary["provenance"]["seed"] == 3
    assert sum(a["n"] for a in summary["arms"].values()) == 6
    assert "not medical advice" in res.output


@pytest.mark.parametrize(("args", "fragment"), [(["--patients", "0"], "--patients"), (["--seed", "x"], "--seed")])
def test_trial_command_bad_options(run_cli, tmp_path, args, fragment):
    out = tmp_path / "never"
    res = run_cli("trial", EXAMPLE, *args, "--out", out)
    assert res.exit_code == 2 and fragment in res.output
    assert not out.exists()


def test_trial_command_bad_spec_is_one_line(run_cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace('regimen: "nivolumab 3 mg/kg q2w"', 'regimen: "nivolumab -3 mg/kg q2w"'))
    res = run_cli("trial", bad, "--out", tmp_path / "o")
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "arms[1].regimen" in lines[0]
    assert not (tmp_path / "o").exists()


def test_schema_command_prints_json(run_cli):
    res = run_cli("schema", "trial")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["title"] == "oncoimmune virtual clinical trial"


def test_measurement_noise_changes_the_reading_not_the_tumours(small):
    noisy_spec = spec(response={"measurement_noise": {"cv": 0.1, "sd_mm": 1.0}})
    noisy = run_trial(noisy_spec)
    again = run_trial(noisy_spec, workers=1)
    exact, p = small.patients, noisy.patients
    # the same virtual patients, the same untreated and treated tumours: only the measurements differ
    assert np.array_equal(exact["tumour_burden_mm"], p["tumour_burden_mm"])
    assert not np.array_equal(exact["best_percent_change"], p["best_percent_change"], equal_nan=True)
    # a seed gives the same noisy readings whatever the workers
    pd.testing.assert_frame_equal(again.patients, p)
    # no noise at all reads as exact measurements
    zero = run_trial(spec(response={"measurement_noise": {"cv": 0.0, "sd_mm": 0.0}}))
    assert np.array_equal(zero.patients["best_percent_change"], exact["best_percent_change"], equal_nan=True)


@pytest.mark.parametrize(("noise", "field"), [({"cv": -0.1}, "cv"), ({"sd_mm": "x"}, "sd_mm"), ({"sigma": 1}, "sigma")])
def test_bad_measurement_noise_names_the_field(noise, field):
    with pytest.raises(ValidationError, match=rf"response\.measurement_noise\.{field}"):
        spec(response={"measurement_noise": noise})
