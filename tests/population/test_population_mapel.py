"""MAPEL prevalence weighting (population.md §5.3-5.4): known bin probabilities are recovered, an
unidentified axis gives alternate VPops, an impossible figure is not accepted, and bad input names its field."""

import re

import numpy as np
import pytest

from oncoimmune.errors import ValidationError
from oncoimmune.population import weight_virtual_population


@pytest.fixture(scope="module")
def vps():
    rng = np.random.default_rng(21)
    return rng.uniform(size=(2000, 3))  # three mechanistic axes, independent


def test_known_bin_probabilities_are_recovered_and_an_unidentified_axis_gives_alternates(vps):
    responder = (vps[:, 0] < np.median(vps[:, 0])).astype(float)  # the lower half of axis 0 responds
    low = vps[:, 1] < np.median(vps[:, 1])
    # the figures a VPop with P(low bin) = 0.7 on axes 0 and 1 has (axis 2 plays no part)
    w = np.where(low, 0.7, 0.3) / np.where(low, 0.7, 0.3).sum()
    mean = float(np.dot(w, vps[:, 1]))
    sd = float(np.sqrt(np.dot(w, (vps[:, 1] - mean) ** 2)))
    targets = [
        {"name": "orr", "values": responder, "rate": 0.7, "n": 400},
        {"name": "axis 1 mean", "values": vps[:, 1], "mean": mean, "sd": sd, "n": 400},
    ]
    fit = weight_virtual_population(vps, targets, starts=6, seed=4)
    assert fit.accepted and fit.composite_p > 0.5
    assert fit.bin_probabilities[0] == pytest.approx([0.7, 0.3], abs=0.02)
    assert fit.bin_probabilities[1] == pytest.approx([0.7, 0.3], abs=0.03)
    assert fit.figures["orr"]["simulated"] == pytest.approx(0.7, abs=0.01)
    assert fit.weights.sum() == pytest.approx(1.0) and 0 < fit.effective_n <= 2000
    # axis 2 is not identified by the figures: the alternate VPops agree on axes 0 and 1, not on axis 2
    accepted = [fit, *(a for a in fit.alternates if a.accepted)]
    assert len(accepted) >= 3
    axis2 = [f.bin_probabilities[2, 0] for f in accepted]
    assert max(axis2) - min(axis2) > 0.1
    assert all(f.bin_probabilities[0, 0] == pytest.approx(0.7, abs=0.02) for f in accepted)
    assert fit.provenance["accepted_starts"] == len(accepted)
    # a seed gives the same fit
    again = weight_virtual_population(vps, targets, starts=6, seed=4)
    assert np.array_equal(again.weights, fit.weights)


def test_a_figure_no_weighting_can_reach_is_not_accepted(vps):
    rng = np.random.default_rng(3)
    coin = (rng.uniform(size=len(vps)) < 0.3).astype(float)  # a 30 % rate unrelated to every axis
    fit = weight_virtual_population(vps, [{"name": "orr", "values": coin, "rate": 0.9, "n": 500}], starts=2)
    assert not fit.accepted and fit.composite_p < 1e-6
    assert fit.figures["orr"]["simulated"] < 0.5


def test_a_figure_about_one_arm_weighs_only_that_arms_vps(vps):
    arm_a = np.arange(len(vps)) < 1000
    responder = np.where(arm_a, (vps[:, 0] < np.median(vps[:, 0])).astype(float), np.nan)
    fit = weight_virtual_population(vps, [{"name": "arm A orr", "values": responder, "rate": 0.6, "n": 300}])
    wa = fit.weights[arm_a] / fit.weights[arm_a].sum()
    assert fit.figures["arm A orr"]["n_vp"] == 1000
    assert fit.figures["arm A orr"]["simulated"] == pytest.approx(np.dot(wa, responder[arm_a]))
    assert fit.figures["arm A orr"]["simulated"] == pytest.approx(0.6, abs=0.01)


@pytest.mark.parametrize(
    ("targets", "kwargs", "field", "rule"),
    [
        ([], {}, "targets", "non-empty list"),
        ([{"name": "x", "values": np.ones(10), "rate": 1.5, "n": 10}], {}, "targets.0.rate", r"fraction in \[0, 1\]"),
        ([{"name": "x", "values": np.full(10, 2.0), "rate": 0.5, "n": 10}], {}, "targets.0.values", "be 0 or 1"),
        ([{"name": "x", "values": np.ones(9), "rate": 0.5, "n": 10}], {}, "targets.0.values", "one value per VP"),
        ([{"name": "x", "values": np.ones(10), "rate": 0.5, "n": 1}], {}, "targets.0.n", "integer >= 2"),
        ([{"name": "x", "values": np.ones(10), "mean": 0.5, "sd": -1, "n": 5}], {}, "targets.0.sd", "be > 0"),
        ([{"name": "x", "values": np.ones(10), "n": 5}], {}, "targets.0", "either rate or mean"),
        ([{"name": "x", "values": np.ones(10), "rate": 0.5, "n": 5, "ci": 1}], {}, "targets.0.ci", "be one of"),
        ([{"name": "x", "values": np.ones(10), "rate": 0.5, "n": 5}], {"bins": 1}, "bins", "integer >= 2"),
        ([{"name": "x", "values": np.ones(10), "rate": 0.5, "n": 5}], {"alpha": 0}, "alpha", r"be in \(0, 1\)"),
    ],
)
def test_bad_input_names_the_field_and_the_rule(targets, kwargs, field, rule):
    axes = np.linspace(0.0, 1.0, 10)
    with pytest.raises(ValidationError, match=rf"'{re.escape(field)}'.*{rule}") as err:
        weight_virtual_population(axes, targets, **kwargs)
    assert err.value.field == field


def test_an_sd_no_weighting_reaches_fails_the_f_test_not_the_t_test(vps):
    # mean 0.5 is where the uniform axis already is; an SD of 0.05 is far below any mixture of its two
    # halves (0.14 at least): the F-test rejects, the t-test does not
    fit = weight_virtual_population(
        vps[:, :1], [{"name": "axis", "values": vps[:, 0], "mean": 0.5, "sd": 0.05, "n": 300}], starts=2
    )
    p_mean, p_sd = fit.figures["axis"]["p"]
    assert p_mean > 0.05 and p_sd < 1e-6 and not fit.accepted
    assert fit.figures["axis"]["simulated_sd"] > 0.14


def test_a_floor_on_the_effective_sample_size_holds_the_weights_back(vps):
    responder = (vps[:, 0] < np.median(vps[:, 0])).astype(float)
    target = [{"name": "orr", "values": responder, "rate": 0.95, "n": 400}]
    free = weight_virtual_population(vps[:, :1], target, starts=1)
    held = weight_virtual_population(vps[:, :1], target, starts=1, min_effective_n=1800)
    assert free.figures["orr"]["simulated"] == pytest.approx(0.95, abs=0.01) and free.effective_n < 1500
    # effective N of a two-bin weighting with P(low) = q on 2,000 VPs: 2000 / (2 (q^2 + (1 - q)^2))
    assert held.effective_n >= 1800 - 1 and held.figures["orr"]["simulated"] < 0.9
