"""Write docs/mechanisms.md and docs/figures/mechanisms/*.png: each therapy class of io_qsp through its mechanism.

Every therapy class of the integrated immuno-oncology model ``io_qsp`` is simulated on the same
virtual patient as in ``tests/reference/test_io_qsp_mechanisms.py``, against that patient
untreated (and, where the mechanism has a precondition, against a patient in whom the
precondition fails: no PD-L1, no NK cells, no lymphodepletion, no antigen match). The page
states each mechanism with the model terms and parameter names, the regimen strings, one figure
per class and a table of the signature numbers computed in the same run, with the drug files'
``qsp.acts_on`` text and the sources of the key parameters read from the drug library and the
model. Nothing simulated is written by hand: rerun the script after any change of the model or
the drug files (``make mechanisms``; ``make docs`` runs it too).

Usage::

    .venv/bin/python docs/generate_mechanisms.py [--out DIR]

writes ``DIR/mechanisms.md`` and ``DIR/figures/mechanisms/<class>.png`` (default ``DIR``: the
directory of this script). Files are written to a temporary name and renamed, so an interrupted
run leaves the previous files intact. The output is deterministic (fixed time grids, no random
numbers, PNG metadata without a software version).
"""

from __future__ import annotations

import argparse
import functools
import io
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oncoimmune.cli._demo import DEMO_PATIENT
from oncoimmune.models import get_model
from oncoimmune.plot import DISCLAIMER
from oncoimmune.treatments import Covariates, Regimen, TreatmentResult, get_drug, simulate_treatment

MODEL = "io_qsp"
YEAR = tuple(float(d) for d in range(366))
"""Daily output grid over one year (days)."""
TWO_YEARS_WEEKLY = tuple(float(d) for d in range(0, 731, 7))
"""Weekly output grid over two years (days), for targeted therapy and resistance."""
IL2_FINE = tuple(k / 192.0 for k in range(5 * 192 + 1))
"""Output grid every 7.5 minutes over five days, to catch the IL-2 peaks of 15-minute infusions."""
TKI_DAY_28 = tuple(28.0 + k / 96.0 for k in range(97))
"""Output grid every 15 minutes over day 28, to show the daily swing of targeted-therapy exposure."""
FIGURE_DIR = Path("figures") / "mechanisms"

PATIENT = dict(DEMO_PATIENT)
"""The demo's patient, also the one of tests/reference/test_io_qsp_mechanisms.py (NSCLC pooled median burden,
population.md §1.7)."""

NK_DEPLETED = (("N_ss", 1e-3),)
"""Parameter override giving a patient without NK cells (blood NK 0.001 cells/uL)."""

NO_IMMUNE_KILL = (("k_CT", 0.0), ("k_NK", 0.0))
"""Parameter override removing T-cell and NK kill (to show a direct effect on cancer cells)."""

REGIMENS = {
    "pembrolizumab": "pembrolizumab 200 mg q3w",
    "atezolizumab": "atezolizumab 1200 mg q3w",
    "nivolumab_q2w": "nivolumab 3 mg/kg q2w",
    "ipilimumab": "ipilimumab 3 mg/kg q3w x4",
    "nivo_ipi": "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w",
    "il2": "aldesleukin 600000 IU/kg q8h x14",
    "ifn": "interferon alfa-2b 20 MIU/m2 IV 5 days/week x4 weeks",
    "vaccine": "sipuleucel-T 50 million cells q2w x3",
    "lymphodepletion": "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 daily x3",
    "car_t_ld": (
        "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 daily x3 then axicabtagene ciloleucel 2e6 cells/kg "
        "after 2 days"
    ),
    "car_t": "axicabtagene ciloleucel 2e6 cells/kg",
    "docetaxel": "docetaxel 75 mg/m2 q3w x6",
    "platinum": "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4",
    "targeted": "dabrafenib 150 mg bid + trametinib 2 mg daily",
    "rituximab": "rituximab 375 mg/m2 q1w x4",
    "nivolumab_flat": "nivolumab 240 mg q2w",
    "nivolumab_ivig": "nivolumab 240 mg q2w + intravenous immunoglobulin 2 g/kg once",
}
"""Regimen strings as a clinic writes them (parsed by Regimen.parse; grammar in docs/regimens.md)."""


# -- simulation ----------------------------------------------------------------------------------


class SLDValue(float):
    """A sum of diameters (mm) that remembers the number of cancer cells behind it.

    The model's extinction threshold is 0.9 cells (``io_qsp`` notes); a tumour of less than one
    cancer cell is reported as "< 1 cell" rather than as a meaningless sub-micrometre diameter.
    """

    cells: float

    def __new__(cls, mm: float, cells: float) -> SLDValue:
        obj = super().__new__(cls, mm)
        obj.cells = float(cells)
        return obj


@dataclass(frozen=True)
class Run:
    """One regimen on one patient: the treatment result and its derived outputs."""

    result: TreatmentResult
    out: dict[str, np.ndarray]

    @property
    def t(self) -> np.ndarray:
        return np.asarray(self.result.t, dtype=float)

    def __getitem__(self, name: str) -> np.ndarray:
        """A state or a model output of the (single) patient, over time."""
        if name in self.out:
            return np.asarray(self.out[name][0], dtype=float)
        return np.asarray(self.result[name][0], dtype=float)

    def at(self, name: str, day: float) -> float:
        i = int(np.flatnonzero(self.t == day)[0])
        if name == "sld_mm":
            return SLDValue(self[name][i], self["tumour_cells"][i])
        return float(self[name][i])

    def window(self, name: str, first: float, last: float) -> np.ndarray:
        keep = (self.t >= first) & (self.t <= last)
        return self[name][keep]


@functools.cache
def _run(regimen: str, times: tuple[float, ...], params: tuple, cov: tuple) -> Run:
    reg = Regimen(()) if regimen == "none" else regimen
    res = simulate_treatment(MODEL, reg, Covariates(**{**PATIENT, **dict(cov)}), np.asarray(times), params=dict(params))
    if not res.result.ok.all():
        raise RuntimeError(f"{regimen}: the simulation failed with status {res.result.status}")
    return Run(res, res.outputs())


def run(regimen: str, *, times: tuple[float, ...] = YEAR, params: tuple = (), **cov) -> Run:
    """Simulate ``regimen`` (a key of :data:`REGIMENS`, or ``"none"``) on the patient with ``cov`` changed."""
    text = "none" if regimen == "none" else REGIMENS[regimen]
    return _run(text, times, tuple(params), tuple(sorted(cov.items())))


