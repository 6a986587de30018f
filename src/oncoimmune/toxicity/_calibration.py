r"""Calibration of the side-effect model: targets, reference exposures, and the solvers.

``python -m oncoimmune.toxicity._calibration`` prints the calibrated constants that
:mod:`oncoimmune.toxicity._parameters` ships; ``tests/toxicity`` checks that the two agree and
that simulated rates reproduce the targets.

Definition kept throughout: **treatment-related AEs as trial tables report them** (clinical.md
general cautions: pick one definition). Placebo arms report treatment-related symptoms at the
CheckMate 76K rates (clinical.md §1.8), so the background hazards are those rates and an arm's
reported rate is background *or* drug: :math:`1 - p = (1 - p_{bg})\, e^{-H}`.

Hazard weights (closed form)
----------------------------
For a term with background 1-y incidence :math:`p_{bg}` and an arm with reported incidence
:math:`p_a` under a single class *c* whose reference exposure is :math:`X_c` (driver-days over
the 365-day reference window), the drug cumulative hazard is
:math:`\Lambda_a = -\ln[(1 - p_a)/(1 - p_{bg})]` and

.. math::

    w_c = \Lambda_a / S_c, \qquad S_c = 1 - e^{-X_c/\tau} \;(\text{cytotoxic: } S_c = X_c).

The probability of grade ≥ 3 given a drug event is
:math:`q_{3,c} = [1 - (1 - p_{3,a})/(1 - p_{3,bg})] / (1 - e^{-\Lambda_a})`. For the combination
arm, the excess of :math:`\Lambda` over the sum of the monotherapy hazards at the combination's
exposures is carried by the PD-(L)1 x CTLA-4 interaction (zero when the combination is
sub-additive, as for fatigue and colitis), and its :math:`q_3` is what makes the mixture of causes
(in proportion to their hazards) match the combination's grade ≥ 3 rate. The ``other`` term
closes each arm's any-grade and grade 3-4 treatment-related AE totals:
:math:`1 - p_{other} = (1 - p_{TRAE}) / \prod_k (1 - p_k)` (terms independent given exposure).
These inversions are exact for one cause; for the combination they assume the causes' hazards
are proportional in time, which the simulation tests check.

Reference exposures
-------------------
io_qsp's default patient with ``Covariates(weight_kg=80, height_cm=175, age_years=60,
sex="male", serum_creatinine=1.0)``, the regimen listed, 365 days (output every day; every
15 minutes for chemotherapy, IL-2 and interferon), computed by :func:`reference_exposures`
(values flag C).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from oncoimmune.toxicity._drivers import INTERACTION
from oncoimmune.toxicity._parameters import CART, CM067, CMAJ, HAZARD_TERMS, TERMS

__all__ = [
    "REFERENCE",
    "TARGETS",
    "TRAE",
    "cart_thresholds",
    "haematology_constants",
    "reference_exposures",
    "solve_weights",
]

WINDOW = 365.0
"""Reference AE window (days) of the checkpoint and chemotherapy arms."""


@dataclass(frozen=True)
class Reference:
    """A reference arm: the regimen, its AE window and its exposures (driver-days)."""

    regimen: str
    window: float
    exposure: dict[str, float]


REFERENCE: dict[str, Reference] = {
    "CheckMate 067 NIVO": Reference("nivolumab 3 mg/kg q2w", WINDOW, {"anti-PD-1": 359.80}),
    "CheckMate 067 IPI": Reference("ipilimumab 3 mg/kg q3w x4", WINDOW, {"anti-CTLA-4": 34.119}),
    "CheckMate 067 NIVO+IPI": Reference(
        "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w",
        WINDOW,
        {"anti-PD-1": 355.23, "anti-CTLA-4": 34.119, INTERACTION: 32.274},
    ),
    "KEYNOTE-024 pembrolizumab": Reference("pembrolizumab 200 mg q3w", WINDOW, {"anti-PD-1": 364.41}),
    "KEYNOTE-024 chemotherapy": Reference(
        "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4 then pemetrexed 500 mg/m2 q3w x4",
        WINDOW,
        {"cytotoxic": 2.5683},
    ),
    "high-dose IL-2": Reference("aldesleukin 600000 IU/kg q8h x14 then repeat after 9 days", 90.0, {"IL-2": 5.3366}),
    "high-dose interferon 4 weeks": Reference(
        "interferon alfa-2b 20 MIU/m2 IV 5 days/week x4 weeks", 90.0, {"IFN-alpha": 14.478}
    ),
    "dabrafenib+trametinib": Reference("dabrafenib 150 mg bid + trametinib 2 mg daily", WINDOW, {"targeted": 285.05}),
}
"""Reference arms; exposures from :func:`reference_exposures` (C)."""

CHEMO_PULSES = (
    *((d, 0.4297) for d in (0.0, 21.0, 42.0, 63.0)),
    *((d, 0.2125) for d in (84.0, 105.0, 126.0, 147.0)),
)
"""Cumulative lymphocyte kill of the KEYNOTE-024 reference course per cycle (day, kill); io_qsp (C):
carboplatin AUC 5 + pemetrexed 0.430 per cycle, pemetrexed alone 0.2125, each delivered within a day."""


def _t(any_, g3, source, flag):
    return {"any": any_, "g3": g3, "source": source, "flag": flag}


_U_UNION = "U: union of two CTCAE terms estimated from their rates assuming partial overlap"
_PROV = "U: provisional order of magnitude (not in the reference notes); a calibration target"
_PROLEUKIN = _PROV + "; Proleukin label adverse-reaction table as recalled (R)"

TARGETS: dict[str, dict[str, dict]] = {
    "CheckMate 067 NIVO": {
        "fatigue": _t(0.342, 0.013, CM067, "R"),
        "arthralgia": _t(0.077, 0.0, CM067, "R"),
        "diarrhoea_colitis": _t(0.192, 0.024, CMAJ + " diarrhoea 20/2, colitis 1/1; G3 union " + _U_UNION, "U"),
        "nausea_vomiting": _t(0.157, 0.003, CM067 + " nausea 13.1/0, vomiting 6.4/0.3; " + _U_UNION, "U"),
        "rash_pruritus": _t(0.353, 0.006, CM067 + " rash 25.9/0.6, pruritus 18.8/0; " + _U_UNION, "U"),
        "hepatitis": _t(0.04, 0.01, CMAJ, "V"),
        "hypothyroidism": _t(0.09, 0.0, CMAJ, "V"),
    },
    "CheckMate 067 IPI": {
        "fatigue": _t(0.280, 0.010, CM067, "R"),
        "arthralgia": _t(0.061, 0.0, CM067, "R"),
        "diarrhoea_colitis": _t(0.331, 0.10, CMAJ + " diarrhoea 33/6, colitis 12/9; G3 union " + _U_UNION, "U"),
        "nausea_vomiting": _t(0.19, 0.009, CM067 + " nausea 16.1/0.6, vomiting 7.4/0.3; " + _U_UNION, "U"),
        "rash_pruritus": _t(0.505, 0.021, CM067 + " rash 32.8/1.9, pruritus 35.4/0.3; " + _U_UNION, "U"),
        "hepatitis": _t(0.04, 0.02, CMAJ, "V"),
        "pneumonitis": _t(0.01, 0.003, "U: anti-CTLA-4 pneumonitis is rare (< 1-2 %, R)", "U"),
        "hypothyroidism": _t(0.04, 0.0, CMAJ, "V"),
    },
    "CheckMate 067 NIVO+IPI": {
        "fatigue": _t(0.351, 0.042, CM067, "R"),
        "arthralgia": _t(0.105, 0.003, CM067, "R"),
        "diarrhoea_colitis": _t(0.441, 0.112, CMAJ + " diarrhoea 44/10, colitis 12/8; G3 union " + _U_UNION, "U"),
        "nausea_vomiting": _t(0.32, 0.032, CM067 + " nausea 25.9/2.2, vomiting 15.3/2.6; " + _U_UNION, "U"),
        "rash_pruritus": _t(0.45, 0.039, CM067 + " rash 28.4/2.9, pruritus 33.2/1.9; " + _U_UNION, "U"),
        "hepatitis": _t(0.18, 0.08, CMAJ, "V"),
        "hypothyroidism": _t(0.15, 0.01, CMAJ, "V"),
    },
    "KEYNOTE-024 pembrolizumab": {
        "pneumonitis": _t(0.058, 0.026, "KEYNOTE-024 Reck NEJM 2016, pembrolizumab (NSCLC; clinical.md §1.3)", "R"),
    },
    "KEYNOTE-024 chemotherapy": {
        "fatigue": _t(0.287, 0.02, "KEYNOTE-024 chemotherapy fatigue 28.7 % (clinical.md §1.3, R); grade >= 3 U", "R"),
        "nausea_vomiting": _t(0.433, 0.02, "KEYNOTE-024 chemotherapy nausea 43.3 % (clinical.md §1.3, R); G3 U", "R"),
        "neutropenia": _t(0.227, 0.133, "KEYNOTE-024 chemotherapy neutropenia 22.7 %, grade 3-5 13.3 % (§1.3)", "R"),
        "anaemia": _t(0.44, 0.193, "KEYNOTE-024 chemotherapy anaemia 44.0 %, grade 3-5 19.3 % (§1.3)", "R"),
    },
    "high-dose IL-2": {
        "diarrhoea_colitis": _t(0.67, 0.10, _PROLEUKIN, "U"),
        "nausea_vomiting": _t(0.60, 0.15, _PROLEUKIN, "U"),
        "rash_pruritus": _t(0.45, 0.04, _PROLEUKIN, "U"),
        "fatigue": _t(0.40, 0.10, _PROLEUKIN, "U"),
        "hepatitis": _t(0.25, 0.05, _PROLEUKIN, "U"),
        "hypothyroidism": _t(0.10, 0.0, _PROLEUKIN + "; thyroiditis after IL-2", "U"),
    },
    "high-dose interferon 4 weeks": {
        "fatigue": _t(0.90, 0.20, _PROV + "; constitutional toxicity dominates high-dose IFN (E1684/E1697, R)", "U"),
        "nausea_vomiting": _t(0.60, 0.05, _PROV, "U"),
        "hepatitis": _t(0.60, 0.15, _PROV + "; hepatotoxicity (E1684 hepatic deaths, clinical.md §1.4)", "U"),
        "diarrhoea_colitis": _t(0.30, 0.02, _PROV, "U"),
        "arthralgia": _t(0.40, 0.02, _PROV + "; myalgia/arthralgia of the flu-like syndrome", "U"),
        "hypothyroidism": _t(0.05, 0.0, _PROV, "U"),
    },
    "dabrafenib+trametinib": {
        "fatigue": _t(0.30, 0.02, _PROV + " (COMBI-d/-v)", "U"),
        "arthralgia": _t(0.25, 0.01, _PROV + " (COMBI-d/-v)", "U"),
        "diarrhoea_colitis": _t(0.30, 0.01, _PROV + " (COMBI-d/-v)", "U"),
        "nausea_vomiting": _t(0.35, 0.01, _PROV + " (COMBI-d/-v)", "U"),
        "rash_pruritus": _t(0.25, 0.01, _PROV + " (COMBI-d/-v)", "U"),
        "hepatitis": _t(0.10, 0.03, _PROV + " (COMBI-d/-v)", "U"),
    },
}
"""Per-arm, per-term targets (fractions): reported incidence, any grade and grade >= 3."""

TRAE: dict[str, dict] = {
    "CheckMate 067 NIVO": _t(0.821, 0.163, CM067 + " any TRAE / grade 3-4 TRAE", "V"),
    "CheckMate 067 IPI": _t(0.862, 0.273, CM067 + " any TRAE / grade 3-4 TRAE", "V"),
    "CheckMate 067 NIVO+IPI": _t(0.955, 0.550, CM067 + " any TRAE / grade 3-4 TRAE", "V"),
    "KEYNOTE-024 chemotherapy": _t(0.900, 0.533, "KEYNOTE-024 chemotherapy TRAE any 90.0 %, G3-5 53.3 % (§1.3)", "V"),
    "high-dose IL-2": _t(0.99, 0.80, _PROLEUKIN + "; capillary-leak hypotension and oliguria in most patients", "U"),
    "high-dose interferon 4 weeks": _t(0.99, 0.579, "E1697 4-week IV HDI grade >= 3 57.9 % (§1.4, V); any U", "V"),
    "dabrafenib+trametinib": _t(0.87, 0.35, _PROV + "; pyrexia ~50 % (COMBI, clinical.md §1.7, R)", "U"),
}
"""Per-arm treatment-related AE totals (any grade, grade >= 3) that the ``other`` term closes."""

FIT = {
    "anti-PD-1": "CheckMate 067 NIVO",
    "anti-CTLA-4": "CheckMate 067 IPI",
    INTERACTION: "CheckMate 067 NIVO+IPI",
    "cytotoxic": "KEYNOTE-024 chemotherapy",
    "IL-2": "high-dose IL-2",
    "IFN-alpha": "high-dose interferon 4 weeks",
    "targeted": "dabrafenib+trametinib",
}
"""Which arm fixes each cause's weights (pneumonitis: anti-PD-1 from KEYNOTE-024 pembrolizumab)."""

