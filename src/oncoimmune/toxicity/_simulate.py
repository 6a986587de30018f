r"""The side-effect model: per-patient, per-term adverse events from model exposures.

Hazard terms
------------
For each term *k* (fatigue, arthralgia, diarrhoea/colitis, nausea/vomiting, rash/pruritus,
hepatitis, pneumonitis, hypothyroidism, other) a patient has two independent sources of events:

* **background**, the rate at which the symptom is reported (and attributed to treatment by
  investigators) in placebo arms: a constant hazard :math:`\lambda_k = -\ln(1 - p_k)/365` per day
  inside the AE-collection window (CheckMate 76K placebo, clinical.md §1.8);
* **drug**, a cumulative hazard driven by each drug class *c* the patient receives,

  .. math::

      H_k(t) = \Bigl(\sum_c H_{kc}(t)^{p_k}\Bigr)^{1/p_k}, \qquad
      H_{kc}(t) = w_{kc}\, \bigl(1 - e^{-X_c(t)/\tau_k}\bigr), \qquad
      H_{k,\mathrm{cytotoxic}}(t) = w_{k,\mathrm{cytotoxic}}\, X_{\mathrm{cytotoxic}}(t),

  where :math:`X_c(t)` is the cumulative drive of the class (driver-days, see
  :mod:`~oncoimmune.toxicity._drivers`) and :math:`\tau_k` the term's onset scale. The saturating
  form makes immune-related events early and then rare (susceptible patients declare themselves in
  the first months of exposure, as pooled nivolumab and ipilimumab safety data show), and makes
  anti-PD-1 toxicity independent of dose once receptors are saturated (KEYNOTE-002). Cytotoxic
  hazards grow linearly with cumulative kill (every cycle adds risk). Classes combine additively
  (:math:`p_k = 1`) where the combination is at least additive, and the combination of a PD-(L)1
  and a CTLA-4 antibody then adds an excess hazard driven by the product of their drives
  (CheckMate 067: hepatitis 18 % with the combination against 4 % with either antibody alone);
  where it is sub-additive (fatigue, rash: the combination is no worse than ipilimumab alone)
  :math:`p_k > 1` makes the hazards combine towards their maximum (the same susceptible patients
  react to either antibody). :math:`p_k` and the weights come from
  :mod:`~oncoimmune.toxicity._calibration`.

Each source fires once at the time its cumulative hazard first crosses a unit-exponential threshold
drawn for the patient (inversion of the survival function). Because the threshold is fixed by the
seed, re-simulating a patient whose exposure changed after day *d* (a hold, a discontinuation,
steroid damping) leaves every event before *d* unchanged: the trial runner can iterate exposure and
toxicity to a consistent answer. The cause of a drug event is drawn among the classes in
proportion to their hazard increments at onset, and its grade from the distribution of that
(term, cause) pair: the probability of grade ≥ 3 given an event, then the term's split of grades
1-2 and 3-5. Severity is thus conditional on what drives the event (the combination's excess
hazard has its own, more severe distribution) rather than on dose within a class. Onset to
resolution (grade ≤ 1) is log-normal around the term's median.

Recurrence: an immune-related event caused by a checkpoint antibody, for which the drugs were held,
recurs with probability :data:`~oncoimmune.toxicity._parameters.RECURRENCE` (28.8 %, Dolladille 2020)
on rechallenge: the first checkpoint dose (``rechallenge_days``) after every hold covering the drugs
has ended, given no later than the patient's last dose (``treatment_end``) and before everything was
stopped; one recurrence per term, after a delay from that dose on the term's onset scale, with a grade
and a resolution drawn as for the first event's cause. The management then sees it (a second grade 3
episode treated with corticosteroids discontinues, as the labels say).

CAR-T: CRS and ICANS from the peak CAR-T expansion (:mod:`~oncoimmune.toxicity._cart`).
Chemotherapy: neutropenia and anaemia from marrow models driven by the cytotoxic kill
(:mod:`~oncoimmune.toxicity._haematology`).

Randomness
----------
Patient *p* (its id, by default its position) draws a fixed block of :data:`N_UNIFORMS` uniform
numbers from ``numpy.random.SeedSequence(seed, spawn_key=(p,))``, in a fixed layout, and every
calculation is row-wise: results are bit-identical whatever the chunking or the number of workers,
and a patient's events do not depend on the other patients.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.toxicity import _cart
from oncoimmune.toxicity._drivers import (
    CLASSES,
    FINE_GRID_DAYS,
    IMMUNE,
    INTERACTION,
    PLACEBO,
    SHORT_LIVED,
    SIGNALS,
    cumulative,
    drives,
)
from oncoimmune.toxicity._haematology import marrow
from oncoimmune.toxicity._management import CHECKPOINT, manage
from oncoimmune.toxicity._parameters import (
    CHECKPOINT_LABELS,
    COMBINE_P,
    DRIVER_EC50,
    HAEM,
    HAEM_CALIBRATED,
    HAZARD_TERMS,
    IMMUNE_RELATED_TERMS,
    RECURRENCE,
    STEROIDS,
    TERMS,
    WEIGHTS,
)

__all__ = ["ALL_TERMS", "ToxicityResult", "simulate_toxicity"]

ALL_TERMS = (*HAZARD_TERMS, "crs", "icans", "neutropenia", "anaemia")
"""Every term the model reports, in a fixed order."""

U_PER_TERM = 8
_U_CART = U_PER_TERM * len(HAZARD_TERMS)
_U_HAEM = _U_CART + _cart.N_UNIFORMS
N_UNIFORMS = 128
"""Uniform random numbers per patient (fixed layout: 8 per hazard term, then CAR-T, then marrow)."""

RESOLUTION_SD = 0.8
"""Log-scale SD of the time from onset to resolution (U)."""

AE_COLUMNS = [
    "patient",
    "term",
    "onset_day",
    "worst_grade",
    "worst_grade_cause",
    "drug_related",
    "resolution_day",
]
EPISODE_COLUMNS = ["patient", "term", "onset_day", "grade", "cause", "resolution_day", "detail"]
ACTION_COLUMNS = ["patient", "kind", "start", "stop", "scope", "level", "term", "grade"]


def _uniforms(seed: int, pid: int) -> np.ndarray:
    ss = np.random.SeedSequence(seed, spawn_key=(pid,))
    return np.random.Generator(np.random.PCG64(ss)).random(N_UNIFORMS)


U_PER_RECURRENCE = 4
"""Uniform numbers per hazard term for its recurrence (whether, delay, grade, resolution), drawn from a
stream of their own (``spawn_key=(pid, 1)``) so that the main block's layout is unchanged."""


