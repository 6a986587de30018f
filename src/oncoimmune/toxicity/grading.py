r"""Adverse-event grading: CTCAE v5.0 and the ASTCT consensus grades for CRS and ICANS.

Each function turns what a clinician observes (a laboratory value, a stool count, the limitation
of activities of daily living, the support a patient needs) into a grade with the published
definition, so that the side-effect model grades its virtual patients the way a trial would.

Sources (clinical.md §4.1-4.2):

* National Cancer Institute, *Common Terminology Criteria for Adverse Events (CTCAE) v5.0*,
  27 November 2017. The laboratory thresholds (ALT/AST, bilirubin, neutrophils, haemoglobin,
  platelets) and the ADL-based wording are as transcribed in clinical.md §4.1 (flag R there:
  recalled and cross-checked against several transcriptions; check against the official Excel
  before freezing).
* Lee DW et al., *ASTCT consensus grading for cytokine release syndrome and neurologic toxicity
  associated with immune effector cells*, Biol Blood Marrow Transplant 2019;25:625 (clinical.md
  §4.2, flag V).

Conventions. A CTCAE range written ">A-B" includes its upper bound: ALT ">3.0-5.0 × ULN" is grade
2 for 3.0 < x ≤ 5.0. A range written "<A-B" (cell counts) includes its lower bound: neutrophils
"<1500-1000/mm³" is grade 2 for 1000 ≤ ANC < 1500. Grade 0 means no adverse event. Functions
accept scalars or numpy arrays and return ``int`` or an integer array of the same shape.

ADL: *instrumental* activities of daily living are preparing meals, shopping, using the telephone
and managing money; *self-care* ADL are bathing, dressing, feeding, toileting, taking medications
and not being bedridden.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from oncoimmune.errors import ValidationError

__all__ = [
    "ADL",
    "astct_crs_grade",
    "astct_icans_grade",
    "grade_adl_term",
    "grade_alt",
    "grade_anaemia",
    "grade_bilirubin",
    "grade_diarrhoea",
    "grade_neutrophils",
    "grade_platelets",
    "grade_pneumonitis",
    "grade_rash_maculopapular",
    "hypoxia_support",
]

ADL = Literal["none", "instrumental", "self_care"]

_ADL_GRADE = {"none": 1, "instrumental": 2, "self_care": 3}
_HYPOTENSION = {"none": 0, "fluids": 2, "one_vasopressor": 3, "multiple_vasopressors": 4}
_HYPOXIA = {"none": 0, "low_flow": 2, "high_flow": 3, "positive_pressure": 4}
_CONSCIOUSNESS = {"normal": 0, "spontaneous": 1, "voice": 2, "tactile": 3, "unarousable": 4}
_SEIZURE = {"none": 0, "rapid": 3, "prolonged": 4}
_OEDEMA = {"none": 0, "focal": 3, "diffuse": 4}


def _array(x, field: str, where: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValidationError(field, "be finite and >= 0", x, where)
    return a


def _out(g: np.ndarray):
    g = np.asarray(g, dtype=np.int64)
    return int(g) if g.ndim == 0 else g


def _choice(value: str, table: dict[str, int], field: str, where: str) -> int:
    if value not in table:
        raise ValidationError(field, f"be one of {sorted(table)}", value, where)
    return table[value]


def grade_alt(alt_x_uln, baseline_x_uln=None):
    """CTCAE v5.0 grade of *alanine aminotransferase increased* (also AST increased).

    Parameters
    ----------
    alt_x_uln:
        ALT as a multiple of the upper limit of normal (ULN).
    baseline_x_uln:
        The patient's baseline ALT, same unit. ``None`` or ≤ 1: baseline normal, and the grade is
        G1 > 1.0-3.0 × ULN, G2 > 3.0-5.0, G3 > 5.0-20.0, G4 > 20.0 × ULN. With an abnormal
        baseline (> 1 × ULN) CTCAE v5.0 grades multiples of the *baseline* instead: G1 1.5-3.0,
        G2 > 3.0-5.0, G3 > 5.0-20.0, G4 > 20.0 × baseline (clinical.md §4.1 quotes the G1 clause;
        the G2-G4 baseline clauses are the same multiples, R).

    Notes
    -----
    Immune-related hepatitis has no CTCAE term of its own; irAE guidelines grade it by these
    transaminase grades (Brahmer JCO 2018, clinical.md §4.1).
    """
    x = _array(alt_x_uln, "alt_x_uln", "grade_alt")
    if baseline_x_uln is None:
        base = np.ones_like(x)
    else:
        base = np.broadcast_to(_array(baseline_x_uln, "baseline_x_uln", "grade_alt"), x.shape)
    abnormal = base > 1.0
    ref = np.where(abnormal, base, 1.0)
    r = x / ref
    g1_floor = np.where(abnormal, 1.5, 1.0)
    g = np.where(r > 20.0, 4, np.where(r > 5.0, 3, np.where(r > 3.0, 2, np.where(r >= g1_floor, 1, 0))))
    # baseline normal: G1 starts strictly above ULN
    g = np.where(~abnormal & (r <= 1.0), 0, g)
    return _out(g)


def grade_bilirubin(bilirubin_x_uln):
    """CTCAE v5.0 *blood bilirubin increased* (baseline normal): G1 > 1.0-1.5, G2 > 1.5-3.0,
    G3 > 3.0-10.0, G4 > 10.0 × ULN."""
    x = _array(bilirubin_x_uln, "bilirubin_x_uln", "grade_bilirubin")
    g = np.where(x > 10.0, 4, np.where(x > 3.0, 3, np.where(x > 1.5, 2, np.where(x > 1.0, 1, 0))))
    return _out(g)


def grade_neutrophils(anc_per_mm3, lln_per_mm3: float = 2000.0):
    """CTCAE v5.0 *neutrophil count decreased* from the absolute neutrophil count (cells/mm³).

    G1 < LLN-1500, G2 < 1500-1000, G3 < 1000-500, G4 < 500/mm³ (10⁹/L × 1000 = /mm³). The lower
    limit of normal depends on the laboratory; 2000/mm³ is a common value (U: labs use 1500-2000).
    """
    x = _array(anc_per_mm3, "anc_per_mm3", "grade_neutrophils")
    if not (np.isfinite(lln_per_mm3) and lln_per_mm3 >= 1500.0):
        raise ValidationError("lln_per_mm3", "be a finite number >= 1500", lln_per_mm3, "grade_neutrophils")
    g = np.where(x < 500.0, 4, np.where(x < 1000.0, 3, np.where(x < 1500.0, 2, np.where(x < lln_per_mm3, 1, 0))))
    return _out(g)


def grade_platelets(platelets_per_mm3, lln_per_mm3: float = 150_000.0):
    """CTCAE v5.0 *platelet count decreased*: G1 < LLN-75,000, G2 < 75,000-50,000,
    G3 < 50,000-25,000, G4 < 25,000/mm³."""
    x = _array(platelets_per_mm3, "platelets_per_mm3", "grade_platelets")
    if not (np.isfinite(lln_per_mm3) and lln_per_mm3 >= 75_000.0):
        raise ValidationError("lln_per_mm3", "be a finite number >= 75000", lln_per_mm3, "grade_platelets")
    g = np.where(x < 25_000.0, 4, np.where(x < 50_000.0, 3, np.where(x < 75_000.0, 2, np.where(x < lln_per_mm3, 1, 0))))
    return _out(g)


def grade_anaemia(hgb_g_dl, lln_g_dl: float = 12.0, *, life_threatening=False, death=False):
    """CTCAE v5.0 *anemia* from haemoglobin (g/dL).

    G1 < LLN-10.0, G2 < 10.0-8.0, G3 < 8.0 g/dL (transfusion indicated); G4 (life-threatening
    consequences, urgent intervention) and G5 (death) are clinical, given by the flags. The LLN
    is laboratory- and sex-specific (about 12 g/dL for women and 13-13.5 for men; U).
    """
    x = _array(hgb_g_dl, "hgb_g_dl", "grade_anaemia")
    if not (np.isfinite(lln_g_dl) and lln_g_dl >= 10.0):
        raise ValidationError("lln_g_dl", "be a finite number >= 10", lln_g_dl, "grade_anaemia")
    g = np.where(x < 8.0, 3, np.where(x < 10.0, 2, np.where(x < lln_g_dl, 1, 0)))
    g = np.where(np.asarray(life_threatening), 4, g)
    g = np.where(np.asarray(death), 5, g)
    return _out(g)


def grade_diarrhoea(
    stools_over_baseline,
    *,
    adl: ADL | None = None,
    hospitalisation: bool = False,
    life_threatening: bool = False,
    death: bool = False,
) -> int:
    """CTCAE v5.0 *diarrhea*.

    G1 an increase of < 4 stools/day over baseline; G2 4-6 (or limiting instrumental ADL); G3 ≥ 7
    (or hospitalisation indicated, or limiting self-care ADL); G4 life-threatening, urgent
    intervention; G5 death. No increase and no other criterion: grade 0.
    """
    n = float(_array(stools_over_baseline, "stools_over_baseline", "grade_diarrhoea"))
    g = 0 if n <= 0 else 1 if n < 4 else 2 if n < 7 else 3
    if adl is not None:
        g = max(g, _choice(adl, _ADL_GRADE, "adl", "grade_diarrhoea") if adl != "none" else 0)
    if hospitalisation:
        g = max(g, 3)
    if life_threatening:
        g = max(g, 4)
    if death:
        g = 5
    return g


def grade_adl_term(adl: ADL, *, symptomatic: bool = True) -> int:
    """CTCAE v5.0 grade of the terms graded by their limitation of daily living.

    Fatigue (G1 relieved by rest, G2 not relieved by rest and limiting instrumental ADL, G3 limiting
    self-care ADL) and arthralgia (G1 mild pain, G2 moderate pain limiting instrumental ADL, G3
    severe pain limiting self-care ADL); neither has a grade 4 or 5. ``adl`` is the limitation:
    ``"none"`` (G1 if ``symptomatic``, else 0), ``"instrumental"`` (G2), ``"self_care"`` (G3).
    """
    g = _choice(adl, _ADL_GRADE, "adl", "grade_adl_term")
    return g if (symptomatic or adl != "none") else 0


def grade_rash_maculopapular(
    bsa_percent, *, symptoms: Literal["none", "mild", "moderate", "severe"] = "none", adl: ADL = "none"
) -> int:
    """CTCAE v5.0 *rash maculo-papular*.

    G1 macules/papules on < 10 % of body-surface area (BSA) with or without symptoms; G2 10-30 % BSA
    (or > 30 % with at most mild symptoms, or limiting instrumental ADL); G3 > 30 % BSA with
    moderate or severe symptoms, or limiting self-care ADL. No grade 4-5 (SJS/TEN are other terms).
    """
    bsa = float(_array(bsa_percent, "bsa_percent", "grade_rash_maculopapular"))
    if bsa > 100.0:
        raise ValidationError("bsa_percent", "be <= 100", bsa_percent, "grade_rash_maculopapular")
    sev = _choice(symptoms, {"none": 0, "mild": 1, "moderate": 2, "severe": 3}, "symptoms", "grade_rash")
    limit = _choice(adl, _ADL_GRADE, "adl", "grade_rash_maculopapular") if adl != "none" else 0
    if bsa <= 0:
        g = 0
    elif bsa < 10.0:
        g = 1
    elif bsa <= 30.0 or sev <= 1:
        g = 2
    else:
        g = 3
    return max(g, limit)


def grade_pneumonitis(
    *,
    symptomatic: bool,
    adl: ADL = "none",
    oxygen: bool = False,
    life_threatening: bool = False,
    death: bool = False,
) -> int:
    """CTCAE v5.0 *pneumonitis*: G1 asymptomatic (observation only); G2 symptomatic, medical
    intervention indicated, limiting instrumental ADL; G3 severe symptoms, limiting self-care ADL,
    oxygen indicated; G4 life-threatening respiratory compromise; G5 death."""
    g = 2 if symptomatic else 1
    if adl != "none":
        g = max(g, _choice(adl, _ADL_GRADE, "adl", "grade_pneumonitis"))
    if oxygen:
        g = max(g, 3)
    if life_threatening:
        g = max(g, 4)
    if death:
        g = 5
    return g


def hypoxia_support(o2_l_per_min: float, device: Literal["nasal_cannula", "facemask", "positive_pressure"]) -> str:
    """ASTCT hypoxia category from the oxygen a patient needs.

    Low-flow nasal cannula (≤ 6 L/min) or blow-by → ``"low_flow"``; high-flow nasal cannula
    (> 6 L/min), facemask, non-rebreather or Venturi mask → ``"high_flow"``; CPAP, BiPAP,
    intubation and mechanical ventilation → ``"positive_pressure"``; no oxygen → ``"none"``.
    """
    flow = float(_array(o2_l_per_min, "o2_l_per_min", "hypoxia_support"))
    if device == "positive_pressure":
        return "positive_pressure"
    if device == "facemask":
        return "high_flow"
    if device != "nasal_cannula":
        raise ValidationError(
            "device", "be one of ['facemask', 'nasal_cannula', 'positive_pressure']", device, "hypoxia_support"
        )
    if flow <= 0:
        return "none"
    return "low_flow" if flow <= 6.0 else "high_flow"


def astct_crs_grade(
    fever: bool,
    hypotension: Literal["none", "fluids", "one_vasopressor", "multiple_vasopressors"] = "none",
    hypoxia: Literal["none", "low_flow", "high_flow", "positive_pressure"] = "none",
    *,
    fever_masked: bool = False,
) -> int:
    """ASTCT consensus grade of cytokine release syndrome (Lee 2019, clinical.md §4.2).

    CRS needs fever ≥ 38 °C (not required once antipyretics, tocilizumab or corticosteroids mask it:
    ``fever_masked``). Grade 1: fever alone; grade 2: hypotension not requiring vasopressors
    (``"fluids"``) and/or hypoxia on low-flow oxygen (≤ 6 L/min); grade 3: one vasopressor (with or
    without vasopressin) and/or high-flow oxygen, facemask, non-rebreather or Venturi; grade 4:
    several vasopressors (excluding vasopressin) and/or positive pressure. The grade is set by the
    worse of hypotension and hypoxia; organ toxicities are graded separately with CTCAE.
    """
    h = _choice(hypotension, _HYPOTENSION, "hypotension", "astct_crs_grade")
    o = _choice(hypoxia, _HYPOXIA, "hypoxia", "astct_crs_grade")
    if not (fever or fever_masked):
        return 0
    return max(1, h, o)


def astct_icans_grade(
    ice_score: int,
    consciousness: Literal["normal", "spontaneous", "voice", "tactile", "unarousable"] = "normal",
    seizure: Literal["none", "rapid", "prolonged"] = "none",
    motor_weakness: bool = False,
    cerebral_oedema: Literal["none", "focal", "diffuse"] = "none",
) -> int:
    """ASTCT consensus grade of immune effector cell-associated neurotoxicity syndrome (ICANS).

    The grade is the most severe of its domains (Lee 2019, clinical.md §4.2):

    * ICE score (0-10): 10 normal, 7-9 grade 1, 3-6 grade 2, 0-2 grade 3; an unarousable patient
      who cannot perform the ICE assessment is grade 4 (``consciousness="unarousable"``);
    * depressed level of consciousness: awakens spontaneously 1, to voice 2, only to tactile
      stimulus 3, unarousable/stupor/coma 4;
    * seizure: any clinical seizure resolving rapidly (or non-convulsive on EEG resolving with
      intervention) 3; prolonged (> 5 min) or repetitive seizures 4;
    * motor findings: deep focal motor weakness (hemiparesis, paraparesis) 4;
    * raised intracranial pressure / cerebral oedema: focal oedema on imaging 3; diffuse oedema,
      posturing, cranial nerve VI palsy, papilloedema or Cushing's triad 4.
    """
    ice = int(ice_score)
    if ice != ice_score or not 0 <= ice <= 10:
        raise ValidationError("ice_score", "be an integer in [0, 10]", ice_score, "astct_icans_grade")
    g_ice = 0 if ice == 10 else 1 if ice >= 7 else 2 if ice >= 3 else 3
    g = max(
        g_ice,
        _choice(consciousness, _CONSCIOUSNESS, "consciousness", "astct_icans_grade"),
        _choice(seizure, _SEIZURE, "seizure", "astct_icans_grade"),
        4 if motor_weakness else 0,
        _choice(cerebral_oedema, _OEDEMA, "cerebral_oedema", "astct_icans_grade"),
    )
    return g