PDL1_RATIO = 0.7
"""anti-PD-L1 weights as a fraction of anti-PD-1 weights (U: pooled anti-PD-L1 irAE rates run below
anti-PD-1, Wang 2019 (clinical.md §3.2, V for pooled PD-1/L1); PD-L1-specific per-AE values not verified)."""

HAEM_TERMS = ("neutropenia", "anaemia")

Q3_CAP = 0.8
"""Largest probability of grade >= 3 given a drug event (U). Where a target's grade >= 3 rate cannot be
reached under this cap (the ``other`` term: the grade 3-4 TRAE totals of CheckMate 067 are dominated by
laboratory irAEs outside the listed terms while the listed terms already fill the any-grade total), the
any-grade hazard is raised instead, overshooting the any-grade total slightly."""

P_MAX = 8.0
"""Largest exponent of the p-norm that combines class hazards of a sub-additive term (U)."""


def _S(cause: str, x: float, tau: float) -> float:
    return x if cause == "cytotoxic" else -math.expm1(-x / tau)


def _bg(term: str, window: float) -> tuple[float, float]:
    """Background cumulative hazard, any grade and grade >= 3, over a window (days)."""
    spec = TERMS[term]
    lam = -math.log1p(-spec.background.value) * window / 365.0
    lam3 = -math.log1p(-spec.background_g3.value) * window / 365.0
    return lam, lam3


