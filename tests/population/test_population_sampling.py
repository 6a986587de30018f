"""Sampled marginals and correlations against their sources (n = 20,000 per tumour type).

Sources are ../shared/reference/population.md sections (flags V/R/U/D as there). Shares are
checked within 4.5 binomial standard errors; medians of log-normal covariates within 4.5 standard
errors of a sample median on the log scale (1.2533 sigma / sqrt(n)); latent correlations, recovered
from normal scores of the ranks, within 0.03 (about 4.5 standard errors of a correlation near 0.3
at n = 20,000). The seed is fixed, so these tests are deterministic; the tolerances say how far a
correct sampler may stray from the source by chance.
"""

import math

import numpy as np
import pytest
from population_helpers import TYPES, N, normal_scores, population, share_tol
from scipy.special import ndtr, ndtri

LN_MEDIAN_SE = 1.2533 / math.sqrt(N)  # x sigma: standard error of a sample median of N(., sigma^2)


def _log_median_ok(x, median, sigma, k=4.5):
    got = float(np.median(np.log(x)))
    assert abs(got - math.log(median)) <= k * LN_MEDIAN_SE * sigma + 0.006, (math.exp(got), median)


# -- sex, histology, age, ECOG ---------------------------------------------------------------------

SEX_MALE = {
    "melanoma": 0.62,  # population.md §6 melanoma default
    "nsclc": 0.70 * 0.60 + 0.30 * 0.80,  # §6: squamous 30 %, male non-squamous 60 %, squamous 80 %
    "rcc": 0.73,  # §6 RCC default
    "lbcl": 0.65,  # §6 LBCL default (ZUMA-1 67 %, TRANSCEND 64 %)
}


@pytest.mark.parametrize("tumour_type", TYPES)
def test_male_share_matches_the_default_of_population_md(tumour_type):
    f = population(tumour_type)
    p = SEX_MALE[tumour_type]
    assert abs((f.sex == "male").mean() - p) <= share_tol(p, N)


def test_nsclc_histology_and_sex_by_histology():
    # population.md §6: squamous 30 %; male 60 % (non-squamous) and 80 % (squamous)
    f = population("nsclc")
    sq = f.subtype == "squamous"
    assert abs(sq.mean() - 0.30) <= share_tol(0.30, N)
    assert abs((f.sex[sq] == "male").mean() - 0.80) <= share_tol(0.80, int(sq.sum()))
    assert abs((f.sex[~sq] == "male").mean() - 0.60) <= share_tol(0.60, int((~sq).sum()))


AGE = {  # (mean, sd, lower, upper) of the truncated normal: population.md §6 defaults; LBCL from ZUMA-1
    "melanoma": (61.0, 13.0, 18.0, 90.0),
    "nsclc": (64.0, 9.0, 18.0, 90.0),
    "rcc": (62.0, 10.0, 18.0, 90.0),
    "lbcl": (58.0, 9.91, 18.0, 90.0),
}


@pytest.mark.parametrize("tumour_type", TYPES)
def test_age_follows_the_truncated_normal_of_the_source(tumour_type):
    mu, sd, lo, hi = AGE[tumour_type]
    a, b = (lo - mu) / sd, (hi - mu) / sd
    Z = ndtr(b) - ndtr(a)
    phi = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # noqa: E731
    mean = mu + sd * (phi(a) - phi(b)) / Z  # mean and SD of a truncated normal
    sd_t = sd * math.sqrt(1 + (a * phi(a) - b * phi(b)) / Z - ((phi(a) - phi(b)) / Z) ** 2)
    age = population(tumour_type).age_years
    assert abs(age.mean() - mean) <= 4.5 * sd / math.sqrt(N)
    assert abs(age.std() / sd_t - 1.0) <= 4.5 / math.sqrt(2 * N)
    assert age.min() >= lo and age.max() <= hi


def test_lbcl_age_share_over_65_is_zuma1():
    # ZUMA-1: median 58, >= 65 years in 24 % (Neelapu NEJM 2017; population.md §1.4, V)
    f = population("lbcl")
    assert abs((f.age_years >= 65).mean() - 0.24) <= share_tol(0.24, N)
    assert abs(f.age_years.median() - 58.0) <= 0.4


ECOG0 = {
    "melanoma": 0.70,  # §6 melanoma default
    "nsclc": 0.35,  # §6 NSCLC default
    "rcc": 0.765,  # CheckMate 9ER Karnofsky 90-100 (79.6/73.5 %) mapped to ECOG 0 (§1.3)
    "lbcl": 0.45,  # §6 LBCL default ECOG 1 55 %
}


