r"""Patient-to-patient variability of model parameters that no covariate measures.

Covariates (PD-L1, TMB, growth, burden ...) explain part of who benefits; the rest is in parameters
nobody measures in the clinic (how hard a patient's T cells kill, how much PD-L1 the infiltrating
myeloid cells carry, how fast a dead lesion is cleared). A :class:`ParameterDistribution` gives one
such parameter either a fixed population value or a log-normal distribution

.. math::

    \ln \theta_i \sim \mathcal N(\ln \tilde\theta, \omega^2), \quad \text{truncated to } [\theta_{lo}, \theta_{hi}]

(the usual inter-individual variability of population PK/PD models, :math:`\omega` the SD of the log),
and :func:`sample_parameters` draws them per patient from random streams that depend only on the
seed, the patient's index and the parameter's name: patient *i* gets the same values whatever the
number of patients, the chunking or the other parameters in the set, as for the covariates
(:func:`~oncoimmune.population.sample_population`).

Truncation is exact (inverse CDF on the truncated interval), not clipping, so no value piles up at
a bound.

A parameter can also be a two-component mixture: with ``fraction`` :math:`\pi < 1`, a share
:math:`\pi` of patients carry the value drawn as above and the others take ``otherwise`` (default 0),
which is how a trait that only some tumours have is written (a pre-existing immune-escape subclone:
either a patient's tumour has one, at some frequency, or it has none). Whether a patient carries it
comes from a stream of its own (the parameter's name + ``"#carrier"``), so the values drawn for
carriers are the same draws as without the mixture. A mixture counts as variable for
:func:`draw_plausible`: an implausible patient is redrawn whole, carrier status included, so the
share of carriers among plausible patients is ``fraction`` only where plausibility does not depend on
the parameter.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import ndtr, ndtri

from oncoimmune.errors import UnknownNameError, ValidationError

__all__ = [
    "MAX_REDRAWS",
    "PARAMETER_PREFIX",
    "PARAMETER_SLOT_BASE",
    "ParameterDistribution",
    "PlausibleRange",
    "check_parameter_set",
    "check_plausible_ranges",
    "draw_plausible",
    "sample_parameters",
]

MAX_REDRAWS = 200
"""Redraws of a patient's variable parameters before :func:`draw_plausible` gives up and flags it."""

PARAMETER_PREFIX = "param_"
"""Prefix of the parameter columns of a patient table (a trial's ``patients.parquet``, a VPop table):
``param_kill_scale`` holds the patient's ``kill_scale``."""

PARAMETER_SLOT_BASE = 1_000_000
"""Stream slots of model parameters start here (covariates use small slot numbers); the slot of a
parameter is this plus the CRC-32 of its name, so adding a parameter never changes another's draws."""