def _pnorm(values, p: float) -> float:
    return sum(v**p for v in values) ** (1.0 / p) if values else 0.0


def _predict(term: str, arm: str, weights: dict, powers: dict | None = None) -> tuple[float, float]:
    """Reported any-grade and grade >= 3 incidence of a term in a reference arm (analytic)."""
    ref = REFERENCE[arm]
    b, b3 = _bg(term, ref.window)
    tau = TERMS[term].tau.value
    p = (powers or {}).get(term, 1.0)
    hz = {c: w * _S(c, ref.exposure[c], tau) for c, (w, _) in weights.get(term, {}).items() if c in ref.exposure}
    lam = _pnorm(list(hz.values()), p)
    p_drug = -math.expm1(-lam)
    tot = sum(hz.values())
    q3 = sum(hz[c] * weights[term][c][1] for c in hz) / tot if tot > 0 else 0.0
    any_ = 1.0 - math.exp(-b) * (1.0 - p_drug)
    g3 = 1.0 - math.exp(-b3) * (1.0 - q3 * p_drug)
    return any_, g3


def _fit_single(term: str, arm: str, cause: str, target: dict) -> tuple[float, float]:
    ref = REFERENCE[arm]
    b, b3 = _bg(term, ref.window)
    lam = max(0.0, -math.log1p(-target["any"]) - b)
    w = lam / _S(cause, ref.exposure[cause], TERMS[term].tau.value)
    need3 = max(0.0, 1.0 - (1.0 - target["g3"]) / math.exp(-b3))
    if need3 > Q3_CAP * -math.expm1(-lam):
        lam = -math.log1p(-need3 / Q3_CAP)
        w = lam / _S(cause, ref.exposure[cause], TERMS[term].tau.value)
    p_drug = -math.expm1(-lam)
    q3 = min(Q3_CAP, need3 / p_drug) if p_drug > 0 else 0.0
    return w, q3


