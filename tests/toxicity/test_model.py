"""Determinism, chunk invariance, the exposure-feedback property, inputs, and the parameter tables."""

import math

import numpy as np
import pandas as pd
import pytest
from toxicity_helpers import T, arm, ipilimumab, pd1

from oncoimmune import UnknownNameError, ValidationError
from oncoimmune.toxicity import CLASSES, drug_classes_of, simulate_toxicity
from oncoimmune.toxicity._calibration import cart_thresholds, haematology_constants, solve_weights
from oncoimmune.toxicity._parameters import (
    CART,
    CART_THRESHOLDS,
    COMBINE_P,
    DRIVER_EC50,
    HAEM,
    HAEM_CALIBRATED,
    STEROIDS,
    TERMS,
    WEIGHTS,
    Value,
)


def _mixed(n: int = 240) -> dict[str, np.ndarray]:
    """A heterogeneous cohort: per patient a random anti-PD-1 occupancy, ipilimumab dose, CAR-T peak and
    chemotherapy course (fixed generator: the cohort itself is data)."""
    rng = np.random.default_rng(7)
    occ = rng.uniform(0, 1, n)[:, None] * pd1()[None, :] * (rng.uniform(size=n) < 0.7)[:, None]
    ctla = np.stack([ipilimumab(d) for d in rng.choice([0.0, 1.0, 3.0, 10.0], n)])
    car = (
        (rng.uniform(size=n) < 0.2)[:, None]
        * rng.lognormal(2.5, 1.0, n)[:, None]
        * np.exp(-0.5 * ((T[None, :] - 11) / 3) ** 2)
    )
    X = (rng.uniform(size=n) < 0.3)[:, None] * np.cumsum(np.where(T % 21 == 0, 0.43, 0.0))[None, :]
    return {
        "occupancy_PD1": occ,
        "conc_CTLA4": ctla,
        "car_t_per_uL": car,
        "cytotoxic_kill_lymphocytes": np.gradient(X, T, axis=1),
        "cumulative_cytotoxic": X,
    }


def test_same_seed_same_result_and_another_seed_differs():
    out = _mixed()
    a = simulate_toxicity(out, T, seed=11)
    b = simulate_toxicity(out, T, seed=11)
    c = simulate_toxicity(out, T, seed=12)
    pd.testing.assert_frame_equal(a.episodes, b.episodes, check_exact=True)
    pd.testing.assert_frame_equal(a.actions, b.actions, check_exact=True)
    assert not a.episodes.equals(c.episodes)