def _recurrence_uniforms(seed: int, pid: int) -> np.ndarray:
    ss = np.random.SeedSequence(seed, spawn_key=(pid, 1))
    return np.random.Generator(np.random.PCG64(ss)).random(U_PER_RECURRENCE * len(HAZARD_TERMS))


def _days(field: str, v: object, n: int) -> np.ndarray:
    """One day or ``n`` days (not NaN; ``-inf`` and ``inf`` allowed) as an array of ``n``."""
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(field, f"be one day or {n} days", v, "simulate_toxicity") from None
    if a.shape == ():
        a = np.full(n, float(a))
    if a.shape != (n,) or np.any(np.isnan(a)):
        raise ValidationError(field, f"be one day or {n} days, not NaN", v, "simulate_toxicity")
    return a


def _courses(course: object) -> dict[str, tuple[float, float]]:
    """``simulate_toxicity``'s ``course``: known classes to finite ``(first, last)`` days, first <= last."""
    if course is None:
        return {}
    where = "simulate_toxicity"
    if not isinstance(course, Mapping):
        raise ValidationError("course", "be a mapping of drug class to (first, last) dose days", course, where)
    out: dict[str, tuple[float, float]] = {}
    for c, v in course.items():
        if c not in CLASSES:
            raise UnknownNameError("course", c, list(CLASSES), where)
        try:
            first, last = (float(x) for x in v)
        except (TypeError, ValueError):
            raise ValidationError(f"course.{c}", "be (first, last) dose days", v, where) from None
        if not (math.isfinite(first) and math.isfinite(last) and 0.0 <= first <= last):
            raise ValidationError(f"course.{c}", "be finite days with 0 <= first <= last", v, where)
        out[c] = (first, last)
    return out


def _classes_per_patient(drug_classes, outputs, shape) -> list[frozenset[str]]:
    n = shape[0]
    if drug_classes is None:
        out = []
        sig = {}
        for c in CLASSES:
            key = SIGNALS[c][0]
            if key in outputs:
                sig[c] = np.asarray(outputs[key], dtype=float).reshape(shape).max(axis=1) > 0
        for i in range(n):
            out.append(frozenset(c for c, on in sig.items() if on[i]))
        return out
    if isinstance(drug_classes, str):
        drug_classes = [drug_classes]
    items = list(drug_classes)
    if not items or all(isinstance(x, str) for x in items):
        per = [frozenset(items)] * n
    else:
        if len(items) != n:
            raise ValidationError(
                "drug_classes", f"be one list of classes or one per patient ({n})", len(items), "simulate_toxicity"
            )
        per = [frozenset([x] if isinstance(x, str) else x) for x in items]
    for cl in per:
        if PLACEBO in cl and not cl - {PLACEBO}:
            raise ValidationError(
                "drug_classes",
                "name a drug class next to 'placebo' (the placebo is matched to a drug; a placebo-only arm is not "
                "modelled)",
                sorted(cl),
                "simulate_toxicity",
            )
        for c in cl:
            if c == PLACEBO:
                continue
            if c not in CLASSES:
                raise UnknownNameError("drug_classes", c, [*CLASSES, PLACEBO], "simulate_toxicity")
            if SIGNALS[c][0] not in outputs:
                raise ValidationError(
                    f"outputs['{SIGNALS[c][0]}']", f"be given for class {c!r}", "missing", "simulate_toxicity"
                )
    return per


def _grade_tables(term: str):
    """Cumulative grade probabilities per cause, and the background one."""
    spec = TERMS[term]
    g2 = spec.g2_share.value
    s3, s4, s5 = spec.severe_split.value

    def table(q3: float) -> np.ndarray:
        p = np.array([(1 - q3) * (1 - g2), (1 - q3) * g2, q3 * s3, q3 * s4, q3 * s5])
        return np.cumsum(p / p.sum())

    pb = spec.background.value
    bg = table(spec.background_g3.value / pb if pb > 0 else 0.0)
    per = {c: table(q3.value) for c, (_, q3) in WEIGHTS.get(term, {}).items()}
    return bg, per


