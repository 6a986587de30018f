r"""Virtual-population selection after Allen, Rieger & Musante 2016 (population.md §5.1).

Plausible patients (PPs) are candidates whose simulated observables lie inside physiological bounds;
a virtual population (VPop) is the subset of them whose observables follow the distribution measured
in real patients. :func:`select_virtual_population` carries out steps 4-9 of the method as written
out in ../shared/reference/population.md §5.1 (Allen RJ, Rieger TR, Musante CJ, CPT Pharmacometrics
Syst Pharmacol 2016;5:140, and the public ``openPfizer/vpop-gen`` code):

4. observables are transformed as the data (log where asked) and standardised,
   :math:`z = (y - \mu)/\sigma`, with the data's mean and standard deviations;
5. the target density :math:`f_{data}` is a multivariate normal fitted to the data (or given by its mean
   and covariance, when only summary statistics are published), evaluated at every PP;
6. the PPs' own density at each PP by k-nearest neighbours in standardised space,
   :math:`\rho_j = k / V_n(r_{k,j})` with :math:`V_n(r) = \pi^{n/2} r^n / \Gamma(n/2 + 1)`, k = 5;
7. the probability of inclusion :math:`p_j = f_{data}(y_j) / \rho_j`;
8. PP j is selected when :math:`u_j < \beta p_j`; :math:`\log_{10}\beta` is chosen by simulated annealing
   (scipy's ``dual_annealing``) to minimise the mean, over 10 random selections, of the summed
   one-sample Kolmogorov-Smirnov statistic of the selected standardised observables against N(0, 1);
9. with that :math:`\beta` the selection is drawn 100 times and the draw with the lowest summed KS statistic
   is the VPop (the mean and SD of the score over the 100 draws are reported). VPs are unweighted.

Deviation, stated: the reference bounds :math:`\log_{10}\beta` to :math:`[0, \log_{10}(1000/\max p)]` from a
start at :math:`\log_{10}(1/\max p)`, which lies below that lower bound whenever :math:`\max p > 1`; here
the search interval is :math:`[\log_{10}(1/\max p), \log_{10}(1000/\max p)]`, three decades from "only the
most probable PP is certain" to "a thousand times that". When :math:`\max p < 1`, the usual case, the
reference also searches below :math:`1/\max p`, where the selection only thins.
The 10 selections behind each evaluation of step 8 use the same uniform draws for every
:math:`\beta` (common random numbers), so the objective is a deterministic function of :math:`\beta` and a
seed gives the same VPop on every machine.

>>> import numpy as np
>>> from oncoimmune.population import select_virtual_population
>>> rng = np.random.default_rng(0)
>>> pps = rng.uniform(-4, 4, size=(4000, 2))              # candidates spread wide
>>> data = rng.normal(0, 1, size=(300, 2))                 # what real patients show
>>> vpop = select_virtual_population(pps, data=data, seed=1)
>>> bool(vpop.ks_pvalue.min() > 0.05)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from oncoimmune._validate import integer, read_table
from oncoimmune.errors import ValidationError

__all__ = [
    "MapelSpec",
    "VPopSelection",
    "VPopTarget",
    "load_vpop_target",
    "read_table",
    "select_from_table",
    "select_virtual_population",
    "weight_table",
]


@dataclass(frozen=True)
class VPopSelection:
    """The result of :func:`select_virtual_population`.

    ``selected``: indices of the chosen PPs (ascending); ``inclusion``: each PP's probability of inclusion
    :math:`p_j` (step 7, before scaling); ``beta``: the scale factor of step 8; ``ks_statistic`` and
    ``ks_pvalue``: per observable, the one-sample KS test of the selected standardised values against
    N(0, 1); ``score``: their summed statistic for the chosen draw; ``score_mean`` and ``score_sd``: over the
    ``repeats`` draws of step 9; ``provenance``: method, settings and seed.
    """

    selected: np.ndarray
    inclusion: np.ndarray
    beta: float
    ks_statistic: np.ndarray
    ks_pvalue: np.ndarray
    score: float
    score_mean: float
    score_sd: float
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n_selected(self) -> int:
        return int(self.selected.size)


def _finite_matrix(name: str, value: Any, columns: int | None) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(name, "be a numeric array", type(value).__name__) from None
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValidationError(name, "be a non-empty 2-D array (rows: patients, columns: observables)", a.shape)
    if columns is not None and a.shape[1] != columns:
        raise ValidationError(name, f"have {columns} observable columns, as the plausible patients", a.shape[1])
    bad = ~np.isfinite(a)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValidationError(f"{name}[{r}, {c}]", "be finite", a[r, c])
    return a


def _transform(name: str, a: np.ndarray, log: np.ndarray) -> np.ndarray:
    if log.any():
        neg = (a[:, log] <= 0).any(axis=1)
        if neg.any():
            r = int(np.flatnonzero(neg)[0])
            c = int(np.flatnonzero(log)[np.argmax(a[r, log] <= 0)])
            raise ValidationError(f"{name}[{r}, {c}]", "be > 0 (this observable is compared on a log scale)", a[r, c])
        a = a.copy()
        a[:, log] = np.log(a[:, log])
    return a


def _ks_sum(z: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Summed one-sample KS statistic of each column of z against N(0, 1); 1 per column when z is empty."""
    from scipy.stats import kstest

    if z.shape[0] == 0:
        ones = np.ones(z.shape[1])
        return float(z.shape[1]), ones, np.zeros(z.shape[1])
    res = [kstest(z[:, i], "norm") for i in range(z.shape[1])]
    stat = np.array([r.statistic for r in res], dtype=float)
    pval = np.array([r.pvalue for r in res], dtype=float)
    return float(stat.sum()), stat, pval


