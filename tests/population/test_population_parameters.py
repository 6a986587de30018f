"""Between-patient variability of model parameters, and plausible-patient redraws."""

import math

import numpy as np
import pytest
from scipy import stats

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.models import get_model, io_qsp
from oncoimmune.population import (
    check_parameter_set,
    check_plausible_ranges,
    draw_plausible,
    sample_parameters,
    sample_population,
    to_covariates,
)

IO = get_model("io_qsp")


def _set(**kw):
    return check_parameter_set(IO, kw)


def test_log_normal_draws_have_the_declared_median_and_omega():
    p = _set(k_CT={"median": 5.0, "omega": 0.8}, k_clear={"median": 0.02, "omega": 1.2})
    d = sample_parameters(p, 20_000, 3)
    for name, median, omega in (("k_CT", 5.0, 0.8), ("k_clear", 0.02, 1.2)):
        logs = np.log(d[name].to_numpy())
        # 20,000 draws: SE of the log-median about 1.25 omega / sqrt(n) = 0.011 omega
        assert abs(np.median(logs) - math.log(median)) < 0.04 * omega
        assert abs(logs.std() - omega) < 0.02 * omega
        assert stats.kstest(logs, "norm", args=(math.log(median), omega)).pvalue > 1e-3


def test_truncation_is_exact_not_clipping():
    p = _set(k_CT={"median": 5.0, "omega": 1.0, "lower": 2.0, "upper": 10.0})
    x = sample_parameters(p, 20_000, 4)["k_CT"].to_numpy()
    assert x.min() >= 2.0 and x.max() <= 10.0
    assert np.mean(x <= 2.0 * 1.0001) < 0.001 and np.mean(x >= 10.0 * 0.9999) < 0.001  # no pile-up at a bound
    # the draws follow the truncated log-normal
    a, b = (math.log(2.0) - math.log(5.0)), (math.log(10.0) - math.log(5.0))
    assert stats.kstest(np.log(x) - math.log(5.0), "truncnorm", args=(a, b)).pvalue > 1e-3


def test_fixed_values_and_zero_omega_are_the_same_for_everyone():
    p = _set(nu_CTLA4={"value": 0.7}, pdl1_tme={"median": 0.1})
    d = sample_parameters(p, 50, 1)
    assert (d["nu_CTLA4"] == 0.7).all() and (d["pdl1_tme"] == 0.1).all()


def test_a_patient_keeps_its_values_whatever_the_trial_size_chunking_or_other_parameters():
    p = _set(k_CT={"median": 5.0, "omega": 1.0}, f_e0={"median": 1e-9, "omega": 4.0})
    full = sample_parameters(p, 3000, 11)
    head = sample_parameters(p, 100, 11)
    chunk = sample_parameters(p, 1000, 11, start=1500)
    alone = sample_parameters(_set(k_CT={"median": 5.0, "omega": 1.0}), 3000, 11)
    assert np.array_equal(full["k_CT"].to_numpy()[:100], head["k_CT"].to_numpy())
    assert np.array_equal(full.iloc[1500:2500].to_numpy(), chunk.to_numpy())
    assert np.array_equal(full["k_CT"].to_numpy(), alone["k_CT"].to_numpy())
    assert not np.array_equal(full["k_CT"].to_numpy(), sample_parameters(p, 3000, 12)["k_CT"].to_numpy())


def test_a_mixture_gives_the_drawn_value_to_its_fraction_of_carriers_and_otherwise_to_the_rest():
    mixed = _set(f_e0={"median": 1e-6, "omega": 1.5, "fraction": 0.3})
    plain = _set(f_e0={"median": 1e-6, "omega": 1.5})
    n = 20_000
    x = sample_parameters(mixed, n, 5)["f_e0"].to_numpy()
    y = sample_parameters(plain, n, 5)["f_e0"].to_numpy()
    carrier = x > 0
    # binomial SE of the share: sqrt(0.3 * 0.7 / 20000) = 0.0032
    assert abs(carrier.mean() - 0.3) < 0.015
    # carriers keep the draws they would have without the mixture; the others take `otherwise` (0)
    assert np.array_equal(x[carrier], y[carrier])
    assert (x[~carrier] == 0.0).all()
    # and who carries it is independent of the value drawn
    assert stats.kstest(np.log(y[carrier]), np.log(y[~carrier])).pvalue > 1e-3
    # a median without spread can be the carriers' value too
    fixed_median = sample_parameters(_set(f_e0={"median": 1e-6, "fraction": 0.3}), n, 5)["f_e0"].to_numpy()
    assert set(np.unique(fixed_median)) == {0.0, 1e-6} and np.array_equal(fixed_median > 0, carrier)
    # a fixed value can be a mixture too, with another value for the non-carriers
    fixed = sample_parameters(_set(nu_CTLA4={"value": 0.7, "fraction": 0.5, "otherwise": 1.0}), 1000, 2)
    assert set(np.unique(fixed["nu_CTLA4"])) == {0.7, 1.0}


