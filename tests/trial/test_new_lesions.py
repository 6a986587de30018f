"""New lesions: the point process driven by the viable burden, their reading under RECIST 1.1 and
iRECIST, and their effect on a trial.

Rules: clinical.md §5.1 (RECIST 1.1: any new lesion is progression) and §5.2 (iRECIST: a new lesion
opens an iUPD; another new lesion or a 5 mm growth of the new lesions' sum confirms it); the process
is the module docstring of oncoimmune.trial._lesions.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_trial_run import BASE

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.trial import (
    NewLesionModel,
    ScanSchedule,
    assess_response,
    draw_new_lesion_days,
    run_trial,
    trial_spec_from_dict,
)

GRID = np.arange(0.0, 721.0, 7.0)
REF = 6.5e10


# ----------------------------------------------------------------------------------------------
# the process
# ----------------------------------------------------------------------------------------------
def test_constant_burden_gives_a_poisson_process_with_the_stated_rate():
    # at the reference burden the rate is lambda: the first lesion ~ Exp(lambda), the gaps too
    lam = 0.01
    n = 4000
    grid = np.arange(0.0, 3651.0, 7.0)  # ten years: P(fewer than 2 lesions) < 40 exp(-36.5)
    cells = np.full((n, grid.size), REF)
    days = draw_new_lesion_days(grid, cells, seed=3, model=NewLesionModel(rate_per_day=lam))
    first = days[:, 0]
    assert np.all(np.isfinite(days[:, :2]))
    # mean of Exp(0.01) is 100 days; its standard error over 4000 draws is 100/sqrt(4000) = 1.6 days
    assert abs(first.mean() - 1.0 / lam) < 4 * (1.0 / lam) / math.sqrt(n)
    gaps = days[:, 1] - days[:, 0]
    assert abs(gaps.mean() - 1.0 / lam) < 4 * (1.0 / lam) / math.sqrt(n)
    assert np.all(np.diff(days, axis=1) > 0)


def test_rate_follows_the_burden_with_the_exponent():
    # at 4x the reference burden with exponent 1 the rate is 4 lambda; with exponent 0.5, 2 lambda
    lam, n = 0.002, 4000
    cells = np.full((n, GRID.size), 4 * REF)
    for exponent, factor in ((1.0, 4.0), (0.5, 2.0)):
        model = NewLesionModel(rate_per_day=lam, exponent=exponent)
        first = draw_new_lesion_days(GRID, cells, seed=5, model=model)[:, 0]  # inf beyond 720 days: above the median
        median = math.log(2) / (factor * lam)  # 87 or 173 days
        # the sample median of 4000 exponentials has a relative SE of about 1/sqrt(4000) / log(2) = 2.3 %
        assert abs(np.median(first) - median) < 0.1 * median


def test_no_lesion_from_an_eradicated_tumour_or_at_rate_zero():
    cells = np.zeros((50, GRID.size))
    days = draw_new_lesion_days(GRID, cells, seed=1, model=NewLesionModel(rate_per_day=0.05))
    assert np.all(np.isinf(days))
    big = np.full((50, GRID.size), 100 * REF)
    assert np.all(np.isinf(draw_new_lesion_days(GRID, big, seed=1, model=NewLesionModel(rate_per_day=0.0))))


def test_a_lesion_depends_on_the_trajectory_before_it_only():
    # the trial's later passes stop dosing at progression, the scan that shows a lesion (a grid point at or
    # after its day): what happens after that grid point must not move it
    rng = np.random.default_rng(0)
    cells = REF * np.exp(rng.normal(0, 0.3, size=(200, GRID.size)))
    model = NewLesionModel(rate_per_day=0.01)
    days = draw_new_lesion_days(GRID, cells, seed=9, model=model)
    assert np.isfinite(days[:, 0]).sum() > 150
    changed = cells.copy()
    closes = np.full(200, np.inf)
    for i in np.flatnonzero(np.isfinite(days[:, 0])):
        closes[i] = GRID[np.searchsorted(GRID, days[i, 0])]
        changed[i, GRID > closes[i]] = 0.0  # the tumour vanishes after it
    again = draw_new_lesion_days(GRID, changed, seed=9, model=model)
    assert np.array_equal(again[:, 0], days[:, 0])
    # and a vanished tumour seeds fewer later lesions
    assert np.isfinite(again[:, 1]).sum() < np.isfinite(days[:, 1]).sum()


def test_draws_are_per_patient_whatever_the_chunking():
    rng = np.random.default_rng(1)
    cells = REF * np.exp(rng.normal(0, 0.5, size=(60, GRID.size)))
    model = NewLesionModel(rate_per_day=0.005)
    whole = draw_new_lesion_days(GRID, cells, seed=4, model=model, patient_index=np.arange(60))
    parts = np.vstack(
        [
            draw_new_lesion_days(GRID, cells[:25], seed=4, model=model, patient_index=np.arange(25)),
            draw_new_lesion_days(GRID, cells[25:], seed=4, model=model, patient_index=np.arange(25, 60)),
        ]
    )
    assert np.array_equal(whole, parts)


def test_a_failed_simulation_draws_nothing_after_its_last_finite_time():
    cells = np.full((300, GRID.size), 10 * REF)
    cells[:, 20:] = np.nan  # failed from day 140
    days = draw_new_lesion_days(GRID, cells, seed=2, model=NewLesionModel(rate_per_day=0.01))
    assert np.all(days[np.isfinite(days)] <= GRID[19])


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"rate_per_day": -0.1}, "rate_per_day"),
        ({"rate_per_day": float("nan")}, "rate_per_day"),
        ({"rate_per_day": 2.0}, "rate_per_day"),
        ({"rate_per_day": 0.01, "exponent": -1}, "exponent"),
        ({"rate_per_day": 0.01, "lesion_mm": 0}, "lesion_mm"),
        ({"rate_per_day": 0.01, "lesion_mm": 5}, "lesion_mm"),
        ({"exponent": 1.0}, "rate_per_day"),
    ],
)
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ValidationError) as err:
        NewLesionModel.from_mapping(options)
    assert err.value.field == field


def test_an_eradicated_tumour_seeds_nothing_whatever_the_exponent():
    cells = np.zeros((20, GRID.size))
    days = draw_new_lesion_days(GRID, cells, seed=1, model=NewLesionModel(rate_per_day=0.05, exponent=0.0))
    assert np.all(np.isinf(days))


def test_non_numeric_input_is_a_validation_error():
    with pytest.raises(ValidationError):
        draw_new_lesion_days(GRID, [["x"] * GRID.size], seed=1, model=NewLesionModel(rate_per_day=0.01))
    with pytest.raises(ValidationError) as err:
        assess_response(np.array([[100.0, 90.0]]), (0.0, 42.0), new_lesion_days=[["a"]])
    assert err.value.field == "new_lesion_days"
    with pytest.raises(ValidationError) as err:
        assess_response(np.array([[100.0, 90.0]]), (0.0, 42.0), new_lesion_days=[[1.0]], new_lesion_mm=4.0)
    assert err.value.field == "new_lesion_mm"


def test_unknown_option_and_empty_mapping():
    with pytest.raises(UnknownNameError):
        NewLesionModel.from_mapping({"rate": 0.01})
    assert NewLesionModel.from_mapping({}) is None


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------
SCANS = ScanSchedule(tuple(42.0 * i for i in range(8)))  # baseline, 42, ..., 294 days


def read(traj, new_days, criteria="recist1.1"):
    sld = np.array([traj], dtype=float)
    nl = np.array([new_days], dtype=float)
    return assess_response(sld, SCANS, criteria=criteria, new_lesion_days=nl)


def test_recist_a_new_lesion_is_progression_at_the_first_scan_that_shows_it():
    # the target sum responds (-40 %) but a lesion appears on day 50: PD at the day-84 scan
    r = read([100, 60, 55, 50, 50, 50, 50, 50], [50.0, np.inf])
    assert list(r.timepoint[0][:4]) == ["BL", "PR", "PD", "ND"]
    assert r.progression_day[0] == 84.0 and r.progression_by[0] == "new lesion"
    assert r.best_overall_response[0] == "PR"  # the response before it still counts
    assert r.new_lesion_day[0] == 84.0


def test_recist_progression_by_both_at_the_same_scan_and_by_target_only():
    both = read([100, 100, 130, 130, 130, 130, 130, 130], [60.0, np.inf])
    assert both.progression_day[0] == 84.0 and both.progression_by[0] == "target and new lesion"
    target = read([100, 100, 130, 130, 130, 130, 130, 130], [np.inf, np.inf])
    assert target.progression_by[0] == "target" and np.isnan(target.new_lesion_day[0])
    none = read([100] * 8, [np.inf, np.inf])
    assert not none.progression[0] and none.progression_by[0] == ""


def test_recist_no_complete_response_once_a_lesion_is_seen():
    r = read([100, 0, 0, 0, 0, 0, 0, 0], [100.0, np.inf])
    assert list(r.timepoint[0][:4]) == ["BL", "CR", "CR", "PD"]
    assert r.best_overall_response[0] == "CR"  # confirmed CR came before the lesion
    later = read([100, 100, 0, 0, 0, 0, 0, 0], [70.0, np.inf])
    assert later.timepoint[0][2] == "PD" and later.best_overall_response[0] == "SD"


def test_irecist_a_new_lesion_is_confirmed_by_another():
    r = read([100, 80, 80, 80, 80, 80, 80, 80], [50.0, 100.0], criteria="irecist")
    assert list(r.timepoint[0][:4]) == ["BL", "iSD", "iUPD", "iCPD"]
    assert r.progression_day[0] == 84.0 and r.progression_confirmed[0]
    assert r.progression_by[0] == "new lesion"


def test_irecist_new_lesions_are_confirmed_by_their_growth():
    # two lesions seen at day 84, 10 mm each when the target sum is 16 mm; at day 126 the sum is 20 mm (x 1.25):
    # each lesion is 12.5 mm, their sum +5 mm: iCPD. The target sum alone has grown 4 mm, not enough (5 mm), and
    # is not PD against its nadir (16 mm: +4 mm), so only the new lesions' growth confirms
    r = read([30, 16, 16, 20, 20, 20, 20, 20], [50.0, 60.0], criteria="irecist")
    assert list(r.timepoint[0][:4]) == ["BL", "iPR", "iUPD", "iCPD"]
    assert r.progression_day[0] == 84.0 and r.progression_confirmed[0]
    # one lesion growing the same way (+2.5 mm) does not confirm
    one_lesion = read([30, 16, 16, 20, 20, 20, 20, 20], [50.0, np.inf], criteria="irecist")
    assert list(one_lesion.timepoint[0][:4]) == ["BL", "iPR", "iUPD", "iUPD"]


def test_irecist_an_iupd_opened_by_a_new_lesion_is_confirmed_by_the_target_sum_meeting_pd():
    # the lesion opens the iUPD at day 84 (sum 59 mm, nadir 50); at day 126 the sum is 61 mm: +22 % and +11 mm
    # over the nadir (PD newly met by the targets) though only +2 mm over the iUPD scan
    r = read([100, 50, 59, 61, 61, 61, 61, 61], [50.0, np.inf], criteria="irecist")
    assert list(r.timepoint[0][:4]) == ["BL", "iPR", "iUPD", "iCPD"]
    assert r.progression_by[0] == "new lesion"


def test_irecist_more_lesions_than_scans_still_confirm_after_resets():
    # lesions come and go with the target sum; each reset acknowledges the lesions seen, and a later one opens
    # and then confirms a new episode: with three lesions drawn per patient the last episode could not be confirmed
    days = [50.0, 150.0, 230.0, 260.0]
    sched = ScanSchedule(tuple(42.0 * i for i in range(9)))
    sld = np.array([[100, 80, 80, 30, 80, 30, 80, 80, 80]], dtype=float)
    r = assess_response(sld, sched, criteria="irecist", new_lesion_days=np.array([days]))
    assert r.pseudoprogression[0] and r.progression_confirmed[0]
    assert r.timepoint[0][-2] == "iCPD"


def test_irecist_a_stable_new_lesion_keeps_the_iupd_open():
    r = read([100, 80, 80, 80, 80, 80, 80, 80], [50.0, np.inf], criteria="irecist")
    assert list(r.timepoint[0]) == ["BL", "iSD", "iUPD", "iUPD", "iUPD", "iUPD", "iUPD", "iUPD"]
    # still open when assessments end: unconfirmed progression at the iUPD's date
    assert r.progression_day[0] == 84.0 and not r.progression_confirmed[0]


def test_irecist_resets_once_the_new_lesion_has_gone():
    # the lesion, 10 mm at day 84 (sum 80), is below 5 mm once the sum is below 40 mm: reset to iPR at day 126,
    # pseudoprogression; a lesion gone before the reset does not open another episode
    r = read([100, 80, 80, 30, 30, 30, 30, 30], [50.0, np.inf], criteria="irecist")
    assert list(r.timepoint[0][:5]) == ["BL", "iSD", "iUPD", "iPR", "iPR"]
    assert r.pseudoprogression[0] and not r.progression[0]
    assert r.best_overall_response[0] == "iPR"


def test_new_lesion_days_are_checked():
    with pytest.raises(ValidationError) as err:
        assess_response(np.array([[100.0, 90.0]]), (0.0, 42.0), new_lesion_days=np.array([[-1.0]]))
    assert err.value.field == "new_lesion_days"
    with pytest.raises(ValidationError) as err:
        assess_response(np.array([[100.0, 90.0]]), (0.0, 42.0), new_lesion_days=np.array([1.0]))
    assert err.value.field == "new_lesion_days"


# ----------------------------------------------------------------------------------------------
# a trial
# ----------------------------------------------------------------------------------------------
def _trial(**changes):
    data = json.loads(json.dumps(BASE))
    data.update({"patients": 40, "seed": 21, "follow_up": {"months": 18}})
    data.update(changes)
    return run_trial(trial_spec_from_dict(data))


@pytest.fixture(scope="module")
def paired():
    return _trial(), _trial(new_lesions={"rate_per_day": 0.01})


def test_new_lesions_only_bring_progression_earlier(paired):
    # the same patients and draws: a new lesion can only add progression events, never delay one, because
    # its day depends on the trajectory before it (what dosing stopped at an earlier progression changes
    # comes after)
    off, on = (r.patients.sort_values("patient_id").reset_index(drop=True) for r in paired)
    assert (on["pfs_days"] <= off["pfs_days"] + 1e-9).all()
    assert (on["pfs_event"] | ~off["pfs_event"]).all()
    earlier = on["pfs_days"] < off["pfs_days"] - 1e-9
    assert earlier.any()
    assert set(on.loc[earlier, "progression_by"]) <= {"new lesion", "target and new lesion"}
    assert (off["progression_by"].isin(["", "target"])).all() and off["new_lesion_day"].isna().all()


def test_the_summary_reports_the_share_of_progressions_on_new_lesions_only(paired):
    off, on = paired
    for name, arm in on.summary["arms"].items():
        p = on.patients[(on.patients["arm"] == name) & on.patients["analysed"]]
        progressed = p["progression_by"] != ""
        expected = (p["progression_by"] == "new lesion").sum() / progressed.sum()
        assert arm["progression_new_lesions_only"] == pytest.approx(expected)
        assert off.summary["arms"][name]["progression_new_lesions_only"] == 0.0
    assert on.summary["provenance"]["new_lesions"]["rate_per_day"] == 0.01
    assert off.summary["provenance"]["new_lesions"] is None


def test_spec_new_lesions_errors_name_the_field():
    data = json.loads(json.dumps(BASE))
    data["new_lesions"] = {"rate_per_day": -1}
    with pytest.raises(ValidationError) as err:
        trial_spec_from_dict(data)
    assert "rate_per_day" in str(err.value)
    data["new_lesions"] = {"speed": 1}
    with pytest.raises(ValidationError) as err:
        trial_spec_from_dict(data)
    assert "speed" in str(err.value)


def test_the_report_shows_progression_on_new_lesions(paired, tmp_path):
    from oncoimmune.trial._report import _summary_table, report_figures

    off, on = paired
    table = _summary_table(on)
    assert "Progressions on new lesions alone" in table
    share = on.summary["arms"]["pembrolizumab"]["progression_new_lesions_only"]
    assert f"{100 * share:.1f} %" in table
    assert "Progressions on new lesions alone" not in _summary_table(off)
    swimmer = next(f for f in report_figures(on) if f.name == "swimmer")
    assert "purple: a new lesion" in swimmer.caption and swimmer.png.startswith(b"\x89PNG")