def select_virtual_population(
    plausible: Any,
    *,
    data: Any = None,
    mean: Sequence[float] | None = None,
    cov: Any = None,
    log: bool | Sequence[bool] = False,
    k: int = 5,
    seed: int = 0,
    repeats: int = 100,
    draws_per_beta: int = 10,
) -> VPopSelection:
    """Select a virtual population from plausible patients so that their observables follow the data's.

    Parameters
    ----------
    plausible
        The PPs' observables, shape ``(n_pp, n_obs)`` (a 1-D array is one observable).
    data
        Observed patients' values, shape ``(n_data, n_obs)``: the target is the multivariate normal fitted
        to them (on the log scale for the ``log`` observables). Give either ``data`` or ``mean`` and ``cov``.
    mean, cov
        The target normal on the transformed scale, when only summary statistics are published (for
        instance the median and log-SD of baseline tumour burden: ``mean = [log(median)]``, ``cov = [[sd**2]]``).
    log
        Per observable (or one value for all): compare on the log scale.
    k
        Neighbours for the PPs' density (step 6; 5 in the method).
    seed
        Every random draw (the selections of steps 8 and 9, and the annealing) follows from it.
    repeats, draws_per_beta
        Draws of the final selection (100) and selections averaged per evaluation of beta (10).
    """
    from scipy.optimize import dual_annealing
    from scipy.spatial import cKDTree
    from scipy.stats import multivariate_normal

    pp = _finite_matrix("plausible", plausible, None)
    n_pp, n_obs = pp.shape
    logs = np.asarray(log, dtype=bool)
    if logs.ndim == 0:
        logs = np.full(n_obs, bool(logs))
    elif logs.shape != (n_obs,):
        raise ValidationError("log", f"be one flag or one per observable ({n_obs})", list(np.asarray(log)))
    k = integer("k", k, 1)
    repeats = integer("repeats", repeats, 1)
    draws_per_beta = integer("draws_per_beta", draws_per_beta, 1)
    seed = integer("seed", seed, 0)
    if n_pp <= k:
        raise ValidationError("plausible", f"hold more patients than k ({k}) for the k-nearest-neighbour density", n_pp)
    y = _transform("plausible", pp, logs)

    if data is not None:
        if mean is not None or cov is not None:
            raise ValidationError("data", "be given alone (or give mean and cov instead)", "data and mean/cov")
        obs = _transform("data", _finite_matrix("data", data, n_obs), logs)
        if obs.shape[0] < n_obs + 1:
            raise ValidationError("data", f"hold at least {n_obs + 1} patients to fit a {n_obs}-D normal", obs.shape[0])
        mu = obs.mean(axis=0)
        sigma = np.atleast_2d(np.cov(obs, rowvar=False))
    else:
        if mean is None and cov is None:
            raise ValidationError("data", "be given, or mean and cov of the target normal", None)
        if mean is None or cov is None:
            missing = "mean" if mean is None else "cov"
            raise ValidationError(missing, "be given with the other (mean and cov of the target normal)", None)
        try:
            mu = np.asarray(mean, dtype=float).reshape(-1)
            sigma = np.atleast_2d(np.asarray(cov, dtype=float))
        except (TypeError, ValueError):
            raise ValidationError("mean", "be numbers (and cov a matrix of numbers)", mean) from None
        if mu.shape != (n_obs,) or not np.all(np.isfinite(mu)):
            raise ValidationError("mean", f"hold {n_obs} finite values, one per observable", np.asarray(mean).tolist())
        if sigma.shape != (n_obs, n_obs) or not np.all(np.isfinite(sigma)):
            raise ValidationError("cov", f"be a finite {n_obs}x{n_obs} matrix", sigma.shape)
    if not np.allclose(sigma, sigma.T) or np.linalg.eigvalsh(sigma).min() <= 0:
        raise ValidationError("cov", "be symmetric positive definite (the target normal's covariance)", sigma.tolist())

    # step 4: standardise with the target's mean and standard deviations
    sd = np.sqrt(np.diag(sigma))
    z = (y - mu) / sd
    corr = sigma / np.outer(sd, sd)
    # step 5: the target density at each PP (standardised coordinates)
    f_data = multivariate_normal(mean=np.zeros(n_obs), cov=corr).pdf(z).reshape(n_pp)
    # step 6: the PPs' density by k nearest neighbours (the PP itself excluded)
    dist, _ = cKDTree(z).query(z, k=k + 1)
    r_k = dist[:, k]
    if np.any(r_k <= 0):
        raise ValidationError("plausible", f"hold no point repeated more than {k} times (zero k-NN radius)", n_pp)
    volume = math.pi ** (n_obs / 2) / math.gamma(n_obs / 2 + 1) * r_k**n_obs
    rho = k / volume
    # step 7
    p = f_data / rho
    p_max = float(p.max())
    if not p_max > 0:
        raise ValidationError("plausible", "reach the target's support (every inclusion probability is 0)", n_pp)

    rng = np.random.default_rng(seed)
    u_search = rng.random((draws_per_beta, n_pp))

    def selections_score(log10_beta: float, u: np.ndarray) -> np.ndarray:
        chosen = u < (10.0**log10_beta) * p
        return np.array([_ks_sum(z[row])[0] for row in chosen])

    # step 8: log10(beta) by simulated annealing on the mean summed KS of draws_per_beta selections
    lo, hi = math.log10(1.0 / p_max), math.log10(1000.0 / p_max)
    found = dual_annealing(
        lambda x: float(selections_score(float(x[0]), u_search).mean()),
        bounds=[(lo, hi)],
        x0=np.array([lo]),
        maxiter=100,
        seed=int(rng.integers(2**31)),
        no_local_search=True,  # plain generalised simulated annealing, as the method: the objective is a step function
    )
    log10_beta = float(found.x[0])
    # step 9: repeat the selection; keep the draw with the lowest summed KS statistic
    u_final = rng.random((repeats, n_pp))
    scores = selections_score(log10_beta, u_final)
    best = int(np.argmin(scores))
    selected = np.flatnonzero(u_final[best] < (10.0**log10_beta) * p)
    score, stat, pval = _ks_sum(z[selected])
    return VPopSelection(
        selected=selected,
        inclusion=p,
        beta=10.0**log10_beta,
        ks_statistic=stat,
        ks_pvalue=pval,
        score=score,
        score_mean=float(scores.mean()),
        score_sd=float(scores.std(ddof=1)) if repeats > 1 else 0.0,
        provenance={
            "method": "Allen, Rieger & Musante 2016 prevalence selection (population.md §5.1, steps 4-9)",
            "target": "normal fitted to data" if data is not None else "normal given by mean and cov",
            "target_mean": mu.tolist(),
            "target_cov": sigma.tolist(),
            "log": logs.tolist(),
            "k": int(k),
            "seed": int(seed),
            "repeats": int(repeats),
            "draws_per_beta": int(draws_per_beta),
            "plausible": int(n_pp),
            "selected": int(selected.size),
        },
    )


