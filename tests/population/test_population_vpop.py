"""Virtual-population selection (Allen, Rieger & Musante 2016; population.md §5.1): the selected plausible
patients follow the target distribution, correlations included, reproducibly, and bad input names its field."""

import re

import numpy as np
import pandas as pd
import pytest

from oncoimmune.errors import ValidationError
from oncoimmune.population import sample_population, select_virtual_population


def test_a_wide_uniform_cloud_is_cut_down_to_the_observed_correlated_normal():
    rng = np.random.default_rng(11)
    pps = rng.uniform(-4.0, 4.0, size=(6000, 2))
    data = rng.multivariate_normal([0.5, -0.3], [[1.0, 0.6], [0.6, 1.0]], size=400)
    vpop = select_virtual_population(pps, data=data, seed=3)
    chosen = pps[vpop.selected]
    # a VPop, not the whole cloud (the uniform cloud's KS distance to the target is large)
    assert 100 < vpop.n_selected < 2000
    # the marginals pass the method's KS test against the data's normal, and the correlation the KS test
    # does not see comes from the target density (step 5): 0.6 in the data, 0 in the cloud
    assert vpop.ks_pvalue.min() > 0.05
    assert chosen.mean(axis=0) == pytest.approx([0.5, -0.3], abs=0.15)
    assert chosen.std(axis=0) == pytest.approx([1.0, 1.0], abs=0.12)
    assert np.corrcoef(chosen.T)[0, 1] == pytest.approx(0.6, abs=0.12)
    # step 9: the VPop is the best of the repeated draws at the chosen beta
    assert vpop.score <= vpop.score_mean and vpop.score_sd > 0
    assert vpop.provenance["selected"] == vpop.n_selected and vpop.provenance["plausible"] == 6000


def test_a_published_log_normal_burden_selects_the_sampled_melanoma_patients_to_match_it():
    # the melanoma population's baseline burden against a published-style summary: median 60 mm, log-SD 0.5
    frame = sample_population("melanoma", 5000, 4)
    burden = frame["tumour_burden_mm"].to_numpy()
    median, log_sd = 60.0, 0.5
    vpop = select_virtual_population(burden, mean=[np.log(median)], cov=[[log_sd**2]], log=True, seed=2)
    chosen = np.log(burden[vpop.selected])
    assert np.exp(np.median(chosen)) == pytest.approx(median, rel=0.1)
    assert chosen.std() == pytest.approx(log_sd, rel=0.15)
    assert vpop.ks_pvalue[0] > 0.05
    assert vpop.provenance["target"] == "normal given by mean and cov" and vpop.provenance["log"] == [True]


def test_a_seed_gives_the_same_vpop_and_another_seed_another_draw():
    rng = np.random.default_rng(5)
    pps = rng.uniform(-3, 3, size=(1500, 1))
    data = rng.normal(0, 1, size=(200, 1))
    a = select_virtual_population(pps, data=data, seed=9, repeats=20)
    b = select_virtual_population(pps, data=data, seed=9, repeats=20)
    c = select_virtual_population(pps, data=data, seed=10, repeats=20)
    assert np.array_equal(a.selected, b.selected) and a.beta == b.beta
    assert not np.array_equal(a.selected, c.selected)
    # the inclusion probabilities (steps 4-7) do not depend on the seed; the draws do
    assert np.array_equal(a.inclusion, c.inclusion)


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"plausible": [[1.0], [np.nan]], "data": [[0.0], [1.0]]}, "plausible[1, 0]", "be finite"),
        ({"plausible": np.ones((10, 2)), "data": np.ones((5, 3))}, "data", "have 2 observable columns"),
        ({"plausible": np.arange(1.0, 11.0), "data": [1.0, 2.0, -1.0], "log": True}, "data[2, 0]", "be > 0"),
        ({"plausible": np.arange(10.0), "mean": [0.0], "cov": [[-1.0]]}, "cov", "positive definite"),
        ({"plausible": np.arange(10.0)}, "data", "or mean and cov"),
        ({"plausible": np.arange(10.0), "mean": [0.0]}, "cov", "be given with the other"),
        ({"plausible": np.arange(10.0), "cov": [[1.0]]}, "mean", "be given with the other"),
        ({"plausible": np.arange(10.0), "mean": ["x"], "cov": [[1.0]]}, "mean", "be numbers"),
        (
            {"plausible": np.ones((10, 2)) + np.arange(10)[:, None] * [1, 2], "mean": [0.0], "cov": np.eye(2)},
            "mean",
            "hold 2",
        ),
        ({"plausible": np.arange(10.0), "data": np.arange(5.0), "mean": [0.0], "cov": [[1.0]]}, "data", "alone"),
        ({"plausible": np.arange(4.0), "data": np.arange(5.0)}, "plausible", "more patients than k"),
        ({"plausible": np.arange(10.0), "data": np.arange(5.0), "seed": -1}, "seed", r"integer >= 0"),
        ({"plausible": np.arange(10.0), "data": np.arange(5.0), "log": [True, False]}, "log", "one per observable"),
    ],
)
def test_bad_input_names_the_field_and_the_rule(kwargs, field, rule):
    with pytest.raises(ValidationError, match=rf"'{re.escape(field)}'.*{rule}") as err:
        select_virtual_population(**kwargs)
    assert err.value.field == field


