"""Kirschner & Panetta 1998: thresholds, equilibria, time courses (../shared/reference/models.md §1).

Values marked [computed] in the notes were integrated on ln T with LSODA/Radau at rtol <= 1e-9;
those printed with 5-6 significant figures are compared at rel 1e-4 (one unit in the last printed
place), those printed with 2-3 figures at the precision printed.
"""

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.signal import find_peaks

from oncoimmune import Status, get_model, simulate

KP = get_model("kirschner_panetta_1998")
P = {p.name: p.value for p in KP.parameters}


def test_aci_threshold_formula():
    # §1.5(1): s1,cr = r2 g2 mu2 / a = 540, the tumour-free equilibrium's stability bound
    assert P["r2"] * P["g2"] * P["mu2"] / P["a"] == pytest.approx(540.0)


def test_il2_alone_threshold_formula():
    # §1.5(2): s2 > mu3 mu2 g1 / (p1 - mu2) = 6.349e7 makes effectors grow without bound
    assert P["mu3"] * P["mu2"] * P["g1"] / (P["p1"] - P["mu2"]) == pytest.approx(6.349e7, rel=1e-4)


def test_regression_time_course_from_curated_sbml_initial_conditions():
    # §1.7 table: (E, T, I_L) = (0, 1, 0), c = 0.035, paper form
    t = [25, 50, 100, 150, 200, 500]
    expected = np.array(
        [
            [14.918, 89.946, 0.5949],
            [1299.35, 7548.87, 562.80],
            [38128.1, 1595.83, 11842],
            [8821.1, 618.37, 1680.3],
            [31206.3, 71825.7, 15310.7],
            [16549.9, 30044.3, 7980.3],
        ]
    )
    res = simulate(KP, times=t, rtol=1e-10)
    np.testing.assert_allclose(res.y[0], expected, rtol=1e-4)


def test_sbml_variant_differs_only_slightly():
    # §1.6: T(150) = 618.37 (paper form) vs 618.35 (BIOMD0000000732 form)
    paper = simulate(KP, times=[0, 150], rtol=1e-10)
    sbml = simulate(KP, variant="sbml", times=[0, 150], rtol=1e-10)
    assert paper["T"][0, -1] == pytest.approx(618.37, abs=0.006)
    assert sbml["T"][0, -1] == pytest.approx(618.35, abs=0.006)


def test_il2_alone_threshold_dynamics():
    # §1.5(2) check: c = 0.035, IC (1e4, 1e5, 1e3); E at days 500/1000/2000
    res = simulate(
        KP,
        {"s2": [6.3e7, 6.4e7]},
        params={"c": 0.035},
        init={"E": 1e4, "T": 1e5, "IL": 1e3},
        times=[0, 500, 1000, 2000],
        rtol=1e-10,
    )
    np.testing.assert_allclose(res["E"][0, 1:], [8.17e4, 7.48e4, 6.27e4], rtol=6e-4)  # slow decline
    np.testing.assert_allclose(res["E"][1, 1:], [9.73e4, 1.07e5, 1.28e5], rtol=5e-3)  # unbounded growth


def test_aci_scan():
    # §1.7 ACI scan: c = 0.035, IC (1e4, 1e5, 1e3): tail T = 6.96e-5 at s1 = 540, below 1e-6 at s1 >= 550
    t = np.linspace(0, 3000, 301)
    res = simulate(
        KP,
        {"s1": [540.0, 550.0, 600.0]},
        params={"c": 0.035},
        init={"E": 1e4, "T": 1e5, "IL": 1e3},
        times=t,
        rtol=1e-10,
    )
    T = res["T"]
    assert T[0, -1] == pytest.approx(6.96e-5, rel=1e-3)
    assert np.all(T[1:, -1] < 1e-6)


def test_aci_clears_only_locally_without_antigenicity():
    # §1.7: c = 0, s1 = 1000 clears T(0) = 1 but not T(0) = 1e5 or 1e7 (those go to ~1e9)
    res = simulate(
        KP,
        {"init.T": [1.0, 1e5, 1e7]},
        params={"c": 0.0, "s1": 1000.0},
        init={"E": 1.0, "IL": 1.0},
        times=[0, 3000],
        rtol=1e-10,
    )
    T = res["T"][:, -1]
    assert T[0] < 1e-6
    np.testing.assert_allclose(T[1:], 1e9, rtol=0.01)


