r"""A trial's endpoints: the comparisons its spec declares, tested as the protocol would, and the
duration of response.

A spec's ``endpoints`` names primary and secondary comparisons (``oncoimmune.trial.EndpointsSpec``);
:func:`evaluate_comparisons` tests each on the analysed patients and says whether it is *met* (the
test rejects at its alpha and the estimate favours the experimental arm):

* **PFS, OS** (experimental vs control): hazard ratio from the Cox model on the arm indicator with
  its Wald interval, and the log-rank test (:func:`~oncoimmune.trial.cox_hazard_ratio`,
  :func:`~oncoimmune.trial.logrank_test`, lifelines). One-sided, p is half the two-sided p when the
  hazard ratio is below 1 and 1 minus that otherwise.
* **ORR** (experimental vs control): the difference of response rates with Newcombe's hybrid score
  interval (method 10 of Newcombe, Stat Med 1998;17:873, from the two Wilson intervals), and Fisher's
  exact test (``scipy.stats.fisher_exact``; one-sided: ``alternative="greater"``).
* **ORR** of a single arm against a historical ``null_rate`` (ZUMA-1 tested ORR against 20 %): the
  rate with its exact Clopper–Pearson interval and the exact binomial test, central (twice the smaller
  tail: it rejects exactly when the interval leaves the null rate out) or one-sided P(X >= x).

The interval's level matches the test: 1 − alpha two-sided, 1 − 2 alpha one-sided (a one-sided test at
0.025 and a 95 % interval agree). A two-sided Fisher test and Newcombe's interval are different
constructions and can disagree near the boundary, as in published trial reports.

Duration of response (:func:`duration_of_response`) is read from the first documented response to
progression or death, censored as PFS is, by Kaplan–Meier over each arm's responders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["comparison_text", "duration_of_response", "evaluate_comparisons", "newcombe_interval", "wilson_interval"]


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of k/n (NaN for n = 0; the ends are exactly 0 and 1 at k = 0 and k = n)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    lo = 0.0 if k == 0 else max(0.0, c - h)  # exact ends: rounding would put 0 events above 0
    hi = 1.0 if k == n else min(1.0, c + h)
    return (lo, hi)


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Interval of p1 - p2 by Newcombe's hybrid score method (method 10, Stat Med 1998;17:873).

    With Wilson limits (l_i, u_i) of each rate: d - sqrt((p1 - l1)^2 + (u2 - p2)^2) and
    d + sqrt((u1 - p1)^2 + (p2 - l2)^2). Newcombe's example 1 (56/70 vs 48/80) gives 0.0524 to 0.3339.
    """
    z = float(stats.norm.ppf(1 - alpha / 2))
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _number(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else (None if math.isnan(x) else x)


def _time_to_event(comp: Any, summary: Mapping[str, Any], alpha: float, sided: int) -> dict[str, Any]:
    """From the endpoint's :func:`~oncoimmune.trial.summarise_survival` (its Cox fit and log-rank test, not
    run again): the hazard ratio with its Wald interval exp(coef ± z·se) at the test's level."""
    level = 1 - alpha if sided == 2 else 1 - 2 * alpha
    fit = summary[comp.experimental]["hr_vs"].get(comp.control)
    if fit is None:  # no event in either arm
        return {"estimate": {"hr": None, "ci": [None, None], "ci_level": level}, "p_value": None, "met": False}
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    with np.errstate(over="ignore", invalid="ignore"):
        lo, hi = np.exp(fit["coef"] - z * fit["se"]), np.exp(fit["coef"] + z * fit["se"])
    hr = float(fit["hr"])
    p2 = float(summary[comp.experimental]["logrank_p_vs"][comp.control])
    p = p2 if sided == 2 else (p2 / 2 if hr < 1 else 1 - p2 / 2)
    return {
        "estimate": {"hr": _number(hr), "ci": [_number(lo), _number(hi)], "ci_level": level},
        "p_value": p,
        "met": bool(math.isfinite(hr) and hr < 1 and p < alpha),
    }


def _orr(comp: Any, responders: Mapping[str, tuple[int, int]], alpha: float, sided: int) -> dict[str, Any]:
    x1, n1 = responders[comp.experimental]
    level = 1 - alpha if sided == 2 else 1 - 2 * alpha
    if n1 == 0:
        return {"estimate": None, "p_value": None, "met": False}
    if comp.control is None:
        ci = stats.binomtest(x1, n1).proportion_ci(confidence_level=level, method="exact")
        # the p-value that matches the central Clopper-Pearson interval: one-sided P(X >= x), or twice the
        # smaller tail (not scipy's two-sided "minlike" p, which can reject where the interval holds null_rate)
        upper = float(stats.binom.sf(x1 - 1, n1, comp.null_rate))
        p = upper if sided == 1 else min(1.0, 2 * min(upper, float(stats.binom.cdf(x1, n1, comp.null_rate))))
        rate = x1 / n1
        return {
            "estimate": {"rate": rate, "ci": [float(ci.low), float(ci.high)], "ci_level": level},
            "p_value": p,
            "met": bool(rate > comp.null_rate and p < alpha),
        }
    x2, n2 = responders[comp.control]
    if n2 == 0:
        return {"estimate": None, "p_value": None, "met": False}
    lo, hi = newcombe_interval(x1, n1, x2, n2, alpha=1 - level)
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    p = float(stats.fisher_exact(table, alternative="two-sided" if sided == 2 else "greater").pvalue)
    d = x1 / n1 - x2 / n2
    return {
        "estimate": {"difference": d, "ci": [lo, hi], "ci_level": level, "rates": [x1 / n1, x2 / n2]},
        "p_value": p,
        "met": bool(d > 0 and p < alpha),
    }


_TESTS = {
    "pfs": "log-rank; hazard ratio from a Cox model (Wald interval)",
    "os": "log-rank; hazard ratio from a Cox model (Wald interval)",
    "orr": "Fisher's exact test; difference with Newcombe's hybrid score interval",
    "orr_single": "exact binomial test against null_rate; Clopper-Pearson interval",
}


def evaluate_comparisons(
    endpoints: Any,
    *,
    pfs: Mapping[str, Any],
    os: Mapping[str, Any],
    responders: Mapping[str, tuple[int, int]],
) -> dict[str, list[dict[str, Any]]]:
    """The result of every comparison of ``endpoints`` (an ``EndpointsSpec``): ``{"primary": [...],
    "secondary": [...]}``, each entry the comparison, its test, estimate with interval, p-value and
    whether it is met. ``pfs``/``os``: the endpoints' :func:`~oncoimmune.trial.summarise_survival` of the
    analysed patients; ``responders``: ``{arm: (responders, analysed)}``."""
    out: dict[str, list[dict[str, Any]]] = {}
    for role in ("primary", "secondary"):
        rows = []
        for comp in getattr(endpoints, role):
            alpha = endpoints.alpha if comp.alpha is None else comp.alpha
            if comp.endpoint == "orr":
                res = _orr(comp, responders, alpha, endpoints.sided)
                test = _TESTS["orr_single" if comp.control is None else "orr"]
            else:
                res = _time_to_event(comp, pfs if comp.endpoint == "pfs" else os, alpha, endpoints.sided)
                test = _TESTS[comp.endpoint]
            rows.append(
                {
                    "endpoint": comp.endpoint,
                    "experimental": comp.experimental,
                    "control": comp.control,
                    "null_rate": comp.null_rate,
                    "label": comp.label,
                    "test": test,
                    "sided": endpoints.sided,
                    "alpha": alpha,
                    **res,
                }
            )
        out[role] = rows
    return out


def duration_of_response(
    response_day: np.ndarray, pfs_days: np.ndarray, pfs_event: np.ndarray, responded: np.ndarray, *, alpha: float = 0.05
) -> dict[str, Any]:
    """Duration of response of the patients in ``responded``: from the first documented response to
    progression or death (an event), or to the PFS censoring day; Kaplan–Meier median (months) with its
    interval. ``{"responders", "median_dor_months", "median_dor_ci_months"}``; the median is ``None``
    without responders and ``inf`` while not reached."""
    from oncoimmune.trial._survival import DAYS_PER_MONTH, SurvivalData, kaplan_meier

    sel = np.asarray(responded, dtype=bool)
    n = int(sel.sum())
    if n == 0:
        return {"responders": 0, "median_dor_months": None, "median_dor_ci_months": [None, None]}
    days = np.maximum(np.asarray(pfs_days, dtype=float)[sel] - np.asarray(response_day, dtype=float)[sel], 0.0)
    km = kaplan_meier(SurvivalData(days, np.asarray(pfs_event, dtype=bool)[sel]), alpha=alpha)
    return {
        "responders": n,
        "median_dor_months": km.median / DAYS_PER_MONTH,
        "median_dor_ci_months": [km.median_ci[0] / DAYS_PER_MONTH, km.median_ci[1] / DAYS_PER_MONTH],
    }


def _p_text(p: float | None) -> str:
    if p is None:
        return "p not estimable"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _interval(ci: Any, scale: float, fmt: str) -> str:
    lo, hi = ci
    show = lambda x: "-" if x is None else format(scale * x, fmt)  # noqa: E731
    return f"{show(lo)} to {show(hi)}"


def comparison_text(row: Mapping[str, Any]) -> str:
    """One comparison result as a line: what was compared, the estimate with its interval, p and the verdict."""
    est = row["estimate"]
    if row["control"]:
        arms = f"{row['experimental']} vs {row['control']}"
    else:
        arms = f"{row['experimental']} vs null rate {100 * row['null_rate']:g} %"
    if est is None:
        value = "not estimable"
    else:
        level = f"{100 * est['ci_level']:.4g} % CI"
        if "hr" in est:
            value = (
                "HR not estimable"
                if est["hr"] is None
                else f"HR {est['hr']:.2f} ({level} {_interval(est['ci'], 1, '.2f')})"
            )
        elif "difference" in est:
            r1, r2 = est["rates"]
            value = (
                f"ORR {100 * r1:.1f} % vs {100 * r2:.1f} %, difference {100 * est['difference']:+.1f} points "
                f"({level} {_interval(est['ci'], 100, '+.1f')})"
            )
        else:
            value = f"ORR {100 * est['rate']:.1f} % ({level} {_interval(est['ci'], 100, '.1f')})"
    sided = "two-sided" if row["sided"] == 2 else "one-sided"
    label = f" [{row['label']}]" if row.get("label") else ""
    verdict = "met" if row["met"] else "not met"
    return (
        f"{row['endpoint'].upper()}{label}, {arms}: {value}, {_p_text(row['p_value'])} "
        f"({sided}, alpha {row['alpha']:g}): {verdict}"
    )
