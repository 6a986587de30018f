"""Trials enrolled from a virtual-population table (``population.vpop``; issue 4, population.md §5):
a VP keeps its covariates and parameters, MAPEL weights decide who is drawn, the draw is seeded and
prefix-stable, and every bad table is refused with its field, row and column named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oncoimmune.errors import ValidationError
from oncoimmune.population import sample_population
from oncoimmune.trial import load_trial_spec, run_trial, trial_spec_from_dict

BASE = {
    "name": "small melanoma trial",
    "population": {"tumour_type": "melanoma"},
    "calibration": "checkmate067",
    "patients": 24,
    "seed": 5,
    "arms": [
        {"name": "nivolumab", "regimen": "nivolumab 3 mg/kg q2w"},
        {"name": "ipilimumab", "regimen": "ipilimumab 3 mg/kg q3w x4"},
    ],
    "scans": {"every_weeks": 8},
    "follow_up": {"months": 12},
}
CALIBRATED = ["k_CT", "pdl1_tme", "k_clear", "f_e0", "nu_CTLA4", "k_CT_CTLA4", "pdl1_CTLA4"]  # checkmate067 sets these


def spec(vpop=None, **changes):
    data = json.loads(json.dumps(BASE))
    data.update(changes)
    if vpop is not None:
        data["population"] = {"tumour_type": "melanoma", "vpop": vpop}
    return trial_spec_from_dict(data)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A small trial and its patients.parquet, the table the other trials enrol from."""
    result = run_trial(spec())
    path = tmp_path_factory.mktemp("vpop") / "patients.parquet"
    result.patients.to_parquet(path)
    return result, path


def test_a_trial_enrolled_in_order_from_its_own_patients_reproduces_them(source):
    first, path = source
    again = run_trial(spec({"table": str(path), "sampling": "in_order"}))
    a = first.patients.set_index("patient_id")
    b = again.patients.set_index("patient_id")
    assert (b["vpop_row"].to_numpy() == np.arange(24)).all()
    shared = [c for c in a.columns if c in b.columns]
    assert len(shared) == a.shape[1]
    for c in shared:  # same VPs, same parameters, same seed: the same patients, bit for bit
        pd.testing.assert_series_equal(a[c], b[c], check_dtype=False)
    assert again.summary["arms"]["nivolumab"]["orr"] == first.summary["arms"]["nivolumab"]["orr"]
    record = again.summary["provenance"]["vpop"]
    assert record["rows"] == 24 and record["sampling"] == "in_order" and record["distinct_enrolled"] == 24
    assert sorted(record["parameters"]) == sorted(CALIBRATED)
    assert len(record["sha256"]) == 64 and record["missing_covariates"] == []
    # the calibration's distributions were not used: the provenance says where the parameters came from
    assert sorted(again.summary["provenance"]["parameters"]["from_vpop_table"]) == sorted(CALIBRATED)


def test_prevalence_weights_decide_who_is_enrolled(source, tmp_path):
    _, path = source
    table = pd.read_parquet(path)
    high = (table["tmb"] > table["tmb"].median()).to_numpy()
    table["weight"] = np.where(high, 3.0, 1.0)  # high-TMB VPs three times as prevalent
    table.loc[0, "weight"] = 0.0  # a VP the weighting rules out
    weighted = tmp_path / "vpop.parquet"
    table.to_parquet(weighted)
    s = spec({"table": str(weighted), "weight": "weight"}, patients=4000)
    from oncoimmune.population._enrol import enrol_rows
    from oncoimmune.trial._spec import read_spec_vpop

    rows = enrol_rows(read_spec_vpop(s), 4000, s.seed)
    assert 0 not in rows
    share = high[rows].mean()
    expected = 3 * high[1:].sum() / (3 * high[1:].sum() + (~high[1:]).sum())
    assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / 4000)
    # patient i is the same VP in a trial of any size
    assert (enrol_rows(read_spec_vpop(s), 50, s.seed) == rows[:50]).all()
    # every enrolled patient carries its VP's covariates and parameters
    result = run_trial(spec({"table": str(weighted), "weight": "weight"}, patients=30))
    p = result.patients
    src = table.iloc[p["vpop_row"].to_numpy()]
    assert (p["tmb"].to_numpy() == src["tmb"].to_numpy()).all()
    assert (p["param_k_CT"].to_numpy() == src["param_k_CT"].to_numpy()).all()
    assert (p["vpop_patient_id"].to_numpy() == src["patient_id"].to_numpy()).all()
    assert result.summary["provenance"]["vpop"]["weight"] == "weight"
    assert result.summary["provenance"]["vpop"]["effective_size"] < 24


def test_results_do_not_depend_on_the_number_of_workers(source):
    _, path = source
    s = spec({"table": str(path)}, patients=30, seed=9)
    one = run_trial(s, workers=1).patients
    two = run_trial(s, workers=2).patients
    pd.testing.assert_frame_equal(one, two)
    assert one["vpop_row"].nunique() < 30  # drawn with replacement from 24 VPs


