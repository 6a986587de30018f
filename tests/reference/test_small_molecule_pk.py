"""Chemotherapy and targeted small molecules: the drug files' PK against published values.

Path under test: drug file -> ``Drug.simulate_pk`` (route, infusion or depot bolus with lag, cyclic
schedules) -> ``simulate("pk_compartmental")`` -> C = A1/V1 (mg/L). Published targets are from
pharmacology.md §5 (labels and popPK papers; flags as stated there).

Tolerances. A typical-patient model is compared with label means from other studies; labels
report 30-50 % inter-patient CV on clearance, so agreement within 20 % is what a correct
encoding of a published popPK model can be expected to show against an independent study
(stated per test). Analytic checks of the equations use 1e-6.
Dose in mg for chemotherapy label comparisons: mg/m2 x 1.8 m2 (UK chemotherapy cohort mean BSA
1.79 m2, Sacco 2010, pharmacology.md §0.2), because the label tables do not state their BSA.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from oncoimmune import ValidationError, get_model, simulate
from oncoimmune.treatments import Bolus, Covariates, Regimen, drug_library, get_drug, load_drug_file
from oncoimmune.treatments._drugs import DRUG_DIR

NEW_DRUGS = (
    "dacarbazine",
    "docetaxel",
    "carboplatin",
    "paclitaxel",
    "pemetrexed",
    "vemurafenib",
    "dabrafenib",
    "trametinib",
    "sunitinib",
)
BSA = 1.8  # m2, see module docstring
CROSS_STUDY = 0.20  # relative tolerance typical model vs label mean, see module docstring


def _fine(t_end: float, step_h: float = 0.05) -> np.ndarray:
    return np.linspace(0.0, t_end, round(t_end * 24 / step_h) + 1)


def _auc_mg_h_per_l(t_days: np.ndarray, c: np.ndarray) -> float:
    return float(np.trapezoid(c, t_days) * 24.0)


def _terminal_half_life_h(t_days: np.ndarray, c: np.ndarray, t1: float, t2: float) -> float:
    i1, i2 = np.argmin(abs(t_days - t1)), np.argmin(abs(t_days - t2))
    return float(math.log(2) * (t_days[i2] - t_days[i1]) * 24.0 / math.log(c[i1] / c[i2]))


# -- the model's equations (analytic) --------------------------------------------------------


def test_oral_one_compartment_is_the_bateman_function_scaled_by_f():
    # C(t) = F D ka / (V (ka - k)) (exp(-k t) - exp(-ka t)), k = CL/V: the classic solution for a
    # depot bolus; checks the depot route and that F scales what reaches the central compartment.
    m = get_model("pk_compartmental")
    p = {"ka": 24.0, "F": 0.7, "CL": 50.0, "V1": 100.0, "Q2": 0.0}
    t = np.linspace(0.0, 3.0, 37)
    res = simulate(m, {k: [v] for k, v in p.items()}, Regimen((Bolus("Ad", 100.0, (0.0,)),)), t, rtol=1e-10, atol=1e-12)
    k = p["CL"] / p["V1"]
    want = p["F"] * 100.0 * p["ka"] / (p["V1"] * (p["ka"] - k)) * (np.exp(-k * t) - np.exp(-p["ka"] * t))
    np.testing.assert_allclose(res["A1"][0] / p["V1"], want, rtol=1e-6, atol=1e-12)


def test_time_dependent_clearance_follows_the_induction_integral():
    # IV bolus, one compartment, CL(t) = CL (1 + E (1 - exp(-k t))):
    # ln(A/A0) = -(CL/V) [(1 + E) t - E (1 - exp(-k t)) / k]   (integral of the rate)
    m = get_model("pk_compartmental")
    p = {"CL": 17.0 * 24, "V1": 70.0, "Q2": 0.0, "Eind": 1.0, "kind": 0.2}
    t = np.linspace(0.0, 2.0, 25)
    res = simulate(m, {k: [v] for k, v in p.items()}, Regimen((Bolus("A1", 150.0, (0.0,)),)), t, rtol=1e-10, atol=1e-14)
    e, kk = p["Eind"], p["kind"]
    want = 150.0 * np.exp(-(p["CL"] / p["V1"]) * ((1 + e) * t - e * (1 - np.exp(-kk * t)) / kk))
    np.testing.assert_allclose(res["A1"][0], want, rtol=1e-6, atol=1e-12)


# -- IV chemotherapy -------------------------------------------------------------------------


def test_docetaxel_single_dose_against_label():
    # Swiss Fachinformation (pharmacology.md §5.2, V): 100 mg/m2 over 1 h -> Cmax 3.7 ug/mL,
    # AUC 4.6 ug*h/mL; t1/2 gamma 11.1 h with sampling to ~24 h, and about 5-fold longer with later
    # sampling (Baker 2004, V). Netterberg 2017 file: typical Cmax ~3 mg/L after 100 mg/m2.
    doc = get_drug("docetaxel")
    t = np.concatenate([_fine(1.0, 0.01), np.linspace(1.0, 8.0, 337)[1:]])
    sim = doc.simulate_pk(100 * BSA, "mg", interval_days=21, n_doses=1, times=t)
    c = sim.concentration[0]
    assert c.max() == pytest.approx(3.0, rel=0.10)  # Netterberg typical Cmax (same model family)
    # The label mean Cmax (3.7) is 21 % above the model (2.92): outside CROSS_STUDY, a documented
    # deviation of the Koolen model (docetaxel.yaml, not_included), deliberately not asserted.
    assert _auc_mg_h_per_l(t, c) == pytest.approx(4.6, rel=CROSS_STUDY)  # label AUC; model 4.08 (-11 %)
    t_half = _terminal_half_life_h(t, c, 4.0, 8.0)
    assert 11.1 < t_half < 5 * 11.1  # between the label's short-sampling and Baker's long-sampling value


def test_carboplatin_calvert_dose_for_a_stated_patient():
    # Calvert: dose = AUC x (GFR + 25); Cockcroft-Gault for a 60-year-old 70 kg man with serum
    # creatinine 1.0 mg/dL: (140 - 60) x 70 / 72 = 77.78 mL/min -> AUC 5: 5 x 102.78 = 513.9 mg
    # (pharmacology.md §0.1 and §5.3).
    carbo = get_drug("carboplatin")
    cov = Covariates(weight_kg=70, height_cm=175, age_years=60, sex="male", serum_creatinine=1.0)
    amount = carbo.dose_amount(5, "AUC", cov)
    assert amount.value == pytest.approx(5 * ((140 - 60) * 70 / 72 + 25), rel=1e-12)
    assert amount.value == pytest.approx(513.89, abs=0.01)
    assert "Calvert" in amount.formula


def test_carboplatin_calvert_dose_reaches_its_target_auc():
    # A patient with CrCl 120 mL/min (near the Ekhart cohort median 126) dosed "AUC 5" gets a free
    # carboplatin AUC close to 5 mg/mL*min: Ekhart's CL (8.38 L/h at 126 mL/min) is within 7.5 % of
    # Calvert's GFR + 25 (9.06 L/h), so 10 % is the agreement the two published relations allow.
    carbo = get_drug("carboplatin")
    cov = Covariates(weight_kg=75, height_cm=175, age_years=60, sex="male", serum_creatinine=80 * 75 / (72 * 120))
    assert cov.creatinine_clearance() == pytest.approx(120.0)
    t = np.concatenate([_fine(1.0, 0.01), np.linspace(1.0, 4.0, 73)[1:]])
    sim = carbo.simulate_pk(5, "AUC", interval_days=21, n_doses=1, covariates=cov, times=t)
    dose = sim.amounts[0].value
    assert dose == pytest.approx(5 * (120 + 25))
    cl_l_per_h = sim.parameters[0].values["CL"] / 24.0
    auc_mg_h = _auc_mg_h_per_l(t, sim.concentration[0])
    assert auc_mg_h == pytest.approx(dose / cl_l_per_h, rel=1e-3)  # mass balance: AUC = dose / CL
    auc_mg_ml_min = auc_mg_h * 60.0 / 1000.0
    assert auc_mg_ml_min == pytest.approx(5.0, rel=0.10)


def test_carboplatin_beta_half_life_in_label_range():
    # Label (pharmacology.md §5.3, V): biphasic, t1/2 beta 2.6-5.9 h (CrCl >= 60 mL/min).
    carbo = get_drug("carboplatin")
    t = np.concatenate([_fine(1.0, 0.05), np.linspace(1.0, 2.0, 25)[1:]])
    sim = carbo.simulate_pk(500, "mg", interval_days=21, n_doses=1, times=t)
    assert 2.6 <= _terminal_half_life_h(t, sim.concentration[0], 0.5, 1.0) <= 5.9


@pytest.mark.parametrize(
    ("dose_m2", "cmax_ng_ml", "auc_ng_h_ml"),
    [(175, 3650, 15007), (135, 2170, 7952)],  # Taxol label, 3-h infusions (pharmacology.md §5.4, V)
)
def test_paclitaxel_three_hour_infusion_against_label(dose_m2, cmax_ng_ml, auc_ng_h_ml):
    pac = get_drug("paclitaxel")
    t = np.concatenate([_fine(0.125, 0.01), np.linspace(0.125, 5.0, 469)[1:]])
    sim = pac.simulate_pk(dose_m2 * BSA, "mg", interval_days=21, n_doses=1, times=t)
    c_ng_ml = sim.concentration[0] * 1000.0
    assert c_ng_ml.max() == pytest.approx(cmax_ng_ml, rel=CROSS_STUDY)  # model +8 % (175), +18 % (135)
    assert _auc_mg_h_per_l(t, c_ng_ml) == pytest.approx(auc_ng_h_ml, rel=CROSS_STUDY)  # -11 %, +9 %


def test_paclitaxel_exposure_rises_more_than_dose():
    # Label: with 3-h infusions a 30 % dose increase raises AUC by 89 % (saturable elimination and
    # distribution). The dose-normalised AUC must rise by at least 10 % from 135 to 175 mg/m2
    # (the model gives +19 %; linear kinetics would give 0 %).
    pac = get_drug("paclitaxel")
    t = np.concatenate([_fine(0.125, 0.01), np.linspace(0.125, 5.0, 469)[1:]])
    aucs = {}
    for d in (135, 175):
        sim = pac.simulate_pk(d * BSA, "mg", interval_days=21, n_doses=1, times=t)
        aucs[d] = _auc_mg_h_per_l(t, sim.concentration[0]) / d
    assert aucs[175] / aucs[135] > 1.10


def test_pemetrexed_is_mostly_eliminated_within_24_hours():
    # Label: 70-90 % of the dose is recovered unchanged in urine within 24 h (pharmacology.md §5.5, V),
    # so at least 70 % must have left the body by 24 h.
    pem = get_drug("pemetrexed")
    sim = pem.simulate_pk(500 * BSA, "mg", interval_days=21, n_doses=1, times=[0.0, 1.0])
    res = sim.results[0]
    left = res["A1"][0, -1] + res["A2"][0, -1] + res["A3"][0, -1]
    assert left / sim.amounts[0].value <= 0.30


def test_dacarbazine_clearance_scales_per_kilogram():
    # Source reports CL 15.4 mL/kg/min (pharmacology.md §5.1, V): a 90 kg patient has
    # 15.4 x 90 mL/min = 1.386 L/min = 1995.8 L/day.
    dtic = get_drug("dacarbazine")
    pk = dtic.pk_patient(Covariates(weight_kg=90, height_cm=175, age_years=55, sex="male"))
    assert pk.values["CL"] == pytest.approx(15.4e-3 * 90 * 1440, rel=1e-9)
    assert pk.values["V1"] == pytest.approx(0.632 * 90, rel=1e-9)


# -- oral targeted drugs -----------------------------------------------------------------------


def _steady_interval(sim, start: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    t, c = sim.t, sim.concentration[0]
    keep = (t >= start - 1e-9) & (t <= start + tau + 1e-9)
    return t[keep], c[keep]


@pytest.mark.parametrize(
    ("drug", "dose", "tau", "lo_h", "hi_h"),
    [
        ("trametinib", 2, 1.0, 1.5 - 1, 1.5 + 1),  # label median Tmax 1.5 h (Leonowens 2014, V)
        ("dabrafenib", 150, 0.5, 2 - 1, 2 + 1),  # label median Tmax 2 h (V)
        ("sunitinib", 50, 1.0, 6, 12),  # label Tmax 6-12 h (V)
    ],
)
def test_oral_single_dose_tmax(drug, dose, tau, lo_h, hi_h):
    # Median Tmax within 1 h (the phase 1 sampling grid around Tmax is 0.5-1 h), or within the
    # label's range where one is given. The lag time is part of the drug file.
    sim = get_drug(drug).simulate_pk(dose, "mg", interval_days=tau, n_doses=1, times=_fine(tau, 0.02))
    tmax_h = sim.t[np.argmax(sim.concentration[0])] * 24
    assert lo_h <= tmax_h <= hi_h


def test_vemurafenib_accumulation_and_steady_state_peak():
    # 960 mg bid: accumulation about 7.4-fold (Swiss Fachinformation, V), steady state by day 14-15,
    # steady-state Cmax about 62 ug/mL (US label, R). The model is built from the popPK median CL/F
    # and the label V/F, so the label values are an independent check (20 %).
    vem = get_drug("vemurafenib")
    sim = vem.simulate_pk(960, "mg", interval_days=0.5, n_doses=44, times=_fine(22.0, 0.1))
    t1, c1 = _steady_interval(sim, 0.0, 0.5)
    tss, css = _steady_interval(sim, 21.5, 0.5)
    accumulation = np.trapezoid(css, tss) / np.trapezoid(c1, t1)
    assert accumulation == pytest.approx(7.4, rel=CROSS_STUDY)  # model 6.6
    assert css.max() == pytest.approx(62.0, rel=CROSS_STUDY)  # model 62.5
    _, c14 = _steady_interval(sim, 14.0, 0.5)
    assert c14.min() >= 0.95 * css.min()  # at steady state by day 14


def test_trametinib_steady_state_against_label():
    # 2 mg daily (Swiss Fachinformation, V): geometric-mean Cmax 22.2 ng/mL, AUC0-tau 370 ng*h/mL,
    # pre-dose 12.1 ng/mL; the model is Balakirouchenane 2020 (real-world popPK), independent of it.
    tra = get_drug("trametinib")
    sim = tra.simulate_pk(2, "mg", interval_days=1, n_doses=28, times=_fine(28.0, 0.1))
    t, c = _steady_interval(sim, 27.0, 1.0)
    c = c * 1000.0  # ng/mL
    assert c.max() == pytest.approx(22.2, rel=CROSS_STUDY)  # model +2 %
    assert _auc_mg_h_per_l(t, c) == pytest.approx(370, rel=CROSS_STUDY)  # model -7 %
    assert c[0] == pytest.approx(12.1, rel=CROSS_STUDY)  # trough, model -3 %
    assert c.min() >= 10.0  # above the exposure target Cmin >= ~10 ng/mL (phase 1 ER, R)


def test_sunitinib_day_14_parent_concentration_and_accumulation():
    # Label (pharmacology.md §5.9, V): day-14 total (parent + SU12662) 62.9-101 ng/mL with SU12662
    # 23-37 % of the total, so parent 0.63 x 62.9 = 39.6 to 0.77 x 101 = 77.8 ng/mL; parent
    # accumulation 3-4-fold.
    sun = get_drug("sunitinib")
    sim = sun.simulate_pk(50, "mg", interval_days=1, n_doses=14, times=_fine(14.0, 0.1))
    t14, c14 = _steady_interval(sim, 13.0, 1.0)
    c14 = c14 * 1000.0
    assert 0.63 * 62.9 <= c14.min() and c14.max() <= 0.77 * 101
    t1, c1 = _steady_interval(sim, 0.0, 1.0)
    accumulation = np.trapezoid(c14, t14) / np.trapezoid(c1 * 1000.0, t1)
    assert 3.0 <= accumulation <= 4.0  # model 3.15


def test_sunitinib_four_weeks_on_two_off_washes_out_and_restarts():
    # Schedule 4/2: 28 daily doses (days 0-27), none on days 28-41, next cycle from day 42.
    # With t1/2 ~38 h the parent falls below 1 % of its trough by day 42 (14 days = 8.8 half-lives).
    sun = get_drug("sunitinib")
    sim = sun.simulate_pk(50, "mg", interval_days=1, n_doses=56, on_days=28, off_days=14, times=np.arange(0.0, 71.0))
    c = dict(zip(sim.t.tolist(), sim.concentration[0].tolist(), strict=True))
    assert c[42.0] < 0.01 * c[27.0]
    assert c[43.0] > 10 * c[42.0]  # dosing resumed on day 42
    assert c[69.0] == pytest.approx(c[27.0], rel=0.01)  # second cycle reaches the same trough


# -- drug files --------------------------------------------------------------------------------

_PATIENT = Covariates(weight_kg=70, height_cm=170, age_years=60, sex="female", serum_creatinine=0.9)


@pytest.mark.parametrize("name", NEW_DRUGS)
def test_new_drug_loads_and_its_regimens_convert_to_its_amount_unit(name):
    drug = drug_library()[name]
    assert drug.drug_class in ("chemotherapy", "targeted_therapy")
    assert drug.pk is not None and drug.pk.model == "pk_compartmental"
    assert drug.pk.route == ("oral" if drug.drug_class == "targeted_therapy" else "iv")
    assert drug.pd, "a pd list is required"
    for reg in drug.regimens:
        assert reg.unit in drug.dose_units
        amount = drug.dose_amount(reg.dose, reg.unit, _PATIENT)
        assert amount.unit == "mg" and 0 < amount.value < 5000, reg.text
    # where the source gives no value the file says so (flag U with a note, or no parameter)
    for pd in drug.pd:
        for q in pd.parameters.values():
            assert q.flag != "U" or q.note or "U" in pd.description


def test_bid_and_cyclic_regimens_are_structured():
    assert get_drug("vemurafenib").regimens[0].interval_days == 0.5
    sun = get_drug("sunitinib").regimens[0]
    assert (sun.text, sun.interval_days, sun.on_days, sun.off_days) == ("50 mg daily 4 weeks on 2 weeks off", 1, 28, 14)
    assert get_drug("carboplatin").regimens[0].unit == "AUC"


def _file(name: str) -> dict:
    return yaml.safe_load((DRUG_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "mutate", "field"),
    [
        ("dabrafenib", lambda d: d["pk"]["lag_time"].update(value=-0.5), "pk.lag_time"),
        ("trametinib", lambda d: d["pk"]["bioavailability"].update(value=1.4), "pk.bioavailability"),
        ("docetaxel", lambda d: d["regimens"][0].update(dose=-75), "regimens[0].dose"),
        ("sunitinib", lambda d: d["regimens"][0].pop("off_days"), "regimens[0]"),
        ("trametinib", lambda d: d["pk"].update(route="infusion"), "pk.route"),
        ("trametinib", lambda d: d["pk"].update(depot="gut"), "pk"),
    ],
)
def test_bad_values_in_a_drug_file_name_the_field(tmp_path, name, mutate, field):
    data = _file(name)
    mutate(data)
    with pytest.raises(ValidationError) as info:
        load_drug_file(_write(tmp_path, data))
    assert info.value.field == field
    assert f"'{field}' parameter of {name}.yaml" in str(info.value)


def test_negative_individual_clearance_is_an_error_naming_the_parameter(tmp_path):
    # A covariate model that drives clearance below zero (here a steep linear age effect at age 90)
    # must fail with the parameter's name, not simulate a negative clearance.
    data = _file("dabrafenib")
    data["pk"]["covariates"][1]["coefficient"] = -0.05  # CL x (1 - 0.05 (age - 61.2)) < 0 at age 90
    drug = load_drug_file(_write(tmp_path, data))
    old = Covariates(weight_kg=70, height_cm=170, age_years=90, sex="male")
    with pytest.raises(ValidationError, match=r"The 'CL' parameter of drug dabrafenib \(individual PK\) must"):
        drug.pk_patient(old)