def _fit_interaction(term: str, weights: dict, target: dict) -> tuple[float, float, float]:
    r"""(w, q3) of the combination's excess hazard and the term's p-norm exponent.

    The drug hazard the combination needs, :math:`\Lambda`, is the larger of what its any-grade rate
    needs and what its grade >= 3 rate needs at the severity cap. If the monotherapy hazards at the
    combination's exposures add up to less (super-additive term: hepatitis, colitis), the excess is an
    interaction hazard whose severity makes the mixture of causes match the grade >= 3 rate. If they
    add up to more (sub-additive term: fatigue, rash), the class hazards combine with a p-norm
    (shared susceptibility: the same patients react to both antibodies), and an interaction hazard of
    severity ``Q3_CAP`` carries the combination's excess severity (fatigue grade 3-4: 4.2 % with the
    combination against 1.0-1.3 % with either antibody).
    """
    arm = FIT[INTERACTION]
    ref = REFERENCE[arm]
    b, b3 = _bg(term, ref.window)
    tau = TERMS[term].tau.value
    s_int = _S(INTERACTION, ref.exposure[INTERACTION], tau)
    hz = {c: w * _S(c, ref.exposure[c], tau) for c, (w, _) in weights.items() if c in ref.exposure}
    mono = sum(hz.values())
    sev = sum(hz[c] * weights[c][1] for c in hz)
    need3 = max(0.0, 1.0 - (1.0 - target["g3"]) / math.exp(-b3))
    lam = max(-math.log1p(-target["any"]) - b, -math.log1p(-min(need3 / Q3_CAP, 0.999999)), 0.0)
    if lam <= 0:
        return 0.0, 0.0, 1.0
    need_q = need3 / -math.expm1(-lam)
    if lam >= mono:
        h_int = lam - mono
        q3 = (need_q * lam - sev) / h_int if h_int > 0 else 0.0
        return h_int / s_int, min(Q3_CAP, max(0.0, q3)), 1.0
    h_int = max(0.0, (need_q * mono - sev) / (Q3_CAP - need_q)) if need_q < Q3_CAP else 0.0
    h = [*hz.values(), h_int]
    if _pnorm(h, 1.0) <= lam:
        p = 1.0
    elif _pnorm(h, P_MAX) >= lam:
        p = P_MAX
    else:
        p = brentq(lambda q: _pnorm(h, q) - lam, 1.0, P_MAX)
    return h_int / s_int, Q3_CAP if h_int > 0 else 0.0, p