@pytest.mark.parametrize("tumour_type", TYPES)
def test_ecog_shares(tumour_type):
    f = population(tumour_type)
    p = ECOG0[tumour_type]
    assert set(f.ecog.unique()) == {0, 1}
    assert abs((f.ecog == 0).mean() - p) <= share_tol(p, N)


# -- LDH ------------------------------------------------------------------------------------------


def test_melanoma_ldh_shares_above_uln_are_relativity047():
    # RELATIVITY-047: LDH > ULN 36.6/35.7 %, > 2 x ULN 9.0/8.6 % (population.md §1.1, V secondary); ULN 250 U/L
    f = population("melanoma")
    above = (0.366 * 355 + 0.357 * 359) / 714
    above2 = (0.090 * 355 + 0.086 * 359) / 714
    assert abs((f.ldh_u_per_l > 250).mean() - above) <= share_tol(above, N)
    assert abs((f.ldh_u_per_l > 500).mean() - above2) <= share_tol(above2, N)
    # population.md §6 default LDH > ULN 35 % and trials 32-43 % (§1.1): the fit lies in that range
    assert 0.32 <= (f.ldh_u_per_l > 250).mean() <= 0.43


def test_lbcl_ldh_is_transcend():
    # TRANSCEND NHL 001: median 264.5 U/L, >= 500 U/L in 21 % (population.md §1.4, V)
    f = population("lbcl")
    _log_median_ok(f.ldh_u_per_l, 264.5, 0.55)
    assert abs((f.ldh_u_per_l >= 500).mean() - 0.21) <= share_tol(0.21, N)


def test_nsclc_ldh_median_is_struemper():
    # NSCLC IO cohort median 225.5 IU/L (Struemper 2025; population.md §1.6, V secondary)
    _log_median_ok(population("nsclc").ldh_u_per_l, 225.5, 0.5)


def test_ldh_lower_tail_is_physiological():
    # a single log-normal through the RELATIVITY-047 shares would put 17 % below 100 U/L; the split
    # log-normal (lower sigma from the CA184-169 minimum 0.4 x ULN, n = 688) keeps the lower tail narrow
    f = population("melanoma")
    assert (f.ldh_u_per_l < 100).mean() < 0.03


# -- tumour burden and lesions ------------------------------------------------------------------------

SLD = {  # (median mm, sigma_ln): population.md §6 / §1.7
    "melanoma": (60.0, 0.7),  # §6 default 60-100 mm, RELATIVITY-047 59.0/54.5 mm (V secondary), sigma 0.7
    "nsclc": (74.0, 0.5),  # Struemper 2025 median 74 mm (V secondary), §6 sigma 0.5
    "rcc": (70.0, 0.6),  # U: no RCC value retrieved (§1.7)
}


@pytest.mark.parametrize("tumour_type", ["melanoma", "nsclc", "rcc"])
def test_baseline_sld_median_and_spread(tumour_type):
    median, sigma = SLD[tumour_type]
    sld = population(tumour_type).tumour_burden_mm
    _log_median_ok(sld, median, sigma)  # truncation at 10 mm shifts the median by < 0.5 %
    q25, q75 = np.quantile(np.log(sld), [0.25, 0.75])
    assert abs((q75 - q25) / (2 * 0.6745) / sigma - 1.0) <= 0.05
    assert sld.min() >= 10.0  # RECIST measurability


def test_lbcl_spd_is_transcend_and_sld_follows_from_it():
    # TRANSCEND SPD median 22.5 cm2 (population.md §1.4, V), sigma_ln 1.2 (U)
    f = population("lbcl")
    _log_median_ok(f.spd_cm2, 22.5, 1.2)
    assert f.spd_cm2.min() >= 0.8
    # K equal near-spherical nodes: SPD = K d^2, SLD = K d (population.md §1.4)
    np.testing.assert_allclose(f.tumour_burden_mm, 10.0 * np.sqrt(f.n_lesions * f.spd_cm2), rtol=1e-12)


@pytest.mark.parametrize("tumour_type", TYPES)
def test_target_lesion_counts_are_hillman_2009(tumour_type):
    # Hillman 2009, 20 NCCTG trials: 1: 49 %, 2: 28 %, 3: 12 %, 4: 6 %, 5: 5 % (population.md §1.7, V)
    f = population(tumour_type)
    for k, p in zip(range(1, 6), (0.49, 0.28, 0.12, 0.06, 0.05), strict=True):
        assert abs((f.n_lesions == k).mean() - p) <= share_tol(p, N), k
    assert f.n_lesions.median() == 2


