"""`oncoimmune models`, `oncoimmune show` and `oncoimmune --version`."""

from __future__ import annotations

import json
import math

import oncoimmune
from oncoimmune.models import get_model

KP = "kirschner_panetta_1998"


def test_version(run_cli):
    res = run_cli("--version")
    assert res.exit_code == 0
    assert res.stdout.strip() == f"oncoimmune {oncoimmune.__version__}"


def test_models_lists_every_registered_model_with_its_states(run_cli):
    res = run_cli("models")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    for name, model in oncoimmune.registry().items():
        row = [line for line in lines if f" {name} " in line]
        assert row, f"{name} missing from `oncoimmune models`"
        assert ", ".join(model.state_names) in row[0]
    kp_row = next(line for line in lines if f" {KP} " in line)
    assert "E, T, IL" in kp_row and "Kirschner D, Panetta JC" in kp_row


def test_models_json_is_machine_readable(run_cli):
    res = run_cli("models", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [d["name"] for d in data] == list(oncoimmune.registry())
    kp = next(d for d in data if d["name"] == KP)
    assert kp["states"] == ["E", "T", "IL"]
    assert kp["citation"] == get_model(KP).citation


def test_show_prints_units_sources_states_variants_and_initial_values(run_cli):
    res = run_cli("show", KP)
    assert res.exit_code == 0, res.output
    out = res.stdout
    model = get_model(KP)
    for p in model.parameters:
        row = next(line for line in out.splitlines() if line.startswith(f"│ {p.name} "))
        assert p.unit in row and p.source in row, row
    for s in model.states:
        assert s.description in out
    assert "sbml_form: 0 -> 1" in out  # the 'sbml' variant and the value it changes
    assert model.init_source in out


def test_show_json_matches_the_model_declaration(run_cli):
    res = run_cli("show", KP, "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    model = get_model(KP)
    assert [(s["name"], s["unit"], s["log"]) for s in data["states"]] == [(s.name, s.unit, s.log) for s in model.states]
    assert data["states"][2]["log"] is False  # IL-2 is integrated as it is, E and T in log space
    for got, p in zip(data["parameters"], model.parameters, strict=True):
        lo, hi = p.bounds
        assert (got["name"], got["value"], got["unit"], got["source"], got["input"]) == (
            p.name,
            p.value,
            p.unit,
            p.source,
            p.input,
        )
        assert got["bounds"] == [lo, None if math.isinf(hi) else hi]
    sbml = next(v for v in data["variants"] if v["name"] == "sbml")
    assert sbml["parameters"] == {"sbml_form": {"default": 0.0, "value": 1.0}}
    assert data["init"]["values"] == {"E": 0.0, "T": 1.0, "IL": 0.0}
    assert data["init"]["source"] == model.init_source


def test_show_unknown_model_is_one_line_error(run_cli):
    res = run_cli("show", "no_such_model")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.count("\n") == 1
    assert res.stderr.startswith("error: The 'model' parameter must be one of [")
    assert "Got 'no_such_model'." in res.stderr
