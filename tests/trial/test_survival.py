"""Survival: death model, endpoints and censoring, and the Kaplan–Meier / log-rank / Cox summaries.

The summaries are computed by lifelines; the tests here check that oncoimmune hands lifelines the right
data and reads the right outputs back, against values derived by hand in the comments (product-limit
and Greenwood formulas, Kalbfleisch & Prentice 2002 §1.4; log-rank observed − expected and hypergeometric
variance; closed-form maxima of tiny Efron partial likelihoods), plus analytic exponential results, the US
2022 life table (population.md §4.3; CDC NVSR "United States Life Tables, 2022" Tables 2–3), population.md
§4.2 (lethal burden) and §4.4 (administrative censoring).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.exceptions import ConvergenceWarning

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.trial import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    US_LIFE_TABLE_2022,
    DeathModel,
    SurvivalData,
    TumourBurdenHazard,
    administrative_follow_up,
    cox_hazard_ratio,
    draw_death_times,
    kaplan_meier,
    logrank_test,
    summarise_survival,
    survival_endpoints,
)

# eight patients with tied event times (3), a censoring tied with events (3) and censorings between events
KM_DURATIONS = np.array([2.0, 3, 3, 3, 5, 6, 6, 8])
KM_EVENTS = np.array([True, True, True, False, False, True, False, True])


def _greenwood_band(s: float, v: float, alpha: float) -> tuple[float, float]:
    """Exponential-Greenwood ("log(-log)") band of S with Greenwood sum v (Kalbfleisch & Prentice 2002, eq. 1.13)."""
    z = NormalDist().inv_cdf(1 - alpha / 2)
    c = math.log(-math.log(s))
    h = z * math.sqrt(v) / math.log(s)
    return math.exp(-math.exp(c - h)), math.exp(-math.exp(c + h))


# ----------------------------------------------------------------------------------------------
# Kaplan–Meier (lifelines KaplanMeierFitter) against the product-limit estimate worked by hand
# ----------------------------------------------------------------------------------------------
def test_kaplan_meier_product_limit_by_hand():
    km = kaplan_meier(SurvivalData(KM_DURATIONS, KM_EVENTS, "arm A"), alpha=0.10)
    # distinct times 0, 2, 3, 5, 6, 8; at risk (duration >= t) 8, 8, 7, 4, 3, 1; events 0, 1, 2, 0, 1, 1
    np.testing.assert_array_equal(km.timeline, [0, 2, 3, 5, 6, 8])
    assert km.at_risk.tolist() == [8, 8, 7, 4, 3, 1]
    assert km.events.tolist() == [0, 1, 2, 0, 1, 1]
    assert km.censored.tolist() == [0, 0, 1, 1, 1, 0]
    # S = 1, 7/8, 7/8 * 5/7 = 5/8, 5/8 (censoring only), 5/8 * 2/3 = 5/12, 5/12 * 0/1 = 0
    np.testing.assert_allclose(km.survival, [1, 7 / 8, 5 / 8, 5 / 8, 5 / 12, 0], rtol=0, atol=1e-14)
    # Greenwood sums d/(n(n-d)): 1/56 at 2; + 2/35 at 3 and 5; + 1/6 at 6. 90 % band (alpha passed through).
    for t, s, v in (
        (2, 7 / 8, 1 / 56),
        (3, 5 / 8, 1 / 56 + 2 / 35),
        (5, 5 / 8, 1 / 56 + 2 / 35),
        (6, 5 / 12, 1 / 56 + 2 / 35 + 1 / 6),
    ):
        k = km.timeline.tolist().index(t)
        lo, hi = _greenwood_band(s, v, 0.10)
        assert km.ci_lower[k] == pytest.approx(lo, rel=1e-12), t
        assert km.ci_upper[k] == pytest.approx(hi, rel=1e-12), t
        assert km.ci_lower[k] < km.survival[k] < km.ci_upper[k]
    assert km.ci_lower[0] == km.ci_upper[0] == 1.0  # no event yet: no uncertainty
    # median: first time S <= 0.5 is 6 (S(5) = 5/8). Its 90 % CI: the lower band is 0.50029 at 2 (from the formula
    # above) and 0.2936 at 3, so it reaches 0.5 at 3; the upper band is 0.706 at 6 and 0 at 8 -> (3, 8)
    assert _greenwood_band(7 / 8, 1 / 56, 0.10)[0] > 0.5
    assert km.median == 6.0
    assert km.median_ci == (3.0, 8.0)
    assert km.alpha == 0.10 and km.label == "arm A" and km.max_duration == 8.0
    assert isinstance(km.fitter, KaplanMeierFitter)


def test_kaplan_meier_survival_and_numbers_at_risk_at_given_times():
    km = kaplan_meier(KM_DURATIONS, KM_EVENTS)
    # right-continuous steps; the curve reached 0 at 8, so it stays 0 afterwards; no estimate before 0
    s = km.survival_at([0, 1.9, 2, 2.5, 3, 7.99, 8, 9, -1])
    np.testing.assert_allclose(s[:-1], [1, 1, 7 / 8, 7 / 8, 5 / 8, 5 / 12, 0, 0], rtol=0, atol=1e-14)
    assert math.isnan(s[-1])
    # durations >= t: 8 at 0; 7 at 3 (3, 3, 3, 5, 6, 6, 8); 4 at 3.5; 1 at 8; none after
    assert km.number_at_risk([0, 3, 3.5, 8, 8.5]).tolist() == [8, 7, 4, 1, 0]
    # all-event default when event_observed is omitted: S drops by 1/8 at each of the 8 durations' steps
    all_events = kaplan_meier(KM_DURATIONS)
    np.testing.assert_allclose(all_events.survival_at([2, 3, 5, 6, 8]), [7 / 8, 4 / 8, 3 / 8, 1 / 8, 0], atol=1e-14)


def test_median_not_reached():
    # one death out of four: S = 3/4 from day 10 to the last (censored) day 40
    km = kaplan_meier(SurvivalData(np.array([10.0, 20, 30, 40]), np.array([True, False, False, False])))
    assert math.isinf(km.median)
    assert math.isinf(km.median_ci[1])
    assert km.number_at_risk([0, 15, 45]).tolist() == [4, 3, 0]
    # beyond the last follow-up with survivors left the rate is not estimable (lifelines would carry 3/4 forward)
    s = km.survival_at([39.0, 41.0])
    assert s[0] == pytest.approx(0.75, abs=1e-14) and math.isnan(s[1])


def test_kaplan_meier_median_of_an_exponential_sample():
    # exponential with median 300 days, n = 2000, no censoring: sd of the sample median is
    # median / (ln 2 * sqrt(n)) = 9.7 days; 4 sd tolerance, and the 95 % CI covers the truth (seed fixed)
    rng = np.random.default_rng(2024)
    t = rng.exponential(300.0 / math.log(2), 2000)
    km = kaplan_meier(t)
    assert km.median == pytest.approx(300.0, abs=4 * 9.7)
    assert km.median_ci[0] <= 300.0 <= km.median_ci[1]
    # without censoring the KM median is a middle order statistic of the sample
    assert km.median in np.sort(t)[999:1001]


# ----------------------------------------------------------------------------------------------
# log-rank (lifelines.statistics.logrank_test) against the test worked by hand
# ----------------------------------------------------------------------------------------------
def test_logrank_statistic_by_hand():
    a = SurvivalData(np.array([1.0, 3, 4]), np.array([True, True, False]))
    b = SurvivalData(np.array([2.0, 3, 5]), np.array([True, True, True]))
    # event times (n, n_A, d, d_A): 1 (6, 3, 1, 1), 2 (5, 2, 1, 0), 3 (4, 2, 2, 1), 5 (1, 0, 1, 0)
    # E_A = 3/6 + 2/5 + 2*2/4 + 0 = 1.9 vs O_A = 2
    # V = (1/2)(1/2) + (2/5)(3/5) + 2 (1/2)(1/2)(4-2)/(4-1) + 0 = 0.25 + 0.24 + 1/3
    chi2 = (2 - 1.9) ** 2 / (0.25 + 0.24 + 1 / 3)
    p = math.erfc(math.sqrt(chi2 / 2))  # chi-square with 1 df
    lr = logrank_test(a, b)
    assert lr.test_statistic == pytest.approx(chi2, rel=1e-12)
    assert lr.p_value == pytest.approx(p, rel=1e-12)
    # symmetric in the groups; A's censoring at 4 counts (as an event it would change E_A and V)
    assert logrank_test(b, a).test_statistic == pytest.approx(chi2, rel=1e-12)
    a_all = SurvivalData(a.durations, np.ones(3, dtype=bool))
    assert logrank_test(a_all, b).test_statistic != pytest.approx(chi2, rel=1e-3)


# ----------------------------------------------------------------------------------------------
# Cox hazard ratio (lifelines CoxPHFitter) against closed-form maxima of tiny partial likelihoods
# ----------------------------------------------------------------------------------------------
# lifelines' Newton-Raphson stops on its default criteria (Newton decrement < 1e-7, or relative change of the
# log-likelihood < 1e-9), which leaves beta about 2e-6 from the exact maximum on these 3-4 patient data sets
COX_RTOL = 1e-5


def _wald(beta: float, se: float, alpha: float) -> tuple[float, float, float]:
    z = NormalDist().inv_cdf(1 - alpha / 2)
    return math.exp(beta - z * se), math.exp(beta + z * se), 2 * NormalDist().cdf(-abs(beta) / se)


def test_cox_hazard_ratio_by_hand_without_ties():
    # treated dies at 1 and 3, reference at 2 and 4; u = exp(beta). Partial likelihood:
    # u/(2u+2) * 1/(u+2) * u/(u+1) * 1  ->  score 2 - 2u/(u+1) - u/(u+2) = 0  ->  u^2 - u - 4 = 0
    u = (1 + math.sqrt(17)) / 2
    # information: variance of the arm indicator over each risk set, 2u/(u+1)^2 + 2u/(u+2)^2
    se = (2 * u / (u + 1) ** 2 + 2 * u / (u + 2) ** 2) ** -0.5
    treated = SurvivalData(np.array([1.0, 3.0]), np.array([True, True]))
    reference = SurvivalData(np.array([2.0, 4.0]), np.array([True, True]))
    hr = cox_hazard_ratio(treated, reference, alpha=0.10)
    assert hr.hr == pytest.approx(u, rel=COX_RTOL)
    assert hr.coef == pytest.approx(math.log(u), rel=COX_RTOL)
    assert hr.se == pytest.approx(se, rel=COX_RTOL)
    lo, hi, p = _wald(math.log(u), se, 0.10)
    assert (hr.ci_lower, hr.ci_upper, hr.p_value) == pytest.approx((lo, hi, p), rel=COX_RTOL)
    assert hr.alpha == 0.10
    # the other way round: the reciprocal
    assert cox_hazard_ratio(reference, treated).hr == pytest.approx(1 / u, rel=COX_RTOL)


def test_cox_hazard_ratio_uses_efron_ties():
    # treated: death at 1, censored at 2; reference: death at 1 (tied with the treated death). u = exp(beta).
    # Efron: at t = 1 the risk set sum is 2u + 1 and the tied deaths' sum u + 1, so the log partial likelihood is
    # beta - ln(2u+1) - ln(2u+1 - (u+1)/2); score 1 - 2u/(2u+1) - 3u/(3u+1) = 0  ->  1 - 6u^2 = 0, u = 1/sqrt(6)
    # (Breslow's ln L = beta - 2 ln(2u+1) would give u = 1/2). Information 2u/(2u+1)^2 + 3u/(3u+1)^2.
    u = 1 / math.sqrt(6)
    se = (2 * u / (2 * u + 1) ** 2 + 3 * u / (3 * u + 1) ** 2) ** -0.5
    treated = SurvivalData(np.array([1.0, 2.0]), np.array([True, False]))
    reference = SurvivalData(np.array([1.0]), np.array([True]))
    hr = cox_hazard_ratio(treated, reference)
    assert hr.hr == pytest.approx(u, rel=COX_RTOL)
    assert hr.se == pytest.approx(se, rel=COX_RTOL)
    lo, hi, p = _wald(math.log(u), se, 0.05)
    assert (hr.ci_lower, hr.ci_upper, hr.p_value) == pytest.approx((lo, hi, p), rel=COX_RTOL)


def test_cox_recovers_a_true_hazard_ratio_of_one_half():
    # n = 2000 (1000 per arm), exponential hazards 1/300 and 0.5/300 per day, censoring at 720 days:
    # expected events 909 + 699 -> se(log HR) ~ sqrt(1/909 + 1/699) = 0.050; tolerance 3 se on log HR
    rng = np.random.default_rng(99)
    lam = 1.0 / 300.0
    t_ref = rng.exponential(1 / lam, 1000)
    t_trt = rng.exponential(1 / (0.5 * lam), 1000)
    ref = SurvivalData(np.minimum(t_ref, 720.0), t_ref <= 720.0)
    trt = SurvivalData(np.minimum(t_trt, 720.0), t_trt <= 720.0)
    hr = cox_hazard_ratio(trt, ref)
    assert abs(math.log(hr.hr) - math.log(0.5)) < 3 * hr.se
    assert hr.se == pytest.approx(0.050, abs=0.004)
    assert hr.ci_lower < 0.5 < hr.ci_upper
    assert hr.p_value < 1e-20
    assert logrank_test(trt, ref).p_value < 1e-20


def test_cox_hazard_ratio_when_not_estimable():
    # an arm without events: the partial likelihood keeps rising as HR -> 0, so the estimate is ~0 with an
    # interval spanning everything; lifelines warns of complete separation
    rng = np.random.default_rng(1)
    none = SurvivalData(rng.uniform(1, 100, 20), np.zeros(20, dtype=bool))
    some = SurvivalData(rng.uniform(1, 100, 20), rng.random(20) < 0.7)
    with pytest.warns(ConvergenceWarning):
        hr = cox_hazard_ratio(none, some)
    assert hr.hr < 1e-3 and hr.ci_lower < 1e-3 and hr.ci_upper > 1e3 and hr.p_value > 0.5
    # no information at all (the only death happens with one patient at risk): NaN, a warning, no exception
    with pytest.warns(ConvergenceWarning) as caught:
        hr = cox_hazard_ratio(SurvivalData([5.0], [True]), SurvivalData([3.0], [False]))
    assert any("not estimable" in str(w.message) for w in caught)
    assert math.isnan(hr.hr) and math.isnan(hr.ci_lower) and math.isnan(hr.p_value)


# ----------------------------------------------------------------------------------------------
# per-arm summary
# ----------------------------------------------------------------------------------------------
def test_summarise_survival_structure_and_units():
    # arm A: the hand-worked KM data in months; arm B: the log-rank example, all in months
    a = SurvivalData(KM_DURATIONS * DAYS_PER_MONTH, KM_EVENTS)
    b = SurvivalData(np.array([1.0, 3, 4, 2, 3, 5]) * DAYS_PER_MONTH, np.array([1, 1, 0, 1, 1, 0], dtype=bool))
    s = summarise_survival({"A": a, "B": b}, rates_months=(2.5, 4, 9))
    assert s["A"]["n"] == 8 and s["A"]["events"] == 5
    assert s["A"]["median_months"] == pytest.approx(6.0, rel=1e-12)
    # 95 % band (Greenwood formula above): lower 0.387 at 2 months (<= 0.5); upper 0.861 at 3-5, 0.747 at 6, 0 at 8
    assert _greenwood_band(7 / 8, 1 / 56, 0.05)[0] <= 0.5
    assert s["A"]["median_ci_months"] == pytest.approx([2.0, 8.0], rel=1e-12)
    # rates: S(2.5 mo) = 7/8, S(4 mo) = 5/8, S(9 mo) = 0 (the curve reached 0 at 8 months)
    assert s["A"]["rate"] == pytest.approx({"2.5": 7 / 8, "4": 5 / 8, "9": 0.0}, abs=1e-14)
    # B's longest follow-up is censored at 5 months: the 9-month rate is not estimable
    assert math.isnan(s["B"]["rate"]["9"])
    hr = cox_hazard_ratio(a, b)
    assert s["A"]["hr_vs"]["B"] == pytest.approx(
        {
            "hr": hr.hr,
            "ci_lower": hr.ci_lower,
            "ci_upper": hr.ci_upper,
            "p_value": hr.p_value,
            "coef": hr.coef,
            "se": hr.se,
        },
        rel=1e-12,
    )
    assert s["B"]["hr_vs"]["A"]["hr"] == pytest.approx(1 / hr.hr, rel=COX_RTOL)
    p = logrank_test(a, b).p_value
    assert s["A"]["logrank_p_vs"]["B"] == pytest.approx(p, rel=1e-12)
    assert s["B"]["logrank_p_vs"]["A"] == pytest.approx(p, rel=1e-12)
    assert s["A"]["km"].median == pytest.approx(6 * DAYS_PER_MONTH, rel=1e-12)
    # no event in either arm: no hazard ratio or log-rank test; medians not reached
    c = SurvivalData(np.array([30.0, 60.0]), np.array([False, False]))
    s0 = summarise_survival({"C": c, "D": c})
    assert s0["C"]["hr_vs"] == {} and s0["C"]["logrank_p_vs"] == {}
    assert math.isinf(s0["C"]["median_months"])


# ----------------------------------------------------------------------------------------------
# background mortality
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("age", "sex", "qx"),
    [
        # CDC NVSR United States Life Tables 2022, Table 2 (males) / Table 3 (females), q_x
        (60, "male", 0.012616168707609177),
        (60, "female", 0.007811634801328182),
        (70, "male", 0.024717949330806732),
        (80, "male", 0.05983412638306618),
        (80, "female", 0.04371759667992592),
        (45, "female", 0.0023927276488393545),
    ],
)
def test_background_mortality_matches_the_life_table(age, sex, qx):
    p = US_LIFE_TABLE_2022.probability_of_death(age, 1.0, sex)[0]
    assert p == pytest.approx(qx, rel=1e-5)  # table transcribed to 6 significant digits


@pytest.mark.parametrize(
    ("sex", "m50", "beta"),
    [
        # tannerjared/Gompertz output/tables/annual_gompertz_fits.csv, rows "2022,Total,Male|Female,30,80":
        # log-linear fit of mortality on age 30-80, mortality at age 50 and slope (population.md §4.3 cites
        # this fit, rounded, as a = 2e-4 / 1e-4 per year)
        ("male", 0.006673111806614586, 0.06639998451165506),
        ("female", 0.0037848890403495987, 0.07483458119289164),
    ],
)
def test_transcribed_table_reproduces_the_sources_gompertz_fit(sex, m50, beta):
    # guards the transcribed q_x of ages 30-80 against typos: the fit agrees to 5e-5; one value off by 6 %
    # moves the fitted m50 by 1.2e-3
    ages = np.arange(30, 81)
    mu = US_LIFE_TABLE_2022.hazard_per_year(ages + 0.5, sex)
    slope, intercept = np.polyfit(ages - 50, np.log(mu), 1)
    assert math.exp(intercept) == pytest.approx(m50, rel=2e-4)
    assert slope == pytest.approx(beta, rel=2e-4)


def test_background_only_deaths_reproduce_the_life_table():
    # 20 000 men aged 60, no tumour, followed 10 years: the fraction dead is 1 - prod(1 - q_x), x = 60..69,
    # of the US 2022 male table (binomial sd 0.0027); within the first year it is q_60 (sd 0.0008)
    n = 20_000
    t = np.linspace(0.0, 10 * DAYS_PER_YEAR, 121)
    d = draw_death_times(t, np.zeros((n, t.size)), age_years=60.0, sex="male", seed=5, model=DeathModel(tumour=None))
    qx = [0.0126162, 0.0135793, 0.0145417, 0.0155184, 0.0165447, 0.0176524, 0.0189990, 0.0202955, 0.0217216, 0.0232202]
    p10 = 1 - np.prod(1 - np.array(qx))
    assert np.isfinite(d.day).mean() == pytest.approx(p10, abs=4 * math.sqrt(p10 * (1 - p10) / n))
    p1 = (d.day <= DAYS_PER_YEAR).mean()
    assert p1 == pytest.approx(qx[0], abs=4 * math.sqrt(qx[0] * (1 - qx[0]) / n))
    assert not d.cancer_death.any()


def test_life_table_hazard_is_piecewise_constant_and_open_interval():
    mu = US_LIFE_TABLE_2022.hazard_per_year([60.0, 60.99, 61.0, 100.0, 105.0], "male")
    assert mu[0] == mu[1] == pytest.approx(-math.log(1 - 0.0126162))
    assert mu[2] == pytest.approx(-math.log(1 - 0.0135793))
    assert mu[3] == mu[4] == pytest.approx(1 / 1.91748)  # 1/e_100, same table


# ----------------------------------------------------------------------------------------------
# cancer deaths
# ----------------------------------------------------------------------------------------------
def test_lethal_burden_death_at_the_crossing_time():
    # exponential growth N = 6.5e10 * exp(r t) reaches 1e12 at ln(1e12/6.5e10)/r (log-linear interpolation is exact)
    r = 0.01
    t = np.linspace(0.0, 400.0, 41)
    cells = 6.5e10 * np.exp(r * t)[None, :]
    model = DeathModel(tumour=TumourBurdenHazard(hazard_per_day=0.0), background=None)
    d = draw_death_times(t, cells, age_years=60, sex="female", seed=1, model=model)
    assert d.day[0] == pytest.approx(math.log(1e12 / 6.5e10) / r, rel=1e-12)
    assert d.cancer_death[0]


def test_constant_burden_gives_exponential_death_times():
    # burden held at the reference: hazard h = 0.002/day -> exponential, median ln2/h = 346.6 days
    n = 4000
    h = 0.002
    t = np.linspace(0.0, 5000.0, 51)
    model = DeathModel(tumour=TumourBurdenHazard(hazard_per_day=h, lethal_cells=None), background=None)
    d = draw_death_times(t, np.full((n, t.size), 6.5e10), age_years=60, sex="male", seed=2, model=model)
    med = np.median(d.day)
    # sd of the sample median = median/(ln2 sqrt(n)) = 7.9 days; 4 sd
    assert med == pytest.approx(math.log(2) / h, abs=4 * 7.9)
    assert d.cancer_death[np.isfinite(d.day)].all()
    # hazard doubles with burden (exponent 1): twice the burden halves the median
    d2 = draw_death_times(t, np.full((n, t.size), 13e10), age_years=60, sex="male", seed=2, model=model)
    assert np.median(d2.day) == pytest.approx(med / 2, rel=1e-9)  # same draws E, hazard x2


def test_competing_causes_share_deaths_by_their_hazards():
    # cancer hazard 0.1/year vs background of a 60-year-old man (~0.0127/year): cancer share ~ 0.887
    n = 20_000
    h = 0.1 / DAYS_PER_YEAR
    t = np.linspace(0.0, 365.25, 13)
    model = DeathModel(tumour=TumourBurdenHazard(hazard_per_day=h, lethal_cells=None))
    d = draw_death_times(t, np.full((n, t.size), 6.5e10), age_years=60, sex="male", seed=8, model=model)
    died = np.isfinite(d.day)
    mu = -math.log(1 - 0.0126162)
    share = d.cancer_death[died].mean()
    expected = 0.1 / (0.1 + mu)
    assert share == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / died.sum()))
    # and the fraction dead in a year is 1 - exp(-(h_c + mu) * 1 y)
    p = 1 - math.exp(-(0.1 + mu))
    assert died.mean() == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))


def test_death_draws_are_deterministic_and_chunk_invariant():
    rng = np.random.default_rng(4)
    n = 30
    t = np.linspace(0.0, 2000.0, 101)
    cells = 1e10 * np.exp(rng.normal(0, 0.003, (n, 1)) * t[None, :])
    age = rng.uniform(40, 85, n)
    sex = np.where(rng.random(n) < 0.5, "male", "female")
    full = draw_death_times(t, cells, age_years=age, sex=sex, seed=123)
    parts = [
        draw_death_times(t, cells[a:b], age_years=age[a:b], sex=sex[a:b], seed=123, patient_index=np.arange(a, b))
        for a, b in ((0, 7), (7, 19), (19, 30))
    ]
    np.testing.assert_array_equal(full.day, np.concatenate([p.day for p in parts]))
    np.testing.assert_array_equal(full.cancer_death, np.concatenate([p.cancer_death for p in parts]))
    again = draw_death_times(t, cells, age_years=age, sex=sex, seed=123)
    np.testing.assert_array_equal(full.day, again.day)
    other = draw_death_times(t, cells, age_years=age, sex=sex, seed=124)
    assert not np.array_equal(full.day, other.day)


def test_failed_trajectory_is_censored_where_it_stops():
    t = np.array([0.0, 100.0, 200.0, 300.0])
    cells = np.array([[np.nan] * 4, [1e10, 1e10, np.nan, np.nan], [1e10] * 4])
    model = DeathModel(tumour=TumourBurdenHazard(hazard_per_day=1e-9, lethal_cells=None), background=None)
    d = draw_death_times(t, cells, age_years=60, sex="male", seed=0, model=model)
    assert d.observed_until_day.tolist() == [0.0, 100.0, 300.0]
    assert np.isinf(d.day).all()
    ep = survival_endpoints(
        progression_day=np.full(3, np.nan),
        death_day=d.day,
        follow_up_days=250.0,
        observed_until_day=d.observed_until_day,
        pfs_censoring="follow_up",
    )
    assert ep.os.durations.tolist() == [0.0, 100.0, 250.0] and not ep.os.event_observed.any()


# ----------------------------------------------------------------------------------------------
# endpoints and censoring
# ----------------------------------------------------------------------------------------------
def test_pfs_is_progression_or_death_and_os_is_censored_at_follow_up():
    scan_days = np.array([0.0, 42.0, 84.0, 126.0, 168.0])
    evaluable = np.ones((5, 5), dtype=bool)
    ep = survival_endpoints(
        progression_day=np.array([84.0, np.nan, np.nan, 126.0, np.nan]),
        death_day=np.array([300.0, 100.0, np.inf, 50.0, 400.0]),
        follow_up_days=150.0,
        scan_days=scan_days,
        evaluable=evaluable,
    )
    # 0: progression at 84, death after cut-off; 1: death without progression at 100;
    # 2: alive, censored at the last scan on or before 150 (126); 3: death (50) before progression;
    # 4: alive at 150 (dies later): censored at 126 for PFS, 150 for OS
    assert ep.pfs.durations.tolist() == [84.0, 100.0, 126.0, 50.0, 126.0]
    assert ep.pfs.event_observed.tolist() == [True, True, False, True, False]
    assert ep.os.durations.tolist() == [150.0, 100.0, 150.0, 50.0, 150.0]
    assert ep.os.event_observed.tolist() == [False, True, False, True, False]
    fu = survival_endpoints(
        progression_day=np.array([np.nan]),
        death_day=np.array([np.inf]),
        follow_up_days=150.0,
        pfs_censoring="follow_up",
    )
    assert fu.pfs.durations.tolist() == [150.0]


def test_administrative_censoring_is_uniform_over_accrual():
    # population.md §4.4: uniform entry over accrual, censored at the cut-off -> U(min, min + accrual)
    fu = administrative_follow_up(20_000, min_follow_up_days=240.0, accrual_days=660.0, seed=3)
    assert fu.min() >= 240.0 and fu.max() <= 900.0
    assert fu.mean() == pytest.approx(570.0, abs=4 * 660 / math.sqrt(12 * 20_000))
    parts = np.concatenate(
        [
            administrative_follow_up(
                5, min_follow_up_days=240.0, accrual_days=660.0, seed=3, patient_index=np.arange(5)
            ),
            administrative_follow_up(
                15, min_follow_up_days=240.0, accrual_days=660.0, seed=3, patient_index=np.arange(5, 20)
            ),
        ]
    )
    np.testing.assert_array_equal(parts, fu[:20])
    assert administrative_follow_up(3, min_follow_up_days=100.0).tolist() == [100.0] * 3


# ----------------------------------------------------------------------------------------------
# input errors
# ----------------------------------------------------------------------------------------------
def test_input_errors_name_the_field():
    with pytest.raises(ValidationError) as err:
        SurvivalData(np.array([1.0, 2.0]), np.array([True]))
    assert err.value.field == "event_observed"
    with pytest.raises(ValidationError) as err:
        SurvivalData(np.array([-1.0]), np.array([True]))
    assert err.value.field == "durations"
    t = np.array([0.0, 10.0])
    with pytest.raises(ValidationError) as err:
        draw_death_times(t, np.ones((2, 3)), age_years=60, sex="male", seed=0)
    assert err.value.field == "tumour_cells"
    with pytest.raises(ValidationError) as err:
        draw_death_times(t, np.ones((2, 2)), age_years=60, sex="other", seed=0)
    assert err.value.field == "sex"
    with pytest.raises(ValidationError) as err:
        draw_death_times(t, np.ones((2, 2)), age_years=60, sex="male", seed=-1)
    assert err.value.field == "seed"
    with pytest.raises(ValidationError) as err:
        draw_death_times(np.array([5.0, 10.0]), np.ones((2, 2)), age_years=60, sex="male", seed=0)
    assert err.value.field == "t_days"
    with pytest.raises(ValidationError) as err:
        administrative_follow_up(5, min_follow_up_days=100.0, accrual_days=300.0)
    assert err.value.field == "seed"
    with pytest.raises(ValidationError) as err:
        survival_endpoints(progression_day=[1.0, 2.0], death_day=[np.inf], follow_up_days=10.0)
    assert err.value.field == "death_day"
    with pytest.raises(UnknownNameError) as err:
        survival_endpoints(progression_day=[1.0], death_day=[np.inf], follow_up_days=10.0, pfs_censoring="end_of_study")
    assert err.value.field == "pfs_censoring"
    with pytest.raises(ValidationError) as err:
        TumourBurdenHazard(hazard_per_day=-1.0)
    assert err.value.field == "hazard_per_day"
    with pytest.raises(UnknownNameError) as err:
        DeathModel.from_mapping({"tumour": {"lethal_cell": 1e12}})
    assert "lethal_cell" in str(err.value)
    with pytest.raises(UnknownNameError) as err:
        DeathModel.from_mapping({"background": "France 2020"})
    assert err.value.field == "background"
    assert DeathModel.from_mapping({"tumour": {"exponent": 2}, "background": None}).background is None


def test_a_patient_enrolled_above_the_lethal_burden_is_not_dead_at_randomisation():
    # 2e12 cells at baseline (a 300 mm single lesion at 1e9 cells/cm3 is 1.4e13): the lethal rule
    # applies at 4x baseline, so death by the rule comes when the tumour has grown two doublings.
    t = np.linspace(0.0, 200.0, 201)
    cells = 2e12 * np.exp(0.01 * t)[None, :]
    model = DeathModel(tumour=TumourBurdenHazard(hazard_per_day=0.0), background=None)
    d = draw_death_times(t, cells, age_years=60.0, sex="male", seed=1, model=model, patient_index=[0])
    assert d.day[0] == pytest.approx(math.log(4.0) / 0.01, rel=1e-6)
    assert bool(d.cancer_death[0])
    strict = DeathModel(tumour=TumourBurdenHazard(hazard_per_day=0.0, lethal_fold_over_baseline=None), background=None)
    assert draw_death_times(t, cells, age_years=60.0, sex="male", seed=1, model=strict, patient_index=[0]).day[0] == 0.0
