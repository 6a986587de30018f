"""Side effects: per-patient adverse events, their CTCAE/ASTCT grades and their management.

:func:`simulate_toxicity` reads the exposures of an exposure model (``TreatmentResult.outputs()``
of io_qsp: receptor occupancies, antibody and cytokine concentrations, cytotoxic kill, targeted
effect, CAR-T expansion) and returns a :class:`ToxicityResult`: per patient and term the onset day,
the worst grade and its cause (background symptom or drug class), the management actions (holds,
permanent discontinuation, corticosteroid courses, tocilizumab) and rate tables (any grade, grade
≥ 3, treatment-related grade ≥ 3). Terms: fatigue, arthralgia, diarrhoea/colitis, nausea/vomiting,
rash/pruritus, hepatitis (ALT), pneumonitis, hypothyroidism and other treatment-related AEs
(CTCAE v5.0), CRS and ICANS (ASTCT) after CAR-T, neutropenia and anaemia after cytotoxic drugs.
:mod:`oncoimmune.toxicity.grading` grades observations with the published definitions.

The model is calibrated to the treatment-related AE rates of CheckMate 067, KEYNOTE-024 and
ZUMA-1 and to placebo-arm background rates (clinical.md); see
:mod:`oncoimmune.toxicity._calibration` for every target and its flag.

Research and education software: simulated adverse events describe virtual patients, not a
person; every decision about treatment and its side effects belongs with the patient's doctor.
"""

from oncoimmune.toxicity import grading
from oncoimmune.toxicity._drivers import CLASSES, PLACEBO, drug_classes_of
from oncoimmune.toxicity._simulate import ALL_TERMS, ToxicityResult, simulate_toxicity
from oncoimmune.toxicity.grading import astct_crs_grade, astct_icans_grade, grade_alt, grade_neutrophils

__all__ = [
    "ALL_TERMS",
    "CLASSES",
    "PLACEBO",
    "ToxicityResult",
    "astct_crs_grade",
    "astct_icans_grade",
    "drug_classes_of",
    "grade_alt",
    "grade_neutrophils",
    "grading",
    "simulate_toxicity",
]
