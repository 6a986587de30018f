"""Fixed covariates (overrides) are conditioned on; bad input gives errors that name the field."""

import math

import numpy as np
import pandas as pd
import pytest
from population_helpers import share_tol
from scipy.special import ndtr, ndtri

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.population import sample_population, to_covariates

N = 20_000


def test_fixed_values_appear_for_every_patient():
    o = {"sex": "female", "age_years": 70.0, "ecog": 1, "pdl1": 0.6, "tmb": 20.0, "n_lesions": 3, "msi_high": False}
    f = sample_population("nsclc", 300, 1, overrides=o)
    for k, v in o.items():
        assert (f[k] == v).all(), k


def test_fixing_an_independent_covariate_changes_nothing_else():
    # PD-L1 is independent of every other covariate (population.md §2): the other draws stay bit-identical
    a = sample_population("melanoma", 3000, 2)
    b = sample_population("melanoma", 3000, 2, overrides={"pdl1": 0.3})
    changed = [c for c in a.columns if not a[c].equals(b[c])]
    assert changed == ["pdl1"]


def test_a_large_fixed_burden_raises_ldh_as_the_copula_says():
    # melanoma: SLD fixed at 150 mm (latent score z0 = ln(150/60)/0.7); LDH latent score ~ N(0.35 z0, 1 - 0.35^2);
    # LDH > ULN (250 U/L) when its score exceeds z_ULN = ln(250/195.47)/0.694 (RELATIVITY-047 fit)
    f = sample_population("melanoma", N, 3, overrides={"tumour_burden_mm": 150.0})
    z0 = math.log(150.0 / 60.0) / 0.7
    z_uln = math.log(250.0 / 195.47) / 0.694
    p = 1.0 - ndtr((z_uln - 0.35 * z0) / math.sqrt(1.0 - 0.35**2))
    assert abs((f.ldh_u_per_l > 250).mean() - p) <= share_tol(p, N)
    assert p > 0.5  # versus 36 % unconditionally


def test_fixed_ecog_shifts_the_burden_by_the_truncated_normal_mean():
    # E[z_burden | ECOG = 1] = rho phi(c)/(1 - Phi(c)), rho = 0.20, c = probit(P(ECOG 0) = 0.35) (NSCLC)
    f = sample_population("nsclc", N, 4, overrides={"ecog": 1})
    c = ndtri(0.35)
    expected = 0.20 * math.exp(-0.5 * c * c) / math.sqrt(2 * math.pi) / (1.0 - 0.35)
    z = np.log(f.tumour_burden_mm / 74.0) / 0.5  # the NSCLC SLD log-normal (truncation at 10 mm negligible)
    assert abs(z.mean() - expected) <= 4.5 / math.sqrt(N)


def test_a_fixed_light_weight_makes_a_woman_more_likely():
    # Bayes with the sex-specific log-normal weights (medians 83.5 / 69 kg, sigma 0.198) and prior P(male) = 0.62
    f = sample_population("melanoma", N, 5, overrides={"weight_kg": 55.0})

    def dens(median):
        z = math.log(55.0 / median) / 0.198
        return math.exp(-0.5 * z * z)

    pf = 0.38 * dens(69.0) / (0.38 * dens(69.0) + 0.62 * dens(83.5))
    assert abs((f.sex == "female").mean() - pf) <= share_tol(pf, N)


def test_a_fixed_high_tmb_makes_msi_more_likely():
    # P(MSI-H | TMB = 60) = p f_MSI(60) / (p f_MSI(60) + (1 - p) f_MSS(60)): log-uniform(30, 100) against the
    # melanoma log-normal (median 12, sigma 1), p = 0.5 %
    f = sample_population("melanoma", N, 6, overrides={"tmb": 60.0})
    p = 0.005
    f_msi = 1.0 / (60.0 * math.log(100.0 / 30.0))
    z = math.log(60.0 / 12.0)
    f_mss = math.exp(-0.5 * z * z) / (60.0 * math.sqrt(2 * math.pi))
    post = p * f_msi / (p * f_msi + (1 - p) * f_mss)
    assert abs(f.msi_high.mean() - post) <= share_tol(post, N)
    assert (f.tmb == 60.0).all()


def test_fixed_msi_high_draws_tmb_from_the_msi_component():
    f = sample_population("rcc", 500, 7, overrides={"msi_high": True})
    assert f.msi_high.all() and f.tmb.between(30.0, 100.0).all()


def test_fixed_subtype_and_sex():
    f = sample_population("nsclc", 400, 8, overrides={"subtype": "squamous"})
    assert (f.subtype == "squamous").all()
    assert abs((f.sex == "male").mean() - 0.80) <= share_tol(0.80, 400)