# -- a target file and a table of plausible patients (``oncoimmune vpop``) ------------------------------------


class _Observable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    column: str = Field(min_length=1)
    log: bool = False


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    data: str | None = None
    mean: list[float] | None = None
    cov: list[list[float]] | None = None


class VPopTarget(BaseModel):
    """A selection target read from YAML (``oncoimmune vpop TABLE --target TARGET.yaml``).

    ``observables``: the table's columns compared, each ``{column, log}``; ``target``: either ``data`` (a CSV or
    Parquet file of observed patients with those columns, relative to the YAML file) or ``mean`` and ``cov``
    of the target normal on the transformed scale; ``source``: where the target comes from; ``k``: neighbours
    for the PPs' density (5).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    method: Literal["select"] = "select"
    observables: list[_Observable] = Field(min_length=1)
    target: _Target
    source: str = Field(min_length=1)
    k: int = Field(default=5, ge=1)


class _Figure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    column: str = Field(min_length=1)
    arm: str | None = None
    equals: list[str | int | float | bool] | None = None
    rate: float | None = Field(default=None, ge=0.0, le=1.0)
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0.0)
    n: int = Field(ge=2)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> _Figure:
        if self.rate is not None:
            if self.mean is not None or self.sd is not None or not self.equals:
                raise ValueError("a rate needs `equals` (the values that count) and no mean or sd")
        elif self.mean is None or self.sd is None or self.equals is not None:
            raise ValueError("give either rate with equals, or mean and sd")
        return self


class MapelSpec(BaseModel):
    """A weighting problem read from YAML (``oncoimmune vpop TABLE --target SPEC.yaml`` with ``method: mapel``).

    ``axes``: the table's numeric columns that serve as mechanistic axes; ``targets``: published figures, each
    ``{name, column, arm, rate + equals | mean + sd, n, source}`` (a rate counts the rows whose ``column`` is
    one of ``equals``, among the rows of ``arm`` if given); ``bins``, ``starts``, ``alpha``, ``spread``,
    ``min_effective_n``: as :func:`~oncoimmune.population.weight_virtual_population`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    method: Literal["mapel"]
    axes: list[str] = Field(min_length=1)
    targets: list[_Figure] = Field(min_length=1)
    bins: int = Field(default=2, ge=2)
    starts: int = Field(default=5, ge=1)
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    spread: float = Field(default=0.0, ge=0.0)
    min_effective_n: float = Field(default=0.0, ge=0.0)
    source: str = Field(min_length=1)


