"""`oncoimmune predict` (issue 4): per-therapy probabilities for one profile, with intervals.

Small cohorts (a handful of virtual patients) check the structure and the invariants; the
numbers themselves await the calibration of the model and are not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.trial._predict import BRAF_OPTIONS, DEFAULT_THERAPIES, check_profile, predict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "profiles" / "melanoma_pdl1_high.yaml"
PROFILE = {"tumour_type": "melanoma", "pdl1": 0.6, "tmb": 15.0, "age_years": 58.0, "sex": "female"}


@pytest.fixture(scope="module")
def two_options():
    return predict(PROFILE, therapies=["pembrolizumab", "dacarbazine"], samples=6, seed=3)


def test_each_option_reports_probabilities_with_intervals(two_options):
    assert list(two_options.options) == ["pembrolizumab", "dacarbazine"]
    for name, o in two_options.options.items():
        assert o["n"] == 6 and o["regimen"] == DEFAULT_THERAPIES["melanoma"][name]
        for key in ("objective_response", "grade3plus_adverse_event", "fatigue", "joint_pain", "digestive_troubles"):
            p, (lo, hi) = o[key]["p"], o[key]["ci95"]
            assert 0.0 <= lo <= p <= hi <= 1.0, (name, key)
            assert hi - lo > 0.2  # six patients cannot give a narrow interval (Wilson)
    doc = two_options.to_json()
    json.dumps(doc, allow_nan=False)
    assert "not a prediction for a real person" in doc["disclaimer"]


def test_every_option_is_given_to_the_same_virtual_patients_compatible_with_the_profile(two_options):
    a, b = (two_options.trials[n].patients for n in ("pembrolizumab", "dacarbazine"))
    cols = ["patient_id", "age_years", "weight_kg", "tmb", "pdl1", "tumour_burden_mm"]
    assert a[cols].equals(b[cols])
    assert (a["pdl1"] == 0.6).all() and (a["tmb"] == 15.0).all() and (a["sex"] == "female").all()


def test_braf_mek_is_an_option_only_with_the_mutation():
    assert "dabrafenib + trametinib" not in DEFAULT_THERAPIES["melanoma"]
    with pytest.raises(ValidationError) as err:
        predict(PROFILE, therapies=list(BRAF_OPTIONS), samples=2)
    assert err.value.field == "therapies"


def test_braf_mek_runs_on_its_own_calibration_with_the_same_patients():
    braf = {**PROFILE, "braf_v600": True}
    res = predict(braf, therapies=["dabrafenib + trametinib", "pembrolizumab"], samples=4, seed=3)
    targeted, pembro = res.options["dabrafenib + trametinib"], res.options["pembrolizumab"]
    # BRAF/MEK inhibition is fitted to COMBI-d, BRIM-3 and COMBI-v (docs/validation.md); the immunotherapy keeps
    # CheckMate 067's
    assert (targeted["calibration"], pembro["calibration"]) == ("braf_mek", "checkmate067")
    assert res.trials["dabrafenib + trametinib"].spec.treatment.oral_input == "continuous"
    assert "'braf_mek' calibration" in res.to_json()["uncertainty"]
    cols = ["patient_id", "age_years", "weight_kg", "tmb", "pdl1", "tumour_burden_mm"]
    a, b = (res.trials[n].patients for n in res.options)
    assert a[cols].equals(b[cols])


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"pdl1": 0.5}, "tumour_type"),
        ({"tumour_type": "glioma"}, "tumour_type"),
        ({"tumour_type": "melanoma", "pdl2": 0.5}, "profile key"),
        ({"tumour_type": "melanoma", "braf_v600": "yes"}, "braf_v600"),
    ],
)
def test_bad_profile_names_the_field(profile, field):
    with pytest.raises((ValidationError, UnknownNameError)) as err:
        check_profile(profile)
    assert err.value.field == field


def test_predict_command_prints_json(run_cli):
    res = run_cli("predict", EXAMPLE, "--therapies", "pembrolizumab", "--samples", "4", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert list(doc["options"]) == ["pembrolizumab"] and doc["profile"]["braf_v600"] is True


def test_predict_command_bad_samples(run_cli):
    res = run_cli("predict", EXAMPLE, "--samples", "0")
    assert res.exit_code == 2 and "--samples" in res.output
