"""`oncoimmune simulate` on Kirschner–Panetta 1998: the table it writes equals the Python API's.

Reference values: /work/shared/reference/models.md §1.7, regression time course from the
curated-SBML initial values (E, T, IL) = (0, 1, 0) with c = 0.035 (the model's defaults).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oncoimmune
from oncoimmune import Regimen

KP = "kirschner_panetta_1998"
COLUMNS = ["patient_id", "time", "E", "T", "IL", "status"]
TIMES = "0,25,50,100,150"
REGIMEN = Path(__file__).resolve().parents[2] / "examples" / "regimens" / "kp_aci_il2.yaml"


def _direct(**kwargs) -> pd.DataFrame:
    return oncoimmune.simulate(KP, **kwargs).to_frame()


def _assert_same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == COLUMNS
    assert got["patient_id"].astype(str).tolist() == want["patient_id"].astype(str).tolist()
    assert got["status"].tolist() == want["status"].tolist()
    # Written with 17 significant digits, so the values round-trip exactly.
    for col in ("time", "E", "T", "IL"):
        np.testing.assert_array_equal(got[col].to_numpy(float), want[col].to_numpy(float), err_msg=col)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_simulate_writes_tidy_table_equal_to_api(run_cli, tmp_path, suffix):
    out = tmp_path / f"kp{suffix}"
    res = run_cli("simulate", KP, "--times", TIMES, "--out", out)
    assert res.exit_code == 0, res.output
    assert res.stdout == ""  # the table went to the file
    got = pd.read_csv(out, float_precision="round_trip") if suffix == ".csv" else pd.read_parquet(out)
    assert len(got) == 5  # one patient x five times
    assert set(got["status"]) == {"ok"}
    want = _direct(times=[0, 25, 50, 100, 150])
    _assert_same_table(got, want)
    # models.md §1.7: T(150) = 618.37 cells (5 significant digits; solver rtol 1e-6).
    t150 = got.loc[got["time"] == 150, "T"].item()
    assert t150 == pytest.approx(618.37, rel=1e-4)


def test_simulate_prints_csv_on_stdout_without_out(run_cli):
    res = run_cli("simulate", KP, "--times", TIMES)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(io.StringIO(res.stdout), float_precision="round_trip")
    _assert_same_table(got, _direct(times=[0, 25, 50, 100, 150]))


def test_t_end_gives_daily_output(run_cli):
    res = run_cli("simulate", KP, "--t-end", "30")
    assert res.exit_code == 0, res.output
    got = pd.read_csv(io.StringIO(res.stdout), float_precision="round_trip")
    np.testing.assert_array_equal(got["time"].to_numpy(), np.arange(31.0))
    _assert_same_table(got, _direct(t_end=30.0))


def test_set_init_variant_and_tolerances_are_passed_to_simulate(run_cli):
    options = "--variant sbml --set c=0.02 --set mu2=0.031 --init T=5 --init E=10 --rtol 1e-8 --atol 1e-10"
    res = run_cli("simulate", KP, *options.split(), "--times", TIMES)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(io.StringIO(res.stdout), float_precision="round_trip")
    want = _direct(
        variant="sbml",
        params={"c": 0.02, "mu2": 0.031},
        init={"T": 5.0, "E": 10.0},
        rtol=1e-8,
        atol=1e-10,
        times=[0, 25, 50, 100, 150],
    )
    _assert_same_table(got, want)
    assert got["T"].iloc[0] == 5.0 and got["E"].iloc[0] == 10.0


def test_method_is_passed_to_simulate(run_cli):
    res = run_cli("simulate", KP, "--method", "radau9", "--rtol", "1e-5", "--times", TIMES)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(io.StringIO(res.stdout), float_precision="round_trip")
    _assert_same_table(got, _direct(method="radau9", rtol=1e-5, times=[0, 25, 50, 100, 150]))
    # a different integrator, not the default one under another name
    default = _direct(rtol=1e-5, times=[0, 25, 50, 100, 150])
    assert not np.array_equal(got["T"].to_numpy(), default["T"].to_numpy())
    np.testing.assert_allclose(got["T"].to_numpy(), default["T"].to_numpy(), rtol=1e-3)


def test_bolus_adds_the_amount_at_the_dose_day(run_cli):
    times = "0,9.5,10,11"
    plain = pd.read_csv(io.StringIO(run_cli("simulate", KP, "--times", times).stdout), float_precision="round_trip")
    res = run_cli("simulate", KP, "--times", times, "--bolus", "E=1e4@10")
    assert res.exit_code == 0, res.output
    dosed = pd.read_csv(io.StringIO(res.stdout), float_precision="round_trip")
    # Before the dose the two runs are the same trajectory (solver tolerance rtol 1e-6).
    np.testing.assert_allclose(dosed[["E", "T", "IL"]].iloc[:2], plain[["E", "T", "IL"]].iloc[:2], rtol=1e-6)
    # Outputs at a dose time are after the dose: E(10) jumps by exactly the amount given.
    jump = dosed["E"].iloc[2] - plain["E"].iloc[2]
    assert jump == pytest.approx(1e4, rel=1e-6)
    # A day later the extra effector cells are still there (mu2 = 0.03/day decay only).
    assert dosed["E"].iloc[3] > plain["E"].iloc[3] + 0.9e4
    want = _direct(times=[0, 9.5, 10, 11], regimen=Regimen((oncoimmune.Bolus("E", 1e4, (10.0,)),)))
    _assert_same_table(dosed, want)


def test_bolus_with_several_days(run_cli):
    res = run_cli("simulate", KP, "--times", "0,5,10,15", "--bolus", "T=100@5,10", "--bolus", "E=1@0")
    assert res.exit_code == 0, res.output
    got = pd.read_csv(io.StringIO(res.stdout), float_precision="round_trip")
    regimen = Regimen((oncoimmune.Bolus("T", 100.0, (5.0, 10.0)), oncoimmune.Bolus("E", 1.0, (0.0,))))
    _assert_same_table(got, _direct(times=[0, 5, 10, 15], regimen=regimen))
    assert got["E"].iloc[0] == 1.0  # a dose at day 0 is in the day-0 output


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_patients_table_gives_one_id_per_row(run_cli, tmp_path, suffix):
    table = pd.DataFrame({"patient_id": ["p1", "p2", "p3"], "c": [0.02, 0.03, 0.035], "init.T": [1.0, 10.0, 100.0]})
    path = tmp_path / f"patients{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path, index=False)
    res = run_cli("simulate", KP, "--patients", path, "--times", TIMES)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(io.StringIO(res.stdout), float_precision="round_trip")
    assert got["patient_id"].unique().tolist() == ["p1", "p2", "p3"]
    assert got.groupby("patient_id").size().tolist() == [5, 5, 5]
    _assert_same_table(got, _direct(patients=table, times=[0, 25, 50, 100, 150]))


def test_patients_without_id_column_are_numbered(run_cli, tmp_path):
    path = tmp_path / "patients.csv"
    path.write_text("c\n0.02\n0.03\n", encoding="utf-8")
    res = run_cli("simulate", KP, "--patients", path, "--times", "0,10")
    assert res.exit_code == 0, res.output
    got = pd.read_csv(io.StringIO(res.stdout), float_precision="round_trip")
    assert got["patient_id"].tolist() == [0, 0, 1, 1]


def test_regimen_example_file(run_cli, tmp_path):
    """examples/regimens/kp_aci_il2.yaml: ACI (s1) + IL-2 (s2) inputs, applied as the API applies them."""
    out = tmp_path / "aci.csv"
    res = run_cli("simulate", KP, "--regimen", REGIMEN, "--times", "0,50,100,200,300", "--out", out)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, float_precision="round_trip")
    regimen = Regimen.from_yaml(REGIMEN)
    assert {d.target for d in regimen.doses} == {"s1", "s2"}
    _assert_same_table(got, _direct(regimen=regimen, times=[0, 50, 100, 200, 300]))
    untreated = _direct(times=[0, 50, 100, 200, 300])
    # 550 effector cells/day from day 0: E(50) is above the untreated E(50) = 1299 cells (models.md §1.7).
    assert got["E"].iloc[1] > untreated["E"].iloc[1] + 1000.0


def test_regimen_and_bolus_combine(run_cli):
    res = run_cli("simulate", KP, "--regimen", REGIMEN, "--bolus", "E=1e3@20", "--times", "0,20,40")
    assert res.exit_code == 0, res.output
    got = pd.read_csv(io.StringIO(res.stdout), float_precision="round_trip")
    regimen = Regimen.from_yaml(REGIMEN)
    regimen = Regimen((*regimen.doses, oncoimmune.Bolus("E", 1e3, (20.0,))))
    _assert_same_table(got, _direct(regimen=regimen, times=[0, 20, 40]))