@pytest.mark.parametrize("tumour_type", ["melanoma", "nsclc", "rcc"])
def test_sld_rises_28_8_percent_per_additional_lesion(tumour_type):
    # Struemper 2025: +28.8 % baseline SLD per additional target lesion (population.md §1.7, V secondary);
    # the least-squares slope of ln SLD on K has a standard error of about 0.004 here
    f = population(tumour_type)
    slope = np.polyfit(f.n_lesions, np.log(f.tumour_burden_mm), 1)[0]
    assert abs(slope - math.log(1.288)) <= 0.02


# -- PD-L1 --------------------------------------------------------------------------------------------

PDL1 = {  # (cut-offs as fractions, expected shares of [cut_i, cut_i+1))
    "nsclc": ((0.0, 0.01, 0.50, 1.01), (0.35, 0.35, 0.30)),  # population.md §1.6 default
    "melanoma": ((0.0, 0.01, 0.05, 1.01), (0.55, 0.21, 0.24)),  # §6 >= 1 % 45 %; >= 5 % 24 % (RELATIVITY-047)
    "rcc": ((0.0, 0.01, 1.01), (0.77, 0.23)),  # §6 RCC default >= 1 % 23 %
    "lbcl": ((0.0, 0.01, 0.30, 1.01), (0.445, 0.445, 0.11)),  # Kiyasu 2015: PD-L1+ (>= 30 %) 11 %
}


@pytest.mark.parametrize("tumour_type", TYPES)
def test_pdl1_stratum_shares(tumour_type):
    cuts, shares = PDL1[tumour_type]
    x = population(tumour_type).pdl1
    assert x.min() >= 0.0 and x.max() <= 1.0
    for lo, hi, p in zip(cuts[:-1], cuts[1:], shares, strict=True):
        assert abs(((x >= lo) & (x < hi)).mean() - p) <= share_tol(p, N), (lo, hi)


def test_pdl1_is_log_uniform_inside_the_nsclc_strata():
    # population.md §1.6: within 1-49 % and >= 50 % draw uniformly on the log-TPS scale.
    # Kolmogorov-Smirnov distance to the log-uniform CDF below the 0.1 % critical value 1.95/sqrt(m).
    x = population("nsclc").pdl1.to_numpy()
    for lo, hi in ((0.01, 0.50), (0.50, 1.0)):
        s = np.sort(x[(x >= lo) & (x < hi + 1e-12)])
        cdf = np.log(s / lo) / math.log(hi / lo)
        m = s.size
        d = max(np.max(np.arange(1, m + 1) / m - cdf), np.max(cdf - np.arange(m) / m))
        assert d < 1.95 / math.sqrt(m), (lo, hi, d)
    below = x[x < 0.01]
    assert abs(below.mean() - 0.005) <= 4.5 * 0.01 / math.sqrt(12 * below.size)  # uniform on [0, 1 %)


# -- TMB and MSI ----------------------------------------------------------------------------------------

TMB = {  # (median of the MSS log-normal, sigma_ln, MSI-H prevalence): population.md §1.6 (U) and §6
    "melanoma": (12.0, 1.0, 0.005),
    "nsclc": (8.0, 1.0, 0.005),
    "rcc": (2.25, 1.0, 0.01),
    "lbcl": (4.5, 1.0, 0.015),
}


@pytest.mark.parametrize("tumour_type", TYPES)
def test_tmb_median_and_msi_prevalence(tumour_type):
    median, sigma, p_msi = TMB[tumour_type]
    f = population(tumour_type)
    assert abs(f.msi_high.mean() - p_msi) <= share_tol(p_msi, N)
    mss = f.tmb[~f.msi_high]
    # median of a log-normal truncated below at 0.5 mut/Mb (population.md §1.6 advice)
    p0 = ndtr(math.log(0.5 / median) / sigma)
    expected = median * math.exp(sigma * ndtri(p0 + 0.5 * (1.0 - p0)))
    _log_median_ok(mss, expected, sigma)
    assert mss.min() >= 0.5
    msi = f.tmb[f.msi_high]
    assert msi.min() >= 30.0 and msi.max() <= 100.0  # MSI-H component 30-100 mut/Mb (§1.6)


