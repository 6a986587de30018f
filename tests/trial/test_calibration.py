"""Calibrations (issue 4): files, their use by trial specs, and the `oncoimmune calibrate` search.

The search itself runs here on a tiny problem (a few patients, two evaluations) to check what it
writes: a calibration file that a spec can name and that reproduces, on the same patients, the
figures the file reports. Whether the shipped calibrations reproduce the published trials on other
patients is checked in tests/reference/test_trial_validation.py.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.trial import calibrations, load_calibration, run_trial, trial_spec_from_dict
from oncoimmune.trial._calibrate import (
    _loss,
    calibrate,
    evaluate_targets,
    load_calibration_problem,
    metric_value,
    write_calibration,
)

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = ROOT / "examples" / "calibration" / "checkmate067.yaml"

SMALL = {
    "name": "small melanoma trial",
    "population": {"tumour_type": "melanoma"},
    "patients": 12,
    "seed": 5,
    "arms": [{"name": "nivolumab", "regimen": "nivolumab 3 mg/kg q2w"}, {"name": "control", "regimen": "none"}],
    "scans": {"every_weeks": 8},
    "follow_up": {"months": 12},
}


def _spec(**changes):
    data = json.loads(json.dumps(SMALL))
    data.update(changes)
    return trial_spec_from_dict(data)


def test_the_checkmate067_calibration_ships_with_units_sources_and_flags():
    assert "checkmate067" in calibrations()
    cal = load_calibration("checkmate067")
    assert cal.model == "io_qsp" and cal.tumour_type == "melanoma"
    assert {"k_CT", "pdl1_tme", "k_clear", "f_e0", "nu_CTLA4"} <= set(cal.parameters)
    for name, dist in cal.parameters.items():
        assert dist.unit and dist.source and dist.flag, name
    assert cal.plausible["kg"].upper is not None and cal.plausible["kg"].source
    assert "tumour" in cal.death_model
    # a share of the lost lesion volume stays visible in a share of the patients (history item 14)
    assert 0 < cal.residual_mass["share"] < 1 and 0 < cal.residual_mass["fraction"] < 1


@pytest.mark.parametrize("name", calibrations())
def test_every_shipped_calibration_carries_units_sources_flags_and_its_provenance(name):
    from oncoimmune.trial._calibration import DEFAULT_CALIBRATIONS
    from oncoimmune.trial._validation import VALIDATION_RUNS

    assert set(DEFAULT_CALIBRATIONS.values()) <= set(calibrations())
    cal = load_calibration(name)
    for pname, dist in cal.parameters.items():
        assert dist.unit and dist.source and dist.flag, pname
    prov = cal.provenance
    # fitted on patients the validation of its spec does not use
    assert prov["seed"] != VALIDATION_RUNS[prov["spec"]].seed
    for other in prov.get("also", []):  # and so for every trial fitted jointly
        assert other["seed"] != VALIDATION_RUNS[other["spec"]].seed, other
    assert prov["evaluations"] >= 1 and prov["problem"]["name"] == name
    # the problem that produced it ships with it
    problem = load_calibration_problem(ROOT / "examples" / "calibration" / f"{name}.yaml")
    assert problem.record() == prov["problem"]


def test_a_spec_names_a_calibration_and_its_own_entries_override_it():
    from oncoimmune.trial._calibration import resolve_population

    s = _spec(
        calibration="checkmate067",
        population={"tumour_type": "melanoma", "parameters": {"k_CT": {"median": 2.0, "omega": 0.5}}},
        death_model={"tumour": {"exponent": 0.9}},
    )
    params, plausible, death, cal = resolve_population(s)
    base = load_calibration("checkmate067")
    assert params["k_CT"].median == 2.0 and params["k_CT"].omega == 0.5
    assert params["k_clear"] == base.parameters["k_clear"]
    assert death["tumour"]["exponent"] == 0.9
    assert death["tumour"]["hazard_per_day"] == base.death_model["tumour"]["hazard_per_day"]
    assert plausible == base.plausible and cal.name == "checkmate067"


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"calibration": "checkmate999"}, "calibration", UnknownNameError),
        (
            {"population": {"tumour_type": "melanoma", "parameters": {"k_XX": {"median": 1.0}}}},
            "population.parameters",
            UnknownNameError,
        ),
        (
            {"population": {"tumour_type": "melanoma", "parameters": {"k_CT": {"median": 1.0, "value": 2.0}}}},
            "population.parameters.k_CT",
            ValidationError,
        ),
        (
            {"population": {"tumour_type": "melanoma", "parameters": {"k_CT": {"median": 1e9}}}},
            "population.parameters.k_CT.median",
            ValidationError,
        ),
        (
            {"population": {"tumour_type": "melanoma", "plausible": {"kg": {"upper": -1.0, "lower": 0.0}}}},
            "population.plausible.kg",
            ValidationError,
        ),
    ],
)
def test_bad_calibration_entries_name_the_field(change, field, error):
    with pytest.raises(error, match=rf"'{field}[.'\w]*"):
        _spec(**change)


def test_a_calibration_file_with_an_unknown_key_or_bad_death_model_is_refused(tmp_path):
    good = yaml.safe_load((ROOT / "src/oncoimmune/trial/calibrations/checkmate067.yaml").read_text())
    bad = dict(good, extra={"x": 1})
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ValidationError, match=r"'extra' parameter of bad\.yaml"):
        load_calibration(tmp_path / "bad.yaml")
    worse = dict(good, death_model={"tumour": {"hazard_per_day": -1.0}})
    (tmp_path / "worse.yaml").write_text(yaml.safe_dump(worse))
    with pytest.raises(ValidationError, match=r"hazard_per_day"):
        load_calibration(str(tmp_path / "worse.yaml"))


def test_yaml_exponent_numbers_without_a_dot_or_sign_are_numbers(tmp_path):
    # PyYAML (YAML 1.1) reads 2e12 and 1.0e12 as text; every YAML the package reads takes them as numbers
    good = (ROOT / "src/oncoimmune/trial/calibrations/checkmate067.yaml").read_text()
    good += "\n"
    text = good.replace("death_model:\n", "death_model:\n  # lethal burden written the way people write it\n")
    data = yaml.safe_load(text)
    data["death_model"]["tumour"]["lethal_cells"] = "LETHAL"
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data).replace("LETHAL", "2e12"))
    cal = load_calibration(str(tmp_path / "c.yaml"))
    assert cal.death_model["tumour"]["lethal_cells"] == 2e12


def test_metrics_are_read_from_the_trial_summary():
    summary = {"arms": {"A": {"orr": 0.4, "median_pfs_months": None, "os_rate": {"36": 0.5}}}}
    assert metric_value(summary, "A", "orr") == 0.4
    assert metric_value(summary, "A", "os_rate.36") == 0.5
    assert metric_value(summary, "A", "median_pfs_months") != metric_value(summary, "A", "median_pfs_months")  # NaN
    with pytest.raises(ValidationError, match="'arm'"):
        metric_value(summary, "B", "orr")
    problem = load_calibration_problem(PROBLEM)
    rows = evaluate_targets(
        {"arms": {a: {"orr": 0.5} for a in ("nivolumab + ipilimumab", "nivolumab", "ipilimumab")}},
        [t for t in problem.targets if t.metric == "orr"],
    )
    assert [r["inside"] for r in rows] == [False, True, False]  # 0.58 +- 0.05, 0.45 +- 0.05, 0.19 +- 0.05


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["targets"][0].update(metric="orrr"), "targets.0"),
        (lambda d: d["targets"][0].update(tolerance=-1), "targets.0.tolerance"),
        (lambda d: d["stages"][0]["free"].update({"k_CT.median": {"lower": 1, "upper": 2}}), "stages"),
        (lambda d: d["stages"][0].update(targets=["os_rate.99"]), "stages"),
        (lambda d: d["stages"][0]["free"]["parameters.k_CT_CTLA4.median"].update(lower=-1.0), "stages.0.free"),
        (lambda d: d.pop("seed"), "seed"),
        (lambda d: d.update(base="no_such_calibration"), "base"),
        (
            lambda d: d["stages"][0]["free"].update({"parameters.f_e0.fraction": {"lower": 0.1, "upper": 1.5}}),
            "stages.0.free.parameters.f_e0.fraction",
        ),
        (lambda d: d["stages"][0]["free"].update({"parameters.k_CT.lower": {"lower": 1, "upper": 2}}), "stages.0.free"),
        (lambda d: d["stages"][0]["free"].update({"new_lesions": {"lower": 1e-4, "upper": 1e-2}}), "stages.0.free"),
        (
            lambda d: d["stages"][0]["free"].update({"new_lesions.speed": {"lower": 1e-4, "upper": 1e-2}}),
            "stages.0.free",
        ),
        (lambda d: d["start"].update(lesions={"rate_per_day": 0.01}), "start"),
        (
            lambda d: d["stages"][0]["free"].update({"residual_mass.scar": {"lower": 0.01, "upper": 0.1}}),
            "stages.0.free",
        ),
        (
            lambda d: d["stages"][0]["free"].update({"residual_mass.fraction": {"lower": 0.1, "upper": 1.5}}),
            "stages.0.free.residual_mass.fraction",
        ),
        (lambda d: d["start"].update(residual_mass={"share": 7}), "start.residual_mass"),
        (lambda d: d["start"].update(residual_mass=[0.05]), "start.residual_mass"),
        (lambda d: d["start"].update(new_lesions={"rate_per_day": 0.01, "speed": 1}), "start.new_lesions"),
    ],
)
def test_bad_calibration_problems_name_the_field(tmp_path, edit, field):
    data = yaml.safe_load(PROBLEM.read_text())
    edit(data)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match=rf"'{field}"):
        load_calibration_problem(path)


def test_calibrate_writes_a_file_that_reproduces_its_figures_on_the_same_patients(tmp_path):
    data = yaml.safe_load(PROBLEM.read_text())
    data.update(patients=24, seed=3)
    data["stages"] = [
        {
            "targets": ["orr"],
            "max_evaluations": 3,
            "free": {"parameters.k_CT.median": {"lower": 1.0, "upper": 50.0}},
        }
    ]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    problem = load_calibration_problem(tmp_path / "p.yaml")
    seen = []
    doc = calibrate(problem, progress=lambda done, total, loss, best: seen.append((done, total, best)))
    bests = [b for _, _, b in seen]
    assert 1 <= len(seen) <= 3 and all(a >= b for a, b in itertools.pairwise(bests))  # best loss never gets worse
    assert doc["provenance"]["evaluations"] == len(seen) and doc["provenance"]["seed"] == 3
    out = write_calibration(doc, tmp_path / "fitted.yaml")
    cal = load_calibration(str(out))
    assert cal.parameters["k_CT"].median == doc["parameters"]["k_CT"]["median"]
    # the file's figures are those of a trial on the same patients with the file as calibration
    spec = trial_spec_from_dict(
        {
            **yaml.safe_load((ROOT / "examples/trials/checkmate067_like.yaml").read_text()),
            "calibration": str(out),
            "patients": 24,
            "seed": 3,
        }
    )
    summary = run_trial(spec).summary
    for row in doc["targets"]:
        sim = metric_value(summary, row["arm"], row["metric"])
        if row["simulated"] is None:
            assert sim != sim
        else:
            assert sim == pytest.approx(row["simulated"], abs=1e-6), row


def test_the_new_lesion_rate_is_a_knob_and_the_file_carries_it(tmp_path):
    data = yaml.safe_load(PROBLEM.read_text())
    data.update(patients=24, seed=3)
    data["start"]["new_lesions"] = {"rate_per_day": 0.01}
    data["stages"] = [
        {
            "targets": ["median_pfs_months", "pfs_rate.48"],
            "max_evaluations": 3,
            "free": {"new_lesions.rate_per_day": {"lower": 0.0, "upper": 0.5, "scale": "linear"}},
        }
    ]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    journal = tmp_path / "j.jsonl"
    doc = calibrate(load_calibration_problem(tmp_path / "p.yaml"), journal=journal)
    points = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    rates = [p["values"]["new_lesions.rate_per_day"] for p in points]
    assert len(set(rates)) >= 2
    # the knob reaches the trial: more lesions, earlier progression (never later, on the same patients)
    lo, hi = (min(points, key=lambda p: p["values"]["new_lesions.rate_per_day"] * s) for s in (1, -1))
    pfs = [k for k in lo["figures"] if k.endswith(("pfs_rate.48", "median_pfs_months"))]
    assert all(hi["figures"][k] <= lo["figures"][k] for k in pfs), (lo, hi)
    assert any(hi["figures"][k] < lo["figures"][k] for k in pfs), (lo, hi)
    fitted = doc["new_lesions"]["rate_per_day"]
    assert fitted == pytest.approx(min(points, key=lambda p: p["loss"])["values"]["new_lesions.rate_per_day"], rel=1e-5)
    cal = load_calibration(str(write_calibration(doc, tmp_path / "fitted.yaml")))
    assert cal.new_lesions == {"rate_per_day": fitted}
    spec = yaml.safe_load((ROOT / "examples/trials/checkmate067_like.yaml").read_text())
    spec.update(calibration=str(tmp_path / "fitted.yaml"), patients=24, seed=3)
    summary = run_trial(trial_spec_from_dict(spec)).summary
    assert summary["provenance"]["new_lesions"]["rate_per_day"] == fitted
    for row in doc["targets"]:  # the file's figures are the trial's with the file as calibration
        sim = metric_value(summary, row["arm"], row["metric"])
        assert (sim != sim) if row["simulated"] is None else sim == pytest.approx(row["simulated"], abs=1e-6)
    # a spec's own entry overrides the calibration's
    spec["new_lesions"] = {"rate_per_day": 0.0}
    assert run_trial(trial_spec_from_dict(spec)).summary["provenance"]["new_lesions"]["rate_per_day"] == 0.0


def test_the_residual_mass_share_is_a_knob_and_the_file_carries_it(tmp_path):
    # the residue keeps cleared lesions visible: a larger share can only turn complete responses into partial
    # ones (on the same patients), and the fitted share is the file's
    data = yaml.safe_load(PROBLEM.read_text())
    data.update(patients=60, seed=3)
    data["start"]["residual_mass"] = {"share": 0.01, "fraction": 0.5}
    data["stages"] = [
        {
            "targets": ["cr"],
            "max_evaluations": 3,
            "free": {"residual_mass.share": {"lower": 0.0, "upper": 0.5, "scale": "linear"}},
        }
    ]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    journal = tmp_path / "j.jsonl"
    doc = calibrate(load_calibration_problem(tmp_path / "p.yaml"), journal=journal)
    points = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    lo, hi = (min(points, key=lambda p: p["values"]["residual_mass.share"] * s) for s in (1, -1))
    assert hi["values"]["residual_mass.share"] > 2 * lo["values"]["residual_mass.share"]
    crs = [k for k in lo["figures"] if k.endswith(": cr")]
    assert all(hi["figures"][k] <= lo["figures"][k] for k in crs) and any(
        hi["figures"][k] < lo["figures"][k] for k in crs
    )
    best = min(points, key=lambda p: p["loss"])["values"]["residual_mass.share"]
    assert doc["residual_mass"] == {"share": pytest.approx(best, rel=1e-5), "fraction": 0.5}
    cal = load_calibration(str(write_calibration(doc, tmp_path / "fitted.yaml")))
    assert cal.residual_mass["fraction"] == 0.5


def test_a_knob_on_a_new_lesion_option_the_spec_sets_is_refused(tmp_path):
    spec = yaml.safe_load((ROOT / "examples/trials/checkmate067_like.yaml").read_text())
    spec["new_lesions"] = {"rate_per_day": 0.001}  # the spec's own entry wins over any calibration's
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    data = yaml.safe_load(PROBLEM.read_text())
    data.update(spec=str(tmp_path / "spec.yaml"), patients=8, seed=3)
    data["stages"] = [
        {"targets": ["orr"], "max_evaluations": 2, "free": {"new_lesions.rate_per_day": {"lower": 1e-4, "upper": 1e-2}}}
    ]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError) as err:
        calibrate(load_calibration_problem(tmp_path / "p.yaml"))
    assert err.value.field == "stages.0.free" and "does not set itself" in str(err.value)


def test_a_drug_potency_is_a_knob_and_reaches_only_the_arm_that_gives_the_drug(tmp_path):
    data = yaml.safe_load((ROOT / "examples" / "calibration" / "keynote024.yaml").read_text())
    data.update(patients=16, seed=3)
    knob = {"lower": 0.05, "upper": 0.5}
    data["stages"] = [{"targets": ["orr"], "max_evaluations": 2, "free": {"parameters.pemetrexed:EmaxT.median": knob}}]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    doc = calibrate(load_calibration_problem(tmp_path / "p.yaml"))
    fitted = doc["parameters"]["pemetrexed:EmaxT"]["median"]
    assert knob["lower"] <= fitted <= knob["upper"]  # the start (1.3/day) is outside: the knob moved it
    cal = load_calibration(str(write_calibration(doc, tmp_path / "fitted.yaml")))
    assert cal.parameters["pemetrexed:EmaxT"].median == fitted
    spec = yaml.safe_load((ROOT / "examples/trials/keynote024.yaml").read_text())
    spec.update(calibration=str(tmp_path / "fitted.yaml"), patients=16)
    fitted_run = run_trial(trial_spec_from_dict(spec)).patients
    spec["population"]["parameters"] = {"pemetrexed:EmaxT": {"value": 20.0}}  # the spec's entry overrides the file's
    potent_run = run_trial(trial_spec_from_dict(spec)).patients
    assert (potent_run["param_pemetrexed:EmaxT"] == 20.0).all()
    change = {
        arm: (fitted_run.arm == arm, fitted_run.best_percent_change, potent_run.best_percent_change)
        for arm in ("pembrolizumab", "chemotherapy")
    }
    mask, a, b = change["pembrolizumab"]
    assert mask.any() and a[mask].equals(b[mask])  # no pemetrexed in this arm: nothing changes
    mask, a, b = change["chemotherapy"]
    assert (b[mask] < a[mask]).mean() > 0.5  # a more potent pemetrexed shrinks most tumours further


def test_a_problem_builds_on_a_base_calibration_and_fits_what_its_start_adds(tmp_path):
    """A problem with ``base`` starts from that calibration (its population and death model, as written) plus
    its own start, a partial death model overriding the base's entry by entry; the written file carries both,
    names the base, and fits a mixture's carrier fraction against a landmark rate that neither the spec nor
    the default landmarks (12, 24, 36, 60 months) report."""
    base = load_calibration("checkmate067")
    assert not 0.6 <= base.parameters["f_e0"].fraction <= 0.95  # so that a fitted value in range shows the knob acted
    problem_data = {
        "name": "on_top",
        "spec": "checkmate067_like",
        "base": "checkmate067",
        "patients": 18,
        "seed": 4,
        "start": {
            "parameters": {"k_pro": {"value": 2.0, "unit": "1/day", "source": "test", "flag": "U"}},
            "death_model": {"tumour": {"hazard_per_day": 2.0e-4}},
        },
        "targets": [{"arm": "nivolumab", "metric": "pfs_rate.30", "value": 0.31, "tolerance": 0.07}],
        "stages": [
            {
                "targets": ["pfs_rate.30"],
                "max_evaluations": 2,
                "free": {"parameters.f_e0.fraction": {"lower": 0.6, "upper": 0.95, "scale": "linear"}},
            }
        ],
    }
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(problem_data))
    doc = calibrate(load_calibration_problem(tmp_path / "p.yaml"))
    assert doc["provenance"]["base"] == "checkmate067"
    assert doc["parameters"]["k_pro"]["value"] == 2.0
    assert doc["parameters"]["k_CT"]["median"] == base.parameters["k_CT"].median
    assert "lower" not in doc["parameters"]["k_CT"]  # the base's entries as written, not with model bounds filled in
    tumour = doc["death_model"]["tumour"]
    assert tumour["hazard_per_day"] == 2.0e-4
    assert tumour["exponent"] == base.death_model["tumour"]["exponent"]
    assert tumour["lethal_cells"] == base.death_model["tumour"]["lethal_cells"]
    assert 0.6 <= doc["parameters"]["f_e0"]["fraction"] <= 0.95
    (row,) = doc["targets"]
    assert row["metric"] == "pfs_rate.30" and row["simulated"] is not None
    cal = load_calibration(str(write_calibration(doc, tmp_path / "on_top.yaml")))
    assert cal.parameters["k_pro"].value == 2.0


def _joint_problem(**changes):
    data = {
        "name": "joint",
        "spec": "brim3",
        "base": "combi_d",
        "patients": 10,
        "seed": 4,
        "targets": [{"arm": "vemurafenib", "metric": "orr", "value": 0.48, "tolerance": 0.05}],
        "also": [
            {
                "spec": "combi_v",
                "patients": 10,
                "seed": 6,
                "targets": [
                    {"arm": "vemurafenib", "metric": "orr", "value": 0.51, "tolerance": 0.05},
                    {
                        "arm": "vemurafenib",
                        "metric": "median_pfs_months",
                        "value": 7.3,
                        "tolerance": 0.25,
                        "kind": "relative",
                    },
                ],
            }
        ],
        "stages": [
            {
                "targets": ["orr"],
                "max_evaluations": 2,
                "free": {"parameters.vemurafenib:IC50.median": {"lower": 5.0, "upper": 5000.0}},
            }
        ],
    }
    data.update(changes)
    return data


def test_a_joint_problem_fits_one_population_to_several_trials(tmp_path):
    """``also`` trials run the candidate calibration too (not their specs' own), their targets add to the loss
    (a stage's metric names select them in every trial), and the file reports each row with its trial."""
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(_joint_problem()))
    doc = calibrate(load_calibration_problem(tmp_path / "p.yaml"))
    main, *others = doc["targets"]
    assert "trial" not in main and main["metric"] == "orr"
    assert [(r["trial"], r["metric"]) for r in others] == [("combi_v", "orr"), ("combi_v", "median_pfs_months")]
    assert doc["provenance"]["also"] == [{"spec": "combi_v", "patients": 10, "seed": 6}]

    # the reported loss is every trial's: the sum over all rows (median PFS not in the stage, but in the total)
    def term(r):
        scale = r["tolerance"] * (r["target"] if r["kind"] == "relative" else 1.0)
        sim = r["simulated"] if r["simulated"] is not None else 10.0 * r["target"] + 10.0 * scale
        return ((sim - r["target"]) / scale) ** 2

    assert doc["provenance"]["loss"] == pytest.approx(sum(term(r) for r in doc["targets"]), rel=1e-4)
    # the also-trial's figures are those of COMBI-v run with the fitted file on the same patients
    out = write_calibration(doc, tmp_path / "joint.yaml")
    spec = yaml.safe_load((ROOT / "examples/trials/combi_v.yaml").read_text())
    spec.update(calibration=str(out), patients=10, seed=6)
    summary = run_trial(trial_spec_from_dict(spec)).summary
    for row in others:
        sim = metric_value(summary, row["arm"], row["metric"])
        assert (sim != sim) if row["simulated"] is None else sim == pytest.approx(row["simulated"], abs=1e-6)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["also"][0].update(spec="brim3"), "also.0.spec"),  # the main spec again
        (lambda d: d["also"][0].update(seed=-1), "also.0.seed"),
        (lambda d: d["also"][0].update(targets=[]), "also.0.targets"),
        (lambda d: d["stages"][0].update(targets=["cr"]), "stages.0.targets"),  # in no trial's targets
    ],
)
def test_bad_joint_problems_name_the_field(tmp_path, edit, field):
    data = _joint_problem()
    edit(data)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match=rf"'{field}"):
        load_calibration_problem(tmp_path / "p.yaml")


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "calibration").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_problem_loads_and_names_shipped_specs(path):
    """The example problems are what a user copies: each validates and every trial it runs is a shipped spec
    (the joint braf_mek.yaml too, whose result is recorded in its header and not shipped)."""
    from oncoimmune.trial._spec import SPEC_DIR

    problem = load_calibration_problem(path)
    for spec in [problem.spec, *(a.spec for a in problem.also)]:
        assert (SPEC_DIR / f"{spec}.yaml").is_file(), spec
    assert problem.name == path.stem