def test_overridden_rows_still_build_covariates():
    f = sample_population("lbcl", 200, 9, overrides={"car_antigen": 0.05, "spd_cm2": 120.0, "ecog": 0})
    cov = to_covariates(f)
    assert all(c.car_antigen == 0.05 and c.ecog == 0 for c in cov)


# -- bad input -------------------------------------------------------------------------------------


def test_unknown_tumour_type_lists_the_known_ones():
    with pytest.raises(UnknownNameError) as err:
        sample_population("glioma", 10, 1)
    msg = str(err.value)
    assert "'tumour_type'" in msg and "glioma" in msg
    for name in ("lbcl", "melanoma", "nsclc", "rcc"):
        assert name in msg


def test_aliases_and_case_are_accepted():
    a = sample_population("NSCLC", 5, 1)
    b = sample_population("non-small cell lung cancer", 5, 1)
    pd.testing.assert_frame_equal(a, b)
    assert (sample_population("DLBCL", 3, 1).tumour_type == "lbcl").all()


@pytest.mark.parametrize("n", [0, -1, 2.5, 10.0, True, "10", None])
def test_bad_n(n):
    with pytest.raises(ValidationError) as err:
        sample_population("melanoma", n, 1)
    assert err.value.field == "n" and "'n' parameter of sample_population" in str(err.value)


@pytest.mark.parametrize("seed", [-1, 1.5, None, "1", False])
def test_bad_seed(seed):
    with pytest.raises(ValidationError) as err:
        sample_population("melanoma", 5, seed)
    assert err.value.field == "seed"


def test_bad_start():
    with pytest.raises(ValidationError) as err:
        sample_population("melanoma", 5, 1, start=-3)
    assert err.value.field == "start"


def test_numpy_integers_are_accepted():
    pd.testing.assert_frame_equal(sample_population("rcc", np.int64(5), np.int32(1)), sample_population("rcc", 5, 1))


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"pdl1": float("nan")}, "overrides.pdl1", "finite"),
        ({"tmb": float("inf")}, "overrides.tmb", "finite"),
        ({"age_years": "old"}, "overrides.age_years", "number"),
        ({"pdl1": 1.5}, "overrides.pdl1", "lie in [0, 1]"),
        ({"age_years": 12.0}, "overrides.age_years", "lie in [18, 90]"),
        ({"sex": "x"}, "overrides.sex", "'female' or 'male'"),
        ({"subtype": "adenocarcinoma"}, "overrides.subtype", "non_squamous"),
        ({"ecog": 3}, "overrides.ecog", "[0, 1]"),
        ({"ecog": 1.0}, "overrides.ecog", "integer"),
        ({"n_lesions": True}, "overrides.n_lesions", "integer"),
        ({"msi_high": "yes"}, "overrides.msi_high", "true or false"),
        ({"msi_high": True, "tmb": 5.0}, "overrides.tmb", "MSI-high"),
        ({"egfr": 60.0}, "overrides.egfr", "serum_creatinine"),
        ({"car_antigen": 0.5}, "overrides", "car_antigen"),
    ],
)
def test_bad_overrides_name_the_field(overrides, field, words):
    with pytest.raises(ValidationError) as err:
        sample_population("nsclc", 5, 1, overrides=overrides)
    assert err.value.field == field
    assert words in str(err.value)


def test_unknown_override_is_named_and_the_known_fields_listed():
    with pytest.raises(UnknownNameError) as err:
        sample_population("melanoma", 5, 1, overrides={"weight": 70})
    msg = str(err.value)
    assert "'weight'" in msg and "weight_kg" in msg and "pdl1" in msg


def test_lymphoma_burden_is_fixed_through_the_spd():
    with pytest.raises(ValidationError) as err:
        sample_population("lbcl", 5, 1, overrides={"tumour_burden_mm": 80.0})
    assert err.value.field == "overrides.tumour_burden_mm" and "spd_cm2" in str(err.value)


def test_overrides_must_be_a_mapping():
    with pytest.raises(ValidationError) as err:
        sample_population("melanoma", 5, 1, overrides=[("pdl1", 0.5)])
    assert err.value.field == "overrides"


def test_to_covariates_reports_the_bad_row():
    f = sample_population("melanoma", 5, 1)
    f.loc[3, "weight_kg"] = float("nan")
    with pytest.raises(ValidationError) as err:
        to_covariates(f)
    assert err.value.field == "weight_kg" and "row 3" in str(err.value)
    with pytest.raises(ValidationError) as err:
        to_covariates(f.drop(columns="sex"))
    assert "'sex'" in str(err.value)
    with pytest.raises(ValidationError):
        to_covariates({"weight_kg": [70]})
