"""Sampled rows become valid Covariates and feed io_qsp.patient and the dosing formulas as documented."""

import math

import numpy as np
import pytest
from population_helpers import TYPES

from oncoimmune.models import io_qsp
from oncoimmune.population import ckd_epi_2021, creatinine_from_egfr, sample_population, to_covariates
from oncoimmune.treatments import Covariates


@pytest.mark.parametrize("tumour_type", TYPES)
def test_every_sampled_row_builds_valid_covariates(tumour_type):
    f = sample_population(tumour_type, 3000, 21)
    cov = to_covariates(f)
    assert len(cov) == len(f) and all(isinstance(c, Covariates) for c in cov)
    for c, row in zip(cov[:200], f.head(200).itertuples(index=False), strict=True):
        assert c.weight_kg == row.weight_kg and c.height_cm == row.height_cm and c.sex == row.sex
        assert c.ecog == row.ecog and isinstance(c.ecog, int)
        assert c.n_lesions == row.n_lesions and isinstance(c.n_lesions, int)
        assert c.pdl1 == row.pdl1 and c.tmb == row.tmb and c.msi_high == row.msi_high
        assert c.growth_rate == row.growth_rate and c.ldh_u_per_l == row.ldh_u_per_l
        assert c.serum_creatinine == row.serum_creatinine and c.egfr == row.egfr
        assert c.tumour_burden_mm == row.tumour_burden_mm
        assert c.conditions == frozenset({tumour_type})
        if tumour_type == "lbcl":
            assert c.car_antigen == row.car_antigen
        else:
            assert c.car_antigen is None  # NaN in the frame -> None (the model default applies)
    # derived quantities the dosing layer needs are defined for everyone
    assert all(1.0 < c.bsa() < 3.2 for c in cov)  # adult range given weight 34-170 kg and height 135-215 cm
    assert all(c.creatinine_clearance() > 10.0 for c in cov)


def test_io_qsp_patient_reads_the_columns_as_documented():
    f = sample_population("lbcl", 40, 22)
    for c, row in zip(to_covariates(f), f.itertuples(index=False), strict=True):
        params, init, assumed = io_qsp.patient(c)
        assert params["pdl1"] == row.pdl1
        # growth_rate is the untreated net growth; kg adds back this patient's untreated immune kill
        assert params["kg"] > row.growth_rate
        assert params["tmb"] == row.tmb
        assert params["a_CAR"] == row.car_antigen
        assert params["n_lesions"] == row.n_lesions
        cells = init["Cs"] + init["Cr"] + init["Ce"] + init["D"]  # viable and non-viable: what imaging measures
        # n_lesions equal spheres whose diameters sum to the SLD, at 1e9 cells/cm3 (population.md §3.3)
        d_cm = row.tumour_burden_mm / 10.0 / row.n_lesions
        assert cells == pytest.approx(row.n_lesions * math.pi / 6.0 * d_cm**3 * 1e9, rel=1e-12)
        assert assumed == ("target_antigen",)


def test_ckd_epi_2021_equation_and_its_inverse():
    # CKD-EPI 2021 (Inker, NEJM 2021): male, 50 y, SCr 1.0 mg/dL -> 142 x (1/0.9)^-1.200 x 0.9938^50 = 91.7
    assert float(ckd_epi_2021(1.0, 50.0, False)) == pytest.approx(142 * (1 / 0.9) ** -1.2 * 0.9938**50, rel=1e-12)
    assert float(ckd_epi_2021(1.0, 50.0, False)) == pytest.approx(91.7, abs=0.05)
    # female, 60 y, SCr 0.6 (below the 0.7 knot): 142 x (0.6/0.7)^-0.241 x 0.9938^60 x 1.012
    assert float(ckd_epi_2021(0.6, 60.0, True)) == pytest.approx(
        142 * (0.6 / 0.7) ** -0.241 * 0.9938**60 * 1.012, rel=1e-12
    )
    scr = np.geomspace(0.3, 3.0, 50)
    for female in (False, True):
        for age in (25.0, 60.0, 88.0):
            back = creatinine_from_egfr(ckd_epi_2021(scr, age, female), age, female)
            np.testing.assert_allclose(back, scr, rtol=1e-12)


def test_egfr_column_is_ckd_epi_of_the_sampled_creatinine():
    f = sample_population("nsclc", 500, 23)
    np.testing.assert_allclose(f.egfr, ckd_epi_2021(f.serum_creatinine, f.age_years, f.sex == "female"), rtol=1e-14)


def test_carboplatin_dose_for_sampled_nsclc_patients():
    # carboplatin AUC 5 (Calvert, GFR from Cockcroft-Gault capped at 125 mL/min): defined for every patient,
    # within 5 x (0 + 25) and 5 x (125 + 25)
    doses = np.array([c.calvert_dose(5.0).dose_mg for c in to_covariates(sample_population("nsclc", 1000, 24))])
    assert np.isfinite(doses).all() and doses.min() >= 125.0 and doses.max() <= 750.0
    assert 450.0 < np.median(doses) < 650.0
