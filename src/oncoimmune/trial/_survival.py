r"""Survival for virtual trials: a death model, PFS/OS endpoints with censoring, and their summaries.

Death model
-----------
Each virtual patient dies from the first of two competing causes (population.md §4.2–4.3):

* **Cancer.** A hazard that rises with the tumour burden :math:`N(t)` (cancer cells),

  .. math:: h_c(t) = h_{ref}\,\bigl(N(t)/N_{ref}\bigr)^{\beta},

  and, optionally, certain death when the burden reaches a lethal size :math:`N_{lethal}` (≈ 10¹²
  cells, ≈ 1 kg; clinical.md §6). population.md §4.2: no published immunotherapy virtual trial
  validates a specific lethal-burden rule, so :math:`h_{ref}`, :math:`\beta` and :math:`N_{lethal}`
  are calibration parameters (flag U); the defaults of :class:`TumourBurdenHazard` are a starting
  point, not a fit. A cured patient (:math:`N \to 0`) has no cancer hazard, which is what produces
  the plateau of long-term survivors seen in CheckMate 067 (clinical.md §1.1, mixture-cure row).
* **Background (non-cancer) mortality** by attained age and sex from a period life table
  (:data:`US_LIFE_TABLE_2022`): the hazard is piecewise constant over each year of age,
  :math:`\mu_x = -\ln(1 - q_x)`, so that the probability of dying within a year from exact age
  :math:`x` is exactly the table's :math:`q_x` (population.md §4.3: "μ = −ln(1 − q)"; life-table
  :math:`q_x` preferred over the Gompertz fits).

The time of death solves :math:`H_c(T) + H_{bg}(T) = E` with :math:`E \sim \mathrm{Exp}(1)` drawn
from the patient's own random stream (inverse cumulative-hazard sampling of the total hazard of
competing risks); the cause is cancer with probability :math:`h_c(T) / (h_c(T) + h_{bg}(T))` (a
second draw), or certainly cancer when the lethal burden is reached first. :math:`H_c` is the
trapezoid integral of :math:`h_c` over the simulation grid (exact when the burden is constant between
grid points; otherwise its error is that of the trapezoid rule on the grid given); :math:`H_{bg}` is
exact. The lethal-burden crossing is interpolated log-linearly between grid points (exact for
exponential growth).

Endpoints and censoring
-----------------------
PFS is the earlier of RECIST (or iRECIST) progression and death; OS is death from any cause
(issue 4). Both are censored at the end of each patient's follow-up, which is either a fixed
length or the administrative pattern of population.md §4.4: patients enter uniformly over the
accrual period and are censored at the data cut-off, so that follow-up ~ U(minimum, minimum +
accrual) (:func:`administrative_follow_up`). By default a patient alive without progression is
censored for PFS at the last evaluable tumour assessment, not at the end of follow-up (FDA,
*Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics*, 2018, PFS censoring table;
flag R); ``pfs_censoring="follow_up"`` censors at the end of follow-up instead.

Summaries
---------
Kaplan–Meier estimates with exponential-Greenwood ("log(−log)") confidence bands, medians with the
confidence interval read where the bands cross 0.5, survival rates at landmark times, the log-rank
test, and the hazard ratio between two arms from a one-covariate Cox model (Efron's method for tied
times, Wald interval) are all computed by lifelines (``KaplanMeierFitter``,
``lifelines.utils.median_survival_times``, ``lifelines.statistics.logrank_test``, ``CoxPHFitter``);
this module passes it the durations and events and reads its results back into small dataclasses
and a summary dictionary, in the lifelines vocabulary (``durations``, ``event_observed``). A
median, or a bound of its interval, that is not reached is ``math.inf`` (lifelines' convention;
``json.dumps`` writes it as ``Infinity``, which strict JSON readers reject, so a JSON writer must
map it, e.g. to ``null`` as the trial runner does); a landmark rate beyond the follow-up is ``nan``.

Randomness
----------
Every random draw comes from a per-patient stream
``SeedSequence(seed, spawn_key=(crc32(stream), patient_index))`` (:func:`patient_generators`), so the
same seed gives bit-identical draws whatever the chunking of the population or the number of
workers, and different layers (``"death"``, ``"recist_noise"``, ``"censoring"``...) never share a
stream.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from oncoimmune.errors import UnknownNameError, ValidationError

__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "US_LIFE_TABLE_2022",
    "DeathModel",
    "DeathTimes",
    "HazardRatio",
    "KaplanMeier",
    "LifeTable",
    "LogRankResult",
    "SurvivalData",
    "SurvivalEndpoints",
    "TumourBurdenHazard",
    "administrative_follow_up",
    "cox_hazard_ratio",
    "draw_death_times",
    "kaplan_meier",
    "logrank_test",
    "patient_generators",
    "summarise_survival",
    "survival_endpoints",
]

DAYS_PER_YEAR = 365.25
"""Julian year, days: converts ages (years) to trial time (days)."""
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
"""30.4375 days: the month used for medians and landmark rates (12 months = 1 year)."""


# ----------------------------------------------------------------------------------------------
# per-patient random streams
# ----------------------------------------------------------------------------------------------
def _patient_index(patient_index: Any, n: int, where: str) -> np.ndarray:
    if patient_index is None:
        return np.arange(n, dtype=np.int64)
    idx = np.asarray(patient_index)
    if idx.shape != (n,):
        raise ValidationError("patient_index", f"have shape ({n},), one index per patient", idx.shape, where)
    if idx.dtype.kind not in "iu" or (n and idx.min() < 0):
        raise ValidationError("patient_index", "contain non-negative integers", patient_index, where)
    return idx.astype(np.int64)


def _seed(seed: Any, where: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValidationError("seed", "be a non-negative integer", seed, where)
    return int(seed)


def patient_generators(seed: int, patient_index: Sequence[int] | np.ndarray, stream: str) -> list[np.random.Generator]:
    """One independent numpy Generator per patient for the named stream.

    Parameters
    ----------
    seed:
        The trial seed (non-negative integer).
    patient_index:
        Global index of each patient in the trial population (not its position in a chunk).
    stream:
        Name of the use (``"death"``, ``"recist_noise"``, ``"censoring"``...). The stream key is the
        CRC-32 of the name, so layers choose names without a central registry.

    Returns
    -------
    list of numpy.random.Generator
        ``default_rng(SeedSequence(seed, spawn_key=(crc32(stream), i)))`` for each index ``i``:
        the draws of a patient depend only on ``(seed, stream, i)``.
    """
    where = "patient_generators"
    s = _seed(seed, where)
    if not isinstance(stream, str) or not stream:
        raise ValidationError("stream", "be a non-empty string", stream, where)
    key = zlib.crc32(stream.encode("utf-8"))
    idx = np.asarray(patient_index)
    idx = _patient_index(idx, idx.shape[0] if idx.ndim == 1 else -1, where)
    return [np.random.default_rng(np.random.SeedSequence(s, spawn_key=(key, int(i)))) for i in idx]


# ----------------------------------------------------------------------------------------------
# background mortality
# ----------------------------------------------------------------------------------------------
# United States life tables, 2022, total population: Table 2 (males) and Table 3 (females), q_x =
# probability of dying between exact ages x and x + 1, x = 0..99; e_100 = life expectancy at 100.
# Source: Arias E, Xu J, Kochanek K. United States Life Tables, 2022. National Vital Statistics
# Reports (CDC NCHS), the report population.md §4.3 cites (NVSR 74-02). Values transcribed (6
# significant digits) from the public repository tannerjared/Gompertz,
# data/derived/life_tables_2005_2023.csv (rows "2022,Total,Male,2" and "2022,Total,Female,3", commit
# 8d8eec1ed9c9096c30b3a88ae955e80e35d1cf2c). Flag V (secondary: faithful transcription of the table).
_US2022_QX_MALE = (
    # ages 0-9
    6.06708e-3, 4.89027e-4, 3.22738e-4, 2.38134e-4, 1.87944e-4,
    1.70183e-4, 1.55102e-4, 1.41633e-4, 1.24536e-4, 1.05691e-4,
    # ages 10-19
    9.42064e-5, 1.05237e-4, 1.56219e-4, 2.56578e-4, 3.93372e-4,
    5.46185e-4, 6.96584e-4, 8.39839e-4, 9.66302e-4, 1.07911e-3,
    # ages 20-29
    1.19197e-3, 1.30841e-3, 1.42000e-3, 1.52845e-3, 1.63715e-3,
    1.74565e-3, 1.85692e-3, 1.97416e-3, 2.09537e-3, 2.21491e-3,
    # ages 30-39
    2.33343e-3, 2.44593e-3, 2.54574e-3, 2.63242e-3, 2.71274e-3,
    2.79390e-3, 2.88293e-3, 2.98268e-3, 3.09574e-3, 3.22018e-3,
    # ages 40-49
    3.36206e-3, 3.51331e-3, 3.66134e-3, 3.80451e-3, 3.95708e-3,
    4.13964e-3, 4.36838e-3, 4.64043e-3, 4.94838e-3, 5.28309e-3,
    # ages 50-59
    5.63231e-3, 6.01644e-3, 6.46791e-3, 7.01427e-3, 7.65418e-3,
    8.33662e-3, 9.05517e-3, 9.85707e-3, 1.07363e-2, 1.16611e-2,
    # ages 60-69
    1.26162e-2, 1.35793e-2, 1.45417e-2, 1.55184e-2, 1.65447e-2,
    1.76524e-2, 1.89990e-2, 2.02955e-2, 2.17216e-2, 2.32202e-2,
    # ages 70-79
    2.47179e-2, 2.65265e-2, 2.85477e-2, 3.09130e-2, 3.36847e-2,
    3.63604e-2, 4.07179e-2, 4.41199e-2, 4.89103e-2, 5.32575e-2,
    # ages 80-89
    5.98341e-2, 6.62132e-2, 7.35900e-2, 8.15309e-2, 8.97582e-2,
    1.00216e-1, 1.10609e-1, 1.23952e-1, 1.38504e-1, 1.54279e-1,
    # ages 90-99
    1.71267e-1, 1.89435e-1, 2.08718e-1, 2.29022e-1, 2.50222e-1,
    2.72164e-1, 2.94668e-1, 3.17536e-1, 3.40553e-1, 3.63502e-1,
)  # fmt: skip
_US2022_QX_FEMALE = (
    # ages 0-9
    5.12107e-3, 3.96594e-4, 2.43244e-4, 2.05137e-4, 1.46512e-4,
    1.38457e-4, 1.22877e-4, 1.12799e-4, 1.06862e-4, 1.04907e-4,
    # ages 10-19
    1.07972e-4, 1.18104e-4, 1.37738e-4, 1.68028e-4, 2.06534e-4,
    2.50561e-4, 2.96123e-4, 3.40263e-4, 3.80254e-4, 4.17346e-4,
    # ages 20-29
    4.55546e-4, 4.96684e-4, 5.39578e-4, 5.85798e-4, 6.36425e-4,
    6.90332e-4, 7.47861e-4, 8.10079e-4, 8.74920e-4, 9.39799e-4,
    # ages 30-39
    1.00510e-3, 1.07040e-3, 1.13476e-3, 1.19999e-3, 1.26884e-3,
    1.34260e-3, 1.42210e-3, 1.50813e-3, 1.59986e-3, 1.69629e-3,
    # ages 40-49
    1.80363e-3, 1.91807e-3, 2.03042e-3, 2.14017e-3, 2.25628e-3,
    2.39273e-3, 2.55709e-3, 2.74348e-3, 2.94556e-3, 3.16035e-3,
    # ages 50-59
    3.38637e-3, 3.63694e-3, 3.92730e-3, 4.27200e-3, 4.67020e-3,
    5.09243e-3, 5.53921e-3, 6.04130e-3, 6.59809e-3, 7.18987e-3,
    # ages 60-69
    7.81163e-3, 8.44228e-3, 9.06524e-3, 9.68429e-3, 1.03295e-2,
    1.10236e-2, 1.18649e-2, 1.27248e-2, 1.37482e-2, 1.49048e-2,
    # ages 70-79
    1.61514e-2, 1.74793e-2, 1.91427e-2, 2.10448e-2, 2.33461e-2,
    2.54361e-2, 2.89504e-2, 3.17536e-2, 3.54118e-2, 3.87735e-2,
    # ages 80-89
    4.37176e-2, 4.85645e-2, 5.41037e-2, 6.06885e-2, 6.76417e-2,
    7.62123e-2, 8.37329e-2, 9.47593e-2, 1.06971e-1, 1.20425e-1,
    # ages 90-99
    1.35163e-1, 1.51206e-1, 1.68548e-1, 1.87157e-1, 2.06968e-1,
    2.27878e-1, 2.49754e-1, 2.72425e-1, 2.95695e-1, 3.19343e-1,
)  # fmt: skip
_US2022_E100 = {"male": 1.91748, "female": 2.15219}  # years, same tables and rows (age "100 and over")


@dataclass(frozen=True)
class LifeTable:
    r"""A period life table by single year of age and sex, used as a piecewise-constant hazard.

    Parameters
    ----------
    name, source:
        Short name and full citation.
    qx:
        ``{"male": (q_0, ..., q_{ω-1}), "female": (...)}``: probability of dying between exact
        ages :math:`x` and :math:`x+1`.
    open_interval_hazard_per_year:
        Hazard beyond the last age (``{"male": h, "female": h}``, per year), e.g. :math:`1/e_ω`
        from the life expectancy of the open age interval.

    Notes
    -----
    The hazard over :math:`[x, x+1)` is :math:`\mu_x = -\ln(1 - q_x)` per year, so that
    :math:`\exp(-\int_x^{x+1}\mu) = 1 - q_x` exactly.
    """

    name: str
    source: str
    qx: Mapping[str, tuple[float, ...]]
    open_interval_hazard_per_year: Mapping[str, float]
    _cum: dict[str, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"LifeTable {self.name!r}"
        if set(self.qx) != {"male", "female"} or set(self.open_interval_hazard_per_year) != {"male", "female"}:
            raise ValidationError("qx", "give 'male' and 'female' tables", sorted(self.qx), where)
        cum = {}
        for sex, q in self.qx.items():
            qa = np.asarray(q, dtype=float)
            if qa.ndim != 1 or qa.size == 0 or not np.all((qa > 0) & (qa < 1)):
                raise ValidationError("qx", "hold probabilities in (0, 1)", sex, where)
            mu = -np.log1p(-qa)
            cum[sex] = np.concatenate([[0.0], np.cumsum(mu)])  # Λ at exact ages 0, 1, ..., ω
        object.__setattr__(self, "_cum", cum)

    @property
    def last_age(self) -> int:
        """The age ω where the open interval starts."""
        return len(self.qx["male"])

    def _sex(self, sex: Any, n: int) -> np.ndarray:
        s = np.asarray(sex, dtype=object)
        if s.ndim == 0:
            s = np.full(n, s.item(), dtype=object)
        if s.shape != (n,):
            raise ValidationError("sex", f"have shape ({n},), one entry per patient", s.shape, f"LifeTable {self.name}")
        bad = [v for v in s if v not in ("male", "female")]
        if bad:
            raise ValidationError("sex", "be 'female' or 'male'", bad[0], f"LifeTable {self.name}")
        return s

    def hazard_per_year(self, age_years: Any, sex: Any) -> np.ndarray:
        """Background hazard (per year) at attained age ``age_years`` (array) for ``sex``."""
        a = np.atleast_1d(np.asarray(age_years, dtype=float))
        s = self._sex(sex, a.size)
        out = np.empty(a.size)
        for sx in ("male", "female"):
            m = s == sx
            mu = np.diff(self._cum[sx])
            k = np.clip(np.floor(a[m]).astype(int), 0, self.last_age)
            full = np.append(mu, self.open_interval_hazard_per_year[sx])
            out[m] = full[k]
        return out

    def cumulative_hazard(self, age_years: Any, sex: Any) -> np.ndarray:
        """Λ(age) = ∫₀^age μ: piecewise linear in age; linear beyond ω with the open-interval hazard."""
        a = np.atleast_1d(np.asarray(age_years, dtype=float))
        s = self._sex(sex, a.size)
        out = np.empty(a.size)
        for sx in ("male", "female"):
            m = s == sx
            c = self._cum[sx]
            ages = np.arange(c.size, dtype=float)
            am = a[m]
            inside = np.interp(np.minimum(am, ages[-1]), ages, c)
            out[m] = inside + np.maximum(am - ages[-1], 0.0) * self.open_interval_hazard_per_year[sx]
        return out

    def probability_of_death(self, age_years: Any, years: Any, sex: Any) -> np.ndarray:
        """Probability of dying within ``years`` from age ``age_years`` (background causes only)."""
        a = np.atleast_1d(np.asarray(age_years, dtype=float))
        y = np.broadcast_to(np.asarray(years, dtype=float), a.shape)
        return -np.expm1(-(self.cumulative_hazard(a + y, sex) - self.cumulative_hazard(a, sex)))


US_LIFE_TABLE_2022 = LifeTable(
    name="US 2022",
    source=(
        "Arias E, Xu J, Kochanek K. United States Life Tables, 2022. National Vital Statistics Reports (CDC/NCHS), "
        "Tables 2 (males) and 3 (females); transcribed from tannerjared/Gompertz "
        "data/derived/life_tables_2005_2023.csv (population.md §4.3). Open interval 100+: hazard 1/e_100."
    ),
    qx={"male": _US2022_QX_MALE, "female": _US2022_QX_FEMALE},
    open_interval_hazard_per_year={sex: 1.0 / e for sex, e in _US2022_E100.items()},
)
"""US period life table 2022 by sex (ages 0–99 and an open interval 100+), flag V (secondary)."""


# ----------------------------------------------------------------------------------------------
# death model
# ----------------------------------------------------------------------------------------------
def _positive(name: str, value: Any, where: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(name, "be a number", value, where)
    v = float(value)
    ok = v >= 0 if allow_zero else v > 0
    if not (math.isfinite(v) and ok):
        raise ValidationError(name, "be >= 0" if allow_zero else "be > 0", value, where)
    return v


def _reject_unknown(mapping: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    if not isinstance(mapping, Mapping):
        raise ValidationError("options", "be a mapping of option names to values", mapping, where)
    for key in mapping:
        if key not in known:
            raise UnknownNameError("option", key, list(known), where)


@dataclass(frozen=True)
class TumourBurdenHazard:
    r"""Cancer-specific death hazard driven by the tumour burden (population.md §4.2).

    :math:`h_c = h_{ref} (N/N_{ref})^{\beta}` per day, plus certain death at :math:`N \ge N_{lethal}`.

    Parameters
    ----------
    hazard_per_day:
        :math:`h_{ref}`, 1/day, the hazard at the reference burden. Default 0.001/day (a median of
        693 days if the burden stayed at the reference): flag U, a starting value to calibrate.
    reference_cells:
        :math:`N_{ref}`, cells. Default 6.5·10¹⁰, a 50 mm spherical lesion at 10⁹ cells/cm³ (the
        io_qsp default patient; population.md §3.2), so that the hazard of a patient is relative to a
        typical measurable burden (baseline tumour size is an OS predictor in the TGI–OS links of
        population.md §4.1).
    exponent:
        :math:`\beta`, dimensionless. Default 1 (hazard proportional to burden): flag U.
    lethal_cells:
        :math:`N_{lethal}`, cells, or ``None`` for no lethal-burden rule. Default 10¹² (≈ 1 kg, ≈ 10
        doublings beyond a detectable 10⁹-cell tumour; clinical.md §6, V for the figure, U as a
        death rule per population.md §4.2).
    lethal_fold_over_baseline:
        A patient enrolled alive is not at the lethal burden at randomisation: the lethal rule of a
        patient applies at ``max(lethal_cells, lethal_fold_over_baseline × N(0))``. Default 4 (two
        doublings beyond a large baseline burden, which the sphere conversion at 10⁹ cells/cm³ can
        put above 10¹² cells for a sum of diameters near 300 mm): flag U. ``None`` disables it.
    """

    hazard_per_day: float = 1.0e-3
    reference_cells: float = 6.5e10
    exponent: float = 1.0
    lethal_cells: float | None = 1.0e12
    lethal_fold_over_baseline: float | None = 4.0

    def __post_init__(self) -> None:
        where = "TumourBurdenHazard"
        object.__setattr__(
            self, "hazard_per_day", _positive("hazard_per_day", self.hazard_per_day, where, allow_zero=True)
        )
        object.__setattr__(self, "reference_cells", _positive("reference_cells", self.reference_cells, where))
        object.__setattr__(self, "exponent", _positive("exponent", self.exponent, where, allow_zero=True))
        if self.lethal_cells is not None:
            object.__setattr__(self, "lethal_cells", _positive("lethal_cells", self.lethal_cells, where))
        if self.lethal_fold_over_baseline is not None:
            fold = _positive("lethal_fold_over_baseline", self.lethal_fold_over_baseline, where)
            if fold < 1.0:
                raise ValidationError("lethal_fold_over_baseline", "be >= 1", fold, where)
            object.__setattr__(self, "lethal_fold_over_baseline", fold)

    def hazard(self, cells: np.ndarray) -> np.ndarray:
        """Hazard per day at burden ``cells`` (0 for an eradicated tumour)."""
        c = np.maximum(np.asarray(cells, dtype=float), 0.0)
        if self.hazard_per_day == 0.0:
            return np.zeros_like(c)
        return self.hazard_per_day * (c / self.reference_cells) ** self.exponent

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str = "death model tumour hazard") -> TumourBurdenHazard:
        """Build from a mapping (e.g. a trial YAML section); unknown keys are an error naming them."""
        _reject_unknown(options, [f.name for f in fields(cls)], where)
        return cls(**options)


@dataclass(frozen=True)
class DeathModel:
    """Competing risks: tumour-burden hazard (or none) plus background mortality (or none).

    Parameters
    ----------
    tumour:
        :class:`TumourBurdenHazard`, or ``None`` for no cancer deaths.
    background:
        :class:`LifeTable` (default :data:`US_LIFE_TABLE_2022`), or ``None`` for no background deaths.
    """

    tumour: TumourBurdenHazard | None = field(default_factory=TumourBurdenHazard)
    background: LifeTable | None = US_LIFE_TABLE_2022

    def __post_init__(self) -> None:
        if self.tumour is not None and not isinstance(self.tumour, TumourBurdenHazard):
            raise ValidationError("tumour", "be a TumourBurdenHazard or None", self.tumour, "DeathModel")
        if self.background is not None and not isinstance(self.background, LifeTable):
            raise ValidationError("background", "be a LifeTable or None", self.background, "DeathModel")

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], where: str = "death model") -> DeathModel:
        """From ``{"tumour": {...} | None, "background": "US 2022" | None}``; unknown keys are errors."""
        _reject_unknown(options, ["tumour", "background"], where)
        tumour = options.get("tumour", {})
        tumour_h = None if tumour is None else TumourBurdenHazard.from_mapping(tumour, f"{where} tumour")
        bg = options.get("background", US_LIFE_TABLE_2022.name)
        tables = {US_LIFE_TABLE_2022.name: US_LIFE_TABLE_2022}
        if bg is not None and bg not in tables:
            raise UnknownNameError("background", bg, list(tables), where)
        return cls(tumour=tumour_h, background=None if bg is None else tables[bg])


@dataclass(frozen=True)
class DeathTimes:
    """Death draws for a set of patients (days from randomisation).

    Attributes
    ----------
    day:
        Day of death, ``inf`` when the patient is alive at ``observed_until_day``.
    cancer_death:
        True when the death is attributed to cancer (lethal burden or the cancer hazard).
    observed_until_day:
        Last day with a finite tumour trajectory: the end of the grid, or earlier for a patient
        whose simulation failed (OS is censored there).
    """

    day: np.ndarray
    cancer_death: np.ndarray
    observed_until_day: np.ndarray


def draw_death_times(
    t_days: Any,
    tumour_cells: Any,
    *,
    age_years: Any,
    sex: Any,
    seed: int,
    model: DeathModel | None = None,
    patient_index: Any = None,
) -> DeathTimes:
    r"""Draw each patient's time and cause of death from the competing-risks model of this module.

    Parameters
    ----------
    t_days:
        Shared time grid, days from randomisation, shape ``(times,)``, increasing, starting at 0.
        It should extend to the end of follow-up; nobody dies after ``t_days[-1]`` here.
    tumour_cells:
        Cancer cells per patient and time, shape ``(patients, times)`` (io_qsp's ``tumour_cells``
        output). NaN from the first failed time onwards marks a failed simulation: the patient is
        observed only up to the last finite time.
    age_years, sex:
        Age at randomisation (years) and ``"female"``/``"male"``, scalars or one per patient.
    seed, patient_index:
        Trial seed and global patient indices (stream ``"death"``; see :func:`patient_generators`).
    model:
        :class:`DeathModel` (default: burden hazard with its defaults + US 2022 life table).

    Returns
    -------
    DeathTimes
    """
    where = "draw_death_times"
    model = DeathModel() if model is None else model
    if not isinstance(model, DeathModel):
        raise ValidationError("model", "be a DeathModel", model, where)
    t = np.asarray(t_days, dtype=float)
    if t.ndim != 1 or t.size < 2 or not np.all(np.isfinite(t)) or t[0] != 0.0 or np.any(np.diff(t) <= 0):
        raise ValidationError(
            "t_days", "be an increasing 1-D grid of at least 2 finite days starting at 0", t_days, where
        )
    n_cells = np.asarray(tumour_cells, dtype=float)
    if n_cells.ndim != 2 or n_cells.shape[1] != t.size:
        raise ValidationError("tumour_cells", f"have shape (patients, {t.size}) to match t_days", n_cells.shape, where)
    n = n_cells.shape[0]
    seed = _seed(seed, where)
    idx = _patient_index(patient_index, n, where)
    age = np.broadcast_to(np.asarray(age_years, dtype=float), (n,)).copy()
    if not np.all(np.isfinite(age)) or np.any(age < 0) or np.any(age > 120):
        raise ValidationError("age_years", "lie in [0, 120]", age_years, where)
    sx = np.asarray(sex, dtype=object)
    sx = np.full(n, sx.item(), dtype=object) if sx.ndim == 0 else sx
    if sx.shape != (n,) or any(v not in ("male", "female") for v in sx):
        raise ValidationError("sex", "be 'female' or 'male' (one per patient)", sex, where)

    # observed window: up to the last time before the first non-finite value
    finite = np.isfinite(n_cells)
    first_bad = np.where(finite.all(axis=1), t.size, np.argmin(finite, axis=1))
    last_ok = first_bad - 1  # -1: nothing observed
    observed_until = np.where(last_ok >= 0, t[np.maximum(last_ok, 0)], 0.0)
    cells = np.where(finite, n_cells, 0.0)
    cells = np.maximum(cells, 0.0)

    # cumulative cancer hazard at grid points (trapezoid) and lethal crossing
    if model.tumour is not None:
        h = model.tumour.hazard(cells)
        hc_cum = np.concatenate(
            [np.zeros((n, 1)), np.cumsum(0.5 * (h[:, 1:] + h[:, :-1]) * np.diff(t), axis=1)], axis=1
        )
    else:
        h = np.zeros_like(cells)
        hc_cum = np.zeros_like(cells)
    lethal_day = np.full(n, np.inf)
    if model.tumour is not None and model.tumour.lethal_cells is not None:
        L = np.full(n, model.tumour.lethal_cells)
        if model.tumour.lethal_fold_over_baseline is not None:
            base = np.where(np.isfinite(cells[:, 0]), cells[:, 0], 0.0)
            L = np.maximum(L, model.tumour.lethal_fold_over_baseline * base)
        over = (cells >= L[:, None]) & finite
        hit = over.any(axis=1)
        for i in np.flatnonzero(hit):
            k = int(np.argmax(over[i]))
            if k == 0:
                lethal_day[i] = 0.0
                continue
            c0, c1 = cells[i, k - 1], cells[i, k]
            if c0 > 0:
                frac = (math.log(L[i]) - math.log(c0)) / (math.log(c1) - math.log(c0))
            else:
                frac = 1.0
            lethal_day[i] = t[k - 1] + frac * (t[k] - t[k - 1])

    # cumulative background hazard, exact (per day)
    def bg_cum(days: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if model.background is None:
            return np.zeros(days.shape)
        a0 = age[rows]
        s = sx[rows]
        return model.background.cumulative_hazard(a0 + days / DAYS_PER_YEAR, s) - model.background.cumulative_hazard(
            a0, s
        )

    rngs = patient_generators(seed, idx, "death")
    draws = np.array([[g.standard_exponential(), g.random()] for g in rngs]).reshape(n, 2)
    e, u = draws[:, 0], draws[:, 1]

    rows = np.arange(n)
    total_cum = hc_cum + np.stack([bg_cum(np.full(n, tk), rows) for tk in t], axis=1)
    # only the observed part of the grid counts
    reach = np.where(np.arange(t.size)[None, :] <= last_ok[:, None], total_cum, -np.inf)
    crossed = reach >= e[:, None]
    has = crossed.any(axis=1)
    day = np.full(n, np.inf)
    cancer = np.zeros(n, dtype=bool)
    k = np.argmax(crossed, axis=1)
    sel = np.flatnonzero(has & (k > 0))
    if sel.size:
        k0, k1 = k[sel] - 1, k[sel]
        ta, tb = t[k0], t[k1]
        hca = hc_cum[sel, k0]
        slope = (hc_cum[sel, k1] - hca) / (tb - ta)  # cancer hazard linear in time within the interval
        lo, hi = ta.copy(), tb.copy()
        for _ in range(60):  # bisection: H is continuous and increasing; 60 halvings reach double precision
            mid = 0.5 * (lo + hi)
            val = hca + slope * (mid - ta) + bg_cum(mid, sel)
            up = val >= e[sel]
            hi = np.where(up, mid, hi)
            lo = np.where(up, lo, mid)
        day[sel] = hi
        # cause: cancer with probability h_c / (h_c + h_bg) at the time of death
        frac = (hi - ta) / (tb - ta)
        hc_at = h[sel, k0] + frac * (h[sel, k1] - h[sel, k0])
        hbg_at = (
            model.background.hazard_per_year(age[sel] + hi / DAYS_PER_YEAR, sx[sel]) / DAYS_PER_YEAR
            if model.background is not None
            else np.zeros(sel.size)
        )
        tot = hc_at + hbg_at
        cancer[sel] = u[sel] * np.where(tot > 0, tot, 1.0) < hc_at
    # the lethal burden wins when it comes first (and is observed)
    lethal_first = np.isfinite(lethal_day) & (lethal_day <= day) & (lethal_day <= observed_until)
    day = np.where(lethal_first, lethal_day, day)
    cancer = np.where(lethal_first, True, cancer)
    return DeathTimes(day=day, cancer_death=cancer, observed_until_day=observed_until)


# ----------------------------------------------------------------------------------------------
# endpoints and censoring
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SurvivalData:
    """Right-censored times in the lifelines vocabulary.

    Attributes
    ----------
    durations:
        Time to event or censoring, days, shape ``(patients,)``.
    event_observed:
        True for an observed event, False for a censored time.
    label:
        Optional name (an arm, an endpoint).
    """

    durations: np.ndarray
    event_observed: np.ndarray
    label: str | None = None

    def __post_init__(self) -> None:
        where = f"SurvivalData {self.label!r}" if self.label else "SurvivalData"
        d = np.asarray(self.durations, dtype=float)
        ev = np.asarray(self.event_observed)
        if d.ndim != 1:
            raise ValidationError("durations", "be one-dimensional", d.shape, where)
        if ev.shape != d.shape:
            raise ValidationError("event_observed", f"have the shape of durations {d.shape}", ev.shape, where)
        if not np.all(np.isfinite(d)) or np.any(d < 0):
            raise ValidationError("durations", "be finite and >= 0", self.durations, where)
        if ev.dtype != bool:
            if not np.all(np.isin(ev, (0, 1))):
                raise ValidationError("event_observed", "be booleans (or 0/1)", self.event_observed, where)
            ev = ev.astype(bool)
        object.__setattr__(self, "durations", d)
        object.__setattr__(self, "event_observed", ev)

    def __len__(self) -> int:
        return int(self.durations.size)


@dataclass(frozen=True)
class SurvivalEndpoints:
    """PFS and OS per patient (days), plus the cause of each observed death."""

    pfs: SurvivalData
    os: SurvivalData
    cancer_death: np.ndarray


def administrative_follow_up(
    n: int,
    *,
    min_follow_up_days: float,
    accrual_days: float = 0.0,
    seed: int | None = None,
    patient_index: Any = None,
) -> np.ndarray:
    """Follow-up per patient under uniform accrual and a common data cut-off (population.md §4.4).

    Patients enter uniformly over ``accrual_days``; the data cut-off is ``accrual_days +
    min_follow_up_days`` after the first entry, so follow-up = cut-off − entry ~ U(min, min +
    accrual). With ``accrual_days = 0`` every patient has ``min_follow_up_days`` (no seed needed).
    Example: the U(8, 30) months "study duration" used by Claret et al. 2014 to reproduce published
    hazard ratios is ``min_follow_up_days = 8 months, accrual_days = 22 months``.
    """
    where = "administrative_follow_up"
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValidationError("n", "be a non-negative integer", n, where)
    lo = _positive("min_follow_up_days", min_follow_up_days, where)
    acc = _positive("accrual_days", accrual_days, where, allow_zero=True)
    if acc == 0.0:
        return np.full(int(n), lo)
    if seed is None:
        raise ValidationError("seed", "be given when accrual_days > 0 (entry times are random)", seed, where)
    idx = _patient_index(patient_index, int(n), where)
    u = np.array([g.random() for g in patient_generators(seed, idx, "censoring")])
    return lo + acc * u


def survival_endpoints(
    *,
    progression_day: Any,
    death_day: Any,
    follow_up_days: Any,
    observed_until_day: Any = None,
    cancer_death: Any = None,
    scan_days: Any = None,
    evaluable: Any = None,
    pfs_censoring: str = "last_assessment",
) -> SurvivalEndpoints:
    """PFS and OS from progression and death days, censored at the end of follow-up.

    Parameters
    ----------
    progression_day:
        Day of RECIST/iRECIST progression per patient, NaN if none (``ResponseAssessment.progression_day``).
    death_day:
        Day of death, ``inf`` if alive (``DeathTimes.day``).
    follow_up_days:
        End of follow-up per patient (scalar or array; :func:`administrative_follow_up`).
    observed_until_day:
        Optional end of the observed trajectory (``DeathTimes.observed_until_day``): OS and PFS are
        censored there if earlier (a failed simulation).
    cancer_death:
        Optional cause flags (``DeathTimes.cancer_death``), kept for melanoma-specific survival.
    scan_days, evaluable:
        Scan days ``(scans,)`` and the evaluable mask ``(patients, scans)`` of the response
        assessment, needed for ``pfs_censoring="last_assessment"``.
    pfs_censoring:
        ``"last_assessment"`` (default; censored at the last evaluable scan on or before the end of
        follow-up, FDA 2018, R) or ``"follow_up"`` (censored at the end of follow-up).

    Returns
    -------
    SurvivalEndpoints
        OS: event if death ≤ end of follow-up. PFS: event at min(progression, death) if that is ≤
        end of follow-up; death counts as a PFS event whenever it comes first.
    """
    where = "survival_endpoints"
    prog = np.asarray(progression_day, dtype=float)
    if prog.ndim != 1:
        raise ValidationError("progression_day", "be one-dimensional (one per patient)", prog.shape, where)
    n = prog.size
    death = np.asarray(death_day, dtype=float)
    if death.shape != (n,):
        raise ValidationError("death_day", f"have shape ({n},) like progression_day", death.shape, where)
    if np.any(np.isnan(death)) or np.any(death < 0):
        raise ValidationError("death_day", "be >= 0 (inf when alive)", death_day, where)
    if np.any(prog[np.isfinite(prog)] < 0) or np.any(np.isinf(prog)):
        raise ValidationError("progression_day", "be >= 0 or NaN", progression_day, where)
    fu = (
        np.broadcast_to(np.asarray(follow_up_days, dtype=float), (n,)).copy()
        if np.ndim(follow_up_days) == 0
        else (np.asarray(follow_up_days, dtype=float))
    )
    if fu.shape != (n,) or not np.all(np.isfinite(fu)) or np.any(fu < 0):
        raise ValidationError("follow_up_days", f"be finite and >= 0, scalar or shape ({n},)", follow_up_days, where)
    end = fu.copy()
    if observed_until_day is not None:
        obs = np.asarray(observed_until_day, dtype=float)
        if obs.shape != (n,):
            raise ValidationError("observed_until_day", f"have shape ({n},)", obs.shape, where)
        end = np.minimum(end, obs)
    if pfs_censoring not in ("last_assessment", "follow_up"):
        raise UnknownNameError("pfs_censoring", pfs_censoring, ["follow_up", "last_assessment"], where)

    os_event = death <= end
    os_days = np.where(os_event, death, end)

    prog_f = np.where(np.isnan(prog), np.inf, prog)
    pfs_time = np.minimum(prog_f, death)
    pfs_event = pfs_time <= end
    if pfs_censoring == "follow_up":
        censor = end
    else:
        if scan_days is None or evaluable is None:
            raise ValidationError(
                "scan_days", "be given with 'evaluable' when pfs_censoring='last_assessment'", scan_days, where
            )
        sd = np.asarray(scan_days, dtype=float)
        ev = np.asarray(evaluable, dtype=bool)
        if ev.shape != (n, sd.size):
            raise ValidationError("evaluable", f"have shape ({n}, {sd.size})", ev.shape, where)
        ok = ev & (sd[None, :] <= end[:, None])
        censor = np.where(ok.any(axis=1), np.max(np.where(ok, sd[None, :], -np.inf), axis=1), 0.0)
    pfs_days = np.where(pfs_event, pfs_time, censor)
    cd = np.zeros(n, dtype=bool) if cancer_death is None else np.asarray(cancer_death, dtype=bool) & os_event
    return SurvivalEndpoints(
        pfs=SurvivalData(pfs_days, pfs_event, "PFS"), os=SurvivalData(os_days, os_event, "OS"), cancer_death=cd
    )


# ----------------------------------------------------------------------------------------------
# Kaplan–Meier, log-rank, Cox: computed by lifelines
# ----------------------------------------------------------------------------------------------
# lifelines (and pandas) are imported inside the functions below: the import takes about a second and
# the death model, the endpoints and the RECIST layer do not need it.
def _as_data(data: SurvivalData | Any, event_observed: Any = None, label: str | None = None) -> SurvivalData:
    if isinstance(data, SurvivalData):
        return data
    if event_observed is None:
        event_observed = np.ones(np.shape(data), dtype=bool)
    return SurvivalData(np.asarray(data, dtype=float), np.asarray(event_observed), label)


def _alpha(alpha: Any, where: str) -> float:
    a = _positive("alpha", alpha, where)
    if not a < 1:
        raise ValidationError("alpha", "lie in (0, 1)", alpha, where)
    return a


def _column(frame: Any, marker: str) -> np.ndarray:
    """The one column of a lifelines confidence-interval frame whose name contains ``marker``."""
    (name,) = [c for c in frame.columns if marker in str(c)]
    return frame[name].to_numpy(dtype=float)


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan–Meier estimate, read from a fitted lifelines ``KaplanMeierFitter``.

    Attributes
    ----------
    timeline:
        0 and every distinct duration (days): ``survival_function_.index``.
    survival, ci_lower, ci_upper:
        Survival (``survival_function_``) and its pointwise exponential-Greenwood band
        (``confidence_interval_``) at each timeline point.
    at_risk, events, censored:
        Numbers at risk just before, events and censorings at each timeline point (``event_table``).
    median, median_ci:
        Median (``median_survival_time_``: the first time S ≤ 0.5) and its confidence interval
        (``lifelines.utils.median_survival_times`` of the band: the first times the lower and the upper
        band reach 0.5). A median or bound that is not reached (the curve or band stays above 0.5 to
        the last duration) is ``math.inf``, as lifelines reports it.
    alpha, label:
        Band level (0.05 → 95 %) and name.
    max_duration:
        Longest duration (days), event or censored.
    fitter:
        The fitted ``lifelines.KaplanMeierFitter`` (for ``print_summary``, ``plot_survival_function``
        and ``survival_function_at_times``); not part of equality.
    """

    timeline: np.ndarray
    survival: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    censored: np.ndarray
    median: float
    median_ci: tuple[float, float]
    alpha: float
    label: str | None
    max_duration: float
    fitter: Any = field(default=None, repr=False, compare=False)

    def survival_at(self, times: Any) -> np.ndarray:
        """S(t) at ``times`` from lifelines' ``survival_function_at_times`` (step function, right-continuous).

        NaN before 0 and beyond the last duration, unless the curve has reached 0 there: lifelines carries
        the last value forward, which past the end of follow-up is an extrapolation, not an estimate.
        """
        if self.fitter is None:
            raise ValidationError(
                "fitter", "be the fitted lifelines KaplanMeierFitter (use kaplan_meier())", None, "KaplanMeier"
            )
        tt = np.atleast_1d(np.asarray(times, dtype=float))
        out = self.fitter.survival_function_at_times(tt).to_numpy(dtype=float)
        beyond = (tt > self.max_duration) & (self.survival[-1] > 0)
        return np.where(beyond | (tt < 0), np.nan, out)

    def number_at_risk(self, times: Any) -> np.ndarray:
        """Patients still at risk (duration ≥ t) at ``times``: the rows under a KM plot."""
        tt = np.atleast_1d(np.asarray(times, dtype=float))
        # at_risk[k] counts durations >= timeline[k]; the count at t is that of the first timeline point >= t
        k = np.searchsorted(self.timeline, tt, side="left")
        padded = np.append(self.at_risk, 0)
        return padded[np.clip(k, 0, self.timeline.size)]