def solve_weights() -> tuple[dict[str, dict[str, tuple[float, float]]], dict[str, float]]:
    """Hazard weights ``w`` and conditional severities ``q3`` per term and cause, and the p-norm
    exponent per term, from the targets."""
    W: dict[str, dict[str, tuple[float, float]]] = {term: {} for term in HAZARD_TERMS}
    P: dict[str, float] = {term: 1.0 for term in HAZARD_TERMS}
    for term in HAZARD_TERMS:
        if term == "other":
            continue
        for cause, arm in FIT.items():
            if cause == INTERACTION:
                continue
            if term == "pneumonitis" and cause == "anti-PD-1":
                arm = "KEYNOTE-024 pembrolizumab"
            target = TARGETS[arm].get(term)
            if target is not None:
                W[term][cause] = _fit_single(term, arm, cause, target)
        if "anti-PD-1" in W[term]:
            w, q3 = W[term]["anti-PD-1"]
            W[term]["anti-PD-L1"] = (PDL1_RATIO * w, q3)
        combo = TARGETS[FIT[INTERACTION]].get(term)
        if combo is not None:
            w, q3, P[term] = _fit_interaction(term, W[term], combo)
            W[term][INTERACTION] = (w, q3)
    # "other": close each arm's treatment-related totals
    for cause, arm in FIT.items():
        total = TRAE.get(arm)
        if total is None or cause == INTERACTION:
            continue
        target = _other_target(arm, W, P, total)
        W["other"][cause] = _fit_single("other", arm, cause, target)
    W["other"]["anti-PD-L1"] = (PDL1_RATIO * W["other"]["anti-PD-1"][0], W["other"]["anti-PD-1"][1])
    arm = FIT[INTERACTION]
    w, q3, P["other"] = _fit_interaction("other", W["other"], _other_target(arm, W, P, TRAE[arm]))
    W["other"][INTERACTION] = (w, q3)
    return {term: {c: v for c, v in d.items() if v[0] > 0} for term, d in W.items()}, P