def test_msi_tmb_is_log_uniform_30_100():
    msi = np.concatenate([population(t).query("msi_high").tmb.to_numpy() for t in TYPES])
    # median of log-uniform(30, 100) is sqrt(3000) = 54.8; ln-scale SD (ln(100/30))/sqrt(12) = 0.348
    assert abs(np.median(np.log(msi)) - math.log(math.sqrt(3000.0))) <= 4.5 * 1.8138 * 0.348 / math.sqrt(msi.size)


def test_nsclc_tmb_high_share_is_checkmate227():
    # CheckMate 227: TMB >= 10 mut/Mb in about 44 % of evaluable patients (population.md §1.6, R).
    # An independent check of the §6 default ln TMB ~ N(ln 8, 1): P(TMB >= 10) = 41 %.
    assert abs((population("nsclc").tmb >= 10).mean() - 0.44) <= 0.05


# -- growth rate, CD19 ----------------------------------------------------------------------------------

GROWTH = {  # (median 1/day, sigma_ln): Popel NSCLC 0.007, sigma 1 (population.md §1.8, V code); melanoma
    # doubling 40-70 days, sigma 0.7 (clinical.md §6); others U
    "melanoma": (0.0131, 0.7),
    "nsclc": (0.007, 1.0),
    "rcc": (0.00656, 1.0),
    "lbcl": (0.03, 1.0),
}


@pytest.mark.parametrize("tumour_type", TYPES)
def test_growth_rate_is_log_normal(tumour_type):
    median, sigma = GROWTH[tumour_type]
    g = population(tumour_type).growth_rate
    _log_median_ok(g, median, sigma)
    q25, q75 = np.quantile(np.log(g), [0.25, 0.75])
    assert abs((q75 - q25) / (2 * 0.6745) - sigma) <= 0.05
    assert g.min() >= 1e-4 and g.max() <= (0.1 if tumour_type == "melanoma" else 0.5)


def test_lbcl_cd19_negative_share_is_zuma1():
    # ZUMA-1: CD19-negative in 10 % of tested baseline samples (population.md §1.4, V)
    f = population("lbcl")
    assert abs((f.car_antigen < 0.2).mean() - 0.10) <= share_tol(0.10, N)
    assert f.car_antigen.between(0.0, 1.0).all()
    for t in ("melanoma", "nsclc", "rcc"):
        assert population(t).car_antigen.isna().all()


# -- body size and renal function -------------------------------------------------------------------------


def test_melanoma_weight_matches_ca184_169():
    # CA184-169 (ipilimumab, melanoma): weight mean 79.9 kg, SD 17.6 (population.md §1.5, V secondary).
    # Not fitted to it: the sex-specific medians (83.5/69 kg, U) and CV 20 % come from §1.5 advice.
    w = population("melanoma").weight_kg
    assert abs(w.mean() - 79.9) <= 2.0
    assert abs(w.std() - 17.6) <= 2.0


def test_height_by_sex():
    # population.md §1.5 advice: men 176 +- 7 cm, women 162 +- 6.5 cm (U)
    f = population("nsclc")
    for sex, mean, sd in (("male", 176.0, 7.0), ("female", 162.0, 6.5)):
        h = f.height_cm[f.sex == sex]
        assert abs(h.mean() - mean) <= 4.5 * sd / math.sqrt(h.size)
        assert abs(h.std() / sd - 1.0) <= 0.04


def test_egfr_matches_the_pooled_nivolumab_set():
    # pooled nivolumab PK set: eGFR mean 78.5, SD 21.6 mL/min/1.73 m2, age 61.1 +- 11.1 (Bajaj 2017;
    # population.md §1.5, V secondary); melanoma is the closest age distribution (61 +- 13)
    g = population("melanoma").egfr
    assert abs(g.mean() - 78.5) <= 2.0
    assert abs(g.std() - 21.6) <= 2.0


def test_lbcl_creatinine_clearance_below_60_matches_transcend():
    # TRANSCEND NHL 001: creatinine clearance < 60 mL/min in 19 % (population.md §1.4, V); N = 270, so the
    # trial's own standard error is 2.4 points. Not fitted: Cockcroft-Gault on the sampled covariates.
    f = population("lbcl").iloc[:5000]
    from oncoimmune.population import to_covariates

    crcl = np.array([c.creatinine_clearance() for c in to_covariates(f)])
    assert abs((crcl < 60).mean() - 0.19) <= 0.05


