r"""New lesions: progression that the target lesions do not show.

RECIST 1.1 declares progression when a new lesion appears, whatever the target lesions do
(clinical.md §5.1), and in trials new disease is a frequent way progression is declared: of 341
progressions among 545 patients of randomised trials at one institution, the target lesions showed
progression in 180 (53 %) and a partial response or stable disease in 142 (42 %), and new measurable
disease was the most common determinant of the non-target progressions (210 of 287; Cancer Imaging
2015;15(Suppl 1):S8, abstract, V; several tumour types, not an immunotherapy series). The mechanistic
models have one tumour compartment, the target lesions; this module adds the others as a point
process driven by that compartment.

The model
---------
Occult metastases grow to a visible size at a rate that follows the viable tumour burden
:math:`N(t)` (the model's ``tumour_cells``, which the treatment moves):

.. math:: h(t) = \lambda \left(\frac{N(t)}{N_{ref}}\right)^{\gamma} \quad \text{per day.}

With :math:`\gamma = 1` (the default) the occult disease is taken to move in proportion to the visible
disease (the same growth and the same response to treatment), so the rate at which one of its lesions
crosses the visible size is in proportion to the burden (flag U, the simplest reading, as the death
model's hazard). The colonisation rate of Iwata, Kawasaki and Shigesada (J Theor Biol
2000;203:177, :math:`\beta(x) = m x^{\alpha}`, :math:`\alpha \approx 0.66` fitted there, flag R), which
counts the *seeding* of new metastases from the surface of a tumour, is the other choice
(``exponent: 0.663``); the lesions a trial sees within months were seeded long before (from one cell
to 10 mm is about 29 doublings), so their appearance follows the occult burden rather than new seeding.

New lesions are the events of a Poisson process with this intensity: the *k*-th becomes visible when
the cumulative hazard :math:`\int_0^t h` first exceeds the sum of *k* unit exponentials drawn from the
patient's own stream (``"new_lesions"``), so a patient's lesions depend on its own trajectory and on
the trial seed only (never on the chunking or the number of workers). The cumulative rate is the
trapezoid rule on the output grid, so a lesion depends on the trajectory up to the grid point that
closes its interval: a treatment stopped at the scan that shows it (scan days are grid points) does not
move it, which the trial runner's later passes (dosing stops at progression) rely on; a change between
the lesion and that grid point (a dose held for a side effect, on any day) can move it within the
interval (7 days by default). A scan sees every lesion that became visible on or before its day. A
tumour the treatment eradicates seeds no new lesion; a growing one seeds more.

What the response reading does with them is in :func:`oncoimmune.trial.assess_response`: under
RECIST 1.1 the first scan showing a new lesion is progression; under iRECIST it opens an iUPD that
another new lesion or the growth of the new ones (5 mm in their sum) confirms. A new lesion is
``lesion_mm`` across when first seen and then grows and shrinks with the target lesions (its diameter
in proportion to their true sum), which is all the size iRECIST needs.

The rate :math:`\lambda` is a calibration parameter (flag U), fitted with the other parameters of a
calibration to a trial's progression-free survival; the share of progressions declared on new
lesions alone (``summary.json``'s ``progression_new_lesions_only``) is reported beside the 42-47 %
above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy.special import ndtri

from oncoimmune.errors import ValidationError
from oncoimmune.trial._survival import (
    _patient_index,
    _positive,
    _reject_unknown,
    _seed,
    patient_generators,
)

__all__ = ["MAX_NEW_LESIONS", "NewLesionModel", "ResidualMassModel", "draw_new_lesion_days"]

MAX_NEW_LESIONS = 10
"""New lesions drawn per patient. The first declares RECIST 1.1 progression; under iRECIST a later one
confirms an iUPD, and after resets (or several lesions between two scans) more are needed: ten is the
largest number RECIST would follow (five new target lesions, the rest non-target), and the first *k*
days do not depend on this number (the thresholds are running sums of the patient's own draws)."""


@dataclass(frozen=True)
class NewLesionModel:
    r"""Rate at which new lesions become visible, driven by the viable tumour burden (module docstring).

    Parameters
    ----------
    rate_per_day:
        :math:`\lambda`, 1/day: the rate at the reference burden. No default: it is a calibration
        parameter (flag U); 0 turns new lesions off.
    reference_cells:
        :math:`N_{ref}`, cells. Default 6.5·10¹⁰, the death model's reference (a 50 mm spherical lesion
        at 10⁹ cells/cm³, population.md §3.2).
    exponent:
        :math:`\gamma`, dimensionless. Default 1, occult disease in proportion to the viable burden (flag
        U); Iwata 2000's surface-seeding exponent (0.663, flag R) is the other reading (module docstring).
    lesion_mm:
        Longest diameter of a new lesion when first seen, mm, above 5 (the size below which a lesion is
        not seen). Default 10, the smallest measurable lesion of RECIST 1.1 (clinical.md §5.1).
    """

    rate_per_day: float
    reference_cells: float = 6.5e10
    exponent: float = 1.0
    lesion_mm: float = 10.0

    def __post_init__(self) -> None:
        where = "new_lesions"
        object.__setattr__(self, "rate_per_day", _positive("rate_per_day", self.rate_per_day, where, allow_zero=True))
        object.__setattr__(self, "reference_cells", _positive("reference_cells", self.reference_cells, where))
        object.__setattr__(self, "exponent", _positive("exponent", self.exponent, where, allow_zero=True))
        object.__setattr__(self, "lesion_mm", _positive("lesion_mm", self.lesion_mm, where))
        if self.lesion_mm <= 5.0:
            raise ValidationError(
                "lesion_mm", "be > 5 mm (a lesion below 5 mm is not seen, RECIST's CT slice)", self.lesion_mm, where
            )
        if self.rate_per_day > 1.0:
            raise ValidationError("rate_per_day", "be <= 1 per day", self.rate_per_day, where)

    def hazard(self, cells: np.ndarray) -> np.ndarray:
        """Rate per day at viable burden ``cells`` (0 for an eradicated tumour, whatever the exponent)."""
        c = np.maximum(np.asarray(cells, dtype=float), 0.0)
        if self.rate_per_day == 0.0:
            return np.zeros_like(c)
        return np.where(c > 0.0, self.rate_per_day * (c / self.reference_cells) ** self.exponent, 0.0)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str = "new_lesions") -> NewLesionModel | None:
        """From a mapping (a trial spec's or a calibration's ``new_lesions``); an empty mapping is no
        model (``None``); unknown keys and a missing ``rate_per_day`` are errors naming them."""
        _reject_unknown(options, [f.name for f in fields(cls)], where)
        if not options:
            return None
        if "rate_per_day" not in options:
            raise ValidationError("rate_per_day", "be given (1/day; 0 for no new lesions)", None, where)
        return cls(**options)