def kaplan_meier(
    data: SurvivalData | Any, event_observed: Any = None, *, alpha: float = 0.05, label: str | None = None
) -> KaplanMeier:
    r"""Kaplan–Meier product-limit estimate with exponential-Greenwood confidence band (lifelines).

    Fits ``lifelines.KaplanMeierFitter`` (Davidson-Pilon, *J. Open Source Softw.* 2019, 4:1317), which
    computes :math:`\hat S(t) = \prod_{t_i \le t} (1 - d_i/n_i)` and the band
    :math:`\exp(-\exp(\ln(-\ln \hat S) \mp z\,\sqrt{V}/\ln \hat S))` with the Greenwood sum
    :math:`V = \sum_{t_i \le t} d_i / (n_i (n_i - d_i))` and :math:`z = \Phi^{-1}(1 - \alpha/2)`
    (Kalbfleisch & Prentice 2002, §1.4). The median and its interval are read from the curve and
    the band with ``lifelines.utils.median_survival_times``.

    Parameters
    ----------
    data:
        :class:`SurvivalData`, or an array of durations (then ``event_observed``; all events if omitted).
    event_observed:
        Event indicator when ``data`` is an array of durations.
    alpha:
        1 − confidence level of the band and of the median interval.
    label:
        Name of the curve (default: the label of ``data``).

    Returns
    -------
    KaplanMeier
        Arrays and median read from the fitter, and the fitter itself.
    """
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    where = "kaplan_meier"
    d = _as_data(data, event_observed, label)
    a = _alpha(alpha, where)
    if len(d) == 0:
        raise ValidationError("durations", "contain at least one patient", 0, where)
    name = d.label if label is None else label
    kmf = KaplanMeierFitter(alpha=a).fit(d.durations, event_observed=d.event_observed, alpha=a, label=name)
    sf = kmf.survival_function_
    table = kmf.event_table.reindex(sf.index)
    median_ci = median_survival_times(kmf.confidence_interval_)
    return KaplanMeier(
        timeline=sf.index.to_numpy(dtype=float),
        survival=sf.iloc[:, 0].to_numpy(dtype=float),
        ci_lower=_column(kmf.confidence_interval_, "_lower_"),
        ci_upper=_column(kmf.confidence_interval_, "_upper_"),
        at_risk=table["at_risk"].to_numpy(dtype=int),
        events=table["observed"].to_numpy(dtype=int),
        censored=table["censored"].to_numpy(dtype=int),
        median=float(kmf.median_survival_time_),
        median_ci=(float(_column(median_ci, "_lower_")[0]), float(_column(median_ci, "_upper_")[0])),
        alpha=a,
        label=name,
        max_duration=float(d.durations.max()),
        fitter=kmf,
    )


