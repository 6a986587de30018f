"""Kuznetsov et al. 1994: nondimensional mapping and equilibria (../shared/reference/models.md §2).

Equilibria are found here independently of the engine: scipy root-finding on the model's own
right-hand side (evaluated in plain Python), classified by the eigenvalues of a finite-difference
Jacobian; the engine must then hold each of them steady and carry trajectories to the stable ones.
"""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from oncoimmune import Status, get_model, simulate
from oncoimmune.models.kuznetsov_1994 import nondimensional_parameters

KUZ = get_model("kuznetsov_1994")
P = {p.name: p.value for p in KUZ.parameters}
PV = KUZ.parameter_values()


def test_nondimensional_groups_match_the_published_values():
    # §2.2: E0 = T0 = 1e6, tau = n T0 t; published sigma = 0.1181, rho = 1.131, eta = 20.19,
    # mu = 0.00311, beta = 2.0e-3. Each must agree to half a unit in its last printed digit.
    g = nondimensional_parameters()
    assert g["sigma"] == pytest.approx(0.1181, abs=5e-5)
    assert g["rho"] == pytest.approx(1.131, abs=5e-4)
    assert g["eta"] == pytest.approx(20.19, abs=5e-3)
    assert g["mu"] == pytest.approx(0.00311, abs=5e-6)
    assert g["beta"] == pytest.approx(2.0e-3, abs=5e-5)


def test_published_delta_and_alpha_are_consistent_with_the_rounded_dimensional_values():
    # §2.2 publishes delta = 0.3743 and alpha = 1.636, but 0.0412/0.1101 = 0.37421 and
    # 0.18/0.1101 = 1.63488 (one unit off in the last digit): the dimensional d and a are rounded.
    # Mapped back (d = delta n T0, a = alpha n T0), the published groups round to the SBML d, a.
    g = nondimensional_parameters()
    assert g["delta"] == pytest.approx(0.0412 / 0.1101, rel=1e-12)
    assert g["alpha"] == pytest.approx(0.18 / 0.1101, rel=1e-12)
    rate = P["n"] * 1e6
    assert round(0.3743 * rate, 4) == P["d"]  # 0.041210 -> 0.0412
    assert round(1.636 * rate, 2) == P["a"]  # 0.180124 -> 0.18


def test_nondimensional_system_is_the_dimensional_one_rescaled():
    # §2.2: dx/dtau = (dE/dt) / (n T0 E0), dy/dtau = (dT/dt) / (n T0 T0) at x = E/E0, y = T/T0.
    g = nondimensional_parameters()
    E, T, E0, T0 = 7.3e5, 3.1e7, 1e6, 1e6
    x, y = E / E0, T / T0
    dx = g["sigma"] + g["rho"] * x * y / (g["eta"] + y) - g["mu"] * x * y - g["delta"] * x
    dy = g["alpha"] * y * (1 - g["beta"] * y) - x * y
    dE, dT = KUZ.rhs_numpy([E, T], PV)
    tau_rate = P["n"] * T0
    assert dx == pytest.approx(dE / (tau_rate * E0), rel=1e-12)
    assert dy == pytest.approx(dT / (tau_rate * T0), rel=1e-12)


def _interior_equilibria():
    # dT/dt = 0 with T > 0 gives E = a (1 - b T) / n; substitute into dE/dt and bracket the roots.
    def h(T):
        return KUZ.rhs_numpy([P["a"] * (1 - P["b"] * T) / P["n"], T], PV)[0]

    grid = np.logspace(0, math.log10(1 / P["b"]) - 1e-9, 20001)
    vals = np.array([h(T) for T in grid])
    roots = []
    for i in np.flatnonzero(np.sign(vals[:-1]) != np.sign(vals[1:])):
        T = brentq(h, grid[i], grid[i + 1], xtol=1e-6, rtol=1e-15)
        roots.append((P["a"] * (1 - P["b"] * T) / P["n"], T))
    return np.array(roots)


def _jacobian_eigenvalues(y):
    y = np.asarray(y, dtype=float)
    J = np.empty((2, 2))
    for k in range(2):
        h = 1e-6 * max(abs(y[k]), 1.0)
        up, dn = y.copy(), y.copy()
        up[k] += h
        dn[k] -= h
        J[:, k] = (KUZ.rhs_numpy(up, PV) - KUZ.rhs_numpy(dn, PV)) / (2 * h)
    return np.linalg.eigvals(J)


EQ = _interior_equilibria()


def test_three_interior_equilibria_dormant_focus_saddle_and_large_node():
    # [computed with scipy; module docstring]: a stable focus (T* ~ 8.19e6), a saddle
    # (T* ~ 2.68e8) and a stable node (T* ~ 4.47e8) below the carrying capacity 1/b = 5e8.
    assert EQ.shape == (3, 2)
    np.testing.assert_allclose(EQ[:, 1], [8.186e6, 2.680e8, 4.470e8], rtol=1e-4)
    focus, saddle, node = (_jacobian_eigenvalues(y) for y in EQ)
    assert np.all(focus.real < 0) and np.all(focus.imag != 0)
    assert np.sum(saddle.real > 0) == 1 and np.sum(saddle.real < 0) == 1
    assert np.all(node.real < 0) and np.all(node.imag == 0)


def test_equilibria_are_steady_under_simulate():
    # Every equilibrium, including the tumour-free (s/d, 0), must stay put. Over 100 days the
    # saddle amplifies a relative perturbation eps by exp(0.0357*100) ~ 35, so with rtol = 1e-10
    # a drift above 1e-7 would be an integration error, not instability.
    starts = np.vstack([EQ, [P["s"] / P["d"], 0.0]])
    res = simulate(KUZ, {"init.E": starts[:, 0], "init.T": starts[:, 1]}, times=[0, 50, 100], rtol=1e-10)
    assert res.statuses == [Status.OK] * 4
    for i, y in enumerate(starts):
        np.testing.assert_allclose(res.y[i, -1], y, rtol=1e-7, atol=0)


def test_curated_initial_state_spirals_into_the_dormant_tumour_and_large_tumours_escape():
    # From the BIOMD0000000762 state (3.2e5, 5e6) the tumour oscillates into the stable focus
    # (decay rate 0.0055/day: by day 3000 the distance has shrunk by ~1e-7). A state beside the
    # large node (E = 1e5, T = 4.8e8) goes to the node instead (the saddle separates the basins).
    res = simulate(KUZ, {"init.E": [3.2e5, 1e5], "init.T": [5e6, 4.8e8]}, times=[0, 100, 3000], rtol=1e-10)
    assert res.statuses == [Status.OK, Status.OK]
    np.testing.assert_allclose(res.y[0, -1], EQ[0], rtol=1e-5)
    np.testing.assert_allclose(res.y[1, -1], EQ[2], rtol=1e-5)
    # the first 100 days overshoot below the dormant size: a damped oscillation, not a monotone approach
    assert res["T"][0, 1] < EQ[0, 1]
