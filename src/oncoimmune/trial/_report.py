"""The trial report: one self-contained HTML page with the figures oncology reads a trial by.

:func:`write_report` turns a :class:`~oncoimmune.trial.TrialResult` into ``report.html`` (every
figure embedded as a base64 PNG, styles inline, no script and no external resource, so the file
can be mailed or archived on its own) and a PNG copy of each figure in ``figures/``. The page
holds, in order:

1. the research-and-education disclaimer (a virtual trial is not evidence about real patients;
   decisions about a patient's care belong with the patient's doctor);
2. the per-arm summary table: patients, objective response rate (ORR = CR + PR), complete
   responses, disease control rate (DCR = CR + PR + SD), median PFS and OS in months with their
   95 % confidence intervals ("not reached" when the Kaplan–Meier curve, or a bound of its band,
   stays above 0.5), and OS rates at 12, 24, 36 and 60 months (``—`` beyond the follow-up);
3. the figures (:data:`FIGURES`): **waterfall** of the best percent change of the sum of
   diameters per patient, coloured by best overall response, with the RECIST 1.1 thresholds
   (−30 % partial response, +20 % progression); **spider** plot of the percent change over time
   (the simulated sum of diameters, at most :data:`MAX_SPIDER_LINES` patients per arm, evenly spaced
   through the arm, each line stopped when the patient leaves the study); **swimmer** plot of time
   on study for at most :data:`MAX_SWIMMER_PATIENTS` patients per arm with response, progression and
   death markers; **Kaplan–Meier** curves of PFS and OS (lifelines ``KaplanMeierFitter``, 95 %
   exponential-Greenwood bands, numbers at risk under the axis from
   ``lifelines.plotting.add_at_risk_counts``, medians annotated); **forest** plot of the PFS and OS
   hazard ratios (Cox, 95 % Wald interval) of each arm against the first arm, on a log axis;
4. the adverse-event table by worst CTCAE grade per term and arm (patients with grade 1…5, any
   grade and grade ≥ 3 rates) when the patient table carries ``ae_<term>_grade`` columns, with
   dose holds and discontinuations when those columns exist; otherwise a sentence saying that
   side effects were not simulated;
5. the spec (YAML) and the provenance (JSON).

Figures are drawn with matplotlib's object API (:class:`matplotlib.figure.Figure`, rendered by the
Agg canvas): pyplot's global figure state and the user's backend are left alone. (lifelines'
``add_at_risk_counts`` imports pyplot, but is handed its axes and figure explicitly.) Every
figure carries :data:`oncoimmune.plot.DISCLAIMER`. Every user-provided string (trial and arm names,
regimens, spec text) is escaped with :func:`html.escape` before it enters the page.

Writing is all-or-nothing: every figure is rendered to memory first, then the files are written in
a hidden staging folder inside ``out_dir`` and renamed into place, ``report.html`` last. An error
at any step leaves no ``report.html`` and no temporary file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoimmune.errors import ValidationError
from oncoimmune.trial._survival import DAYS_PER_MONTH

__all__ = [
    "FIGURES",
    "MAX_SPIDER_LINES",
    "MAX_SWIMMER_PATIENTS",
    "MAX_WATERFALL_BARS",
    "ReportFigure",
    "render_report",
    "report_figures",
    "write_report",
]

MAX_SPIDER_LINES = 100
"""At most this many patients' lines per arm in the spider plot (evenly spaced through the arm)."""

MAX_SWIMMER_PATIENTS = 40
"""At most this many patients per arm in the swimmer plot (evenly spaced by time on study)."""

MAX_WATERFALL_BARS = 1000
"""At most this many bars per arm in the waterfall (evenly spaced ranks of the sorted changes)."""

WATERFALL_CAP = 100.0
"""Waterfall bars above this percent change are cut at it (and counted in the caption)."""

SPIDER_TOP = 150.0
"""Upper end of the spider plot's axis, percent change (lines above it leave the axis)."""

FIGURES = ("waterfall", "spider", "swimmer", "km_pfs", "km_os", "forest")
"""Figure names, in page order; each is written as ``figures/<name>.png``."""

DPI = 110

PAGE_DISCLAIMER = (
    "Research and education software. This report describes virtual patients simulated by a "
    "mathematical model; it is not evidence about real patients and its outputs are not medical "
    "advice. Immunotherapy helps some patients and not others and has side effects: every decision "
    "about a person's treatment belongs with the patient and the patient's doctor."
)

# Okabe–Ito colour-blind-safe palette.
_ARM_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
_RESPONSE_COLOURS = {
    "CR": "#004D80",
    "iCR": "#004D80",
    "PR": "#0072B2",
    "iPR": "#0072B2",
    "SD": "#B0B0B0",
    "iSD": "#B0B0B0",
    "PD": "#D55E00",
    "iUPD": "#E69F00",
    "iCPD": "#A03A00",
    "NE": "#EEEEEE",
}
_RESPONSE_ORDER = ("CR", "iCR", "PR", "iPR", "SD", "iSD", "iUPD", "PD", "iCPD", "NE")


