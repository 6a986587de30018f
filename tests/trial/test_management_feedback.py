"""Management of adverse events fed back into the treatment (issue 4): held doses are skipped,
corticosteroid courses are given and damp T-cell priming and expansion, and the trial iterates until
each patient's treatment is consistent with its own progression and adverse events."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from oncoimmune.errors import ValidationError
from oncoimmune.toxicity._management import STEROID_DOSING, feedback, steroid_course
from oncoimmune.toxicity._parameters import HOLD_LIMIT_DAYS
from oncoimmune.treatments import Covariates, Regimen
from oncoimmune.treatments._plan import plan_patient
from oncoimmune.trial import run_trial, trial_spec_from_dict

PATIENT = Covariates(weight_kg=70.0, height_cm=175.0, age_years=60.0, sex="male")
COMBO = "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w"


# -- held doses ----------------------------------------------------------------------------------


def test_a_held_window_skips_the_named_drugs_doses_and_nothing_else():
    full = plan_patient("io_qsp", COMBO, PATIENT, 200.0)
    held = plan_patient("io_qsp", COMBO, PATIENT, 200.0, withhold=[(20.0, 50.0, ["ipilimumab"])])
    lost = set((a.drug, a.time_days) for a in full.administrations) - {
        (a.drug, a.time_days) for a in held.administrations
    }
    # ipilimumab doses of days 21 and 42 are skipped, not delayed; nivolumab is given as planned
    assert lost == {("ipilimumab", 21.0), ("ipilimumab", 42.0)}
    assert [a.time_days for a in held.administrations if a.drug == "ipilimumab"] == [0.0, 63.0]


def test_an_open_window_on_every_drug_is_a_permanent_discontinuation():
    held = plan_patient("io_qsp", COMBO, PATIENT, 200.0, withhold=[(100.0, math.inf, None)])
    assert max(a.time_days for a in held.administrations) < 100.0


def test_a_steroid_course_outlasts_the_stopped_drug():
    # grade 4 colitis on day 30: every drug stops, the 6-week prednisone taper does not
    course = Regimen(steroid_course(30.0, 72.0, "high"))
    plan = plan_patient(
        "io_qsp", COMBO, PATIENT, 30.0, extra=course, extra_until=200.0, withhold=[(30.0, math.inf, None)]
    )
    given = [a for a in plan.administrations if a.drug == "prednisone"]
    assert len(given) == 42 and given[-1].time_days == pytest.approx(71.0)
    assert max(a.time_days for a in plan.administrations if a.drug != "prednisone") <= 30.0


@pytest.mark.parametrize(
    "window",
    [
        (-1.0, 5.0, None),
        (10.0, 5.0, None),
        (float("nan"), 5.0, None),
        (1.0, 5.0, ["unobtainium"]),
        (1.0, 5.0),
        (1.0, 5.0, None, 1.5),
        (1.0, 5.0, None, -0.25),
        (1.0, 5.0, None, "three quarters"),
    ],
)
def test_a_bad_window_names_the_field(window):
    with pytest.raises(ValidationError) as err:
        plan_patient("io_qsp", COMBO, PATIENT, 200.0, withhold=[window])
    assert err.value.field == "withhold", str(err.value)


DOUBLET = "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4 then pemetrexed 500 mg/m2 q3w"
NSCLC = Covariates(weight_kg=70.0, height_cm=175.0, age_years=60.0, sex="male", serum_creatinine=1.0)


def test_a_reduction_window_scales_the_later_doses_and_a_second_one_multiplies():
    full = {(a.drug, a.time_days): a.amount for a in plan_patient("io_qsp", DOUBLET, NSCLC, 200.0).administrations}
    cut = plan_patient(
        "io_qsp",
        DOUBLET,
        NSCLC,
        200.0,
        withhold=[(30.0, 50.0, None), (30.0, math.inf, None, 0.75), (100.0, math.inf, ["pemetrexed"], 0.75)],
    )
    got = {(a.drug, a.time_days): a.amount for a in cut.administrations}
    assert ("carboplatin", 42.0) not in got and ("pemetrexed", 42.0) not in got  # held on day 42
    for (drug, day), amount in got.items():
        factor = 1.0 if day < 30.0 else 0.75 if day < 100.0 or drug == "carboplatin" else 0.75**2
        assert amount == pytest.approx(factor * full[drug, day]), (drug, day)
    assert {d for d, day in got if day > 100.0} == {"pemetrexed"}  # carboplatin's 4 cycles ended on day 63
    assert any(day > 100.0 for _, day in got)


# -- the actions translated into treatment ---------------------------------------------------------


def _act(kind, start, stop, scope="all", level=None):
    return {"kind": kind, "start": start, "stop": stop, "scope": scope, "level": level, "term": "x", "grade": 3}


CLASSES = {"nivolumab": "anti-PD-1", "ipilimumab": "anti-CTLA-4"}


def test_holds_and_partial_discontinuations_become_windows():
    windows, doses = feedback(
        [
            _act("hold", 30.0, 60.0),
            _act("discontinue", 30.0, math.nan, scope="anti-CTLA-4"),
            _act("hold", 90.0, math.nan),  # never resolved: held to the end
            _act("discontinue", 200.0, math.nan),  # everything: the caller's stop day, not a window
        ],
        CLASSES,
    )
    assert set(windows) == {
        (30.0, 60.0, frozenset(CLASSES), 0.0),
        (30.0, math.inf, frozenset({"ipilimumab"}), 0.0),
        (90.0, math.inf, frozenset(CLASSES), 0.0),
    }
    assert len(windows) == 3
    assert doses == ()


def test_grade_4_neutropenia_reduces_the_cytotoxic_doses_from_its_onset():
    classes = {"carboplatin": "cytotoxic", "pemetrexed": "cytotoxic", "pembrolizumab": "anti-PD-1"}
    acts = [_act("hold", 40.0, 52.0, scope="cytotoxic"), _act("reduce", 40.0, math.nan, "cytotoxic", "0.75")]
    chemo = frozenset({"carboplatin", "pemetrexed"})
    assert feedback(acts, classes)[0] == ((40.0, 52.0, chemo, 0.0), (40.0, math.inf, chemo, 0.75))


def test_lymphodepletion_and_the_cell_product_are_never_held():
    classes = {"fludarabine": "cytotoxic", "cyclophosphamide": "cytotoxic", "axicabtagene_ciloleucel": "CAR-T"}
    acts = [_act("hold", 1.0, 6.0), _act("hold", 5.0, 20.0, scope="cytotoxic")]
    assert feedback(acts, classes)[0] == (
        (1.0, 6.0, frozenset({"fludarabine", "cyclophosphamide"}), 0.0),
        (5.0, 20.0, frozenset({"fludarabine", "cyclophosphamide"}), 0.0),
    )
    assert feedback(acts, classes, never_held=frozenset({"fludarabine", "cyclophosphamide"})) == ((), ())


def test_a_course_is_a_weekly_linear_taper_of_the_rule_dose():
    course = steroid_course(10.0, 52.0, "high")  # 6 weeks of prednisone from 1.5 mg/kg/d
    assert [d.drug for d in course] == ["prednisone"] * 6
    assert [d.dose for d in course] == pytest.approx([1.5 * k / 6 for k in range(6, 0, -1)])
    assert [d.start for d in course] == [10.0 + 7 * k for k in range(6)]
    assert sum(d.count for d in course) == 42  # one dose a day for the 42 days
    dex = steroid_course(3.0, 10.0, "dexamethasone")  # CRS/ICANS: 10 mg IV every 6 h for a week
    assert len(dex) == 1 and dex[0].dose == 10.0 and dex[0].interval_days == 0.25 and dex[0].count == 28
    assert set(STEROID_DOSING) == {"low", "high", "dexamethasone"}


def test_steroids_are_left_out_where_the_model_cannot_take_them():
    acts = [_act("steroid", 5.0, 33.0, level="low")]
    assert len(feedback(acts, CLASSES)[1]) == 4
    assert feedback(acts, CLASSES, steroids=False) == ((), ())


# -- steroids damp immune activation in io_qsp -------------------------------------------------------


def test_prednisone_damps_effector_priming_and_the_damping_wears_off():
    from oncoimmune.treatments import Regimen, simulate_treatment

    t = np.arange(0.0, 120.0, 1.0)
    course = Regimen(steroid_course(21.0, 63.0, "high"))
    res = simulate_treatment("io_qsp", "nivolumab 3 mg/kg q2w", [PATIENT, PATIENT], t, extra_doses=[None, course])
    out = res.outputs()
    damp = out["steroid_damping"]
    assert np.all(damp[0] == 1.0)  # no steroid, no damping
    assert damp[1, t < 21].min() == 1.0
    # even at the trough, 24 h after a 1.5 mg/kg dose, priming runs at about a tenth (ex vivo IC50 3.76 ng/mL)
    first, last = damp[1, (t >= 22) & (t < 28)], damp[1, (t >= 57) & (t < 63)]
    assert first.max() < 0.15
    assert last.min() > first.max()  # the taper lets it recover
    assert damp[1, t >= 90].min() > 0.999  # gone a month after the taper
    te = res["TE"]
    assert np.all(te >= 0)
    assert te[1, 60] < 0.8 * te[0, 60]  # fewer effector T cells after six weeks of steroids


def test_dexamethasone_for_crs_leaves_car_t_expansion_alone():
    # Stein 2019's cellular kinetics found no corticosteroid effect (factor 1.0) and ZUMA-1 none on
    # expansion or response; the CRS and ICANS grades are read from that expansion
    from oncoimmune.treatments import Regimen, simulate_treatment

    axicel = (
        "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 daily x3 then axicabtagene ciloleucel "
        "2e6 CAR+ viable T cells/kg once (max 2e8) after 2 days"
    )
    t = np.arange(0.0, 40.0, 0.5)
    dex = Regimen(steroid_course(7.0, 14.0, "dexamethasone"))
    res = simulate_treatment("io_qsp", axicel, [PATIENT, PATIENT], t, extra_doses=[None, dex])
    out = res.outputs()
    assert out["steroid_damping"][1, (t >= 8) & (t < 14)].max() < 0.05  # dexamethasone is on board
    car = out["car_t_per_uL"]
    assert car[0].max() > 10.0  # it expands
    np.testing.assert_allclose(car[1], car[0], rtol=1e-3)


# -- the trial ----------------------------------------------------------------------------------


BASE = {
    "name": "managed combination",
    "population": {"tumour_type": "melanoma"},
    "patients": 40,
    "seed": 5,
    "arms": [{"name": "combination", "regimen": COMBO}],
    "scans": {"every_weeks": 12},
    "follow_up": {"months": 12},
}


def _run(**toxicity):
    data = json.loads(json.dumps(BASE))
    data["toxicity"] = toxicity
    return run_trial(trial_spec_from_dict(data))


@pytest.fixture(scope="module")
def managed():
    return _run(), _run(feedback=False)


def test_the_management_is_applied_and_the_iteration_settles(managed):
    on, off = managed
    p = on.patients
    mgmt = on.summary["provenance"]["management"]
    assert mgmt["feedback"] and mgmt["corticosteroids_modelled"] and mgmt["unsettled"] == {}
    assert off.summary["provenance"]["management"]["feedback"] is False
    managed_pts = (p["steroid_days"] > 0) | (p["n_dose_holds"] > 0)
    assert managed_pts.any()
    # every patient whose treatment the management changed was simulated again with it
    assert (p.loc[managed_pts & ~p["discontinued"], "simulation_passes"] >= 2).all()
    # a patient nothing happened to is simulated once, as without feedback
    quiet = ~managed_pts & ~p["discontinued"] & ~np.isfinite(p["progression_day"])
    assert (p.loc[quiet, "simulation_passes"] == 1).all()
    same = quiet.to_numpy()
    assert np.array_equal(
        p.loc[same, "best_percent_change"], off.patients.loc[same, "best_percent_change"], equal_nan=True
    )


def test_ipilimumab_stopped_alone_is_a_partial_discontinuation(managed):
    # grade 3 hepatitis on the combination stops ipilimumab and holds nivolumab, and so does a hold that keeps
    # the fourth ipilimumab dose (day 63) from being given by 16 weeks after the first (YERVOY label); grade 3
    # colitis while ipilimumab is given stops both (OPDIVO + YERVOY label), a whole discontinuation, and in
    # the nivolumab phase holds nivolumab
    p = managed[0].patients
    part = np.isfinite(p["partial_discontinuation_day"])
    assert part.any()
    late_course = np.isclose(p["partial_discontinuation_day"], 112.0)
    assert late_course.any() and (p.loc[part & ~late_course, "ae_hepatitis_grade"] >= 3).all()
    colitis = (p["ae_diarrhoea_colitis_grade"] == 3) & (p["ae_hepatitis_grade"] < 3)
    during_ipilimumab = colitis & (p["ae_diarrhoea_colitis_onset_day"] <= 63.0)
    assert during_ipilimumab.any() and p.loc[during_ipilimumab, "discontinued"].all()
    # nothing is stopped for an adverse event after treatment ended at progression
    prog = p["progression_day"].to_numpy(float)
    for col in ("discontinuation_day", "partial_discontinuation_day"):
        day = p[col].to_numpy(float)
        both = np.isfinite(day) & np.isfinite(prog)
        assert (day[both] <= prog[both]).all(), col
    assert (p.loc[part & ~p["discontinued"], "n_dose_holds"] >= 1).all()
    # the summary's "AEs leading to discontinuation" counts whole and partial stops, each patient once
    stopped = p["discontinued"] | part
    rate = managed[0].summary["arms"]["combination"]["ae_discontinuation"]
    assert rate == pytest.approx(stopped.mean()) and rate > 0


def test_matched_placebo_keeps_the_ipilimumab_arm_on_study_treatment():
    # CheckMate 067's ipilimumab arm received nivolumab-matched placebo every 2 weeks until progression (a
    # double-blind design). The same 200 patients (one arm, one seed) with and without it: with it, events
    # after the course can still stop study treatment (never after progression), so at least as many stop
    def trial(**extra):
        data = json.loads(json.dumps(BASE))
        data.update(patients=200, follow_up={"months": 18})
        data["arms"] = [{"name": "ipilimumab", "regimen": "ipilimumab 3 mg/kg q3w x4", **extra}]
        return run_trial(trial_spec_from_dict(data))

    alone, blinded = trial(), trial(placebo_every_weeks=2)
    a, b = alone.patients, blinded.patients
    assert np.array_equal(a["patient_id"], b["patient_id"]) and np.allclose(
        a["tumour_burden_mm"], b["tumour_burden_mm"]
    )

    def stop_day(d):
        return d["discontinuation_day"].fillna(d["partial_discontinuation_day"]).to_numpy(float)

    def stopped(d):
        return d["discontinued"] | np.isfinite(d["partial_discontinuation_day"])

    # without placebo the last stop the course can cause is a hold begun by its last dose (day 63) reaching the
    # 12-week limit; with it, events long after the course still stop study treatment
    assert not (stop_day(a) > 63.0 + HOLD_LIMIT_DAYS.value).any()
    assert (stop_day(b) > 63.0 + HOLD_LIMIT_DAYS.value).sum() >= 3
    rate_a = alone.summary["arms"]["ipilimumab"]["ae_discontinuation"]
    rate_b = blinded.summary["arms"]["ipilimumab"]["ae_discontinuation"]
    assert rate_b == pytest.approx(stopped(b).mean()) and rate_b > rate_a
    # the arm's regimen says so in the summary, and nothing is stopped after progression
    assert blinded.summary["arms"]["ipilimumab"]["regimen"].endswith("+ matched placebo every 2 weeks")
    prog, day = b["progression_day"].to_numpy(float), stop_day(b)
    both = np.isfinite(day) & np.isfinite(prog)
    assert (day[both] <= prog[both]).all()


def test_the_2011_yervoy_label_stops_more_combination_patients_during_the_ipilimumab_course():
    # CheckMate 067 enrolled under the first YERVOY label (permanently discontinue for severe immune-mediated
    # reactions). The same 200 combination patients under it and under the current labels: the extra stops are
    # all within the four-dose course (days 0-63) and before progression, and the summary says which label
    def trial(label):
        data = json.loads(json.dumps(BASE))
        data.update(patients=200, follow_up={"months": 18}, toxicity={"checkpoint_label": label})
        data["arms"] = [
            {
                "name": "combination",
                "regimen": "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w",
            }
        ]
        return run_trial(trial_spec_from_dict(data))

    now, then = trial("current"), trial("yervoy_2011")
    a, b = now.patients, then.patients
    assert np.array_equal(a["patient_id"], b["patient_id"])
    assert then.summary["provenance"]["management"]["checkpoint_label"] == "yervoy_2011"
    assert now.summary["provenance"]["management"]["checkpoint_label"] == "current"
    extra = b["discontinued"].to_numpy() & ~a["discontinued"].to_numpy()
    assert extra.sum() >= 5
    day = b["discontinuation_day"].to_numpy(float)[extra]
    assert (day <= 63.0).all()
    prog = b["progression_day"].to_numpy(float)[extra]
    assert not (prog < day).any()
    rate = {k: r.summary["arms"]["combination"]["ae_discontinuation"] for k, r in (("now", now), ("then", then))}
    assert rate["then"] > rate["now"]


def test_steroids_blunt_the_response_of_the_patients_given_them(managed):
    # the same trial with inert corticosteroids (Imax 0): only the steroid-treated patients change,
    # and they shrink less with active steroids
    on, _ = managed
    data = json.loads(json.dumps(BASE))
    data["population"]["parameters"] = {"Imax_CS1": {"value": 0.0}, "Imax_CS2": {"value": 0.0}}
    inert = run_trial(trial_spec_from_dict(data)).patients
    p = on.patients
    steroid = (p["steroid_days"] > 0).to_numpy()
    assert steroid.sum() >= 5
    a = p.loc[steroid, "best_percent_change"].to_numpy()
    b = inert.loc[steroid, "best_percent_change"].to_numpy()
    ok = np.isfinite(a) & np.isfinite(b)
    assert np.mean(a[ok] - b[ok]) > 0.0
    untouched = ~steroid & (inert["steroid_days"] == 0).to_numpy()
    assert np.array_equal(
        p.loc[untouched, "best_percent_change"], inert.loc[untouched, "best_percent_change"], equal_nan=True
    )


def test_trajectories_are_on_the_trial_grid(managed):
    on, _ = managed
    tr = on.trajectories["combination"]
    assert tr["sld_mm"].shape[1] == tr["t"].size
    assert tr["t"][0] == 0.0 and np.all(np.diff(tr["t"]) > 1e-3)  # no pre-dose points


def test_the_management_settles_for_daily_tablets_and_never_held_drugs():
    # Every patient's treatment must be the one its own adverse events call for. A hold of a daily
    # tablet, or the permanent stop of an IL-2 course (a drug never held dose by dose), starting
    # between two output points used to move the exposure at the next point and with it the onset
    # that started it: such patients kept changing and were left unsettled after the last pass.
    data = {
        "name": "settling",
        "population": {"tumour_type": "melanoma"},
        "calibration": "checkmate067",
        "patients": 60,
        "seed": 11,
        "arms": [
            {"name": "BRAF/MEK", "regimen": "dabrafenib 150 mg bid + trametinib 2 mg daily"},
            {"name": "IL-2", "regimen": "aldesleukin 720,000 IU/kg q8h x14, 9 days rest, repeat x14"},
        ],
        "scans": {"every_weeks": 8},
        "follow_up": {"months": 4},
    }
    res = run_trial(trial_spec_from_dict(data))
    assert res.summary["provenance"]["management"]["unsettled"] == {}
    p = res.patients
    for arm in ("BRAF/MEK", "IL-2"):
        mine = p[p["arm"] == arm]
        assert (mine["simulation_passes"] >= 2).sum() >= 3, arm  # the management did change treatments


def test_grade_4_neutropenia_reduces_the_doublet_in_a_trial():
    # carboplatin + pemetrexed (KEYNOTE-024's control arm): a cycle waits for recovery from grade 3
    # neutropenia; after grade 4 (nadir ANC < 500/mm3) the cytotoxic doses are cut to 75 %
    data = {
        "name": "doublet",
        "population": {"tumour_type": "nsclc", "overrides": {"pdl1": 0.71}},
        "calibration": "keynote024",
        "patients": 150,
        "seed": 3,
        "arms": [
            {
                "name": "chemotherapy",
                "regimen": "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4 then pemetrexed 500 mg/m2 q3w",
            }
        ],
        "scans": {"every_weeks": 9},
        "follow_up": {"months": 6},
    }
    res = run_trial(trial_spec_from_dict(data))
    p = res.patients
    cut = p["n_dose_reductions"] > 0
    assert cut.sum() >= 2  # grade 4 neutropenia is a few per cent of the doublet's patients
    assert (p.loc[cut, "ae_neutropenia_grade"] == 4).all()
    assert (p.loc[cut, "n_dose_holds"] >= p.loc[cut, "n_dose_reductions"]).all()  # each cut follows a hold
    assert res.summary["provenance"]["management"]["unsettled"] == {}
