"""Reference runs of de Pillis, Gu & Radunskaya (2006), models.md §4.6.

The expected numbers are the [computed] regression targets of models.md §4.6 (log-T integration,
LSODA, rtol ~1e-9), printed to 2–3 significant figures. We compare them at ``REL = 2e-2``: a value
printed with 3 significant figures is exact to 0.5 %, one with 2 to 5 %, and 2 % leaves room for the
last printed digit without hiding a wrong equation (a wrong parameter moves these values by far more).

Sub-cell tumour sizes depend on the solver (models.md §12), so values below one cell that the note
prints are compared on a log scale, within a factor ``SUBCELL_FACTOR`` (order-of-magnitude check).

Independently of the note, ``test_engine_matches_independent_scipy_solution`` integrates a separate
transcription of the equations (models.md §4.1) with scipy's Radau at rtol 1e-11 and checks the
engine to 1e-5. That cross-check is what pins the values down; it shows that a few of the note's
numbers (listed in ``test_note_values_not_reproduced``) differ from the equations as written.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import oncoimmune as oi
from oncoimmune.models import get_model
from oncoimmune.treatments import Infusion, Regimen

MODEL = "de_pillis_2006"
TIMES = np.array([0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 150.0])
REL = 2e-2  # see the module docstring: values printed to 2-3 significant figures
SUBCELL_FACTOR = 1.5  # sub-cell values: log-scale agreement within a factor 1.5 (models.md §12)
RTOL = 1e-9  # the note's integration tolerance

# models.md §4.6 initial conditions: N0 = e*C*/f, L0 = 100, C0 = alpha/beta, M0 = I0 = 0.
IC = {"N": 3.155e5, "L": 100.0, "C": 6.25e10, "M": 0.0, "I": 0.0}

# models.md §4.4 / §4.6 schedules.
CHEMO_1 = Regimen((Infusion.repeat("v_M", 1.0, 1.0, 10.0, 9),), name="v_M = 1, 1 day every 10 days x9")
CHEMO_5 = Regimen((Infusion.repeat("v_M", 5.0, 1.0, 10.0, 9),), name="v_M = 5, 1 day every 10 days x9")
TIL = Regimen((Infusion("v_L", 1e9, ((7.0, 8.0),)),), name="TIL 1e9 cells/day on days 7-8")
IL2 = Regimen(
    (Infusion("v_I", 5e6, tuple((t, t + 0.45) for t in (8.0, 8.7, 9.4, 10.1, 10.8, 11.5))),),
    name="IL-2 5e6 IU/L/day, six 0.45-day pulses",
)


def _at(result, state: str, t: float, patient: int = 0) -> float:
    return float(result[state][patient, int(np.flatnonzero(result.t == t)[0])])


def _close(value: float, expected: float, rel: float = REL) -> bool:
    return value == pytest.approx(expected, rel=rel)


def _within_factor(value: float, expected: float, factor: float = SUBCELL_FACTOR) -> bool:
    return value > 0 and abs(math.log(value / expected)) <= math.log(factor)


def _run(variant: str, regimen: Regimen | None = None, t0s=(None,)):
    patients = None if t0s == (None,) else {"init.T": list(t0s)}
    res = oi.simulate(MODEL, patients, regimen, times=TIMES, variant=variant, init=IC, rtol=RTOL)
    assert (res.status == oi.Status.OK).all()
    return res


@pytest.fixture(scope="module")
def untreated9():
    return _run("patient9", t0s=(1e4, 1e5, 1e6, 1e7, 2e7))


@pytest.fixture(scope="module")
def untreated10():
    return _run("patient10", t0s=(1e4, 1e5, 1e6, 1e7))


# -- untreated ---------------------------------------------------------------------------------


def test_patient9_escapes_from_2e7(untreated9):
    # models.md §4.6: T(0) = 2e7 escapes, T(10) = 3.11e8, T(20) = 9.52e8, then 9.80e8; final N = 3.88, L = 2.86e6.
    k = 4
    assert _close(_at(untreated9, "T", 10.0, k), 3.11e8)
    assert _close(_at(untreated9, "T", 20.0, k), 9.52e8)
    assert _close(_at(untreated9, "T", 150.0, k), 9.80e8)
    assert _close(_at(untreated9, "N", 150.0, k), 3.88)
    assert _close(_at(untreated9, "L", 150.0, k), 2.86e6)


def test_patient9_clears_1e4_to_1e7(untreated9):
    # models.md §4.6: T(0) = 1e4, 1e5, 1e6, 1e7 are cleared fast, T(10) = 5.2e-5, 7.1e-4, 0.0115, 0.168.
    # All four are sub-cell, so only a log-scale check (models.md §12); the engine gives
    # 6.50e-5, 7.59e-4, 0.0124, 0.196, as does scipy Radau at rtol 1e-11 (see the cross-check test).
    for k, expected in enumerate((5.2e-5, 7.1e-4, 0.0115, 0.168)):
        t10 = _at(untreated9, "T", 10.0, k)
        assert _within_factor(t10, expected), (k, t10, expected)
        assert _at(untreated9, "T", 150.0, k) < 1e-100  # numerically extinct, not regrowing


def test_patient10_slow_control_and_escape(untreated10):
    # models.md §4.6, patient 10 (m = 9.12: slow control).
    assert _close(_at(untreated10, "T", 50.0, 0), 2.28)  # T(0) = 1e4
    # T(100) = 3.7e-4 is below 1e-3 cells: log-scale check (models.md §12); the engine gives 3.69e-4.
    assert _within_factor(_at(untreated10, "T", 100.0, 0), 3.7e-4)
    # T(0) = 1e5: T(50) = 72.6. The engine (and scipy Radau, rtol 1e-11) gives 73.89, 1.8 % above.
    assert _close(_at(untreated10, "T", 50.0, 1), 72.6)
    assert _close(_at(untreated10, "T", 50.0, 2), 5.85e4)  # T(0) = 1e6
    assert _close(_at(untreated10, "T", 100.0, 2), 16.0)
    # T(0) = 1e7 escapes: T(10) = 3.70e8 (engine and scipy: 3.634e8, 1.8 % below), final ~9.80e8.
    assert _close(_at(untreated10, "T", 10.0, 3), 3.70e8)
    assert _close(_at(untreated10, "T", 150.0, 3), 9.80e8)


def test_escape_thresholds(untreated9, untreated10):
    # models.md §4.6: the escape threshold lies between 1e7 and 2e7 for patient 9 and between 1e6
    # and 1e7 for patient 10, for these initial conditions.
    final9 = untreated9["T"][:, -1]
    final10 = untreated10["T"][:, -1]
    assert (final9[:4] < 1.0).all() and final9[4] > 9e8
    assert (final10[:3] < 1.0).all() and final10[3] > 9e8


# -- treated -----------------------------------------------------------------------------------


def test_patient9_chemo_clears():
    # models.md §4.6: patient 9, T(0) = 2e7, v_M = 1 for 1 day every 10 days x9:
    # T(10) = 85.4, T(20) = 1.9e-7 (cleared; sub-cell, log-scale check), C(150) = 3.86e10.
    res = _run("patient9", CHEMO_1)
    assert _close(_at(res, "T", 10.0), 85.4)
    assert _within_factor(_at(res, "T", 20.0), 1.9e-7)
    assert _close(_at(res, "C", 150.0), 3.86e10)
    # v_M = 5: T(10) = 0.437 (sub-cell; the engine gives 0.4366, so the 2 % check is also met).
    res5 = _run("patient9", CHEMO_5)
    assert _close(_at(res5, "T", 10.0), 0.437)


def test_patient9_til_and_il2_have_no_effect():
    # models.md §4.6: TIL (1e9 cells/day, days 7-8) with or without the IL-2 pulses, and IL-2 alone,
    # have no effect on patient 9 from T(0) = 2e7: T(10) ~ 2.9-3.1e8, then escape (the q*L*T
    # inactivation removes the infused cells within hours).
    for regimen in (TIL, TIL + IL2, IL2):
        res = _run("patient9", regimen)
        t10 = _at(res, "T", 10.0)
        assert 2.9e8 * (1 - REL) <= t10 <= 3.1e8 * (1 + REL), (regimen.name, t10)
        assert _close(_at(res, "T", 150.0), 9.80e8)


def test_patient10_chemo_delays_and_combination_escapes():
    # models.md §4.6, patient 10, T(0) = 1e7: chemo v_M = 5 x9 delays growth, T(10) = 4.56e7, T(50) = 7.32e8.
    res = _run("patient10", CHEMO_5)
    assert _close(_at(res, "T", 10.0), 4.56e7)
    assert _close(_at(res, "T", 50.0), 7.32e8)
    # chemo v_M = 5 + TIL + IL-2: T(10) = 4.69e6, T(20) = 2.74e7, then escape.
    combo = _run("patient10", CHEMO_5 + TIL + IL2)
    assert _close(_at(combo, "T", 10.0), 4.69e6)
    assert _close(_at(combo, "T", 20.0), 2.74e7)
    assert _at(combo, "T", 150.0) > 9e8


# These note values are above 1e-3 cells but differ from the engine, and from scipy Radau at rtol
# 1e-11 on an independent transcription of the equations, by more than REL:
#   patient 9 untreated T(10) from 1e6: 0.0115 (equations: 0.01240, +7.8 %)
#   patient 9 untreated T(10) from 1e7: 0.168  (equations: 0.1963, +17 %)
#   patient 9 chemo v_M = 1, T(5): 1.13e6      (equations: 1.1555e6, +2.3 %)
#   patient 9 chemo v_M = 5, T(5): 6.11e3      (equations: 6.656e3, +8.9 %)
# The same runs match the note at the dose times (T(10), T(20)) to 3-4 digits, which points at the
# note's output between restarts rather than at the model. Kept as strict xfails so that a change
# that makes one of them pass is noticed.
NOT_REPRODUCED = [
    pytest.param("patient9", None, 1e6, 10.0, 0.0115, id="untreated-1e6-T10"),
    pytest.param("patient9", None, 1e7, 10.0, 0.168, id="untreated-1e7-T10"),
    pytest.param("patient9", CHEMO_1, None, 5.0, 1.13e6, id="chemo1-T5"),
    pytest.param("patient9", CHEMO_5, None, 5.0, 6.11e3, id="chemo5-T5"),
]


@pytest.mark.xfail(strict=True, reason="models.md §4.6 value that the equations as written do not reproduce")
@pytest.mark.parametrize(("variant", "regimen", "T0", "t", "expected"), NOT_REPRODUCED)
def test_note_values_not_reproduced(variant, regimen, T0, t, expected):
    res = _run(variant, regimen, t0s=(T0,))
    assert _close(_at(res, "T", t), expected)


# -- independent cross-check -------------------------------------------------------------------


def _transcribed_rhs(z, prm, v_M):
    """models.md §4.1 written out again (plain power form of D), in (ln T, ln N, ln L, ln C, M, I)."""
    T, N, L, C = np.exp(z[:4])
    M, I = z[4], z[5]
    P = prm
    ratio = (L / T) ** P["l"]
    D = P["d"] * ratio / (P["s"] + ratio)
    kill = 1.0 - math.exp(-M)
    dT = P["a"] * T * (1 - P["b"] * T) - P["c"] * N * T - D * T - P["K_T"] * kill * T
    dN = P["e"] * C - P["f"] * N + P["g"] * T**2 / (P["h"] + T**2) * N - P["p"] * N * T - P["K_N"] * kill * N
    dL = (
        -P["m"] * L
        + P["j"] * D**2 * T**2 / (P["k"] + D**2 * T**2) * L
        - P["q"] * L * T
        + (P["r1"] * N + P["r2"] * C) * T
        - P["u"] * N * L**2
        - P["K_L"] * kill * L
        + P["p_I"] * L * I / (P["g_I"] + I)
    )
    dC = P["alpha"] - P["beta"] * C - P["K_C"] * kill * C
    dM = -P["gamma"] * M + v_M
    dI = -P["mu_I"] * I
    return np.array([dT / T, dN / N, dL / L, dC / C, dM, dI])


def _scipy_T(variant: str, T0: float, segments) -> float:
    from scipy.integrate import solve_ivp

    model = get_model(MODEL)
    prm = dict(zip(model.parameter_names, model.parameter_values(variant), strict=True))
    z = np.array([math.log(T0), math.log(IC["N"]), math.log(IC["L"]), math.log(IC["C"]), 0.0, 0.0])
    for a, b, v_M in segments:
        sol = solve_ivp(
            lambda t, z, v=v_M: _transcribed_rhs(z, prm, v), (a, b), z, method="Radau", rtol=1e-11, atol=1e-12
        )
        z = sol.y[:, -1]
    return math.exp(z[0])


def test_engine_matches_independent_scipy_solution():
    # Untreated clearance (patient 9, T(0) = 1e7, day 10), escape (patient 10, T(0) = 1e7, day 10)
    # and chemotherapy (patient 9, v_M = 5 on [0, 1), day 5): engine at rtol 1e-9 vs Radau at 1e-11.
    untreated9 = _run("patient9", t0s=(1e7,))
    untreated10 = _run("patient10", t0s=(1e7,))
    chemo5 = _run("patient9", CHEMO_5)
    checks = [
        (_at(untreated9, "T", 10.0), _scipy_T("patient9", 1e7, [(0.0, 10.0, 0.0)])),
        (_at(untreated10, "T", 10.0), _scipy_T("patient10", 1e7, [(0.0, 10.0, 0.0)])),
        (_at(chemo5, "T", 5.0), _scipy_T("patient9", 2e7, [(0.0, 1.0, 5.0), (1.0, 5.0, 0.0)])),
    ]
    for engine, reference in checks:
        assert engine == pytest.approx(reference, rel=1e-5)


# -- model details -----------------------------------------------------------------------------


def test_ratio_term_is_safe_at_zero_populations():
    # D = d (L/T)^l / (s + (L/T)^l): D = 0 when L = 0, D -> d when T -> 0 (no overflow, no NaN).
    model = get_model(MODEL)
    p = model.parameter_values("patient9")
    d = p[model.parameter_index("d")]
    for T, L in ((0.0, 100.0), (1e-300, 1e9), (1e9, 0.0), (0.0, 0.0)):
        dy = model.rhs_numpy(np.array([T, 3.155e5, L, 6.25e10, 0.0, 0.0]), p)
        assert np.isfinite(dy).all()
    # At T = 1e-300 with L = 1e9 the per-capita kill on T equals d (plus NK kill and growth).
    T = 1e-300
    y = np.array([T, 3.155e5, 1e9, 6.25e10, 0.0, 0.0])
    per_capita = model.rhs_numpy(y, p)[0] / T
    a, c = p[model.parameter_index("a")], p[model.parameter_index("c")]
    assert per_capita == pytest.approx(a - c * 3.155e5 - d, rel=1e-12)