def _draw_grade(cum: np.ndarray, u: float) -> int:
    return int(min(np.searchsorted(cum, u, side="right"), 4)) + 1


def _first_crossing(H: np.ndarray, E: np.ndarray, t: np.ndarray):
    """Index j >= 1 of the first grid point with H >= E (0 if never) and the interpolated time."""
    hit = H >= E[:, None]
    j = np.argmax(hit, axis=1)
    ok = hit[np.arange(H.shape[0]), j] & (j > 0)
    jj = np.where(ok, j, 1)
    r = np.arange(H.shape[0])
    h0, h1 = H[r, jj - 1], H[r, jj]
    frac = np.where(h1 > h0, (E - h0) / np.where(h1 > h0, h1 - h0, 1.0), 1.0)
    when = t[jj - 1] + np.clip(frac, 0.0, 1.0) * (t[jj] - t[jj - 1])
    return np.where(ok, jj, 0), np.where(ok, when, np.nan)


@dataclass(frozen=True)
class ToxicityResult:
    """Adverse events, management actions and their summaries for a set of virtual patients.

    Attributes
    ----------
    t:
        Output times of the exposure (days).
    patient_ids:
        The ids that seeded each patient's random numbers.
    classes:
        Drug classes each patient received (as used by the model).
    adverse_events:
        One row per patient and term with an event: ``onset_day`` (first onset), ``worst_grade``,
        ``worst_grade_cause`` (``background`` or the drug class), ``drug_related`` (any episode
        caused by a drug), ``resolution_day`` of the worst episode (back to grade ≤ 1; a grade-1
        episode's end).
    episodes:
        Every episode (a patient may have a background and a drug episode of the same term).
    actions:
        Management actions: ``hold``, ``discontinue``, ``steroid``, ``tocilizumab`` with ``start``,
        ``stop`` (NaN: open or permanent), ``scope``, steroid ``level``, and the triggering ``term``
        and ``grade``.
    labs:
        ANC (10⁹/L) and haemoglobin (g/dL) at the output times, ``(patients, times)``, for patients
        with a cytotoxic exposure (NaN for the others).
    notes:
        Warnings about the inputs (e.g. short-lived exposures on a coarse grid).
    seed:
        The seed.
    """

    t: np.ndarray
    patient_ids: np.ndarray
    classes: tuple[frozenset[str], ...]
    adverse_events: pd.DataFrame
    episodes: pd.DataFrame
    actions: pd.DataFrame
    labs: dict[str, np.ndarray]
    notes: tuple[str, ...]
    seed: int
    management: bool = True
    provenance: dict = field(default_factory=dict)

    @property
    def n_patients(self) -> int:
        return len(self.patient_ids)

    def _rows(self, patients) -> np.ndarray:
        if patients is None:
            return np.arange(self.n_patients)
        idx = np.asarray(patients)
        if idx.dtype == bool:
            if idx.shape != (self.n_patients,):
                raise ValidationError("patients", f"be a mask of length {self.n_patients}", idx.shape, "ToxicityResult")
            return np.flatnonzero(idx)
        return idx.astype(int)

    def _events(self, patients, cause: str) -> pd.DataFrame:
        if cause not in ("all", "drug"):
            raise ValidationError("cause", "be 'all' or 'drug'", cause, "ToxicityResult")
        rows = self._rows(patients)
        ep = self.episodes[self.episodes["patient"].isin(rows)]
        if cause == "drug":
            ep = ep[ep["cause"] != "background"]
        return ep

    def worst_grades(self, cause: str = "all") -> pd.DataFrame:
        """Worst grade per patient (rows, in input order) and term (columns); 0: no event."""
        ep = self._events(None, cause)
        table = np.zeros((self.n_patients, len(ALL_TERMS)), dtype=np.int64)
        col = pd.Series(range(len(ALL_TERMS)), index=list(ALL_TERMS))
        np.maximum.at(table, (ep["patient"].to_numpy(), col[ep["term"]].to_numpy()), ep["grade"].to_numpy())
        return pd.DataFrame(table, columns=list(ALL_TERMS))

    def rates(self, patients=None, cause: str = "all") -> pd.DataFrame:
        """Per-term incidence (fractions 0-1): ``any`` grade and grade ``g3plus``.

        ``cause="all"`` counts every episode, including background symptoms, which is what trial
        tables of treatment-related AEs report (investigators attribute a share of background
        symptoms to treatment: placebo arms report them at the rates of clinical.md §1.8);
        ``cause="drug"`` counts only drug-caused episodes (the attributable increment).
        ``patients``: positions or a boolean mask (e.g. one arm); default all.
        """
        rows = self._rows(patients)
        wg = self.worst_grades(cause).iloc[rows]
        n = max(len(rows), 1)
        return pd.DataFrame(
            {"any": (wg > 0).sum(axis=0) / n, "g3plus": (wg >= 3).sum(axis=0) / n},
            index=pd.Index(list(ALL_TERMS), name="term"),
        )

    def any_rate(self, patients=None, cause: str = "all", min_grade: int = 1) -> float:
        """Fraction of patients with at least one episode of grade >= ``min_grade`` in any term."""
        rows = self._rows(patients)
        wg = self.worst_grades(cause).iloc[rows]
        return float((wg >= min_grade).any(axis=1).mean()) if len(rows) else math.nan

    def trae_g3plus(self, patients=None, cause: str = "all") -> float:
        """Treatment-related grade >= 3 AE rate, as trial tables report it (see :meth:`rates`)."""
        return self.any_rate(patients, cause, 3)

    def discontinuation_rate(self, patients=None) -> float:
        """Fraction of patients who permanently stopped at least one drug for an adverse event (all of the
        regimen, or part of it: anti-CTLA-4 after grade 3 hepatitis), the "AEs leading to discontinuation" row
        of trial safety tables; NaN where the management is not applied (nothing is ever stopped)."""
        rows = self._rows(patients)
        if not len(rows) or not self.management:
            return math.nan
        stopped = np.zeros(self.n_patients, dtype=bool)
        stopped[self.actions.loc[self.actions["kind"] == "discontinue", "patient"].to_numpy(dtype=int)] = True
        return float(stopped[rows].mean())

    def discontinuation_day(self) -> np.ndarray:
        """Day of permanent discontinuation of every drug per patient (NaN: never)."""
        out = np.full(self.n_patients, np.nan)
        a = self.actions[(self.actions["kind"] == "discontinue") & (self.actions["scope"] == "all")]
        for p, s in zip(a["patient"], a["start"], strict=True):
            out[p] = s if np.isnan(out[p]) else min(out[p], s)
        return out

    def intervals(self, kind: str, patient: int) -> list[tuple[float, float]]:
        """(start, stop) intervals of the ``hold`` or ``steroid`` actions of one patient."""
        if kind not in ("hold", "steroid"):
            raise ValidationError("kind", "be 'hold' or 'steroid'", kind, "ToxicityResult.intervals")
        a = self.actions[(self.actions["patient"] == patient) & (self.actions["kind"] == kind)]
        return list(zip(a["start"].tolist(), a["stop"].tolist(), strict=True))

    def immune_damping(self, t: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """Multiplicative factor on immune activity, ``(patients, times)``: 1 without steroids.

        During a corticosteroid course the factor is the course's damping
        (:data:`~oncoimmune.toxicity._parameters.STEROIDS`, U); overlapping courses take the
        strongest. The trial runner feeds it back into the exposure model (and into
        :func:`simulate_toxicity` as ``damping``) to let steroids damp immune activity.
        """
        tt = self.t if t is None else np.asarray(t, dtype=float)
        out = np.ones((self.n_patients, len(tt)))
        a = self.actions[self.actions["kind"] == "steroid"]
        for p, s, e, lv in zip(a["patient"], a["start"], a["stop"], a["level"], strict=True):
            f = STEROIDS[lv].value[1]
            on = (tt >= s) & (tt < e)
            out[p, on] = np.minimum(out[p, on], f)
        return out

    def patients_table(self) -> pd.DataFrame:
        """One row per patient (input order): worst grade and first onset day per term, holds, dose
        reductions, corticosteroid days, permanent discontinuation (of everything), of anti-CTLA-4 alone
        and of any part of the regimen (``partial_discontinuation_day``)."""
        wg = self.worst_grades().add_prefix("worst_grade_")
        onset = np.full((self.n_patients, len(ALL_TERMS)), np.nan)
        col = pd.Series(range(len(ALL_TERMS)), index=list(ALL_TERMS))
        ae = self.adverse_events
        onset[ae["patient"].to_numpy(dtype=int), col[ae["term"]].to_numpy()] = ae["onset_day"].to_numpy()
        on = pd.DataFrame(onset, columns=[f"onset_day_{t}" for t in ALL_TERMS])
        a = self.actions
        holds = a[a["kind"] == "hold"]
        cuts = a[a["kind"] == "reduce"]
        ster = a[a["kind"] == "steroid"]
        ctla = a[(a["kind"] == "discontinue") & (a["scope"] == "anti-CTLA-4")]
        part = a[(a["kind"] == "discontinue") & (a["scope"] != "all")]
        extra = pd.DataFrame(
            {
                "patient_id": self.patient_ids,
                "n_holds": holds.groupby("patient").size().reindex(range(self.n_patients), fill_value=0).to_numpy(),
                "n_reductions": cuts.groupby("patient").size().reindex(range(self.n_patients), fill_value=0).to_numpy(),
                "steroid_days": (ster["stop"] - ster["start"])
                .groupby(ster["patient"])
                .sum()
                .reindex(range(self.n_patients), fill_value=0.0)
                .to_numpy(),
                "discontinuation_day": self.discontinuation_day(),
                "anti_ctla4_discontinuation_day": ctla.groupby("patient")["start"]
                .min()
                .reindex(range(self.n_patients))
                .to_numpy(),
                "partial_discontinuation_day": part.groupby("patient")["start"]
                .min()
                .reindex(range(self.n_patients))
                .to_numpy(),
            }
        )
        return pd.concat([extra, wg, on], axis=1)

    def summary(self, patients=None) -> dict:
        """Arm-level figures in the trial summary vocabulary: ``trae_any``, ``trae_g3plus``,
        ``ae_discontinuation`` and ``ae`` per term."""
        r = self.rates(patients)
        ae = {term: {"any": float(r.loc[term, "any"]), "g3plus": float(r.loc[term, "g3plus"])} for term in r.index}
        return {
            "trae_any": self.any_rate(patients),
            "trae_g3plus": self.trae_g3plus(patients),
            "ae_discontinuation": self.discontinuation_rate(patients),
            "ae": ae,
        }


def _validate(outputs, t, seed, patient_ids, window, damping):
    if not isinstance(outputs, Mapping) or not outputs:
        raise ValidationError("outputs", "be a non-empty mapping of name -> (patients, times) array", outputs)
    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or len(t) < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValidationError("t", "be a 1-D increasing array of at least 2 finite times", t, "simulate_toxicity")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValidationError("seed", "be an integer >= 0", seed, "simulate_toxicity")
    first = np.asarray(next(iter(outputs.values())))
    if first.ndim != 2 or first.shape[1] != len(t):
        raise ValidationError("outputs", f"hold (patients, {len(t)}) arrays", first.shape, "simulate_toxicity")
    n = first.shape[0]
    for key, value in outputs.items():
        if np.shape(value) != (n, len(t)):
            rule = f"have shape ({n}, {len(t)}) like the other outputs"
            raise ValidationError(f"outputs['{key}']", rule, np.shape(value), "simulate_toxicity")
    if patient_ids is None:
        ids = np.arange(n, dtype=np.int64)
    else:
        ids = np.asarray(patient_ids)
        if ids.shape != (n,) or not np.issubdtype(ids.dtype, np.integer) or np.any(ids < 0):
            raise ValidationError("patient_ids", f"be {n} integers >= 0", patient_ids, "simulate_toxicity")
        if len(np.unique(ids)) != n:
            raise ValidationError("patient_ids", "be unique", patient_ids, "simulate_toxicity")
    if window is None:
        win = np.tile([t[0], t[-1]], (n, 1))
    else:
        win = np.asarray(window, dtype=float)
        if win.shape == (2,):
            win = np.tile(win, (n, 1))
        if win.shape != (n, 2) or not np.all(np.isfinite(win)) or np.any(win[:, 1] < win[:, 0]):
            raise ValidationError("window", f"be (start, stop) days, one pair or {n}", window, "simulate_toxicity")
        win = np.clip(win, t[0], t[-1])
    if damping is not None:
        damping = np.asarray(damping, dtype=float)
        if damping.shape != (n, len(t)) or not np.all((damping >= 0) & (damping <= 1)):
            raise ValidationError("damping", f"be factors in [0, 1] of shape ({n}, {len(t)})", damping.shape)
    return t, n, ids, win, damping


def simulate_toxicity(
    outputs: Mapping[str, np.ndarray],
    t: Sequence[float] | np.ndarray,
    *,
    seed: int,
    drug_classes: Sequence[str] | Sequence[Sequence[str]] | None = None,
    management: bool = True,
    patient_ids: Sequence[int] | np.ndarray | None = None,
    window: Sequence[float] | np.ndarray | None = None,
    damping: np.ndarray | None = None,
    chunk_size: int = 2000,
    treatment_end: Sequence[float] | np.ndarray | None = None,
    rechallenge_days: Sequence[float] | np.ndarray | None = None,
    course: Mapping[str, tuple[float, float]] | None = None,
    off_treatment_day: float | Sequence[float] | np.ndarray | None = None,
    checkpoint_label: str = "current",
) -> ToxicityResult:
    """Simulate adverse events, their grades and their management for virtual patients.

    Parameters
    ----------
    outputs:
        Exposure signals, each ``(patients, times)``: what ``TreatmentResult.outputs()`` returns
        for io_qsp (``occupancy_PD1``, ``occupancy_PDL1``, ``conc_CTLA4``, ``conc_IL2_nM``,
        ``conc_IFN_IU_per_mL``, ``cytotoxic_kill_lymphocytes``, ``targeted_effect``,
        ``car_t_per_uL``; others are ignored). ``cumulative_<class>`` (e.g.
        ``cumulative_cytotoxic``), if given, is the exact cumulative drive of that class and replaces
        the trapezoidal integral of the samples (needed for short-lived drugs on a coarse grid).
    t:
        Output times (days), increasing.
    seed:
        Integer >= 0; with ``patient_ids`` it fixes every random number.
    drug_classes:
        The drug classes given (names in :data:`~oncoimmune.toxicity.CLASSES`): one list for every
        patient (an arm) or one list per patient. ``None``: every class whose signal is non-zero.
        A class not listed contributes nothing even if its signal is present. ``"placebo"``
        (:data:`~oncoimmune.toxicity.PLACEBO`) adds a double-blind design's matched placebo, given until
        ``off_treatment_day``: no drive, but events while it is given are managed.
    management:
        Apply the management rules (holds, discontinuation, corticosteroids, tocilizumab).
    patient_ids:
        Integer ids seeding each patient's random numbers (default ``0..n-1``); give global ids when
        simulating a population in chunks.
    window:
        AE-collection window (start, stop) in days, one pair or one per patient: background
        symptoms accrue only inside it (trials collect AEs on treatment and up to 30-100 days
        after the last dose). Default: the whole grid.
    damping:
        Factors in [0, 1], ``(patients, times)``, multiplying the immune drives (checkpoint
        antibodies, IL-2, interferon): the steroid damping of a previous pass
        (:meth:`ToxicityResult.immune_damping`). Default: none.
    chunk_size:
        Patients processed together (memory only; results do not depend on it).
    treatment_end:
        Day of each patient's last dose (one value, or one per patient): a held immune-related event
        can recur only if a checkpoint dose is given after the hold, no later than this day (a
        rechallenge). Default: the end of the AE-collection window.
    rechallenge_days:
        Planned administration days of the checkpoint antibodies (the same for every patient): the
        rechallenge is the first of them on or after the end of the holds; the recurrence's delay runs
        from it. Default: continuous exposure (the rechallenge is the day the holds end).
    course:
        ``(first, last)`` dose days of each drug class given as a finite course (ipilimumab's four doses),
        the same for every patient; a class not named continues until ``off_treatment_day``. See
        :func:`~oncoimmune.toxicity.manage`: an episode after the last dose holds or stops nothing of the
        class. Default: none.
    off_treatment_day:
        Day each patient's treatment ends for reasons other than adverse events (progression, the maximum
        duration), one value or one per patient. Default: never.
    checkpoint_label:
        The checkpoint-label version the management follows: ``"current"`` (default) or
        ``"yervoy_2011"`` (the first YERVOY label: a severe immune-mediated reaction during the
        ipilimumab course permanently stops the regimen; :func:`oncoimmune.toxicity.manage`).

    Returns
    -------
    ToxicityResult
    """
    if not WEIGHTS:
        raise RuntimeError("toxicity parameters were not loaded")  # pragma: no cover
    t, n, ids, win, damping = _validate(outputs, t, seed, patient_ids, window, damping)
    if treatment_end is None:
        t_end = win[:, 1].copy()
    else:
        t_end = np.asarray(treatment_end, dtype=float)
        if t_end.shape == ():
            t_end = np.full(n, float(t_end))
        if t_end.shape != (n,) or not np.all(np.isfinite(t_end)):
            raise ValidationError("treatment_end", f"be one finite day or {n}", treatment_end, "simulate_toxicity")
    if rechallenge_days is None:
        re_days = None
    else:
        re_days = np.sort(np.asarray(rechallenge_days, dtype=float).ravel())
        if not np.all(np.isfinite(re_days)):
            raise ValidationError("rechallenge_days", "be finite days", rechallenge_days, "simulate_toxicity")
    if checkpoint_label not in CHECKPOINT_LABELS:
        raise ValidationError(
            "checkpoint_label", f"be one of {', '.join(CHECKPOINT_LABELS)}", checkpoint_label, "simulate_toxicity"
        )
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValidationError("chunk_size", "be an integer >= 1", chunk_size, "simulate_toxicity")
    shape = (n, len(t))
    classes = _classes_per_patient(drug_classes, outputs, shape)
    courses = _courses(course)
    off = _days("off_treatment_day", np.inf if off_treatment_day is None else off_treatment_day, n)
    notes: list[str] = []
    coarse = float(np.max(np.diff(t))) > FINE_GRID_DAYS
    for c in SHORT_LIVED:
        if coarse and any(c in cl for cl in classes) and f"cumulative_{c}" not in outputs:
            notes.append(
                f"{c}: exposure integrated from samples on a grid coarser than {FINE_GRID_DAYS * 24:.0f} h; "
                f"pass outputs['cumulative_{c}'] (exact cumulative drive) or a finer grid, or its toxicity "
                "is undercounted"
            )
    for msg in notes:
        warnings.warn(msg, UserWarning, stacklevel=2)
    episodes: list[dict] = []
    manage_only: list[dict] = []
    actions: list[dict] = []
    anc = np.full(shape, np.nan)
    hgb = np.full(shape, np.nan)
    ec50 = {c: v.value for c, v in DRIVER_EC50.items()}
    tables = {term: _grade_tables(term) for term in HAZARD_TERMS}
    for lo in range(0, n, chunk_size):
        rows = np.arange(lo, min(n, lo + chunk_size))
        sub = {k: np.asarray(v)[rows] for k, v in outputs.items() if np.ndim(v) == 2}
        cls = [classes[i] for i in rows]
        u = np.stack([_uniforms(int(seed), int(ids[i])) for i in rows])
        present = {c: np.array([c in cl for cl in cls]) for c in CLASSES}
        s = drives(sub, (len(rows), len(t)), present, ec50)
        X = {}
        for c, sc in s.items():
            if damping is not None and c in IMMUNE:
                sc = sc * damping[rows]
            key = f"cumulative_{c}"
            if key in sub and c not in ("anti-CTLA-4", INTERACTION):
                X[c] = np.where(present[c][:, None], np.maximum(sub[key], 0.0), 0.0)
            else:
                X[c] = cumulative(sc, t)
        episodes += _hazard_episodes(X, t, win[rows], u, rows, tables)
        if "CAR-T" in s:
            for rec in _cart.cart_events(s["CAR-T"], t, u[:, _U_CART : _U_CART + _cart.N_UNIFORMS]):
                rec["row"] = int(rows[rec["row"]])
                episodes.append(rec)
        if "cytotoxic" in X:
            eps, m_eps, a, h = _marrow_episodes(X["cytotoxic"], t, u[:, _U_HAEM : _U_HAEM + 4], rows)
            episodes += eps
            manage_only += m_eps
            hit = np.flatnonzero(present["cytotoxic"])
            anc[rows[hit]] = a[hit]
            hgb[rows[hit]] = h[hit]
    if management:
        by_patient: dict[int, list[dict]] = {}
        for ep in episodes:
            if ep["term"] != "neutropenia":
                by_patient.setdefault(ep["row"], []).append(ep)
        for ep in manage_only:
            by_patient.setdefault(ep["row"], []).append(ep)
        for p in range(n):
            eps = by_patient.get(p, [])
            acts = manage(eps, classes[p], courses, float(off[p]), checkpoint_label)
            if classes[p] & CHECKPOINT:
                # a recurrence comes after the rechallenge it follows, so the actions before it stay as they
                # were; one can stop everything before another's rechallenge, which then never happens:
                # iterate to the fixed point (each pass settles the earliest change)
                u_rec = _recurrence_uniforms(int(seed), int(ids[p]))
                again: list[dict] = []
                for _ in range(len(HAZARD_TERMS) + 1):
                    found = _recurrences(
                        eps, acts, float(t_end[p]), float(win[p, 1]), u_rec, tables, re_days, classes[p] & CHECKPOINT
                    )
                    if found == again:
                        break
                    again = found
                    acts = manage(eps + again, classes[p], courses, float(off[p]), checkpoint_label)
                episodes += again
            for act in acts:
                act["patient"] = p
                actions.append(act)
    ep_df = pd.DataFrame(
        [{**{k: e.get(k) for k in EPISODE_COLUMNS if k != "patient"}, "patient": e["row"]} for e in episodes],
        columns=EPISODE_COLUMNS,
    )
    ep_df = ep_df.astype({"patient": "int64", "grade": "int64", "onset_day": float, "resolution_day": float})
    ep_df = ep_df.sort_values(["patient", "term", "onset_day"], kind="stable").reset_index(drop=True)
    act_df = pd.DataFrame(actions, columns=ACTION_COLUMNS).astype({"patient": "int64", "grade": "int64"})
    return ToxicityResult(
        t=t,
        patient_ids=ids,
        classes=tuple(classes),
        adverse_events=_summarise(ep_df),
        episodes=ep_df,
        actions=act_df,
        labs={"anc_1e9_per_L": anc, "hgb_g_per_dL": hgb},
        notes=tuple(notes),
        seed=int(seed),
        management=management,
        provenance={
            "model": "oncoimmune.toxicity",
            "seed": int(seed),
            "n_patients": n,
            "checkpoint_label": checkpoint_label,
        },
    )


_RECHALLENGE_CAUSES = CHECKPOINT | {INTERACTION}
"""Causes whose events recur on rechallenge (the checkpoint antibodies; Dolladille 2020 is about them)."""


def _recurrences(eps, acts, end, collect_end, u, tables, dose_days=None, checkpoint=frozenset()) -> list[dict]:
    """Recurrences of one patient's held, checkpoint-caused, immune-related events on rechallenge: the first
    checkpoint dose (``dose_days``; ``None``: continuous exposure) on or after the end of every hold covering
    the checkpoint drugs then, given no later than the last dose ``end`` and before every checkpoint class
    the patient receives (``checkpoint``) was stopped (a matched placebo left given is no rechallenge); at
    most one per term (its uniforms ``u``)."""
    stop_all, gone = math.inf, set()
    for a in sorted((a for a in acts if a["kind"] == "discontinue"), key=lambda a: a["start"]):
        gone |= set(checkpoint) if a["scope"] == "all" else set(a["scope"].split(","))
        if a["scope"] == "all" or (checkpoint and set(checkpoint) <= gone):
            stop_all = a["start"]
            break
    holds = [
        (a["start"], a["stop"] if np.isfinite(a["stop"]) else math.inf)
        for a in acts
        if a["kind"] == "hold" and (a["scope"] == "all" or set(a["scope"].split(",")) & CHECKPOINT)
    ]
    out: list[dict] = []
    done: set[str] = set()
    for a in sorted((a for a in acts if a["kind"] == "hold"), key=lambda a: a["start"]):
        term = a["term"]
        if term in done or term not in IMMUNE_RELATED_TERMS or not np.isfinite(a["stop"]):
            continue
        ep = next(
            (
                e
                for e in eps
                if e["term"] == term and e["onset_day"] == a["start"] and e["cause"] in _RECHALLENGE_CAUSES
            ),
            None,
        )
        if ep is None:
            continue
        dose, moved = float(a["stop"]), True
        while moved:  # a dose is given once no hold covers its day: the first such dose from the hold's end on
            moved = False
            for lo, hi in holds:
                if lo <= dose < hi:
                    dose, moved = hi, True
            if dose_days is not None and math.isfinite(dose):
                i = int(np.searchsorted(dose_days, dose, side="left"))
                nxt = float(dose_days[i]) if i < len(dose_days) else math.inf
                moved = moved or nxt != dose
                dose = nxt
        if not (dose <= end and dose < stop_all):
            continue
        done.add(term)
        k = HAZARD_TERMS.index(term)
        uk = u[U_PER_RECURRENCE * k : U_PER_RECURRENCE * (k + 1)]
        if uk[0] >= RECURRENCE.value:
            continue
        spec = TERMS[term]
        onset = dose - spec.tau.value * math.log1p(-uk[1])
        cum = tables[term][1].get(ep["cause"])
        if onset > collect_end or cum is None:
            continue
        grade = _draw_grade(cum, uk[2])
        out.append(_episode(ep["row"], term, onset, grade, ep["cause"], uk[3], spec, "recurrence on rechallenge"))
    return out


def _hazard_episodes(X, t, win, u, rows, tables) -> list[dict]:
    out: list[dict] = []
    for k, term in enumerate(HAZARD_TERMS):
        spec = TERMS[term]
        base = U_PER_TERM * k
        uk = u[:, base : base + U_PER_TERM]
        bg_cum, per_cause = tables[term]
        # background: constant hazard inside the window
        lam = -math.log1p(-spec.background.value) / 365.0
        if lam > 0:
            e_bg = -np.log1p(-uk[:, 0])
            on_bg = win[:, 0] + e_bg / lam
            hit = on_bg <= win[:, 1]
            for i in np.flatnonzero(hit):
                g = _draw_grade(bg_cum, uk[i, 3])
                out.append(_episode(rows[i], term, on_bg[i], g, "background", uk[i, 5], spec, None))
        # drug: cumulative hazard H = sum_c w (1 - exp(-X/tau)) (+ w X for cytotoxic)
        parts = {}
        tau = spec.tau.value
        for c, (w, _) in WEIGHTS.get(term, {}).items():
            if c in X and w.value > 0:
                parts[c] = w.value * (X[c] if c == "cytotoxic" else -np.expm1(-X[c] / tau))
        if not parts:
            continue
        p = COMBINE_P[term].value
        H = sum(parts.values()) if p == 1.0 else sum(v**p for v in parts.values()) ** (1.0 / p)
        e_d = -np.log1p(-uk[:, 1])
        j, when = _first_crossing(H, e_d, t)
        names = list(parts)
        for i in np.flatnonzero(j > 0):
            inc = np.array([parts[c][i, j[i]] - parts[c][i, j[i] - 1] for c in names])
            inc = np.maximum(inc, 0.0)
            cum = np.cumsum(inc) / inc.sum() if inc.sum() > 0 else np.linspace(1 / len(names), 1, len(names))
            c = names[int(min(np.searchsorted(cum, uk[i, 2], side="right"), len(names) - 1))]
            g = _draw_grade(per_cause[c], uk[i, 4])
            out.append(_episode(rows[i], term, when[i], g, c, uk[i, 6], spec, None))
    return out


def _episode(row, term, onset, grade, cause, u_res, spec, detail) -> dict:
    med = spec.resolution.value
    res = onset + med * math.exp(RESOLUTION_SD * float(ndtri(min(max(u_res, 1e-12), 1 - 1e-12))))
    return {
        "row": int(row),
        "term": term,
        "onset_day": float(onset),
        "grade": int(min(grade, spec.max_grade)),
        "cause": cause,
        "resolution_day": float(res),
        "detail": detail,
    }


def _marrow_episodes(Xk, t, u, rows):
    zn = ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    cv = HAEM["anc0_cv"].value
    sd_l = math.sqrt(math.log1p(cv**2))
    anc0 = HAEM["anc0"].value * np.exp(sd_l * zn[:, 0])
    mu, sd = HAEM["hgb0"].value
    hgb0 = np.clip(mu + sd * zn[:, 1], 7.0, 18.0)
    s_n = HAEM_CALIBRATED["s_n"].value * np.exp(HAEM_CALIBRATED["omega_n"].value * zn[:, 2])
    s_e = HAEM_CALIBRATED["s_e"].value * np.exp(HAEM_CALIBRATED["omega_e"].value * zn[:, 3])
    active = Xk[:, -1] > 0
    res = marrow(Xk[active], t, s_n[active], s_e[active], anc0[active], hgb0[active])
    eps: list[dict] = []
    act_rows = np.flatnonzero(active)
    for name in ("neutropenia", "anaemia"):
        g = res[f"{name}_grade"]
        for q in np.flatnonzero(g > 0):
            res_day = res[f"{name}_resolution"][q]
            eps.append(
                {
                    "row": int(rows[act_rows[q]]),
                    "term": name,
                    "onset_day": float(res[f"{name}_onset"][q]),
                    "grade": int(g[q]),
                    "cause": "cytotoxic",
                    "resolution_day": float(res_day),
                    "detail": f"nadir grade reached day {res[f'{name}_worst_day'][q]:.1f}",
                }
            )
    # management sees each grade >= 3 neutropenic interval (a cycle waits for recovery), not the episode,
    # graded by its nadir (grade 4, ANC < 500/mm3, also reduces the next doses)
    manage_eps: list[dict] = []
    for q, ivs in enumerate(res["neutropenia_g3_intervals"]):
        for a, b, worst in ivs:
            manage_eps.append(
                {
                    "row": int(rows[act_rows[q]]),
                    "term": "neutropenia",
                    "onset_day": a,
                    "grade": worst,
                    "resolution_day": b,
                }
            )
    anc = np.full((len(rows), len(t)), np.nan)
    hgb = np.full((len(rows), len(t)), np.nan)
    anc[active] = res["anc"]
    hgb[active] = res["hgb"]
    return eps, manage_eps, anc, hgb


def _summarise(ep: pd.DataFrame) -> pd.DataFrame:
    if ep.empty:
        return pd.DataFrame(columns=AE_COLUMNS)
    keys = ["patient", "term"]
    worst = ep.sort_values([*keys, "grade", "onset_day"], ascending=[True, True, False, True], kind="stable")
    worst = worst.drop_duplicates(keys).set_index(keys)
    grouped = ep.assign(drug_related=ep["cause"] != "background").groupby(keys, sort=True)
    out = pd.DataFrame(
        {
            "onset_day": grouped["onset_day"].min(),
            "worst_grade": worst["grade"],
            "worst_grade_cause": worst["cause"],
            "drug_related": grouped["drug_related"].any(),
            "resolution_day": worst["resolution_day"],
        }
    ).reset_index()
    return out[AE_COLUMNS]