# -- page content --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One signature number: a value, optionally compared with a value of a reference arm.

    ``expected`` is the relation that tests/reference/test_io_qsp_mechanisms.py asserts, in words
    (empty where no test asserts one); ``check`` evaluates it on (value, reference).
    """

    quantity: str
    value: float
    reference: str = ""
    ref_value: float | None = None
    expected: str = ""
    check: Callable[[float, float | None], bool] | None = None
    bound: float | None = None  # write "< bound" when the value is below it (solver-tolerance differences)


@dataclass(frozen=True)
class Line:
    label: str
    t: np.ndarray
    y: np.ndarray
    style: str | tuple = "-"


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    log: bool
    lines: tuple[Line, ...]
    xmax: float | None = None
    hline: tuple[float, str] | None = None


@dataclass(frozen=True)
class Section:
    slug: str
    title: str
    mechanism: str
    arms: tuple[tuple[str, str], ...]  # (arm label, regimen and patient in words)
    regimens: tuple[str, ...]  # keys of REGIMENS whose drugs are described
    parameters: tuple[str, ...]  # model parameters of the mechanism
    rows: tuple[Row, ...]
    panels: tuple[Panel, ...]
    note: str = ""


def _ratio_lt(k: float) -> Callable[[float, float | None], bool]:
    return lambda v, r: r is not None and v < k * r


def _ratio_gt(k: float) -> Callable[[float, float | None], bool]:
    return lambda v, r: r is not None and v > k * r


def _equal(rtol: float) -> Callable[[float, float | None], bool]:
    return lambda v, r: r is not None and abs(v - r) <= rtol * abs(r)


def _max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.abs(b)))


def first_day_below_one_cell(r: Run) -> float:
    """First output day on which the tumour holds less than one cancer cell (NaN if never)."""
    below = np.flatnonzero(r["tumour_cells"] < 1.0)
    return float(r.t[below[0]]) if below.size else float("nan")


def _p(x: float) -> str:
    """A parameter value or regimen input as written in prose (not a simulated number)."""
    return f"{x:g}"


def _pct(x: float) -> str:
    return f"{100 * x:g} %"


SLD = ("sld_mm", "sum of target-lesion diameters", "mm", False)


def _panel(spec: tuple[str, str, str, bool], arms: Sequence[tuple[str, Run]], **kw) -> Panel:
    name, title, unit, log = spec
    return Panel(title, unit, log, _lines(name, arms), **kw)


TREATED_STYLES = ("-", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))
"""Line styles of treated arms in turn (untreated arms are dashed), so that coinciding arms stay visible."""


def _lines(name: str, arms: Sequence[tuple[str, Run]]) -> tuple[Line, ...]:
    out, k = [], 0
    for label, r in arms:
        if label.startswith("untreated"):
            out.append(Line(label, r.t, r[name], "--"))
        else:
            out.append(Line(label, r.t, r[name], TREATED_STYLES[k % len(TREATED_STYLES)]))
            k += 1
    return tuple(out)


def checkpoint() -> Section:
    none60, pem60, atz60 = run("none"), run("pembrolizumab"), run("atezolizumab")
    none0, pem0, atz0 = run("none", pdl1=0.0), run("pembrolizumab", pdl1=0.0), run("atezolizumab", pdl1=0.0)
    nivo = run("nivolumab_q2w")
    day = 182
    trough_days = [d for d in range(13, 182, 14)]
    rows = [
        Row(
            f"SLD at day {day} (mm), pembrolizumab, PD-L1 60 %",
            pem60.at("sld_mm", day),
            "untreated, PD-L1 60 %",
            none60.at("sld_mm", day),
            "ratio < 0.8",
            _ratio_lt(0.8),
        ),
        Row(
            f"SLD at day {day} (mm), atezolizumab, PD-L1 60 %",
            atz60.at("sld_mm", day),
            "untreated, PD-L1 60 %",
            none60.at("sld_mm", day),
            "ratio < 0.8",
            _ratio_lt(0.8),
        ),
        Row(
            f"SLD at day {day} (mm), pembrolizumab, PD-L1 0 %",
            pem0.at("sld_mm", day),
            "untreated, PD-L1 0 %",
            none0.at("sld_mm", day),
            "equal (rtol 1e-5)",
            _equal(1e-5),
        ),
        Row(
            f"SLD at day {day} (mm), atezolizumab, PD-L1 0 %",
            atz0.at("sld_mm", day),
            "untreated, PD-L1 0 %",
            none0.at("sld_mm", day),
            "equal (rtol 1e-5)",
            _equal(1e-5),
        ),
        Row(
            "largest relative SLD difference over days 0-365, pembrolizumab vs untreated, PD-L1 0 %",
            _max_rel_diff(pem0["sld_mm"], none0["sld_mm"]),
            expected="< 1e-5",
            check=lambda v, r: v < 1e-5,
            bound=1e-5,
        ),
        Row(
            "largest relative SLD difference over days 0-365, atezolizumab vs untreated, PD-L1 0 %",
            _max_rel_diff(atz0["sld_mm"], none0["sld_mm"]),
            expected="< 1e-5",
            check=lambda v, r: v < 1e-5,
            bound=1e-5,
        ),
        Row(
            "tumour PD-1 occupancy, lowest trough (days 13, 27, ..., 181), nivolumab 3 mg/kg q2w",
            float(min(nivo.at("occupancy_PD1", d) for d in trough_days)),
            expected="> 0.9",
            check=lambda v, r: v > 0.9,
        ),
        Row(
            "tumour PD-1 occupancy, lowest over days 21-182, pembrolizumab 200 mg q3w",
            float(pem60.window("occupancy_PD1", 21, 182).min()),
        ),
        Row(
            "tumour PD-L1 occupancy, lowest over days 21-182, atezolizumab 1200 mg q3w",
            float(atz60.window("occupancy_PDL1", 21, 182).min()),
        ),
        Row(
            f"PD-1 suppression of T-cell kill H_PD1 at day {day}, pembrolizumab, PD-L1 60 %",
            pem60.at("pd1_suppression", day),
            "untreated, PD-L1 60 %",
            none60.at("pd1_suppression", day),
        ),
        Row(
            f"effector CD8 T cells at day {day} (cells), pembrolizumab, PD-L1 60 %",
            pem60.at("TE", day),
            "untreated, PD-L1 60 %",
            none60.at("TE", day),
        ),
    ]
    arms60 = [
        ("untreated, PD-L1 60 %", none60),
        ("pembrolizumab, PD-L1 60 %", pem60),
        ("atezolizumab, PD-L1 60 %", atz60),
    ]
    arms0 = [("untreated, PD-L1 0 %", none0), ("pembrolizumab, PD-L1 0 %", pem0), ("atezolizumab, PD-L1 0 %", atz0)]
    panels = (
        _panel(("sld_mm", "SLD, PD-L1 60 %", "mm", False), arms60),
        _panel(("sld_mm", "SLD, PD-L1 0 % (nothing to block)", "mm", False), arms0),
        _panel(("pd1_suppression", "PD-1 suppression of T-cell kill H_PD1, PD-L1 60 %", "1", False), arms60),
        Panel(
            "tumour receptor occupancy",
            "1",
            False,
            (
                Line("PD-1, pembrolizumab 200 mg q3w", pem60.t, pem60["occupancy_PD1"]),
                Line("PD-L1, atezolizumab 1200 mg q3w", atz60.t, atz60["occupancy_PDL1"], "-."),
                Line("PD-1, nivolumab 3 mg/kg q2w", nivo.t, nivo["occupancy_PD1"], ":"),
            ),
        ),
    )
    return Section(
        "checkpoint_pd1_axis",
        "Checkpoint blockade: anti-PD-1 and anti-PD-L1",
        "An antibody in the tumour (interstitial concentration `gamma_T` × plasma) occupies its target, "
        "O = c_T/(c_T + `KD_PD1`) or c_T/(c_T + `KD_PDL1`), which lowers the PD-1 engagement "
        "x = `pdl1` (1 − O_PD1)(1 − O_PDL1)/`P50_PD1`; the suppression H_PD1 = x^`n_PD1`/(1 + x^`n_PD1`) "
        "multiplies the T-cell kill by (1 − H_PD1) and adds effector exhaustion `eps_PD1` H_PD1. "
        "With PD-L1 0 % there is nothing to block: x = 0 with or without the antibody.",
        (
            ("untreated", "no drug; PD-L1 60 % and 0 %"),
            ("pembrolizumab", f"`{REGIMENS['pembrolizumab']}`; PD-L1 60 % and 0 %"),
            ("atezolizumab", f"`{REGIMENS['atezolizumab']}`; PD-L1 60 % and 0 %"),
            ("nivolumab", f"`{REGIMENS['nivolumab_q2w']}` (occupancy at trough); PD-L1 60 %"),
        ),
        ("pembrolizumab", "atezolizumab", "nivolumab_q2w"),
        ("gamma_T", "pdl1", "P50_PD1", "n_PD1", "eps_PD1", "k_CT", "K_TC", "K_TR"),
        tuple(rows),
        panels,
    )


def anti_ctla4() -> Section:
    none, ipi = run("none"), run("ipilimumab")
    none_nk, ipi_nk = run("none", params=NK_DEPLETED), run("ipilimumab", params=NK_DEPLETED)
    d = 28
    rows = (
        Row(
            f"regulatory T cells at day {d} (cells)",
            ipi.at("R", d),
            "untreated",
            none.at("R", d),
            "ratio < 0.8",
            _ratio_lt(0.8),
        ),
        Row(
            f"effector CD8 T cells at day {d} (cells)",
            ipi.at("TE", d),
            "untreated",
            none.at("TE", d),
            "ratio > 1.5",
            _ratio_gt(1.5),
        ),
        Row(
            f"regulatory T cells at day {d} (cells), ipilimumab, NK-depleted",
            ipi_nk.at("R", d),
            "ipilimumab, NK cells at baseline",
            ipi.at("R", d),
            "ratio > 1.2",
            _ratio_gt(1.2),
        ),
        Row(
            f"regulatory T cells at day {d} (cells), NK-depleted",
            ipi_nk.at("R", d),
            "untreated, NK-depleted",
            none_nk.at("R", d),
        ),
        Row("tumour CTLA-4 occupancy, highest over days 0-84", float(ipi.window("occupancy_CTLA4", 0, 84).max())),
        Row("SLD at day 182 (mm)", ipi.at("sld_mm", 182), "untreated", none.at("sld_mm", 182)),
    )
    arms = [
        ("untreated", none),
        ("ipilimumab", ipi),
        ("untreated, NK-depleted", none_nk),
        ("ipilimumab, NK-depleted", ipi_nk),
    ]
    panels = (
        _panel(("R", "regulatory T cells in the tumour", "cells", True), arms, xmax=182),
        _panel(("TE", "tumour-specific effector CD8 T cells", "cells", True), arms, xmax=182),
        _panel(SLD, arms),
        _panel(("occupancy_CTLA4", "tumour CTLA-4 occupancy", "1", False), arms[1:2], xmax=182),
    )
    return Section(
        "anti_ctla4",
        "Anti-CTLA-4: Treg depletion and co-stimulation",
        "CTLA-4 occupancy O_CTLA4 (`KD_CTLA4`) does two things. It lifts the competition of CTLA-4 for CD28 "
        "during priming, F_CTLA4 = (1 − `phi_CTLA4` (1 − O_CTLA4))/(1 − `phi_CTLA4`), which multiplies effector "
        "priming (and divides Treg priming); and the bound antibody (b = `CTLA4_per_Treg` × O_CTLA4 per Treg) "
        "drives NK-cell ADCC of intratumoural Tregs at `k_ADCC_R` b²/(b² + `CTLA4_50`²) N/`N_ref`. Without NK "
        "cells the Tregs are not depleted.",
        (
            ("untreated", "no drug"),
            ("ipilimumab", f"`{REGIMENS['ipilimumab']}`"),
            (
                "NK-depleted",
                f"the same patient with `N_ss` = {_p(NK_DEPLETED[0][1])} cells/uL, untreated and with ipilimumab",
            ),
        ),
        ("ipilimumab",),
        ("phi_CTLA4", "CTLA4_per_Treg", "CTLA4_50", "k_ADCC_R", "N_ss", "N_ref", "rho_R", "k_TR"),
        rows,
        panels,
    )


def combination() -> Section:
    none, nivo, ipi, both = run("none"), run("nivolumab_q2w"), run("ipilimumab"), run("nivo_ipi")
    rows = (
        Row("SLD at day 182 (mm), nivolumab + ipilimumab", both.at("sld_mm", 182), "untreated", none.at("sld_mm", 182)),
        Row(
            "SLD at day 182 (mm), nivolumab + ipilimumab",
            both.at("sld_mm", 182),
            "nivolumab 3 mg/kg q2w alone",
            nivo.at("sld_mm", 182),
        ),
        Row(
            "SLD at day 182 (mm), nivolumab + ipilimumab",
            both.at("sld_mm", 182),
            "ipilimumab 3 mg/kg q3w x4 alone",
            ipi.at("sld_mm", 182),
        ),
        Row(
            "effector CD8 T cells at day 28 (cells), nivolumab + ipilimumab",
            both.at("TE", 28),
            "nivolumab alone",
            nivo.at("TE", 28),
        ),
        Row(
            "regulatory T cells at day 28 (cells), nivolumab + ipilimumab",
            both.at("R", 28),
            "nivolumab alone",
            nivo.at("R", 28),
        ),
        Row("first day with less than one cancer cell, nivolumab + ipilimumab", first_day_below_one_cell(both)),
        Row(
            "tumour PD-1 occupancy, lowest over days 1-84 (nivolumab 1 mg/kg phase)",
            float(both.window("occupancy_PD1", 1, 84).min()),
        ),
    )
    arms = [
        ("untreated", none),
        ("nivolumab 3 mg/kg q2w", nivo),
        ("ipilimumab 3 mg/kg q3w x4", ipi),
        ("nivolumab + ipilimumab", both),
    ]
    panels = (
        _panel(SLD, arms),
        _panel(("TE", "tumour-specific effector CD8 T cells", "cells", True), arms),
        _panel(("R", "regulatory T cells in the tumour", "cells", True), arms),
        Panel(
            "tumour receptor occupancy, nivolumab + ipilimumab",
            "1",
            False,
            (Line("PD-1", both.t, both["occupancy_PD1"]), Line("CTLA-4", both.t, both["occupancy_CTLA4"])),
        ),
    )
    return Section(
        "nivolumab_ipilimumab",
        "Combination: nivolumab + ipilimumab",
        "The two blockades act on different terms and multiply: CTLA-4 blockade raises priming (F_CTLA4) and "
        "depletes Tregs (ADCC at `k_ADCC_R`), so that more effector T cells reach the tumour, while PD-1 blockade "
        "lifts the suppression (1 − H_PD1) of their kill and the extra exhaustion `eps_PD1`.",
        (
            ("untreated", "no drug"),
            ("nivolumab", f"`{REGIMENS['nivolumab_q2w']}`"),
            ("ipilimumab", f"`{REGIMENS['ipilimumab']}`"),
            ("combination", f"`{REGIMENS['nivo_ipi']}`"),
        ),
        ("nivo_ipi",),
        ("phi_CTLA4", "k_ADCC_R", "P50_PD1", "n_PD1", "eps_PD1"),
        rows,
        panels,
        note="No mechanism test asserts a direction for the combination; the rows are reported as computed.",
    )


def il2() -> Section:
    none, il = run("none"), run("il2")
    rows = (
        Row(
            "effector CD8 T cells, highest over days 0-9 (cells)",
            float(il.window("TE", 0, 9).max()),
            "untreated",
            float(none.window("TE", 0, 9).max()),
            "ratio > 2",
            _ratio_gt(2.0),
        ),
        Row(
            "regulatory T cells, highest over days 0-9 (cells)",
            float(il.window("R", 0, 9).max()),
            "untreated",
            float(none.window("R", 0, 9).max()),
            "ratio > 2",
            _ratio_gt(2.0),
        ),
        Row(
            "blood NK cells, highest over days 0-9 (cells/uL)",
            float(il.window("N", 0, 9).max()),
            "untreated",
            float(none.window("N", 0, 9).max()),
            "ratio > 2",
            _ratio_gt(2.0),
        ),
        Row(
            "plasma IL-2, highest over days 0-5 (nM; outputs every 7.5 min)",
            float(run("il2", times=IL2_FINE)["conc_IL2_nM"].max()),
        ),
        Row("SLD at day 182 (mm)", il.at("sld_mm", 182), "untreated", none.at("sld_mm", 182)),
    )
    arms = [("untreated", none), ("aldesleukin", il)]
    panels = (
        _panel(("TE", "tumour-specific effector CD8 T cells", "cells", True), arms, xmax=60),
        _panel(("R", "regulatory T cells in the tumour", "cells", True), arms, xmax=60),
        _panel(("N", "blood NK cells", "cells/uL", False), arms, xmax=60),
        _panel(SLD, arms),
    )
    return Section(
        "il2",
        "Interleukin-2 (aldesleukin)",
        "Plasma IL-2 (IU converted with `nM_per_IU_IL2`) drives proliferation at `k_pro` through receptor "
        "occupancies c/(c + EC50): effector T cells (`EC50_IL2_E`), Tregs (`EC50_IL2_R`, the same 0.32 nM: "
        "the value that reproduces Atkins 1999; the 100 times lower value of the high-affinity CD25 receptor "
        "is selectable and makes Tregs outgrow the effectors) and NK cells (`EC50_IL2_NK`). High-dose IL-2 "
        "therefore expands Tregs as well as the killers.",
        (("untreated", "no drug"), ("aldesleukin", f"`{REGIMENS['il2']}`")),
        ("il2",),
        ("k_pro", "EC50_IL2_E", "EC50_IL2_R", "EC50_IL2_NK", "nM_per_IU_IL2", "CL_IL2", "V1_IL2"),
        rows,
        panels,
    )


def interferon() -> Section:
    none, ifn = run("none"), run("ifn")
    none_x, ifn_x = run("none", params=NO_IMMUNE_KILL), run("ifn", params=NO_IMMUNE_KILL)
    rows = (
        Row(
            "SLD at day 28 (mm)", ifn.at("sld_mm", 28), "untreated", none.at("sld_mm", 28), "ratio < 1", _ratio_lt(1.0)
        ),
        Row(
            "SLD at day 28 (mm), no T-cell or NK kill",
            ifn_x.at("sld_mm", 28),
            "untreated, no T-cell or NK kill",
            none_x.at("sld_mm", 28),
            "ratio < 1",
            _ratio_lt(1.0),
        ),
        Row("mature APCs at day 14 (cells)", ifn.at("A", 14), "untreated", none.at("A", 14)),
        Row("SLD at day 182 (mm)", ifn.at("sld_mm", 182), "untreated", none.at("sld_mm", 182)),
    )
    arms = [
        ("untreated", none),
        ("interferon alfa-2b", ifn),
        ("untreated, no T-cell or NK kill", none_x),
        ("interferon alfa-2b, no T-cell or NK kill", ifn_x),
    ]
    panels = (
        _panel(SLD, arms, xmax=120),
        _panel(("conc_IFN_IU_per_mL", "plasma interferon-alpha", "IU/mL", False), arms[1:2], xmax=35),
        _panel(("A", "mature antigen-presenting cells", "cells", False), arms[:2], xmax=120),
    )
    return Section(
        "interferon_alpha",
        "Interferon-alpha",
        "Interferon-alpha acts directly on cancer cells: growth is multiplied by (1 − `I_IFN` E_IFN) with "
        "E_IFN = c/(`EC50_IFN` + c); it also raises APC activation by (1 + `a_IFN` E_IFN). The direct effect "
        "persists in a patient without T-cell or NK kill (`k_CT` = `k_NK` = 0).",
        (
            ("untreated", "no drug"),
            ("interferon alfa-2b", f"`{REGIMENS['ifn']}`"),
            ("no immune kill", "the same patient with `k_CT` = 0 and `k_NK` = 0, untreated and treated"),
        ),
        ("ifn",),
        ("I_IFN", "EC50_IFN", "a_IFN", "ka_IFN", "F_IFN", "CL_IFN", "V_IFN"),
        rows,
        panels,
    )


def vaccine() -> Section:
    none, vax, miss = run("none"), run("vaccine"), run("vaccine", params=(("m_V", 0.0),))
    rows = (
        Row(
            "effector CD8 T cells at day 42 (cells)",
            vax.at("TE", 42),
            "untreated",
            none.at("TE", 42),
            "ratio > 1.3",
            _ratio_gt(1.3),
        ),
        Row(
            "effector CD8 T cells at day 42 (cells), no antigen match",
            miss.at("TE", 42),
            "untreated",
            none.at("TE", 42),
            "equal (rtol 1e-5)",
            _equal(1e-5),
        ),
        Row("SLD at day 182 (mm)", vax.at("sld_mm", 182), "untreated", none.at("sld_mm", 182)),
    )
    arms = [("untreated", none), ("sipuleucel-T", vax), ("sipuleucel-T, no antigen match", miss)]
    panels = (
        _panel(("V", "vaccine-loaded APCs", "cells", False), arms[1:], xmax=120),
        _panel(("TE", "tumour-specific effector CD8 T cells", "cells", True), arms, xmax=182),
        _panel(SLD, arms),
    )
    return Section(
        "vaccine",
        "Therapeutic vaccine (sipuleucel-T)",
        "Infused antigen-loaded APCs V decay at `d_V` and join the priming APC pool with efficiency `eta_V` and "
        "antigen match `m_V`: priming ∝ (A + `eta_V` `m_V` V)/(A + `eta_V` `m_V` V + `K_APC`). With no antigen "
        "match (`m_V` = 0) the vaccine primes nothing.",
        (
            ("untreated", "no drug"),
            ("sipuleucel-T", f"`{REGIMENS['vaccine']}`"),
            ("no antigen match", "the same regimen with `m_V` = 0"),
        ),
        ("vaccine",),
        ("d_V", "eta_V", "m_V", "K_APC", "alpha_A", "mu_A", "N_gen"),
        rows,
        panels,
    )


def car_t() -> Section:
    none, ld, car_ld, car = run("none"), run("lymphodepletion"), run("car_t_ld"), run("car_t")
    plan = car_ld.result.plans[0]
    infusion = min(a.time_days for a in plan.administrations if a.drug == "axicabtagene_ciloleucel")
    tot = car_ld["car_t_total"]
    i_inf = int(np.flatnonzero(car_ld.t == infusion)[0])
    peak = int(np.argmax(tot))
    peak_day = float(car_ld.t[peak])
    rows = (
        Row(
            "day of the CAR-T peak, with lymphodepletion",
            peak_day,
            "infusion day",
            float(infusion),
            "infusion < peak <= infusion + 14",
            lambda v, r: r is not None and r < v <= r + 14,
        ),
        Row(
            "CAR-T cells at the peak (cells)",
            float(tot[peak]),
            "at infusion",
            float(tot[i_inf]),
            "ratio > 10",
            _ratio_gt(10.0),
        ),
        Row(
            "CAR-T cells 60 days after infusion (cells)",
            float(tot[i_inf + 60]),
            "at the peak",
            float(tot[peak]),
            "ratio < 0.2",
            _ratio_lt(0.2),
        ),
        Row(
            "CAR-T cells, highest over days 0-365, without lymphodepletion",
            float(car["car_t_total"].max()),
            "at infusion (day 0)",
            float(car["car_t_total"][0]),
            "ratio < 1.5",
            _ratio_lt(1.5),
        ),
        Row(
            "blood lymphocytes, lowest over days 0-9 (cells/uL)",
            float(car_ld.window("L", 0, 9).min()),
            "day 0",
            float(car_ld["L"][0]),
            "ratio < 0.1",
            _ratio_lt(0.1),
        ),
        Row("CAR-T cells at the peak (cells/uL blood equivalent)", float(car_ld["car_t_per_uL"][peak])),
        Row(
            "SLD at day 182 (mm), lymphodepletion + CAR-T",
            car_ld.at("sld_mm", 182),
            "untreated",
            none.at("sld_mm", 182),
        ),
        Row("first day with less than one cancer cell, lymphodepletion + CAR-T", first_day_below_one_cell(car_ld)),
        Row("SLD at day 182 (mm), lymphodepletion alone", ld.at("sld_mm", 182), "untreated", none.at("sld_mm", 182)),
        Row(
            "SLD at day 182 (mm), CAR-T without lymphodepletion",
            car.at("sld_mm", 182),
            "untreated",
            none.at("sld_mm", 182),
        ),
    )
    arms = [
        ("untreated", none),
        ("lymphodepletion alone", ld),
        ("CAR-T without lymphodepletion", car),
        ("lymphodepletion + CAR-T", car_ld),
    ]
    panels = (
        _panel(("car_t_total", "CAR-T cells (effector + memory + exhausted)", "cells", True), arms[2:], xmax=182),
        _panel(("L", "blood lymphocytes", "cells/uL", False), arms[1:], xmax=182),
        _panel(SLD, arms),
        _panel(("CAR_X", "exhausted CAR-T cells", "cells", True), arms[2:], xmax=182),
    )
    return Section(
        "car_t",
        "CAR-T cells with and without lymphodepletion",
        "Infused CAR-T effectors expand on antigen, S = `a_CAR` C/(`a_CAR` C + `K_Ag`), at `rho_CAR` S inside "
        "the homeostatic niche `K_gc`/(`K_gc` + L + E_CAR/`kappa_CAR`) that lymphodepletion opens (the blood "
        "lymphocytes L compete for it); they contract at `alpha_CAR`, form memory at `k_EM`, exhaust at "
        "`k_EX` S and kill at `k_CAR` `a_CAR` E_CAR/(`K_CAR` C + E_CAR). Without lymphodepletion L stays near "
        "`L_ss` and the niche stays closed.",
        (
            ("untreated", "no drug"),
            ("lymphodepletion alone", f"`{REGIMENS['lymphodepletion']}`"),
            ("CAR-T without lymphodepletion", f"`{REGIMENS['car_t']}`"),
            ("lymphodepletion + CAR-T", f"`{REGIMENS['car_t_ld']}`"),
        ),
        ("car_t_ld",),
        (
            "rho_CAR",
            "K_gc",
            "kappa_CAR",
            "K_Ag",
            "alpha_CAR",
            "k_EM",
            "beta_CAR",
            "k_EX",
            "k_CAR",
            "K_CAR",
            "L_ss",
            "k_L",
        ),
        rows,
        panels,
        note="The patient is the solid-tumour patient of the other sections, with every cancer cell bearing the "
        "CAR antigen (`a_CAR` = 1); the model has no B-cell antigen sink.",
    )


def chemotherapy() -> Section:
    none, doc, plat = run("none"), run("docetaxel"), run("platinum")
    rows = []
    for name, r in (("docetaxel", doc), ("carboplatin + pemetrexed", plat)):
        rows += [
            Row(
                f"SLD at day 42 (mm), {name}",
                r.at("sld_mm", 42),
                "untreated",
                none.at("sld_mm", 42),
                "ratio < 1",
                _ratio_lt(1.0),
            ),
            Row(
                f"blood lymphocytes, lowest over days 0-41 (cells/uL), {name}",
                float(r.window("L", 0, 41).min()),
                "untreated, day 0",
                float(none["L"][0]),
                "ratio < 0.9",
                _ratio_lt(0.9),
            ),
            Row(
                f"blood NK cells, lowest over days 0-41 (cells/uL), {name}",
                float(r.window("N", 0, 41).min()),
                "untreated, day 0",
                float(none["N"][0]),
                "ratio < 0.9",
                _ratio_lt(0.9),
            ),
            Row(f"SLD at day 182 (mm), {name}", r.at("sld_mm", 182), "untreated", none.at("sld_mm", 182)),
        ]
    arms = [("untreated", none), ("docetaxel", doc), ("carboplatin + pemetrexed", plat)]
    panels = (
        _panel(SLD, arms),
        _panel(("L", "blood lymphocytes", "cells/uL", False), arms, xmax=182),
        _panel(("N", "blood NK cells", "cells/uL", False), arms, xmax=182),
        _panel(("TE", "tumour-specific effector CD8 T cells", "cells", True), arms),
    )
    return Section(
        "chemotherapy",
        "Cytotoxic chemotherapy: docetaxel and a platinum doublet",
        "Each cytotoxic drug occupies a slot (`ch1`, `ch2`) and kills proliferating cells at "
        "E = Emax c/(EC50 + c) per day: cancer cells at `EmaxT_ch1` (+ `EmaxT_ch2`) and lymphocytes, NK, "
        "effector and regulatory T cells and CAR-T cells at `EmaxL_ch1` (+ `EmaxL_ch2`), so that chemotherapy "
        "lowers the immune cells as well as the tumour. The slot values come from the drug files below.",
        (
            ("untreated", "no drug"),
            ("docetaxel", f"`{REGIMENS['docetaxel']}`"),
            ("platinum doublet", f"`{REGIMENS['platinum']}`"),
        ),
        ("docetaxel", "platinum"),
        ("d_C", "kg", "L_ss", "s_L", "k_L", "N_ss", "d_N"),
        tuple(rows),
        panels,
    )


def targeted() -> Section:
    g = 0.02
    none, tki = (
        run("none", times=TWO_YEARS_WEEKLY, growth_rate=g),
        run("targeted", times=TWO_YEARS_WEEKLY, growth_rate=g),
    )
    s = tki["sld_mm"]
    t = tki.t
    nadir = int(np.argmin(s))
    frac = tki["Cr"] / (tki["Cs"] + tki["Cr"])
    after = np.flatnonzero((np.arange(t.size) > nadir) & (s >= 1.2 * s[nadir]))
    progression = float(t[after[0]]) if after.size else float("nan")
    day28 = run("targeted", times=TKI_DAY_28, growth_rate=g)["targeted_effect"]
    rows = (
        Row("SLD at the nadir (mm)", float(s[nadir]), "baseline", float(s[0]), "ratio < 0.7", _ratio_lt(0.7)),
        Row(
            "day of the nadir",
            float(t[nadir]),
            "last output day",
            float(t[-1]),
            "0 < nadir < last day",
            lambda v, r: r is not None and 0 < v < r,
        ),
        Row(
            f"SLD at day {int(t[-1])} (mm)",
            float(s[-1]),
            "at the nadir",
            float(s[nadir]),
            "ratio > 1.2",
            _ratio_gt(1.2),
        ),
        Row("resistant fraction Cr/(Cs + Cr) at day 0", float(frac[0]), expected="< 0.01", check=lambda v, r: v < 0.01),
        Row(
            f"resistant fraction Cr/(Cs + Cr) at day {int(t[-1])}",
            float(frac[-1]),
            expected="> 0.9",
            check=lambda v, r: v > 0.9,
        ),
        Row("first output day with SLD >= 1.2 x nadir (RECIST progression)", progression),
        Row("growth inhibition E_TKI over day 28, lowest (outputs every 15 min)", float(day28.min())),
        Row("growth inhibition E_TKI over day 28, highest (outputs every 15 min)", float(day28.max())),
        Row(
            f"SLD at day {int(t[-1])} (mm), untreated", float(none["sld_mm"][-1]), "baseline", float(none["sld_mm"][0])
        ),
    )
    arms = [("untreated", none), ("dabrafenib + trametinib", tki)]
    panels = (
        Panel(
            "sum of target-lesion diameters",
            "mm",
            False,
            _lines("sld_mm", arms),
            hline=(1.2 * float(s[nadir]), "1.2 x nadir (RECIST progression)"),
        ),
        Panel(
            "cancer cells, dabrafenib + trametinib",
            "cells",
            True,
            (Line("sensitive Cs", t, tki["Cs"]), Line("resistant Cr", t, tki["Cr"])),
        ),
        Panel(
            "resistant fraction Cr/(Cs + Cr)",
            "1",
            False,
            (
                Line("untreated", none.t, none["Cr"] / (none["Cs"] + none["Cr"]), "--"),
                Line("dabrafenib + trametinib", t, frac),
            ),
        ),
        _panel(
            ("targeted_effect", "growth inhibition E_TKI at the weekly outputs (dose times: troughs)", "1", False),
            arms[1:],
        ),
    )
    return Section(
        "targeted_therapy",
        "Targeted therapy (dabrafenib + trametinib) and resistance",
        "Two kinase inhibitors in slots `tk1`, `tk2` inhibit the growth of sensitive cells Cs by "
        "E_TKI = 1 − Π(1 − `Imax_tk1` c/(`IC50_tk1` + c)) (Bliss independence) and induce apoptosis at `k_apo` "
        "E_TKI. Resistant cells Cr escape both but for the share `Sr` of each drug's inhibition they keep (0 in "
        "the drug files; a calibration may give the MEK inhibitor some): they pre-exist as a fraction `f_r0` and "
        "arise by mutation at `mu_r` per division, so the tumour responds, reaches a nadir and progresses as the "
        "resistant clone takes over.",
        (
            ("untreated", f"no drug; growth rate `kg` = {_p(g)}/day, two years, weekly outputs"),
            ("dabrafenib + trametinib", f"`{REGIMENS['targeted']}`; the same patient"),
        ),
        ("targeted",),
        ("k_apo", "f_r0", "mu_r", "kg", "K_C"),
        rows,
        panels,
        note=f"The net growth rate {_p(g)}/day (covariate `growth_rate`, from which io_qsp solves `kg`) is set so that "
        "resistance shows within two years.",
    )


def adcc() -> Section:
    none, rtx = run("none"), run("rituximab")
    none_nk, rtx_nk = run("none", params=NK_DEPLETED), run("rituximab", params=NK_DEPLETED)
    rtx_neg = run("rituximab", target_antigen=0.0)
    d = 56
    rows = (
        Row(
            f"viable cancer cells at day {d}",
            rtx.at("tumour_cells", d),
            "untreated",
            none.at("tumour_cells", d),
            "ratio < 0.343 (a -30 % SLD in volume)",
            _ratio_lt(0.343),
        ),
        Row(
            f"SLD at day {d} (mm)",
            rtx.at("sld_mm", d),
            "untreated",
            none.at("sld_mm", d),
            "ratio < 0.8",
            _ratio_lt(0.8),
        ),
        Row(
            f"SLD at day {d} (mm), NK-depleted",
            rtx_nk.at("sld_mm", d),
            "untreated, NK-depleted",
            none_nk.at("sld_mm", d),
            "equal (rtol 1e-3)",
            _equal(1e-3),
        ),
        Row(
            f"SLD at day {d} (mm), antigen-negative tumour",
            rtx_neg.at("sld_mm", d),
            "untreated",
            none.at("sld_mm", d),
            "equal (rtol 1e-5)",
            _equal(1e-5),
        ),
        Row("tumour target occupancy, highest over days 0-56", float(rtx.window("occupancy_mAb", 0, 56).max())),
        Row("SLD at day 182 (mm)", rtx.at("sld_mm", 182), "untreated", none.at("sld_mm", 182)),
        Row("first day with less than one cancer cell", first_day_below_one_cell(rtx)),
    )
    arms = [
        ("untreated", none),
        ("rituximab", rtx),
        ("untreated, NK-depleted", none_nk),
        ("rituximab, NK-depleted", rtx_nk),
        ("rituximab, antigen-negative tumour", rtx_neg),
    ]
    panels = (
        _panel(SLD, arms, xmax=182),
        _panel(("occupancy_mAb", "tumour target (CD20) occupancy", "1", False), arms[1:2], xmax=182),
        _panel(("N", "blood NK cells", "cells/uL", True), arms[:4], xmax=182),
    )
    return Section(
        "adcc",
        "Tumour-targeting antibody: NK-cell ADCC",
        "The antibody's occupancy O_mAb of its antigen on cancer cells (`KD_mAb`) adds NK-cell ADCC to the "
        "per-cell kill, (`k_NK` + `k_ADCC` `a_mAb` O_mAb) N/`N_ref`: no NK cells (N ≈ 0) or no antigen "
        "(`a_mAb` = 0, covariate `target_antigen`), no ADCC.",
        (
            ("untreated", "no drug"),
            ("rituximab", f"`{REGIMENS['rituximab']}`"),
            (
                "NK-depleted",
                f"the same patient with `N_ss` = {_p(NK_DEPLETED[0][1])} cells/uL, untreated and with rituximab",
            ),
            ("antigen-negative", "rituximab with covariate `target_antigen` = 0"),
        ),
        ("rituximab",),
        ("k_ADCC", "a_mAb", "k_NK", "N_ss", "N_ref", "gamma_T"),
        rows,
        panels,
    )


def ivig() -> Section:
    nivo, both = run("nivolumab_flat"), run("nivolumab_ivig")
    v_ivig = float(both.result.parameters[0, get_model(MODEL).parameter_index("V_IVIG")])
    rows = (
        Row(
            "plasma nivolumab at day 14 (mg/L), with IVIG",
            both.at("conc_PD1", 14),
            "nivolumab alone",
            nivo.at("conc_PD1", 14),
            "ratio < 0.9",
            _ratio_lt(0.9),
        ),
        Row(
            "tumour PD-1 occupancy at day 14, with IVIG",
            both.at("occupancy_PD1", 14),
            "nivolumab alone",
            nivo.at("occupancy_PD1", 14),
        ),
        Row(
            "plasma nivolumab at day 182 (mg/L), with IVIG",
            both.at("conc_PD1", 182),
            "nivolumab alone",
            nivo.at("conc_PD1", 182),
        ),
        Row("SLD at day 182 (mm), with IVIG", both.at("sld_mm", 182), "nivolumab alone", nivo.at("sld_mm", 182)),
    )
    arms = [("nivolumab 240 mg q2w", nivo), ("nivolumab + IVIG 2 g/kg once", both)]
    panels = (
        _panel(("conc_PD1", "plasma nivolumab", "mg/L", False), arms, xmax=84),
        _panel(("occupancy_PD1", "tumour PD-1 occupancy", "1", False), arms, xmax=84),
        Panel(
            "plasma IVIG (added to endogenous IgG)",
            "mg/L",
            False,
            tuple(Line(lab, r.t, r["IVIG"] / v_ivig, TREATED_STYLES[k]) for k, (lab, r) in enumerate(arms)),
            xmax=84,
        ),
        _panel(SLD, arms),
    )
    return Section(
        "ivig",
        "Intravenous immunoglobulin: FcRn saturation and antibody exposure",
        "IVIG (one compartment, `CL_IVIG`, `V_IVIG`) saturates the neonatal Fc receptor that protects IgG from "
        "catabolism: while it is present the clearance of every therapeutic antibody slot is multiplied by "
        "1 + `Emax_FcRn` c/(`EC50_FcRn` + c). IVIG has no anti-tumour term.",
        (
            ("nivolumab", f"`{REGIMENS['nivolumab_flat']}`"),
            ("nivolumab + IVIG", f"`{REGIMENS['nivolumab_ivig']}`"),
        ),
        ("nivolumab_ivig",),
        ("CL_IVIG", "V_IVIG", "Emax_FcRn", "EC50_FcRn"),
        rows,
        panels,
    )


SECTIONS: tuple[Callable[[], Section], ...] = (
    checkpoint,
    anti_ctla4,
    combination,
    il2,
    interferon,
    vaccine,
    car_t,
    chemotherapy,
    targeted,
    adcc,
    ivig,
)
"""One function per therapy class, in page order."""


# -- output ---------------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def figure(section: Section) -> bytes:
    """PNG of the section's panels (two columns), with the disclaimer line."""
    from matplotlib.figure import Figure

    n = len(section.panels)
    cols = 2
    rows = -(-n // cols)
    fig = Figure(figsize=(12.0, 3.4 * rows + 0.9))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, panel in zip(axes, section.panels, strict=False):
        top = 0.0
        for line in panel.lines:
            keep = line.t <= (panel.xmax if panel.xmax is not None else np.inf)
            y = np.asarray(line.y, dtype=float)[keep]
            if panel.log:
                y = np.where(y > 0, y, np.nan)
            ax.plot(line.t[keep], y, linestyle=line.style, lw=1.6, label=line.label)
            finite = y[np.isfinite(y)]
            top = max(top, float(finite.max()) if finite.size else 0.0)
        if panel.hline is not None:
            ax.axhline(panel.hline[0], color="0.5", lw=0.8, ls=":", label=panel.hline[1])
        if panel.log and top > 0:
            ax.set_yscale("log")
            lows = [np.nanmin(np.where(ln.y > 0, ln.y, np.nan)) for ln in panel.lines if np.any(ln.y > 0)]
            ax.set_ylim(max(min(lows), top * 1e-12) / 2.0, top * 2.0)
        ax.set_title(panel.title, fontsize=9)
        ax.set_ylabel(panel.unit)
        ax.set_xlabel("time (days)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(f"{section.title}\nmodel {MODEL}; one virtual patient (docs/mechanisms.md)", fontsize=10)
    fig.text(0.5, 0.004, DISCLAIMER, ha="center", va="bottom", fontsize=7, color="0.35")
    fig.tight_layout(rect=(0, 0.025, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


SUB_CELL = "< 1 cell"
"""Written for a sum of diameters whose tumour holds less than one cancer cell."""


def fmt(x: float | None) -> str:
    """A computed number with five significant digits ("-" when absent, "< 1 cell" for an eradicated tumour)."""
    if x is None:
        return "-"
    if isinstance(x, SLDValue) and x.cells < 1.0:
        return SUB_CELL
    if isinstance(x, float) and math.isnan(x):
        return "not reached"
    return f"{x:.5g}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _drug_block(section: Section) -> list[str]:
    names: list[str] = []
    for key in section.regimens:
        for dose in Regimen.parse(REGIMENS[key]).doses:
            if dose.drug not in names:
                names.append(dose.drug)
    out = ["**Drug files** (`qsp.acts_on`, and the `qsp.parameters` that set the drug's slot):", ""]
    table: list[str] = []
    for name in names:
        drug = get_drug(name)
        q = drug.qsp
        pk = f"; PK from `{drug.pk.model}` variant `{drug.pk.variant}`" if drug.pk is not None else ""
        out.append(f"- `{drug.name}` → slot `{q.slot}`{pk}: {_cell(q.acts_on)}")
        for pname in q.parameters:
            quantity = drug.qsp_quantity(pname)
            table.append(
                f"| `{drug.name}` | `{pname}` | {quantity.value:g} | {_cell(quantity.unit)} | {quantity.flag} | "
                f"{_cell(quantity.source)} |"
            )
    if table:
        out += ["", "| drug | parameter | value | unit | flag | source |", "|---|---|---|---|---|---|", *table]
    return out


def _parameter_block(section: Section) -> list[str]:
    model = get_model(MODEL)
    by_name = {p.name: p for p in model.parameters}
    out = [
        "**Model parameters** (defaults of `io_qsp`; a drug file or a covariate may set them for a patient):",
        "",
        "| parameter | default | unit | meaning | source |",
        "|---|---|---|---|---|",
    ]
    for name in section.parameters:
        p = by_name[name]
        out.append(f"| `{p.name}` | {p.value:g} | {_cell(p.unit)} | {_cell(p.description)} | {_cell(p.source)} |")
    return out


def _signature_block(section: Section) -> list[str]:
    out = [
        "**Signature** (computed in this run; *expected* is what `tests/reference/test_io_qsp_mechanisms.py` "
        "asserts, '-' where no test asserts a direction):",
        "",
        "| quantity | value | comparison | comparison value | ratio | expected | holds |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in section.rows:
        if row.bound is not None and row.value < row.bound:
            value = f"< {row.bound:g}"
        else:
            value = fmt(row.value)
        ratio = "-"
        if row.ref_value not in (None, 0.0) and SUB_CELL not in (fmt(row.value), fmt(row.ref_value)):
            ratio = fmt(row.value / row.ref_value)
        holds = "-" if row.check is None else ("yes" if row.check(row.value, row.ref_value) else "**NO**")
        out.append(
            f"| {_cell(row.quantity.strip())} | {value} | {_cell(row.reference) or '-'} | {fmt(row.ref_value)} | "
            f"{ratio} | {_cell(row.expected) or '-'} | {holds} |"
        )
    return out


def render(sections: Sequence[Section]) -> str:
    model = get_model(MODEL)
    cov = Covariates(**PATIENT)
    lines = [
        "# Therapy mechanisms in `io_qsp`",
        "",
        "<!-- Generated by docs/generate_mechanisms.py (`make mechanisms`, also run by `make docs`); do not edit. -->",
        "",
        f"`io_qsp` — {model.title}. {model.citation}",
        "",
        "One virtual patient carries a tumour of drug-sensitive and drug-resistant cancer cells, the immune cells "
        "that decide its fate (antigen-presenting cells, effector and regulatory T cells, NK cells, blood "
        "lymphocytes, CAR-T cells) and the pharmacokinetics of every drug class of the library. Each drug fills a "
        "dose slot of the model from its data file: the population-PK parameters of the patient and the `qsp` "
        "section that says which terms its exposure acts on. This page shows, class by class, that each therapy "
        "acts through its mechanism: the signature appears when the mechanism's precondition holds and is absent "
        "when it does not. Every number below is computed by this page's generator in the same run as the figure "
        "beside it.",
        "",
        "Parameter sources carry the flags of `pharmacology.md`: **V** (value seen in the source), **R** "
        "(recalled, verify), **U** (uncertain or chosen where no source gives a value) and **C** (computed from "
        "V values). Defaults flagged **U** are calibration targets of the virtual-trial layer: the directions "
        "below (what rises, what falls, what needs what) are properties of the mechanisms, while the sizes "
        "depend on those defaults and are not predictions for a real patient.",
        "",
        f"**Outputs are for research and education, not a prescription** ({DISCLAIMER}).",
        "",
        "## The patient",
        "",
        f"Every simulation uses the patient of `tests/reference/test_io_qsp_mechanisms.py`: {_p(cov.weight_kg)} kg, "
        f"{_p(cov.height_cm)} cm ({cov.bsa():.3g} m² by Mosteller), {_p(cov.age_years)}-year-old {cov.sex}, serum "
        f"creatinine {_p(cov.serum_creatinine)} mg/dL, {cov.n_lesions} target lesions with a sum of diameters of "
        f"{_p(cov.tumour_burden_mm)} mm, PD-L1 tumour proportion score {_pct(cov.pdl1)} and TMB {_p(cov.tmb)} mut/Mb; "
        "other covariates keep the model defaults. A section that changes the patient (PD-L1 0 %, no NK cells, "
        "another growth rate) says so. Outputs are daily over one year unless a section says otherwise; each "
        "treated arm is compared with the same patient untreated. Solver: the package defaults of "
        "`oncoimmune.simulate_treatment`.",
        "",
        "## Classes",
        "",
    ]
    for s in sections:
        lines.append(f"- [{s.title}](#{s.slug}) — `{s.slug}`")
    for s in sections:
        fig_path = (FIGURE_DIR / f"{s.slug}.png").as_posix()
        lines += [
            "",
            f'<a id="{s.slug}"></a>',
            "",
            f"## {s.title} (`{s.slug}`)",
            "",
            f"**Mechanism.** {s.mechanism}",
            "",
            "**Regimens and patient:**",
            "",
            *[f"- {label}: {text}" for label, text in s.arms],
        ]
        if s.note:
            lines += ["", s.note]
        lines += [
            "",
            f"![{s.title}]({fig_path})",
            "",
            *_signature_block(s),
            "",
            *_drug_block(s),
            "",
            *_parameter_block(s),
        ]
    lines += ["", f"*{DISCLAIMER}*", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output directory")
    args = parser.parse_args(argv)
    out: Path = args.out
    sections = [make() for make in SECTIONS]
    for s in sections:
        write_atomic(out / FIGURE_DIR / f"{s.slug}.png", figure(s))
    write_atomic(out / "mechanisms.md", render(sections).encode("utf-8"))
    failed = [
        f"{s.slug}: {r.quantity.strip()}"
        for s in sections
        for r in s.rows
        if r.check and not r.check(r.value, r.ref_value)
    ]
    print(f"wrote {out / 'mechanisms.md'} and {len(sections)} figures in {out / FIGURE_DIR}")
    for f in failed:
        print(f"signature not as the mechanism tests expect: {f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