def test_the_outcome_summary_counts_responses_and_reads_km_medians_per_arm():
    from oncoimmune.population._vpop import outcome_summary
    from oncoimmune.trial import DAYS_PER_MONTH

    frame = pd.DataFrame(
        {
            "arm": ["a"] * 4 + ["b"] * 3,
            "best_overall_response": ["CR", "PR", "SD", "PD", "PD", "NE", "PR"],
            # arm a: every PFS observed, median between the 2nd and 3rd of 4 (KM steps to 0.5 at the 2nd)
            "pfs_days": [10.0, 20.0, 30.0, 40.0, 5.0, 500.0, 600.0],
            "pfs_event": [True, True, True, True, True, False, False],
        }
    )
    out = outcome_summary(frame)
    assert out["a"] == {"n": 4, "orr": 0.5, "median_pfs_months": pytest.approx(20.0 / DAYS_PER_MONTH)}
    # arm b: one event in three, the curve never reaches 0.5: not reached, None (valid JSON)
    assert out["b"]["orr"] == pytest.approx(1 / 3) and out["b"]["median_pfs_months"] is None
    assert outcome_summary(frame.drop(columns="arm"))["all"]["n"] == 7


def test_inclusion_is_the_target_density_over_the_k_nearest_neighbour_density():
    # steps 4-7 by hand on a few points: z = (y - mu)/sd, rho = k / V_n(r_k) (the k-th neighbour, the point
    # itself excluded), p = f_data(z) / rho
    from math import gamma, pi

    from scipy.stats import norm

    y = np.array([-2.0, -1.1, -0.4, 0.0, 0.3, 0.9, 1.7, 2.6, 3.0, 4.2])
    vpop = select_virtual_population(y, mean=[0.5], cov=[[4.0]], k=3, seed=0, repeats=2, draws_per_beta=2)
    z = (y - 0.5) / 2.0
    expected = []
    for j in range(len(z)):
        r_k = np.sort(np.abs(np.delete(z, j) - z[j]))[2]  # third nearest other point
        volume = pi**0.5 / gamma(1.5) * r_k  # n-ball "volume" in one dimension: 2 r
        expected.append(norm.pdf(z[j]) / (3 / volume))
    assert vpop.inclusion == pytest.approx(expected, rel=1e-12)
    # in two dimensions the n-ball is pi r^2, and the target density is the correlated normal's
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(2)
    y2 = rng.normal(size=(12, 2))
    cov = np.array([[1.0, 0.5], [0.5, 2.0]])
    vpop2 = select_virtual_population(y2, mean=[0.0, 0.0], cov=cov, k=5, seed=0, repeats=2, draws_per_beta=2)
    sd = np.sqrt(np.diag(cov))
    z2 = y2 / sd
    dist = np.sqrt(((z2[:, None, :] - z2[None, :, :]) ** 2).sum(-1))
    r5 = np.sort(dist, axis=1)[:, 5]  # column 0 is the point itself
    f = multivariate_normal(mean=[0, 0], cov=cov / np.outer(sd, sd)).pdf(z2)
    assert vpop2.inclusion == pytest.approx(f / (5 / (pi * r5**2)), rel=1e-12)
