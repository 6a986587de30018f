"""Dose units as clinics write them (oncoimmune.units)."""

import math

import pytest

from oncoimmune import UnknownNameError, ValidationError
from oncoimmune.treatments import Covariates
from oncoimmune.units import normalise_unit, to_amount

PAT = Covariates(weight_kg=70.0, height_cm=175.0, age_years=60.0, sex="male", serum_creatinine=1.0)


def test_weight_based_and_flat_doses():
    # 3 mg/kg x 70 kg = 210 mg
    a = to_amount(3, "mg/kg", PAT)
    assert a.value == pytest.approx(210.0) and a.unit == "mg" and "weight 70 kg" in a.formula
    assert to_amount(240, "mg").value == 240.0
    # 5 ug/kg x 70 kg = 350 ug = 0.35 mg
    assert to_amount(5, "ug/kg", PAT).value == pytest.approx(0.35)
    # 2 g/kg x 70 kg = 140 g
    assert to_amount(2, "g/kg", PAT, amount_unit="g").value == pytest.approx(140.0)
    # 600000 IU/kg x 70 kg = 4.2e7 IU
    assert to_amount(600000, "IU/kg", PAT, amount_unit="IU").value == pytest.approx(4.2e7)
    # CAR-T: 2e6 cells/kg x 70 kg = 1.4e8 cells
    assert to_amount(2e6, "cells/kg", PAT, amount_unit="cells").value == pytest.approx(1.4e8)


def test_bsa_based_dose_names_the_formula():
    # 375 mg/m2 x Mosteller 1.844662 m2 (70 kg, 175 cm) = 691.748 mg
    a = to_amount(375, "mg/m²", PAT)
    assert a.value == pytest.approx(691.748, rel=1e-6)
    assert "Mosteller" in a.formula
    # DuBois 1.848143 m2 -> 693.054 mg
    assert to_amount(375, "mg/m2", PAT, bsa_formula="dubois").value == pytest.approx(693.054, rel=1e-6)


def test_calvert_auc_dose():
    # AUC 5 x (Cockcroft-Gault 77.7778 + 25) = 513.889 mg
    a = to_amount(5, "AUC", PAT)
    assert a.value == pytest.approx(513.889, rel=1e-6) and "Calvert" in a.formula
    # GFR given above the cap: 5 x (125 + 25) = 750 mg
    b = to_amount(5, "AUC", None, gfr=200)
    assert b.value == pytest.approx(750.0) and "capped" in b.formula


def test_unit_spellings():
    assert normalise_unit("mg/m²") == "mg/m2"
    assert normalise_unit("µg/kg") == "ug/kg"
    assert normalise_unit(" mg / kg ") == "mg/kg"


def test_unknown_unit_is_rejected_listing_the_known_ones():
    with pytest.raises(UnknownNameError, match=r"'unit' parameter of dose must be one of \[.*mg/kg"):
        to_amount(3, "mg/lb", PAT)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "three", True])
def test_bad_amounts_are_rejected(bad):
    with pytest.raises(ValidationError, match="'amount' parameter of dose must be a finite number >= 0"):
        to_amount(bad, "mg", PAT)


def test_missing_covariates_are_named():
    with pytest.raises(ValidationError, match=r"'covariates' parameter.*mg/kg dose \(weight needed\)"):
        to_amount(3, "mg/kg")
    no_scr = Covariates(weight_kg=70.0, height_cm=175.0, age_years=60.0, sex="male")
    with pytest.raises(ValidationError, match="serum_creatinine"):
        to_amount(5, "AUC", no_scr)


def test_incompatible_kinds_are_rejected():
    with pytest.raises(ValidationError, match="be a mass unit for a drug dosed in mg"):
        to_amount(1e6, "IU", PAT, amount_unit="mg")
