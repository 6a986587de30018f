"""`oncoimmune simulate io_qsp --regimen TEXT --patient ...` and `oncoimmune compare` (issue 3, CLI).

The command line must give the same numbers as the Python API (simulate_treatment), draw the
figures it is asked for, and answer bad regimens and covariates with one-line errors (exit 2)
that leave no file behind.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from oncoimmune.cli._parse import parse_patient
from oncoimmune.treatments import Covariates
from oncoimmune.treatments._plan import simulate_treatment

PATIENT = "weight=70,height=175,age=60,sex=male,pdl1=0.6,tmb=12,sld=74,lesions=2"
PEMBRO = "pembrolizumab 200 mg q3w"


def _cov() -> Covariates:
    return Covariates(70.0, 175.0, 60.0, "male", pdl1=0.6, tmb=12.0, tumour_burden_mm=74.0, n_lesions=2)


def test_patient_option_parses_into_covariates_and_reports_defaults():
    cov, assumed = parse_patient("weight=70,height=175,pdl1=0.6,tmb=12")
    assert (cov.weight_kg, cov.height_cm, cov.pdl1, cov.tmb) == (70.0, 175.0, 0.6, 12.0)
    # age and sex were not given: the defaults are used and named.
    assert {a.split("=")[0] for a in assumed} == {"age_years", "sex"}


def test_simulate_with_regimen_text_and_patient_equals_the_api(run_cli, tmp_path):
    out = tmp_path / "pembro.csv"
    res = run_cli("simulate", "io_qsp", "--regimen", PEMBRO, "--patient", PATIENT, "--t-end", "84", "--out", out)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    api = simulate_treatment("io_qsp", PEMBRO, _cov(), np.arange(0.0, 85.0)).result.to_frame()
    for col in ("time", "Cs", "TE", "Ab_PD1_1"):
        np.testing.assert_allclose(got[col].to_numpy(float), api[col].to_numpy(float), rtol=1e-12, err_msg=col)
    # The anti-PD-1 slot received the doses: drug present after day 0, troughs before each dose.
    assert got.loc[got["time"] == 20, "Ab_PD1_1"].item() > 0


def test_simulate_treatment_plot_is_written(run_cli, tmp_path):
    png = tmp_path / "pembro.png"
    res = run_cli(
        "simulate",
        "io_qsp",
        "--regimen",
        PEMBRO,
        "--patient",
        PATIENT,
        "--t-end",
        "42",
        "--plot",
        png,
        "--out",
        tmp_path / "t.csv",
    )
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_compare_tabulates_each_regimen_and_draws_them(run_cli, tmp_path):
    png, csv = tmp_path / "cmp.png", tmp_path / "cmp.csv"
    res = run_cli(
        "compare",
        "--patient",
        PATIENT,
        "--t-end",
        "182",
        "--plot",
        png,
        "--out",
        csv,
        "--regimens",
        "none",
        PEMBRO,
        "docetaxel 75 mg/m2 q3w x4",
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(csv)
    assert table["regimen"].tolist() == ["none", PEMBRO, "docetaxel 75 mg/m2 q3w x4"]
    assert np.allclose(table["sld_baseline_mm"], 74.0)
    # Same numbers as the API for the pembrolizumab arm.
    api = simulate_treatment("io_qsp", PEMBRO, _cov(), np.arange(0.0, 183.0)).outputs()["sld_mm"][0]
    row = table.set_index("regimen").loc[PEMBRO]
    assert row["sld_day182_mm"] == pytest.approx(api[-1], rel=1e-9)
    assert row["sld_nadir_mm"] == pytest.approx(api.min(), rel=1e-9)
    # Treatment beats no treatment at the horizon for this PD-L1-high patient.
    untreated = table.set_index("regimen").loc["none"]
    assert row["sld_day182_mm"] < untreated["sld_day182_mm"]
    assert png.stat().st_size > 20_000
    assert "not medical advice" in res.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--regimen", "nivolumab 3 q2w"], "--regimen"),
        (["--regimen", "unobtainium 3 mg q2w"], "unobtainium"),
        (["--regimen", "nivolumab 3 IU/kg q2w"], "unit"),
        (["--regimen", "nivolumab -3 mg/kg q2w"], "--regimen"),
        (["--regimen", PEMBRO, "--patient", "weight=70,pdl1=60"], "pdl1"),
        (["--regimen", PEMBRO, "--patient", "weight=seventy"], "weight"),
        (["--regimen", PEMBRO, "--patient", "wieght=70"], "wieght"),
        (["--regimen", "carboplatin AUC 5 q3w", "--patient", "weight=70,sex=female"], "serum_creatinine"),
        (["--regimen", PEMBRO, "--set", "pembrolizumb:KD=1"], "pembrolizumb"),
        (["--regimen", PEMBRO, "--set", "pembrolizumab:EmaxT=1"], "EmaxT"),
        (["--regimen", PEMBRO, "--set", "pembrolizumab:KD=-1"], "pembrolizumab:KD"),
        (["--regimen", PEMBRO, "--set", "nivolumab:KD=1"], "drug of the regimen"),
    ],
)
def test_bad_regimen_or_covariate_is_a_one_line_error_and_writes_nothing(run_cli, tmp_path, args, fragment):
    out = tmp_path / "never.csv"
    res = run_cli("simulate", "io_qsp", *args, "--t-end", "10", "--out", out)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert fragment in lines[0]
    assert not out.exists()


def test_set_changes_a_drugs_parameter_in_the_slot_it_takes(run_cli, tmp_path):
    cells = {}
    for kd in ("0.05", "500"):  # nM: tight binding vs a weak binder that leaves PD-1 mostly free
        out = tmp_path / f"kd{kd}.csv"
        res = run_cli("simulate", "io_qsp", "--regimen", PEMBRO, "--patient", PATIENT, "--set", f"pembrolizumab:KD={kd}",
                      "--times", "0,84", "--out", out)  # fmt: skip
        assert res.exit_code == 0, res.output
        cells[kd] = pd.read_csv(out)["Cs"].iloc[-1]
    assert cells["0.05"] < 0.95 * cells["500"]  # the tight binder leaves fewer cancer cells at day 84


def test_drug_regimen_on_a_model_without_dose_slots_is_an_error(run_cli):
    res = run_cli("simulate", "kirschner_panetta_1998", "--regimen", PEMBRO, "--t-end", "10")
    assert res.exit_code == 2
    assert "dose slots" in res.output


def test_csv_output_is_readable_without_a_file(run_cli):
    res = run_cli("simulate", "io_qsp", "--regimen", PEMBRO, "--patient", PATIENT, "--times", "0,21,42")
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(io.StringIO(res.stdout))
    assert frame["time"].tolist() == [0.0, 21.0, 42.0]


def test_compare_with_a_bad_regimen_is_a_one_line_error(run_cli, tmp_path):
    png = tmp_path / "never.png"
    res = run_cli("compare", "--patient", PATIENT, "--plot", png, "--regimens", PEMBRO, "pembrolizumab 200 q3w")
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "--regimen" in lines[0]
    assert not png.exists()