def load_vpop_target(path: str | Path) -> tuple[VPopTarget | MapelSpec, np.ndarray | None]:
    """Read and validate a target file; return it and the observed data it names (None for mean/cov and
    for a MAPEL weighting problem, ``method: mapel``)."""
    from pydantic import ValidationError as PydanticValidationError

    from oncoimmune._validate import read_yaml

    p = Path(path)
    raw = read_yaml(p, "target")
    try:
        if isinstance(raw, dict) and raw.get("method") == "mapel":
            return MapelSpec.model_validate(raw), None
        target = VPopTarget.model_validate(raw)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "target"
        value = None if err["type"] == "missing" else err.get("input")
        rule = "be given" if err["type"] == "missing" else "be valid: " + err["msg"].removeprefix("Value error, ")
        raise ValidationError(field, rule, value, p.name) from None
    t = target.target
    if (t.data is None) == (t.mean is None and t.cov is None):
        raise ValidationError("target", "give either data or mean and cov", t.model_dump(), p.name)
    if t.data is None:
        if t.mean is None or t.cov is None:
            raise ValidationError("target", "give both mean and cov", t.model_dump(), p.name)
        if len(t.mean) != len(target.observables):
            raise ValidationError("target.mean", f"have one value per observable ({len(target.observables)})", t.mean)
        return target, None
    frame = read_table(p.parent / t.data, "target.data")
    columns = [o.column for o in target.observables]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError("target.data", f"have the observable columns {columns}", f"{t.data}: no {missing}")
    return target, frame[columns].to_numpy(dtype=float)


def _numeric_columns(table: pd.DataFrame, columns: list[str], fields: list[str]) -> np.ndarray:
    """The named columns as floats; a column that is not numeric is named by its field in the YAML file."""
    for name, c in zip(fields, columns, strict=True):
        if not pd.api.types.is_numeric_dtype(table[c]) or pd.api.types.is_bool_dtype(table[c]):
            raise ValidationError(name, "name a numeric column", c)
    return table[columns].to_numpy(dtype=float)


def select_from_table(
    table: pd.DataFrame, target: VPopTarget, data: np.ndarray | None, *, seed: int = 0
) -> tuple[pd.DataFrame, VPopSelection]:
    """Select the rows of ``table`` (plausible patients) that make a VPop for ``target``.

    Returns the selected rows, with the PP's row number (``pp_index``) and probability of inclusion
    (``inclusion``) added, and the selection."""
    columns = [o.column for o in target.observables]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValidationError("observables", f"name columns of the table ({list(table.columns)})", missing)
    t = target.target
    values = _numeric_columns(table, columns, [f"observables.{i}.column" for i in range(len(columns))])
    try:
        vpop = select_virtual_population(
            values,
            data=data,
            mean=t.mean if data is None else None,
            cov=t.cov if data is None else None,
            log=[o.log for o in target.observables],
            k=target.k,
            seed=seed,
        )
    except ValidationError as exc:  # name the table's row and column rather than the array's indices
        head, _, index = exc.field.partition("[")
        if index and head in ("plausible", "data"):
            row, col = (int(i) for i in index.rstrip("]").split(","))
            where = "table" if head == "plausible" else "target.data"
            raise ValidationError(f"{where} column {columns[col]!r} row {row}", exc.rule, exc.value) from None
        raise
    out = table.iloc[vpop.selected].copy()
    out.insert(0, "pp_index", vpop.selected)
    out["inclusion"] = vpop.inclusion[vpop.selected]
    vpop.provenance.update(name=target.name, source=target.source, observables=columns)
    return out.reset_index(drop=True), vpop


