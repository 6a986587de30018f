"""`oncoimmune drugs` and `oncoimmune drug NAME`."""

from __future__ import annotations

import json

from oncoimmune.treatments import drug_library, get_drug


def test_drugs_lists_every_drug_with_class_target_and_regimens(run_cli):
    res = run_cli("drugs")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    for name, drug in drug_library().items():
        row = next((line for line in lines if f" {name} " in line), None)
        assert row is not None, f"{name} missing"
        assert drug.drug_class in row and drug.regimens[0].text in row


def test_drugs_json(run_cli):
    res = run_cli("drugs", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [d["name"] for d in data] == list(drug_library())
    niv = next(d for d in data if d["name"] == "nivolumab")
    assert niv["class"] == "checkpoint_antibody" and niv["target"] == "PD-1"
    assert {"240 mg q2w", "480 mg q4w", "3 mg/kg q2w"} <= set(niv["regimens"])


def test_drug_shows_pk_parameters_covariates_regimens_and_pd(run_cli):
    res = run_cli("drug", "ipilimumab")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "pk_two_compartment" in out and "Feng Y et al." in out
    cl_row = next(line for line in out.splitlines() if line.startswith("│ CL0 "))
    assert "0.36" in cl_row and "L/day" in cl_row
    assert "log_ratio_power" in out and "1.13" in out  # LDH effect
    assert "3 mg/kg q3w x4" in out and "KD = 18.2 nM [V]" in out


def test_drug_by_brand_name_and_json(run_cli):
    res = run_cli("drug", "Keytruda", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["name"] == "pembrolizumab"
    params = {p["name"]: p for p in data["pk"]["parameters"]}
    assert params["CL0"]["value"] == 0.22 and params["CL0"]["unit"] == "L/day"
    assert "Ahamadi" in params["CL0"]["source"]
    assert data["pk"]["covariates"][0]["flag"] == "V"
    assert data["regimens"][0]["text"] == get_drug("pembrolizumab").regimens[0].text


def test_drug_without_pk_model_prints_its_limits(run_cli):
    res = run_cli("drug", "intravenous_immunoglobulin")
    assert res.exit_code == 0, res.output
    assert "PK model: none" in res.stdout and "Safa H" in res.stdout


def test_unknown_drug_is_one_line_error_with_exit_2(run_cli):
    res = run_cli("drug", "nivo")
    assert res.exit_code == 2
    assert res.stderr.startswith("error: The 'drug' parameter must be one of [aldesleukin, atezolizumab")
    assert len(res.stderr.strip().splitlines()) == 1