@dataclass(frozen=True)
class ReportFigure:
    """One rendered figure: its file stem, title, caption (plain text) and PNG bytes."""

    name: str
    title: str
    caption: str
    png: bytes


# -- helpers ----------------------------------------------------------------------------------


def _arm_names(result: Any) -> list[str]:
    """Arms in the spec's order (the first one is the reference of the hazard ratios)."""
    names = [a.name for a in result.spec.arms]
    extra = [a for a in pd.unique(result.patients["arm"]) if a not in names] if "arm" in result.patients else []
    return names + [str(a) for a in extra]


def _arm_rows(result: Any, arm: str) -> pd.DataFrame:
    """The arm's analysed patients (``analysed``: the spec's analysis set; all when absent)."""
    p = result.patients
    if "analysed" in p:
        p = p[p["analysed"].astype(bool)]
    return p[p["arm"] == arm].sort_values("patient_id", kind="stable") if "patient_id" in p else p[p["arm"] == arm]


def _col(df: pd.DataFrame, name: str, default: float = math.nan) -> np.ndarray:
    if name in df:
        return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)
    return np.full(len(df), default)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


def _mpl(text: str) -> str:
    """User text for a matplotlib label: ``$`` escaped, so an arm name is never parsed as mathtext."""
    return str(text).replace("$", r"\$")


def _new_figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def _finish(fig: Any, title: str) -> bytes:
    from oncoimmune.plot import DISCLAIMER

    fig.suptitle(title, fontsize=11)
    fig.text(0.5, 0.004, DISCLAIMER, ha="center", va="bottom", fontsize=7, color="0.35")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _finish_panels(fig: Any, axes: Any, n_used: int, title: str) -> bytes:
    """Hide the unused panels of a per-arm grid, lay it out and render it (:func:`_finish`)."""
    for ax in axes[n_used:]:
        ax.set_visible(False)
    fig.tight_layout(rect=(0, 0.03, 1, 0.94))
    return _finish(fig, title)


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = max(1, min(max_cols, n))
    return -(-n // cols), cols


def _aligned(result: Any, arm: str, rows: pd.DataFrame) -> bool:
    """Whether the arm's trajectory rows are its patient rows in order (checked on best % change)."""
    traj = result.trajectories.get(arm, {})
    if "sld_mm" not in traj or len(rows) != np.asarray(traj["sld_mm"]).shape[0]:
        return False
    if "best_percent_change" not in traj or "best_percent_change" not in rows:
        return False
    a = np.asarray(traj["best_percent_change"], dtype=float)
    b = _col(rows, "best_percent_change")
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def _legend_for_responses(ax: Any, present: Sequence[str]) -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=_RESPONSE_COLOURS[r], edgecolor="0.4", lw=0.4, label=r) for r in _RESPONSE_ORDER if r in present
    ]
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="upper right", title="best response", title_fontsize=7)


# -- figures ----------------------------------------------------------------------------------


def _waterfall(result: Any) -> ReportFigure:
    arms = _arm_names(result)
    n_rows, n_cols = _grid(len(arms))
    fig = _new_figure(5.2 * n_cols, 3.4 * n_rows + 0.8)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    notes = []
    for ax, arm in zip(axes, arms, strict=False):
        rows = _arm_rows(result, arm)
        bor = rows["best_overall_response"].astype(str).to_numpy() if "best_overall_response" in rows else None
        change = _col(rows, "best_percent_change")
        ok = np.isfinite(change)
        order = np.argsort(-change[ok], kind="stable")
        if order.size > MAX_WATERFALL_BARS:  # evenly spaced ranks keep the shape of the distribution
            order = order[np.unique(np.linspace(0, order.size - 1, MAX_WATERFALL_BARS).round().astype(int))]
        values = change[ok][order]
        labels = bor[ok][order] if bor is not None else np.full(values.size, "NE")
        shown = np.minimum(values, WATERFALL_CAP)
        colours = [_RESPONSE_COLOURS.get(lab, "#777777") for lab in labels]
        ax.bar(np.arange(values.size), shown, width=0.85, color=colours, edgecolor="0.3", linewidth=0.3)
        ax.axhline(20.0, color="#D55E00", lw=0.9, ls="--")
        ax.axhline(-30.0, color="#0072B2", lw=0.9, ls="--")
        ax.axhline(0.0, color="0.2", lw=0.6)
        ax.set_ylim(-105.0, WATERFALL_CAP + 8.0)
        ax.set_xlim(-1.0, max(values.size, 1))
        ax.set_xticks([])
        ax.set_title(f"{_mpl(arm)} (n = {len(rows)})", fontsize=9)
        ax.set_ylabel("best change in sum of diameters (%)", fontsize=8)
        ax.set_xlabel("patients, ordered by best change", fontsize=8)
        _legend_for_responses(ax, sorted(set(labels)))
        ax.text(0.005, 21.5, "+20 %", transform=ax.get_yaxis_transform(), fontsize=7, color="#D55E00")
        ax.text(0.005, -28.5, "−30 %", transform=ax.get_yaxis_transform(), fontsize=7, color="#0072B2")
        cut = int((values > WATERFALL_CAP).sum())
        drawn = (
            f"{values.size} of {int(ok.sum())} evaluable patients drawn (evenly spaced ranks), "
            if values.size < ok.sum()
            else ""
        )
        notes.append(f"{arm}: {drawn}{int((~ok).sum())} not evaluable, {cut} cut at +{WATERFALL_CAP:g} %")
    png = _finish_panels(fig, axes, len(arms), "Best change in the sum of target-lesion diameters")
    caption = (
        "Waterfall plot: one bar per patient, the best (lowest) percent change of the sum of "
        "target-lesion diameters from baseline, coloured by best overall response. Dashed lines: "
        "+20 % (RECIST 1.1 progression, with +5 mm, against the nadir) and −30 % (partial response, "
        "against baseline). Patients without an evaluable post-baseline scan are not drawn; at most "
        f"{MAX_WATERFALL_BARS} bars per arm. " + "; ".join(notes) + "."
    )
    return ReportFigure("waterfall", "Waterfall", caption, png)


