"""One small end-to-end run: io_qsp exposures of two patients feed the side-effect model."""

import numpy as np

from oncoimmune import Covariates, simulate_treatment
from oncoimmune.toxicity import drug_classes_of, simulate_toxicity

WEEKS = np.arange(0.0, 27.0 * 7.0, 7.0)  # about six months, weekly
REPLICATES = 2000


def test_io_qsp_outputs_drive_the_toxicity_model():
    patient = Covariates(weight_kg=80, height_cm=175, age_years=60, sex="male", pdl1=0.5, tmb=10)
    regimens = {
        "pembrolizumab": "pembrolizumab 200 mg q3w",
        "nivolumab+ipilimumab": "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w",
    }
    results = {}
    for name, text in regimens.items():
        res = simulate_treatment("io_qsp", text, [patient, patient], WEEKS)
        out = res.outputs()
        assert out["occupancy_PD1"].shape == (2, len(WEEKS))
        tox = simulate_toxicity(out, res.t, seed=13, drug_classes=drug_classes_of(text))
        assert tox.n_patients == 2 and tox.worst_grades().shape == (2, 13)
        # the same exposure for many virtual replicates (same seed) compares the regimens' risk
        many = {k: np.broadcast_to(v[:1], (REPLICATES, len(WEEKS))) for k, v in out.items()}
        results[name] = simulate_toxicity(many, res.t, seed=13, drug_classes=drug_classes_of(text))
    mono, combo = results["pembrolizumab"], results["nivolumab+ipilimumab"]
    immune = ["diarrhoea_colitis", "rash_pruritus", "hepatitis", "hypothyroidism", "other"]
    # CheckMate 067: the combination gives more immune-related AEs than anti-PD-1 alone (any grade 96 vs 82 %,
    # grade 3-4 55 vs 16 %; CMAJ table, clinical.md §1.1)
    drug_mono = mono.rates(cause="drug").loc[immune]
    drug_combo = combo.rates(cause="drug").loc[immune]
    assert (drug_combo["any"] > drug_mono["any"]).all()
    assert combo.trae_g3plus() > mono.trae_g3plus() + 0.2
    # only the drugs given are blamed: no CAR-T or cytotoxic terms, no anti-CTLA-4 cause with pembrolizumab
    assert not mono.episodes["cause"].isin(["anti-CTLA-4", "PD-(L)1 x CTLA-4"]).any()
    assert not combo.episodes["term"].isin(["crs", "icans", "neutropenia", "anaemia"]).any()