def draw_new_lesion_days(
    t_days: Any,
    tumour_cells: Any,
    *,
    seed: int,
    model: NewLesionModel,
    patient_index: Any = None,
    max_lesions: int = MAX_NEW_LESIONS,
) -> np.ndarray:
    """Days on which each patient's new lesions become visible.

    Parameters
    ----------
    t_days:
        Shared time grid, days from randomisation, ``(times,)``, increasing, starting at 0.
    tumour_cells:
        Viable cancer cells per patient and time, ``(patients, times)`` (io_qsp's ``tumour_cells``).
        NaN from a failed time onwards: no lesion is drawn after the last finite time.
    seed, patient_index:
        Trial seed and global patient indices (stream ``"new_lesions"``).
    model:
        :class:`NewLesionModel`.
    max_lesions:
        Lesions drawn per patient (default :data:`MAX_NEW_LESIONS`).

    Returns
    -------
    ``(patients, max_lesions)`` days, increasing along each row, ``inf`` for a lesion that does not
    appear within the grid. The cumulative rate is the trapezoid rule on the grid, linear in time
    between grid points.
    """
    where = "draw_new_lesion_days"
    if not isinstance(model, NewLesionModel):
        raise ValidationError("model", "be a NewLesionModel", model, where)
    try:
        t = np.asarray(t_days, dtype=float)
        cells = np.asarray(tumour_cells, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError("t_days, tumour_cells", "be numeric arrays", "not numbers", where) from None
    if t.ndim != 1 or t.size < 2 or not np.all(np.isfinite(t)) or t[0] != 0.0 or np.any(np.diff(t) <= 0):
        raise ValidationError(
            "t_days", "be an increasing 1-D grid of at least 2 finite days starting at 0", t_days, where
        )
    if cells.ndim != 2 or cells.shape[1] != t.size:
        raise ValidationError("tumour_cells", f"have shape (patients, {t.size}) to match t_days", cells.shape, where)
    if isinstance(max_lesions, bool) or not isinstance(max_lesions, (int, np.integer)) or max_lesions < 1:
        raise ValidationError("max_lesions", "be a positive integer", max_lesions, where)
    n = cells.shape[0]
    seed = _seed(seed, where)
    idx = _patient_index(patient_index, n, where)
    finite = np.isfinite(cells)
    first_bad = np.where(finite.all(axis=1), t.size, np.argmin(finite, axis=1))
    h = model.hazard(np.where(finite, cells, 0.0))
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(0.5 * (h[:, 1:] + h[:, :-1]) * np.diff(t), axis=1)], axis=1)
    # only the observed part counts: after the first non-finite time nothing more accumulates
    observed = np.arange(t.size)[None, :] < first_bad[:, None]
    cum = np.where(observed, cum, -np.inf)
    gens = patient_generators(seed, idx, "new_lesions")
    thresholds = np.cumsum(
        np.array([g.standard_exponential(max_lesions) for g in gens]).reshape(n, max_lesions), axis=1
    )
    days = np.full((n, max_lesions), np.inf)
    for i in range(n):
        row = cum[i]
        top = row[first_bad[i] - 1] if first_bad[i] > 0 else -math.inf
        for k in range(max_lesions):
            e = thresholds[i, k]
            if not top >= e:
                break
            j = int(np.searchsorted(row[: first_bad[i]], e, side="left"))
            if j == 0:
                days[i, k] = 0.0
                continue
            lo, hi = row[j - 1], row[j]
            days[i, k] = t[j - 1] + (t[j] - t[j - 1]) * ((e - lo) / (hi - lo) if hi > lo else 1.0)
    return days