@dataclass(frozen=True)
class LogRankResult:
    """Two-group log-rank test: chi-square statistic (1 df) and its p-value."""

    test_statistic: float
    p_value: float


def logrank_test(a: SurvivalData, b: SurvivalData) -> LogRankResult:
    r"""Log-rank (Mantel–Cox) test of equal hazards between two groups (``lifelines.statistics.logrank_test``).

    lifelines computes :math:`\chi^2 = (O_a - E_a)^2 / V` with, at each distinct event time,
    :math:`E_a = d\,n_a/n` and the hypergeometric variance
    :math:`V = \sum d\,(n_a/n)(1 - n_a/n)(n - d)/(n - 1)`; p from :math:`\chi^2_1`. Without any event
    lifelines returns a statistic of 0 and p = 1.
    """
    from lifelines.statistics import logrank_test as lifelines_logrank_test

    a, b = _as_data(a), _as_data(b)
    if len(a) == 0 or len(b) == 0:
        raise ValidationError(
            "durations", "contain at least one patient in each group", (len(a), len(b)), "logrank_test"
        )
    result = lifelines_logrank_test(
        a.durations, b.durations, event_observed_A=a.event_observed, event_observed_B=b.event_observed
    )
    return LogRankResult(float(result.test_statistic), float(result.p_value))