def test_a_table_without_parameters_gets_them_drawn_per_patient(tmp_path):
    covariates = sample_population("melanoma", 40, seed=2)
    path = tmp_path / "pp.csv"
    covariates.to_csv(path, index=False)
    result = run_trial(spec({"table": str(path), "sampling": "in_order"}, patients=20))
    p = result.patients
    assert p["tumour_burden_mm"].to_numpy() == pytest.approx(covariates["tumour_burden_mm"].to_numpy()[:20])
    for name in CALIBRATED:
        assert p[f"param_{name}"].notna().all()
    assert p["param_k_CT"].nunique() > 1  # drawn from the calibration's distribution, patient by patient
    assert result.summary["provenance"]["vpop"]["parameters"] is None


def test_a_relative_table_is_read_from_the_spec_files_folder(source, tmp_path, monkeypatch):
    _, path = source
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "vpop.parquet").write_bytes(path.read_bytes())
    data = json.loads(json.dumps(BASE))
    data["population"] = {"tumour_type": "melanoma", "vpop": {"table": "vpop.parquet"}}
    (folder / "trial.yaml").write_text(json.dumps(data))
    loaded = load_trial_spec(folder / "trial.yaml")
    assert Path(loaded.population.vpop.table) == (folder / "vpop.parquet").resolve()
    # ~ is the user's home, in a spec file and in a spec given as data
    monkeypatch.setenv("HOME", str(folder))
    data["population"]["vpop"]["table"] = "~/vpop.parquet"
    (folder / "home.yaml").write_text(json.dumps(data))
    assert Path(load_trial_spec(folder / "home.yaml").population.vpop.table) == folder / "vpop.parquet"
    assert run_trial(trial_spec_from_dict(data)).summary["provenance"]["vpop"]["rows"] == 24


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda t: t.drop(columns=["weight_kg"], inplace=True), "population.vpop.table", "weight_kg"),
        (
            lambda t: t.__setitem__("tumour_type", "nsclc"),
            "population.vpop.table row 0, column tumour_type",
            "melanoma",
        ),
        (
            lambda t: t.loc.__setitem__((3, "age_years"), np.nan),
            "population.vpop.table row 3, column age_years",
            "finite",
        ),
        (
            lambda t: t.loc.__setitem__((2, "param_k_CT"), np.nan),
            "population.vpop.table row 2, column param_k_CT",
            "bounds",
        ),
        (
            lambda t: t.loc.__setitem__((1, "param_k_CT"), -1.0),
            "population.vpop.table row 1, column param_k_CT",
            "bounds",
        ),
        (lambda t: t.drop(columns=["param_f_e0"], inplace=True), "population.vpop.table", "param_f_e0"),
        (lambda t: t.__setitem__("param_warp_speed", 1.0), "population.vpop.table", "warp_speed"),
        (lambda t: t.__setitem__("weight", 1.0), "population.vpop.weight", "'weight'"),
        (lambda t: t.loc.__setitem__((1, "ecog"), 7), "population.vpop.table row 1, column ecog", "[0, 4]"),
    ],
)
def test_a_bad_table_is_refused_naming_field_row_and_column(source, tmp_path, change, field, words):
    _, path = source
    table = pd.read_parquet(path)
    change(table)
    bad = tmp_path / "bad.parquet"
    table.to_parquet(bad)
    with pytest.raises(ValidationError) as err:
        spec({"table": str(bad)})
    assert err.value.field.startswith(field) or field in str(err.value)
    assert words in str(err.value)


@pytest.mark.parametrize(
    ("vpop", "changes", "field"),
    [
        ({"table": "nowhere.parquet"}, {}, "population.vpop.table"),
        ({"table": "TABLE", "weight": "prevalence"}, {}, "population.vpop.weight"),
        ({"table": "TABLE", "sampling": "in_order"}, {"patients": 25}, "patients"),
        ({"table": "TABLE", "sampling": "shuffled"}, {}, "population.vpop.sampling"),
        ({"table": "TABLE", "colour": "red"}, {}, "population.vpop.colour"),
    ],
)
def test_a_bad_vpop_entry_names_its_field(source, vpop, changes, field):
    _, path = source
    vpop = {k: (str(path) if v == "TABLE" else v) for k, v in vpop.items()}
    with pytest.raises(ValidationError) as err:
        spec(vpop, **changes)
    assert err.value.field == field


def test_bad_weights_are_refused(source, tmp_path):
    _, path = source
    table = pd.read_parquet(path)
    for values, words in ((-1.0, ">= 0"), (0.0, "positive sum")):
        table["w"] = 1.0 if values < 0 else 0.0
        table.loc[4, "w"] = values
        bad = tmp_path / "w.parquet"
        table.to_parquet(bad)
        with pytest.raises(ValidationError, match=words):
            spec({"table": str(bad), "weight": "w"})
    table["w"] = 1.0
    table.to_parquet(bad)
    with pytest.raises(ValidationError) as err:
        spec({"table": str(bad), "weight": "w", "sampling": "in_order"})
    assert err.value.field == "population.vpop.weight"


