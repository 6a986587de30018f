"""Trajectory plots of simulation results (matplotlib, Agg backend).

:func:`plot_result` draws one panel per state. Populations that the engine integrates in log
space (``State.log``) are shown on a logarithmic axis, because kill terms move them over many
decades; other states (drug and cytokine concentrations) on a linear axis. A population that
reaches exactly zero (extinction) cannot be drawn on a log axis, so its panel uses a symmetric
log axis (``symlog``), linear below the smallest positive value shown. Log axes span at most
:data:`MAX_DECADES` decades below the panel's maximum, so that a population driven to
1e-300 cells does not flatten the rest of the curve.

One patient is one line; a few patients are one line each; many patients (more than
:data:`MANY_PATIENTS`) are thin translucent lines with the median in bold. Several results
(e.g. treated versus untreated arms) can be overlaid by passing a mapping of labels to results.

Every figure names the model and carries, in small print, the line
"research and education software — not medical advice".
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from oncoimmune.errors import ValidationError
from oncoimmune.models._base import Model, get_model
from oncoimmune.solve._result import SimulationResult

__all__ = [
    "DISCLAIMER",
    "MANY_PATIENTS",
    "MAX_DECADES",
    "PLOT_SUFFIXES",
    "TREATMENT_PANELS",
    "plot_result",
    "plot_treatments",
]

DISCLAIMER = "research and education software — not medical advice"
"""Printed in small type on every figure."""

MANY_PATIENTS = 10
"""Above this number of patients, individual trajectories are drawn thin and the median in bold."""

MAX_LINES = 200
"""At most this many individual trajectories are drawn per arm (evenly spaced through the batch)."""

MAX_DECADES = 20.0
"""Log axes show at most this many decades below the panel's maximum."""

PLOT_SUFFIXES = (".png", ".pdf", ".svg")
"""File types :func:`plot_result` writes (chosen by the path's suffix)."""