@dataclass(frozen=True)
class HazardRatio:
    """Hazard ratio of one arm vs a reference arm from a one-covariate Cox model (Efron ties).

    Attributes
    ----------
    hr, ci_lower, ci_upper:
        exp(β) and its Wald interval exp(β ± z·se).
    coef, se, p_value:
        β = log HR, its standard error (inverse observed information) and the Wald p-value.
    alpha:
        1 − confidence level.
    """

    hr: float
    ci_lower: float
    ci_upper: float
    coef: float
    se: float
    p_value: float
    alpha: float


def cox_hazard_ratio(treated: SurvivalData, reference: SurvivalData, *, alpha: float = 0.05) -> HazardRatio:
    r"""Hazard ratio of ``treated`` vs ``reference`` from a Cox model on the arm indicator (lifelines).

    Fits ``lifelines.CoxPHFitter`` with the single covariate ``arm`` (1 for ``treated``, 0 for
    ``reference``): Efron's partial likelihood for tied times (lifelines' only method), maximised
    by Newton–Raphson; se from the inverse observed information; Wald interval exp(β ± z·se) and
    Wald p-value, as in ``CoxPHFitter.summary``. When one arm has no event the maximum is at
    :math:`\beta = \pm\infty`: lifelines warns (``ConvergenceWarning``, complete separation) and
    returns a large \|β\| with a huge se, i.e. an uninformative interval (a bound beyond the float
    range is 0 or ``inf``). When the partial likelihood carries no information at all (e.g. every
    event happens when only one arm is still at risk), lifelines stops with ``ConvergenceError``;
    the hazard ratio is then not estimable and every field but ``alpha`` is NaN, with a
    ``ConvergenceWarning``, so that a trial summary does not abort.
    """
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    where = "cox_hazard_ratio"
    a, b = _as_data(treated), _as_data(reference)
    al = _alpha(alpha, where)
    if len(a) == 0 or len(b) == 0:
        raise ValidationError("durations", "contain at least one patient in each arm", (len(a), len(b)), where)
    if not (a.event_observed.any() or b.event_observed.any()):
        raise ValidationError("event_observed", "contain at least one event", 0, where)
    frame = pd.DataFrame(
        {
            "duration": np.concatenate([a.durations, b.durations]),
            "event": np.concatenate([a.event_observed, b.event_observed]),
            "arm": np.concatenate([np.ones(len(a)), np.zeros(len(b))]),
        }
    )
    try:
        cph = CoxPHFitter(alpha=al).fit(frame, duration_col="duration", event_col="event")
    except ConvergenceError as err:
        reason = str(err).split(".")[0]
        warnings.warn(
            f"cox_hazard_ratio: lifelines' CoxPHFitter did not converge ({reason}); the hazard ratio is not "
            "estimable from these data and is reported as NaN.",
            ConvergenceWarning,
            stacklevel=2,
        )
        nan = math.nan
        return HazardRatio(hr=nan, ci_lower=nan, ci_upper=nan, coef=nan, se=nan, p_value=nan, alpha=al)
    row = cph.summary.loc["arm"]
    coef = float(cph.params_["arm"])
    lo, hi = (float(v) for v in cph.confidence_intervals_.loc["arm"])  # β ± z·se
    with np.errstate(over="ignore"):  # complete separation: a bound may overflow to inf
        hr, ci_lower, ci_upper = (float(v) for v in np.exp([coef, lo, hi]))
    return HazardRatio(
        hr=hr,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        coef=coef,
        se=float(cph.standard_errors_["arm"]),
        p_value=float(row["p"]),
        alpha=al,
    )