def test_a_joint_trial_of_another_tumour_type_is_refused(tmp_path):
    data = _joint_problem()
    data["also"][0].update(
        spec="keynote024", targets=[{"arm": "pembrolizumab", "metric": "orr", "value": 0.45, "tolerance": 0.05}]
    )
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match=r"'also.0.spec'.*melanoma"):
        calibrate(load_calibration_problem(tmp_path / "p.yaml"))


def test_spec_targets_are_reported_as_published_vs_simulated(tmp_path):
    s = _spec(
        targets=[
            {"arm": "nivolumab", "metric": "orr", "value": 0.4, "tolerance": 0.05, "source": "a trial, V"},
            {"arm": "nivolumab", "metric": "pfs_hr", "versus": "control", "value": 0.6, "tolerance": 0.1},
            {"arm": "control", "metric": "ae.fatigue.any", "value": 0.2, "tolerance": 0.05},
        ]
    )
    result = run_trial(s)
    rows = result.summary["targets"]
    arms = result.summary["arms"]
    assert [r["metric"] for r in rows] == ["orr", "pfs_hr", "ae.fatigue.any"]
    assert rows[0]["simulated"] == pytest.approx(arms["nivolumab"]["orr"], abs=1e-6)  # rounded to 6 places
    assert rows[1]["simulated"] == pytest.approx(arms["nivolumab"]["pfs_hr_vs"]["control"], abs=1e-6)
    assert rows[2]["simulated"] == pytest.approx(arms["control"]["ae"]["fatigue"]["any"], abs=1e-6)
    for r in rows:
        assert r["inside"] == (abs(r["simulated"] - r["target"]) <= r["tolerance"] + 1e-12)
    result.write(tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "Published vs simulated" in page and "a trial, V" in page
    with pytest.raises(ValidationError, match=r"'targets\[0\]\.arm'"):
        _spec(targets=[{"arm": "nobody", "metric": "orr", "value": 0.4, "tolerance": 0.05}])
    with pytest.raises(ValidationError, match=r"'targets\[0\]'.*needs versus"):
        _spec(targets=[{"arm": "nivolumab", "metric": "pfs_hr", "value": 0.4, "tolerance": 0.05}])


def test_a_journal_resumes_a_stopped_search_on_the_same_path(tmp_path, monkeypatch):
    data = yaml.safe_load(PROBLEM.read_text())
    data.update(patients=16, seed=5)
    knobs = {"parameters.k_CT.median": {"lower": 1.0, "upper": 50.0}}
    data["stages"] = [{"targets": ["orr"], "max_evaluations": 5, "free": knobs}]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    problem = load_calibration_problem(tmp_path / "p.yaml")
    full = calibrate(problem, journal=tmp_path / "full.jsonl")
    written = (tmp_path / "full.jsonl").read_text().splitlines()
    rows = [json.loads(ln) for ln in written[1:]]
    assert len(rows) >= 4 and {r["stage"] for r in rows} == {0}
    # the same search killed after three evaluations, while writing the fourth line
    journal = tmp_path / "search.jsonl"
    journal.write_text("\n".join(written[:4]) + "\n" + written[4][:20])
    import oncoimmune.trial._run as run_module

    runs = []
    real = run_module.run_trial
    monkeypatch.setattr(run_module, "run_trial", lambda *a, **k: runs.append(1) or real(*a, **k))
    resumed = calibrate(problem, journal=journal)
    # it follows the same path: the same points with the same losses, written once each, the cut line gone
    assert journal.read_text().splitlines() == written
    assert resumed["parameters"]["k_CT"] == full["parameters"]["k_CT"]
    assert resumed["targets"] == full["targets"] and resumed["provenance"]["loss"] == full["provenance"]["loss"]
    # the three journaled evaluations were read back, not re-run (the best one's trial runs once more for
    # the result's figures if it is among them)
    best = min(range(len(rows)), key=lambda i: rows[i]["loss"])
    assert len(runs) == len(rows) - 3 + (best < 3)
    # a journal of another search is refused, naming the field and the rule
    other = {**data, "seed": 6}
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other))
    with pytest.raises(ValidationError, match=r"'journal'.*belong to this problem"):
        calibrate(load_calibration_problem(tmp_path / "other.yaml"), journal=journal)
    (tmp_path / "bad.jsonl").write_text(written[0] + "\nnot json\n")
    with pytest.raises(ValidationError, match=r"'journal'.*one evaluation per line.*line 2"):
        calibrate(problem, journal=tmp_path / "bad.jsonl")


