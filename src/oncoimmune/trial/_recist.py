r"""Tumour response at scan times: RECIST 1.1 and iRECIST on simulated sums of diameters.

From tumour to diameters
------------------------
The mechanistic models give cancer cells; io_qsp's ``sld_mm`` output (and
:func:`oncoimmune.models.io_qsp.sum_of_diameters`) turns them into a RECIST sum of diameters by
population.md §3.1–3.3: cells → volume at 10⁹ cells/cm³ (``cells_per_cm3``, Del Monte 2009) → ``K =
n_lesions`` equal spheres, :math:`SLD = K^{2/3} (6V/\pi)^{1/3}`. The relative change of the sum is
then :math:`(V/V_0)^{1/3} - 1` for any K, so PR (−30 %) is a 65.7 % volume fall and PD (+20 %) a
72.8 % volume rise (population.md §3.2); K matters only for the absolute rules (5 mm, lesion size).
This module works on those sums, one lesion diameter being ``SLD/K``.

What is measured
----------------
Scans happen only at the days of a :class:`ScanSchedule` (baseline at day 0). At each scan each of
the K lesions is measured: its true diameter plus optional measurement error
(:class:`MeasurementNoise`; population.md §3.3 step 3: ≈ 5–10 % CV or ≈ 1–2 mm per lesion, U). A
lesion measured below ``cr_lesion_mm`` has disappeared and is recorded as 0 mm; the recorded sum is
the sum of the recorded lesions. Default 5 mm: a lesion smaller than the ≤ 5 mm CT slice thickness
RECIST 1.1 assumes is not seen ("'disappeared' may be modelled as < 5 mm", population.md §3.3 step 4,
U; 10 mm, the measurability threshold and the nodal CR rule of clinical.md §5.1, is the other
documented choice). A patient is assessable only if at least one baseline lesion is measurable
(≥ ``measurable_lesion_mm`` = 10 mm, clinical.md §5.1); otherwise the best response is NE.

Time-point response, RECIST 1.1 (Eisenhauer 2009; clinical.md §5.1)
---------------------------------------------------------------------
With baseline sum B, current sum S and nadir N (smallest recorded sum on study before this scan,
baseline included):

* **PD** if S − N ≥ 0.20·N **and** S − N ≥ 5 mm (PD takes precedence);
* **CR** if every lesion has disappeared (S = 0);
* **PR** if S ≤ 0.70·B (≥ 30 % decrease from baseline);
* **SD** otherwise.

A scan that shows a **new lesion** is PD whatever the sum does (``new_lesion_days``, drawn by
:func:`oncoimmune.trial.draw_new_lesion_days` when the trial has a new-lesion model; none otherwise).
New lesions are read at scans whose target lesions were measured: at a scan with a missing
measurement (NE) they are read at the next measured one (RECIST 1.1 would call PD there; in a virtual
trial a measurement is missing only after a failed simulation, after which no lesion is drawn).
Non-target lesions are not modelled (one tumour compartment besides the new lesions).

Comparisons carry a relative tolerance of 10⁻⁹ so that a sum at exactly −30 % or exactly +20 % / +5 mm
meets the rule despite floating-point rounding. A missing measurement (NaN) is **NE** and leaves the nadir unchanged;
scans after a patient leaves the study (``off_study_day``: death, end of follow-up) are **ND** (not
done), as are scans after the progression event.

Best overall response
---------------------
The best time-point response from baseline until progression, CR > PR > SD > PD > NE, where SD counts
only if recorded at least ``min_sd_weeks`` after baseline (RECIST 1.1 leaves the minimum to the
protocol, "generally 6–8 weeks", R; population.md §3.3 cites 8 weeks in QSPIO-TNBC, V code): an early
SD followed by PD gives PD, followed by nothing evaluable gives NE. With ``confirm=True`` a CR (PR)
counts only if the first evaluable scan at least ``confirm_weeks`` later is again CR (PR or CR) with
no worse evaluable scan in between; an unconfirmed response falls back to SD when the SD duration is
met (Eisenhauer 2009 Table 3). clinical.md §5.1: confirmation (≥ 4 weeks) is required only in
non-randomised trials with response as primary endpoint, so it is off by default.

iRECIST (Seymour 2017; clinical.md §5.2)
-----------------------------------------
The first RECIST PD is **iUPD** (unconfirmed). At the next evaluable scan: **iCPD** (confirmed) if the
sum has grown by a further ≥ 5 mm since the iUPD scan that opened the episode; a **reset** if the
RECIST response against baseline/nadir is again CR/PR/SD (labelled iCR/iPR/iSD; a later PD again
starts as iUPD); otherwise iUPD continues and the next scan decides. A new lesion opens an iUPD too;
it is confirmed by another new lesion, by the growth of the new lesions' sum by ≥ 5 mm, or by the
target sum newly meeting PD, and the episode resets only once the new lesions have gone (below
``cr_lesion_mm``) with the target sum out of PD; a new lesion confirms an iUPD the target sum opened
(Seymour 2017, clinical.md §5.2: progression newly met in another lesion category confirms). New
lesions are first seen ``new_lesion_mm`` across, then grow and shrink with the true target sum (in
diameter in proportion to it; when the true target sum is 0 at the iUPD they keep their size). New
lesions that disappeared before a reset do not open a later episode. Progression (for iPFS) is dated
at the iUPD that was confirmed; an iUPD still unconfirmed when assessments stop is counted as
progression at its own date, with ``progression_confirmed`` False. The confirmation scan is the next
scheduled scan (iRECIST asks for 4–8 weeks; a schedule with 12-weekly scans confirms later). A reset
is **pseudoprogression**: flagged per patient, and the RECIST 1.1 best response of such a patient is
PD while its iRECIST best response is iSD, iPR or iCR. Best overall response: iCR > iPR > iSD > iUPD >
iCPD > NE over the scans up to iCPD.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.trial._survival import _patient_index, _seed, patient_generators

__all__ = [
    "CRITERIA",
    "MeasurementNoise",
    "ResponseAssessment",
    "ResponseCriteria",
    "ScanSchedule",
    "assess_response",
]

CRITERIA = ("recist1.1", "irecist")
"""Response criteria understood by :func:`assess_response`."""

MAX_LESIONS = 10  # modified RECIST of several Merck trials follows up to 10 targets (clinical.md §5.1)
_TOL = 1e-9

# internal time-point codes
_CR, _PR, _SD, _PD, _NE, _ND, _BL, _IUPD, _ICPD = range(9)
_RECIST_LABELS = np.array(["CR", "PR", "SD", "PD", "NE", "ND", "BL", "iUPD", "iCPD"])
_IRECIST_LABELS = np.array(["iCR", "iPR", "iSD", "PD", "NE", "ND", "BL", "iUPD", "iCPD"])


def _number(name: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(name, "be a number", value, where)
    v = float(value)
    if not math.isfinite(v):
        raise ValidationError(name, "be a finite number", value, where)
    return v


def _reject_unknown(mapping: Any, known: Sequence[str], where: str) -> None:
    if not isinstance(mapping, Mapping):
        raise ValidationError("options", "be a mapping of option names to values", mapping, where)
    for key in mapping:
        if key not in known:
            raise UnknownNameError("option", key, list(known), where)


# ----------------------------------------------------------------------------------------------
# scan schedule
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScanSchedule:
    """Days of the tumour assessments: baseline at day 0, then the on-study scans.

    Parameters
    ----------
    days:
        Scan days from randomisation, strictly increasing, the first equal to 0 (baseline), at least
        one on-study scan.

    Examples
    --------
    Every 6 weeks for a year, then every 12 weeks up to 5 years:

    >>> s = ScanSchedule.every(weeks=6, until_weeks=52, then_weeks=12, end_weeks=260)
    >>> s.days[:3], s.days[8:10]
    ((0.0, 42.0, 84.0), (336.0, 420.0))
    """

    days: tuple[float, ...]

    def __post_init__(self) -> None:
        where = "ScanSchedule"
        raw = self.days
        if isinstance(raw, (str, bytes)) or not isinstance(raw, (Sequence, np.ndarray)):
            raise ValidationError("days", "be a sequence of scan days", raw, where)
        days = tuple(_number("days", d, where) for d in raw)
        if len(days) < 2:
            raise ValidationError("days", "hold the baseline (day 0) and at least one on-study scan", list(days), where)
        if days[0] != 0.0:
            raise ValidationError("days", "start with the baseline scan at day 0", list(days), where)
        if any(b <= a for a, b in itertools.pairwise(days)):
            raise ValidationError("days", "be strictly increasing", list(days), where)
        object.__setattr__(self, "days", days)

    @classmethod
    def every(
        cls,
        weeks: float,
        *,
        until_weeks: float | None = None,
        then_weeks: float | None = None,
        end_weeks: float | None = None,
        first_weeks: float | None = None,
    ) -> ScanSchedule:
        """Regular scans: baseline, then every ``weeks`` up to ``until_weeks``, then every ``then_weeks``.

        Parameters
        ----------
        weeks:
            Interval of the first phase (e.g. 6, or 8, or 9; population.md §3.3 step 3).
        until_weeks:
            Last possible scan of the first phase (e.g. 52 for "for a year"); required with ``then_weeks``.
        then_weeks:
            Interval after the first phase (e.g. 12), counted from the last scan of the first phase.
        end_weeks:
            Last possible scan of the whole schedule (the follow-up); defaults to ``until_weeks``.
        first_weeks:
            Day of the first on-study scan in weeks if it differs from ``weeks`` (e.g. 12 when the
            first assessment is at week 12 and then every 6 weeks).
        """
        where = "ScanSchedule.every"

        def pos(name: str, v: Any) -> float:
            x = _number(name, v, where)
            if x <= 0:
                raise ValidationError(name, "be > 0", v, where)
            return x

        w = pos("weeks", weeks)
        first = w if first_weeks is None else pos("first_weeks", first_weeks)
        until = None if until_weeks is None else pos("until_weeks", until_weeks)
        then = None if then_weeks is None else pos("then_weeks", then_weeks)
        end = None if end_weeks is None else pos("end_weeks", end_weeks)
        if then is not None and until is None:
            raise ValidationError("until_weeks", "be given with then_weeks (end of the first phase)", None, where)
        if then is not None and end is None:
            raise ValidationError("end_weeks", "be given with then_weeks (end of the schedule)", None, where)
        end = end if end is not None else until
        if end is None:
            raise ValidationError("until_weeks", "be given (or end_weeks): a schedule needs an end", None, where)
        until = until if until is not None else end
        if until > end:
            raise ValidationError("until_weeks", f"be <= end_weeks ({end:g})", until, where)
        if first > until:
            raise ValidationError(
                "first_weeks", f"be <= until_weeks ({until:g}) so that one scan happens", first, where
            )
        scans = [0.0]
        k = 0
        while first + k * w <= until + 1e-9:
            scans.append(first + k * w)
            k += 1
        if then is not None:
            t = scans[-1] + then
            while t <= end + 1e-9:
                scans.append(t)
                t += then
        return cls(tuple(7.0 * s for s in scans))

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str = "scan schedule") -> ScanSchedule:
        """From ``{"days": [...]}`` or ``{"every_weeks", "until_weeks", "then_weeks", "end_weeks", "first_weeks"}``."""
        keys = ["days", "every_weeks", "until_weeks", "then_weeks", "end_weeks", "first_weeks"]
        _reject_unknown(options, keys, where)
        if "days" in options:
            if len(options) > 1:
                raise ValidationError("days", "not be combined with every_weeks/until_weeks/...", dict(options), where)
            return cls(tuple(options["days"]))
        if "every_weeks" not in options:
            raise ValidationError("every_weeks", "be given (or days)", None, where)
        kw = {k: v for k, v in options.items() if k != "every_weeks"}
        return cls.every(options["every_weeks"], **kw)

    @property
    def array(self) -> np.ndarray:
        """The scan days as a float array."""
        return np.asarray(self.days, dtype=float)

    def __len__(self) -> int:
        return len(self.days)


# ----------------------------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeasurementNoise:
    r"""Measurement error on each lesion's longest diameter (population.md §3.3 step 3, flag U).

    Measured :math:`d_m = \max(0,\ d + \varepsilon)`,
    :math:`\varepsilon \sim N(0,\ \sigma_{mm}^2 + (cv\cdot d)^2)`, independent per lesion and scan.

    Parameters
    ----------
    sd_mm:
        Additive standard deviation per lesion, mm (≈ 1–2 mm).
    cv:
        Proportional coefficient of variation (≈ 0.05–0.10).
    """

    sd_mm: float = 0.0
    cv: float = 0.0

    def __post_init__(self) -> None:
        for name in ("sd_mm", "cv"):
            v = _number(name, getattr(self, name), "MeasurementNoise")
            if v < 0:
                raise ValidationError(name, "be >= 0", v, "MeasurementNoise")
            object.__setattr__(self, name, v)


@dataclass(frozen=True)
class ResponseCriteria:
    """How responses are read (see the module docstring for the rules and their sources).

    Parameters
    ----------
    criteria:
        ``"recist1.1"`` or ``"irecist"``.
    confirm:
        Require confirmation of CR/PR (non-randomised trials; clinical.md §5.1). Default False.
    confirm_weeks:
        Minimum interval to the confirming scan (4 weeks, clinical.md §5.1).
    min_sd_weeks:
        Minimum time from baseline for SD to count as best response (default 6 weeks).
    cr_lesion_mm:
        A lesion measured below this diameter has disappeared (default 5 mm).
    measurable_lesion_mm:
        Baseline measurability threshold for the largest lesion (10 mm, clinical.md §5.1).
    pr_fraction, pd_fraction, pd_absolute_mm:
        −30 % vs baseline, +20 % vs nadir and +5 mm (RECIST 1.1); also the iCPD further increase (5 mm).
    noise:
        :class:`MeasurementNoise` or None (exact measurements).
    """

    criteria: str = "recist1.1"
    confirm: bool = False
    confirm_weeks: float = 4.0
    min_sd_weeks: float = 6.0
    cr_lesion_mm: float = 5.0
    measurable_lesion_mm: float = 10.0
    pr_fraction: float = 0.30
    pd_fraction: float = 0.20
    pd_absolute_mm: float = 5.0
    noise: MeasurementNoise | None = None

    def __post_init__(self) -> None:
        where = "ResponseCriteria"
        if self.criteria not in CRITERIA:
            raise UnknownNameError("criteria", self.criteria, list(CRITERIA), where)
        if not isinstance(self.confirm, (bool, np.bool_)):
            raise ValidationError("confirm", "be true or false", self.confirm, where)
        for name in ("confirm_weeks", "min_sd_weeks", "cr_lesion_mm", "measurable_lesion_mm", "pd_absolute_mm"):
            v = _number(name, getattr(self, name), where)
            if v < 0:
                raise ValidationError(name, "be >= 0", v, where)
            object.__setattr__(self, name, v)
        for name in ("pr_fraction", "pd_fraction"):
            v = _number(name, getattr(self, name), where)
            if not 0 < v < 1:
                raise ValidationError(name, "lie in (0, 1)", v, where)
            object.__setattr__(self, name, v)
        if self.noise is not None and not isinstance(self.noise, MeasurementNoise):
            raise ValidationError("noise", "be a MeasurementNoise or None", self.noise, where)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str = "response criteria") -> ResponseCriteria:
        """From a mapping (trial YAML); ``noise`` may be ``{"sd_mm": ..., "cv": ...}``; unknown keys are errors."""
        _reject_unknown(options, [f.name for f in fields(cls)], where)
        kw = dict(options)
        if isinstance(kw.get("noise"), Mapping):
            _reject_unknown(kw["noise"], ["sd_mm", "cv"], f"{where} noise")
            kw["noise"] = MeasurementNoise(**kw["noise"])
        return cls(**kw)


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseAssessment:
    """Per-patient, per-scan response (arrays over patients, or patients × scans).

    Attributes
    ----------
    criteria:
        The :class:`ResponseCriteria` used.
    scan_days:
        ``(scans,)`` days of the schedule.
    sld_mm:
        ``(patients, scans)`` recorded sums of diameters (NaN: not measured).
    percent_change:
        ``(patients, scans)`` 100·(recorded/baseline − 1) at every scheduled day, including scans not
        done (the model's truth); mask with ``evaluable`` for what the trial would have seen.
    timepoint:
        ``(patients, scans)`` labels: ``BL`` (baseline), CR/PR/SD/PD (iCR/iPR/iSD/iUPD/iCPD), ``NE``
        (not evaluable), ``ND`` (not done: off study or after progression).
    evaluable:
        ``(patients, scans)`` True where a scan was done and measured (baseline included).
    best_overall_response:
        ``(patients,)`` CR/PR/SD/PD/NE (iRECIST: iCR/iPR/iSD/iUPD/iCPD/NE).
    best_percent_change:
        ``(patients,)`` largest decrease (most negative change) over the on-study scans up to
        progression, for waterfall plots; NaN if none.
    response_day:
        Day of the first CR/PR counted in the best response (NaN if none).
    progression, progression_day, progression_confirmed:
        Progression event, its day (NaN if none) and, for iRECIST, whether the iUPD was confirmed.
    progression_by:
        What declared the progression event: ``"target"``, ``"new lesion"``, ``"target and new
        lesion"`` (both at the same scan), or ``""`` without progression.
    new_lesion_day:
        Day of the first scan that showed a new lesion (NaN if none did while the patient was assessed).
    pseudoprogression:
        iRECIST: at least one iUPD followed by a reset (always False for RECIST 1.1).
    last_evaluable_day:
        Last evaluable scan day (baseline 0 if none after it; NaN if baseline not evaluable).
    measurable_baseline:
        False when no baseline lesion reached ``measurable_lesion_mm`` (or baseline is missing).
    """

    criteria: ResponseCriteria
    scan_days: np.ndarray
    sld_mm: np.ndarray
    percent_change: np.ndarray
    timepoint: np.ndarray
    evaluable: np.ndarray
    best_overall_response: np.ndarray
    best_percent_change: np.ndarray
    response_day: np.ndarray
    progression: np.ndarray
    progression_day: np.ndarray
    progression_confirmed: np.ndarray
    progression_by: np.ndarray
    new_lesion_day: np.ndarray
    pseudoprogression: np.ndarray
    last_evaluable_day: np.ndarray
    measurable_baseline: np.ndarray
    _codes: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def objective_response(self) -> np.ndarray:
        """Best response CR or PR (iCR or iPR)."""
        return np.isin(self.best_overall_response, ("CR", "PR", "iCR", "iPR"))

    @property
    def disease_control(self) -> np.ndarray:
        """Best response CR, PR or SD (iCR, iPR or iSD)."""
        return np.isin(self.best_overall_response, ("CR", "PR", "SD", "iCR", "iPR", "iSD"))

    def rates(self, patients: np.ndarray | None = None) -> dict[str, float]:
        """ORR, CR rate and DCR as fractions of all patients (NE counts in the denominator, as in trials);
        ``patients``: a boolean mask of the patients counted (an analysis set), default all."""
        sel = np.ones(self.best_overall_response.size, dtype=bool) if patients is None else np.asarray(patients)
        if not sel.any():
            return {"orr": math.nan, "cr": math.nan, "dcr": math.nan}
        cr = np.isin(self.best_overall_response[sel], ("CR", "iCR")).mean()
        return {
            "orr": float(self.objective_response[sel].mean()),
            "cr": float(cr),
            "dcr": float(self.disease_control[sel].mean()),
        }


# ----------------------------------------------------------------------------------------------
# assessment
# ----------------------------------------------------------------------------------------------
def _measure(
    sld: np.ndarray, k_lesions: np.ndarray, crit: ResponseCriteria, seed: int | None, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Recorded sums and the largest recorded lesion, per patient and scan."""
    n, s = sld.shape
    d_true = sld / k_lesions[:, None]  # each of the K equal lesions
    noise = crit.noise
    if noise is not None and (noise.sd_mm > 0 or noise.cv > 0):
        # draws for all MAX_LESIONS lesions, so a patient's draws do not depend on K or on the chunk
        z = np.stack([g.standard_normal((s, MAX_LESIONS)) for g in patient_generators(seed, idx, "recist_noise")])
        z = z.reshape(n, s, MAX_LESIONS)
        sd = np.sqrt(noise.sd_mm**2 + (noise.cv * d_true) ** 2)
        lesions = np.maximum(d_true[:, :, None] + sd[:, :, None] * z, 0.0)
        used = np.arange(MAX_LESIONS)[None, None, :] < k_lesions[:, None, None]
    else:
        lesions = d_true[:, :, None]
        used = np.ones((n, s, 1), dtype=bool)
    recorded = np.where(lesions < crit.cr_lesion_mm, 0.0, lesions)
    recorded = np.where(used, recorded, 0.0)
    if noise is None or (noise.sd_mm == 0 and noise.cv == 0):
        total = recorded[:, :, 0] * k_lesions[:, None]
        largest = lesions[:, :, 0]
    else:
        total = recorded.sum(axis=2)
        largest = np.where(used, lesions, 0.0).max(axis=2)
    nan = ~np.isfinite(sld)
    total = np.where(nan, np.nan, total)
    largest = np.where(nan, np.nan, largest)
    return total, largest


def assess_response(
    sld_mm: Any,
    schedule: ScanSchedule | Sequence[float],
    *,
    n_lesions: int | Sequence[int] | np.ndarray = 1,
    criteria: ResponseCriteria | str | None = None,
    seed: int | None = None,
    patient_index: Any = None,
    off_study_day: Any = None,
    new_lesion_days: Any = None,
    new_lesion_mm: float = 10.0,
) -> ResponseAssessment:
    """Read per-scan and best overall responses from sums of diameters at the scan days.

    Parameters
    ----------
    sld_mm:
        ``(patients, scans)`` true sum of target-lesion diameters (mm) at ``schedule.days``, e.g. io_qsp's
        ``sld_mm`` output sampled at the scan days. NaN marks a failed or missing measurement; an
        all-NaN row (a failed virtual patient) gives NE, never an exception.
    schedule:
        :class:`ScanSchedule` (or its days).
    n_lesions:
        Number of equal target lesions K (1–10), scalar or one per patient.
    criteria:
        :class:`ResponseCriteria`, or just its name (``"recist1.1"``, ``"irecist"``).
    seed, patient_index:
        Needed with measurement noise: trial seed and global patient indices (stream ``"recist_noise"``),
        so that the noise of a patient is the same whatever the chunking (and the same for a RECIST and
        an iRECIST reading of the same trial).
    off_study_day:
        Per patient (or scalar) day after which no scan is done (death, end of follow-up); None = never.
    new_lesion_days:
        ``(patients, lesions)`` days on which new lesions become visible (``inf``: never), e.g. from
        :func:`oncoimmune.trial.draw_new_lesion_days`; a scan shows those visible on or before its day.
        None: no new lesions.
    new_lesion_mm:
        Diameter of a new lesion when first seen (iRECIST's size rules), mm.

    Returns
    -------
    ResponseAssessment
    """
    where = "assess_response"
    if criteria is None:
        crit = ResponseCriteria()
    elif isinstance(criteria, str):
        crit = ResponseCriteria(criteria=criteria)
    elif isinstance(criteria, ResponseCriteria):
        crit = criteria
    else:
        raise ValidationError("criteria", "be a ResponseCriteria or a criteria name", criteria, where)
    sched = schedule if isinstance(schedule, ScanSchedule) else ScanSchedule(tuple(schedule))
    days = sched.array
    sld = np.asarray(sld_mm, dtype=float)
    if sld.ndim != 2 or sld.shape[1] != days.size:
        raise ValidationError("sld_mm", f"have shape (patients, {days.size}), one column per scan", sld.shape, where)
    if np.any(sld[np.isfinite(sld)] < 0) or np.any(np.isinf(sld)):
        raise ValidationError("sld_mm", "be >= 0 (NaN for a missing measurement)", "negative or infinite values", where)
    n, s = sld.shape
    k = np.asarray(n_lesions)
    if k.ndim == 0:
        k = np.full(n, k.item())
    if k.shape != (n,) or k.dtype.kind not in "iu" or (n and (k.min() < 1 or k.max() > MAX_LESIONS)):
        raise ValidationError(
            "n_lesions", f"be an integer in [1, {MAX_LESIONS}], scalar or one per patient", n_lesions, where
        )
    k = k.astype(float)
    idx = _patient_index(patient_index, n, where)
    noisy = crit.noise is not None and (crit.noise.sd_mm > 0 or crit.noise.cv > 0)
    if noisy:
        if seed is None:
            raise ValidationError("seed", "be given when measurement noise is on", seed, where)
        seed = _seed(seed, where)
    if off_study_day is None:
        off = np.full(n, np.inf)
    else:
        off = np.asarray(off_study_day, dtype=float)
        off = np.full(n, off.item()) if off.ndim == 0 else off
        if off.shape != (n,) or np.any(np.isnan(off)) or np.any(off < 0):
            raise ValidationError(
                "off_study_day", f"be >= 0 (inf for never), scalar or shape ({n},)", off_study_day, where
            )

    if new_lesion_days is None:
        nl_days = np.full((n, 1), np.inf)
    else:
        try:
            nl_days = np.asarray(new_lesion_days, dtype=float)
        except (TypeError, ValueError):
            raise ValidationError("new_lesion_days", "be a numeric array", new_lesion_days, where) from None
        if nl_days.ndim != 2 or nl_days.shape[0] != n or np.any(np.isnan(nl_days)) or np.any(nl_days < 0):
            raise ValidationError(
                "new_lesion_days", f"be >= 0 (inf for never), shape ({n}, lesions)", new_lesion_days, where
            )
    nl_mm = _number("new_lesion_mm", new_lesion_mm, where)
    if new_lesion_days is not None and nl_mm < crit.cr_lesion_mm:
        raise ValidationError(
            "new_lesion_mm",
            f"be >= cr_lesion_mm ({crit.cr_lesion_mm:g} mm: a smaller lesion is not seen)",
            nl_mm,
            where,
        )

    rec, largest = _measure(sld, k, crit, seed, idx)
    done = days[None, :] <= off[:, None]
    base = rec[:, 0]
    measurable = np.isfinite(base) & (largest[:, 0] >= crit.measurable_lesion_mm - _TOL) & done[:, 0]
    irecist = crit.criteria == "irecist"

    codes = np.full((n, s), _ND, dtype=np.int8)
    codes[:, 0] = np.where(measurable, _BL, _NE)
    evaluable = np.zeros((n, s), dtype=bool)
    evaluable[:, 0] = measurable
    nadir = np.where(measurable, base, np.nan)
    stopped = ~measurable  # off the assessment sequence (not assessable, progressed, off study)
    progression_day = np.full(n, np.nan)
    confirmed = np.zeros(n, dtype=bool)
    pending = np.zeros(n, dtype=bool)  # iRECIST: an open iUPD episode
    ref_sum = np.full(n, np.nan)
    episode_day = np.full(n, np.nan)
    pseudo = np.zeros(n, dtype=bool)
    by_target = np.zeros(n, dtype=bool)  # what declared the progression event
    by_new = np.zeros(n, dtype=bool)
    open_target = np.zeros(n, dtype=bool)  # iRECIST: what opened the current iUPD episode
    open_new = np.zeros(n, dtype=bool)
    nl_ack = np.zeros(n, dtype=np.int64)  # iRECIST: new lesions gone before a reset
    nl_ref = np.zeros(n, dtype=np.int64)  # iRECIST: new lesions seen when the episode opened
    true_ref = np.full(n, np.nan)  # iRECIST: true target sum then (the new lesions scale with it)
    first_new = np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(1, s):
            cur = rec[:, j]
            active = ~stopped & done[:, j]
            ev = active & np.isfinite(cur)
            codes[:, j] = np.where(active & ~ev, _NE, _ND)
            inc = cur - nadir
            tol_abs = _TOL * np.maximum(nadir, 1.0)
            is_pd = (inc >= crit.pd_absolute_mm - tol_abs) & (inc >= crit.pd_fraction * nadir - tol_abs)
            is_cr = cur == 0.0
            is_pr = cur <= (1.0 - crit.pr_fraction) * base + _TOL * base
            base_code = np.where(is_pd, _PD, np.where(is_cr, _CR, np.where(is_pr, _PR, _SD)))
            seen = (nl_days <= days[j]).sum(axis=1)
            first_new = np.where(ev & (seen > 0) & np.isnan(first_new), days[j], first_new)
            if not irecist:
                new_pd = seen > 0
                code = np.where(new_pd, _PD, base_code)
                new_prog = ev & (is_pd | new_pd)
                progression_day = np.where(new_prog, days[j], progression_day)
                by_target |= new_prog & is_pd
                by_new |= new_prog & new_pd
                confirmed |= new_prog
                stop_now = new_prog
            else:
                # the episode's new lesions: nl_ref - nl_ack of them, new_lesion_mm across when it opened,
                # each diameter since then in proportion to the true target sum
                ratio = np.where(true_ref > 0, sld[:, j] / true_ref, 1.0)
                episode_new = nl_ref - nl_ack
                grown = episode_new * nl_mm * (ratio - 1.0) >= crit.pd_absolute_mm - _TOL
                gone = (episode_new == 0) | ((seen == nl_ref) & (nl_mm * ratio < crit.cr_lesion_mm))
                target_further = (cur - ref_sum) >= crit.pd_absolute_mm - _TOL * np.maximum(ref_sum, 1.0)
                # confirmation: further target growth, more new lesions, new-lesion growth, or (an episode the
                # new lesions opened) the target sum newly meeting PD
                further = target_further | (seen > nl_ref) | grown | (open_new & ~open_target & is_pd)
                conf_now = ev & pending & further
                reset = ev & pending & ~further & ~is_pd & gone
                opens_new = seen > nl_ack
                open_now = ev & ~pending & (is_pd | opens_new)
                stay = is_pd | ~gone
                code = np.where(pending, np.where(further, _ICPD, np.where(stay, _IUPD, base_code)), base_code)
                code = np.where(open_now, _IUPD, code)
                progression_day = np.where(conf_now, episode_day, progression_day)
                by_target |= conf_now & open_target
                by_new |= conf_now & open_new
                confirmed |= conf_now
                pseudo |= reset
                nl_ack = np.where(reset, seen, nl_ack)
                ref_sum = np.where(open_now, cur, ref_sum)
                episode_day = np.where(open_now, days[j], episode_day)
                nl_ref = np.where(open_now, seen, nl_ref)
                true_ref = np.where(open_now, sld[:, j], true_ref)
                open_target = np.where(open_now, is_pd, open_target)
                open_new = np.where(open_now, opens_new, open_new)
                pending = (pending & ~conf_now & ~reset) | open_now
                stop_now = conf_now
            codes[:, j] = np.where(ev, code, codes[:, j])
            evaluable[:, j] = ev
            nadir = np.where(ev, np.fmin(nadir, cur), nadir)
            stopped |= stop_now
    # a failed patient (no baseline measurement): every scan that was due is NE, not ND
    failed = ~np.isfinite(rec) & done & ~measurable[:, None]
    failed[:, 0] = False
    codes = np.where(failed, _NE, codes).astype(np.int8)
    # an iUPD still open when assessments stop counts as (unconfirmed) progression at its own date
    unconf = pending & np.isnan(progression_day)
    progression_day = np.where(unconf, episode_day, progression_day)
    by_target |= unconf & open_target
    by_new |= unconf & open_new
    progression = np.isfinite(progression_day)
    progression_by = np.where(
        by_target & by_new, "target and new lesion", np.where(by_target, "target", np.where(by_new, "new lesion", ""))
    ).astype(object)
    progression_by = np.where(progression, progression_by, "")

    bor, response_day = _best_overall_response(codes, evaluable, days, crit, irecist)
    bor = np.where(measurable, bor, _NE)
    response_day = np.where(measurable, response_day, np.nan)

    with np.errstate(invalid="ignore", divide="ignore"):
        pct = 100.0 * (rec / base[:, None] - 1.0)
    pct = np.where(measurable[:, None], pct, np.nan)
    on = evaluable.copy()
    on[:, 0] = False
    best_pct = np.where(on.any(axis=1), np.min(np.where(on, pct, np.inf), axis=1), np.nan)
    last_ev = np.where(measurable, np.max(np.where(evaluable, days[None, :], -np.inf), axis=1), np.nan)

    labels = _IRECIST_LABELS if irecist else _RECIST_LABELS
    return ResponseAssessment(
        criteria=crit,
        scan_days=days,
        sld_mm=rec,
        percent_change=pct,
        timepoint=labels[codes],
        evaluable=evaluable,
        best_overall_response=labels[bor],
        best_percent_change=best_pct,
        response_day=response_day,
        progression=progression,
        progression_day=progression_day,
        progression_confirmed=confirmed & progression,
        progression_by=progression_by,
        new_lesion_day=np.where(measurable, first_new, np.nan),
        pseudoprogression=pseudo,
        last_evaluable_day=last_ev,
        measurable_baseline=measurable,
        _codes=codes,
    )


def _best_overall_response(
    codes: np.ndarray, evaluable: np.ndarray, days: np.ndarray, crit: ResponseCriteria, irecist: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Best overall response codes and the day of the first counted CR/PR.

    ``codes`` holds the time-point responses up to and including the progression event (later scans
    are ND), so the window of the best response is every evaluable on-study scan.
    """
    n = codes.shape[0]
    on = evaluable.copy()
    on[:, 0] = False
    min_sd = 7.0 * crit.min_sd_weeks - _TOL
    non_prog = on & np.isin(codes, (_CR, _PR, _SD))
    sd_ok = (non_prog & (days[None, :] >= min_sd)).any(axis=1)
    if crit.confirm:
        cr_ok = _confirmed(codes, on, days, crit, (_CR,), (_CR,))
        pr_ok = _confirmed(codes, on, days, crit, (_PR, _CR), (_PR, _CR))
    else:
        cr_ok = on & (codes == _CR)
        pr_ok = on & ((codes == _PR) | (codes == _CR))
    has_cr = cr_ok.any(axis=1)
    has_pr = pr_ok.any(axis=1)
    first_resp = np.where(has_pr, np.argmax(pr_ok, axis=1), 0)
    response_day = np.where(has_pr, days[first_resp], np.nan)
    any_pd = (on & (codes == _PD)).any(axis=1)
    any_icpd = (on & (codes == _ICPD)).any(axis=1)
    open_iupd = (on & (codes == _IUPD)).any(axis=1) & ~any_icpd
    bor = np.full(n, _NE, dtype=np.int8)
    if irecist:
        bor = np.where(any_icpd, _ICPD, bor)
        bor = np.where(open_iupd, _IUPD, bor)
    else:
        bor = np.where(any_pd, _PD, bor)
    bor = np.where(sd_ok, _SD, bor)
    bor = np.where(has_pr, _PR, bor)
    bor = np.where(has_cr, _CR, bor)
    return bor.astype(np.int8), response_day


def _confirmed(
    codes: np.ndarray,
    on: np.ndarray,
    days: np.ndarray,
    crit: ResponseCriteria,
    what: tuple[int, ...],
    ok: tuple[int, ...],
) -> np.ndarray:
    """Mask of scans whose response in ``what`` is confirmed: the first evaluable scan at least
    ``confirm_weeks`` later is in ``ok`` and every evaluable scan in between is in ``ok`` too."""
    n, s = codes.shape
    gap = 7.0 * crit.confirm_weeks - _TOL
    in_ok = np.isin(codes, ok)
    out = np.zeros((n, s), dtype=bool)
    for j in range(1, s):
        cand = on[:, j] & np.isin(codes[:, j], what)
        if not cand.any():
            continue
        good = np.ones(n, dtype=bool)
        found = np.zeros(n, dtype=bool)
        for m in range(j + 1, s):
            look = cand & ~found & on[:, m]
            if not look.any():
                continue
            if days[m] - days[j] >= gap:
                found |= look
                good &= ~look | in_ok[:, m]
            else:
                good &= ~look | in_ok[:, m]
        out[:, j] = cand & found & good
    return out