def _months(days: float) -> float:
    return days / DAYS_PER_MONTH if math.isfinite(days) else math.inf


def summarise_survival(
    arms: Mapping[str, SurvivalData],
    *,
    rates_months: Sequence[float] = (12, 24, 36, 60),
    alpha: float = 0.05,
) -> dict[str, dict[str, Any]]:
    """Per-arm summary of one endpoint: n, events, median (months) with CI, landmark rates, HR and log-rank.

    Parameters
    ----------
    arms:
        ``{arm name: SurvivalData}`` (durations in days) for one endpoint (PFS or OS).
    rates_months:
        Landmarks for the survival rates (months of 365.25/12 days).
    alpha:
        1 − confidence level.

    Returns
    -------
    dict
        ``{arm: {"n", "events", "median_months", "median_ci_months": [lo, hi], "rate": {"12": r, ...},
        "hr_vs": {other: {"hr", "ci_lower", "ci_upper", "p_value", "coef", "se"}}, "logrank_p_vs": {other: p},
        "km": KaplanMeier}}``. Medians and their intervals come from lifelines' Kaplan–Meier fit,
        hazard ratios from ``CoxPHFitter`` (arm vs other, Efron ties, Wald interval) and p-values from
        its log-rank test; hazard ratios and log-rank p are left out for a pair of arms without any
        event. A median (or interval bound) not reached is ``math.inf`` (not valid strict JSON: map it
        to ``null`` when writing JSON); a rate at a landmark beyond the longest follow-up is ``nan``
        unless the curve has already reached 0.
    """
    where = "summarise_survival"
    if not isinstance(arms, Mapping) or not arms:
        raise ValidationError("arms", "be a non-empty mapping of arm name to SurvivalData", arms, where)
    for name, d in arms.items():
        if not isinstance(d, SurvivalData):
            raise ValidationError(f"arms[{name!r}]", "be SurvivalData", type(d).__name__, where)
    rm = [_positive("rates_months", r, where, allow_zero=True) for r in rates_months]
    out: dict[str, dict[str, Any]] = {}
    for name, d in arms.items():
        km = kaplan_meier(d, alpha=alpha, label=name)
        rates = km.survival_at(np.array(rm) * DAYS_PER_MONTH)
        out[name] = {
            "n": len(d),
            "events": int(d.event_observed.sum()),
            "median_months": _months(km.median),
            "median_ci_months": [_months(km.median_ci[0]), _months(km.median_ci[1])],
            "rate": {f"{r:g}": float(v) for r, v in zip(rm, rates, strict=True)},
            "hr_vs": {},
            "logrank_p_vs": {},
            "km": km,
        }
    for name, d in arms.items():
        for other, od in arms.items():
            if other == name:
                continue
            if d.event_observed.any() or od.event_observed.any():
                hr = cox_hazard_ratio(d, od, alpha=alpha)
                out[name]["hr_vs"][other] = {
                    "hr": hr.hr,
                    "ci_lower": hr.ci_lower,
                    "ci_upper": hr.ci_upper,
                    "p_value": hr.p_value,
                    "coef": hr.coef,
                    "se": hr.se,
                }
                out[name]["logrank_p_vs"][other] = logrank_test(d, od).p_value
    return out