class ParameterDistribution(BaseModel):
    """One model parameter across virtual patients: a fixed ``value``, or ``median`` and ``omega``.

    Attributes
    ----------
    value:
        Population value given to every patient (no variability).
    median, omega:
        Log-normal median (in the parameter's unit) and SD of the log (0 = no variability).
    lower, upper:
        Truncation bounds (default: the model parameter's bounds).
    fraction, otherwise:
        Mixture: the share of patients who carry the drawn (or fixed) value, in (0, 1] (default 1,
        everyone); the others take ``otherwise`` (default 0; it must lie in the parameter's bounds).
    unit, source, flag:
        What the value is in, where it comes from, and its status (V, R, U, C, D), as everywhere in
        the package; a calibration writes its own provenance here.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float | None = Field(default=None, allow_inf_nan=False, description="Fixed population value")
    median: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="Log-normal median")
    omega: float = Field(default=0.0, ge=0, le=5, allow_inf_nan=False, description="SD of ln(parameter)")
    lower: float | None = Field(default=None, allow_inf_nan=False, description="Truncation: least value")
    upper: float | None = Field(default=None, allow_inf_nan=False, description="Truncation: largest value")
    fraction: float = Field(
        default=1.0, gt=0, le=1, allow_inf_nan=False, description="Share of patients who carry the drawn value"
    )
    otherwise: float = Field(default=0.0, allow_inf_nan=False, description="Value of the non-carriers")
    unit: str = ""
    source: str = ""
    flag: Literal["V", "R", "U", "C", "D"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterDistribution:
        if (self.value is None) == (self.median is None):
            raise ValueError("give either value (fixed) or median (with omega)")
        if self.value is not None and self.omega:
            raise ValueError("omega needs a median, not a fixed value")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        if self.median is not None:
            if self.lower is not None and self.median < self.lower:
                raise ValueError(f"median ({self.median}) must be >= lower ({self.lower})")
            if self.upper is not None and self.median > self.upper:
                raise ValueError(f"median ({self.median}) must be <= upper ({self.upper})")
        return self

    @property
    def variable(self) -> bool:
        return (self.median is not None and self.omega > 0) or self.fraction < 1.0


def _slot(name: str) -> int:
    return PARAMETER_SLOT_BASE + zlib.crc32(name.encode("utf-8"))


def parameter_bounds(model: Any, name: str, where: str = "parameters") -> tuple[float, float]:
    """Bounds of a patient parameter of ``model``: a model parameter, or a drug's exposure-effect
    parameter ``DRUG:NAME`` (:func:`oncoimmune.treatments.drug_parameter`); an unknown name is an error
    naming ``where``."""
    if ":" in name:
        from oncoimmune.treatments._plan import drug_parameter

        _, lo, hi, _ = drug_parameter(model, name, f"{where}.{name}")
        return lo, hi
    names = [p.name for p in model.parameters]
    if name not in names:
        raise UnknownNameError(where, name, names, f"the {model.name} parameters")
    return model.parameters[names.index(name)].bounds


def check_parameter_set(model: Any, parameters: Mapping[str, Any], where: str = "parameters") -> dict[str, Any]:
    """Validate ``{name: ParameterDistribution | mapping}`` against ``model``: known names, values and
    truncation bounds inside the parameter's bounds. Returns ``{name: ParameterDistribution}`` with the
    model bounds filled in where no truncation was given."""
    from pydantic import ValidationError as PydanticValidationError

    if not isinstance(parameters, Mapping):
        raise ValidationError(where, "be a mapping of parameter names to {value} or {median, omega}", parameters)
    out: dict[str, ParameterDistribution] = {}
    for name, raw in parameters.items():
        field = f"{where}.{name}"
        lo, hi = parameter_bounds(model, name, where)
        if isinstance(raw, ParameterDistribution):
            dist = raw
        else:
            try:
                dist = ParameterDistribution.model_validate(raw)
            except PydanticValidationError as exc:
                err = exc.errors()[0]
                sub = ".".join(str(x) for x in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                raise ValidationError(
                    f"{field}.{sub}" if sub else field, "be valid: " + msg, err.get("input")
                ) from None
        keys = ("value", "median", "lower", "upper") + (("otherwise",) if dist.fraction < 1.0 else ())
        for key in keys:
            v = getattr(dist, key)
            if v is not None and not lo <= v <= hi:
                extra = " (otherwise defaults to 0)" if key == "otherwise" else ""
                raise ValidationError(f"{field}.{key}", f"be within the parameter's bounds [{lo}, {hi}]{extra}", v)
        if dist.median is not None:
            dist = dist.model_copy(
                update={
                    "lower": lo if dist.lower is None else dist.lower,
                    "upper": hi if dist.upper is None else dist.upper,
                }
            )
        out[name] = dist
    return out


def _draws(seed: int, start: int, n: int, name: str, attempt: int = 0) -> np.ndarray:
    """Uniforms on (0, 1) of patients ``start .. start + n - 1`` for parameter ``name`` (block streams;
    attempt ``a > 0`` is an independent redraw used by :func:`draw_plausible`)."""
    from oncoimmune.population._sample import BLOCK_SIZE

    first, last = start // BLOCK_SIZE, (start + n - 1) // BLOCK_SIZE
    parts = []
    for block in range(first, last + 1):
        key = (_slot(name), block) if attempt == 0 else (_slot(name), block, attempt)
        seq = np.random.SeedSequence(seed, spawn_key=key)
        parts.append(np.random.Generator(np.random.PCG64(seq)).random(BLOCK_SIZE))
    offset = start - first * BLOCK_SIZE
    return np.concatenate(parts)[offset : offset + n]


def sample_parameters(
    parameters: Mapping[str, ParameterDistribution], n: int, seed: int, *, start: int = 0, attempt: int = 0
) -> pd.DataFrame:
    """Parameter values of patients ``start .. start + n - 1``: one column per parameter, one row per patient.

    ``parameters`` as returned by :func:`check_parameter_set`. Fixed values are repeated; log-normal
    ones are drawn by inverse CDF on the truncated interval from the patient's own stream; with a
    ``fraction`` below 1, the non-carriers (a uniform draw of their own at or above ``fraction``) take
    ``otherwise``.
    """
    for key, v, lo in (("n", n, 1), ("seed", seed, 0), ("start", start, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValidationError(key, f"be an integer >= {lo}", v, "sample_parameters")
    cols: dict[str, np.ndarray] = {}
    for name, d in parameters.items():
        if d.value is not None:
            cols[name] = np.full(n, float(d.value))
        elif d.omega == 0.0:  # a median without spread (possibly the carriers' value of a mixture)
            cols[name] = np.full(n, float(d.median))
        else:
            mu, om = math.log(d.median), d.omega
            a = 0.0 if not d.lower or d.lower <= 0 else float(ndtr((math.log(d.lower) - mu) / om))
            b = 1.0 if d.upper is None or math.isinf(d.upper) else float(ndtr((math.log(d.upper) - mu) / om))
            u = a + _draws(seed, start, n, name, attempt) * (b - a)
            cols[name] = np.exp(mu + om * ndtri(np.clip(u, 1e-300, 1.0 - 1e-16)))
            if d.lower is not None:
                cols[name] = np.maximum(cols[name], d.lower)
            if d.upper is not None:
                cols[name] = np.minimum(cols[name], d.upper)
        if d.fraction < 1.0:
            carrier = _draws(seed, start, n, name + "#carrier", attempt) < d.fraction
            cols[name] = np.where(carrier, cols[name], float(d.otherwise))
    return pd.DataFrame(cols, index=pd.RangeIndex(start, start + n))


class PlausibleRange(BaseModel):
    """A range a patient's *resulting* model parameter must fall in (after the covariates are read and
    the model's solves, e.g. io_qsp's intrinsic growth rate ``kg``), with the reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lower: float | None = Field(default=None, allow_inf_nan=False)
    upper: float | None = Field(default=None, allow_inf_nan=False)
    unit: str = ""
    source: str = ""
    flag: Literal["V", "R", "U", "C", "D"] | None = None

    @model_validator(mode="after")
    def _some(self) -> PlausibleRange:
        if self.lower is None and self.upper is None:
            raise ValueError("give lower, upper or both")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self

    def holds(self, x: float) -> bool:
        return (self.lower is None or x >= self.lower) and (self.upper is None or x <= self.upper)