def test_results_do_not_depend_on_chunking():
    # design.md habit 4: the same seed gives bit-identical results whatever the chunk size or split
    out = _mixed()
    whole = simulate_toxicity(out, T, seed=3)
    small = simulate_toxicity(out, T, seed=3, chunk_size=53)
    pd.testing.assert_frame_equal(whole.episodes, small.episodes, check_exact=True)
    pd.testing.assert_frame_equal(whole.actions, small.actions, check_exact=True)
    np.testing.assert_array_equal(whole.labs["anc_1e9_per_L"], small.labs["anc_1e9_per_L"])
    # two calls on halves of the cohort with their global ids give the same patients' events
    n = len(out["conc_CTLA4"])
    halves = []
    for lo, hi in ((0, 100), (100, n)):
        part = simulate_toxicity({k: v[lo:hi] for k, v in out.items()}, T, seed=3, patient_ids=np.arange(lo, hi))
        ep = part.episodes.copy()
        ep["patient"] += lo
        halves.append(ep)
    joined = pd.concat(halves).sort_values(["patient", "term", "onset_day"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(whole.episodes, joined, check_exact=True)


def test_a_patients_events_do_not_depend_on_the_other_patients():
    out = _mixed()
    whole = simulate_toxicity(out, T, seed=5)
    one = simulate_toxicity({k: v[17:18] for k, v in out.items()}, T, seed=5, patient_ids=[17])
    mine = whole.episodes[whole.episodes["patient"] == 17].reset_index(drop=True).assign(patient=0)
    pd.testing.assert_frame_equal(mine, one.episodes, check_exact=True)


def test_events_before_an_exposure_change_are_unchanged():
    # the trial runner re-simulates after a hold or discontinuation; events before the change must stay
    # (threshold inversion with per-patient thresholds fixed by the seed)
    out = arm("nivolumab+ipilimumab", 3000)
    before = simulate_toxicity(out, T, seed=21)
    cut = 60.0
    stopped = {k: np.where(T[None, :] < cut, v, 0.0) for k, v in out.items()}
    after = simulate_toxicity(stopped, T, seed=21)
    # the sampled exposure first differs at day 60, so the trapezoid over [59, 60] differs: events up to
    # the last unchanged grid point (day 59) must be identical
    last_same = cut - 1.0
    early_b = before.episodes[before.episodes["onset_day"] < last_same].reset_index(drop=True)
    early_a = after.episodes[after.episodes["onset_day"] < last_same].reset_index(drop=True)
    assert len(early_b) > 1000
    pd.testing.assert_frame_equal(early_b, early_a, check_exact=True)
    # stopping the drugs removes later drug events (and never adds one)
    late_b = before.episodes[(before.episodes["onset_day"] >= cut) & (before.episodes["cause"] != "background")]
    late_a = after.episodes[(after.episodes["onset_day"] >= cut) & (after.episodes["cause"] != "background")]
    assert len(late_a) < len(late_b)


def test_steroid_damping_reduces_immune_drug_events():
    out = arm("nivolumab+ipilimumab", 3000)
    plain = simulate_toxicity(out, T, seed=4)
    damped = simulate_toxicity(out, T, seed=4, damping=np.full((3000, len(T)), 0.4))
    assert damped.rates(cause="drug")["any"].sum() < plain.rates(cause="drug")["any"].sum()
    assert damped.rates(cause="all").loc["fatigue", "any"] > 0.15  # background is not damped


def test_drug_classes_restrict_the_signals_used():
    out = arm("nivolumab+ipilimumab", 2000)
    only_pd1 = simulate_toxicity(out, T, seed=8, drug_classes=["anti-PD-1"])
    assert set(only_pd1.episodes["cause"]) <= {"background", "anti-PD-1"}
    per_patient = simulate_toxicity(out, T, seed=8, drug_classes=[["anti-PD-1"]] * 1000 + [[]] * 1000)
    causes = per_patient.episodes.groupby(per_patient.episodes["patient"] >= 1000)["cause"].agg(set)
    assert causes[True] == {"background"}
    inferred = simulate_toxicity(out, T, seed=8)
    assert inferred.classes[0] == frozenset({"anti-PD-1", "anti-CTLA-4"})


def test_drug_classes_of_library_regimens():
    assert drug_classes_of("nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w") == (
        "anti-PD-1",
        "anti-CTLA-4",
    )
    assert drug_classes_of(
        "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 daily x3 then axicabtagene ciloleucel 2e6 cells/kg after 2 days"
    ) == ("cytotoxic", "CAR-T")
    assert drug_classes_of("atezolizumab 1200 mg q3w") == ("anti-PD-L1",)
    assert drug_classes_of("aldesleukin 600000 IU/kg q8h x14") == ("IL-2",)
    assert set(drug_classes_of("dabrafenib 150 mg bid + trametinib 2 mg daily")) == {"targeted"}
    assert set(drug_classes_of("carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4")) == {"cytotoxic"}


def test_short_lived_exposure_on_a_coarse_grid_is_flagged():
    out = {"cytotoxic_kill_lymphocytes": np.zeros((3, len(T)))}
    out["cytotoxic_kill_lymphocytes"][:, 0] = 1.0
    with pytest.warns(UserWarning, match="cumulative_cytotoxic"):
        res = simulate_toxicity(out, T, seed=1, drug_classes=["cytotoxic"])
    assert res.notes
    out["cumulative_cytotoxic"] = np.zeros((3, len(T)))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulate_toxicity(out, T, seed=1, drug_classes=["cytotoxic"])


def test_invalid_inputs_give_clear_errors():
    out = arm("nivolumab", 4)
    with pytest.raises(UnknownNameError, match="drug_classes"):
        simulate_toxicity(out, T, seed=1, drug_classes=["anti-PD-2"])
    with pytest.raises(ValidationError, match="'seed'"):
        simulate_toxicity(out, T, seed=-1)
    with pytest.raises(ValidationError, match="'t'"):
        simulate_toxicity(out, T[::-1], seed=1)
    with pytest.raises(ValidationError, match="outputs\\['conc_CTLA4'\\]"):
        simulate_toxicity({"occupancy_PD1": out["occupancy_PD1"], "conc_CTLA4": np.zeros((3, len(T)))}, T, seed=1)
    with pytest.raises(ValidationError, match="conc_IL2_nM"):
        simulate_toxicity(out, T, seed=1, drug_classes=["IL-2"])
    with pytest.raises(ValidationError, match="'patient_ids'"):
        simulate_toxicity(out, T, seed=1, patient_ids=[0, 0, 1, 2])
    with pytest.raises(ValidationError, match="'window'"):
        simulate_toxicity(out, T, seed=1, window=(10.0, 5.0))
    with pytest.raises(ValidationError, match="'damping'"):
        simulate_toxicity(out, T, seed=1, damping=np.full((4, len(T)), 2.0))


def test_patients_table_and_summary():
    res = simulate_toxicity(arm("nivolumab+ipilimumab", 500), T, seed=2)
    tab = res.patients_table()
    assert len(tab) == 500
    assert {"worst_grade_hepatitis", "onset_day_crs", "n_holds", "discontinuation_day"} <= set(tab.columns)
    wg = res.worst_grades()
    assert (tab["worst_grade_fatigue"].to_numpy() == wg["fatigue"].to_numpy()).all()
    s = res.summary()
    assert math.isclose(s["trae_g3plus"], res.trae_g3plus())
    assert set(s["ae"]) == set(wg.columns)
    # an onset is reported for exactly the patients with an event
    assert (tab["onset_day_hepatitis"].notna() == (tab["worst_grade_hepatitis"] > 0)).all()


# --- parameter tables ------------------------------------------------------------------------------------------


def _values():
    for spec in TERMS.values():
        yield from (spec.background, spec.background_g3, spec.tau, spec.resolution, spec.g2_share, spec.severe_split)
    for d in WEIGHTS.values():
        for w, q in d.values():
            yield w
            yield q
    yield from COMBINE_P.values()
    yield from DRIVER_EC50.values()
    yield from STEROIDS.values()
    yield from CART.values()
    yield from HAEM.values()
    yield from HAEM_CALIBRATED.values()


def test_every_parameter_has_a_unit_a_source_and_a_flag():
    for v in _values():
        assert isinstance(v, Value)
        assert v.unit and v.source and v.flag in {"V", "R", "U", "C"}, v


def test_grade_distributions_are_proper():
    for term, spec in TERMS.items():
        split = spec.severe_split.value
        assert math.isclose(sum(split), 1.0) and min(split) >= 0
        allowed = spec.max_grade
        assert all(s == 0 for g, s in zip((3, 4, 5), split, strict=True) if g > allowed), term
        for w, q in WEIGHTS[term].values():
            assert w.value > 0 and 0 <= q.value <= 1


def test_shipped_constants_are_what_the_calibration_computes():
    # `python -m oncoimmune.toxicity._calibration` regenerates the constants; they must not drift from the
    # targets, the reference exposures and the structure
    W, P = solve_weights()
    assert set(W) == set(WEIGHTS)
    for term, d in W.items():
        assert set(d) == set(WEIGHTS[term]), term
        for c, (w, q) in d.items():
            assert math.isclose(WEIGHTS[term][c][0].value, w, rel_tol=1e-5), (term, c)
            assert math.isclose(WEIGHTS[term][c][1].value, q, rel_tol=1e-5, abs_tol=1e-9), (term, c)
        assert math.isclose(COMBINE_P[term].value, P[term], rel_tol=1e-5), term
    for k, v in cart_thresholds().items():
        np.testing.assert_allclose(CART_THRESHOLDS[k], v, rtol=1e-5)
    for k, v in haematology_constants().items():
        assert math.isclose(HAEM_CALIBRATED[k].value, v, rel_tol=1e-5), k


def test_class_vocabulary():
    assert set(CLASSES) == {
        "anti-PD-1",
        "anti-PD-L1",
        "anti-CTLA-4",
        "IL-2",
        "IFN-alpha",
        "cytotoxic",
        "targeted",
        "CAR-T",
    }