def _other_target(arm: str, W: dict, P: dict, total: dict) -> dict:
    keep_any, keep_g3 = 1.0, 1.0
    for term in HAZARD_TERMS:
        if term == "other":
            continue
        a, g = _predict(term, arm, W, P)
        keep_any *= 1.0 - a
        keep_g3 *= 1.0 - g
    for term in HAEM_TERMS:
        if term in TARGETS[arm]:
            keep_any *= 1.0 - TARGETS[arm][term]["any"]
            keep_g3 *= 1.0 - TARGETS[arm][term]["g3"]
    return {
        "any": max(0.0, 1.0 - (1.0 - total["any"]) / keep_any),
        "g3": max(0.0, 1.0 - (1.0 - total["g3"]) / keep_g3),
    }


def predicted_rates(weights=None, powers=None) -> dict[str, dict[str, tuple[float, float]]]:
    """Analytic reported rates per reference arm and term under the given (default shipped) weights."""
    if weights is None:
        from oncoimmune.toxicity._parameters import COMBINE_P, WEIGHTS

        weights = {t: {c: (w.value, q.value) for c, (w, q) in d.items()} for t, d in WEIGHTS.items()}
        powers = {t: v.value for t, v in COMBINE_P.items()}
    return {arm: {term: _predict(term, arm, weights, powers) for term in HAZARD_TERMS} for arm in REFERENCE}


# --- CAR-T ------------------------------------------------------------------------------------

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(80)
_GH_W = _GH_W / _GH_W.sum()


def _severity_spread() -> tuple[float, float]:
    """Mean and SD of a ZUMA-1 patient's severity z = ln(C_max/c_ref) + sigma_patient eps."""
    mu, s = CART["ln_peak_mean"].value, CART["ln_peak_sd"].value
    return mu, math.hypot(CART["sigma_patient"].value, s)


def _mean_over_patients(f) -> float:
    """E_z[f(z)] over the ZUMA-1 population's severities (Gauss-Hermite)."""
    mu, sd = _severity_spread()
    return float(np.sum(_GH_W * f(mu + sd * _GH_X)))


def cart_thresholds() -> dict[str, tuple[float, ...]]:
    """Feature thresholds (ln units) with which the ZUMA-1 virtual population, its peak CAR-T counts
    spread as ``ln_peak_mean``/``ln_peak_sd`` say, has the ZUMA-1 rates (deterministic)."""
    sf = CART["sigma_feature"].value
    mu, sz = _severity_spread()
    sd = math.hypot(sz, sf)

    def marginal(p: float) -> float:
        return mu - sd * float(ndtri(p))  # P(z + sf eta > theta) = p

    fever = marginal(CART["crs_any"].value)
    h1 = marginal(CART["hypotension"].value)
    o1 = marginal(CART["hypoxia"].value)

    def p_fever(z):
        return ndtr((z - fever) / sf)

    def severe(theta):
        # P(fever and (hypotension > theta or hypoxia > theta)), same threshold for both features
        def f(z):
            q = ndtr((z - theta) / sf)
            return p_fever(z) * (1.0 - (1.0 - q) ** 2)

        return _mean_over_patients(f)

    t3 = brentq(lambda th: severe(th) - CART["crs_g3"].value, -10, 20)
    t4 = brentq(lambda th: severe(th) - CART["crs_g4"].value, -10, 20)
    s_th = marginal(CART["seizure"].value)

    def icans_at_least(theta_ice):
        # P(ICE band beyond theta or seizure)
        def f(z):
            qi = ndtr((z - theta_ice) / sf)
            qs = ndtr((z - s_th) / sf)
            return 1.0 - (1.0 - qi) * (1.0 - qs)

        return _mean_over_patients(f)

    i1 = brentq(lambda th: icans_at_least(th) - CART["icans_any"].value, -10, 20)
    i3 = brentq(lambda th: icans_at_least(th) - CART["icans_g3"].value, -10, 20)
    i4 = marginal(CART["icans_g4"].value)
    return {
        "fever": (fever,),
        "hypotension": (h1, t3, t4),
        "hypoxia": (o1, t3, t4),
        "ice": (i1, 0.5 * (i1 + i3), i3),
        "unarousable": (max(i4, i3),),
        "seizure": (s_th,),
    }


