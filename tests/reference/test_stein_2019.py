"""Stein 2019 tisagenlecleucel cellular kinetics: the ODE against the paper's analytic solution.

Reference (pharmacology.md §4.3; models.md §8.3; Stein AM et al., CPT:PSP 2019;8:285, Table 1, Figure 2 and
Discussion, transcribed in nlmixr2lib Stein_2019_Tisagenlecleucel.R): typical foldx 3900, Tmax 9.3 d, Cmax
24,000 copies/ug, alpha 0.16 /d, FB 0.0079, beta 0.0032 /d, and

    C(t) = (Cmax/foldx) exp(rho t)                                      for t < Tmax,  rho = ln(foldx)/Tmax
    C(t) = Cmax [(1 - FB) exp(-alpha (t - Tmax)) + FB exp(-beta (t - Tmax))]   for t >= Tmax.

The ODE is integrated with rtol 1e-10, so agreement with the closed form is required to 1e-7 relative (the kink at
Tmax is an integration restart in the engine). The paper's rounded derived values (doubling time 0.78 d, half-lives
4.3 d and about 220 d) are checked to their printed precision.
"""

import math

import numpy as np
import pytest

from oncoimmune import ValidationError, simulate
from oncoimmune.models.stein_2019_car_t_kinetics import CMAX, FB, FOLDX, TMAX, initial_state
from oncoimmune.treatments import get_drug

ALPHA, BETA = 0.16, 0.0032
RHO = math.log(FOLDX) / TMAX
TIGHT = 1e-7


def _analytic(t, cmax=CMAX, foldx=FOLDX, tmax=TMAX, alpha=ALPHA, fb=FB, beta=BETA):
    t = np.asarray(t, dtype=float)
    rho = math.log(foldx) / tmax
    s = t - tmax
    return np.where(
        t < tmax,
        cmax / foldx * np.exp(rho * t),
        cmax * ((1 - fb) * np.exp(-alpha * s) + fb * np.exp(-beta * s)),
    )


def _run(times, **kw):
    res = simulate("stein_2019_car_t_kinetics", times=times, rtol=1e-10, atol=1e-12, **kw)
    assert res.status_counts() == {"ok": res.n_patients}
    return res, res["E"] + res["M"]


def test_typical_trajectory_equals_the_analytic_solution():
    t = np.unique(np.concatenate([np.linspace(0, 28, 57), [TMAX], np.linspace(28, 365, 50)]))
    _, level = _run(t, variant="tisagenlecleucel_b_all")
    np.testing.assert_allclose(level[0], _analytic(t), rtol=TIGHT)


def test_cmax_is_reached_at_tmax_and_is_the_maximum():
    t = np.unique(np.concatenate([np.linspace(0, 20, 401), [TMAX]]))
    _, level = _run(t)
    i = int(np.argmax(level[0]))
    # Stein 2019 Table 1: Cmax 24,000 copies/ug at Tmax 9.3 days
    assert t[i] == pytest.approx(TMAX, abs=1e-12)
    assert level[0, i] == pytest.approx(24000.0, rel=TIGHT)
    # initial level R0 = Cmax/foldx = 6.1538 copies/ug (Figure 2 initial conditions)
    assert level[0, 0] == pytest.approx(24000 / 3900, rel=1e-12)


def test_expansion_rate_and_doubling_time():
    t = np.array([1.0, 2.0, 5.0, 8.0])
    _, level = _run(t)
    rho = np.diff(np.log(level[0])) / np.diff(t)
    np.testing.assert_allclose(rho, RHO, rtol=TIGHT)
    # rho = ln(3900)/9.3 = 0.8891 /day (pharmacology.md §4.3: 0.889 /d, 3 decimals);
    # Stein 2019 Discussion: doubling time 0.78 day (2 decimals)
    assert RHO == pytest.approx(0.889, abs=5e-4)
    assert math.log(2) / rho[-1] == pytest.approx(0.78, abs=0.005)


