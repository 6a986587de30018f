"""de Pillis & Radunskaya 2003, normalised model (../shared/reference/models.md §10.3).

The reference values in §10.3 are [computed] and printed with three significant figures; they
are compared at half a unit in the last printed digit (abs 5e-4 for 0.436, 5e-5 for 0.0177),
i.e. they must round to the printed value. Equilibria that follow in closed form from the
equations are compared tightly.
"""

import math

import numpy as np
import pytest

from oncoimmune import Infusion, Regimen, Status, get_model, simulate

DP = get_model("de_pillis_2003")
P = {p.name: p.value for p in DP.parameters}


def test_without_drug_and_with_constant_drug():
    # Patient 0: no drug. §10.3: (N, T, I) = (0.673, 0.333, 0.632) at day 10 and the coexistence
    # state (0.436, 0.564, 0.436) by day 150.
    # Patient 1: constant v = 1. §10.3: T -> 0, N -> 0.937, I -> 1.011.
    res = simulate(DP, {"v": [0.0, 1.0]}, times=[0, 10, 150, 500], rtol=1e-10)
    assert res.statuses == [Status.OK, Status.OK]
    N, T, I = res["N"], res["T"], res["I"]
    assert (N[0, 1], T[0, 1], I[0, 1]) == (
        pytest.approx(0.673, abs=5e-4),
        pytest.approx(0.333, abs=5e-4),
        pytest.approx(0.632, abs=5e-4),
    )
    assert (N[0, 2], T[0, 2], I[0, 2]) == (
        pytest.approx(0.436, abs=5e-4),
        pytest.approx(0.564, abs=5e-4),
        pytest.approx(0.436, abs=5e-4),
    )
    # "By day 150" is still an approach: the coexistence equilibrium reached later is
    # (0.4352, 0.5648, 0.4352) [computed], about 1e-3 from the day-150 state. Check it is one.
    assert np.max(np.abs(DP.rhs_numpy(res.y[0, 3], DP.parameter_values()))) < 1e-9
    assert np.max(np.abs(res.y[0, 3, :3] - res.y[0, 2, :3])) < 2e-3

    assert N[1, -1] == pytest.approx(0.937, abs=5e-4)
    assert I[1, -1] == pytest.approx(1.011, abs=5e-4)
    assert T[1, -1] < 1e-20
    # Closed form of the tumour-free equilibrium under u* = v/d2 (module docstring):
    # N* = (1 - a3 k / r2) / b2, I* = s / (d1 + a1 k), k = 1 - exp(-u*).
    k = 1.0 - math.exp(-1.0 / P["d2"])
    assert N[1, -1] == pytest.approx((1 - P["a3"] * k / P["r2"]) / P["b2"], rel=1e-8)
    assert I[1, -1] == pytest.approx(P["s"] / (P["d1"] + P["a1"] * k), rel=1e-8)
    assert res["u"][1, -1] == pytest.approx(1.0 / P["d2"], rel=1e-8)


def test_twenty_days_of_drug_reach_the_tumour_free_state():
    # §10.3: v = 1 for days 0-20 (an Infusion on the input v) gives (N, T, I) = (0.978, 0.0177, 1.396)
    # at day 50 and then the tumour-free state (1, 0, s/d1 = 1.65).
    regimen = Regimen((Infusion("v", 1.0, ((0.0, 20.0),)),))
    res = simulate(DP, regimen=regimen, times=[0, 20, 50, 200, 500], rtol=1e-10)
    assert res.statuses == [Status.OK]
    N, T, I, u = (res[s][0] for s in ("N", "T", "I", "u"))
    assert N[2] == pytest.approx(0.978, abs=5e-4)
    assert T[2] == pytest.approx(0.0177, abs=5e-5)
    assert I[2] == pytest.approx(1.396, abs=5e-4)
    # drug: u(20) = 1 - exp(-20) during the infusion (d2 = 1), then first-order decay
    assert u[1] == pytest.approx(1.0 - math.exp(-20.0), rel=1e-9)
    assert N[-1] == pytest.approx(1.0, abs=1e-12)
    assert I[-1] == pytest.approx(P["s"] / P["d1"], rel=1e-10)
    # At the tumour-free state ln T falls at the eigenvalue r1 - c2 s/d1 - c3 = -0.325/day.
    slope = (math.log(T[-1]) - math.log(T[-2])) / 300.0
    assert slope == pytest.approx(P["r1"] - P["c2"] * P["s"] / P["d1"] - P["c3"], rel=1e-6)
