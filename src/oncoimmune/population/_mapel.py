r"""Prevalence weighting of virtual patients along mechanistic axes: MAPEL (population.md §5.3-5.4).

Schmidt, Casey, Paterson & Chan, BMC Bioinformatics 2013;14:221 (MAPEL), as generalised in the QSP Toolbox
of Cheng et al., AAPS J 2017;19:1002 (``BMSQSP/QSPToolbox``: ``evaluateGOF.m``, ``compositeGOF.m``):

1. every virtual patient (VP) has coordinates on a few mechanistic axes (say its growth rate and its
   T-cell kill), normalised to [0, 1]; each axis is cut into ``bins`` bins at the quantiles of the VPs'
   coordinates (2 by default, as the toolbox);
2. a VPop is a set of bin probabilities :math:`\pi_{a,b}` (summing to 1 on each axis); a VP's prevalence
   weight is :math:`w_v \propto \prod_a \pi_{a, bin(a, v)}`, normalised to :math:`\sum w = 1`; every VP keeps a
   weight;
3. each published figure is compared with its weighted simulated counterpart by the toolbox's test and
   gives a p-value: a rate (ORR, CR, an adverse-event rate) by a 2x2 contingency test (the chi-square
   approximation, which the toolbox offers besides Fisher's exact test: smooth in the weights), a mean by
   a two-sided t-test with pooled SD and an SD by a two-sided F-test; while optimising, the simulated N is
   the number of VPs behind the figure (the toolbox's ``useEffN`` off, as it recommends), and for the final
   figures and the acceptance it is their effective number :math:`(\sum w)^2/\sum w^2` (``useEffN`` on);
4. the bin probabilities minimise :math:`-2 \sum_k \log_{10} p_k +
   s (N/N_{eff} - 1)/(N - 1) + 10^6 \max(0, N_{eff,min} - N_{eff})` with :math:`N_{eff} = 1/\sum w_v^2`
   (``spread`` s, ``min_effective_n``), here by Nelder-Mead on per-axis softmax logits from ``starts``
   random starting points (the toolbox's simplex option). Deviation, stated: the toolbox writes
   :math:`\log_{10}(p_k + 10^{-16})`, which is flat once a figure is far off target (every p below
   :math:`10^{-16}` scores the same, and the simplex cannot move); here :math:`\log p_k` comes from the tests'
   log survival functions, so the objective keeps its slope;
5. a VPop is accepted when Fisher's composite p, :math:`P(\chi^2_{2K} > -2 \sum \ln p_k)`, exceeds
   ``alpha``; the optima from the different starts, each with its own ``accepted`` flag, are the alternate
   VPops: the accepted ones express the uncertainty the targets leave (two starts can reach the same optimum).

A target's VPs can be a subset (``values`` NaN elsewhere): the VPs of one arm for that arm's ORR; the
weights are renormalised within it.

>>> import numpy as np
>>> from oncoimmune.population import weight_virtual_population
>>> rng = np.random.default_rng(0)
>>> growth = rng.uniform(size=400)                       # one mechanistic axis
>>> responder = (growth < 0.5).astype(float)             # slow tumours respond
>>> fit = weight_virtual_population(growth[:, None], [{"name": "orr", "values": responder, "rate": 0.7, "n": 300}])
>>> round(fit.figures["orr"]["simulated"], 2), bool(fit.accepted)
(0.7, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oncoimmune._validate import integer
from oncoimmune.errors import ValidationError

__all__ = ["MapelFit", "weight_virtual_population"]


@dataclass(frozen=True)
class MapelFit:
    """One weighted VPop (:func:`weight_virtual_population`).

    ``weights`` (sum 1), ``bin_probabilities`` (axes x bins), ``bin_edges`` (axes x bins+1, in the axes' own
    units), ``figures`` (per target: observed, simulated, p-value, test), ``composite_p``, ``effective_n``,
    ``objective``, ``accepted`` (composite p > alpha, figures with the effective N), ``alternates`` (the other
    starts' optima, best objective first, accepted or not, each a :class:`MapelFit` without alternates) and
    ``provenance``.
    """

    weights: np.ndarray
    bin_probabilities: np.ndarray
    bin_edges: np.ndarray
    figures: dict[str, dict[str, Any]]
    composite_p: float
    effective_n: float
    objective: float
    accepted: bool
    alternates: tuple[MapelFit, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Target:
    name: str
    kind: str  # "rate" or "mean"
    values: np.ndarray  # over the VPs of the target
    members: np.ndarray  # indices of those VPs
    observed: float
    sd: float | None
    n: int


def _targets(targets: Sequence[Mapping[str, Any]], n_vp: int) -> list[_Target]:
    if not isinstance(targets, Sequence) or isinstance(targets, str) or not targets:
        raise ValidationError("targets", "be a non-empty list of targets", targets)
    out: list[_Target] = []
    for i, t in enumerate(targets):
        where = f"targets.{i}"
        if not isinstance(t, Mapping):
            raise ValidationError(where, "be a mapping {name, values, rate | mean and sd, n}", t)
        known = {"name", "values", "rate", "mean", "sd", "n"}
        extra = sorted(set(t) - known)
        if extra:
            raise ValidationError(f"{where}.{extra[0]}", f"be one of {sorted(known)}", extra[0])
        name = t.get("name")
        if not isinstance(name, str) or not name:
            raise ValidationError(f"{where}.name", "be a non-empty string", name)
        values = np.asarray(t.get("values"), dtype=float).reshape(-1)
        if values.shape != (n_vp,):
            raise ValidationError(
                f"{where}.values", f"hold one value per VP ({n_vp}; NaN: not in this target)", values.shape
            )
        members = np.flatnonzero(~np.isnan(values))
        if members.size < 2:
            raise ValidationError(f"{where}.values", "cover at least 2 VPs", int(members.size))
        if not np.all(np.isfinite(values[members])):
            raise ValidationError(
                f"{where}.values", "be finite or NaN", values[members][~np.isfinite(values[members])][0]
            )
        n = t.get("n")
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
            raise ValidationError(
                f"{where}.n", "be the trial's number of patients behind the figure (an integer >= 2)", n
            )
        if ("rate" in t) == ("mean" in t):
            raise ValidationError(where, "give either rate or mean and sd", sorted(t))
        if "rate" in t:
            rate = t["rate"]
            if not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0 or isinstance(rate, bool):
                raise ValidationError(f"{where}.rate", "be a fraction in [0, 1]", rate)
            if not np.all(np.isin(values[members], (0.0, 1.0))):
                raise ValidationError(
                    f"{where}.values", "be 0 or 1 for a rate (or NaN)", sorted(set(values[members]))[:3]
                )
            out.append(_Target(name, "rate", values[members], members, float(rate), None, int(n)))
        else:
            mean, sd = t.get("mean"), t.get("sd")
            for key, v in (("mean", mean), ("sd", sd)):
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                    raise ValidationError(f"{where}.{key}", "be a finite number", v)
            if sd <= 0:
                raise ValidationError(f"{where}.sd", "be > 0", sd)
            out.append(_Target(name, "mean", values[members], members, float(mean), float(sd), int(n)))
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise ValidationError("targets", "have distinct names", names)
    return out


def _log_p_values(t: _Target, w: np.ndarray, effective: bool = False) -> tuple[dict[str, float], list[float]]:
    """The weighted simulated figure and the natural logarithms of the toolbox's p-values for one target
    (from the tests' log survival functions, so that a figure far off target keeps a slope instead of a
    p-value that underflows). The simulated N is the number of VPs behind the figure, or with ``effective``
    their effective number (sum w)^2 / sum w^2 (the toolbox's ``useEffN``)."""
    from scipy import stats

    wg = w[t.members]
    total = wg.sum()
    wg = wg / total if total > 0 else np.full(wg.size, 1.0 / wg.size)
    n_sim = max(1.0 / float(np.sum(wg**2)), 2.0) if effective else float(t.members.size)
    if t.kind == "rate":
        sim = float(np.dot(wg, t.values))
        table = np.array([[sim * n_sim, (1.0 - sim) * n_sim], [t.observed * t.n, (1.0 - t.observed) * t.n]])
        if np.any(table.sum(axis=0) <= 0):  # both rates 0 or both 1: the same figure
            return {"simulated": sim}, [0.0]
        statistic = float(stats.chi2_contingency(table, correction=False)[0])
        return {"simulated": sim}, [float(stats.chi2.logsf(statistic, 1))]
    mean = float(np.dot(wg, t.values))
    sd = float(math.sqrt(max(np.dot(wg, (t.values - mean) ** 2), 0.0) * n_sim / (n_sim - 1)))
    # two-sided t-test with pooled SD
    df = n_sim + t.n - 2
    pooled = math.sqrt(((n_sim - 1) * sd**2 + (t.n - 1) * t.sd**2) / df * (1.0 / n_sim + 1.0 / t.n))
    log_p_mean = min(0.0, math.log(2.0) + float(stats.t.logsf(abs(mean - t.observed) / pooled, df)))
    if sd <= 0:
        return {"simulated": mean, "simulated_sd": sd}, [log_p_mean, -math.inf]
    # two-sided F-test on the variances
    f = sd**2 / t.sd**2
    tail = min(float(stats.f.logcdf(f, n_sim - 1, t.n - 1)), float(stats.f.logsf(f, n_sim - 1, t.n - 1)))
    return {"simulated": mean, "simulated_sd": sd}, [log_p_mean, min(0.0, math.log(2.0) + tail)]


def weight_virtual_population(
    axes: Any,
    targets: Sequence[Mapping[str, Any]],
    *,
    bins: int = 2,
    starts: int = 5,
    seed: int = 0,
    alpha: float = 0.05,
    spread: float = 0.0,
    min_effective_n: float = 0.0,
    max_iterations: int = 4000,
) -> MapelFit:
    """Weight virtual patients by bin probabilities on mechanistic axes so that their figures match a trial's.

    Parameters
    ----------
    axes
        Shape ``(n_vp, n_axes)``: each VP's coordinate on each mechanistic axis (any units; binned at quantiles).
    targets
        Each ``{"name", "values", "rate", "n"}`` (``values`` 0/1 per VP) or ``{"name", "values", "mean", "sd",
        "n"}``; ``values`` NaN for the VPs the figure is not about; ``n`` the trial's patients behind it.
    bins
        Bins per axis (2, the toolbox's default).
    starts
        Starting points of the search (the first: equal bin probabilities, the others random from ``seed``);
        their optima are the fit and its alternates.
    alpha
        Acceptance threshold on Fisher's composite p.
    spread, min_effective_n
        The toolbox's penalties on uneven weights (``spreadOut``) and on an effective sample size below a
        floor (``minEffN``).
    """
    from scipy.optimize import minimize
    from scipy.stats import chi2

    from oncoimmune.population._vpop import _finite_matrix

    x = _finite_matrix("axes", axes, None)
    if x.shape[0] < 2:
        raise ValidationError("axes", "be a 2-D array with at least 2 VPs (rows) and 1 axis (column)", x.shape)
    n_vp, n_axes = x.shape
    bins = integer("bins", bins, 2)
    starts = integer("starts", starts, 1)
    max_iterations = integer("max_iterations", max_iterations, 1)
    seed = integer("seed", seed, 0)
    if not isinstance(alpha, int | float) or not 0.0 < alpha < 1.0:
        raise ValidationError("alpha", "be in (0, 1)", alpha)
    for name, value in (("spread", spread), ("min_effective_n", min_effective_n)):
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValidationError(name, "be a finite number >= 0", value)
    ts = _targets(targets, n_vp)

    # step 1: bins at the quantiles of each axis
    edges = np.quantile(x, np.linspace(0.0, 1.0, bins + 1), axis=0).T  # (n_axes, bins + 1)
    which = np.empty((n_vp, n_axes), dtype=int)
    for a in range(n_axes):
        which[:, a] = np.clip(np.searchsorted(edges[a, 1:-1], x[:, a], side="right"), 0, bins - 1)
        if len(np.unique(which[:, a])) < bins:
            raise ValidationError(f"axes[:, {a}]", f"spread over {bins} quantile bins (too many tied values)", bins)

    def log_probabilities(theta: np.ndarray) -> np.ndarray:
        """Per-axis log-softmax of the logits: finite even where a probability underflows to 0."""
        logits = np.concatenate([theta.reshape(n_axes, bins - 1), np.zeros((n_axes, 1))], axis=1)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def weights(log_pi: np.ndarray) -> np.ndarray:
        log_w = log_pi[np.arange(n_axes)[None, :], which].sum(axis=1)
        w = np.exp(log_w - log_w.max())
        return w / w.sum()

    def evaluate(
        theta: np.ndarray, effective: bool = False
    ) -> tuple[float, np.ndarray, np.ndarray, dict[str, dict[str, Any]], float, float]:
        log_pi = log_probabilities(theta)
        pi = np.exp(log_pi)
        w = weights(log_pi)
        eff_n = float(1.0 / np.sum(w**2))
        figures: dict[str, dict[str, Any]] = {}
        log_ps: list[float] = []
        for t in ts:
            sim, log_p = _log_p_values(t, w, effective)
            p = [math.exp(lp) for lp in log_p]
            test = "chi-square 2x2" if t.kind == "rate" else "t-test (pooled SD) and F-test"
            row = {"observed": t.observed, **({"observed_sd": t.sd} if t.sd is not None else {}), **sim}
            figures[t.name] = {**row, "p": p[0] if len(p) == 1 else p, "test": test, "n_vp": int(t.members.size)}
            log_ps += log_p
        # the toolbox's -2 sum log10(p + 1e-16), without the floor: a figure far off still has a slope
        objective = -2.0 * sum(log_ps) / math.log(10.0)
        if n_vp > 1:
            objective += spread * (n_vp / eff_n - 1.0) / (n_vp - 1.0)
        objective += 1e6 * max(0.0, min_effective_n - eff_n)
        composite = float(chi2.sf(-2.0 * sum(log_ps), 2 * len(log_ps)))
        return objective, pi, w, figures, composite, eff_n

    rng = np.random.default_rng(seed)
    dim = n_axes * (bins - 1)
    fits: list[MapelFit] = []
    for s in range(starts):
        theta0 = np.zeros(dim) if s == 0 else rng.normal(0.0, 1.0, dim)
        res = minimize(
            lambda th: evaluate(th)[0],
            theta0,
            method="Nelder-Mead",
            options={"maxiter": max_iterations, "maxfev": max_iterations, "xatol": 1e-6, "fatol": 1e-9},
        )
        objective = evaluate(res.x)[0]
        # the final figures and the acceptance use the effective N (useEffN on for the final evaluation)
        _, pi, w, figures, composite, eff_n = evaluate(res.x, effective=True)
        fits.append(
            MapelFit(
                weights=w,
                bin_probabilities=pi,
                bin_edges=edges,
                figures=figures,
                composite_p=composite,
                effective_n=eff_n,
                objective=objective,
                accepted=composite > alpha,
            )
        )
    fits.sort(key=lambda f: f.objective)
    best = fits[0]
    provenance = {
        "method": "MAPEL prevalence weighting (Schmidt 2013; QSP Toolbox, Cheng 2017; population.md §5.3-5.4)",
        "bins": int(bins),
        "starts": int(starts),
        "seed": int(seed),
        "alpha": float(alpha),
        "spread": float(spread),
        "min_effective_n": float(min_effective_n),
        "vps": int(n_vp),
        "axes": int(n_axes),
        "targets": [t.name for t in ts],
        "accepted_starts": int(sum(f.accepted for f in fits)),
    }
    return MapelFit(
        weights=best.weights,
        bin_probabilities=best.bin_probabilities,
        bin_edges=best.bin_edges,
        figures=best.figures,
        composite_p=best.composite_p,
        effective_n=best.effective_n,
        objective=best.objective,
        accepted=best.accepted,
        alternates=tuple(fits[1:]),
        provenance=provenance,
    )