@dataclass(frozen=True)
class ResidualMassModel:
    r"""Residual mass: a share of the volume a lesion loses stays visible as non-viable tissue.

    After a response, imaging often keeps showing a mass with no viable tumour (fibrosis, necrosis):
    in melanoma on anti-PD-1, many patients whose CT reads a partial response have a complete metabolic
    response on FDG-PET (Tan AC et al., Ann Oncol 2018;29:2115, R), and CheckMate 067's complete
    responses kept rising with follow-up long after the tumour had stopped shrinking (combination 11.5 %
    at the 2015 analysis, 22 % at 5 years; Larkin NEJM 2015 and 2019, clinical.md §1.1), as residual masses
    resolved. The mechanistic models clear killed cells at one rate (io_qsp's ``k_clear``) and keep
    nothing, so a tumour the treatment eradicates is read as a complete response once the killed cells
    are cleared. (That the late complete responses are residual masses resolving is an interpretation, U.)

    Applied to the measured sum of diameters on the output grid (:meth:`apply`): with :math:`V \propto
    SLD^3` (equal spheres, population.md §3.2), each decrease of :math:`V` between two grid points leaves
    :math:`s` times the lost volume as residue :math:`S`, which clears at ``clearance_per_day``:

    .. math:: S_i = S_{i-1} e^{-k \Delta t_i} + s \max(0, V_{i-1} - V_i), \qquad
              SLD'_i = (V_i + S_i)^{1/3}.

    The patient's share :math:`s` is log-normal (median ``share``, ``omega``), capped at 1, in a share
    ``fraction`` of the patients and 0 in the others (drawn from the patient's stream
    ``"residual_mass"``). A growing lesion is not changed, so neither is progression of an untreated
    tumour; a shrinking one is read larger than it is, so a patient whose lesions are cleared stays in
    partial response (until the residue clears) instead of complete response, unless a lesion's residue
    is under the 5 mm a scan sees. The residue also raises the nadir, so regrowth after a response reads
    smaller (with share 0.05 a lesion going 50 -> 10 -> 20 mm reads 19.3 -> 24.2 mm: +25 % but +4.9 mm, not
    yet progression), as residual masses hide regrowth on CT; progression after a response comes later
    than without it. Residue accumulates over repeated shrink-and-regrow cycles, and depends on the output
    grid when the trajectory goes up and down between grid points. ``share`` and its spread are calibration
    parameters (flag U); the defaults change nothing.

    Parameters
    ----------
    share:
        Median share of the lost lesion volume that stays as residue, in [0, 1]. 0: none.
    omega:
        Between-patient SD of the log share (>= 0). Default 0.
    fraction:
        Share of patients whose lesions leave a residue, in [0, 1]. Default 1.
    clearance_per_day:
        First-order clearance of the residue, 1/day (>= 0, at most 1). Default 0 (it stays).
    """

    share: float
    omega: float = 0.0
    fraction: float = 1.0
    clearance_per_day: float = 0.0

    def __post_init__(self) -> None:
        where = "residual_mass"
        for name in ("share", "omega", "fraction", "clearance_per_day"):
            object.__setattr__(self, name, _positive(name, getattr(self, name), where, allow_zero=True))
        for name in ("share", "fraction", "clearance_per_day"):
            if getattr(self, name) > 1.0:
                raise ValidationError(name, "be <= 1", getattr(self, name), where)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str = "residual_mass") -> ResidualMassModel | None:
        """From a mapping (a trial spec's or a calibration's ``residual_mass``); an empty mapping is no
        model (``None``); unknown keys and a missing ``share`` are errors naming them."""
        _reject_unknown(options, [f.name for f in fields(cls)], where)
        if not options:
            return None
        if "share" not in options:
            raise ValidationError("share", "be given (0 to 1; 0 for no residual mass)", None, where)
        return cls(**options)

    def shares(self, seed: int, patient_index: Any) -> np.ndarray:
        """Each patient's share :math:`s` (stream ``"residual_mass"``: a uniform for the mixture, then a
        standard normal for the log-normal spread)."""
        idx = _patient_index(patient_index, np.asarray(patient_index).shape[0], "ResidualMassModel.shares")
        draws = np.array([g.random(2) for g in patient_generators(_seed(seed, "residual_mass"), idx, "residual_mass")])
        draws = draws.reshape(idx.size, 2)
        z = ndtri(np.clip(draws[:, 1], 1e-16, 1.0 - 1e-16))
        s = np.minimum(self.share * np.exp(self.omega * z), 1.0)
        return np.where(draws[:, 0] < self.fraction, s, 0.0)

    def apply(self, t_days: Any, sld_mm: Any, *, seed: int, patient_index: Any = None) -> np.ndarray:
        """Measured sums of diameters, ``(patients, times)``: ``sld_mm`` (the model's, viable and killed
        cells) with each patient's residue added (class docstring). NaN stays NaN, and a decrease across a
        NaN (a missing value between two measured ones) adds no residue; the trial runner's failed patients
        are NaN throughout."""
        where = "ResidualMassModel.apply"
        t = np.asarray(t_days, dtype=float)
        sld = np.asarray(sld_mm, dtype=float)
        if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise ValidationError("t_days", "be an increasing 1-D grid of finite days", t_days, where)
        if sld.ndim != 2 or sld.shape[1] != t.size:
            raise ValidationError("sld_mm", f"have shape (patients, {t.size}) to match t_days", sld.shape, where)
        n = sld.shape[0]
        idx = _patient_index(patient_index, n, where)
        s = self.shares(seed, idx)
        V = np.where(np.isfinite(sld), np.maximum(sld, 0.0), np.nan) ** 3
        S = np.zeros(n)
        out = np.empty_like(V)
        out[:, 0] = V[:, 0]
        decay = np.exp(-self.clearance_per_day * np.diff(t))
        for i in range(1, t.size):
            lost = np.maximum(V[:, i - 1] - V[:, i], 0.0)
            S = S * decay[i - 1] + s * np.where(np.isfinite(lost), lost, 0.0)
            out[:, i] = V[:, i] + S
        return np.cbrt(out)