def test_alpha_phase_is_the_effector_contraction():
    # After Tmax the effector-like pool E decays exactly at alpha; the total C is dominated by it for
    # weeks: at t - Tmax = 10 days, (1 - FB) e^{-1.6} = 0.200 vs FB e^{-0.032} = 0.0077.
    t = np.array([TMAX + 5, TMAX + 10, TMAX + 20])
    res, _ = _run(t)
    e = res["E"][0]
    np.testing.assert_allclose(np.diff(np.log(e)) / np.diff(t), -ALPHA, rtol=TIGHT)
    # Stein 2019: initial decline half-life 4.3 days (ln2/0.16 = 4.33)
    assert math.log(2) / ALPHA == pytest.approx(4.3, abs=0.05)


def test_beta_phase_is_the_memory_like_persistence():
    # From about 6 months the fast component is negligible (e^{-0.16*170} = 1.5e-12 relative), so the
    # slope of ln C is -beta.
    t = np.array([180.0, 270.0, 365.0])
    res, level = _run(t)
    np.testing.assert_allclose(np.diff(np.log(level[0])) / np.diff(t), -BETA, rtol=1e-7)
    np.testing.assert_allclose(np.diff(np.log(res["M"][0])) / np.diff(t), -BETA, rtol=TIGHT)
    # terminal half-life ln2/0.0032 = 216.6 days; Stein 2019 quotes about 220 days (2 significant figures)
    assert math.log(2) / BETA == pytest.approx(220, rel=0.02)
    # FB of the peak persists: C(t) -> FB Cmax e^{-beta (t - Tmax)}
    assert level[0, 0] == pytest.approx(FB * CMAX * math.exp(-BETA * (180 - TMAX)), rel=1e-7)


def test_other_patients_through_parameters_and_initial_state():
    # A batch with individual foldx, Tmax, alpha, beta and (through the initial state) Cmax and FB.
    pats = [
        {"foldx": 1000.0, "Tmax": 7.0, "alpha": 0.3, "beta": 0.01, "cmax": 5000.0, "fb": 0.02},
        {"foldx": 20000.0, "Tmax": 12.0, "alpha": 0.1, "beta": 0.002, "cmax": 80000.0, "fb": 0.005},
    ]
    table = {k: [p[k] for p in pats] for k in ("foldx", "Tmax", "alpha", "beta")}
    for state in ("E", "M"):
        table[f"init.{state}"] = [initial_state(p["cmax"], p["foldx"], p["fb"])[state] for p in pats]
    t = np.unique(np.concatenate([np.linspace(0, 60, 61), [7.0, 12.0], [200.0]]))
    res = simulate("stein_2019_car_t_kinetics", table, times=t, rtol=1e-10, atol=1e-12)
    level = res["E"] + res["M"]
    for i, p in enumerate(pats):
        want = _analytic(t, p["cmax"], p["foldx"], p["Tmax"], p["alpha"], p["fb"], p["beta"])
        np.testing.assert_allclose(level[i], want, rtol=TIGHT)


def test_initial_state_rejects_impossible_values():
    with pytest.raises(
        ValidationError, match=r"'foldx' parameter of stein_2019_car_t_kinetics\.initial_state must be > 1"
    ):
        initial_state(24000, 0.5)
    with pytest.raises(ValidationError, match="'fb' parameter"):
        initial_state(24000, 3900, 1.5)
    with pytest.raises(ValidationError, match="'cmax' parameter"):
        initial_state(-1, 3900)


def test_drug_file_uses_the_model_and_measures_e_plus_m():
    tisa = get_drug("Kymriah")
    t, level, _ = tisa.simulate_cellular_kinetics([0.0, TMAX, 28.0, 365.0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(level, _analytic(t), rtol=TIGHT)
    assert tisa.cellular_kinetics.unit == "copies/ug"
    # the drug file's pd parameters are the model's typical values
    pd = {k: q.value for k, q in tisa.pd[0].parameters.items()}
    assert (pd["foldx"], pd["Tmax"], pd["Cmax"], pd["alpha"], pd["FB"], pd["beta"]) == (
        FOLDX,
        TMAX,
        CMAX,
        ALPHA,
        FB,
        BETA,
    )
    assert pd["rho"] == pytest.approx(RHO, abs=5e-5)
