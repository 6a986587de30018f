"""Enrol a trial from a virtual population table (a selected or weighted VPop).

The last step of the VPop workflow (population.md §5): plausible patients are sampled and simulated,
a virtual population is selected from them (:func:`~oncoimmune.population.select_virtual_population`,
Allen, Rieger & Musante 2016) or given prevalence weights
(:func:`~oncoimmune.population.weight_virtual_population`, MAPEL), and a trial then enrols its patients
*from that table* instead of drawing new ones. A trial spec says so with ``population.vpop``::

    population:
      tumour_type: melanoma
      vpop: {table: cm067-mapel/vpop.parquet, weight: weight}

Each row of the table is one virtual patient (VP): its covariates (the columns
:func:`~oncoimmune.population.sample_population` writes) and, where the table has them, its model
parameters (``param_NAME`` columns, as a trial's ``patients.parquet`` writes them). With
``sampling: resample`` (the default) trial patient *i* is the VP drawn with probability proportional to
its weight (equal weights unless a column is named) from a uniform of its own stream, so patient *i*
is the same VP whatever the trial size or the number of workers; VPs recur in a trial larger than
the table, and each recurrence gets its own randomisation, adverse-event thresholds, death draws and
reading noise. With ``sampling: in_order`` trial patient *i* is row *i* (every VP once, in order).

A VP keeps its parameters: when the table carries ``param_`` columns they must cover every parameter
that the trial's calibration and spec make vary, and none is redrawn (the VPop was already made of
plausible patients). A table without them gets its parameters drawn per trial patient as usual.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoimmune._validate import read_table
from oncoimmune.errors import ValidationError
from oncoimmune.population._parameters import PARAMETER_PREFIX, _draws, parameter_bounds

__all__ = ["EQUAL_WEIGHTS", "VPopTable", "enrol_rows", "read_vpop_table"]

EQUAL_WEIGHTS = "equal"
"""``population.vpop.weight`` value that draws every VP with the same probability."""

_REQUIRED = ("sex", "age_years", "weight_kg", "height_cm", "tumour_burden_mm")
"""Covariates every VP row must give (the doses and the initial tumour depend on them)."""

_FLAGS = {True: True, False: False, "true": True, "false": False, "True": True, "False": False}
"""Values a ``plausible`` column may hold: a Parquet bool, a CSV's True/False, or 1/0 (equal to True/False as keys)."""

_STREAM = "#vpop_row"
"""Name of the uniform stream that picks each trial patient's VP (a name no parameter can have)."""


@dataclass(frozen=True)
class VPopTable:
    """A checked VPop table: ``covariates`` (one row per VP, covariate columns), ``parameters`` (the
    ``param_`` columns without the prefix, or ``None``), ``weights`` (normalised to sum 1, or ``None``
    for equal weights), ``plausible`` and ``redraws`` (the table's plausibility flag and redraw count, or
    ``None``), ``missing_covariates`` (those the tumour type's population has and the table lacks: their
    model defaults apply), and the file's ``path``,
    ``sha256`` and number of ``rows`` for the trial's provenance."""

    path: Path
    sha256: str
    rows: int
    covariates: pd.DataFrame
    parameters: pd.DataFrame | None
    weights: np.ndarray | None
    plausible: np.ndarray | None
    redraws: np.ndarray | None = None
    missing_covariates: tuple[str, ...] = ()

    def provenance(self, enrolled: np.ndarray, weight: str | None, sampling: str) -> dict[str, Any]:
        """What a trial records about its VPop: the file, its hash, the draw, and how many distinct VPs
        it enrolled (with Kish's effective size of the weights)."""
        w = self.weights
        kish = float(self.rows) if w is None else float(1.0 / np.sum(w**2))
        return {
            "table": str(self.path),
            "sha256": self.sha256,
            "rows": self.rows,
            "weight": weight or EQUAL_WEIGHTS,
            "sampling": sampling,
            "effective_size": round(kish, 3),
            "distinct_enrolled": int(np.unique(enrolled).size),
            "parameters": None if self.parameters is None else list(self.parameters.columns),
            "missing_covariates": self.missing_covariates,
        }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_CACHE: dict[tuple[Any, ...], VPopTable] = {}
_CACHE_SIZE = 4