def check_plausible_ranges(
    model: Any, ranges: Mapping[str, Any], where: str = "plausible"
) -> dict[str, PlausibleRange]:
    """Validate ``{parameter: {lower, upper}}`` against ``model``'s parameter names."""
    from pydantic import ValidationError as PydanticValidationError

    if not isinstance(ranges, Mapping):
        raise ValidationError(where, "be a mapping of parameter names to {lower, upper}", ranges)
    names = [p.name for p in model.parameters]
    out: dict[str, PlausibleRange] = {}
    for name, raw in ranges.items():
        if name not in names:
            raise UnknownNameError(where, name, names, f"the {model.name} parameters")
        if isinstance(raw, PlausibleRange):
            out[name] = raw
            continue
        try:
            out[name] = PlausibleRange.model_validate(raw)
        except PydanticValidationError as exc:
            err = exc.errors()[0]
            sub = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            raise ValidationError(
                f"{where}.{name}" + (f".{sub}" if sub else ""), "be valid: " + msg, err.get("input")
            ) from None
    return out


def draw_plausible(
    model: Any,
    covariates: Any,
    parameters: Mapping[str, ParameterDistribution],
    seed: int,
    plausible: Mapping[str, PlausibleRange],
    *,
    start: int = 0,
    max_redraws: int = MAX_REDRAWS,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Parameters of plausible virtual patients (the plausible-patient step of Allen, Rieger & Musante
    2016, population.md §5.1), conditioned on each patient's covariates.

    Patient ``start + k`` first gets the draws of :func:`sample_parameters`; while its resulting model
    parameters (``model.patient(covariates[k], drawn)``, so solved quantities such as io_qsp's ``kg``
    count) leave a ``plausible`` range, its *variable* parameters are redrawn from the next
    independent attempt stream. Covariates are never redrawn: they are what was observed. Everything
    depends only on the seed, the patient's index and the parameter names, so a patient's values do not
    change with the size of the trial or the number of workers.

    Returns ``(values, redraws, plausible)``: the parameter table (rows as ``covariates``), the number of
    redraws per patient, and whether the patient ended plausible (``False`` only when ``max_redraws``
    attempts all failed, or no parameter varies; such a patient is kept and reported, not dropped).
    """
    covs = list(covariates)
    n = len(covs)
    values = sample_parameters(parameters, n, seed, start=start).reset_index(drop=True)
    redraws = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    if not plausible:
        return values, redraws, ok
    variable = [k for k, d in parameters.items() if d.variable]

    def check(rows: np.ndarray) -> np.ndarray:
        good = np.ones(rows.size, dtype=bool)
        for j, i in enumerate(rows):
            drawn = {k: float(v) for k, v in values.iloc[i].items() if ":" not in k}  # drugs: not the patient's
            try:
                solved, _, _ = model.patient(covs[i], drawn)
            except ValidationError:  # e.g. drawn fractions that cannot coexist: implausible, redraw
                good[j] = False
                continue
            q = {**drawn, **solved}
            for name, rng in plausible.items():
                x = q.get(name, float(model.parameter_values(None)[model.parameter_index(name)]))
                if not rng.holds(x):
                    good[j] = False
                    break
        return good

    todo = np.arange(n)
    todo = todo[~check(todo)]
    attempt = 0
    while todo.size and variable and attempt < max_redraws:
        attempt += 1
        fresh = sample_parameters(parameters, n, seed, start=start, attempt=attempt).reset_index(drop=True)
        for k in variable:
            values.loc[todo, k] = fresh.loc[todo, k].to_numpy()
        redraws[todo] += 1
        todo = todo[~check(todo)]
    ok[todo] = False
    return values, redraws, ok
