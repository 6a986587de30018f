"""The population data files: every number sourced and flagged, derived numbers re-derived from their inputs."""

import math

import numpy as np
import pytest
from population_helpers import TYPES
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from oncoimmune.errors import UnknownNameError
from oncoimmune.population import correlation_matrix, describe, tumour_types
from oncoimmune.population._distributions import BySex, Ordinal, Strata, TMBMixture, load_tumour_type
from oncoimmune.population._sample import ckd_epi_2021
from oncoimmune.treatments._covariates import _BOUNDS


def _num(tumour_type, covariate, parameter):
    d = describe(tumour_type)
    row = d[(d.covariate == covariate) & (d.parameter == parameter)]
    assert len(row) == 1, (covariate, parameter)
    return row.iloc[0]


def test_tumour_types():
    assert tumour_types() == ("lbcl", "melanoma", "nsclc", "rcc")


@pytest.mark.parametrize("tumour_type", TYPES)
def test_every_number_has_a_unit_a_source_and_a_flag(tumour_type):
    d = describe(tumour_type)
    assert len(d) > 40
    assert d.flag.isin(["V", "R", "U", "D"]).all()
    assert (d.source.str.len() > 10).all()
    assert (d.unit.notna()).all()
    tt = load_tumour_type(tumour_type)
    assert set(tt.covariates) <= set(d.covariate)
    for e in tt.edges:
        assert f"{e.a} ~ {e.b}" in set(d.covariate)


@pytest.mark.parametrize("tumour_type", TYPES)
def test_supports_lie_inside_the_covariates_bounds(tumour_type):
    tt = load_tumour_type(tumour_type)
    for name, cov in tt.covariates.items():
        m = cov.marginal
        if isinstance(m, Ordinal):
            continue
        lo, hi = (m.mss.lower, m.mss.upper) if isinstance(m, TMBMixture) else (m.lower, m.upper)
        if name in _BOUNDS:
            assert _BOUNDS[name][0] <= lo and hi <= _BOUNDS[name][1], name
        assert lo < hi


@pytest.mark.parametrize("tumour_type", TYPES)
def test_correlation_matrix_is_a_valid_tree_correlation(tumour_type):
    R = correlation_matrix(tumour_type)
    a = R.to_numpy()
    np.testing.assert_array_equal(a, a.T)
    np.testing.assert_array_equal(np.diag(a), 1.0)
    assert np.linalg.eigvalsh(a).min() > 0.2
    burden = "spd_cm2" if tumour_type == "lbcl" else "tumour_burden_mm"
    # conditional independence given the burden: ECOG-LDH is the product of the two edges
    assert R.loc["ecog", "ldh_u_per_l"] == pytest.approx(R.loc["ecog", burden] * R.loc[burden, "ldh_u_per_l"])
    # PD-L1 independent of everything (population.md §2)
    assert (R.loc["pdl1"].drop("pdl1") == 0).all()


def test_population_md_u_flags_are_kept():
    # population.md flags these U (uncertain): the data must keep them U
    for t in TYPES:
        assert _num(t, "tmb", "median").flag == "U" or t == "nsclc"  # NSCLC uses the §6 default (D)
        assert _num(t, "tmb", "msi_prevalence").flag == "U"
        assert _num(t, "ldh_u_per_l", "upper limit of normal").flag == "U"
    assert _num("rcc", "tumour_burden_mm", "median").flag == "U"  # population.md §1.7: RCC SLD U
    assert _num("lbcl", "growth_rate", "median").flag == "U"
    assert _num("nsclc", "tmb", "median").flag == "D"


def test_melanoma_ldh_is_derived_from_relativity047():
    # RELATIVITY-047 LDH > ULN 36.6/35.7 % and > 2 x ULN 9.0/8.6 % (n 355/359; population.md §1.1, V secondary)
    p1 = (0.366 * 355 + 0.357 * 359) / 714
    p2 = (0.090 * 355 + 0.086 * 359) / 714
    z1, z2 = ndtri(1 - p1), ndtri(1 - p2)
    sigma = math.log(2) / (z2 - z1)
    assert _num("melanoma", "ldh_u_per_l", "sigma_above").value == pytest.approx(sigma, abs=5e-4)
    assert _num("melanoma", "ldh_u_per_l", "median").value == pytest.approx(250 * math.exp(-z1 * sigma), abs=0.01)
    # CA184-169 minimum LDH/ULN 0.4 at median 1.0, n = 688 (V secondary)
    assert _num("melanoma", "ldh_u_per_l", "sigma_below").value == pytest.approx(
        math.log(1 / 0.4) / -ndtri(1 / 689), abs=5e-4
    )


def test_lbcl_numbers_are_derived_from_zuma1_and_transcend():
    assert _num("lbcl", "age_years", "sd").value == pytest.approx(7 / ndtri(0.76), abs=0.005)  # ZUMA-1 >= 65: 24 %
    assert _num("lbcl", "ldh_u_per_l", "sigma_above").value == pytest.approx(
        math.log(500 / 264.5) / ndtri(0.79), abs=5e-4
    )  # TRANSCEND >= 500 U/L: 21 %
    assert _num("lbcl", "ldh_u_per_l", "sigma_below").value == pytest.approx(
        math.log(264.5 / 112) / -ndtri(1 / 271), abs=5e-4
    )  # TRANSCEND minimum 112, n = 270