def read_vpop_table(
    path: str | Path,
    *,
    tumour_type: str,
    model: Any,
    varying: Mapping[str, Any],
    weight: str | None = None,
    field: str = "population.vpop",
) -> VPopTable:
    """Read and check a VPop table for a trial of ``tumour_type`` run on ``model``.

    ``varying`` are the parameter distributions the trial would draw (calibration and spec); a table
    with ``param_`` columns must give every one of them. Every error names ``field`` (``.table``,
    ``.weight``) and, for a value, the row and column. A table read before (same path, size and
    modification time) is not read again.
    """
    from oncoimmune.population._sample import to_covariates

    p = Path(path).expanduser()
    where = f"{field}.table"
    stat = p.stat() if p.is_file() else None
    key = (
        str(p.resolve()),
        None if stat is None else (stat.st_mtime_ns, stat.st_size),
        tumour_type,
        getattr(model, "name", model),
        tuple(sorted(varying)),
        weight,
    )
    if stat is not None and key in _CACHE:
        return _CACHE[key]
    table = read_table(p, where)
    cols = [str(c) for c in table.columns]
    missing = [c for c in _REQUIRED if c not in cols]
    if missing:
        raise ValidationError(where, f"have the covariate column(s) {missing} (as sample_population writes them)", cols)
    if "tumour_type" in cols:
        kinds = table["tumour_type"].astype(str)
        wrong = np.flatnonzero(kinds.to_numpy() != tumour_type)
        if wrong.size:
            r = int(wrong[0])
            raise ValidationError(
                f"{where} row {r}, column tumour_type", f"be {tumour_type!r}, the trial's tumour type", kinds.iloc[r]
            )
    for c in _REQUIRED:
        if c == "sex":
            bad = ~table[c].isin(["female", "male"]).to_numpy()
        else:
            v = pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float)
            bad = ~(np.isfinite(v) & (v > 0))
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            rule = "be 'female' or 'male'" if c == "sex" else "be a finite number > 0"
            raise ValidationError(f"{where} row {r}, column {c}", rule, table[c].iloc[r])

    param_cols = [c for c in cols if c.startswith(PARAMETER_PREFIX)]
    parameters = None
    if param_cols:
        names = [c[len(PARAMETER_PREFIX) :] for c in param_cols]
        absent = sorted(set(varying) - set(names))
        if absent:
            raise ValidationError(
                where,
                "give every parameter the trial draws, or none: add "
                + ", ".join(PARAMETER_PREFIX + a for a in absent)
                + " (the table was made under another calibration?)",
                sorted(param_cols),
            )
        values = {}
        for c, name in zip(param_cols, names, strict=True):
            lo, hi = parameter_bounds(model, name, f"{where} column {c}")
            v = pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float)
            bad = ~(np.isfinite(v) & (v >= lo) & (v <= hi))
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                raise ValidationError(
                    f"{where} row {r}, column {c}",
                    f"be a finite number within the parameter's bounds [{lo}, {hi}]",
                    table[c].iloc[r],
                )
            values[name] = v
        parameters = pd.DataFrame(values)

    weights = None
    if weight is None and "weight" in cols:
        raise ValidationError(
            f"{field}.weight",
            "be given when the table has a 'weight' column: 'weight' to draw VPs by it (MAPEL's prevalence "
            f"weights) or '{EQUAL_WEIGHTS}' to draw them equally",
            None,
        )
    if weight is not None and weight != EQUAL_WEIGHTS:
        from oncoimmune.population._sample import COLUMNS

        if weight not in cols:
            raise ValidationError(f"{field}.weight", f"name a column of the table or be '{EQUAL_WEIGHTS}'", weight)
        if weight in COLUMNS or weight.startswith(PARAMETER_PREFIX):
            raise ValidationError(
                f"{field}.weight", "name a column of weights, not a covariate or a parameter of the patients", weight
            )
        w = pd.to_numeric(table[weight], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(w) & (w >= 0))
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise ValidationError(f"{where} row {r}, column {weight}", "be a finite weight >= 0", table[weight].iloc[r])
        top = float(w.max())
        if not top > 0:
            raise ValidationError(f"{where} column {weight}", "have a positive sum (some VP must have weight)", top)
        w = w / top  # scaled first, so that large weights cannot overflow their sum
        weights = w / w.sum()

    plausible = redraws = None
    if parameters is not None and "plausible" in cols:
        flags = table["plausible"].map(_FLAGS)
        if flags.isna().any():
            r = int(np.flatnonzero(flags.isna().to_numpy())[0])
            raise ValidationError(f"{where} row {r}, column plausible", "be true or false", table["plausible"].iloc[r])
        plausible = flags.to_numpy(dtype=bool)
    if parameters is not None and "plausibility_redraws" in cols:
        r = pd.to_numeric(table["plausibility_redraws"], errors="coerce").to_numpy(dtype=float)
        redraws = np.where(np.isfinite(r), r, 0).astype(np.int64)

    covariates = table[[c for c in cols if c not in param_cols]].reset_index(drop=True)
    try:
        to_covariates(covariates)
    except ValidationError:
        for r in range(len(covariates)):  # the error path only: find the row to name it
            try:
                to_covariates(covariates.iloc[[r]])
            except ValidationError as exc:
                raise ValidationError(f"{where} row {r}, column {exc.field}", exc.rule, exc.value) from None
        raise
    from oncoimmune.population._sample import sample_population

    # covariates the tumour type's population has (not all NaN) that the table does not give: their model
    # defaults apply, and the provenance says which
    reference = sample_population(tumour_type, 1, 0)
    applicable = [c for c in reference.columns if c not in ("patient_id", "tumour_type") and reference[c].notna().all()]
    out = VPopTable(
        missing_covariates=tuple(c for c in applicable if c not in cols),
        path=p.resolve(),
        sha256=_sha256(p),
        rows=len(table),
        covariates=covariates,
        parameters=parameters,
        weights=weights,
        plausible=plausible,
        redraws=redraws,
    )
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = out
    return out


def enrol_rows(vpop: VPopTable, n: int, seed: int, sampling: str = "resample") -> np.ndarray:
    """Row of the VPop table of each of ``n`` trial patients.

    ``resample``: patient *i* takes the row whose cumulative weight first exceeds its own uniform
    (stream ``#vpop_row`` of the seed, by patient index), so the first patients are the same in a trial
    of any size; ``in_order``: patient *i* is row *i* (``n`` at most the number of rows).
    """
    if sampling == "in_order":
        if n > vpop.rows:
            raise ValidationError("patients", f"be at most the VPop table's {vpop.rows} rows (sampling: in_order)", n)
        return np.arange(n)
    if sampling != "resample":
        raise ValidationError("population.vpop.sampling", "be 'resample' or 'in_order'", sampling)
    u = _draws(seed, 0, n, _STREAM)
    if vpop.weights is None:
        return np.minimum((u * vpop.rows).astype(np.int64), vpop.rows - 1)
    cdf = np.cumsum(vpop.weights)
    cdf /= cdf[-1]
    rows = np.searchsorted(cdf, u, side="right")
    return np.minimum(rows, vpop.rows - 1)