def outcome_summary(frame: pd.DataFrame) -> dict[str, dict[str, float | int | None]]:
    """Per arm (one group ``all`` without an ``arm`` column): the patients, and where the table has them
    (a trial's ``patients.parquet``), the objective response rate from ``best_overall_response`` and the
    Kaplan-Meier median PFS and OS in months from ``pfs_days``/``pfs_event`` and ``os_days``/``os_event``.
    Applied to the plausible patients and to the VPop, it shows what the selection changes."""
    from oncoimmune.trial._survival import DAYS_PER_MONTH, kaplan_meier

    groups = frame.groupby("arm", sort=True) if "arm" in frame.columns else [("all", frame)]
    out: dict[str, dict[str, float | int | None]] = {}
    for arm, g in groups:
        row: dict[str, float | int | None] = {"n": len(g)}
        if "best_overall_response" in g.columns and len(g):
            row["orr"] = float(g["best_overall_response"].isin(["CR", "PR"]).mean())
        for end in ("pfs", "os"):
            if {f"{end}_days", f"{end}_event"} <= set(g.columns) and len(g):
                km = kaplan_meier(g[f"{end}_days"].to_numpy(float), g[f"{end}_event"].to_numpy(bool))
                months = km.median / DAYS_PER_MONTH
                row[f"median_{end}_months"] = months if math.isfinite(months) else None  # None: not reached
        out[str(arm)] = row
    return out


def weight_table(table: pd.DataFrame, spec: MapelSpec, *, seed: int = 0) -> tuple[pd.DataFrame, Any]:
    """MAPEL weights for the rows of ``table``: the table with a ``weight`` column, and the fit."""
    from oncoimmune.population._mapel import weight_virtual_population

    for i, col in enumerate(spec.axes):
        if col not in table.columns:
            raise ValidationError(f"axes.{i}", f"name a column of the table ({list(table.columns)})", col)
    axes = _numeric_columns(table, list(spec.axes), [f"axes.{i}" for i in range(len(spec.axes))])
    targets = []
    for i, f in enumerate(spec.targets):
        if f.column not in table.columns:
            raise ValidationError(
                f"targets.{i}.column", f"name a column of the table ({list(table.columns)})", f.column
            )
        rows = np.ones(len(table), dtype=bool)
        if f.arm is not None:
            if "arm" not in table.columns or f.arm not in set(table["arm"]):
                arms = sorted(set(table["arm"])) if "arm" in table.columns else []
                raise ValidationError(f"targets.{i}.arm", f"be an arm of the table ({arms})", f.arm)
            rows = (table["arm"] == f.arm).to_numpy()
        if rows.sum() < 2:
            raise ValidationError(f"targets.{i}.arm", "have at least 2 rows in the table", f"{f.arm}: {rows.sum()}")
        if f.rate is not None:
            values = np.where(rows, table[f.column].isin(f.equals).to_numpy(dtype=float), np.nan)
            targets.append({"name": f.name, "values": values, "rate": f.rate, "n": f.n})
        else:
            col = _numeric_columns(table, [f.column], [f"targets.{i}.column"])[:, 0]
            bad = rows & ~np.isfinite(col)
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                raise ValidationError(f"table column {f.column!r} row {r}", "be finite (a mean target's value)", col[r])
            targets.append(
                {"name": f.name, "values": np.where(rows, col, np.nan), "mean": f.mean, "sd": f.sd, "n": f.n}
            )
    try:
        fit = weight_virtual_population(
            axes,
            targets,
            bins=spec.bins,
            starts=spec.starts,
            seed=seed,
            alpha=spec.alpha,
            spread=spec.spread,
            min_effective_n=spec.min_effective_n,
        )
    except ValidationError as exc:  # name the table's column rather than the array's index
        head, _, index = exc.field.partition("[")
        if head == "axes" and index:
            r, c = (part.strip() for part in index.rstrip("]").split(","))
            col = spec.axes[int(c)]
            where = f"axes column {col!r}" if r == ":" else f"table column {col!r} row {r}"
            raise ValidationError(where, exc.rule, exc.value) from None
        raise
    fit.provenance.update(name=spec.name, source=spec.source, axes=list(spec.axes))
    out = table.copy()
    out["weight"] = fit.weights
    return out, fit
