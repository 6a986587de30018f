"""Parameters of the side-effect model, each with a unit, a source and a flag.

Flags follow pharmacology.md and clinical.md: **V** seen in the source, **R** recalled from the
named source (verify), **U** uncertain or chosen here (a calibration target), **C** computed from
V/R values. Probabilities are fractions (0-1). "1-y" rates are cumulative incidences over 365
days.

The drug weights and conditional severities in :data:`WEIGHTS` and the CAR-T and haematology
constants marked "calibrated" are outputs of :mod:`oncoimmune.toxicity._calibration`
(``python -m oncoimmune.toxicity._calibration`` prints them); ``tests/toxicity`` checks that the
shipped numbers are the ones that module computes from the targets, and that simulated rates
reproduce the targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CART",
    "CART_THRESHOLDS",
    "CHECKPOINT_DISCONTINUATION",
    "CHECKPOINT_LABELS",
    "COMBINE_P",
    "DOSE_REDUCTION",
    "DRIVER_EC50",
    "HAEM",
    "HAZARD_TERMS",
    "HOLD_LIMIT_DAYS",
    "IMMUNE_RELATED_TERMS",
    "MANAGEMENT",
    "RECURRENCE",
    "STEROIDS",
    "TERMS",
    "WEIGHTS",
    "YERVOY_2011_SEVERE",
    "TermSpec",
    "Value",
]


@dataclass(frozen=True)
class Value:
    """A number (or a tuple of numbers) with its unit, source and flag."""

    value: Any
    unit: str
    source: str
    flag: str

    def __post_init__(self) -> None:
        if self.flag not in {"V", "R", "U", "C"}:
            raise ValueError(f"flag must be V, R, U or C, got {self.flag!r}")


# --- sources ------------------------------------------------------------------------------------
CM76K = "CheckMate 76K placebo arm, Kirkwood Nat Med 2023, Table 2 (treatment-related; clinical.md §1.8)"
CM067 = "CheckMate 067, Larkin NEJM 2015 Table 3 (clinical.md §1.1)"
CMAJ = "CheckMate 067 irAE categories, CMAJ review Table 2 (clinical.md §1.1)"
WEBER17 = (
    "Weber JS et al., J Clin Oncol 2017;35:785 (pooled nivolumab safety: median onset and resolution of "
    "immune-mediated AEs) — recalled, not in the reference notes"
)
_CAL = "calibrated by oncoimmune.toxicity._calibration to "
_SPLIT_U = "U: share of grade 3/4/5 among grade >= 3 events; CTCAE v5.0 allows only the grades listed (§4.1)"


@dataclass(frozen=True)
class TermSpec:
    """One adverse-event term of the hazard model.

    Attributes
    ----------
    label:
        Display name.
    grading:
        How CTCAE v5.0 grades it (clinical.md §4.1).
    max_grade:
        Highest grade CTCAE v5.0 defines for the term.
    background, background_g3:
        1-y cumulative incidence of the term, any grade and grade >= 3, without drug (placebo arm,
        treatment-related as investigators attribute it; the definition trial tables use).
    tau:
        Onset scale (days of full drive): the drug hazard saturates as ``1 - exp(-X/tau)``; with a
        constant full drive the median onset of the drug events is about ``tau ln 2``.
    resolution:
        Median days from onset to grade <= 1 (log-normal, geometric SD ``exp(0.8)``).
    g2_share:
        Share of grade 2 among grade 1-2 events.
    severe_split:
        Shares of grade 3, 4, 5 among grade >= 3 events.
    """

    label: str
    grading: str
    max_grade: int
    background: Value
    background_g3: Value
    tau: Value
    resolution: Value
    g2_share: Value
    severe_split: Value


TERMS: dict[str, TermSpec] = {
    "fatigue": TermSpec(
        "Fatigue",
        "CTCAE fatigue: G1 relieved by rest, G2 limiting instrumental ADL, G3 limiting self-care ADL",
        3,
        Value(0.201, "1 (1-y)", CM76K + ": fatigue 20.1 %", "V"),
        Value(0.004, "1 (1-y)", "U: part of the 2.3 % placebo grade 3-4 TRAE of " + CM76K, "U"),
        Value(42.0, "day", "U: irAE fatigue appears early (median about 4 weeks)", "U"),
        Value(28.0, "day", "U", "U"),
        Value(0.30, "1", "U", "U"),
        Value((1.0, 0.0, 0.0), "1", _SPLIT_U, "U"),
    ),
    "arthralgia": TermSpec(
        "Arthralgia (joint pain)",
        "CTCAE arthralgia: G1 mild pain, G2 moderate pain limiting instrumental ADL, G3 severe, self-care ADL",
        3,
        Value(0.057, "1 (1-y)", CM76K + ": arthralgia 5.7 %", "V"),
        Value(0.0005, "1 (1-y)", "U", "U"),
        Value(90.0, "day", "U: inflammatory arthritis under ICI appears later (months)", "U"),
        Value(56.0, "day", "U", "U"),
        Value(0.30, "1", "U", "U"),
        Value((1.0, 0.0, 0.0), "1", _SPLIT_U, "U"),
    ),
    "diarrhoea_colitis": TermSpec(
        "Diarrhoea / colitis",
        "worse of CTCAE diarrhea (stools over baseline: G1 <4, G2 4-6, G3 >=7 or hospitalisation) and colitis",
        5,
        Value(0.095, "1 (1-y)", CM76K + ": diarrhea 9.5 %", "V"),
        Value(0.003, "1 (1-y)", "U", "U"),
        Value(74.0, "day", "C: median GI onset 7.3 weeks / ln 2, " + WEBER17, "R"),
        Value(15.0, "day", "R: GI irAEs resolve in about 2 weeks, " + WEBER17, "R"),
        Value(0.25, "1", "U", "U"),
        Value((0.88, 0.10, 0.02), "1", _SPLIT_U + "; fatal colitis is the commonest fatal anti-CTLA-4 irAE (R)", "U"),
    ),
    "nausea_vomiting": TermSpec(
        "Nausea / vomiting",
        "worse of CTCAE nausea (G1-3 by oral intake) and vomiting (G1-5 by intervention)",
        5,
        Value(0.035, "1 (1-y)", "U: " + CM76K + " nausea 2.7 % plus some vomiting", "U"),
        Value(0.001, "1 (1-y)", "U", "U"),
        Value(42.0, "day", "U", "U"),
        Value(7.0, "day", "U", "U"),
        Value(0.20, "1", "U", "U"),
        Value((0.97, 0.03, 0.0), "1", _SPLIT_U, "U"),
    ),
    "rash_pruritus": TermSpec(
        "Rash / pruritus",
        "worse of CTCAE rash maculo-papular (by BSA and symptoms) and pruritus; both end at G3",
        3,
        Value(
            0.116,
            "1 (1-y)",
            "U: union of rash 6.8 % and pruritus 9.5 % of " + CM76K + ", assuming half of pruritus has rash",
            "U",
        ),
        Value(0.001, "1 (1-y)", "U", "U"),
        Value(50.0, "day", "C: median skin onset 5.0 weeks / ln 2, " + WEBER17, "R"),
        Value(42.0, "day", "U: skin irAEs resolve slowly, " + WEBER17, "U"),
        Value(0.25, "1", "U", "U"),
        Value((1.0, 0.0, 0.0), "1", _SPLIT_U, "U"),
    ),
    "hepatitis": TermSpec(
        "Hepatitis (ALT increased)",
        "CTCAE ALT increased: G1 >1-3, G2 >3-5, G3 >5-20, G4 >20 x ULN (grade_alt)",
        4,
        Value(0.010, "1 (1-y)", "U: not reported in the placebo arms of clinical.md §1.8", "U"),
        Value(0.002, "1 (1-y)", "U", "U"),
        Value(68.0, "day", "C: median hepatic onset 6.7 weeks / ln 2, " + WEBER17, "R"),
        Value(42.0, "day", "R: about 6 weeks, " + WEBER17, "R"),
        Value(0.30, "1", "U", "U"),
        Value((0.85, 0.15, 0.0), "1", _SPLIT_U + "; ALT increased has no grade 5", "U"),
    ),
    "pneumonitis": TermSpec(
        "Pneumonitis",
        "CTCAE pneumonitis: G1 asymptomatic, G2 symptomatic, G3 oxygen indicated, G4 life-threatening",
        5,
        Value(0.002, "1 (1-y)", "U", "U"),
        Value(0.0005, "1 (1-y)", "U", "U"),
        Value(90.0, "day", "C: median pulmonary onset 8.9 weeks / ln 2, " + WEBER17, "R"),
        Value(42.0, "day", "R: about 6 weeks, " + WEBER17, "R"),
        Value(0.60, "1", "U: most pneumonitis is diagnosed when symptomatic", "U"),
        Value((0.75, 0.15, 0.10), "1", _SPLIT_U + "; pneumonitis is the commonest fatal anti-PD-1 irAE (R)", "U"),
    ),
    "hypothyroidism": TermSpec(
        "Hypothyroidism",
        "CTCAE hypothyroidism: G1 asymptomatic, G2 replacement indicated, G3 hospitalisation, G4 life-threatening",
        5,
        Value(
            0.010,
            "1 (1-y)",
            "U: below the ipilimumab-arm rate (4 %, " + CMAJ + "); CheckMate 914 placebo all-cause 5 %",
            "U",
        ),
        Value(0.0, "1 (1-y)", "U", "U"),
        Value(105.0, "day", "C: median endocrine onset 10.4 weeks / ln 2, " + WEBER17, "R"),
        Value(42.0, "day", "U: symptoms settle on replacement; the deficit itself is usually permanent", "U"),
        Value(0.80, "1", "U: most cases are treated with levothyroxine (grade 2)", "U"),
        Value((0.95, 0.05, 0.0), "1", _SPLIT_U, "U"),
    ),
    "other": TermSpec(
        "Other treatment-related AEs",
        "residual: every other term (AST, lipase/amylase, pyrexia, other endocrinopathies, ...), graded as reported",
        5,
        Value(0.197, "1 (1-y)", "C: residual of the placebo any-grade TRAE 53.8 % of " + CM76K + " (other terms)", "C"),
        Value(0.011, "1 (1-y)", "C: residual of the placebo grade 3-4 TRAE 2.3 % of " + CM76K + " (other terms)", "C"),
        Value(60.0, "day", "U", "U"),
        Value(28.0, "day", "U", "U"),
        Value(0.30, "1", "U", "U"),
        Value((0.85, 0.13, 0.02), "1", _SPLIT_U, "U"),
    ),
}
"""The hazard-model terms, in their fixed order (the order fixes each patient's random numbers)."""

HAZARD_TERMS = tuple(TERMS)

DRIVER_EC50 = {
    "anti-CTLA-4": Value(
        50.0,
        "mg/L",
        "U: ipilimumab concentration of half-maximal toxicity drive, chosen so that 10 vs 3 mg/kg q3w x4 gives about "
        "1.6-fold more grade 3-4 GI toxicity (CA184-169, Ascierto 2017: ~10 vs ~6 %, clinical.md §1.2, U)",
        "U",
    ),
    "IL-2": Value(0.32, "nM", "io_qsp EC50_IL2_E (effector proliferation, Marchingo 2014; pharmacology.md §6.7)", "V"),
    "IFN-alpha": Value(10.0, "IU/mL", "io_qsp EC50_IFN (U there)", "U"),
}
"""Emax constants turning a concentration into a drive (see :mod:`oncoimmune.toxicity._drivers`)."""


# --- calibrated constants: `python -m oncoimmune.toxicity._calibration` prints this block -------
# fmt: off
_W = {
    'fatigue': {
        'anti-PD-1': (0.194193, 0.0512048),
        'anti-CTLA-4': (0.187184, 0.0609273),
        'cytotoxic': (0.0443404, 0.149248),
        'IL-2': (3.8174, 0.270892),
        'IFN-alpha': (7.70724, 0.222751),
        'targeted': (0.13243, 0.12965),
        'anti-PD-L1': (0.135935, 0.0512048),
        'PD-(L)1 x CTLA-4': (0.13852, 0.8),
    },
    'arthralgia': {
        'anti-PD-1': (0.0218379, 0),
        'anti-CTLA-4': (0.0134723, 0),
        'IFN-alpha': (3.34033, 0.0508088),
        'targeted': (0.239062, 0.0464403),
        'anti-PD-L1': (0.0152865, 0),
        'PD-(L)1 x CTLA-4': (0.0881896, 0.0965982),
    },
    'diarrhoea_colitis': {
        'anti-PD-1': (0.114257, 0.196517),
        'anti-CTLA-4': (0.817973, 0.37309),
        'IL-2': (15.5805, 0.1501),
        'IFN-alpha': (1.86868, 0.0682118),
        'targeted': (0.262428, 0.0309954),
        'anti-PD-L1': (0.0799796, 0.196517),
        'PD-(L)1 x CTLA-4': (0.18762, 0.0418118),
    },
    'nausea_vomiting': {
        'anti-PD-1': (0.135187, 0.0158355),
        'anti-CTLA-4': (0.31481, 0.0498563),
        'cytotoxic': (0.207051, 0.046114),
        'IL-2': (7.60559, 0.251128),
        'IFN-alpha': (3.1124, 0.0834335),
        'targeted': (0.395602, 0.027599),
        'anti-PD-L1': (0.0946308, 0.0158355),
        'PD-(L)1 x CTLA-4': (0.0741867, 0.651238),
    },
    'rash_pruritus': {
        'anti-PD-1': (0.312345, 0.0186685),
        'anti-CTLA-4': (1.17249, 0.0454954),
        'IL-2': (5.60521, 0.0918271),
        'targeted': (0.164935, 0.0594326),
        'anti-PD-L1': (0.218641, 0.0186685),
        'PD-(L)1 x CTLA-4': (0.173163, 0.8),
    },
    'hepatitis': {
        'anti-PD-1': (0.0309274, 0.264529),
        'anti-CTLA-4': (0.0779958, 0.59519),
        'IL-2': (3.77859, 0.19961),
        'IFN-alpha': (4.76509, 0.249714),
        'targeted': (0.0967731, 0.308617),
        'anti-PD-L1': (0.0216492, 0.264529),
        'PD-(L)1 x CTLA-4': (0.335739, 0.467395),
    },
    'pneumonitis': {
        'anti-PD-1': (0.058773, 0.454674),
        'anti-CTLA-4': (0.0255079, 0.312031),
        'anti-PD-L1': (0.0411411, 0.454674),
    },
    'hypothyroidism': {
        'anti-PD-1': (0.0870904, 0),
        'anti-CTLA-4': (0.110916, 0),
        'IL-2': (2.07613, 0),
        'IFN-alpha': (0.378994, 0),
        'anti-PD-L1': (0.0609632, 0),
        'PD-(L)1 x CTLA-4': (0.141947, 0.287034),
    },
    'other': {
        'anti-PD-1': (0.105902, 0.8),
        'anti-CTLA-4': (0.406252, 0.8),
        'cytotoxic': (0.177089, 0.8),
        'IL-2': (22.3447, 0.8),
        'IFN-alpha': (2.37605, 0.8),
        'targeted': (0.434336, 0.8),
        'anti-PD-L1': (0.0741312, 0.8),
        'PD-(L)1 x CTLA-4': (0.674354, 0.8),
    },
}
_P = {
    'fatigue': 2.92385,
    'arthralgia': 1,
    'diarrhoea_colitis': 1,
    'nausea_vomiting': 1,
    'rash_pruritus': 8,
    'hepatitis': 1,
    'pneumonitis': 1,
    'hypothyroidism': 1,
    'other': 1,
}
# mean and SD of ln(peak/c_ref) in the ZUMA-1 virtual population (see CART['ln_peak_mean'])
_LN_PEAK = (-0.4073, 1.4399)
_CART_THRESHOLDS = {
    'fever': (-3.24165,),
    'hypotension': (0.00751343, 1.90365, 3.26347,),
    'hypoxia': (1.0004, 1.90365, 3.26347,),
    'ice': (-1.06077, -0.202755, 0.655258,),
    'unarousable': (3.02138,),
    'seizure': (3.02138,),
}
_HAEM = {
    's_n': 0.718729,
    'omega_n': 1.72152,
    's_e': 0.307864,
    'omega_e': 2.2447,
}
# fmt: on

FIT_ARM = {
    "anti-PD-1": "CheckMate 067 NIVO (pneumonitis: KEYNOTE-024 pembrolizumab)",
    "anti-PD-L1": "0.7 x anti-PD-1 (U: pooled anti-PD-L1 irAE rates run below anti-PD-1; clinical.md §3.2)",
    "anti-CTLA-4": "CheckMate 067 IPI",
    "PD-(L)1 x CTLA-4": "CheckMate 067 NIVO+IPI (excess over the monotherapy hazards)",
    "cytotoxic": "KEYNOTE-024 chemotherapy",
    "IL-2": "high-dose IL-2 (provisional targets)",
    "IFN-alpha": "high-dose interferon 4 weeks (E1697 grade >= 3 total; per-term targets provisional)",
    "targeted": "dabrafenib+trametinib (provisional targets)",
}
"""The reference arm whose targets (oncoimmune.toxicity._calibration.TARGETS and TRAE) fix each cause."""


def _weight(term: str, cause: str, w: float, q3: float) -> tuple[Value, Value]:
    src = _CAL + FIT_ARM[cause] + f" ({term}); reference exposure of io_qsp"
    unit = "1 per unit cumulative kill" if cause == "cytotoxic" else "1 (cumulative hazard at saturation)"
    return Value(w, unit, src, "U"), Value(q3, "1", src + "; P(grade >= 3 | drug event)", "U")


WEIGHTS: dict[str, dict[str, tuple[Value, Value]]] = {
    term: {c: _weight(term, c, w, q) for c, (w, q) in d.items()} for term, d in _W.items()
}
"""``WEIGHTS[term][cause] = (w, q3)``: hazard weight (per unit of the saturating exposure
``1 - exp(-X/tau)``; for ``cytotoxic`` per unit of cumulative kill) and probability of grade >= 3
given a drug event of that cause."""

COMBINE_P: dict[str, Value] = {
    term: Value(
        p,
        "1",
        _CAL + "CheckMate 067 NIVO+IPI: exponent of the p-norm combining class hazards (1: additive; > 1: "
        "sub-additive, shared susceptibility)",
        "U",
    )
    for term, p in _P.items()
}
"""Per-term exponent :math:`p` of :math:`H = (\\sum_c H_c^p)^{1/p}`."""


STEROIDS = {
    "low": Value(
        (28.0, 0.7),
        "(day, 1)",
        "course: prednisone 0.5-1 mg/kg/d then taper, about 4 weeks (ASCO grade 2, clinical.md §4.3, R); "
        "damping: U (no quantitative PD of steroids on anti-tumour immunity was found; pharmacology.md §2 IVIG note)",
        "U",
    ),
    "high": Value(
        (42.0, 0.4),
        "(day, 1)",
        "course: prednisone 1-2 mg/kg/d or IV methylprednisolone, taper over >= 4-6 weeks (ASCO grade 3, "
        "clinical.md §4.3, V); damping: U",
        "U",
    ),
    "dexamethasone": Value(
        (7.0, 0.4),
        "(day, 1)",
        "course: dexamethasone 10 mg q6h for CRS grade >= 3 / ICANS (YESCARTA label, clinical.md §4.3, R), about "
        "a week (U; given without taper, oncoimmune.toxicity._management.STEROID_DOSING); damping: U",
        "U",
    ),
}
"""Corticosteroid courses: (duration in days, multiplicative damping of immune drive while given)."""

MANAGEMENT_SOURCE = (
    "ASCO (Brahmer JCO 2018;36:1714; Schneider JCO 2021) general and organ rules, ESMO/SITC organ tables and the "
    "YESCARTA/KYMRIAH labels as compacted in clinical.md §4.3"
)

# MANAGEMENT[term][grade] = (action, steroid, scope)
#   action: "continue" | "hold" | "discontinue"; steroid: None | "low" | "high" | "dexamethasone" | "tocilizumab+..."
#   scope: "all" (every drug class the patient receives, except CAR-T), "anti-CTLA-4", "cytotoxic";
#   "all+stop:CLASS" holds everything and permanently stops CLASS; "all+stop:all-with:CLASS" holds everything,
#   or permanently stops everything when CLASS is part of the live regimen.
_GENERAL = {1: ("continue", None, "all"), 2: ("hold", "low", "all"), 3: ("hold", "high", "all")}
MANAGEMENT: dict[str, dict[int, tuple[str, str | None, str]]] = {
    # general ASCO rule: grade 2 hold (+ prednisone 0.5-1 mg/kg), grade 3 hold + high dose, grade 4 stop
    "arthralgia": {**_GENERAL},
    # fatigue and nausea/vomiting: symptomatic care; hold at grade 3 (general rule), no steroids (U)
    "fatigue": {1: ("continue", None, "all"), 2: ("continue", None, "all"), 3: ("hold", None, "all")},
    "nausea_vomiting": {
        1: ("continue", None, "all"),
        2: ("continue", None, "all"),
        3: ("hold", None, "all"),
        4: ("discontinue", None, "all"),
        5: ("discontinue", None, "all"),
    },
    # colitis: G2 hold + 0.5-1 mg/kg; G3 hold + 1-2 mg/kg, and with anti-CTLA-4 in the regimen permanent stop of
    # everything (OPDIVO + YERVOY label: permanently discontinue for grade 3 or 4 colitis; YERVOY alone likewise;
    # clinical.md §4.3 "consider permanent stop of anti-CTLA-4"); G4 stop
    "diarrhoea_colitis": {
        **_GENERAL,
        3: ("hold", "high", "all+stop:all-with:anti-CTLA-4"),
        4: ("discontinue", "high", "all"),
        5: ("discontinue", "high", "all"),
    },
    # hepatitis: G2 hold (+ pred if not improving); G3 "hold/stop": hold, stop anti-CTLA-4 (U reading); G4 stop
    "hepatitis": {**_GENERAL, 3: ("hold", "high", "all+stop:anti-CTLA-4"), 4: ("discontinue", "high", "all")},
    # pneumonitis: G1 hold (ASCO); G2 hold + pred 1-2 mg/kg; G3-4 permanent discontinuation
    "pneumonitis": {
        1: ("hold", None, "all"),
        2: ("hold", "high", "all"),
        3: ("discontinue", "high", "all"),
        4: ("discontinue", "high", "all"),
        5: ("discontinue", "high", "all"),
    },
    # rash (SITC): G1-2 continue (topical); G3 hold + pred 0.5-1 mg/kg until <= G1
    "rash_pruritus": {1: ("continue", None, "all"), 2: ("continue", None, "all"), 3: ("hold", "low", "all")},
    # hypothyroidism: continue on levothyroxine; G3-4 hold until symptoms resolve; endocrinopathies are the
    # exception to permanent discontinuation at grade 4
    "hypothyroidism": {
        1: ("continue", None, "all"),
        2: ("continue", None, "all"),
        3: ("hold", None, "all"),
        4: ("hold", None, "all"),
        5: ("discontinue", None, "all"),
    },
    # other irAEs (mostly asymptomatic laboratory events at grade 1-2, which ASCO continues through): U
    "other": {
        1: ("continue", None, "all"),
        2: ("continue", None, "all"),
        3: ("hold", "high", "all"),
        4: ("discontinue", "high", "all"),
        5: ("discontinue", "high", "all"),
    },
    # chemotherapy: a cycle waits for neutrophil recovery (carboplatin label: neutrophils >= 2000/mm3;
    # CTCAE grade <= 1 is >= 1500/mm3); anaemia is transfused, not held (U)
    "neutropenia": {3: ("hold", None, "cytotoxic"), 4: ("hold", None, "cytotoxic")},
    "anaemia": {},
    # CAR-T labels: tocilizumab 8 mg/kg from CRS grade 2; dexamethasone from grade 3; ICANS dexamethasone from G2
    "crs": {2: ("continue", "tocilizumab", "all"), 3: ("continue", "tocilizumab+dexamethasone", "all")},
    "icans": {2: ("continue", "dexamethasone", "all"), 3: ("continue", "high", "all")},
}
"""Management rules per term and grade (grades not listed: continue, nothing given; a grade above the
highest listed uses the highest listed). Applied to every event while the patient receives a drug,
whatever its cause: clinicians cannot tell a background symptom from an irAE. Corticosteroids are
given only to patients on a checkpoint antibody (IL-2 and interferon labels avoid them)."""

DOSE_REDUCTION: dict[str, tuple[int, Value, Value]] = {
    # carboplatin and pemetrexed labels: after a nadir ANC < 500/mm3 (CTCAE grade 4 neutropenia) the next
    # courses are given at 75 % of the previous dose; applied here to every cytotoxic drug (U for the others)
    "neutropenia": (
        4,
        Value(
            0.75,
            "1",
            "pemetrexed label §2.4 (nadir ANC < 500/mm3: 75 % of the previous dose of pemetrexed and of its "
            "platinum) and carboplatin label (neutrophils < 500/mm3: 75 %), R; applied to every cytotoxic drug of "
            "the regimen, each further grade 4 episode reducing again",
            "R",
        ),
        Value(
            2,
            "reductions",
            "pemetrexed label §2.4: discontinue after grade 3-4 haematological toxicity following 2 dose "
            "reductions, R; here a grade 4 episode after 2 reductions stops the cytotoxic drugs",
            "R",
        ),
    ),
}
"""Dose reductions after an adverse event: ``term -> (lowest grade, factor, most reductions)``; the drugs
in the rule's scope are given at ``factor`` times their planned dose from the episode's onset on (the
doses held during the episode are skipped anyway), cumulatively over episodes; an episode that would
reduce them once more than the most allowed discontinues them instead."""

CHECKPOINT_DISCONTINUATION = (
    "OPDIVO and YERVOY US prescribing information, dose modifications (as on opdivohcp.com, 'Treatment "
    "modifications', consulted 2026-12): withhold for severe (grade 3) immune-mediated reactions; permanently "
    "discontinue for life-threatening (grade 4) ones, recurrent severe (grade 3) ones that require systemic "
    "immunosuppression, persistent moderate or severe (grade 2-3) ones lasting 12 weeks or longer (endocrinopathies "
    "excepted), or an inability to taper corticosteroids to prednisone 10 mg/day within 12 weeks; with YERVOY, "
    "permanently discontinue for grade 3 or 4 colitis (V there; not in the reference notes)"
)

HOLD_LIMIT_DAYS = Value(
    84.0,
    "day",
    "12 weeks: " + CHECKPOINT_DISCONTINUATION + ". The label counts from the last YERVOY dose, here from the "
    "episode's onset (the last dose given before it is at most one dosing interval earlier)",
    "V",
)
"""A hold for an immune-related term still open this long after the episode's onset permanently
discontinues the held drugs (patients on a checkpoint antibody), unless treatment ended for another reason
(progression) by then; a course that ended during the hold is discontinued too (its doses were missed). The
corticosteroid courses of :data:`STEROIDS` end within 6 weeks, so the label's steroid-taper clause never
applies here."""

CHECKPOINT_LABELS = ("current", "yervoy_2011")
"""The checkpoint-label versions the management can follow (``manage(label=...)``, a trial spec's
``toxicity.checkpoint_label``). ``current``: the OPDIVO/YERVOY labels of :data:`CHECKPOINT_DISCONTINUATION`
(withhold for grade 3). ``yervoy_2011``: the first YERVOY label as well (:data:`YERVOY_2011_SEVERE`), which
was in force when CheckMate 067 enrolled (2013-2014)."""

YERVOY_2011_SEVERE = Value(
    frozenset({"arthralgia", "diarrhoea_colitis", "hepatitis", "pneumonitis", "other"}),
    "-",
    "YERVOY (ipilimumab) US prescribing information, BLA 125377, initial approval 2011 (boxed warning and section "
    "2.2; R for the citation, the text read in copies on 120ty.net and in the Lexicomp ipilimumab monograph, found "
    "with the search tool): 'Permanently discontinue "
    "YERVOY and initiate systemic high-dose corticosteroid therapy for severe immune-mediated reactions'; "
    "withhold for moderate reactions and for symptomatic endocrinopathy; the severe reactions listed are colitis, "
    "AST or ALT > 5 x ULN (CTCAE grade 3 hepatitis), rash only when complicated (Stevens-Johnson syndrome, "
    "toxic epidermal necrolysis, full-thickness ulceration), severe neuropathy and severe reactions of any organ "
    "(nephritis, pneumonitis, pancreatitis, myocarditis). Here, an interpretation (U): grade >= 3 of these terms "
    "(arthralgia read as an organ reaction, 'any organ system') while the "
    "anti-CTLA-4 course is given stops the whole regimen, as the OPDIVO + YERVOY label does for colitis (U for "
    "the combination's other terms: the trial stopped both drugs in induction, Schadendorf J Clin Oncol "
    "2017;35:3807, R); grade 3 rash and hypothyroidism are held, fatigue and nausea follow the general rule; the "
    "residual term counts as an organ reaction (it holds laboratory events a protocol may exempt). CheckMate 067 "
    "followed its own protocol, so applying the label to it is an assumption too; the trial was masked, and its "
    "nivolumab arm's ipilimumab-matched placebo course is not modelled, so the rule does not reach that arm",
    "U",
)
"""Terms whose grade >= 3 episode, while an anti-CTLA-4 course is given, permanently discontinues the
regimen under the 2011 YERVOY label (``label="yervoy_2011"``)."""

COURSE_COMPLETION_DAYS = {
    "anti-CTLA-4": Value(
        112.0,
        "day",
        "16 weeks from the first dose: the YERVOY label (ipilimumab 3 mg/kg every 3 weeks x4 in melanoma) "
        "permanently discontinues ipilimumab for failure to complete the full treatment course within 16 weeks "
        "from the administration of the first dose (R; not in the reference notes)",
        "R",
    ),
}
"""Classes given as a finite course whose held doses may be given late, up to this many days after the
course's first dose (:func:`oncoimmune.toxicity.manage`): a hold that covers the course's last dose and
lasts beyond that day ends the course, a permanent discontinuation on that day."""

RECURRENCE = Value(
    0.288,
    "1",
    "Dolladille C et al., JAMA Oncol 2020;6:865 (VigiBase pharmacovigilance, 452 informative rechallenges with an "
    "immune checkpoint inhibitor after an irAE): the same irAE recurred in 28.8 % (95 % CI 24.8-33.1 %); R: recalled, "
    "not in the reference notes",
    "R",
)
"""Probability that an immune-related event caused by a checkpoint antibody recurs on rechallenge (the
first checkpoint dose after the holds; one recurrence per term). The recurrence's onset after that
dose follows the term's onset scale (exponential with mean ``tau``, U), its grade and resolution the
distributions of the first event's cause."""

IMMUNE_RELATED_TERMS = frozenset(
    {
        "fatigue",
        "arthralgia",
        "diarrhoea_colitis",
        "nausea_vomiting",
        "rash_pruritus",
        "hepatitis",
        "pneumonitis",
        "other",
    }
)
"""Terms the checkpoint labels' persistence and recurrence rules apply to (hypothyroidism, an endocrinopathy
controlled by replacement, is the exception; the haematological and CAR-T terms have their own rules)."""

GRADE4_DISCONTINUES = Value(
    True,
    "-",
    "ASCO: permanently discontinue at grade 4 except endocrinopathies controlled by replacement (clinical.md §4.3, V)",
    "V",
)

CART: dict[str, Value] = {
    "c_ref": Value(
        16.14,
        "cells/uL",
        "median peak blood CAR-T cells after axi-cel, Blood Adv 2021;5:2523 (pharmacology.md §4.3)",
        "V",
    ),
    "sigma_patient": Value(
        1.0, "ln units", "U: patient spread of inflammatory susceptibility at a given peak expansion", "U"
    ),
    "sigma_feature": Value(0.5, "ln units", "U: spread of each CRS/ICANS feature around the patient's severity", "U"),
    "rho_icans": Value(0.6, "1", "U: correlation of ICANS with CRS susceptibility (ICANS usually follows CRS)", "U"),
    # the ZUMA-1 virtual population's peak expansions, over which the thresholds reproduce the ZUMA-1 rates
    "ln_peak_mean": Value(
        _LN_PEAK[0],
        "ln units",
        "mean of ln(peak blood CAR-T / c_ref) in the ZUMA-1 virtual population: io_qsp with the shipped zuma1 "
        "calibration, its 400 calibration patients (seed 1017; the 377 given CAR-T cells), column "
        "car_t_peak_per_uL of `oncoimmune trial examples/trials/zuma1.yaml --patients 400 --seed 1017`",
        "C",
    ),
    "ln_peak_sd": Value(
        _LN_PEAK[1],
        "ln units",
        "SD of ln(peak blood CAR-T) in the same 400 patients (the 21 real-world patients of Blood Adv 2021 give "
        "only the median)",
        "C",
    ),
    # ZUMA-1 targets: rates of that population
    "crs_any": Value(0.94, "1", "YESCARTA label Study 1: CRS 94 % (101/108), clinical.md §1.6", "V"),
    "crs_g3": Value(0.13, "1", "YESCARTA label: CRS grade >= 3 13 % (14/108; Lee 2014 grading), clinical.md §1.6", "V"),
    "crs_g4": Value(0.03, "1", "U: grade 4 share of severe CRS", "U"),
    "hypotension": Value(0.41, "1", "YESCARTA label: hypotension 41 % among CRS symptoms, clinical.md §1.6", "V"),
    "hypoxia": Value(0.22, "1", "YESCARTA label: hypoxia 22 % among CRS symptoms, clinical.md §1.6", "V"),
    "icans_any": Value(
        0.64,
        "1",
        "U: ICANS is narrower than the label's 'neurologic toxicities' (87 %, clinical.md §1.6); 0.64 is the ZUMA-1 "
        "NEJM neurologic-event rate as recalled (R, not in the reference notes)",
        "U",
    ),
    "icans_g3": Value(0.28, "1", "ZUMA-1 Neelapu NEJM 2017: neurologic events grade >= 3 28 %, clinical.md §1.6", "R"),
    "icans_g4": Value(0.03, "1", "U", "U"),
    "seizure": Value(0.03, "1", "U: a few per cent of axi-cel patients seize", "U"),
    "crs_onset": Value((2.0, 0.6), "(day, ln units)", "onset median 2 d (1-12), YESCARTA label (V); spread U", "V"),
    "crs_duration": Value(
        (7.0, 0.9), "(day, ln units)", "duration median 7 d (2-58), YESCARTA label (V); spread U", "V"
    ),
    "icans_onset": Value((4.0, 0.7), "(day, ln units)", "R: YESCARTA label neurologic onset median 4 d; spread U", "R"),
    "icans_duration": Value((17.0, 0.8), "(day, ln units)", "R: YESCARTA label neurologic duration 17 d; U", "R"),
}
"""CAR-T CRS/ICANS latent-severity model (see :mod:`oncoimmune.toxicity._cart`)."""

HAEM: dict[str, Value] = {
    "anc0": Value(5.22, "1e9/L", "Netterberg 2017 / Kloft 2006 docetaxel Friberg model baseline ANC (§5.2)", "V"),
    "anc0_cv": Value(0.30, "1 (log-normal CV)", "U", "U"),
    "mtt": Value(84.2 / 24.0, "day", "Netterberg 2017 mean transit time 84.2 h (pharmacology.md §5.2)", "V"),
    "gamma": Value(0.145, "1", "Netterberg 2017 feedback exponent (pharmacology.md §5.2)", "V"),
    "anc_lln": Value(2000.0, "/mm3", "U: laboratory LLN of neutrophils (1500-2000)", "U"),
    "hgb0": Value((12.6, 1.6), "g/dL (mean, SD)", "U: baseline haemoglobin of patients with advanced cancer", "U"),
    "hgb_lln": Value(12.0, "g/dL", "U: LLN of haemoglobin (women 12, men 13-13.5)", "U"),
    "mtt_e": Value(6.0, "day", "U: maturation of erythroid precursors (about 5-7 days, R)", "U"),
    "gamma_e": Value(0.3, "1", "U: erythropoietin feedback exponent", "U"),
    "rbc_life": Value(120.0, "day", "R: red-cell lifespan (textbook)", "R"),
}
"""Myelosuppression model constants (see :mod:`oncoimmune.toxicity._haematology`); the marrow
sensitivities relative to the lymphocyte kill of io_qsp are in :data:`HAEM_CALIBRATED`."""

HAEM_CALIBRATED: dict[str, Value] = {
    "s_n": Value(_HAEM["s_n"], "1", _CAL + "KEYNOTE-024 chemotherapy neutropenia (median marrow sensitivity)", "U"),
    "omega_n": Value(_HAEM["omega_n"], "ln units", _CAL + "KEYNOTE-024 chemotherapy neutropenia (log-SD)", "U"),
    "s_e": Value(_HAEM["s_e"], "1", _CAL + "KEYNOTE-024 chemotherapy anaemia (median erythroid sensitivity)", "U"),
    "omega_e": Value(_HAEM["omega_e"], "ln units", _CAL + "KEYNOTE-024 chemotherapy anaemia (log-SD)", "U"),
}
"""Marrow sensitivities to io_qsp's lymphocyte kill (log-normal between patients)."""

CART_THRESHOLDS: dict[str, tuple[float, ...]] = dict(_CART_THRESHOLDS)
"""Feature thresholds of the CAR-T latent model (ln units; C from the ZUMA-1 rates in :data:`CART`, over
the ZUMA-1 virtual population's spread of peak expansions)."""