def _spider(result: Any) -> ReportFigure:
    arms = _arm_names(result)
    n_rows, n_cols = _grid(len(arms))
    fig = _new_figure(5.2 * n_cols, 3.4 * n_rows + 0.8)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    notes = []
    for ax, arm in zip(axes, arms, strict=False):
        traj = result.trajectories.get(arm)
        rows = _arm_rows(result, arm)
        ax.set_title(_mpl(arm), fontsize=9)
        if not traj or "sld_mm" not in traj or np.asarray(traj["sld_mm"]).size == 0:
            ax.text(0.5, 0.5, "no trajectories", ha="center", va="center", transform=ax.transAxes)
            notes.append(f"{arm}: no trajectories")
            continue
        t = np.asarray(traj["t"], dtype=float) / DAYS_PER_MONTH
        sld = np.asarray(traj["sld_mm"], dtype=float)
        n = sld.shape[0]
        aligned = _aligned(result, arm, rows)
        idx = np.unique(np.linspace(0, n - 1, min(n, MAX_SPIDER_LINES)).round().astype(int))
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.full(sld.shape, np.nan)
            pct[idx] = 100.0 * (sld[idx] / sld[idx, :1] - 1.0)
        bor = rows["best_overall_response"].astype(str).to_numpy() if aligned else None
        off = _col(rows, "os_days") / DAYS_PER_MONTH if aligned else np.full(n, np.inf)
        present = set()
        for i in idx:
            keep = t <= off[i] if np.isfinite(off[i]) else np.ones(t.size, dtype=bool)
            label = bor[i] if bor is not None else None
            colour = _RESPONSE_COLOURS.get(label, "#555555") if label is not None else _ARM_COLOURS[0]
            if label is not None:
                present.add(label)
            ax.plot(t[keep], pct[i, keep], color=colour, lw=0.8, alpha=0.75)
        ax.axhline(20.0, color="#D55E00", lw=0.9, ls="--")
        ax.axhline(-30.0, color="#0072B2", lw=0.9, ls="--")
        ax.axhline(0.0, color="0.2", lw=0.6)
        ax.set_ylim(-105.0, SPIDER_TOP)
        ax.set_xlim(0.0, float(t.max()) if t.size else 1.0)
        ax.set_xlabel("months from randomisation", fontsize=8)
        ax.set_ylabel("change in sum of diameters (%)", fontsize=8)
        ax.grid(True, alpha=0.3)
        _legend_for_responses(ax, sorted(present))
        notes.append(f"{arm}: {idx.size} of {n} patients drawn")
    png = _finish_panels(fig, axes, len(arms), "Change in the sum of target-lesion diameters over time")
    caption = (
        "Spider plot: percent change from baseline of the simulated sum of target-lesion diameters "
        "(the model's continuous trajectory, not only the scan days), one line per patient, coloured by "
        "best overall response, each line stopped when the patient leaves the study (death or end of "
        f"follow-up). At most {MAX_SPIDER_LINES} patients per arm are drawn, evenly spaced through the "
        f"arm; the axis stops at +{SPIDER_TOP:g} %. Dashed lines: +20 % and −30 %. " + "; ".join(notes) + "."
    )
    return ReportFigure("spider", "Spider plot", caption, png)