@pytest.mark.parametrize(
    ("c", "E", "T", "I"),
    [
        (0.02, 24634, 36859, 11991),
        (0.035, 21275, 18198, 10083),
        (0.05, 20174, 12081, 9316.1),
        (1e-3, 9.6127e6, 5.6502e7, 4.8063e6),
    ],
)
def test_interior_equilibria(c, E, T, I):
    # §1.7 table: T* solves c T - mu2 E + p1 E I/(g1 + I) = 0 on the nullclines; the model's rhs
    # must vanish there.
    p = KP.parameter_values(c=c)

    def on_nullclines(t):
        e = P["r2"] * (1 - P["b"] * t) * (P["g2"] + t) / P["a"]
        i = P["p2"] * e * t / (P["mu3"] * (P["g3"] + t))
        return e, i

    def g(t):
        e, i = on_nullclines(t)
        return c * t - P["mu2"] * e + P["p1"] * e * i / (P["g1"] + i)

    grid = np.geomspace(1e2, 9.99e8, 4000)
    vals = np.array([g(x) for x in grid])
    roots = [
        brentq(g, grid[k], grid[k + 1], xtol=1e-12, rtol=1e-14)
        for k in np.flatnonzero(np.sign(vals[:-1]) != np.sign(vals[1:]))
    ]
    t_star = min(roots, key=lambda r: abs(r - T))
    e_star, i_star = on_nullclines(t_star)
    np.testing.assert_allclose([e_star, t_star, i_star], [E, T, I], rtol=1e-4)
    dy = KP.rhs_numpy([e_star, t_star, i_star], p)
    assert np.all(np.abs(dy) <= 1e-9 * np.array([e_star, t_star, i_star]))


def test_stable_focus_above_hopf_point_is_reached():
    # §1.7: c = 0.04 (> c_H = 0.032464) damps to the stable focus (E*, T*, I*) = (20802, 15570, 9773.4)
    res = simulate(KP, params={"c": 0.04}, init={"E": 1.0, "T": 1.0, "IL": 1.0}, times=[0, 6000], rtol=1e-10)
    np.testing.assert_allclose(res.y[0, -1], [20802, 15570, 9773.4], rtol=2e-4)


@pytest.mark.parametrize(
    ("c", "lo", "hi", "period"),
    [(0.02, 1.3e-4, 3.76e5, 242), (0.025, 19, 1.66e5, 151), (0.03, 2.0e3, 7.0e4, 107)],
)
def test_limit_cycles_below_hopf_point(c, lo, hi, period):
    # §1.7: from (1, 1, 1), tail statistics over t in [1500, 3000] d; ranges printed to 2-3 figures
    # (compared at rel 0.02), periods to the day (compared at +-1.5 d).
    t = np.linspace(0, 3000, 6001)
    res = simulate(KP, params={"c": c}, init={"E": 1.0, "T": 1.0, "IL": 1.0}, times=t, rtol=1e-8, max_steps=1_000_000)
    assert res.statuses == [Status.OK]
    tail = res["T"][0, t >= 1500]
    assert tail.min() == pytest.approx(lo, rel=0.04)
    assert tail.max() == pytest.approx(hi, rel=0.02)
    peaks, _ = find_peaks(np.log(tail))
    assert (peaks[-1] - peaks[0]) / (len(peaks) - 1) * (t[1] - t[0]) == pytest.approx(period, abs=1.5)


def test_low_antigenicity_tumours_grow_to_carrying_capacity_and_moderate_ones_go_extinct():
    # §1.7: c <= 5e-5 -> T ~ 9.9e8; 1e-4 <= c <= 0.01: the first immune wave drives T below 1e-300
    res = simulate(
        KP, {"c": [1e-5, 5e-5, 1e-4, 1e-3, 0.01]}, init={"E": 1.0, "T": 1.0, "IL": 1.0}, times=[0, 3000], rtol=1e-8
    )
    T = res["T"][:, -1]
    np.testing.assert_allclose(T[:2], [9.9808e8, 9.8837e8], rtol=1e-4)
    assert np.all(T[2:] == 0.0)  # numerical extinction, never negative