def test_other_derived_numbers():
    assert _num("rcc", "ecog", "P(0)").value == pytest.approx((323 * 0.796 + 328 * 0.735) / 651, abs=5e-4)
    assert _num("nsclc", "weight_kg", "sigma_ln").value == pytest.approx(math.sqrt(math.log(1 + 0.2**2)), abs=5e-4)
    assert _num("melanoma", "growth_rate", "median").value == pytest.approx(
        math.log(2) / math.sqrt(40 * 70), rel=1e-3
    )  # doubling time 40-70 days (clinical.md §6)
    assert _num("rcc", "growth_rate", "median").value == pytest.approx(0.007 * 0.0015 / 0.0016, rel=1e-3)
    d = describe("melanoma")
    slopes = d[d.distribution == "latent correlation"].set_index("covariate")
    assert "0.01094" in slopes.loc["age_years ~ tmb", "note"]  # ln(2.4)/80
    assert math.log(2.4) / 80 == pytest.approx(0.01094, abs=1e-5)
    assert math.log(1.288) == pytest.approx(0.2531, abs=1e-4)


def test_creatinine_distribution_reproduces_the_egfr_of_the_pooled_nivolumab_set():
    # fitted so that CKD-EPI 2021 eGFR has mean 78.5 and SD 21.6 in a population aged 61.1 +- 11.1, 33.3 % female
    # (Bajaj 2017 Table 3; population.md §1.5). Quadrature over age and ln SCr (Gauss-Hermite), no sampling.
    m = load_tumour_type("nsclc").covariates["serum_creatinine"].marginal
    assert isinstance(m, BySex)
    x, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    age = 61.1 + 11.1 * x
    mom = np.zeros(2)
    for female, share in ((False, 0.667), (True, 0.333)):
        part = m.female if female else m.male
        scr = part.median_ * np.exp(part.sigma_above * x)
        g = ckd_epi_2021(scr[None, :], age[:, None], female)
        ww = w[:, None] * w[None, :]
        mom += share * np.array([(ww * g).sum(), (ww * g * g).sum()])
    mean, sd = mom[0], math.sqrt(mom[1] - mom[0] ** 2)
    assert mean == pytest.approx(78.5, abs=0.3) and sd == pytest.approx(21.6, abs=0.3)
    assert m.female.median_ == pytest.approx(m.male.median_ * 0.7 / 0.9, rel=1e-3)


def test_slope_to_correlation_conversion_reproduces_the_ordinal_identity():
    # Cov(z_K, K) = sum_k phi(c_k) for K = 1 + sum_k 1[z_K > c_k]; check the conversion numerically by quadrature
    tt = load_tumour_type("nsclc")
    K = tt.covariates["n_lesions"].marginal
    rho = tt.correlation[tt.members.index("n_lesions"), tt.members.index("tumour_burden_mm")]
    # E[ln SLD | K = k] - mean = sigma rho E[z_K | K = k]; regression slope = sigma rho Cov(z_K, K)/Var(K)
    cuts = np.concatenate([[-np.inf], K.cuts, [np.inf]])
    p = np.diff(ndtr(cuts))
    phi = np.exp(-0.5 * np.nan_to_num(cuts, posinf=40, neginf=-40) ** 2) / math.sqrt(2 * math.pi)
    ez = (phi[:-1] - phi[1:]) / p  # E[z | K = k]
    levels = np.arange(1, 6)
    kbar = (p * levels).sum()
    cov = (p * (levels - kbar) * ez).sum()
    sigma = 0.5  # NSCLC SLD sigma_ln
    slope = sigma * rho * cov / ((p * (levels - kbar) ** 2).sum())
    assert slope == pytest.approx(math.log(1.288), rel=1e-3)


def test_pdl1_strata_imply_the_stated_high_shares():
    # implied TPS >= 50 % shares stated in the data notes: melanoma 24 % x ln 2/ln 20, RCC 23 % x ln 2/ln 100
    mel = load_tumour_type("melanoma").covariates["pdl1"].marginal
    rcc = load_tumour_type("rcc").covariates["pdl1"].marginal
    assert isinstance(mel, Strata) and isinstance(rcc, Strata)
    assert mel.share_between(0.5, 1.01) == pytest.approx(0.24 * math.log(2) / math.log(20), rel=1e-9)
    assert rcc.share_between(0.5, 1.01) == pytest.approx(0.23 * math.log(2) / math.log(100), rel=1e-9)
    assert round(mel.share_between(0.5, 1.01), 3) == 0.056 and round(rcc.share_between(0.5, 1.01), 3) == 0.035


@pytest.mark.parametrize("tumour_type", TYPES)
def test_marginal_quantile_functions_invert_their_cdfs(tumour_type):
    u = np.linspace(0.001, 0.999, 101)
    for name, cov in load_tumour_type(tumour_type).covariates.items():
        m = cov.marginal
        parts = (
            [m.male, m.female]
            if isinstance(m, BySex)
            else [m.mss, m.msi]
            if isinstance(m, TMBMixture)
            else []
            if isinstance(m, Ordinal)
            else [m]
        )
        for part in parts:
            x = part.ppf(u)
            assert np.all(np.diff(x) > 0), name
            np.testing.assert_allclose(part.cdf(x), u, atol=1e-9, err_msg=name)


def test_tmb_mixture_median_is_brentq_checked():
    # independent check of the truncated log-normal quantile for RCC (median 2.25, sigma 1, truncated at 0.5)
    m = load_tumour_type("rcc").covariates["tmb"].marginal.mss
    lo = ndtr(math.log(0.5 / 2.25))
    target = brentq(lambda x: (ndtr(math.log(x / 2.25)) - lo) / (1 - lo) - 0.5, 0.5, 100)
    assert m.median() == pytest.approx(target, rel=1e-6)  # the upper truncation at 500 mut/Mb removes 3e-8


def test_describe_rejects_unknown_types():
    with pytest.raises(UnknownNameError):
        describe("sarcoma")