def _swimmer(result: Any) -> ReportFigure:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    arms = _arm_names(result)
    chosen = []
    for arm in arms:
        rows = _arm_rows(result, arm)
        os_days = _col(rows, "os_days")
        order = np.argsort(os_days, kind="stable")
        n = len(rows)
        pick = order[np.unique(np.linspace(0, n - 1, min(n, MAX_SWIMMER_PATIENTS)).round().astype(int))] if n else order
        sel = rows.iloc[pick]
        sel = sel.iloc[np.argsort(_col(sel, "os_days"), kind="stable")]
        chosen.append((arm, sel, n))
    heights = [max(len(sel), 1) for _, sel, _ in chosen]
    fig = _new_figure(9.0, 2.0 + 0.16 * sum(heights) + 0.6 * len(arms))
    axes = fig.subplots(len(arms), 1, squeeze=False, sharex=True, gridspec_kw={"height_ratios": heights}).ravel()
    notes = []
    present: set[str] = set()
    new_lesions = False
    for ax, (arm, sel, n) in zip(axes, chosen, strict=True):
        y = np.arange(len(sel))
        os_m = _col(sel, "os_days") / DAYS_PER_MONTH
        bor = sel["best_overall_response"].astype(str).to_numpy() if "best_overall_response" in sel else None
        colours = [_RESPONSE_COLOURS.get(b, "#999999") for b in bor] if bor is not None else "#999999"
        if bor is not None:
            present.update(bor.tolist())
        ax.barh(y, np.nan_to_num(os_m), height=0.7, color=colours, edgecolor="0.35", linewidth=0.3)
        resp = _col(sel, "response_day") / DAYS_PER_MONTH
        prog = _col(sel, "progression_day") / DAYS_PER_MONTH
        by = sel["progression_by"].astype(str).to_numpy() if "progression_by" in sel else np.full(len(sel), "")
        on_new = np.char.find(by.astype(str), "new lesion") >= 0
        new_lesions |= bool(on_new.any())
        died = sel["os_event"].to_numpy(dtype=bool) if "os_event" in sel else np.zeros(len(sel), dtype=bool)
        ax.plot(resp, y, ls="none", marker="^", ms=5, color="#009E73", mec="k", mew=0.4)
        ax.plot(np.where(on_new, np.nan, prog), y, ls="none", marker="X", ms=6, color="white", mec="k", mew=0.6)
        ax.plot(np.where(on_new, prog, np.nan), y, ls="none", marker="X", ms=6, color="#CC79A7", mec="k", mew=0.6)
        ax.plot(os_m[died], y[died], ls="none", marker="s", ms=4.5, color="k")
        alive = ~died & np.isfinite(os_m)
        ax.plot(os_m[alive], y[alive], ls="none", marker=">", ms=4.5, color="0.4")
        ax.set_yticks(y)
        ax.set_yticklabels([str(v) for v in sel["patient_id"]] if "patient_id" in sel else [], fontsize=5)
        ax.set_ylim(-0.8, max(len(sel), 1) - 0.2)
        ax.set_ylabel(f"{_mpl(arm)}\npatient", fontsize=8)
        notes.append(f"{arm}: {len(sel)} of {n} patients shown")
    axes[-1].set_xlabel("months on study (overall-survival time)", fontsize=8)
    handles = [
        Line2D([], [], ls="none", marker="^", color="#009E73", mec="k", label="first response (CR/PR)"),
        Line2D([], [], ls="none", marker="X", color="white", mec="k", label="progression"),
        *(
            [Line2D([], [], ls="none", marker="X", color="#CC79A7", mec="k", label="progression with a new lesion")]
            if new_lesions
            else []
        ),
        Line2D([], [], ls="none", marker="s", color="k", label="death"),
        Line2D([], [], ls="none", marker=">", color="0.4", label="alive at last follow-up"),
    ] + [
        Patch(facecolor=_RESPONSE_COLOURS[r], edgecolor="0.4", label=f"best response {r}")
        for r in _RESPONSE_ORDER
        if r in present
    ]
    height = fig.get_figheight()
    # the suptitle sits 2 % of the height from the top (half an inch on a tall figure): the legend goes below it
    top = 0.02 * height + 0.3
    fig.legend(handles=handles, fontsize=7, loc="upper center", ncol=4, bbox_to_anchor=(0.5, 1 - top / height))
    fig.tight_layout(rect=(0, 0.3 / height, 1, 1 - (top + 0.55) / height))
    png = _finish(fig, "Time on study")
    caption = (
        "Swimmer plot: one bar per patient, the time from randomisation to death or last follow-up, "
        "coloured by best overall response; triangles mark the first objective response, crosses "
        "progression (purple: a new lesion was seen at that scan), squares death, arrows patients alive "
        "at their last follow-up. At most "
        f"{MAX_SWIMMER_PATIENTS} patients per arm are shown, evenly spaced through the arm ordered by "
        "time on study. " + "; ".join(notes) + "."
    )
    return ReportFigure("swimmer", "Swimmer plot", caption, png)


def _month_ticks(horizon: float) -> np.ndarray:
    step = 3.0 if horizon <= 24 else 6.0 if horizon <= 48 else 12.0
    return np.arange(0.0, step * math.ceil(horizon / step - 1e-9) + 1e-9, step)