def plot_result(
    result: SimulationResult | Mapping[str, SimulationResult],
    path: str | Path,
    model: str | Model | None = None,
    *,
    states: tuple[str, ...] | list[str] | None = None,
    title: str | None = None,
) -> Path:
    """Draw the trajectories of a simulation result and write the figure to ``path``.

    Parameters
    ----------
    result:
        A :class:`~oncoimmune.SimulationResult` with trajectories, or a mapping of arm labels to
        results of the same model (``{"untreated": r0, "chemotherapy": r1}``), overlaid in
        distinct colours.
    path:
        Output file; the suffix (``.png``, ``.pdf`` or ``.svg``) selects the format. The figure
        is written to a temporary file first and then renamed, so an interrupted write leaves
        nothing half-written.
    model:
        The model (or its registry name) whose state declarations choose the axis scales;
        default: the model named in the result.
    states:
        States to draw, in order; default: all.
    title:
        First line of the figure title; default: the model's title and registry name.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    # A bare Figure renders with the Agg canvas and leaves pyplot's global state (and the
    # user's interactive backend) untouched.
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    arms = _arms(result)
    first = next(iter(arms.values()))
    mdl = get_model(model if model is not None else first.model)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ValidationError("plot", f"end in one of {', '.join(PLOT_SUFFIXES)}", str(path))
    names = tuple(states) if states is not None else first.state_names
    for name in names:
        mdl.state_index(name)  # raises UnknownNameError for a misspelt state

    n_panels = len(names)
    n_cols = 1 if n_panels <= 3 else 2
    n_rows = -(-n_panels // n_cols)
    fig = Figure(figsize=(6.4 * n_cols, 2.6 * n_rows + 0.9))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    colours = rcParams["axes.prop_cycle"].by_key()["color"]
    for k, name in enumerate(names):
        ax = axes[k // n_cols][k % n_cols]
        state = mdl.states[mdl.state_index(name)]
        label = f"{name} — {state.description} ({state.unit})"
        panel_values = []
        for j, (arm, res) in enumerate(arms.items()):
            colour = colours[j % len(colours)] if len(arms) > 1 else None
            arm_label = label if len(arms) == 1 else f"{arm}: {name} ({state.unit})"
            panel_values.append(_draw(ax, res, name, arm_label, colour, single_arm=len(arms) == 1))
        values = np.concatenate([v.reshape(-1) for v in panel_values])
        _scale(ax, values, state.log)
        ax.set_ylabel(f"{name} ({state.unit})")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for k in range(n_panels, n_rows * n_cols):
        axes[k // n_cols][k % n_cols].set_visible(False)
    for c in range(n_cols):
        last_row = max(r for r in range(n_rows) if r * n_cols + c < n_panels)
        axes[last_row][c].set_xlabel("time (days)")
    heading = title if title is not None else f"{mdl.title} ({mdl.name})"
    variant = first.provenance.get("variant") if first.provenance else None
    subtitle = f"variant {variant}; " if variant and variant != "default" else ""
    subtitle += f"{first.n_patients} patient{'s' if first.n_patients != 1 else ''}"
    if len(arms) > 1:
        subtitle += f" per arm; arms: {', '.join(arms)}"
    fig.suptitle(f"{heading}\n{subtitle}", fontsize=10)
    fig.text(0.5, 0.004, DISCLAIMER, ha="center", va="bottom", fontsize=6, color="0.35")
    fig.tight_layout(rect=(0, 0.025, 1, 1))
    _save(fig, path, suffix)
    return path


def _arms(result: Any) -> dict[str, SimulationResult]:
    if isinstance(result, SimulationResult):
        arms = {"": result}
    elif isinstance(result, Mapping) and result:
        arms = {str(k): v for k, v in result.items()}
    else:
        raise ValidationError("result", "be a SimulationResult or a non-empty mapping of them", type(result).__name__)
    models = set()
    for label, res in arms.items():
        if not isinstance(res, SimulationResult):
            raise ValidationError("result", "be a SimulationResult", type(res).__name__, f"arm {label!r}")
        if res.y is None:
            raise ValidationError("result", "keep trajectories (simulate without reduce=)", res, f"arm {label!r}")
        models.add(res.model)
    if len(models) > 1:
        raise ValidationError("result", "hold results of one model", sorted(models))
    return arms


def _draw(ax: Any, res: SimulationResult, name: str, label: str, colour: str | None, single_arm: bool) -> np.ndarray:
    """Draw one arm's trajectories of one state; return the values drawn (for the axis scale)."""
    x = res[name]
    t = res.t
    n = x.shape[0]
    if n == 1:
        ax.plot(t, x[0], color=colour, lw=1.6, label=label)
        return x
    if n <= MANY_PATIENTS:
        for i in range(n):
            pid = res.patient_ids[i]
            lab = f"{label}, patient {pid}" if not single_arm else f"patient {pid}: {label}"
            ax.plot(t, x[i], color=colour, lw=1.2, label=lab if (single_arm or i == 0) else None)
        return x
    idx = np.unique(np.linspace(0, n - 1, min(n, MAX_LINES)).round().astype(int))
    for i in idx:
        ax.plot(t, x[i], color=colour if colour is not None else "C0", lw=0.4, alpha=0.15)
    shown = f"{idx.size} of {n}" if idx.size < n else f"{n}"
    ax.plot([], [], color=colour if colour is not None else "C0", lw=0.4, alpha=0.5, label=f"patients ({shown})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": every patient failed by then
        median = np.nanmedian(x, axis=0)
    ax.plot(t, median, color=colour if colour is not None else "k", lw=2.2, label=f"median {label}")
    return x


def _scale(ax: Any, values: np.ndarray, log: bool) -> None:
    finite = values[np.isfinite(values)]
    positive = finite[finite > 0]
    if not log or positive.size == 0:
        ax.set_yscale("linear")
        return
    top = float(positive.max())
    floor = max(float(positive.min()), top * 10.0 ** (-MAX_DECADES))
    if np.any(finite <= 0):
        ax.set_yscale("symlog", linthresh=floor, linscale=1.0)
        ax.set_ylim(bottom=min(0.0, float(finite.min())), top=top * 3.0)
    else:
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor / 3.0, top=top * 3.0)


