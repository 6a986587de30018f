"""Smoke tests of the benchmark's pure parts (benchmarks/run.py): no timings are asserted.

The benchmark compares tools on accuracy as well as speed, so its own pieces must be right: the
accuracy metric, the scipy driver's event handling, and the SBML that libRoadRunner solves for
de Pillis 2006 (generated from an expression tree written independently of the model's rhs).
"""

from __future__ import annotations

import importlib.util
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import oncoimmune

ROOT = Path(__file__).resolve().parents[2]


def _load_bench():
    name = "oncoimmune_benchmark_run"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def _de_pillis():
    if "de_pillis_2006" not in oncoimmune.registry():
        pytest.skip("de_pillis_2006 is not in the model registry")
    return oncoimmune.get_model("de_pillis_2006"), bench.cases()["de_pillis_2006"]


def _il2_exact(t: float) -> float:
    """I(t) of de Pillis 2006 under the benchmark's six IL-2 pulses (dI/dt = -mu_I I + v_I).

    Piecewise closed form with mu_I = 10/day and v_I = 5e6 IU/L/day on [s, s + 0.45) for
    s = 8, 8.7, ..., 11.5 (models.md §4.1, §4.4): the equation is linear and decoupled.
    """
    level, t_prev, value = 5e6 / 10.0, 0.0, 0.0
    for s in (8.0, 8.7, 9.4, 10.1, 10.8, 11.5):
        if t <= s:
            break
        value *= math.exp(-10.0 * (s - t_prev))
        stop = min(t, s + 0.45)
        value = level + (value - level) * math.exp(-10.0 * (stop - s))
        t_prev = stop
    return value * math.exp(-10.0 * (t - t_prev))


# -- accuracy metric --------------------------------------------------------------------------


def test_max_relative_error_counts_only_points_above_one_from_t_min():
    t = np.array([0.0, 1.0, 2.0])
    ref = np.array([[[10.0, 0.5], [10.0, 100.0], [10.0, 1e-30]]])
    y = ref.copy()
    y[0, 0, 0] = 20.0  # before t_min: ignored
    y[0, 1, 1] = 101.0  # 1 % error, counted
    y[0, 2, 1] = 5.0  # reference below one cell: ignored
    err = bench.max_relative_error(y, ref, t, t_min=1.0)
    assert err.shape == (1,)
    assert err[0] == pytest.approx(0.01, rel=1e-12)
    # Restricting to the first state leaves only exact points.
    assert bench.max_relative_error(y, ref, t, t_min=1.0, states=np.array([True, False]))[0] == 0.0


def test_max_relative_error_is_infinite_for_nan_and_summary_skips_failures():
    t = np.array([0.0, 1.0])
    ref = np.full((3, 2, 1), 50.0)
    y = ref.copy()
    y[0, 1, 0] = np.nan
    y[1, 1, 0] = 55.0  # 10 %
    y[2, 1, 0] = 50.5  # 1 %
    err = bench.max_relative_error(y, ref, t)
    assert np.isinf(err[0])
    median, p95 = bench.accuracy_summary(err, failed=np.array([True, False, False]))
    assert median == pytest.approx(0.055, rel=1e-12)
    assert 0.01 < p95 <= 0.1


# -- expression tree and SBML -----------------------------------------------------------------


def test_expression_tree_matches_the_model_rhs():
    """The equations given to libRoadRunner are the model's equations (1e-12 relative)."""
    model, _ = _de_pillis()
    eq = bench.de_pillis_2006_equations()
    rng = np.random.default_rng(7)
    p0 = model.parameter_values("patient9")
    scale = np.array([1e8, 1e6, 1e6, 1e11, 5.0, 1e6])
    for k in range(60):
        y = rng.uniform(0.0, 1.0, model.n_states) * scale
        if k % 10 == 0:
            y[0] = 0.0  # D = d at T = 0
        if k % 10 == 1:
            y[2] = 0.0  # D = 0 at L = 0
        p = p0.copy()
        p[-3:] = rng.uniform(0.0, 5.0, 3) * np.array([1.0, 1e6, 1e9])
        want = model.rhs_numpy(y, p)
        got_map = eq.rhs(dict(zip(model.state_names, y, strict=True)), dict(zip(model.parameter_names, p, strict=True)))
        got = np.array([got_map[s] for s in model.state_names])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))


def test_generated_sbml_has_rate_rules_and_one_event_per_dose_switch():
    model, case = _de_pillis()
    text = case.sbml()
    root = ET.fromstring(text)
    ns = {"s": bench.SBML_NS}
    rules = root.findall(".//s:rateRule", ns)
    assert sorted(r.get("variable") for r in rules) == sorted(model.state_names)
    events = root.findall(".//s:event", ns)
    table = case.regimen().events(model)
    # The chemotherapy switch-on at day 0 becomes the initial value of v_M; every other switch is an event.
    assert len(events) == int(np.sum(table.t > 0))
    v_m = next(p for p in root.findall(".//s:parameter", ns) if p.get("id") == "v_M")
    assert float(v_m.get("value")) == 5.0
    ids = [p.get("id") for p in root.findall(".//s:parameter", ns)]
    assert len(ids) == len(set(ids))


