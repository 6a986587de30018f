"""One contract, checked over every registered model (the scikit-learn ``check_estimator`` habit).

For each model: valid declared defaults, shapes, non-negativity, determinism, batched == looped,
save/load round trip, and a cross-check against scipy's Radau at rtol 1e-10 on the
log-transformed system.
"""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import oncoimmune as oi
from oncoimmune import registry, simulate

MODELS = sorted(registry())
HORIZON = 60.0  # days: long enough for every model's dynamics to move, short enough for CI


@pytest.fixture(scope="module", params=MODELS)
def model(request):
    return registry()[request.param]


def _variants(model):
    return [None, *model.variants]


def _batch(model, n=5, seed=11):
    """Patients around the defaults: every non-input parameter scaled by U(0.8, 1.2), within bounds."""
    rng = np.random.default_rng(seed)
    base = model.parameter_values()
    cols = {}
    for k, p in enumerate(model.parameters):
        if p.input or base[k] == 0.0 or p.bounds[0] == p.bounds[1]:
            continue
        vals = base[k] * rng.uniform(0.8, 1.2, n)
        cols[p.name] = np.clip(vals, p.bounds[0], p.bounds[1])
    return cols


def test_declaration_is_complete(model):
    assert model.citation and model.title
    for p in model.parameters:
        assert p.unit and p.source, p.name
        lo, hi = p.bounds
        assert lo <= p.value <= hi
    for s in model.states:
        assert s.unit and s.description
    assert model.init_source


def test_registry_name_matches_module(model):
    assert model.rhs.__module__ == f"oncoimmune.models.{model.name}"


def test_defaults_give_finite_derivatives(model):
    for v in _variants(model):
        dy = model.rhs_numpy(model.initial_values(v), model.parameter_values(v))
        assert dy.shape == (model.n_states,)
        assert np.all(np.isfinite(dy)), v


def test_shapes_nonnegativity_and_statuses(model):
    t = np.linspace(0.0, HORIZON, 13)
    res = simulate(model, _batch(model), times=t)
    assert res.y.shape == (5, t.size, model.n_states)
    assert res.status_counts() == {"ok": 5}
    assert np.all(res.y >= 0.0)
    frame = res.to_frame()
    assert list(frame.columns) == ["patient_id", "time", *model.state_names, "status"]
    assert len(frame) == 5 * t.size


def test_every_variant_runs(model):
    t = np.linspace(0.0, HORIZON, 7)
    for v in _variants(model):
        res = simulate(model, variant=v, times=t)
        assert res.statuses == [oi.Status.OK], v
        assert np.all(res.y >= 0.0)


def test_determinism_and_batched_equals_looped(model):
    t = np.linspace(0.0, HORIZON, 7)
    pats = _batch(model, n=3)
    a = simulate(model, pats, times=t)
    b = simulate(model, pats, times=t, workers=1, chunk_size=1)
    assert np.array_equal(a.y, b.y, equal_nan=True)
    one = simulate(model, {k: v[1:2] for k, v in pats.items()}, times=t)
    assert np.array_equal(one.y[0], a.y[1], equal_nan=True)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_save_load_round_trip(model, suffix, tmp_path):
    res = simulate(model, _batch(model, n=2), times=np.linspace(0.0, HORIZON, 5))
    path = res.save(tmp_path / f"out{suffix}")
    back = oi.SimulationResult.load(path)
    assert back.model == model.name
    assert back.state_names == model.state_names
    np.testing.assert_array_equal(back.t, res.t)
    np.testing.assert_array_equal(back.y, res.y)
    np.testing.assert_array_equal(back.status, res.status)
    assert back.provenance["parameters"] == res.provenance["parameters"]
    assert not list(tmp_path.glob(".*tmp"))