def _kaplan_meier(result: Any, endpoint: str) -> ReportFigure:
    from lifelines import KaplanMeierFitter
    from lifelines.plotting import add_at_risk_counts

    label = {"pfs": "Progression-free survival", "os": "Overall survival"}[endpoint]
    arms = _arm_names(result)
    durations = {}
    for arm in arms:
        rows = _arm_rows(result, arm)
        d = _col(rows, f"{endpoint}_days") / DAYS_PER_MONTH
        e = rows[f"{endpoint}_event"].to_numpy(dtype=bool) if f"{endpoint}_event" in rows else np.zeros(len(rows), bool)
        ok = np.isfinite(d)
        durations[arm] = (d[ok], e[ok])
    longest = max((float(d.max()) for d, _ in durations.values() if d.size), default=1.0)
    ticks = _month_ticks(max(longest, 1.0))
    fig = _new_figure(8.0, 5.0 + 0.28 * len(arms))
    ax = fig.subplots()
    fitters = []
    notes = []
    for k, arm in enumerate(arms):
        d, e = durations[arm]
        colour = _ARM_COLOURS[k % len(_ARM_COLOURS)]
        if d.size == 0:
            notes.append(f"{arm}: no patients")
            continue
        kmf = KaplanMeierFitter(label=_mpl(arm), alpha=0.05)
        kmf.fit(d, event_observed=e)
        kmf.plot_survival_function(
            ax=ax, ci_show=True, show_censors=True, color=colour, lw=1.6, censor_styles={"ms": 5, "marker": "|"}
        )
        fitters.append(kmf)
        median = float(kmf.median_survival_time_)
        if math.isfinite(median):
            ax.plot([0.0, median, median], [0.5, 0.5, 0.0], color=colour, lw=0.7, ls=":")
            text = f"median {median:.1f} mo"
        else:
            text = "median not reached"
        ax.annotate(
            text, xy=(0.98, 0.95 - 0.06 * k), xycoords="axes fraction", ha="right", va="top", fontsize=8, color=colour
        )
        notes.append(f"{arm}: {int(e.sum())} events in {d.size} patients, {text}")
    ax.axhline(0.5, color="0.6", lw=0.5)
    ax.set_xlim(0.0, float(ticks[-1]) if ticks[-1] > 0 else longest)
    ax.set_xticks(ticks)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("months from randomisation", fontsize=9)
    ax.set_ylabel(f"{label.lower()} (probability)", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    if fitters:
        # lifelines pastes each label into a str.format template: braces in an arm name are doubled
        labels = [f._label.replace("{", "{{").replace("}", "}}") for f in fitters]
        add_at_risk_counts(
            *fitters, labels=labels, ax=ax, fig=fig, rows_to_show=["At risk"], xticks=list(ticks), fontsize=7
        )
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    png = _finish(fig, f"{label} (Kaplan–Meier)")
    caption = (
        f"Kaplan–Meier estimate of {label.lower()} per arm (lifelines), with 95 % pointwise confidence "
        "bands (exponential Greenwood); ticks mark censored patients, dotted lines the medians; the "
        "numbers at risk at each tick are under the axis. " + "; ".join(notes) + "."
    )
    return ReportFigure(f"km_{endpoint}", f"Kaplan–Meier, {label.lower()}", caption, png)


def _hr_entries(result: Any) -> list[tuple[str, str, Any, Any, Any]]:
    """(arm, endpoint, hr, lo, hi) of every arm after the first against the first arm."""
    arms = _arm_names(result)
    ref = arms[0]
    out = []
    summary_arms = result.summary.get("arms", {})
    for arm in arms[1:]:
        s = summary_arms.get(arm, {})
        for ep in ("pfs", "os"):
            hr = (s.get(f"{ep}_hr_vs") or {}).get(ref)
            ci = (s.get(f"{ep}_hr_ci_vs") or {}).get(ref) or [None, None]
            out.append((arm, ep.upper(), hr, ci[0], ci[1]))
    return out


def _fmt_hr(hr: Any, lo: Any, hi: Any) -> str:
    if not _finite(hr):
        return "not estimable"
    lo_s = f"{lo:.2f}" if _finite(lo) else "—"
    hi_s = f"{hi:.2f}" if _finite(hi) else "—"
    return f"{hr:.2f} ({lo_s}–{hi_s})"


def _forest(result: Any) -> ReportFigure | None:
    entries = _hr_entries(result)
    if not entries:
        return None
    ref = _arm_names(result)[0]
    fig = _new_figure(8.0, 1.6 + 0.42 * len(entries))
    ax = fig.subplots()
    values = [v for _, _, hr, lo, hi in entries for v in (hr, lo, hi) if _finite(v) and v > 0]
    lo_lim = min([*values, 0.5]) / 1.5
    hi_lim = max([*values, 2.0]) * 1.5
    y = np.arange(len(entries))[::-1]
    for yy, (_arm, ep, hr, lo, hi) in zip(y, entries, strict=True):
        colour = "#0072B2" if ep == "PFS" else "#D55E00"
        if _finite(hr) and hr > 0:
            left = lo if _finite(lo) and lo > 0 else lo_lim
            right = hi if _finite(hi) else hi_lim
            ax.plot([left, right], [yy, yy], color=colour, lw=1.4)
            ax.plot([hr], [yy], marker="s", color=colour, ms=7)
        ax.annotate(_fmt_hr(hr, lo, hi), xy=(1.01, yy), xycoords=("axes fraction", "data"), va="center", fontsize=8)
    ax.axvline(1.0, color="0.3", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_xlim(lo_lim, hi_lim)
    ticks = [v for v in (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0) if lo_lim <= v <= hi_lim]
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.minorticks_off()
    ax.set_yticks(y)
    ax.set_yticklabels([f"{_mpl(arm)} — {ep}" for arm, ep, *_ in entries], fontsize=8)
    ax.set_ylim(-0.7, len(entries) - 0.3)
    ax.set_xlabel(f"hazard ratio vs {_mpl(ref)} (log scale; < 1 favours the arm)", fontsize=9)
    ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 0.84, 0.92))
    png = _finish(fig, f"Hazard ratios vs {_mpl(ref)}")
    caption = (
        f"Forest plot: hazard ratio of progression or death (PFS) and of death (OS) of each arm against "
        f"the first arm ({ref}), Cox proportional-hazards model (lifelines CoxPHFitter, Efron ties) with "
        "its 95 % Wald interval, on a log axis; below 1 favours the arm. A pair of arms without any event "
        "has no hazard ratio (not estimable)."
    )
    return ReportFigure("forest", "Forest plot", caption, png)