# -- correlations -------------------------------------------------------------------------------------------


def _latent_r(f, a, b):
    return float(np.corrcoef(normal_scores(f[a]), normal_scores(f[b]))[0, 1])


@pytest.mark.parametrize("tumour_type", TYPES)
def test_burden_ldh_correlation_is_recovered(tumour_type):
    # population.md §2: log LDH correlated rho about 0.3-0.4 with log burden; 0.35 used (U)
    f = population(tumour_type)
    burden = "spd_cm2" if tumour_type == "lbcl" else "tumour_burden_mm"
    assert abs(_latent_r(f, burden, "ldh_u_per_l") - 0.35) <= 0.03


@pytest.mark.parametrize("tumour_type", TYPES)
def test_ecog_burden_association(tumour_type):
    # latent rho 0.20 (U; direction from Joseph 2018: larger burden with ECOG 1). For an ordinal probit the
    # mean latent score of the burden differs between ECOG 1 and 0 by rho phi(c)/(p0 p1), c = probit(p0).
    f = population(tumour_type)
    burden = "spd_cm2" if tumour_type == "lbcl" else "tumour_burden_mm"
    z = normal_scores(f[burden])
    p0 = (f.ecog == 0).mean()
    c = ndtri(p0)
    expected = 0.20 * math.exp(-0.5 * c * c) / math.sqrt(2 * math.pi) / (p0 * (1 - p0))
    got = z[f.ecog == 1].mean() - z[f.ecog == 0].mean()
    se = math.sqrt(1 / (f.ecog == 1).sum() + 1 / (f.ecog == 0).sum())
    assert abs(got - expected) <= 4.5 * se


def test_weight_height_correlation_within_sex():
    # population.md §1.5: log-weight and height r about 0.4-0.5 in adults; 0.45 used (U)
    f = population("melanoma")
    for sex in ("male", "female"):
        g = f[f.sex == sex]
        r = float(np.corrcoef(np.log(g.weight_kg), g.height_cm)[0, 1])
        assert abs(r - 0.45) <= 0.035


@pytest.mark.parametrize("tumour_type", TYPES)
def test_pdl1_and_tmb_are_independent(tumour_type):
    # population.md §2: PD-L1 and TMB essentially independent (Yarchoan 2019, r = 0.084 across 9,887 samples)
    f = population(tumour_type)
    assert abs(_latent_r(f, "pdl1", "tmb")) <= 0.03


def test_ldh_growth_rate_slope_is_struemper():
    # Struemper 2025: KG proportional to (LDH/225.5)^0.474 (population.md §2, V secondary): the least-squares
    # slope of ln growth rate on ln LDH; the latent correlation is converted to first order, so allow 0.04
    for t in ("melanoma", "nsclc", "rcc"):
        f = population(t)
        slope = np.polyfit(np.log(f.ldh_u_per_l), np.log(f.growth_rate), 1)[0]
        assert abs(slope - 0.474) <= 0.04, t


def test_tmb_rises_with_age_as_chalmers():
    # Chalmers 2017: TMB 2.4-fold higher at 90 than at 10 years, slope ln(2.4)/80 per year (population.md §2, V);
    # slope standard error about 0.0008 per year here
    f = population("melanoma")
    mss = f[~f.msi_high]
    slope = np.polyfit(mss.age_years, np.log(mss.tmb), 1)[0]
    assert abs(slope - math.log(2.4) / 80.0) <= 0.004


@pytest.mark.parametrize("tumour_type", TYPES)
def test_recorded_correlation_matrix_is_the_one_recovered(tumour_type):
    f = population(tumour_type)
    corr = f.attrs["provenance"]["correlation"]
    names, R = corr["variables"], np.array(corr["matrix"])
    for a, b in (("age_years", "tmb"), ("ldh_u_per_l", "growth_rate")):
        i, j = names.index(a), names.index(b)
        assert abs(_latent_r(f, a, b) - R[i, j]) <= 0.03, (a, b)
    # an implied (path-product) correlation: burden-growth = rho(burden, LDH) x rho(LDH, growth)
    burden = "spd_cm2" if tumour_type == "lbcl" else "tumour_burden_mm"
    i, j, k = names.index(burden), names.index("ldh_u_per_l"), names.index("growth_rate")
    assert R[i, k] == pytest.approx(R[i, j] * R[j, k], rel=1e-12)
    assert abs(_latent_r(f, burden, "growth_rate") - R[i, k]) <= 0.03
