"""The engine against closed-form solutions: accuracy, order, events, positivity, statuses."""

import math

import numpy as np
import pytest
from toy_models import BLOWUP, DECAY_LOGISTIC, KILL, OSCILLATOR

import oncoimmune as oi
from oncoimmune import Bolus, Final, Infusion, Max, Min, Regimen, Status, TimeBelow, simulate


def logistic(t, b0, r, K):
    return K / (1.0 + (K / b0 - 1.0) * np.exp(-r * t))


def test_closed_form_accuracy_at_tight_tolerance():
    t = np.linspace(0.0, 30.0, 61)
    res = simulate(DECAY_LOGISTIC, times=t, rtol=1e-10, atol=1e-14)
    assert res.statuses == [Status.OK]
    np.testing.assert_allclose(res["A"][0], 10.0 * np.exp(-0.5 * t), rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(res["B"][0], logistic(t, 1e3, 0.3, 1e9), rtol=1e-8)


@pytest.mark.parametrize(("method", "order"), [("radau5", 5), ("rodas4", 4)])
def test_order_of_convergence(method, order):
    # With error-per-step control the global error of an order-p method falls like n_steps**-p
    # (Hairer & Wanner II, IV.7-8): a wrong coefficient drops the slope to 1-2, so a slope within
    # 0.7 of -p checks the tableau and the Newton/error-estimate machinery.
    t = np.array([0.0, 30.0])
    exact = np.array([10.0 * math.exp(-0.2 * 30.0), logistic(30.0, 1e3, 0.3, 1e9)])
    errs, steps = [], []
    for rtol in (1e-5, 1e-6, 1e-7, 1e-8, 1e-9):
        res = simulate(DECAY_LOGISTIC, times=t, rtol=rtol, atol=rtol * 1e-3, params={"k": 0.2}, method=method)
        errs.append(np.max(np.abs(res.y[0, -1] / exact - 1.0)))
        steps.append(res.n_steps[0])
    slope = np.polyfit(np.log(steps), np.log(errs), 1)[0]
    assert -order - 0.7 < slope < -order + 0.7, (slope, steps, errs)


@pytest.mark.parametrize(("method", "order"), [("radau5", 5), ("radau9", 9), ("rodas4", 4)])
def test_order_of_convergence_on_an_oscillator(method, order):
    # Ten periods of a harmonic oscillator: enough steps at every tolerance for the asymptotic
    # slope (the decay/logistic problem above takes only 8-30 steps with the order-9 method).
    T = 60.0
    errs, steps = [], []
    for rtol in (1e-5, 1e-6, 1e-7, 1e-8, 1e-9):
        res = simulate(OSCILLATOR, times=[0.0, T], rtol=rtol, atol=rtol, method=method)
        x, y = res.y[0, -1]
        errs.append(math.hypot(x - 2.0 - math.cos(T), y - 2.0 - math.sin(T)))
        steps.append(res.n_steps[0])
    slope = np.polyfit(np.log(steps), np.log(errs), 1)[0]
    assert -order - 0.7 < slope < -order + 0.7, (slope, steps, errs)


@pytest.mark.parametrize("method", ["radau5", "radau9", "rodas4"])
def test_outputs_do_not_perturb_the_steps(method):
    # Asking for 1,201 outputs between the step ends leaves the step sequence and the end value unchanged.
    tt = np.linspace(0.0, 60.0, 1201)
    dense = simulate(OSCILLATOR, times=tt, rtol=1e-6, atol=1e-6, method=method)
    ends = simulate(OSCILLATOR, times=[0.0, 60.0], rtol=1e-6, atol=1e-6, method=method)
    assert dense.n_steps[0] == ends.n_steps[0]
    assert np.array_equal(dense.y[0, -1], ends.y[0, -1])


@pytest.mark.parametrize("rtol", [1e-6, 1e-8])
def test_radau9_dense_output_is_within_tolerance(rtol):
    # Radau IIA 9 reports outputs between step ends from the step's collocation polynomial (degree 5):
    # its steps are long (82 over 10 periods at rtol 1e-6), and a cubic interpolant would lose the
    # accuracy its step ends have. Over 1,201 outputs the error stays below the requested tolerance.
    tt = np.linspace(0.0, 60.0, 1201)
    res = simulate(OSCILLATOR, times=tt, rtol=rtol, atol=rtol, method="radau9")
    err = np.hypot(res.y[0, :, 0] - 2.0 - np.cos(tt), res.y[0, :, 1] - 2.0 - np.sin(tt))
    assert err.max() < rtol


def test_three_methods_agree_on_a_stiff_treated_model():
    # Three integrators (Radau IIA 5 and 9, Rodas4) on de Pillis 2006 with chemotherapy pulses
    t = np.linspace(0, 60, 13)
    chemo = Regimen((Infusion.repeat("v_M", 5.0, 1.0, 10.0, 6),))
    init = {"T": 2e7, "N": 3.155e5, "L": 100.0, "C": 6.25e10}
    a = simulate("de_pillis_2006", regimen=chemo, init=init, times=t, rtol=1e-9, method="radau5")
    b = simulate("de_pillis_2006", regimen=chemo, init=init, times=t, rtol=1e-9, method="rodas4")
    c = simulate("de_pillis_2006", regimen=chemo, init=init, times=t, rtol=1e-9, method="radau9")
    big = b.y > 1.0
    np.testing.assert_allclose(a.y[big], b.y[big], rtol=1e-6)
    np.testing.assert_allclose(c.y[big], a.y[big], rtol=1e-6)
    assert c.n_steps[0] < a.n_steps[0]


def test_bolus_is_applied_exactly_and_outputs_are_right_continuous():
    k, A0, dose, td = 0.5, 10.0, 7.0, 5.0
    t = np.array([0.0, 4.0, td, 6.0, 12.0])
    res = simulate(DECAY_LOGISTIC, regimen=Regimen((Bolus("A", dose, (td,)),)), times=t, rtol=1e-10, atol=1e-14)
    exact = A0 * np.exp(-k * t) + np.where(t >= td, dose * np.exp(-k * (t - td)), 0.0)
    np.testing.assert_allclose(res["A"][0], exact, rtol=1e-8)
    # the output at the dose time includes the dose
    assert res["A"][0, 2] == pytest.approx(A0 * math.exp(-k * td) + dose, rel=1e-9)


def test_zero_order_input_into_a_state_and_through_an_input_parameter_agree_with_closed_form():
    k, R, a, b = 0.5, 3.0, 2.0, 4.0
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 8.0])

    def exact(tt):
        base = 10.0 * np.exp(-k * tt)
        on = np.clip(tt, a, b) - a  # time spent infusing so far
        return base + np.where(tt > a, R / k * (1 - np.exp(-k * on)) * np.exp(-k * (tt - a - on)), 0.0)

    into_state = simulate(
        DECAY_LOGISTIC, regimen=Regimen((Infusion("A", R, ((a, b),)),)), times=t, rtol=1e-10, atol=1e-14
    )
    via_input = simulate(
        DECAY_LOGISTIC, regimen=Regimen((Infusion("u", R, ((a, b),)),)), times=t, rtol=1e-10, atol=1e-14
    )
    np.testing.assert_allclose(into_state["A"][0], exact(t), rtol=1e-8)
    np.testing.assert_allclose(via_input["A"][0], exact(t), rtol=1e-8)