_FIGURE_FUNCTIONS: dict[str, Callable[[Any], ReportFigure | None]] = {
    "waterfall": _waterfall,
    "spider": _spider,
    "swimmer": _swimmer,
    "km_pfs": lambda r: _kaplan_meier(r, "pfs"),
    "km_os": lambda r: _kaplan_meier(r, "os"),
    "forest": _forest,
}


def report_figures(result: Any) -> list[ReportFigure]:
    """Render the report's figures (in :data:`FIGURES` order) to PNG bytes in memory.

    The forest plot is left out of a single-arm trial (there is no hazard ratio to show).
    """
    from oncoimmune.trial._run import TrialResult

    if not isinstance(result, TrialResult):
        raise ValidationError("result", "be a TrialResult (from run_trial)", type(result).__name__, "write_report")
    out = []
    for name in FIGURES:
        fig = _FIGURE_FUNCTIONS[name](result)
        if fig is not None:
            out.append(fig)
    return out


# -- tables -----------------------------------------------------------------------------------


def _pct(x: Any) -> str:
    """A fraction 0–1 as a percentage with one decimal (``0.58`` → ``58.0 %``); ``—`` if missing."""
    return f"{100.0 * x:.1f} %" if _finite(x) else "—"


def _months(x: Any) -> str:
    return f"{x:.1f}" if _finite(x) else "not reached"


