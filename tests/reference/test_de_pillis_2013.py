"""Reference checks of de Pillis, Caldwell, Sarapata & Williams (2013), models.md §5.

What the numbers actually give (these tests pin it down):

* The paper's zero-tumour homeostasis (models.md §5.3) is close to a steady state of the ``text``
  variant (equilibrium within 0.5 % in N, R, C, I and 5.4 % in L), but not of the ``table`` variant
  (= BIOMD0000000908), where IL-2 relaxes from 48.9 to 68.5 IU/L and Tregs rise by 22 %: Table 3's
  phi and omega do not give the paper's homeostatic IL-2.
* The high-tumour homeostasis (the SBML initial values) is not a steady state of either variant:
  T sits at the carrying capacity 1/b, where logistic growth vanishes, while the NK kill
  c e^{-lambda_T R} N = 0.124/day does not, so T falls to about 1.5-1.8e9. N, R and C are stationary
  there; IL-2 is stationary under ``text`` only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import oncoimmune as oi
from oncoimmune.models import get_model
from oncoimmune.treatments import Infusion, Regimen, cycles

MODEL = "de_pillis_2013"
HIGH = {"T": 4.662e9, "N": 2.5e8, "L": 5.268e5, "R": 3.52e8, "C": 2.14e9, "I": 1173.0, "S": 0.0}  # §5.3, SBML ICs
ZERO = {"T": 0.0, "N": 2.5e8, "L": 2.4e4, "R": 1.1e8, "C": 2.14e9, "I": 48.9, "S": 0.0}  # §5.3
# Standard sunitinib schedule (models.md §5.3): 50 mg/day in 59.71 L on days 0-28 of 42-day cycles, 5 cycles.
V_S = 50.0 / 59.71
SUNITINIB = Regimen((Infusion("v_S", V_S, cycles(28, 14, 5)),), name="sunitinib 50 mg/day 4 weeks on / 2 off")


def _model():
    return get_model(MODEL)


def _rates(variant: str, state: dict[str, float]) -> dict[str, float]:
    m = _model()
    y = m.initial_values(variant, **state)
    dy = m.rhs_numpy(y, m.parameter_values(variant))
    return dict(zip(m.state_names, dy, strict=True))


def test_text_and_table_differ_only_in_r1_omega_phi_H_R():
    # models.md §5.2: Table 3 (= SBML) vs in-text values; every other parameter is shared.
    m = _model()
    table = dict(zip(m.parameter_names, m.parameter_values("table"), strict=True))
    text = dict(zip(m.parameter_names, m.parameter_values("text"), strict=True))
    differ = {k for k in table if table[k] != text[k]}
    assert differ == {"r1", "omega", "phi", "H_R"}
    assert (table["r1"], table["omega"], table["phi"], table["H_R"]) == (6.682e-12, 5.314e-2, 3.594e-7, 0.227)
    assert (text["r1"], text["omega"], text["phi"], text["H_R"]) == (8.68e-12, 7.879e-2, 2.5153e-7, 2.27e-2)
    # mu_I is Table 3 / SBML 11.7427 in both variants (the text's ln 2 / 5.9e-2 = 11.7483 is not used).
    assert table["mu_I"] == text["mu_I"] == 11.7427
    assert m.default_variant == "table"


@pytest.mark.parametrize("variant", ["table", "text"])
def test_homeostatic_immune_levels_are_stationary(variant):
    # At both homeostases of §5.3 the NK, Treg and lymphocyte levels are stationary: relative rates
    # below 2e-5 per day (computed: N 1.1e-5 and 2.4e-6, R 1.0e-5 and 8.8e-6, C exactly 0), i.e.
    # negligible against their turnover rates f = 0.0125, u = 0.0385, beta = 0.0063 per day.
    for state in (ZERO, HIGH):
        rates = _rates(variant, state)
        for name in ("N", "R", "C"):
            assert abs(rates[name]) / state[name] < 2e-5, (variant, name, rates[name])


def test_il2_homeostasis_needs_the_text_values():
    # dI/dt = -mu_I I + phi C + omega L I/(zeta + I). With the in-text phi and omega the paper's
    # homeostatic IL-2 (48.9 and 1173 IU/L) is at its quasi-steady state: |dI/dt| / (mu_I I) < 1e-3
    # (computed 4.9e-4 and 4.7e-4). With Table 3 values it is not: dI/dt / I = +4.49/day at the zero
    # homeostasis and -3.47/day at the high one.
    mu_I = 11.7427
    for state in (ZERO, HIGH):
        assert abs(_rates("text", state)["I"]) / (mu_I * state["I"]) < 1e-3
    assert _rates("table", ZERO)["I"] / ZERO["I"] == pytest.approx(4.485, rel=1e-3)
    assert _rates("table", HIGH)["I"] / HIGH["I"] == pytest.approx(-3.473, rel=1e-3)


def test_high_tumour_homeostasis_is_not_a_tumour_steady_state():
    # T1 = 4.662e9 is the carrying capacity 1/b = 1/2.145e-10 (logistic growth ~ 0), but the NK kill
    # c e^{-lambda_T R1} N1 is not: dT/dt / T = a(1 - b T1) - c e^{-lambda_T R1} N1 - D = -0.124/day.
    m = _model()
    P = dict(zip(m.parameter_names, m.parameter_values("table"), strict=True))
    assert 1.0 / P["b"] == pytest.approx(HIGH["T"], rel=1e-3)
    ratio = (HIGH["L"] / HIGH["T"]) ** P["l"]
    D = P["d"] * ratio / (P["s"] + ratio)
    expected = P["a"] * (1 - P["b"] * HIGH["T"]) - P["c"] * math.exp(-P["lambda_T"] * HIGH["R"]) * HIGH["N"] - D
    assert expected == pytest.approx(-0.124, abs=1e-3)
    for variant in ("table", "text"):
        assert _rates(variant, HIGH)["T"] / HIGH["T"] == pytest.approx(expected, rel=1e-9)


@pytest.fixture(scope="module")
def long_runs():
    """Untreated runs to day 3000 from both homeostases, both variants (2 calls of 2 patients)."""
    times = [0.0, 1000.0, 3000.0]
    patients = {f"init.{k}": [ZERO[k], HIGH[k]] for k in ZERO}
    out = {}
    for variant in ("table", "text"):
        res = oi.simulate(MODEL, patients, times=times, variant=variant, rtol=1e-8)
        assert (res.status == oi.Status.OK).all()
        # steady by day 1000: the day-3000 values agree to 1 %
        assert np.allclose(res.y[:, 1, :], res.y[:, 2, :], rtol=1e-2, atol=1e-6)
        out[variant] = res
    return out


def test_zero_tumour_homeostasis_is_close_to_the_text_equilibrium(long_runs):
    # From the zero-tumour homeostasis the text variant settles at (computed) N = 2.5021e8,
    # L = 2.529e4, R = 1.1015e8, I = 49.10: within 1 % of the paper's values for N, R, C, I and
    # within 10 % for L (computed 5.4 %).
    res = long_runs["text"]
    final = dict(zip(res.state_names, res.y[0, -1], strict=True))
    assert final["T"] == 0.0
    for name in ("N", "R", "C", "I"):
        assert final[name] == pytest.approx(ZERO[name], rel=1e-2), name
    assert final["L"] == pytest.approx(ZERO["L"], rel=0.1)


def test_zero_tumour_homeostasis_is_not_the_table_equilibrium(long_runs):
    # Under Table 3 values IL-2 settles at 68.5 IU/L (+40 %) and Tregs at 1.337e8 (+22 %) (computed).
    final = dict(zip(long_runs["table"].state_names, long_runs["table"].y[0, -1], strict=True))
    assert final["T"] == 0.0
    assert final["I"] / ZERO["I"] > 1.3
    assert final["R"] / ZERO["R"] > 1.15


def test_high_tumour_relaxes_below_carrying_capacity(long_runs):
    # From the high-tumour homeostasis T falls to about 1.54e9 (table) / 1.74e9 (text) (computed),
    # i.e. to a third of the stated homeostasis, without being cleared.
    for variant in ("table", "text"):
        T_end = long_runs[variant]["T"][1, -1]
        assert 1e9 < T_end < 0.4 * HIGH["T"], (variant, T_end)


@pytest.fixture(scope="module")
def sunitinib_runs():
    times = np.array([0.0, 7.0, 14.0, 28.0, 42.0, 84.0, 126.0, 168.0, 210.0])
    out = {}
    for variant in ("table", "text"):
        untreated = oi.simulate(MODEL, None, None, times=times, variant=variant, rtol=1e-8)
        treated = oi.simulate(MODEL, None, SUNITINIB, times=times, variant=variant, rtol=1e-8)
        assert untreated.ok.all() and treated.ok.all()
        out[variant] = (untreated, treated)
    return out


def test_sunitinib_lowers_tregs(sunitinib_runs):
    # Sunitinib acts by depleting Tregs (models.md §5.1). From the high-tumour homeostasis, with the
    # standard schedule R is below the untreated R at every output time after day 0, and at day 42
    # (end of the first cycle) less than half of it (computed: 0.013 with Table 3's H_R = 0.227/day,
    # 0.42 with the text's 0.0227/day).
    for variant, (untreated, treated) in sunitinib_runs.items():
        r0, r1 = untreated["R"][0], treated["R"][0]
        assert (r1[1:] < r0[1:]).all(), variant
        k42 = int(np.flatnonzero(treated.t == 42.0)[0])
        assert r1[k42] / r0[k42] < 0.5, variant
    table_ratio = sunitinib_runs["table"][1]["R"][0, 4] / sunitinib_runs["table"][0]["R"][0, 4]
    text_ratio = sunitinib_runs["text"][1]["R"][0, 4] / sunitinib_runs["text"][0]["R"][0, 4]
    assert table_ratio < text_ratio  # ten-fold larger H_R in Table 3 depletes Tregs more


def test_sunitinib_concentration_follows_first_order_kinetics(sunitinib_runs):
    # dS/dt = -eta S + v_S: S(28) = (v_S/eta)(1 - e^{-28 eta}), S(42) = S(28) e^{-14 eta} (analytic).
    eta = 0.277
    treated = sunitinib_runs["table"][1]
    s = dict(zip(treated.t.tolist(), treated["S"][0], strict=True))
    s28 = V_S / eta * (1 - math.exp(-28 * eta))
    assert s[28.0] == pytest.approx(s28, rel=1e-6)
    assert s[42.0] == pytest.approx(s28 * math.exp(-14 * eta), rel=1e-5)


def test_sunitinib_dose_reading_hardly_matters():
    # models.md §5.3: v_S = 23.4467 (the paper's per-cycle figure read as a rate) vs 0.8374 mg/L/day:
    # with lambda_R = 50 L/mg the Treg kill saturates at H_R either way; R differs by < 1 %
    # (computed 0.8 % with Table 3, 0.15 % with the text values, days 42 and 210).
    times = [0.0, 42.0, 210.0]
    high = Regimen((Infusion("v_S", 23.4467, cycles(28, 14, 5)),))
    for variant in ("table", "text"):
        low_r = oi.simulate(MODEL, None, SUNITINIB, times=times, variant=variant, rtol=1e-8)["R"][0]
        high_r = oi.simulate(MODEL, None, high, times=times, variant=variant, rtol=1e-8)["R"][0]
        assert high_r[1:] == pytest.approx(low_r[1:], rel=1e-2)


def test_ratio_term_is_safe_at_zero_populations():
    # D must not overflow or produce NaN when T = 0 (zero-tumour homeostasis) or L = 0.
    m = _model()
    p = m.parameter_values("table")
    for T, L in ((0.0, 2.4e4), (1e-300, 1e6), (4.662e9, 0.0), (0.0, 0.0)):
        y = m.initial_values("table", T=T, L=L)
        assert np.isfinite(m.rhs_numpy(y, p)).all()
