"""Covariates: validation, body-surface area, Cockcroft–Gault and Calvert (pharmacology.md §0.1, §5.3)."""

import math

import pytest

from oncoimmune import ValidationError
from oncoimmune.treatments import BSA_FORMULAS, Covariates

STD = {"weight_kg": 70.0, "height_cm": 175.0, "age_years": 60.0, "sex": "male"}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        # Mosteller: sqrt(175*70/3600) = sqrt(3.4027778) = 1.844662
        ("mosteller", 1.844662),
        # DuBois: 0.007184 * 70^0.425 * 175^0.725 = 0.007184 * 6.083684 * 42.28658 = 1.848143
        ("dubois", 1.848143),
        # Haycock: 0.024265 * 175^0.3964 * 70^0.5378 = 0.024265 * 7.747120 * 9.824121 = 1.846776
        ("haycock", 1.846776),
        # Gehan-George: 0.0235 * 175^0.42246 * 70^0.51456 = 0.0235 * 8.863267 * 8.900484 = 1.853853
        ("gehan_george", 1.853853),
    ],
)
def test_bsa_formulas_match_hand_computed_values(formula, expected):
    # 6 significant figures: the hand computation above is carried to 7.
    assert Covariates(**STD).bsa(formula) == pytest.approx(expected, rel=2e-6)
    assert BSA_FORMULAS[formula].source


def test_mosteller_is_the_default_and_formula_names_are_checked():
    c = Covariates(**STD)
    assert c.bsa() == c.bsa("mosteller")
    assert c.bsa("Gehan-George") == c.bsa("gehan_george")
    with pytest.raises(ValidationError, match="bsa_formula"):
        c.bsa("boyd")


def test_cockcroft_gault():
    # male 60 y, 70 kg, SCr 1.0 mg/dL: (140-60)*70/(72*1.0) = 5600/72 = 77.7778 mL/min
    c = Covariates(**STD, serum_creatinine=1.0)
    assert c.creatinine_clearance() == pytest.approx(77.7778, rel=1e-6)
    # female: x 0.85 = 66.1111 mL/min
    f = Covariates(**{**STD, "sex": "female"}, serum_creatinine=1.0)
    assert f.creatinine_clearance() == pytest.approx(66.1111, rel=1e-6)
    # 88.42 umol/L = 1.0 mg/dL
    u = Covariates.with_creatinine_umol(88.42, **STD)
    assert u.creatinine_clearance() == pytest.approx(77.7778, rel=1e-6)


def test_cockcroft_gault_needs_creatinine():
    with pytest.raises(ValidationError, match="serum_creatinine"):
        Covariates(**STD).creatinine_clearance()


def test_calvert_dose_and_gfr_cap():
    c = Covariates(**STD, serum_creatinine=1.0)
    # AUC 5 x (77.7778 + 25) = 513.889 mg
    res = c.calvert_dose(5)
    assert res.dose_mg == pytest.approx(513.889, rel=1e-6)
    assert not res.capped
    # GFR 150 mL/min is capped at 125: AUC 5 x (125 + 25) = 750 mg (not 875)
    capped = c.calvert_dose(5, gfr=150)
    assert capped.dose_mg == pytest.approx(750.0) and capped.capped and capped.gfr_used == 125.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("weight_kg", 0.5),
        ("weight_kg", math.nan),
        ("height_cm", 500.0),
        ("age_years", -1.0),
        ("serum_creatinine", 50.0),
        ("albumin_g_per_l", 4.0),  # g/dL slipped in for g/L
        ("sex", "unknown"),
        ("ecog", 5),
    ],
)
def test_implausible_values_are_rejected_naming_the_field(field, value):
    kwargs = {**STD, field: value}
    with pytest.raises(ValidationError, match=f"'{field}' parameter of Covariates"):
        Covariates(**kwargs)


def test_covariates_are_immutable():
    c = Covariates(**STD, conditions={"NSCLC"})
    assert c.conditions == frozenset({"nsclc"})
    with pytest.raises(AttributeError):
        c.weight_kg = 80.0  # type: ignore[misc]