def _save(fig: Any, path: Path, suffix: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, format=suffix[1:], dpi=130)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


TREATMENT_PANELS: tuple[tuple[str, str, str, bool], ...] = (
    ("sld_mm", "sum of target-lesion diameters", "mm", False),
    ("tumour_cells", "cancer cells", "cells", True),
    ("TE", "tumour-specific effector CD8 T cells", "cells", True),
    ("R", "regulatory T cells in the tumour", "cells", True),
    ("N", "blood NK cells", "cells/uL", False),
    ("L", "blood lymphocytes", "cells/uL", False),
    ("car_t_total", "CAR-T cells", "cells", True),
    ("immune_activation", "immune-activation index (0-1)", "1", False),
)
"""Panels of :func:`plot_treatments`: name (a state or a model output), title, unit, log axis."""


def plot_treatments(arms: Mapping[str, Any], path: str | Path, *, title: str | None = None) -> Path:
    """Tumour burden and key immune populations of several regimens on the same patient(s).

    Parameters
    ----------
    arms:
        Label to :class:`~oncoimmune.treatments.TreatmentResult` (from
        :func:`~oncoimmune.simulate_treatment`, model ``io_qsp`` or any model whose outputs give
        ``sld_mm``, ``tumour_cells``, ``car_t_total`` and ``immune_activation``). With several
        patients per arm the median is drawn.
    path:
        ``.png``, ``.pdf`` or ``.svg``; written atomically.
    title:
        First line of the figure title.
    """
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    if not isinstance(arms, Mapping) or not arms:
        raise ValidationError("arms", "be a non-empty mapping of label to TreatmentResult", arms)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ValidationError("plot", f"end in one of {', '.join(PLOT_SUFFIXES)}", str(path))
    series = {}
    for label, tr in arms.items():
        out = tr.outputs()
        series[label] = (tr.t, {name: (out[name] if name in out else tr[name]) for name, *_ in TREATMENT_PANELS})
    colours = rcParams["axes.prop_cycle"].by_key()["color"]
    fig = Figure(figsize=(12.8, 11.0))
    axes = fig.subplots(4, 2, squeeze=False).ravel()
    for ax, (name, what, unit, log) in zip(axes, TREATMENT_PANELS, strict=True):
        drawn = []
        for j, (label, (t, values)) in enumerate(series.items()):
            x = np.asarray(values[name], dtype=float)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                line = x[0] if x.shape[0] == 1 else np.nanmedian(x, axis=0)
            ax.plot(t, line, color=colours[j % len(colours)], lw=1.6, label=label)
            drawn.append(line)
        if name == "sld_mm":
            base = np.nanmax([d[0] for d in drawn])
            ax.axhline(0.7 * base, color="0.5", lw=0.8, ls="--", label="-30 % of baseline (RECIST PR)")
        _scale(ax, np.concatenate(drawn), log)
        ax.set_title(what, fontsize=9)
        ax.set_ylabel(unit)
        ax.grid(True, which="major", alpha=0.3)
    # One legend for the figure (the arms are the same in every panel), below the panels.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=min(3, len(labels)),
        fontsize=7,
        frameon=False,
        bbox_to_anchor=(0.5, 0.02),
    )
    for ax in axes[-2:]:
        ax.set_xlabel("time (days)")
    first = next(iter(arms.values()))
    n = first.result.n_patients
    heading = title if title is not None else f"{len(arms)} regimen(s) on the same virtual patient"
    sub = f"model {first.result.model}; " + (f"median of {n} patients" if n > 1 else "one patient")
    fig.suptitle(f"{heading}\n{sub}", fontsize=10)
    fig.text(0.5, 0.004, DISCLAIMER, ha="center", va="bottom", fontsize=6, color="0.35")
    rows_of_legend = -(-len(labels) // min(3, len(labels)))
    fig.tight_layout(rect=(0, 0.03 + 0.018 * rows_of_legend, 1, 1))
    _save(fig, path, suffix)
    return path