def test_covariate_overrides_and_a_vpop_do_not_mix(source):
    _, path = source
    data = json.loads(json.dumps(BASE))
    data["population"] = {"tumour_type": "melanoma", "overrides": {"pdl1": 0.5}, "vpop": {"table": str(path)}}
    with pytest.raises(ValidationError) as err:
        trial_spec_from_dict(data)
    assert err.value.field == "population.overrides"


def test_calibrate_refuses_a_knob_on_a_parameter_the_vpop_fixes(source, tmp_path):
    import yaml

    from oncoimmune.trial._calibrate import calibrate, load_calibration_problem

    _, path = source
    (tmp_path / "vpop.parquet").write_bytes(path.read_bytes())
    data = json.loads(json.dumps(BASE))
    data["population"] = {"tumour_type": "melanoma", "vpop": {"table": "vpop.parquet"}}
    (tmp_path / "trial.yaml").write_text(yaml.safe_dump(data))
    problem = {
        "name": "vpop-knobs",
        "spec": str(tmp_path / "trial.yaml"),
        "patients": 12,
        "seed": 1,
        "targets": [{"arm": "nivolumab", "metric": "orr", "value": 0.4, "tolerance": 0.05}],
        "stages": [
            {"targets": ["orr"], "max_evaluations": 2, "free": {"parameters.k_CT.median": {"lower": 1, "upper": 50}}}
        ],
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(problem))
    with pytest.raises(ValidationError) as err:
        calibrate(load_calibration_problem(tmp_path / "p.yaml"))
    assert err.value.field == "stages.0.free" and err.value.value == "parameters.k_CT.median"
    assert "VPop table" in str(err.value)


def test_a_table_without_some_covariates_keeps_the_tumour_type_and_says_what_it_lacks(tmp_path):
    covariates = sample_population("melanoma", 30, seed=3).drop(columns=["tumour_type", "growth_rate"])
    path = tmp_path / "pp.parquet"
    covariates.to_parquet(path)
    result = run_trial(spec({"table": str(path)}, patients=10))
    assert (result.patients["tumour_type"] == "melanoma").all()  # the trial's, for the popPK models that read it
    assert result.summary["provenance"]["vpop"]["missing_covariates"] == ["growth_rate"]


def test_spec_parameters_and_ranges_do_not_mix_with_a_table_that_gives_parameters(source):
    _, path = source
    for key, value in (("parameters", {"k_CT": {"value": 1.0}}), ("plausible", {"k_CT": {"upper": 2.0}})):
        data = json.loads(json.dumps(BASE))
        data["population"] = {"tumour_type": "melanoma", key: value, "vpop": {"table": str(path)}}
        with pytest.raises(ValidationError) as err:
            trial_spec_from_dict(data)
        assert err.value.field == f"population.{key}" and "param_" in str(err.value)


def test_weights_are_a_column_of_their_own_and_huge_ones_do_not_overflow(source, tmp_path):
    _, path = source
    with pytest.raises(ValidationError) as err:
        spec({"table": str(path), "weight": "weight_kg"})
    assert err.value.field == "population.vpop.weight" and "covariate" in str(err.value)
    table = pd.read_parquet(path)
    table["w"] = 1e308  # finite, but their sum is not
    table.loc[0, "w"] = 0.0
    big = tmp_path / "big.parquet"
    table.to_parquet(big)
    from oncoimmune.population._enrol import enrol_rows
    from oncoimmune.trial._spec import read_spec_vpop

    s = spec({"table": str(big), "weight": "w"}, patients=500)
    rows = enrol_rows(read_spec_vpop(s), 500, s.seed)
    assert 0 not in rows and np.unique(rows).size == 23  # the 23 weighted VPs, drawn equally


def test_a_bad_plausible_flag_or_a_repeated_csv_header_is_refused(source, tmp_path):
    _, path = source
    table = pd.read_parquet(path)
    table["plausible"] = table["plausible"].astype(object)
    table.loc[2, "plausible"] = "maybe"
    table.to_csv(tmp_path / "flag.csv", index=False)
    with pytest.raises(ValidationError) as err:
        spec({"table": str(tmp_path / "flag.csv")})
    assert err.value.field == "population.vpop.table row 2, column plausible"
    text = (tmp_path / "flag.csv").read_text().splitlines()
    header = text[0] + ",age_years"
    rows = [line + ",-5" for line in text[1:]]
    (tmp_path / "twice.csv").write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(ValidationError, match="repeated: \\['age_years'\\]") as err:
        spec({"table": str(tmp_path / "twice.csv")})
    assert err.value.field == "population.vpop.table"