def _radau_log(model, variant, t_out):
    """Independent reference: scipy Radau on ln(y) for positive log-eligible states."""
    p = model.parameter_values(variant)
    y0 = model.initial_values(variant)
    logm = np.array([s.log and y0[k] > 0 for k, s in enumerate(model.states)])

    def to_y(z):
        return np.where(logm, np.exp(np.clip(z, -700.0, 700.0)), z)

    def f(_t, z):
        y = to_y(z)
        dy = model.rhs_numpy(y, p)
        return np.where(logm, dy / np.where(logm, y, 1.0), dy)

    z0 = np.where(logm, np.log(np.where(logm, y0, 1.0)), y0)
    sol = solve_ivp(f, (0.0, t_out[-1]), z0, method="Radau", t_eval=t_out, rtol=1e-10, atol=1e-12)
    assert sol.success, sol.message
    return np.array([to_y(z) for z in sol.y.T])


def test_cross_check_against_scipy_radau_on_log_system(model):
    # Two independent integrators on the same equations must agree to ~1e-6 relative where the
    # values are well above the extinction regime (models.md §12: sub-cell values are
    # solver-dependent, so states below 1e-6 of their own peak are compared in absolute terms).
    t = np.linspace(0.0, min(HORIZON, model.t_end), 7)
    variant = model.default_variant
    ours = simulate(
        model, variant=variant, times=t, rtol=1e-10, atol=1e-12, extinction=dict.fromkeys(model.state_names, 1e-300)
    )
    ref = _radau_log(model, variant, t)
    got = ours.y[0]
    scale = np.max(np.abs(ref), axis=0)
    tol = 1e-6 * np.abs(ref) + 1e-9 * np.where(scale > 0, scale, 1.0)
    bad = np.abs(got - ref) > tol
    assert not bad.any(), f"max rel diff {np.max(np.abs(got - ref) / np.maximum(tol, 1e-300))}"


def test_parameter_overrides_are_validated(model):
    p = next(p for p in model.parameters if not math.isinf(p.bounds[1]) or p.bounds[0] > -math.inf)
    with pytest.raises(oi.ValidationError, match=p.name):
        simulate(model, params={p.name: float("nan")}, t_end=1.0)


def test_generated_analytic_jacobian_matches_finite_differences(model):
    # The engine uses the Jacobian generated from the rhs (oncoimmune.solve._symbolic); a wrong
    # entry would silently lower the order of the Rosenbrock method, so check it against central
    # differences of the rhs at perturbed points of every variant.
    from oncoimmune.solve._compile import kernel_for

    kernel = kernel_for(model)
    if not kernel.HAS_JAC:
        pytest.skip("rhs uses constructs the generator does not model: forward differences are used")
    jac = kernel.jac_y  # the compiled Jacobian the engine calls
    rng = np.random.default_rng(5)
    for v in _variants(model):
        p = model.parameter_values(v)
        y0 = model.initial_values(v)
        for _ in range(3):
            y = np.maximum(y0, 1.0) * rng.uniform(0.5, 2.0, model.n_states)
            J = np.zeros((model.n_states, model.n_states))
            jac(y, p, J)
            for j in range(model.n_states):
                # Richardson-extrapolated central differences: truncation O(h^4)
                h = 1e-3 * max(abs(y[j]), 1e-3)

                def central(step, j=j, y=y, p=p):
                    yp, ym = y.copy(), y.copy()
                    yp[j] += step
                    ym[j] -= step
                    return (model.rhs_numpy(yp, p) - model.rhs_numpy(ym, p)) / (2 * step)

                col = (4 * central(h / 2) - central(h)) / 3
                # round-off of the differences: ~1e-16 of each row's largest term, divided by h
                row_scale = np.abs(model.rhs_numpy(y, p)) + np.abs(J) @ np.abs(y)
                tol = 1e-5 * np.abs(col) + 1e-7 * np.max(np.abs(col)) + 1e-14 * row_scale / h
                assert np.all(np.abs(J[:, j] - col) <= tol), (v, j, J[:, j], col)
