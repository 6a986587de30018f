r"""Marginal distributions, their data files, and the latent correlation tree of a tumour type.

Each tumour type is one YAML file in ``oncoimmune/population/data/`` (with the shared entries of
``common.yaml``): every number is a :class:`Number` with its unit, its source and its
population.md flag (**V** seen in a source, **R** recalled, **U** uncertain or chosen here, **D**
derived by arithmetic from V values, the arithmetic in ``note``).

Every continuous marginal is a monotone transform of one standard-normal score :math:`z`
(its *latent* score), so that a Gaussian copula over the scores gives correlated covariates with
exactly the declared marginals:

=====================  =========================================================================
kind                   value from the latent score :math:`z` (:math:`u = \Phi(z)`)
=====================  =========================================================================
``truncated_normal``   :math:`\mu + \sigma\,\Phi^{-1}(\Phi(a') + u\,[\Phi(b') - \Phi(a')])`,
                       :math:`a' = (a - \mu)/\sigma`, :math:`b' = (b - \mu)/\sigma`
``lognormal``          split (two-piece) log-normal around its median :math:`m`:
                       :math:`x = m\,e^{\sigma(w)\,w}`, :math:`\sigma(w) = \sigma_{below}` if
                       :math:`w < 0` else :math:`\sigma_{above}`, truncated to :math:`[a, b]`
                       as above (:math:`w` the truncated score); equal sigmas give the ordinary
                       log-normal
``*_by_sex``           the same with sex-specific location (and scale); sex is drawn first
``ordinal``            level :math:`k` when :math:`c_{k-1} < z \le c_k`,
                       :math:`c_k = \Phi^{-1}(p_1 + \dots + p_k)` (ordinal probit)
``strata``             a mixture of strata :math:`[l_j, h_j)` with shares :math:`s_j`: :math:`u`
                       picks the stratum, its position inside the stratum gives the value,
                       uniform or log-uniform (PD-L1 by TPS stratum; CAR-antigen fraction)
``tmb_mixture``        truncated log-normal for microsatellite-stable tumours, log-uniform on
                       :math:`[a_{MSI}, b_{MSI}]` for MSI-high ones (prevalence
                       :math:`p_{MSI}`); the same score maps through either component
=====================  =========================================================================

Correlations are declared as the edges of a tree over the latent scores, either directly
(``rho``) or as a published regression slope :math:`b` of one covariate's normal scale
:math:`g_y` (:math:`\ln` for log-normals) on another's, :math:`g_x`, converted to a latent
correlation to first order in the Hermite expansion,
:math:`\rho = b\,\mathrm{Var}(g_x)/(\mathrm{Cov}(g_x, z_x)\,\mathrm{Cov}(g_y, z_y))`: this is
:math:`b\,\sigma_x/\sigma_y` for normal and log-normal scales, uses the two half-spreads of a split
log-normal, and :math:`\mathrm{Cov}(z_K, K) = \sum_k \varphi(c_k)` when the regressor is an
ordinal count :math:`K = 1 + \sum_k 1[z_K > c_k]`. Every pair not joined by an edge has the product of the edge
correlations along the path between them (zero across components): the covariates are
conditionally independent given their neighbours, the correlation matrix is positive definite
by construction, and it is recorded with every sampled population.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from scipy.special import ndtr, ndtri

from oncoimmune._validate import read_yaml
from oncoimmune.errors import UnknownNameError, ValidationError

__all__ = [
    "DATA_DIR",
    "Continuous",
    "LogNormal",
    "LogUniform",
    "Number",
    "Ordinal",
    "Strata",
    "TMBMixture",
    "TruncatedNormal",
    "TumourType",
    "load_tumour_type",
    "tumour_type_names",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Directory of the tumour-type data files shipped with the package."""

Flag = Literal["V", "R", "U", "D"]

_EPS = 1e-12


