"""Generate tests/trial/lifelines_reference.json: survival summaries computed by lifelines (an independent
implementation) on a fixed synthetic two-arm data set, which tests/trial/test_survival.py compares with
oncoimmune.trial.

Run once with lifelines installed (``pip install lifelines==0.30.3``; it requires pandas < 3, so use a
separate environment or ``--no-deps``)::

    python tests/trial/generate_lifelines_reference.py

The data are stored in the JSON together with the results, so the test never needs lifelines.
Durations are whole days (many ties, as PFS read at scan days has) with administrative censoring at
a common cut-off plus random drop-out, so the Efron tie handling and the censoring bookkeeping are
exercised.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import median_survival_times

OUT = Path(__file__).with_name("lifelines_reference.json")


def make_data() -> dict[str, dict[str, list]]:
    rng = np.random.default_rng(20240604)
    arms = {}
    for name, n, median_days in (("A", 160, 240.0), ("B", 140, 150.0)):
        t = rng.exponential(median_days / np.log(2), n)
        dropout = rng.exponential(900.0, n)
        cutoff = 540.0
        obs = np.minimum.reduce([t, dropout, np.full(n, cutoff)])
        event = t <= np.minimum(dropout, cutoff)
        # whole days, at least 1, as scans and visits are recorded
        arms[name] = {"durations": np.maximum(np.ceil(obs), 1.0).tolist(), "event_observed": event.tolist()}
    return arms


def main() -> None:
    warnings.simplefilter("ignore")
    arms = make_data()
    out: dict = {"data": arms, "lifelines_version": __import__("lifelines").__version__, "km": {}}
    grid = [0.0, 30.0, 91.0, 182.0, 270.0, 365.0, 500.0]
    for name, d in arms.items():
        kmf = KaplanMeierFitter().fit(d["durations"], d["event_observed"])
        ci = kmf.confidence_interval_
        med_ci = median_survival_times(ci)
        sf = kmf.survival_function_
        idx = [int(np.searchsorted(sf.index.values, g, side="right") - 1) for g in grid]
        out["km"][name] = {
            "timeline": sf.index.values.tolist(),
            "survival": sf.iloc[:, 0].values.tolist(),
            "ci_lower": ci.iloc[:, 0].values.tolist(),
            "ci_upper": ci.iloc[:, 1].values.tolist(),
            "grid": grid,
            "survival_at_grid": [float(sf.iloc[i, 0]) for i in idx],
            "median": float(kmf.median_survival_time_),
            "median_ci": [float(med_ci.iloc[0, 0]), float(med_ci.iloc[0, 1])],
        }
    a, b = arms["A"], arms["B"]
    lr = logrank_test(a["durations"], b["durations"], a["event_observed"], b["event_observed"])
    out["logrank"] = {"test_statistic": float(lr.test_statistic), "p_value": float(lr.p_value)}
    df = pd.DataFrame(
        {
            "T": a["durations"] + b["durations"],
            "E": a["event_observed"] + b["event_observed"],
            "arm": [1.0] * len(a["durations"]) + [0.0] * len(b["durations"]),
        }
    )
    cph = CoxPHFitter().fit(df, "T", "E")  # Efron ties (lifelines default)
    s = cph.summary.loc["arm"]
    out["cox_A_vs_B"] = {
        "coef": float(s["coef"]),
        "se": float(s["se(coef)"]),
        "hr": float(s["exp(coef)"]),
        "ci_lower": float(s["exp(coef) lower 95%"]),
        "ci_upper": float(s["exp(coef) upper 95%"]),
        "p_value": float(s["p"]),
    }
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