def test_a_later_stage_scores_its_start_on_its_own_targets(tmp_path, monkeypatch):
    # stage 1 starts on stage 0's best point: its trials are not run again, but that point is scored on
    # stage 1's targets (survival), not given stage 0's loss (responses), which would pin the search to it
    data = yaml.safe_load(PROBLEM.read_text())
    data.update(patients=16, seed=7)
    data["stages"] = [
        {"targets": ["orr"], "max_evaluations": 3, "free": {"parameters.k_CT.median": {"lower": 1.0, "upper": 50.0}}},
        {
            "targets": ["os_rate.24"],
            "max_evaluations": 3,
            "free": {"death_model.tumour.hazard_per_day": {"lower": 1e-6, "upper": 1e-2}},
        },
    ]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    problem = load_calibration_problem(tmp_path / "p.yaml")
    import oncoimmune.trial._run as run_module

    summaries = []
    real = run_module.run_trial

    def recording(*a, **k):
        res = real(*a, **k)
        summaries.append(res.summary)
        return res

    monkeypatch.setattr(run_module, "run_trial", recording)
    seen = []
    calibrate(problem, progress=lambda done, total, loss, best: seen.append(loss))
    stage0 = seen[:3]
    best0 = int(np.argmin(stage0))
    # the trial of stage 0's best point, in the order the points were first run (stage 0 has no repeats here)
    assert len(summaries) == 3 + 2  # stage 1's start reused, its two other points run
    os_targets = [t for t in problem.targets if t.metric == "os_rate.24"]
    expected, _ = _loss(summaries[best0], os_targets)
    assert seen[3] == pytest.approx(expected)
    assert seen[3] != pytest.approx(stage0[best0])