# -- the data-file schema -----------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Number(_Frozen):
    """A number with its unit, its source and its population.md flag (V, R, U, D)."""

    value: float
    unit: str
    source: str = Field(min_length=3)
    flag: Flag
    note: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _finite(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            raise ValueError("must be a finite YAML number")
        return v


class _TruncNormalSpec(_Frozen):
    distribution: Literal["truncated_normal"]
    mean: Number
    sd: Number
    lower: Number
    upper: Number


class _SexPart(_Frozen):
    mean: Number | None = None
    sd: Number | None = None
    median: Number | None = None


class _NormalBySexSpec(_Frozen):
    distribution: Literal["normal_by_sex"]
    male: _SexPart
    female: _SexPart
    lower: Number
    upper: Number


class _LogNormalBySexSpec(_Frozen):
    distribution: Literal["lognormal_by_sex"]
    median_male: Number
    median_female: Number
    sigma_ln: Number
    lower: Number
    upper: Number


class _LogNormalSpec(_Frozen):
    distribution: Literal["lognormal"]
    median: Number
    sigma_ln: Number | None = None
    sigma_below: Number | None = None
    sigma_above: Number | None = None
    lower: Number
    upper: Number

    @model_validator(mode="after")
    def _sigmas(self) -> _LogNormalSpec:
        split = self.sigma_below is not None and self.sigma_above is not None
        if (self.sigma_ln is None) == (not split):
            raise ValueError("give either sigma_ln or both sigma_below and sigma_above")
        return self


class _OrdinalSpec(_Frozen):
    distribution: Literal["ordinal"]
    levels: list[int]
    probabilities: list[Number]


class _Stratum(_Frozen):
    lower: float
    upper: float
    share: Number
    shape: Literal["uniform", "log_uniform"]


class _StrataSpec(_Frozen):
    distribution: Literal["strata"]
    unit: str
    scale: float = 1.0  # multiply the declared bounds by this to get the column unit (% -> fraction: 0.01)
    strata: list[_Stratum]
    shape_source: str
    shape_flag: Flag


class _TMBSpec(_Frozen):
    distribution: Literal["tmb_mixture"]
    median: Number
    sigma_ln: Number
    lower: Number
    upper: Number
    msi_prevalence: Number
    msi_lower: Number
    msi_upper: Number


_Spec = Annotated[
    _TruncNormalSpec | _NormalBySexSpec | _LogNormalBySexSpec | _LogNormalSpec | _OrdinalSpec | _StrataSpec | _TMBSpec,
    Field(discriminator="distribution"),
]


class _CovariateEntry(_Frozen):
    description: str
    unit: str
    spec: _Spec


class _Subtype(_Frozen):
    share: Number
    male: Number


class _Edge(_Frozen):
    between: tuple[str, str]
    rho: Number | None = None
    slope: Number | None = None  # regression slope of between[1]'s normal scale on between[0]'s

    @model_validator(mode="after")
    def _one(self) -> _Edge:
        if (self.rho is None) == (self.slope is None):
            raise ValueError("give exactly one of rho or slope")
        return self


class _File(_Frozen):
    tumour_type: str | None = None
    title: str | None = None
    setting: str | None = None
    aliases: list[str] = Field(default_factory=list)
    ldh_uln: Number | None = None
    subtypes: dict[str, _Subtype] | None = None
    covariates: dict[str, _CovariateEntry] = Field(default_factory=dict)
    correlations: list[_Edge] = Field(default_factory=list)


# -- marginals ------------------------------------------------------------------------------


class Continuous(ABC):
    """A continuous marginal given by its latent-score transform (see the module docstring).

    Subclasses define the untruncated map ``_from_w(w)`` from a standard-normal score to the
    value, its inverse ``_to_w(x)`` and ``_dlogw(x)`` = log |dw/dx|; truncation to
    ``[lower, upper]`` is handled here.
    """

    lower: float
    upper: float

    @abstractmethod
    def _from_w(self, w: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _to_w(self, x: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _dlogw(self, x: np.ndarray) -> np.ndarray: ...

    def _bounds(self) -> tuple[float, float]:
        lo = float(ndtr(self._to_w(np.asarray(self.lower, dtype=float))))
        hi = float(ndtr(self._to_w(np.asarray(self.upper, dtype=float))))
        return lo, hi

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Value at cumulative probability ``u`` (vectorised)."""
        lo, hi = self._bounds()
        p = np.clip(lo + np.asarray(u, dtype=float) * (hi - lo), _EPS, 1.0 - _EPS)
        return np.clip(self._from_w(ndtri(p)), self.lower, self.upper)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self._bounds()
        x = np.asarray(x, dtype=float)
        return np.clip((ndtr(self._to_w(x)) - lo) / (hi - lo), 0.0, 1.0)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self._bounds()
        x = np.asarray(x, dtype=float)
        w = self._to_w(x)
        out = -0.5 * w * w - 0.5 * math.log(2.0 * math.pi) + self._dlogw(x) - math.log(hi - lo)
        return np.where((x >= self.lower) & (x <= self.upper), out, -np.inf)

    def median(self) -> float:
        return float(self.ppf(np.array(0.5)))

    def support(self) -> tuple[float, float]:
        return self.lower, self.upper


@dataclass(frozen=True)
class TruncatedNormal(Continuous):
    mean: float
    sd: float
    lower: float
    upper: float

    def _from_w(self, w):
        return self.mean + self.sd * w

    def _to_w(self, x):
        return (x - self.mean) / self.sd

    def _dlogw(self, x):
        return np.full_like(np.asarray(x, dtype=float), -math.log(self.sd))


@dataclass(frozen=True)
class LogNormal(Continuous):
    """Split log-normal: ``ln(x/median)/sigma_below`` below the median, ``/sigma_above`` above."""

    median_: float
    sigma_below: float
    sigma_above: float
    lower: float
    upper: float

    def _from_w(self, w):
        w = np.asarray(w, dtype=float)
        return self.median_ * np.exp(np.where(w < 0, self.sigma_below, self.sigma_above) * w)

    def _to_w(self, x):
        with np.errstate(divide="ignore"):
            y = np.log(np.asarray(x, dtype=float) / self.median_)
        return y / np.where(y < 0, self.sigma_below, self.sigma_above)

    def _dlogw(self, x):
        x = np.asarray(x, dtype=float)
        y = np.log(x / self.median_)
        return -np.log(np.where(y < 0, self.sigma_below, self.sigma_above) * x)


@dataclass(frozen=True)
class LogUniform:
    lower: float
    upper: float

    def ppf(self, u):
        return self.lower * (self.upper / self.lower) ** np.asarray(u, dtype=float)

    def cdf(self, x):
        x = np.clip(np.asarray(x, dtype=float), self.lower, self.upper)
        return np.log(x / self.lower) / math.log(self.upper / self.lower)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        out = -np.log(x * math.log(self.upper / self.lower))
        return np.where((x >= self.lower) & (x <= self.upper), out, -np.inf)

    def median(self) -> float:
        return math.sqrt(self.lower * self.upper)


@dataclass(frozen=True)
class Ordinal:
    """Ordinal probit: level ``levels[k]`` when the latent score lies in ``(cuts[k-1], cuts[k]]``."""

    levels: tuple[int, ...]
    probabilities: tuple[float, ...]

    @property
    def cuts(self) -> np.ndarray:
        """Interior thresholds c_1..c_{K-1} on the latent scale."""
        return ndtri(np.cumsum(self.probabilities)[:-1])

    def from_z(self, z: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.cuts, np.asarray(z, dtype=float), side="left")
        return np.asarray(self.levels, dtype=np.int64)[idx]

    def interval(self, level: int) -> tuple[float, float]:
        k = self.levels.index(level)
        edges = np.concatenate([[-np.inf], self.cuts, [np.inf]])
        return float(edges[k]), float(edges[k + 1])

    def mean(self) -> float:
        return float(np.dot(self.levels, self.probabilities))

    def var(self) -> float:
        lv = np.asarray(self.levels, dtype=float)
        return float(np.dot(lv * lv, self.probabilities) - self.mean() ** 2)


@dataclass(frozen=True)
class Strata:
    """Mixture of strata [lower, upper) with shares; uniform or log-uniform inside each stratum."""

    bounds: tuple[tuple[float, float], ...]  # in the column unit
    shares: tuple[float, ...]
    shapes: tuple[str, ...]

    @property
    def lower(self) -> float:
        return self.bounds[0][0]

    @property
    def upper(self) -> float:
        return self.bounds[-1][1]

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        cum = np.concatenate([[0.0], np.cumsum(self.shares)])
        k = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(self.shares) - 1)
        v = np.clip((u - cum[k]) / np.asarray(self.shares)[k], 0.0, 1.0 - _EPS)
        lo = np.asarray([b[0] for b in self.bounds])[k]
        hi = np.asarray([b[1] for b in self.bounds])[k]
        log_shape = np.asarray([s == "log_uniform" for s in self.shapes])[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            logv = lo * (hi / lo) ** v
        return np.where(log_shape, logv, lo + v * (hi - lo))

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        out = np.zeros_like(x)
        acc = 0.0
        for (lo, hi), s, shape in zip(self.bounds, self.shares, self.shapes, strict=True):
            inside = (x >= lo) & (x < hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.log(x / lo) / math.log(hi / lo) if shape == "log_uniform" else (x - lo) / (hi - lo)
            out = np.where(inside, acc + s * frac, out)
            acc += s
            out = np.where(x >= hi, acc, out)
        return np.clip(out, 0.0, 1.0)

    def share_between(self, a: float, b: float) -> float:
        """Probability of the value lying in [a, b)."""
        return float(self.cdf(np.array(b)) - self.cdf(np.array(a)))


@dataclass(frozen=True)
class TMBMixture:
    """Tumour mutational burden: truncated log-normal (MSS) or log-uniform (MSI-high)."""

    mss: LogNormal
    msi: LogUniform
    msi_prevalence: float

    def component(self, msi_high: bool):
        return self.msi if msi_high else self.mss


@dataclass(frozen=True)
class BySex:
    """A sex-specific continuous marginal: ``male`` and ``female`` share bounds and latent score."""

    male: Continuous
    female: Continuous

    @property
    def lower(self) -> float:
        return min(self.male.lower, self.female.lower)

    @property
    def upper(self) -> float:
        return max(self.male.upper, self.female.upper)

    def part(self, sex: str) -> Continuous:
        return self.male if sex == "male" else self.female


Marginal = Continuous | BySex | Ordinal | Strata | TMBMixture


# -- one tumour type ------------------------------------------------------------------------


@dataclass(frozen=True)
class Covariate:
    name: str
    description: str
    unit: str
    marginal: Marginal
    entry: _CovariateEntry


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    rho: float
    flag: str
    source: str
    how: str  # "declared" or the slope conversion


@dataclass(frozen=True)
class TumourType:
    """The distributions of one tumour type (read-only; build with :func:`load_tumour_type`)."""

    name: str
    title: str
    setting: str
    aliases: tuple[str, ...]
    ldh_uln: Number
    subtypes: dict[str, _Subtype]
    covariates: dict[str, Covariate]
    edges: tuple[Edge, ...]
    members: tuple[str, ...]  # copula members, in the canonical order
    correlation: np.ndarray  # latent correlation matrix over ``members``
    files: tuple[str, ...]
    sha256: str

    def cell_probabilities(self) -> list[tuple[str, str, float]]:
        """(subtype, sex, probability) of every subtype-by-sex cell."""
        out = []
        for name, st in self.subtypes.items():
            out.append((name, "male", st.share.value * st.male.value))
            out.append((name, "female", st.share.value * (1.0 - st.male.value)))
        return out


MEMBER_ORDER = (
    "age_years",
    "weight_kg",
    "height_cm",
    "serum_creatinine",
    "ecog",
    "tumour_burden_mm",
    "spd_cm2",
    "ldh_u_per_l",
    "n_lesions",
    "growth_rate",
    "tmb",
    "pdl1",
    "car_antigen",
)
"""Covariates drawn through the Gaussian copula, in draw order (population.md §2)."""


def _marginal(name: str, spec: Any) -> Marginal:
    if isinstance(spec, _TruncNormalSpec):
        return TruncatedNormal(spec.mean.value, spec.sd.value, spec.lower.value, spec.upper.value)
    if isinstance(spec, _NormalBySexSpec):
        parts = {}
        for sex in ("male", "female"):
            p = getattr(spec, sex)
            if p.mean is None or p.sd is None:
                raise ValueError(f"{name}: normal_by_sex needs mean and sd for {sex}")
            parts[sex] = TruncatedNormal(p.mean.value, p.sd.value, spec.lower.value, spec.upper.value)
        return BySex(**parts)
    if isinstance(spec, _LogNormalBySexSpec):
        s = spec.sigma_ln.value
        return BySex(
            male=LogNormal(spec.median_male.value, s, s, spec.lower.value, spec.upper.value),
            female=LogNormal(spec.median_female.value, s, s, spec.lower.value, spec.upper.value),
        )
    if isinstance(spec, _LogNormalSpec):
        below = spec.sigma_ln.value if spec.sigma_ln else spec.sigma_below.value  # type: ignore[union-attr]
        above = spec.sigma_ln.value if spec.sigma_ln else spec.sigma_above.value  # type: ignore[union-attr]
        return LogNormal(spec.median.value, below, above, spec.lower.value, spec.upper.value)
    if isinstance(spec, _OrdinalSpec):
        probs = tuple(p.value for p in spec.probabilities)
        if len(probs) != len(spec.levels) or len(probs) < 2:
            raise ValueError(f"{name}: give one probability per level (at least two levels)")
        if any(p <= 0 for p in probs) or abs(sum(probs) - 1.0) > 1e-9:
            raise ValueError(f"{name}: probabilities must be > 0 and sum to 1 (got {sum(probs)})")
        if list(spec.levels) != sorted(set(spec.levels)):
            raise ValueError(f"{name}: levels must be increasing")
        return Ordinal(tuple(spec.levels), probs)
    if isinstance(spec, _StrataSpec):
        bounds = tuple((s.lower * spec.scale, s.upper * spec.scale) for s in spec.strata)
        shares = tuple(s.share.value for s in spec.strata)
        if abs(sum(shares) - 1.0) > 1e-9 or any(x <= 0 for x in shares):
            raise ValueError(f"{name}: stratum shares must be > 0 and sum to 1 (got {sum(shares)})")
        for (lo, hi), s in zip(bounds, spec.strata, strict=True):
            if not lo < hi or (s.shape == "log_uniform" and lo <= 0):
                raise ValueError(f"{name}: stratum [{lo}, {hi}) is empty or log-uniform from 0")
        for (_, hi), (lo, _) in itertools.pairwise(bounds):
            if lo < hi and not math.isclose(lo, hi):
                raise ValueError(f"{name}: strata must be increasing and must not overlap")
        return Strata(bounds, shares, tuple(s.shape for s in spec.strata))
    if isinstance(spec, _TMBSpec):
        s = spec.sigma_ln.value
        p = spec.msi_prevalence.value
        if not 0.0 <= p < 1.0:
            raise ValueError(f"{name}: msi_prevalence must lie in [0, 1)")
        return TMBMixture(
            LogNormal(spec.median.value, s, s, spec.lower.value, spec.upper.value),
            LogUniform(spec.msi_lower.value, spec.msi_upper.value),
            p,
        )
    raise TypeError(spec)  # pragma: no cover - the discriminated union is exhaustive


def _moments(m: Marginal) -> tuple[float, float]:
    """(Cov(g(z), z), Var(g(z))) of the covariate's normal scale g (ln for log-normals) over its latent score.

    For a normal or log-normal scale both are sigma and sigma^2; for the split log-normal
    (sigma_below + sigma_above)/2 and (sigma_below^2 + sigma_above^2)/2 - (sigma_above - sigma_below)^2/(2 pi);
    for an ordinal count K, sum_k phi(c_k) and Var(K). Truncation is ignored (it removes < 1 % of the mass).
    """
    if isinstance(m, BySex):
        a, b = _moments(m.male), _moments(m.female)
        return 0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])
    if isinstance(m, TMBMixture):
        return _moments(m.mss)
    if isinstance(m, TruncatedNormal):
        return m.sd, m.sd**2
    if isinstance(m, LogNormal):
        sb, sa = m.sigma_below, m.sigma_above
        return 0.5 * (sb + sa), 0.5 * (sb * sb + sa * sa) - (sa - sb) ** 2 / (2.0 * math.pi)
    if isinstance(m, Ordinal):
        c = m.cuts
        return float(np.sum(np.exp(-0.5 * c * c)) / math.sqrt(2.0 * math.pi)), m.var()
    raise ValueError("a regression slope needs a continuous or ordinal covariate at both ends")


def _edge_rho(e: _Edge, covs: dict[str, Covariate]) -> Edge:
    a, b = e.between
    if e.rho is not None:
        return Edge(a, b, e.rho.value, e.rho.flag, e.rho.source, "declared latent correlation")
    slope = e.slope
    assert slope is not None
    cx, vx = _moments(covs[a].marginal)
    cy, _ = _moments(covs[b].marginal)
    rho = slope.value * vx / (cx * cy)
    how = (
        f"slope {slope.value:g} of {b} on {a} (normal scales) -> rho = slope x Var(x)/(Cov(x, z_x) Cov(y, z_y)) "
        f"= {slope.value:g} x {vx:.4g}/({cx:.4g} x {cy:.4g})"
    )
    flag = "D" if slope.flag == "V" else slope.flag
    return Edge(a, b, float(rho), flag, slope.source, how)


def _tree_correlation(members: tuple[str, ...], edges: tuple[Edge, ...]) -> np.ndarray:
    """Correlation matrix of a Gaussian tree: products of edge correlations along paths."""
    index = {m: i for i, m in enumerate(members)}
    adj: dict[int, list[tuple[int, float]]] = {i: [] for i in range(len(members))}
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for e in edges:
        i, j = index[e.a], index[e.b]
        if find(i) == find(j):
            raise ValueError(f"correlation edges must form a tree: {e.a}-{e.b} closes a cycle")
        parent[find(i)] = find(j)
        adj[i].append((j, e.rho))
        adj[j].append((i, e.rho))
    n = len(members)
    R = np.eye(n)
    for s in range(n):
        stack = [(s, 1.0)]
        seen = {s}
        while stack:
            node, prod = stack.pop()
            R[s, node] = prod
            for nxt, r in adj[node]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, prod * r))
    # a product along a path can differ in the last bit with its direction: keep the matrix exactly symmetric
    return np.tril(R) + np.tril(R, -1).T


def tumour_type_names() -> dict[str, str]:
    """Map of every accepted name and alias (lower case) to its tumour type."""
    out: dict[str, str] = {}
    for path in sorted(DATA_DIR.glob("*.yaml")):
        if path.stem == "common":
            continue
        raw = read_yaml(path, "tumour_type")
        out[path.stem] = path.stem
        for alias in raw.get("aliases", []) or []:
            out[str(alias).strip().lower()] = path.stem
    return out


def resolve_tumour_type(name: Any, where: str) -> str:
    if not isinstance(name, str):
        raise ValidationError("tumour_type", "be a string", name, where)
    names = tumour_type_names()
    key = name.strip().lower()
    if key not in names:
        raise UnknownNameError("tumour_type", name, sorted({v for v in names.values()}), where)
    return names[key]


def _parse(path: Path) -> _File:
    raw = read_yaml(path, "tumour_type")
    try:
        return _File.model_validate(raw)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ValidationError(loc or "file", err["msg"].lower(), err.get("input"), path.name) from None


@cache
def load_tumour_type(name: str) -> TumourType:
    """Read and check the data of one tumour type (``common.yaml`` entries, then the type's own)."""
    key = resolve_tumour_type(name, "load_tumour_type")
    common_path, own_path = DATA_DIR / "common.yaml", DATA_DIR / f"{key}.yaml"
    common, own = _parse(common_path), _parse(own_path)
    where = own_path.name
    entries: dict[str, _CovariateEntry] = {**common.covariates, **own.covariates}
    unknown = sorted(set(entries) - set(MEMBER_ORDER))
    if unknown:
        raise UnknownNameError("covariates", unknown[0], list(MEMBER_ORDER), where)
    burden = [m for m in ("tumour_burden_mm", "spd_cm2") if m in entries]
    if len(burden) != 1:
        raise ValidationError("covariates", "define exactly one of tumour_burden_mm or spd_cm2", burden, where)
    required = {"age_years", "weight_kg", "height_cm", "serum_creatinine", "ecog", "ldh_u_per_l", "n_lesions"}
    required |= {"growth_rate", "tmb", "pdl1"}
    missing = sorted(required - set(entries))
    if missing:
        raise ValidationError("covariates", f"define {missing}", sorted(entries), where)
    try:
        covs = {}
        for k in (m for m in MEMBER_ORDER if m in entries):  # describe() and the docs list them in draw order
            e = entries[k]
            covs[k] = Covariate(k, e.description, e.unit, _marginal(k, e.spec), e)
    except ValueError as exc:
        raise ValidationError("covariates", str(exc), name, where) from None
    members = tuple(m for m in MEMBER_ORDER if m in covs)
    by_pair = {frozenset(e.between): e for e in common.correlations}
    by_pair.update({frozenset(e.between): e for e in own.correlations})  # a type's own edge replaces a common one
    edges_raw = list(by_pair.values())
    for e in edges_raw:
        for end in e.between:
            if end not in covs:
                raise UnknownNameError("correlations", end, list(members), where)
    edges = tuple(_edge_rho(e, covs) for e in edges_raw)
    for e in edges:
        if not -1.0 < e.rho < 1.0:
            raise ValidationError("correlations", "give latent correlations in (-1, 1)", (e.a, e.b, e.rho), where)
    R = _tree_correlation(members, edges)
    subtypes = own.subtypes or {}
    if not subtypes or abs(sum(s.share.value for s in subtypes.values()) - 1.0) > 1e-9:
        raise ValidationError("subtypes", "be given with shares summing to 1", list(subtypes), where)
    for s in subtypes.values():
        if not 0.0 <= s.male.value <= 1.0:
            raise ValidationError("subtypes.male", "lie in [0, 1]", s.male.value, where)
    uln = own.ldh_uln or common.ldh_uln
    if uln is None:
        raise ValidationError("ldh_uln", "be given", None, where)
    digest = hashlib.sha256(common_path.read_bytes() + own_path.read_bytes()).hexdigest()
    return TumourType(
        name=key,
        title=own.title or key,
        setting=own.setting or "",
        aliases=tuple(own.aliases),
        ldh_uln=uln,
        subtypes=dict(subtypes),
        covariates=covs,
        edges=edges,
        members=members,
        correlation=R,
        files=(common_path.name, own_path.name),
        sha256=digest,
    )


def numbers_of(entry: _CovariateEntry) -> list[tuple[str, Number]]:
    """Every :class:`Number` in a covariate entry, with its parameter name (for describe)."""
    spec = entry.spec
    out: list[tuple[str, Number]] = []
    for field_name in type(spec).model_fields:
        v = getattr(spec, field_name)
        if isinstance(v, Number):
            out.append((field_name, v))
        elif isinstance(v, _SexPart):
            for sub in ("mean", "sd", "median"):
                n = getattr(v, sub)
                if n is not None:
                    out.append((f"{field_name}.{sub}", n))
        elif isinstance(v, list) and v and isinstance(v[0], Number):
            levels = getattr(spec, "levels", list(range(len(v))))
            out.extend((f"P({lvl})", n) for lvl, n in zip(levels, v, strict=True))
        elif isinstance(v, list) and v and isinstance(v[0], _Stratum):
            unit = getattr(spec, "unit", "")
            out.extend((f"share [{s.lower:g}, {s.upper:g}) {unit}", s.share) for s in v)
    return out
