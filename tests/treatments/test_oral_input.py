"""oral_input="continuous": daily oral kinase inhibitors spread over their dosing interval.

The spread input must give what dose-by-dose integration gives, where it matters for a trial (the
mean growth inhibition, the tumour over two years of dosing), at a small fraction of the solver's
steps; holds and reductions must still act on it.
"""

import math

import numpy as np
import pytest

from oncoimmune import Covariates, simulate_treatment
from oncoimmune.errors import ValidationError
from oncoimmune.treatments import get_drug
from oncoimmune.treatments._plan import plan_patient

COMBO = "dabrafenib 150 mg bid + trametinib 2 mg daily"
PATIENT = Covariates(weight_kg=80, height_cm=178, age_years=58, sex="male", pdl1=0.1, tmb=10)
# steady state (dabrafenib within a day, trametinib's 4-day half-life within about three weeks), then two
# whole days on a fine grid, then the rest of two years
STEADY = np.arange(100.0, 102.0, 0.002)
GRID = np.concatenate([np.arange(0.0, 100.0, 1.0), STEADY, np.arange(102.0, 731.0, 1.0)])


def _both(regimen: str, **kw):
    return {
        m: simulate_treatment("io_qsp", regimen, PATIENT, GRID, oral_input=m, **kw) for m in ("doses", "continuous")
    }


def test_a_twice_daily_dose_becomes_one_input_and_holds_and_reductions_still_act():
    plan = plan_patient(
        "io_qsp",
        COMBO,
        PATIENT,
        30.0,
        oral_input="continuous",
        withhold=[(10.0, 12.0, ["dabrafenib"]), (20.0, math.inf, ["trametinib"], 0.75)],
    )
    inputs = {(x.target, x.rate): x.intervals for x in plan.regimen.doses}
    # 300 mg/day of dabrafenib into its depot (150 mg every 12 h), paused for the four held doses of days
    # 10-11.5; the last dose (day 30) covers its own 12 hours
    assert inputs[("tk1_0", 300.0)] == ((0.0, 10.0), (12.0, 30.5))
    # trametinib 2 mg/day, then 1.5 mg/day from the reduction on day 20 to the end of the day-30 dose
    assert inputs[("tk2_0", 2.0)] == ((0.0, 20.0),)
    assert inputs[("tk2_0", 1.5)] == ((20.0, 31.0),)
    # the amount given is unchanged: 57 doses of 150 mg (days 0 to 30 every 12 h, less the 4 held)
    given = sum(rate * (hi - lo) for (target, rate), ivs in inputs.items() if target == "tk1_0" for lo, hi in ivs)
    doses = [a for a in plan.administrations if a.drug == "dabrafenib"]
    assert len(doses) == 57 and given == pytest.approx(150.0 * 57)


def test_the_spread_input_keeps_the_mean_inhibition_and_the_tumour_at_a_fraction_of_the_steps():
    for regimen in ("dabrafenib 150 mg bid", "trametinib 2 mg daily", COMBO):
        run = _both(regimen)
        assert run["doses"].result.ok.all() and run["continuous"].result.ok.all()
        out = {m: r.outputs() for m, r in run.items()}
        at = (GRID >= STEADY[0]) & (GRID <= STEADY[-1])
        mean = {m: o["targeted_effect"][0, at].mean() for m, o in out.items()}
        # the IC50 is chosen for one drug alone: exact up to the quadrature; for the doublet Bliss's product
        # of two fluctuating inhibitions is not the product of the means (measured 0.8277 vs 0.8320)
        assert mean["continuous"] == pytest.approx(mean["doses"], abs=0.002 if "+" not in regimen else 0.006)
        # what RECIST reads: the sum of diameters within 0.5 mm (1 % of the 50-mm baseline) throughout,
        # and the tumour within 6 % while it is above 1 % of its baseline (measured: at most 5.0 %, trametinib
        # alone near 3 % of baseline after 500 days of a slightly different decline; below 1 %, as it dies
        # out, a day's shift is a large relative difference of a small number)
        sld = {m: o["sld_mm"][0] for m, o in out.items()}
        np.testing.assert_allclose(sld["continuous"], sld["doses"], atol=0.5, rtol=0)
        cells = {m: o["tumour_cells"][0] for m, o in out.items()}
        big = cells["doses"] > 0.01 * cells["doses"][0]
        np.testing.assert_allclose(cells["continuous"][big], cells["doses"][big], rtol=0.06)
        # two years of twice-daily dosing: about 100,000 steps dose by dose, a few hundred spread
        assert run["continuous"].result.n_steps[0] < run["doses"].result.n_steps[0] / 100


def test_a_fast_eliminated_drug_gets_a_larger_ic50_and_a_slow_one_keeps_its_own():
    dab = plan_patient("io_qsp", COMBO, PATIENT, 30.0, oral_input="continuous").parameters
    doses = plan_patient("io_qsp", COMBO, PATIENT, 30.0).parameters
    assert doses["IC50_tk1"] == get_drug("dabrafenib").qsp_quantity("IC50").value
    # dabrafenib's concentration falls about 30-fold between doses: the troughs inhibit less than the mean
    # concentration would, so the spread input needs a weaker drug to inhibit as much
    assert dab["IC50_tk1"] > 2.0 * doses["IC50_tk1"]
    # trametinib (half-life days) hardly moves within a day
    assert dab["IC50_tk2"] == pytest.approx(doses["IC50_tk2"], rel=0.03)
    # everything else is the same plan
    assert {k: v for k, v in dab.items() if not k.startswith("IC50")} == {
        k: v for k, v in doses.items() if not k.startswith("IC50")
    }


def test_infusions_and_injections_are_not_touched():
    regimen = "nivolumab 240 mg q2w"
    run = {
        m: simulate_treatment("io_qsp", regimen, PATIENT, np.arange(0.0, 120.0, 7.0), oral_input=m)
        for m in ("doses", "continuous")
    }
    np.testing.assert_array_equal(run["continuous"].result.y, run["doses"].result.y)


def test_an_unknown_oral_input_is_an_error_naming_it():
    with pytest.raises(ValidationError, match="oral_input") as err:
        plan_patient("io_qsp", COMBO, PATIENT, 30.0, oral_input="smooth")
    assert "smooth" in str(err.value) and "continuous" in str(err.value)


def test_a_one_compartment_drug_is_spread_too_and_a_drug_never_cleared_is_an_error():
    # vemurafenib's PK is one compartment (Q = 0): its steady state is that of the depot and the central state
    run = _both("vemurafenib 960 mg bid")
    out = {m: r.outputs() for m, r in run.items()}
    at = (GRID >= STEADY[0]) & (GRID <= STEADY[-1])
    mean = {m: o["targeted_effect"][0, at].mean() for m, o in out.items()}
    assert mean["continuous"] == pytest.approx(mean["doses"], abs=0.002)
    # without clearance the doses accumulate for ever: no steady state to match, and the error names the parameter
    with pytest.raises(ValidationError, match="CL_tk1") as err:
        plan_patient("io_qsp", "vemurafenib 960 mg bid", PATIENT, 30.0, oral_input="continuous", params={"CL_tk1": 0.0})
    assert "continuous" in str(err.value)
