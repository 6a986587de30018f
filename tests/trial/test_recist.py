"""RECIST 1.1 and iRECIST on hand-made sum-of-diameter trajectories.

Rules: clinical.md §5.1 (RECIST 1.1, Eisenhauer EJC 2009;45:228) and §5.2 (iRECIST, Seymour Lancet Oncol
2017;18:e143); sphere geometry: population.md §3.2–3.3. Each trajectory is the true sum of diameters
(mm) at the scan days; with no measurement noise the recorded sums equal them, so every expected label
below follows from the rule quoted beside it by arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.models.io_qsp import sum_of_diameters, tumour_cells
from oncoimmune.trial import (
    MeasurementNoise,
    ResponseCriteria,
    ScanSchedule,
    assess_response,
)

Q6W = ScanSchedule.every(weeks=6, until_weeks=48)  # baseline, 42, 84, ..., 336 days (9 scans)


def one(traj, schedule=None, **kw):
    """Assess one patient whose sums are given for the first scans (the rest NaN = not measured)."""
    sched = schedule or ScanSchedule(tuple(42.0 * i for i in range(len(traj))))
    return assess_response(np.array([traj], dtype=float), sched, **kw)


# ----------------------------------------------------------------------------------------------
# schedule
# ----------------------------------------------------------------------------------------------
def test_every_6_weeks_for_a_year_then_every_12():
    s = ScanSchedule.every(weeks=6, until_weeks=52, then_weeks=12, end_weeks=104)
    weeks = [d / 7 for d in s.days]
    # q6w up to week 52 (last at 48), then q12w from the last scan: 60, 72, ..., 96 (108 > 104)
    assert weeks == [0, 6, 12, 18, 24, 30, 36, 42, 48, 60, 72, 84, 96]


def test_first_scan_at_week_12_then_every_6():
    s = ScanSchedule.every(weeks=6, first_weeks=12, until_weeks=49)
    assert [d / 7 for d in s.days] == [0, 12, 18, 24, 30, 36, 42, 48]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weeks": -6, "until_weeks": 52}, "weeks"),
        ({"weeks": 0, "until_weeks": 52}, "weeks"),
        ({"weeks": 6, "until_weeks": -1}, "until_weeks"),
        ({"weeks": 6}, "until_weeks"),
        ({"weeks": 6, "until_weeks": 52, "then_weeks": 12}, "end_weeks"),
        ({"weeks": 6, "then_weeks": 12, "end_weeks": 100}, "until_weeks"),
        ({"weeks": 6, "until_weeks": 100, "end_weeks": 50}, "until_weeks"),
        ({"weeks": 60, "until_weeks": 52}, "first_weeks"),
        ({"weeks": "six", "until_weeks": 52}, "weeks"),
    ],
)
def test_malformed_regular_schedule_names_the_field(kwargs, field):
    with pytest.raises(ValidationError) as err:
        ScanSchedule.every(**kwargs)
    assert err.value.field == field
    assert f"'{field}'" in str(err.value)


@pytest.mark.parametrize("days", [(), (0.0,), (7.0, 42.0), (0.0, 42.0, 42.0), (0.0, 84.0, 42.0), (0.0, float("nan"))])
def test_malformed_scan_days(days):
    with pytest.raises(ValidationError) as err:
        ScanSchedule(days)
    assert err.value.field == "days"


def test_schedule_from_mapping_and_unknown_key():
    s = ScanSchedule.from_mapping({"every_weeks": 6, "until_weeks": 52, "then_weeks": 12, "end_weeks": 104})
    assert s == ScanSchedule.every(6, until_weeks=52, then_weeks=12, end_weeks=104)
    with pytest.raises(UnknownNameError) as err:
        ScanSchedule.from_mapping({"every_weeks": 6, "until_week": 52})
    assert "until_week" in str(err.value)


# ----------------------------------------------------------------------------------------------
# RECIST 1.1 time-point responses
# ----------------------------------------------------------------------------------------------
def test_pr_exactly_at_minus_30_percent_and_not_at_minus_29_9():
    # PR: >= 30 % decrease in the sum vs baseline (clinical.md §5.1)
    r = one([100.0, 70.0])
    assert r.timepoint[0, 1] == "PR"
    assert r.best_overall_response[0] == "PR"
    r = one([100.0, 70.1])
    assert r.timepoint[0, 1] == "SD"
    # the same with two lesions (35 mm each): the rule is on the sum
    r = one([100.0, 70.0], n_lesions=2)
    assert r.timepoint[0, 1] == "PR"


def test_pd_needs_5_mm_when_20_percent_is_less_than_5_mm():
    # PD: >= 20 % over the nadir AND >= 5 mm absolute (clinical.md §5.1). Baseline 20 mm: +20 % = 4 mm.
    r = one([20.0, 24.0, 24.9])
    assert list(r.timepoint[0]) == ["BL", "SD", "SD"]
    r = one([20.0, 25.0])
    assert r.timepoint[0, 1] == "PD"
    assert r.progression_day[0] == 42.0
    # a large tumour: +5 mm is not enough without +20 %
    r = one([100.0, 119.9, 120.0])
    assert list(r.timepoint[0]) == ["BL", "SD", "PD"]


def test_pd_is_measured_from_the_nadir_after_baseline():
    # nadir 60 at week 12; 72 mm is +20 % and +12 mm over the nadir although still -28 % from baseline
    r = one([100.0, 70.0, 60.0, 71.9, 72.0])
    assert list(r.timepoint[0]) == ["BL", "PR", "PR", "SD", "PD"]
    assert r.progression_day[0] == 4 * 42.0
    assert r.best_overall_response[0] == "PR"
    assert r.best_percent_change[0] == pytest.approx(-40.0, abs=1e-12)


def test_baseline_is_the_nadir_when_smallest():
    # tumour only grows: nadir = baseline
    r = one([50.0, 55.0, 60.0])
    assert list(r.timepoint[0]) == ["BL", "SD", "PD"]  # 60 = +20 % and +10 mm over 50


def test_complete_response_threshold_per_lesion():
    # CR: every lesion disappeared; here a lesion measured < cr_lesion_mm (default 5 mm) is gone
    r = one([60.0, 9.0], n_lesions=2)  # 4.5 mm each
    assert r.timepoint[0, 1] == "CR"
    assert r.sld_mm[0, 1] == 0.0
    assert r.best_overall_response[0] == "CR"
    r = one([60.0, 12.0], n_lesions=2)  # 6 mm each: still visible, -80 % -> PR
    assert r.timepoint[0, 1] == "PR"
    # with the 10 mm alternative (nodal rule, clinical.md §5.1) 6-mm lesions count as CR
    r = one([60.0, 12.0], n_lesions=2, criteria=ResponseCriteria(cr_lesion_mm=10.0))
    assert r.timepoint[0, 1] == "CR"


def test_regrowth_after_complete_response_is_progression():
    # nadir 0 after CR; reappearance of a 6-mm lesion is >= 5 mm over the nadir -> PD
    r = one([40.0, 0.0, 6.0])
    assert list(r.timepoint[0]) == ["BL", "CR", "PD"]
    assert r.best_overall_response[0] == "CR"


def test_nan_patient_is_not_evaluable_without_exception():
    sld = np.array([[np.nan] * 4, [50.0, np.nan, 30.0, 30.0], [50.0, 45.0, 40.0, 42.0]])
    r = assess_response(sld, ScanSchedule((0.0, 42.0, 84.0, 126.0)))
    assert r.best_overall_response[0] == "NE"
    assert list(r.timepoint[0]) == ["NE"] * 4
    assert not r.measurable_baseline[0]
    assert math.isnan(r.progression_day[0]) and not r.progression[0]
    # a missing scan is NE and leaves the nadir alone; the patient goes on
    assert list(r.timepoint[1]) == ["BL", "NE", "PR", "PR"]
    assert r.best_overall_response[1] == "PR"
    assert r.best_overall_response[2] == "SD"


def test_baseline_without_a_measurable_lesion_is_not_evaluable():
    # measurable: longest diameter >= 10 mm (clinical.md §5.1); 18 mm over 2 lesions = 9 mm each
    r = one([18.0, 30.0], n_lesions=2)
    assert not r.measurable_baseline[0]
    assert r.best_overall_response[0] == "NE"
    r = one([20.0, 30.0], n_lesions=2)
    assert r.measurable_baseline[0] and r.best_overall_response[0] == "PD"


def test_scans_after_leaving_the_study_are_not_done():
    # scans at 0, 42, 84, 126 days; the patient leaves at day 100 (death or end of follow-up)
    r = one([100.0, 90.0, 60.0, 50.0], off_study_day=100.0)
    assert list(r.timepoint[0]) == ["BL", "SD", "PR", "ND"]
    assert r.last_evaluable_day[0] == 84.0
    assert r.best_percent_change[0] == pytest.approx(-40.0)  # the -50 % at day 126 was never seen


# ----------------------------------------------------------------------------------------------
# best overall response
# ----------------------------------------------------------------------------------------------
def test_sd_minimum_duration():
    # SD counts as best response only if recorded >= min_sd_weeks (6) after baseline
    sched = ScanSchedule((0.0, 28.0, 56.0))
    r = assess_response(np.array([[50.0, 50.0, 62.0]]), sched)  # SD at day 28, PD at day 56
    assert list(r.timepoint[0]) == ["BL", "SD", "PD"]
    assert r.best_overall_response[0] == "PD"
    r = assess_response(np.array([[50.0, 50.0, np.nan]]), sched)  # early SD, then nothing evaluable
    assert r.best_overall_response[0] == "NE"
    r = assess_response(np.array([[50.0, 50.0, 62.0]]), ScanSchedule((0.0, 42.0, 84.0)))  # SD at 6 weeks
    assert r.best_overall_response[0] == "SD"
    r = assess_response(np.array([[50.0, 50.0, 62.0]]), sched, criteria=ResponseCriteria(min_sd_weeks=4))
    assert r.best_overall_response[0] == "SD"


def test_unconfirmed_partial_response_when_confirmation_is_required():
    confirm = ResponseCriteria(confirm=True)
    # PR at week 6, SD at week 12: unconfirmed -> SD (Eisenhauer 2009 Table 3: PR then SD -> SD)
    r = one([100.0, 65.0, 75.0], criteria=confirm)
    assert r.best_overall_response[0] == "SD"
    assert one([100.0, 65.0, 75.0]).best_overall_response[0] == "PR"  # without confirmation
    # PR confirmed 6 weeks later (>= 4 weeks)
    r = one([100.0, 65.0, 60.0], criteria=confirm)
    assert r.best_overall_response[0] == "PR"
    assert r.response_day[0] == 42.0
    # PR on the last scan: nothing to confirm it -> SD
    assert one([100.0, 90.0, 65.0], criteria=confirm).best_overall_response[0] == "SD"
    # PR then PD before the minimum SD duration -> PD
    sched = ScanSchedule((0.0, 21.0, 35.0))
    r = assess_response(np.array([[100.0, 65.0, 85.0]]), sched, criteria=confirm)
    assert list(r.timepoint[0]) == ["BL", "PR", "PD"] and r.best_overall_response[0] == "PD"
    # a scan closer than 4 weeks does not confirm; the next one at >= 4 weeks does
    sched = ScanSchedule((0.0, 42.0, 56.0, 84.0))
    r = assess_response(np.array([[100.0, 65.0, 64.0, 63.0]]), sched, criteria=confirm)
    assert r.best_overall_response[0] == "PR"
    r = assess_response(np.array([[100.0, 65.0, 64.0, 80.0]]), sched, criteria=confirm)
    assert r.best_overall_response[0] == "SD"


def test_unconfirmed_complete_response_falls_back():
    confirm = ResponseCriteria(confirm=True)
    assert one([40.0, 0.0, 0.0], criteria=confirm).best_overall_response[0] == "CR"
    # CR then PD (a lesion reappears at >= 5 mm): unconfirmed CR -> SD, the SD minimum being met at
    # week 6 (Eisenhauer 2009 Table 3: "CR, PD -> SD provided minimum criteria for SD duration met")
    r = one([40.0, 0.0, 6.0], criteria=confirm)
    assert list(r.timepoint[0]) == ["BL", "CR", "PD"]
    assert r.best_overall_response[0] == "SD"


def test_rates_count_not_evaluable_patients_in_the_denominator():
    sld = np.array([[100, 60, 60], [100, 100, 100], [100, 130, 130], [np.nan] * 3], dtype=float)
    r = assess_response(sld, ScanSchedule((0.0, 42.0, 84.0)))
    assert list(r.best_overall_response) == ["PR", "SD", "PD", "NE"]
    assert r.rates() == {"orr": 0.25, "cr": 0.0, "dcr": 0.5}


# ----------------------------------------------------------------------------------------------
# iRECIST
# ----------------------------------------------------------------------------------------------
def test_irecist_iupd_confirmed_by_a_further_5_mm():
    # iUPD at +30 %, next scan +5 mm more -> iCPD; progression dated at the iUPD (clinical.md §5.2)
    r = one([100.0, 130.0, 135.0, 90.0], criteria="irecist")
    assert list(r.timepoint[0]) == ["BL", "iUPD", "iCPD", "ND"]
    assert r.best_overall_response[0] == "iCPD"
    assert r.progression_day[0] == 42.0 and r.progression_confirmed[0]
    assert not r.pseudoprogression[0]


def test_irecist_pseudoprogression_resets():
    # iUPD, then the sum falls to -20 % vs baseline: reset (iSD), later -40 % (iPR)
    traj = [100.0, 130.0, 80.0, 60.0]
    r = one(traj, criteria="irecist")
    assert list(r.timepoint[0]) == ["BL", "iUPD", "iSD", "iPR"]
    assert r.best_overall_response[0] == "iPR"
    assert r.pseudoprogression[0]
    assert not r.progression[0]
    # the same patient read by RECIST 1.1 progressed at week 6
    rr = one(traj)
    assert rr.best_overall_response[0] == "PD" and rr.progression_day[0] == 42.0


def test_irecist_iupd_persists_until_further_growth():
    # +2 mm after iUPD: still PD-level, not >= 5 mm further -> iUPD; then +6 mm over the first iUPD -> iCPD
    r = one([100.0, 130.0, 132.0, 136.0], criteria="irecist")
    assert list(r.timepoint[0]) == ["BL", "iUPD", "iUPD", "iCPD"]
    assert r.progression_day[0] == 42.0


def test_irecist_a_later_pd_after_reset_starts_again_as_iupd():
    r = one([100.0, 130.0, 90.0, 120.0, 126.0], criteria="irecist")
    # nadir 90 after the reset: 120 is +33 % and +30 mm -> new iUPD; 126 = +6 mm -> iCPD dated at the new iUPD
    assert list(r.timepoint[0]) == ["BL", "iUPD", "iSD", "iUPD", "iCPD"]
    assert r.progression_day[0] == 3 * 42.0
    assert r.pseudoprogression[0]


def test_irecist_unconfirmed_iupd_at_the_end_counts_as_unconfirmed_progression():
    r = one([100.0, 90.0, 130.0], criteria="irecist")
    assert list(r.timepoint[0]) == ["BL", "iSD", "iUPD"]
    assert r.best_overall_response[0] == "iSD"
    assert r.progression_day[0] == 84.0 and not r.progression_confirmed[0]
    r = one([100.0, 130.0], criteria="irecist")
    assert r.best_overall_response[0] == "iUPD"


# ----------------------------------------------------------------------------------------------
# cells -> volume -> diameters (population.md §3.2) and measurement noise
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 5])
def test_partial_response_is_a_65_7_percent_volume_fall(k):
    # population.md §3.2: PR (-30 % in the sum) is V/V0 = 0.7^3 = 0.343, whatever the number of lesions
    c0 = tumour_cells(74.0 * k, n_lesions=k)
    cells = np.array([[c0, 0.343 * c0], [c0, 0.35 * c0], [c0, 1.728 * c0], [c0, 1.70 * c0]])
    sld = sum_of_diameters(cells, n_lesions=k)
    r = assess_response(sld, ScanSchedule((0.0, 42.0)), n_lesions=k)
    assert r.percent_change[0, 1] == pytest.approx(-30.0, abs=1e-9)
    assert list(r.timepoint[:, 1]) == ["PR", "SD", "PD", "SD"]  # 1.728 = 1.2^3 -> +20 % (+14.8 mm per lesion)


def test_measurement_noise_is_seeded_per_patient_and_chunk_invariant():
    rng = np.random.default_rng(0)
    sld = 40.0 + 60.0 * rng.random((12, 9))
    crit = ResponseCriteria(noise=MeasurementNoise(sd_mm=2.0, cv=0.05))
    full = assess_response(sld, Q6W, n_lesions=3, criteria=crit, seed=11)
    parts = [
        assess_response(sld[a:b], Q6W, n_lesions=3, criteria=crit, seed=11, patient_index=np.arange(a, b))
        for a, b in ((0, 5), (5, 12))
    ]
    np.testing.assert_array_equal(full.sld_mm, np.concatenate([p.sld_mm for p in parts]))
    np.testing.assert_array_equal(full.best_overall_response, np.concatenate([p.best_overall_response for p in parts]))
    again = assess_response(sld, Q6W, n_lesions=3, criteria=crit, seed=11)
    np.testing.assert_array_equal(full.sld_mm, again.sld_mm)
    other = assess_response(sld, Q6W, n_lesions=3, criteria=crit, seed=12)
    assert not np.array_equal(full.sld_mm, other.sld_mm)
    # RECIST and iRECIST readings of the same trial see the same measurements
    ir = assess_response(sld, Q6W, n_lesions=3, criteria=ResponseCriteria("irecist", noise=crit.noise), seed=11)
    np.testing.assert_array_equal(full.sld_mm, ir.sld_mm)


def test_measurement_noise_has_the_stated_spread():
    # per-lesion sd 2 mm on 1 lesion of 50 mm (cv 0): recorded - true ~ N(0, 2^2); 2000 x 9 draws
    sld = np.full((2000, 9), 50.0)
    crit = ResponseCriteria(noise=MeasurementNoise(sd_mm=2.0))
    r = assess_response(sld, Q6W, criteria=crit, seed=3)
    err = r.sld_mm - 50.0
    # sd of the sample sd with 18000 draws is 2/sqrt(2*18000) = 0.0105 mm: 5 sd tolerance
    assert err.std() == pytest.approx(2.0, abs=0.053)
    assert abs(err.mean()) < 5 * 2.0 / math.sqrt(err.size)
    # K lesions each with sd 2 mm: the sum has sd 2*sqrt(K)
    r3 = assess_response(np.full((2000, 9), 150.0), Q6W, n_lesions=3, criteria=crit, seed=3)
    assert (r3.sld_mm - 150.0).std() == pytest.approx(2.0 * math.sqrt(3), abs=0.09)


# ----------------------------------------------------------------------------------------------
# input errors
# ----------------------------------------------------------------------------------------------
def test_input_errors_name_the_field():
    with pytest.raises(ValidationError) as err:
        assess_response(np.ones((3, 4)) * 50, Q6W)
    assert err.value.field == "sld_mm"
    with pytest.raises(ValidationError) as err:
        assess_response(np.ones(9) * 50, Q6W)
    assert err.value.field == "sld_mm"
    with pytest.raises(ValidationError) as err:
        assess_response(-np.ones((2, 9)), Q6W)
    assert err.value.field == "sld_mm"
    with pytest.raises(ValidationError) as err:
        assess_response(np.ones((2, 9)) * 50, Q6W, n_lesions=[1, 11])
    assert err.value.field == "n_lesions"
    with pytest.raises(ValidationError) as err:
        assess_response(np.ones((2, 9)) * 50, Q6W, n_lesions=[1, 2, 3])
    assert err.value.field == "n_lesions"
    with pytest.raises(ValidationError) as err:
        assess_response(np.ones((2, 9)) * 50, Q6W, criteria=ResponseCriteria(noise=MeasurementNoise(sd_mm=1)))
    assert err.value.field == "seed"
    with pytest.raises(ValidationError) as err:
        assess_response(np.ones((2, 9)) * 50, Q6W, patient_index=[0, -1])
    assert err.value.field == "patient_index"
    with pytest.raises(UnknownNameError) as err:
        assess_response(np.ones((2, 9)) * 50, Q6W, criteria="irRC")
    assert err.value.field == "criteria" and "irecist" in str(err.value)


def test_criteria_from_mapping_rejects_unknown_options():
    c = ResponseCriteria.from_mapping({"criteria": "irecist", "confirm": True, "noise": {"sd_mm": 1.5}})
    assert c.criteria == "irecist" and c.confirm and c.noise == MeasurementNoise(sd_mm=1.5)
    with pytest.raises(UnknownNameError) as err:
        ResponseCriteria.from_mapping({"criteria": "recist1.1", "confirmation": True})
    assert "confirmation" in str(err.value)
    with pytest.raises(UnknownNameError):
        ResponseCriteria.from_mapping({"noise": {"sd": 1.0}})
    with pytest.raises(ValidationError) as err:
        ResponseCriteria(pr_fraction=1.3)
    assert err.value.field == "pr_fraction"
    with pytest.raises(ValidationError) as err:
        MeasurementNoise(sd_mm=-1)
    assert err.value.field == "sd_mm"