def test_overlapping_infusions_add_up():
    # two overlapping rates equal one infusion with the summed rate over the overlap
    t = np.linspace(0, 10, 11)
    two = Regimen((Infusion("u", 1.0, ((1, 5),)), Infusion("u", 2.0, ((3, 7),))))
    one = Regimen((Infusion("u", 1.0, ((1, 3),)), Infusion("u", 3.0, ((3, 5),)), Infusion("u", 2.0, ((5, 7),))))
    a = simulate(DECAY_LOGISTIC, regimen=two, times=t, rtol=1e-10)
    b = simulate(DECAY_LOGISTIC, regimen=one, times=t, rtol=1e-10)
    np.testing.assert_allclose(a.y, b.y, rtol=1e-12)


def test_killed_population_stays_non_negative_and_goes_extinct_exactly():
    # x' = -100 x from 1e6: exp(-1000) * 1e6 is far below 1e-300; the numerical-extinction rule
    # sets it to exactly zero, and it stays zero.
    t = np.linspace(0, 10, 101)
    res = simulate(KILL, times=t)
    x = res["X"][0]
    assert res.statuses == [Status.OK]
    assert np.all(x >= 0.0)
    assert x[-1] == 0.0
    # before extinction the log-space integration keeps relative accuracy far below 1 cell
    np.testing.assert_allclose(x[1:30], 1e6 * np.exp(-100.0 * t[1:30]), rtol=1e-4)


def test_configurable_extinction_threshold():
    # threshold 1 cell: extinction happens at the first step end after ln(1e6)/100 = 0.138 d
    t = np.linspace(0, 1, 101)
    res = simulate(KILL, times=t, extinction={"X": 1.0})
    x = res["X"][0]
    t_cross = math.log(1e6) / 100.0
    assert np.all(x[t > t_cross + 0.02] == 0.0)
    assert np.all(x[t < t_cross - 1e-9] >= 1.0)


