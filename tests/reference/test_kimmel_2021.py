"""Kimmel, Locke & Altrock 2021 (../shared/reference/models.md §8.2).

The SBML-unit reproduction values of §8.2 are [computed] (deterministic, BIOMD0000001041) and
printed with 2-4 significant figures; they are compared at half a unit in the last printed digit,
and the progression days at +-1 day as the notes print whole days.
"""

import math

import numpy as np
import pytest

from oncoimmune import Status, get_model, simulate

KIM = get_model("kimmel_2021")
SBML = KIM.variants["sbml_units"]


def test_sbml_variant_reproduces_the_fig2_car_t_kinetics():
    # §8.2 reproduction: CAR T peak 30.11 cells/uL at t = 7.01 d; C(28) = 2.49, C(90) = 0.338,
    # C(180) = 0.0187; N -> K_N = 500 cells/uL. The peak is located on a 0.001-day grid.
    fine = np.arange(6.0, 8.0, 0.001)
    t = np.concatenate([[0.0], fine, [28.0, 90.0, 180.0, 400.0]])
    res = simulate(KIM, variant="sbml_units", times=t, rtol=1e-10)
    assert res.statuses == [Status.OK]
    C, N = res["C"][0], res["N"][0]
    i = int(np.argmax(C[: fine.size + 1]))
    assert C[i] == pytest.approx(30.11, abs=5e-3)
    assert t[i] == pytest.approx(7.01, abs=5e-3)
    assert C[-4] == pytest.approx(2.49, abs=5e-3)
    assert C[-3] == pytest.approx(0.338, abs=5e-4)
    assert C[-2] == pytest.approx(0.0187, abs=5e-5)
    assert N[-1] == pytest.approx(500.0, rel=1e-6)


def test_slow_tumour_is_driven_to_about_1e_minus_13_ml_and_progression_times():
    # §8.2: with r_B = 0.01 B falls to ~1e-13 ml (deterministically "extinct", never 0); the first
    # day with B >= 1.2 B0 is 351 / 194 / 137 for r_B = 0.105 / 0.19 / 0.265 (+-1 day).
    t = np.arange(0.0, 400.0 + 1e-9, 0.01)
    rB = [0.01, 0.105, 0.19, 0.265]
    res = simulate(KIM, {"r_B": rB}, variant="sbml_units", times=t, rtol=1e-10)
    assert res.statuses == [Status.OK] * 4
    B = res["B"]
    B0 = SBML.init["B"]
    assert round(math.log10(B[0].min())) == -13
    assert B[0].min() > 0.0
    first = []
    for row in B[1:]:
        above = np.flatnonzero((row >= 1.2 * B0) & (t > 1.0))
        first.append(t[above[0]])
    np.testing.assert_allclose(first, [351.0, 194.0, 137.0], atol=1.0)


def test_cell_unit_table_is_the_sbml_set_scaled():
    # §8.2: Table 1 (cells) vs BIOMD0000001041 (cells/uL, ml). The blood-volume factor from the
    # initial normal T cells, 3.00e9 / 6 = 5e8, must also convert C(0) and K_N exactly, and K_C,
    # k_B to the SBML values at their printed 3 significant figures; B converts at 1e9 cells/ml.
    cells = {p.name: p.value for p in KIM.parameters}
    factor = KIM.init["N"] / SBML.init["N"]
    assert factor == pytest.approx(5e8, rel=1e-12)
    assert KIM.init["C"] / SBML.init["C"] == pytest.approx(factor, rel=1e-12)
    assert cells["K_N"] / SBML.parameters["K_N"] == pytest.approx(factor, rel=1e-12)
    assert cells["K_C"] / factor == pytest.approx(SBML.parameters["K_C"], abs=0.5)  # 139.2 -> 139
    assert cells["K_C"] / factor != pytest.approx(SBML.parameters["K_C"], rel=1e-6)  # rounded, not exact
    assert cells["k_B"] / factor == pytest.approx(SBML.parameters["k_B"], abs=5e-3)  # 4.048 -> 4.05
    assert KIM.init["B"] / SBML.init["B"] == pytest.approx(1e9, rel=1e-12)
    assert set(SBML.parameters) == {"K_N", "K_C", "k_B"}  # every rate is shared by both variants


def test_cell_units_and_sbml_units_give_the_same_dynamics_up_to_scale():
    # The right-hand side is invariant under N, C, K_N, K_C, k_B -> factor * (...) and B -> 1e9 B.
    # With K_C and k_B set to the exact scaled SBML values the two variants must agree to solver
    # accuracy (rel 1e-6 at rtol 1e-10).
    t = [0.0, 7.0, 28.0, 90.0, 180.0]
    sbml = simulate(KIM, variant="sbml_units", times=t, rtol=1e-10)
    cells = simulate(KIM, params={"K_C": 139.0 * 5e8, "k_B": 4.05 * 5e8}, times=t, rtol=1e-10)
    assert sbml.statuses == cells.statuses == [Status.OK]
    np.testing.assert_allclose(cells.y[0], sbml.y[0] * np.array([5e8, 5e8, 1e9]), rtol=1e-6)