# --- haematology ------------------------------------------------------------------------------


def _chemo_cumulative(t: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t)
    for day, kill in CHEMO_PULSES:
        out += kill * np.clip((t - day) / 1.0, 0.0, 1.0)
    return out


def _normal_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints and probabilities of ``n`` equal-width bins of N(0, 1) over [-7, 7]."""
    edges = np.linspace(-7.0, 7.0, n + 1)
    w = np.diff(ndtr(edges))
    return 0.5 * (edges[1:] + edges[:-1]), w / w.sum()


def _nadir_curves(s_grid: np.ndarray):
    from oncoimmune.toxicity._haematology import marrow

    t = np.arange(0.0, WINDOW + 1.0, 1.0)
    X = np.tile(_chemo_cumulative(t), (len(s_grid), 1))
    res = marrow(X, t, s_grid, s_grid, np.ones(len(s_grid)), np.ones(len(s_grid)))
    return res["anc"].min(axis=1), res["hgb"].min(axis=1)


def haematology_constants() -> dict[str, float]:
    """Marrow sensitivities (median, log-SD) reproducing the KEYNOTE-024 chemotherapy neutropenia and
    anaemia (any grade, grade >= 3) for the reference course; deterministic quadrature."""
    from oncoimmune.toxicity._parameters import HAEM

    s_grid = np.exp(np.linspace(np.log(1e-6), np.log(1e3), 361))
    cmin, rmin = _nadir_curves(s_grid)
    ls = np.log(s_grid)
    # the integrands are indicators (a grade is reached or not): a dense midpoint rule in the normal
    # deviates, not Gauss-Hermite, integrates them accurately
    gz, gw = _normal_grid(1001)

    def frac(curve, thresholds, baseline_sampler, s_med, omega):
        # P(baseline * nadir(s) below threshold and worse than baseline grade), s log-normal
        ls_i = np.log(s_med) + omega * gz
        nad = np.exp(np.interp(ls_i, ls, np.log(curve)))[None, :]
        b = np.array([x for x, _ in baseline_sampler])[:, None]
        wb = np.array([w for _, w in baseline_sampler])
        return [float(wb @ (thr(b, nad) @ gw)) for thr in thresholds]

    cv = HAEM["anc0_cv"].value
    sdl = math.sqrt(math.log1p(cv**2))
    bx, bw = _normal_grid(201)
    anc_base = [(HAEM["anc0"].value * math.exp(sdl * x), w) for x, w in zip(bx, bw, strict=True)]
    lln = HAEM["anc_lln"].value / 1000.0

    def anc_grade(x):
        return np.where(x < 0.5, 4, np.where(x < 1.0, 3, np.where(x < 1.5, 2, np.where(x < lln, 1, 0))))

    def anc_any(b, c):
        return anc_grade(b * c) > anc_grade(b)

    def anc_g3(b, c):
        return (b * c < 1.0) & (b >= 1.0)

    mu, sd = HAEM["hgb0"].value
    hgb_base = [(min(max(mu + sd * x, 7.0), 18.0), w) for x, w in zip(bx, bw, strict=True)]
    hl = HAEM["hgb_lln"].value

    def hgb_grade(h):
        return np.where(h < 8.0, 3, np.where(h < 10.0, 2, np.where(h < hl, 1, 0)))

    def hgb_any(b, r):
        return hgb_grade(b * r) > hgb_grade(b)

    def hgb_g3(b, r):
        return (b * r < 8.0) & (b >= 8.0)

    out = {}
    for name, curve, base, f_any, f_g3 in (
        ("n", cmin, anc_base, anc_any, anc_g3),
        ("e", rmin, hgb_base, hgb_any, hgb_g3),
    ):
        key = "neutropenia" if name == "n" else "anaemia"
        tgt = TARGETS["KEYNOTE-024 chemotherapy"][key]

        def g3_at(omega, curve=curve, base=base, f_g3=f_g3, tgt=tgt):
            return brentq(
                lambda lm: frac(curve, [f_g3], base, math.exp(lm), omega)[0] - tgt["g3"], math.log(1e-2), math.log(1e2)
            )

        def any_gap(omega, curve=curve, base=base, f_any=f_any, tgt=tgt, g3_at=g3_at):
            return frac(curve, [f_any], base, math.exp(g3_at(omega)), omega)[0] - tgt["any"]

        omega = brentq(any_gap, 0.05, 3.0)
        out[f"s_{name}"] = math.exp(g3_at(omega))
        out[f"omega_{name}"] = omega
    return out


def reference_exposures(patient=None) -> dict[str, dict[str, float]]:
    """Re-run io_qsp on the reference regimens and return each arm's exposures (driver-days)."""
    import oncoimmune as oi
    from oncoimmune.toxicity._drivers import SIGNALS, cumulative, drives
    from oncoimmune.toxicity._parameters import DRIVER_EC50

    pt = patient or oi.Covariates(weight_kg=80, height_cm=175, age_years=60, sex="male", serum_creatinine=1.0)
    out = {}
    for arm, ref in REFERENCE.items():
        fine = any(c in ref.exposure for c in ("cytotoxic", "IL-2", "IFN-alpha"))
        t = np.arange(0.0, ref.window + 1e-9, 1.0 / 96.0 if fine else 1.0)
        o = oi.simulate_treatment("io_qsp", ref.regimen, [pt], t).outputs()
        present = {c: np.array([SIGNALS[c][0] in o and o[SIGNALS[c][0]].max() > 0]) for c in SIGNALS}
        s = drives(o, (1, len(t)), present, {c: v.value for c, v in DRIVER_EC50.items()})
        out[arm] = {c: float(cumulative(v, t)[0, -1]) for c, v in s.items() if c != "CAR-T"}
    return out