def test_generated_sbml_matches_oncoimmune_in_libroadrunner():
    """libRoadRunner on the generated SBML agrees with oncoimmune to 1e-6 (relative, values > 10).

    Days 0-30 cover three chemotherapy cycles and all six IL-2 pulses; later the tumour falls to
    ~1e-30 cells, where CVODE at rtol 1e-10 stops with convergence failures in linear coordinates.
    Points below 10 are left out: there CVODE's absolute error (about 5e-6 cells on T ~ 2 at day 8
    for patient 2, against a Radau rtol-1e-12 log-space solution that oncoimmune matches to 1e-10)
    exceeds 1e-6 relative, a solver effect rather than an equation mismatch.
    """
    import roadrunner  # noqa: F401  (a dev dependency: a missing install must fail, not skip)

    model, case = _de_pillis()
    values = case.values(3)
    times = np.arange(31.0)
    res = oncoimmune.simulate(
        case.model,
        patients={case.param: values},
        regimen=case.regimen(),
        times=times,
        variant=case.variant,
        rtol=1e-10,
        atol=1e-12,
    )
    assert res.ok.all()
    sbml = case.sbml()
    for i, v in enumerate(values):
        y_rr = bench.rr_trajectory(sbml, list(model.state_names), case.param, v, 30.0, 31, 1e-10, 1e-12)
        err = bench.max_relative_error(y_rr[None], res.y[i : i + 1], times, floor=10.0)[0]
        assert err < 1e-6, (v, err)


def test_curated_kirschner_panetta_sbml_matches_models_md():
    """BIOMD0000000732 in libRoadRunner: T(150) = 618.35 from (0, 1, 0), c = 0.035 (models.md §1.6)."""
    import roadrunner  # noqa: F401  (a dev dependency: a missing install must fail, not skip)

    case = bench.cases()["kirschner_panetta_1998"]
    assert bench.KP_SBML.exists(), f"{bench.KP_SBML}: ../shared/sbml must lie beside the checkout"
    sel = [case.sbml_ids[s] for s in ("E", "T", "IL")]
    y = bench.rr_trajectory(case.sbml(), sel, "c", 0.035, 150.0, 151, 1e-10, 1e-12)
    assert y[150, 1] == pytest.approx(618.35, abs=0.01)
    res = oncoimmune.simulate(
        case.model, patients={"c": [0.035]}, times=np.arange(151.0), variant="sbml", rtol=1e-10, atol=1e-12
    )
    assert bench.max_relative_error(y[None], res.y, np.arange(151.0))[0] < 1e-6


# -- scipy driver -----------------------------------------------------------------------------


def test_scipy_driver_restarts_at_doses_and_reports_after_them():
    """IL-2 in de Pillis 2006 is linear and decoupled: the driver must match its closed form."""
    model, case = _de_pillis()
    table = case.regimen().events(model)
    p = model.parameter_values("patient9")
    y0 = model.initial_values("patient9")
    t_out = np.array([0.0, 8.0, 8.45, 9.0, 10.0, 11.5, 12.0, 13.0, 15.0])
    y, ok = bench.integrate_scipy(model.rhs, p, y0, table, t_out, method="LSODA", rtol=1e-10, atol=1e-12)
    assert ok
    i = model.state_index("I")
    want = np.array([_il2_exact(t) for t in t_out])
    np.testing.assert_allclose(y[:, i], want, rtol=1e-6, atol=1e-6)
    # Chemotherapy M: on from day 0 (right-continuous output), M(1) = (5/0.9)(1 - e^-0.9).
    y1, ok1 = bench.integrate_scipy(
        model.rhs, p, y0, table, np.array([0.0, 1.0]), method="LSODA", rtol=1e-10, atol=1e-12
    )
    assert ok1
    assert y1[1, model.state_index("M")] == pytest.approx(5.0 / 0.9 * (1.0 - math.exp(-0.9)), rel=1e-7)


def test_oral_case_scipy_loop_solves_the_plan_oncoimmune_solves():
    """Case 3 compares oncoimmune and a scipy loop on each patient's plan: the loop must be given the same
    parameters, initial state and doses (here: 20 days of dabrafenib bid + trametinib daily, dose by dose and
    spread), or its speed would be measured on another problem."""
    patients = bench._oral_patients(2)[:2]
    model = oncoimmune.get_model(bench.ORAL_MODEL)
    t = np.arange(0.0, 21.0, 1.0)
    for mode in ("doses", "continuous"):
        res = oncoimmune.simulate_treatment(
            bench.ORAL_MODEL, bench.ORAL_REGIMEN, patients, t, oral_input=mode, rtol=1e-9
        )
        for i, (p, y0, events) in enumerate(bench._oral_items(res)):
            y, ok = bench.integrate_scipy(model.rhs, p, y0, events, t, method="LSODA", rtol=1e-10, atol=1e-12)
            assert ok
            out = model.outputs(y[None], p[None, None, :])
            # the tumour starts where oncoimmune's does and follows it to within 0.001 mm of SLD
            np.testing.assert_allclose(out["sld_mm"][0], res.outputs()["sld_mm"][i], rtol=0, atol=1e-3)
            # and the drugs went in: dabrafenib's central amount after the first doses matches
            k = model.state_index("tk1_1")
            assert y[5, k] > 0
            np.testing.assert_allclose(y[:, k], np.asarray(res.result.y)[i, :, k], rtol=1e-5, atol=1e-9)


def test_oral_errors_measure_sld_in_mm_and_relative_where_measurable():
    ref = np.array([[50.0, 40.0, 8.0]])
    sld = np.array([[51.0, 38.0, 7.0]])
    cells = np.array([[1e9, 5e8, 1e6]])
    ref_cells = np.array([[1e9, 4e8, 2e6]])
    d_sld, rel_sld, rel_cells = bench._oral_errors(sld, cells, ref, ref_cells)
    assert d_sld[0] == pytest.approx(2.0)  # the largest absolute difference, in mm
    assert rel_sld[0] == pytest.approx(2.0 / 40.0)  # 8 mm is below RECIST's 10 mm: not counted relatively
    assert rel_cells[0] == pytest.approx(0.25)  # 2e6 is below 1 % of the 1e9 baseline: not counted