def test_a_journal_file_is_checked_before_anything_is_cut_and_an_empty_one_is_new(tmp_path):
    from oncoimmune.trial._calibrate import _journal_header, _open_journal

    digest = "ab" * 32
    header = _journal_header("p", digest)
    # no file, an empty file, a header cut short: a new journal, with its header
    for text in (None, "", header[:17]):
        path = tmp_path / "j.jsonl"
        path.unlink(missing_ok=True)
        if text is not None:
            path.write_text(text)
        assert _open_journal(path, digest, "p") == {}
        assert path.read_text() == header
    # a file that is not a journal is refused and left as it was, a cut last line included
    other = tmp_path / "notes.jsonl"
    other.write_text("a,b\n1,2")
    with pytest.raises(ValidationError, match=r"'journal'.*written by `oncoimmune calibrate`"):
        _open_journal(other, digest, "p")
    assert other.read_text() == "a,b\n1,2"
    other.write_bytes(b"\xff\xfe binary")
    with pytest.raises(ValidationError, match="'journal'"):
        _open_journal(other, digest, "p")
    # another problem's journal: refused and left as it was
    mine = tmp_path / "mine.jsonl"
    mine.write_text(_journal_header("q", "cd" * 32) + '{"point": "x", "loss": 1.0, "figures": {}}\n{"poi')
    before = mine.read_text()
    with pytest.raises(ValidationError, match=r"'journal'.*belong to this problem"):
        _open_journal(mine, digest, "p")
    assert mine.read_text() == before
    # this problem's journal: a figure the trial could not give (null) reads back as NaN
    mine.write_text(header + '{"point": "x", "loss": 2.5, "figures": {"a/orr": 0.4, "a/median": null}}\n{"poi')
    got = _open_journal(mine, digest, "p")
    assert got["x"][0] == 2.5 and got["x"][1]["a/orr"] == 0.4 and np.isnan(got["x"][1]["a/median"])
    assert mine.read_text().endswith("null}}\n")  # the cut line dropped once the header was checked