def test_bad_parameter_sets_name_the_field_rule_and_value():
    with pytest.raises(UnknownNameError, match=r"'parameters' parameter .* must be one of .*Got 'k_XX'"):
        _set(k_XX={"median": 1.0})
    with pytest.raises(ValidationError, match=r"parameters\.k_CT.*either value .* or median"):
        _set(k_CT={"omega": 1.0})
    with pytest.raises(ValidationError, match=r"parameters\.k_CT\.median.*greater than 0"):
        _set(k_CT={"median": -1.0, "omega": 1.0})
    with pytest.raises(ValidationError, match=r"parameters\.k_CT\.median.*bounds \[0\.0, 100\.0\].*Got 500"):
        _set(k_CT={"median": 500.0, "omega": 1.0})
    with pytest.raises(ValidationError, match=r"parameters\.k_CT.*omega needs a median"):
        _set(k_CT={"value": 1.0, "omega": 1.0})
    with pytest.raises(ValidationError, match=r"parameters\.k_CT\.omega"):
        _set(k_CT={"median": 1.0, "omega": float("nan")})
    with pytest.raises(ValidationError, match=r"parameters\.f_e0\.fraction.*greater than 0.*Got 0"):
        _set(f_e0={"median": 1e-6, "fraction": 0.0})
    with pytest.raises(
        ValidationError,
        match=r"parameters\.k_CT\.otherwise.*bounds \[0\.0, 100\.0\] \(otherwise defaults to 0\).*Got -1",
    ):
        _set(k_CT={"median": 5.0, "fraction": 0.5, "otherwise": -1.0})
    with pytest.raises(ValidationError, match=r"plausible\.kg.*lower, upper or both"):
        check_plausible_ranges(IO, {"kg": {}})


def test_plausible_patients_satisfy_the_ranges_and_keep_their_covariates():
    frame = sample_population("melanoma", 120, 5)
    covs = to_covariates(frame)
    p = _set(k_CT={"median": 20.0, "omega": 1.5})
    ranges = check_plausible_ranges(IO, {"kg": {"upper": 0.2}})
    first = sample_parameters(p, 120, 5)
    values, redraws, ok = draw_plausible(IO, covs, p, 5, ranges)
    assert ok.all() and redraws.sum() > 0  # strong kill draws need kg > 0.2 for some patients
    for i, c in enumerate(covs):
        solved, _, _ = io_qsp.patient(c, {"k_CT": float(values["k_CT"][i])})
        assert solved["kg"] <= 0.2
        if redraws[i] == 0:  # accepted at once: the plain draw
            assert values["k_CT"][i] == first["k_CT"][i]
    # redrawn patients were the implausible ones at their first draw
    for i in np.flatnonzero(redraws > 0)[:10]:
        solved, _, _ = io_qsp.patient(covs[i], {"k_CT": float(first["k_CT"][i])})
        assert solved["kg"] > 0.2
    # prefix-stable like everything else
    v40, r40, _ = draw_plausible(IO, covs[:40], p, 5, ranges)
    assert np.array_equal(v40["k_CT"].to_numpy(), values["k_CT"].to_numpy()[:40])
    assert np.array_equal(r40, redraws[:40])


def test_a_patient_no_redraw_can_make_plausible_is_kept_and_flagged():
    covs = to_covariates(sample_population("melanoma", 5, 5))
    p = _set(k_CT={"value": 5.0})  # nothing varies: nothing to redraw
    values, redraws, ok = draw_plausible(IO, covs, p, 5, check_plausible_ranges(IO, {"kg": {"upper": 1e-6}}))
    assert not ok.any() and (redraws == 0).all() and len(values) == 5