def test_failing_patient_gets_a_status_and_the_batch_carries_on():
    # y' = y^2 blows up at t = 1/y0: y0 = 1 blows up before t = 2, y0 = 0.1 does not.
    pats = {"patient_id": ["fine", "blows-up", "also-fine"], "init.Y": [0.1, 1.0, 0.2]}
    res = simulate(BLOWUP, pats, times=np.linspace(0, 2, 21))
    st = res.statuses
    assert st[0] == Status.OK and st[2] == Status.OK
    assert st[1] != Status.OK
    np.testing.assert_allclose(res["Y"][0], 0.1 / (1 - 0.1 * res.t), rtol=1e-6)
    assert np.isnan(res["Y"][1, -1])  # no made-up values after the failure
    assert res.status_counts()["ok"] == 2
    with pytest.raises(oi.SolverError, match="1 of 3 patients"):
        simulate(BLOWUP, pats, times=np.linspace(0, 2, 21), throw=True)


def test_max_steps_status():
    res = simulate(DECAY_LOGISTIC, times=[0.0, 30.0], max_steps=5)
    assert res.statuses == [Status.MAX_STEPS]
    assert "max_steps" in Status.MAX_STEPS.message


def _kp_batch(n=24, seed=3):
    rng = np.random.default_rng(seed)
    return {"c": rng.uniform(0, 0.05, n), "init.T": rng.uniform(1, 1e5, n)}


def test_batched_equals_looped_bit_for_bit():
    pats = _kp_batch(6)
    t = np.linspace(0, 300, 31)
    batch = simulate("kirschner_panetta_1998", pats, times=t)
    for i in range(6):
        one = simulate("kirschner_panetta_1998", {k: v[i : i + 1] for k, v in pats.items()}, times=t)
        assert np.array_equal(one.y[0], batch.y[i])


@pytest.mark.parametrize("method", ["radau5", "radau9"])
def test_results_do_not_depend_on_worker_count_or_chunk_size(method):
    pats = _kp_batch(40)
    t = np.linspace(0, 300, 31)
    a = simulate("kirschner_panetta_1998", pats, times=t, workers=1, method=method)
    b = simulate("kirschner_panetta_1998", pats, times=t, workers=2, chunk_size=7, method=method)
    assert np.array_equal(a.y, b.y)
    assert np.array_equal(a.n_steps, b.n_steps)


def test_reductions_match_trajectories_and_drop_them():
    pats = _kp_batch(10)
    t = np.linspace(0, 300, 301)
    full = simulate("kirschner_panetta_1998", pats, times=t)
    red = simulate(
        "kirschner_panetta_1998",
        pats,
        times=t,
        chunk_size=3,
        reduce={"T_end": Final("T"), "T_min": Min("T"), "E_max": Max("E"), "below": TimeBelow("T", 1e3)},
    )
    assert red.y is None
    T = full["T"]
    np.testing.assert_array_equal(red.reductions["T_end"], T[:, -1])
    np.testing.assert_array_equal(red.reductions["T_min"], T.min(axis=1))
    np.testing.assert_array_equal(red.reductions["E_max"], full["E"].max(axis=1))
    # time below a threshold on a 1-day grid: equal to counting days below within one day per crossing
    crossings = np.sum(np.diff(T < 1e3, axis=1), axis=1)
    approx = np.sum(T[:, :-1] < 1e3, axis=1)
    assert np.all(np.abs(red.reductions["below"] - approx) <= crossings + 1e-9)


def test_time_below_threshold_exact_for_linear_crossing():
    t = np.array([0.0, 1.0, 2.0])
    x = np.array([[2.0, 0.0, 2.0]])
    assert TimeBelow("x", 1.0).compute(t, x)[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rtol": -1}, "'rtol' parameter of simulate must be > 0 and < 1. Got -1"),
        ({"times": [0, 5, 3]}, "'times' parameter of simulate must be strictly increasing"),
        ({"times": [0, float("nan")]}, "'times' parameter of simulate must be finite"),
        ({"params": {"nope": 1}}, "'parameter' parameter of model kirschner_panetta_1998 must be one of"),
        ({"params": {"c": -0.1}}, r"'c' parameter must lie in \[0, 1\] \(1/day\). Got -0.1"),
        ({"init": {"T": float("nan")}}, "'init.T' parameter must be a number"),
        ({"variant": "patient99"}, "'variant' parameter of model kirschner_panetta_1998 must be one of"),
        ({"patients": {"c": [0.01, float("nan")]}}, r"'c' parameter of patients row 2 must be a number \(not NaN\)"),
        ({"patients": {"bogus": [1.0]}}, "'column' parameter of patients must be one of"),
        ({"patients": {"init.T": [1.0, -5.0]}}, "'init.T' parameter of patients row 2 must be finite and >= 0"),
        ({"extinction": {"T": 0}}, "extinction"),
        ({"workers": 0}, "'workers' parameter of simulate must be an integer >= 1"),
    ],
)
def test_bad_input_is_named(kwargs, match):
    with pytest.raises(oi.ValidationError, match=match):
        horizon = {} if "times" in kwargs else {"t_end": 10.0}
        simulate("kirschner_panetta_1998", **horizon, **kwargs)


def test_unknown_model_lists_choices():
    with pytest.raises(oi.UnknownNameError, match="kirschner_panetta_1998"):
        simulate("kirschner_1998")