def _main() -> None:  # pragma: no cover - a maintenance command
    W, P = solve_weights()
    print("WEIGHTS (w, q3):")
    for term, d in W.items():
        print(f"  {term} (p={P[term]:.4g}): " + ", ".join(f"{c}: ({w:.4g}, {q:.4g})" for c, (w, q) in d.items()))
    print("CART thresholds:", {k: tuple(round(x, 4) for x in v) for k, v in cart_thresholds().items()})
    print("HAEM:", {k: round(v, 4) for k, v in haematology_constants().items()})
    pred = predicted_rates({t: dict(d) for t, d in W.items()}, P)
    for arm, d in pred.items():
        print(arm, {t: (round(a, 3), round(g, 3)) for t, (a, g) in d.items()})


def shipped_literals() -> str:  # pragma: no cover - a maintenance command
    """The calibrated constants as Python literals, to paste into ``_parameters.py``."""
    W, P = solve_weights()
    lines = ["_W = {"]
    for term, d in W.items():
        lines.append(f"    {term!r}: {{")
        for c, (w, q) in d.items():
            lines.append(f"        {c!r}: ({w:.6g}, {q:.6g}),")
        lines.append("    },")
    lines.append("}")
    lines.append("_P = {")
    lines += [f"    {t!r}: {p:.6g}," for t, p in P.items()]
    lines.append("}")
    th = cart_thresholds()
    lines.append("_CART_THRESHOLDS = {")
    for k, v in th.items():
        lines.append(f"    {k!r}: ({', '.join(f'{x:.6g}' for x in v)},),")
    lines.append("}")
    h = haematology_constants()
    lines.append("_HAEM = {")
    lines += [f"    {k!r}: {v:.6g}," for k, v in h.items()]
    lines.append("}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    _main()
    print(shipped_literals())