def _median_ci(m: Any, ci: Any) -> str:
    """``11.5 (8.9–16.7)``; a median or bound that is not reached (null) reads "not reached"."""
    ci = ci if isinstance(ci, (list, tuple)) and len(ci) == 2 else [None, None]
    if not _finite(m) and not _finite(ci[0]):
        return "not reached"
    return f"{_months(m)} ({_months(ci[0])}–{_months(ci[1])})"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str) -> str:
    """An HTML table; every cell is escaped here."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _summary_table(result: Any) -> str:
    arms = _arm_names(result)
    summ = result.summary.get("arms", {})
    extra_trae = any("trae_g3plus" in summ.get(a, {}) for a in arms)
    extra_failed = any(summ.get(a, {}).get("failed_simulations") for a in arms)
    # the spec's landmark months (endpoints.landmarks_months), as summary.json keys them
    landmarks = [f"{m:g}" for m in result.spec.endpoints.landmarks_months]
    headers = [
        "Arm",
        "Regimen",
        "n",
        "ORR",
        "CR",
        "DCR",
        "Median PFS, months (95 % CI)",
        "Median OS, months (95 % CI)",
        "Median duration of response, months (95 % CI)",
        *[f"OS at {m} months" for m in landmarks],
    ]
    extra_new = (result.summary.get("provenance") or {}).get("new_lesions") is not None
    if extra_new:
        headers.append("Progressions on new lesions alone")
    if extra_trae:
        headers += ["Grade ≥3 AE", "AE leading to discontinuation"]
    if extra_failed:
        headers.append("Failed simulations")
    regimens = {a.name: a.treatment_text for a in result.spec.arms}
    rows = []
    for arm in arms:
        s = summ.get(arm, {})
        os_rate = s.get("os_rate") or {}
        row = [
            arm,
            str(s.get("regimen", regimens.get(arm, ""))),
            str(s.get("n", int((result.patients["arm"] == arm).sum()))),
            _pct(s.get("orr")),
            _pct(s.get("cr")),
            _pct(s.get("dcr")),
            _median_ci(s.get("median_pfs_months"), s.get("median_pfs_ci_months")),
            _median_ci(s.get("median_os_months"), s.get("median_os_ci_months")),
            "no responder"
            if not s.get("responders")
            else _median_ci(s.get("median_dor_months"), s.get("median_dor_ci_months")),
            *[_pct(os_rate.get(m)) for m in landmarks],
        ]
        if extra_new:
            row.append(_pct(s.get("progression_new_lesions_only")))
        if extra_trae:
            row += [_pct(s.get("trae_g3plus")), _pct(s.get("ae_discontinuation"))]
        if extra_failed:
            row.append(str(s.get("failed_simulations", 0)))
        rows.append(row)
    return _table(headers, rows, "summary")


def _targets_section(result: Any) -> str:
    """Published vs simulated for every target of the spec (empty when the spec lists none)."""
    from oncoimmune.trial._spec import tolerance_text

    rows = result.summary.get("targets") or []
    if not rows:
        return ""

    def fmt(metric: str, v: Any) -> str:
        if not _finite(v):
            return "not reached"
        if "months" in metric:
            return _months(v)
        if metric.startswith(("pfs_hr", "os_hr")):
            return f"{v:.2f}"
        return _pct(v)

    body = []
    for r in rows:
        tol = tolerance_text(r)
        figure = r["metric"] + (f" vs {r['versus']}" if r.get("versus") else "")
        body.append(
            [
                r["arm"],
                figure,
                fmt(r["metric"], r["target"]),
                tol,
                fmt(r["metric"], r["simulated"]),
                "yes" if r["inside"] else "no",
                r["source"],
            ]
        )
    headers = ["Arm", "Figure", "Published", "Tolerance", "Simulated", "Inside", "Source"]
    return "<h2>Published vs simulated</h2>\n" + _table(headers, body, "targets")


def _endpoints_section(result: Any) -> str:
    """The comparisons the spec declares (primary, secondary) with their tests and verdicts."""
    from oncoimmune.trial._endpoints import comparison_text

    ends = result.summary.get("endpoints") or {}
    items = [(role, row) for role in ("primary", "secondary") for row in ends.get(role, [])]
    if not items:
        return ""
    lines = "".join(
        f'<li class="{"met" if row["met"] else "not-met"}"><b>{html.escape(role.capitalize())}</b>: '
        f"{html.escape(comparison_text(row))}</li>"
        for role, row in items
    )
    test = "; ".join(sorted({f"{r['endpoint'].upper()}: {r['test']}" for _, r in items}))
    return (
        f'<h2>Endpoints</h2>\n<ul id="endpoints">{lines}</ul>\n<p class="note">{html.escape(test)}. Met: the '
        "test rejects at its alpha and the estimate favours the experimental arm. A virtual trial's verdict is a "
        "property of the model and its calibration, not evidence about a therapy.</p>"
    )


def _hr_table(result: Any) -> str:
    entries = _hr_entries(result)
    if not entries:
        return "<p>A single arm: there is no hazard ratio to show.</p>"
    ref = _arm_names(result)[0]
    summ = result.summary.get("arms", {})
    rows = []
    for arm, ep, hr, lo, hi in entries:
        p = (summ.get(arm, {}).get(f"{ep.lower()}_logrank_p_vs") or {}).get(ref)
        rows.append([arm, ep, _fmt_hr(hr, lo, hi), f"{p:.3g}" if _finite(p) else "—"])
    return _table(["Arm", "Endpoint", f"Hazard ratio vs {ref} (95 % CI)", "Log-rank p"], rows, "hr")


def _ae_terms(patients: pd.DataFrame) -> list[str]:
    return [c for c in patients.columns if c.startswith("ae_") and c.endswith("_grade") and len(c) > 9]


def _ae_section(result: Any) -> str:
    p = result.patients
    terms = _ae_terms(p)
    if not terms:
        return (
            '<p class="note">Side effects were not simulated in this trial: the patient table has no '
            "adverse-event grades, so no adverse-event table is shown.</p>"
        )
    arms = _arm_names(result)
    headers = [
        "Adverse event",
        "Arm",
        "n",
        "Grade 1",
        "Grade 2",
        "Grade 3",
        "Grade 4",
        "Grade 5",
        "Any grade",
        "Grade ≥3",
    ]
    rows = []
    for label, cols in [("any adverse event", terms)] + [(c[3:-6].replace("_", " "), [c]) for c in terms]:
        for arm in arms:
            sub = p[p["arm"] == arm]
            n = len(sub)
            g = (
                sub[cols].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(float).max(axis=1)
                if n
                else np.zeros(0)
            )
            counts = [str(int((g == k).sum())) for k in range(1, 6)]
            any_g = _pct((g >= 1).mean()) if n else "—"
            g3 = _pct((g >= 3).mean()) if n else "—"
            rows.append([label, arm, str(n), *counts, any_g, g3])
    out = [
        "<p>Patients by worst CTCAE v5.0 grade (ASTCT for CRS and ICANS) of each term over the study; "
        "rates are fractions of the arm's patients. The rows \"any adverse event\" count each patient's worst "
        "grade over all terms.</p>",
        _table(headers, rows, "ae"),
    ]
    mgmt = []
    has_hold = "dose_hold_days" in p
    has_disc = "discontinued" in p
    if has_hold or has_disc:
        for arm in arms:
            sub = p[p["arm"] == arm]
            n = len(sub)
            row = [arm, str(n)]
            if has_hold:
                hold = pd.to_numeric(sub["dose_hold_days"], errors="coerce").fillna(0).to_numpy(float)
                held = hold > 0
                row += [
                    f"{int(held.sum())} ({_pct(held.mean()) if n else '—'})",
                    f"{np.median(hold[held]):.0f}" if held.any() else "—",
                ]
            if has_disc:
                disc = sub["discontinued"].fillna(False).to_numpy(dtype=bool)
                row.append(f"{int(disc.sum())} ({_pct(disc.mean()) if n else '—'})")
            mgmt.append(row)
        headers = ["Arm", "n"]
        if has_hold:
            headers += ["Patients with a dose hold", "Median days held (if held)"]
        if has_disc:
            headers.append("Permanent discontinuation")
        out += ["<h3>Management of side effects</h3>", _table(headers, mgmt, "management")]
    return "\n".join(out)


# -- page -------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;max-width:1150px;
margin:1.5em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
.disclaimer{border:2px solid #b35c00;background:#fff4e5;padding:.8em 1em;border-radius:6px;font-weight:600}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;vertical-align:top}
th{background:#f1f1f1}td:first-child,th:first-child,td:nth-child(2){text-align:left}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88em;color:#444;margin-top:.3em}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.7em;overflow-x:auto;font-size:.82em}
.note{color:#555;font-style:italic}
"""


def render_report(result: Any, figures: Sequence[ReportFigure]) -> str:
    """The report page (a complete HTML document) for ``result`` with the rendered ``figures``."""
    import yaml

    e = html.escape
    spec = result.spec
    prov = result.summary.get("provenance", {})
    spec_yaml = yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    prov_json = json.dumps(prov, indent=2, ensure_ascii=False, default=str)
    arms_list = "".join(
        f"<li><b>{e(a.name)}</b>: {e(a.treatment_text)}" + (f" (ratio {a.ratio})" if a.ratio != 1 else "") + "</li>"
        for a in spec.arms
    )
    figs = "\n".join(
        f'<figure id="fig-{e(f.name)}"><img alt="{e(f.title)}" '
        f'src="data:image/png;base64,{base64.b64encode(f.png).decode("ascii")}">'
        f"<figcaption><b>{e(f.title)}.</b> {e(f.caption)}</figcaption></figure>"
        for f in figures
    )
    overview = (
        f"<p>Model <code>{e(str(spec.model))}</code>; population <code>{e(spec.population.tumour_type)}</code>; "
        f"{spec.patients} patients; seed {spec.seed}; follow-up {spec.follow_up.months:g} months; response "
        f"read with {e(spec.response.criteria)}. oncoimmune {e(str(prov.get('oncoimmune', '')))}, "
        f"created {e(str(prov.get('created', '')))}.</p>"
    )
    description = f"<p>{e(spec.description)}</p>" if spec.description else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(spec.name)} — virtual trial report</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{e(spec.name)}</h1>
<p>Virtual clinical trial report (oncoimmune).</p>
<p class="disclaimer" id="disclaimer">{e(PAGE_DISCLAIMER)}</p>
{description}
{overview}
<h2>Arms</h2>
<ul>{arms_list}</ul>
<h2>Summary by arm</h2>
{_summary_table(result)}
<p class="note">ORR: objective response rate (CR + PR); DCR: disease control rate (CR + PR + SD); rates are
fractions of the arm's patients. Medians and their 95 % confidence intervals from Kaplan–Meier estimates;
"not reached" when the curve (or a bound of its band) stays above 50 %. "—": no estimate (a landmark beyond
the follow-up).</p>
{_endpoints_section(result)}
{_targets_section(result)}
<h2>Hazard ratios</h2>
{_hr_table(result)}
<h2>Figures</h2>
{figs}
<h2>Adverse events</h2>
{_ae_section(result)}
<h2>Trial spec</h2>
<pre id="spec">{e(spec_yaml)}</pre>
<h2>Provenance</h2>
<pre id="provenance">{e(prov_json)}</pre>
<p class="disclaimer">{e(PAGE_DISCLAIMER)}</p>
</body>
</html>
"""


def write_report(result: Any, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/report.html`` and ``out_dir/figures/<name>.png`` for a finished trial.

    Parameters
    ----------
    result:
        A :class:`~oncoimmune.trial.TrialResult` (from :func:`~oncoimmune.trial.run_trial`).
    out_dir:
        Output directory (created if missing). Existing files of the same names are replaced.

    Returns
    -------
    list of pathlib.Path
        The written files: ``report.html`` first, then the figure PNGs in page order.

    Notes
    -----
    All figures are rendered in memory before anything is written; the files are then written
    into a hidden staging folder inside ``out_dir`` and renamed into place (``report.html``
    last), and the staging folder is removed whatever happens. An error therefore leaves no
    ``report.html`` (unless an earlier run left one) and no temporary file.
    """
    figures = report_figures(result)
    page = render_report(result, figures)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".report.", dir=out))
    try:
        staged: list[tuple[Path, Path]] = []
        for f in figures:
            tmp = stage / f"{f.name}.png"
            tmp.write_bytes(f.png)
            staged.append((tmp, out / "figures" / f"{f.name}.png"))
        tmp_html = stage / "report.html"
        tmp_html.write_text(page, encoding="utf-8")
        for tmp, _ in [*staged, (tmp_html, None)]:
            os.chmod(tmp, 0o644)  # results are meant to be shared
        (out / "figures").mkdir(exist_ok=True)
        for tmp, target in staged:
            os.replace(tmp, target)
        os.replace(tmp_html, out / "report.html")
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return [out / "report.html", *(target for _, target in staged)]
