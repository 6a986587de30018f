"""Reproducible speed, accuracy and memory benchmark of oncoimmune against its peers.

Run ``.venv/bin/python benchmarks/run.py --write docs/benchmarks.md`` (``make bench``). One run
measures, on the machine at hand and with every tool using all cores:

* **Case 1**, Kirschner–Panetta 1998 (BIOMD0000000732 encoding, variant ``sbml``): 500 days,
  daily output, antigenicity ``c ~ U(0, 0.05)``, initial values (E, T, IL) = (0, 1, 0).
* **Case 2**, de Pillis, Gu & Radunskaya 2006, patient 9: chemotherapy (``v_M = 5`` for one day
  every ten days, nine times) and six IL-2 pulses (``v_I = 5e6`` IU/L/day for 0.45 d from days
  8, 8.7, ... 11.5), 150 days, daily output, ``d`` uniform within ±20 % of patient 9's value.
* **Case 3**, io_qsp, two years of dabrafenib 150 mg bid + trametinib 2 mg daily on virtual melanoma
  patients: every oral dose as an event vs the doses spread over their interval
  (``oral_input="continuous"``), oncoimmune against a scipy loop on the same plans (no libRoadRunner:
  no SBML encoding of io_qsp's dose slots is shipped); errors against a tight dose-by-dose reference.

Tools: oncoimmune (numba threads), libRoadRunner (CVODE; a process pool of one worker per core,
each worker building its ``RoadRunner`` once) and scipy ``solve_ivp`` (LSODA and Radau, the same
process pool). Every tool solves the same equations with the same parameters: case 1 uses the
curated SBML file for libRoadRunner; case 2 uses an SBML document generated here from an
expression tree of the published equations (no SBML of that model is correct), with doses as
SBML events, and validated against oncoimmune at tight tolerance.

Throughput is patients per second, the median (and range) of five timed runs after a warm-up
that excludes compilation (scipy: one run over the accuracy set, see the report). Accuracy is
measured against a reference computed with scipy Radau at ``rtol = 1e-11``, ``atol = 1e-14``
with the populations integrated as logarithms, on the first 50 patients: per patient, the
largest relative error over the cell populations and the output times where the reference
exceeds one cell, from day 100 (case 1) or day 1 (case 2); a patient whose integration fails
counts as a failure, not in the accuracy statistics. Peak memory of a 100 000-patient run with
streamed reductions and of a 10 000-patient run keeping trajectories is measured in fresh
processes.

Everything random comes from seeded ``numpy.random.Generator`` draws, so all numbers except the
timings are reproducible. Research and education software; nothing here is medical advice.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import math
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (as laid out for developers and CI), or $ONCOIMMUNE_SHARED
_SHARED = Path(os.environ.get("ONCOIMMUNE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
KP_SBML = _SHARED / "sbml" / "BIOMD0000000732.xml"
SEED = 20_240_601
N_ACCURACY = 50
WORKERS = os.cpu_count() or 1
ATOL = 1e-9
REF_RTOL, REF_ATOL = 1e-11, 1e-14
ONCO_RTOLS = (1e-3, 5e-4, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 1e-7, 1e-8)
ONCO_METHODS = {
    "radau5": ONCO_RTOLS,
    "radau9": (1e-3, 3e-4, 1e-4, 5e-5, 3e-5, 2e-5, 1e-5, 5e-6, 1e-6, 1e-7, 1e-8),
    "rodas4": (1e-3, 5e-4, 3e-4, 1e-4, 3e-5, 1e-5, 1e-6),
}
"""oncoimmune's three methods and the tolerances each is measured at (Radau IIA 9 pays off at tight
tolerances on smooth problems, Rodas4 at loose tolerances with many dose events)."""
METHOD_LABEL = {"radau5": "Radau IIA 5", "radau9": "Radau IIA 9", "rodas4": "Rodas4"}
RR_RTOLS = (1e-6, 1e-7, 1e-8)
SCIPY_METHODS = ("LSODA", "Radau")
SCIPY_RTOL = 1e-6
BAR = 10.0

# ----------------------------------------------------------------------------------------------
# A small expression tree: built with Python operators, evaluated numerically or written as
# MathML. Nothing is parsed from text and nothing is eval'ed.
# ----------------------------------------------------------------------------------------------


class Expr:
    """Node of an arithmetic expression; combine nodes with ``+ - * / **`` and :func:`exp`."""

    def __add__(self, other: Any) -> Expr:
        return Apply("plus", (self, _expr(other)))

    def __radd__(self, other: Any) -> Expr:
        return Apply("plus", (_expr(other), self))

    def __sub__(self, other: Any) -> Expr:
        return Apply("minus", (self, _expr(other)))

    def __rsub__(self, other: Any) -> Expr:
        return Apply("minus", (_expr(other), self))

    def __mul__(self, other: Any) -> Expr:
        return Apply("times", (self, _expr(other)))

    def __rmul__(self, other: Any) -> Expr:
        return Apply("times", (_expr(other), self))

    def __truediv__(self, other: Any) -> Expr:
        return Apply("divide", (self, _expr(other)))

    def __rtruediv__(self, other: Any) -> Expr:
        return Apply("divide", (_expr(other), self))

    def __pow__(self, other: Any) -> Expr:
        return Apply("power", (self, _expr(other)))

    def __neg__(self) -> Expr:
        return Apply("minus", (self,))


@dataclass(frozen=True, eq=False)
class Num(Expr):
    """A numeric constant."""

    value: float


@dataclass(frozen=True, eq=False)
class Sym(Expr):
    """A named quantity: a state, a parameter, an intermediate, or ``time``."""

    name: str


@dataclass(frozen=True, eq=False)
class Apply(Expr):
    """An operator (MathML element name) applied to arguments."""

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class Piecewise(Expr):
    """``value_1 if cond_1 else value_2 if cond_2 ... else otherwise`` (first true condition wins)."""

    pieces: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr


def _expr(x: Any) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Num(float(x))
    raise TypeError(f"cannot use {type(x).__name__} in an expression")


def symbols(names: str) -> tuple[Sym, ...]:
    """``symbols("T N L")`` -> ``(Sym("T"), Sym("N"), Sym("L"))``."""
    return tuple(Sym(n) for n in names.split())


def exp(x: Expr) -> Expr:
    return Apply("exp", (_expr(x),))


def ln(x: Expr) -> Expr:
    return Apply("ln", (_expr(x),))


def leq(a: Any, b: Any) -> Expr:
    return Apply("leq", (_expr(a), _expr(b)))


def geq(a: Any, b: Any) -> Expr:
    return Apply("geq", (_expr(a), _expr(b)))


_NUMERIC: dict[str, Callable[..., float]] = {
    "plus": lambda *a: math.fsum(a),
    "times": lambda *a: math.prod(a),
    "divide": lambda a, b: a / b,
    "power": lambda a, b: a**b,
    "exp": math.exp,
    "ln": math.log,
    "leq": lambda a, b: a <= b,
    "geq": lambda a, b: a >= b,
}


def evaluate(expr: Expr, env: Mapping[str, float]) -> float:
    """Value of ``expr`` with the symbols taken from ``env`` (plain floating-point arithmetic)."""
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Sym):
        return float(env[expr.name])
    if isinstance(expr, Piecewise):
        for value, cond in expr.pieces:
            if evaluate(cond, env):
                return evaluate(value, env)
        return evaluate(expr.otherwise, env)
    if isinstance(expr, Apply):
        args = [evaluate(a, env) for a in expr.args]
        if expr.op == "minus":
            return -args[0] if len(args) == 1 else args[0] - args[1]
        return float(_NUMERIC[expr.op](*args))
    raise TypeError(f"not an expression: {expr!r}")


MATHML_NS = "http://www.w3.org/1998/Math/MathML"
SBML_NS = "http://www.sbml.org/sbml/level3/version1/core"
_TIME_URL = "http://www.sbml.org/sbml/symbols/time"


def _mathml_node(expr: Expr) -> ET.Element:
    if isinstance(expr, Num):
        el = ET.Element("cn")
        el.text = repr(float(expr.value))
        return el
    if isinstance(expr, Sym):
        if expr.name == "time":
            el = ET.Element("csymbol", {"encoding": "text", "definitionURL": _TIME_URL})
            el.text = "time"
            return el
        el = ET.Element("ci")
        el.text = expr.name
        return el
    if isinstance(expr, Piecewise):
        el = ET.Element("piecewise")
        for value, cond in expr.pieces:
            piece = ET.SubElement(el, "piece")
            piece.append(_mathml_node(value))
            piece.append(_mathml_node(cond))
        other = ET.SubElement(el, "otherwise")
        other.append(_mathml_node(expr.otherwise))
        return el
    if isinstance(expr, Apply):
        if expr.op not in _NUMERIC and expr.op != "minus":
            raise ValueError(f"operator {expr.op!r} has no MathML form here")
        el = ET.Element("apply")
        ET.SubElement(el, expr.op)
        for a in expr.args:
            el.append(_mathml_node(a))
        return el
    raise TypeError(f"not an expression: {expr!r}")


def to_mathml(expr: Expr) -> ET.Element:
    """``<math>`` element (MathML 2 content markup, as SBML Level 3 uses) for ``expr``."""
    math_el = ET.Element("math", {"xmlns": MATHML_NS})
    math_el.append(_mathml_node(expr))
    return math_el


# ----------------------------------------------------------------------------------------------
# Equations of the benchmark models, written independently of the oncoimmune right-hand sides.
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Equations:
    """Right-hand sides by state, with intermediates (SBML assignment rules) evaluated first."""

    rates: Mapping[str, Expr]
    intermediates: Mapping[str, Expr] = field(default_factory=dict)

    def rhs(self, y: Mapping[str, float], p: Mapping[str, float]) -> dict[str, float]:
        """Evaluate every rate at states ``y`` and parameters ``p``."""
        env: dict[str, float] = {**p, **y}
        for name, expr in self.intermediates.items():
            env[name] = evaluate(expr, env)
        return {s: evaluate(e, env) for s, e in self.rates.items()}


def de_pillis_2006_equations() -> Equations:
    """de Pillis, Gu & Radunskaya 2006 (models.md §4.1), with the ratio kill in overflow-safe form.

    ``D = d (L/T)^l / (s + (L/T)^l)`` is written ``d / (1 + s exp(-l (ln L - ln T)))``, with
    ``D = 0`` for ``L <= 0`` and ``D = d`` (its limit) for ``T <= 0``: a linear-space solver such
    as CVODE may step slightly below zero, where ``(L/T)^l`` is undefined.
    """
    T, N, L, C, M, I = symbols("T N L C M I")
    (a, b, c, d, l, s, e, f, g, h, j, k, m, q, p, r1, r2, u) = symbols("a b c d l s e f g h j k m q p r1 r2 u")
    K_T, K_N, K_L, K_C, alpha, beta, gamma = symbols("K_T K_N K_L K_C alpha beta gamma")
    p_I, g_I, mu_I, v_M, v_I, v_L = symbols("p_I g_I mu_I v_M v_I v_L")
    D, kill = symbols("D kill")
    intermediates = {
        "D": Piecewise(((Num(0.0), leq(L, 0.0)), (d, leq(T, 0.0))), d / (1.0 + s * exp(-l * (ln(L) - ln(T))))),
        "kill": 1.0 - exp(-M),
    }
    rates = {
        "T": a * T * (1.0 - b * T) - c * N * T - D * T - K_T * kill * T,
        "N": e * C - f * N + g * T**2.0 / (h + T**2.0) * N - p * N * T - K_N * kill * N,
        "L": (
            -m * L
            + j * (D * T) ** 2.0 / (k + (D * T) ** 2.0) * L
            - q * L * T
            + (r1 * N + r2 * C) * T
            - u * N * L**2.0
            - K_L * kill * L
            + p_I * L * I / (g_I + I)
            + v_L
        ),
        "C": alpha - beta * C - K_C * kill * C,
        "M": -gamma * M + v_M,
        "I": -mu_I * I + v_I,
    }
    return Equations(rates, intermediates)


# ----------------------------------------------------------------------------------------------
# SBML Level 3 writer (standard library only; python-libsbml is not a dependency).
# ----------------------------------------------------------------------------------------------

OP_ADD_STATE, OP_SET_PARAM, OP_SET_RATE = 0, 1, 2  # oncoimmune.treatments._doses event codes


def sbml_document(
    model_id: str,
    equations: Equations,
    states: Mapping[str, float],
    parameters: Mapping[str, float],
    events: Sequence[tuple[float, int, str, float]] = (),
) -> str:
    """SBML Level 3 Version 1 text of an ODE system.

    States are non-constant parameters with rate rules (no compartments or reactions to get
    wrong), intermediates are assignment rules, and ``events`` are ``(time, op, target, value)``
    with ``op`` = ``OP_SET_PARAM`` (``target := value``) or ``OP_ADD_STATE``
    (``target := target + value``), each triggered by ``time >= t``. Events at ``t <= 0`` are
    folded into the initial values, because an SBML trigger that is true at the start never fires.
    """
    init_states = dict(states)
    init_params = dict(parameters)
    timed = []
    for t, op, target, value in sorted(events, key=lambda ev: ev[0]):
        if op not in (OP_SET_PARAM, OP_ADD_STATE):
            raise ValueError(f"event operation {op} is not supported by the SBML writer")
        if t <= 0.0:
            if op == OP_SET_PARAM:
                init_params[target] = value
            else:
                init_states[target] += value
        else:
            timed.append((t, op, target, value))
    event_targets = {target for _, op, target, _ in timed if op == OP_SET_PARAM}

    sbml = ET.Element("sbml", {"xmlns": SBML_NS, "level": "3", "version": "1"})
    model = ET.SubElement(sbml, "model", {"id": model_id, "name": model_id})
    plist = ET.SubElement(model, "listOfParameters")
    for name, value in init_params.items():
        const = "false" if name in event_targets else "true"
        ET.SubElement(plist, "parameter", {"id": name, "value": repr(float(value)), "constant": const})
    for name, value in init_states.items():
        ET.SubElement(plist, "parameter", {"id": name, "value": repr(float(value)), "constant": "false"})
    for name in equations.intermediates:
        ET.SubElement(plist, "parameter", {"id": name, "value": "0.0", "constant": "false"})
    rules = ET.SubElement(model, "listOfRules")
    for name, expr in equations.intermediates.items():
        ET.SubElement(rules, "assignmentRule", {"variable": name}).append(to_mathml(expr))
    for name, expr in equations.rates.items():
        ET.SubElement(rules, "rateRule", {"variable": name}).append(to_mathml(expr))
    if timed:
        elist = ET.SubElement(model, "listOfEvents")
        for i, (t, op, target, value) in enumerate(timed):
            ev = ET.SubElement(elist, "event", {"id": f"dose_{i}", "useValuesFromTriggerTime": "true"})
            trig = ET.SubElement(ev, "trigger", {"initialValue": "false", "persistent": "true"})
            trig.append(to_mathml(geq(Sym("time"), t)))
            assigns = ET.SubElement(ev, "listOfEventAssignments")
            new = Num(value) if op == OP_SET_PARAM else Sym(target) + value
            ET.SubElement(assigns, "eventAssignment", {"variable": target}).append(to_mathml(new))
    ET.indent(sbml)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(sbml, encoding="unicode") + "\n"


def model_sbml(model_name: str, equations: Equations, regimen: Any = None, variant: str | None = None) -> str:
    """SBML of a registered oncoimmune model: its declared defaults, ``variant`` and ``regimen``.

    Parameter and initial values are read from :func:`oncoimmune.get_model`; the regimen's event
    table (the one the engine integrates) becomes SBML events.
    """
    import oncoimmune

    model = oncoimmune.get_model(model_name)
    if set(equations.rates) != set(model.state_names):
        raise ValueError(f"equations give {sorted(equations.rates)}, model has {model.state_names}")
    p0 = model.parameter_values(variant)
    y0 = model.initial_values(variant)
    params = dict(zip(model.parameter_names, p0.tolist(), strict=True))
    states = dict(zip(model.state_names, y0.tolist(), strict=True))
    events = []
    if regimen is not None:
        table = regimen.events(model)
        for t, op, idx, val in zip(table.t, table.op, table.idx, table.val, strict=True):
            if op == OP_SET_PARAM:
                events.append((float(t), OP_SET_PARAM, model.parameter_names[idx], float(p0[idx] + val)))
            elif op == OP_ADD_STATE:
                events.append((float(t), OP_ADD_STATE, model.state_names[idx], float(val)))
            else:
                raise ValueError("zero-order inputs into states are not supported by the SBML writer")
    return sbml_document(model.name, equations, states, params, events)


# ----------------------------------------------------------------------------------------------
# Accuracy metric.
# ----------------------------------------------------------------------------------------------


def max_relative_error(
    y: np.ndarray,
    ref: np.ndarray,
    t: np.ndarray,
    t_min: float = 0.0,
    floor: float = 1.0,
    states: np.ndarray | None = None,
) -> np.ndarray:
    """Per patient, the largest ``|y - ref| / ref`` over states and output times.

    Only points at ``t >= t_min`` where the reference exceeds ``floor`` count (sub-cell values
    of a cleared population are solver noise, not a result), and only the states selected by the
    boolean mask ``states`` (default: all). A non-finite ``y`` at a counted point gives ``inf``.
    ``y`` and ``ref`` have shape ``(patients, times, states)``; a patient with no counted point
    gets 0.
    """
    y = np.asarray(y, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if y.shape != ref.shape:
        raise ValueError(f"shapes differ: {y.shape} vs {ref.shape}")
    mask = (np.asarray(t)[None, :, None] >= t_min) & (ref > floor)
    if states is not None:
        mask &= np.asarray(states, dtype=bool)[None, None, :]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        err = np.abs(y - ref) / ref
    err = np.where(np.isfinite(err), err, np.inf)
    return np.max(np.where(mask, err, 0.0), axis=(1, 2))


def accuracy_summary(errors: np.ndarray, failed: np.ndarray) -> tuple[float, float]:
    """Median and 95th percentile of per-patient errors over the patients that did not fail."""
    ok = np.asarray(errors)[~np.asarray(failed, dtype=bool)]
    if ok.size == 0:
        return math.nan, math.nan
    return float(np.median(ok)), float(np.percentile(ok, 95))


# ----------------------------------------------------------------------------------------------
# scipy driver: piecewise integration between events, optionally in log coordinates.
# ----------------------------------------------------------------------------------------------


def integrate_scipy(
    rhs: Callable[[Any, Any, np.ndarray], None],
    p0: np.ndarray,
    y0: np.ndarray,
    events: Any,
    t_out: np.ndarray,
    *,
    method: str,
    rtol: float,
    atol: float,
    log_states: np.ndarray | None = None,
    compiled: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, bool]:
    """Integrate one patient with :func:`scipy.integrate.solve_ivp`, restarting at every event.

    ``rhs(y, p, dy)`` is the model's plain-Python right-hand side; ``events`` is the engine's
    event table (``t, op, idx, val``). Outputs at an event time are taken after the event, as in
    oncoimmune. States flagged in ``log_states`` that are positive at the start of a segment are
    integrated as ``ln y`` (used for the reference). ``compiled``, from :func:`compile_rhs`, is the
    same right-hand side in those coordinates compiled by numba (the reference uses it: scipy's
    Radau at rtol 1e-11 calls it some 10^5 times per patient). Returns the states at ``t_out`` and
    whether the integration reached the end (NaN after a failure).
    """
    from scipy.integrate import solve_ivp

    n = y0.shape[0]
    out = np.full((t_out.shape[0], n), np.nan)
    y = np.array(y0, dtype=np.float64)
    p = np.array(p0, dtype=np.float64)
    rate = np.zeros(n)
    ev_t = np.asarray(events.t, dtype=np.float64)
    t_end = float(t_out[-1])

    def apply_events(lo: float, hi: float) -> None:
        for i in np.flatnonzero((ev_t > lo) & (ev_t <= hi)):
            op, idx, val = int(events.op[i]), int(events.idx[i]), float(events.val[i])
            if op == OP_ADD_STATE:
                y[idx] += val
            elif op == OP_SET_PARAM:
                p[idx] = p0[idx] + val
            else:
                rate[idx] = val

    apply_events(-math.inf, 0.0)
    cuts = sorted({float(x) for x in ev_t if 0.0 < x < t_end})
    start = 0.0
    for stop in [*cuts, t_end]:
        last = stop == t_end
        sel = np.flatnonzero((t_out >= start) & ((t_out <= stop) if last else (t_out < stop)))
        plist = p.tolist()
        has_rate = bool(np.any(rate))
        mask = np.zeros(n, dtype=bool) if log_states is None else (np.asarray(log_states) & (y > 0.0))
        x0 = y.copy()
        x0[mask] = np.log(y[mask])
        if compiled is not None:
            p_seg, r_seg = p.copy(), rate.copy()

            def f(t: float, x: np.ndarray, p_seg=p_seg, mask=mask, r_seg=r_seg) -> np.ndarray:
                return compiled(x, p_seg, mask, r_seg)
        elif mask.any():

            def f(t: float, x: np.ndarray, plist=plist, mask=mask, has_rate=has_rate) -> np.ndarray:
                yy = x.copy()
                yy[mask] = np.exp(np.maximum(x[mask], -700.0))  # exp(-700) ~ 1e-304, still normal
                dy = np.empty(n)
                rhs(yy.tolist(), plist, dy)
                if has_rate:
                    dy += rate
                dy[mask] /= yy[mask]
                return dy
        else:

            def f(t: float, x: np.ndarray, plist=plist, has_rate=has_rate) -> np.ndarray:
                dy = np.empty(n)
                rhs(x.tolist(), plist, dy)
                if has_rate:
                    dy += rate
                return dy

        t_eval = np.unique(np.r_[t_out[sel], stop])
        try:
            sol = solve_ivp(f, (start, stop), x0, method=method, t_eval=t_eval, rtol=rtol, atol=atol)
        except (ArithmeticError, ValueError):
            # Plain Python arithmetic raises where numba returns inf/NaN: e.g. a linear-space
            # solver that drives T below zero to -g3 divides by zero in g3 + T.
            return out, False
        if sol.status != 0 or sol.y.shape[1] != t_eval.shape[0] or not np.all(np.isfinite(sol.y)):
            return out, False
        traj = sol.y.T.copy()
        traj[:, mask] = np.exp(traj[:, mask])
        out[sel] = traj[np.searchsorted(t_eval, t_out[sel])]
        y[:] = traj[-1]
        apply_events(start, stop)
        start = stop
    return out, True


def compile_rhs(
    rhs: Callable[[Any, Any, np.ndarray], None],
) -> Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """numba-compiled ``dz = f(z, p, mask, rate)``: the model's right-hand side (plus zero-order
    ``rate``) with the states flagged in ``mask`` given and returned as logarithms."""
    from numba import njit

    inner = njit(rhs)

    @njit
    def fz(x: np.ndarray, p: np.ndarray, mask: np.ndarray, rate: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        y = np.empty(n)
        for i in range(n):
            y[i] = math.exp(max(x[i], -700.0)) if mask[i] else x[i]  # exp(-700) ~ 1e-304, still normal
        dy = np.empty(n)
        inner(y, p, dy)
        for i in range(n):
            dy[i] += rate[i]
            if mask[i]:
                dy[i] /= y[i]
        return dy

    return fz


# ----------------------------------------------------------------------------------------------
# Benchmark cases.
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One benchmark scenario: model, variant, regimen, varied parameter and peers' encoding."""

    key: str
    title: str
    model: str
    variant: str | None
    t_out: np.ndarray
    param: str
    low: float
    high: float
    accuracy_t_min: float
    sbml_source: str  # "file:<path>" or "generated"
    sbml_ids: Mapping[str, str]  # oncoimmune state name -> SBML id
    description: str
    seed: int
    n_accuracy: int = N_ACCURACY

    def regimen(self) -> Any:
        import oncoimmune

        if self.key != "de_pillis_2006":
            return oncoimmune.Regimen()
        chemo = oncoimmune.Infusion.repeat("v_M", 5.0, 1.0, 10.0, 9)
        il2 = oncoimmune.Infusion("v_I", 5e6, tuple((s, s + 0.45) for s in (8.0, 8.7, 9.4, 10.1, 10.8, 11.5)))
        return oncoimmune.Regimen((chemo, il2), name="chemo q10d x9 + IL-2 pulses")

    def values(self, n: int) -> np.ndarray:
        """The first ``n`` patients' values of the varied parameter (a prefix of one seeded draw)."""
        rng = np.random.default_rng(self.seed)
        return rng.uniform(self.low, self.high, n)

    def sbml(self) -> str:
        if self.sbml_source.startswith("file:"):
            return Path(self.sbml_source[5:]).read_text(encoding="utf-8")
        return model_sbml(self.model, de_pillis_2006_equations(), self.regimen(), self.variant)


def cases() -> dict[str, Case]:
    """The two benchmark cases (case 2's parameter range is read from the model)."""
    out = {
        "kirschner_panetta_1998": Case(
            key="kirschner_panetta_1998",
            title="Case 1: Kirschner–Panetta 1998, 500 days, c ~ U(0, 0.05)",
            model="kirschner_panetta_1998",
            variant="sbml",
            t_out=np.arange(501.0),
            param="c",
            low=0.0,
            high=0.05,
            accuracy_t_min=100.0,
            sbml_source=f"file:{KP_SBML}",
            sbml_ids={"E": "Immune_cells", "T": "Tumor", "IL": "IL2"},
            description=(
                "Variant `sbml` (activation term p1·E·IL/g1, as in BIOMD0000000732, so every tool solves the "
                "same equations); (E, T, IL)(0) = (0, 1, 0); no treatment; output daily, days 0–500 (501 points)."
            ),
            seed=SEED,
        )
    }
    try:
        import oncoimmune

        dp = oncoimmune.get_model("de_pillis_2006")
    except Exception:  # the model is not in the registry yet
        return out
    d9 = float(dp.parameter_values("patient9")[dp.parameter_index("d")])
    out["de_pillis_2006"] = Case(
        key="de_pillis_2006",
        title="Case 2: de Pillis 2006 patient 9, chemotherapy + IL-2, 150 days, d ~ U(±20 %)",
        model="de_pillis_2006",
        variant="patient9",
        t_out=np.arange(151.0),
        param="d",
        low=0.8 * d9,
        high=1.2 * d9,
        accuracy_t_min=1.0,
        sbml_source="generated",
        sbml_ids={s: s for s in dp.state_names},
        description=(
            "Variant `patient9`; (T, N, L, C, M, I)(0) = (2e7, 3.155e5, 100, 6.25e10, 0, 0); chemotherapy "
            "v_M = 5 on days [0, 1), [10, 11), … [80, 81); IL-2 v_I = 5e6 IU/L/day on [8, 8.45), [8.7, 9.15), … "
            "[11.5, 11.95); output daily, days 0–150 (151 points). libRoadRunner reads an SBML document generated "
            "by `benchmarks/run.py` from an expression tree of the equations, with each dose switch as an SBML event."
        ),
        seed=SEED + 1,
    )
    return out


# ----------------------------------------------------------------------------------------------
# Workers (module level so that spawned processes can import them).
# ----------------------------------------------------------------------------------------------

_W: dict[str, Any] = {}


def _rr_init(sbml: str, selections: Sequence[str], barrier: Any) -> None:
    import roadrunner

    # CVODE's warnings and errors (mxhnil, convergence failures) reach stdout and stderr whatever
    # roadrunner.Logger's level; failures still arrive as exceptions, counted per patient.
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_CRITICAL)
    _silence_output()
    rr = roadrunner.RoadRunner(sbml)
    rr.timeCourseSelections = ["time", *selections]
    _W.update(rr=rr, barrier=barrier)


def _scipy_init(model_name: str, variant: str | None, barrier: Any) -> None:
    import oncoimmune

    model = oncoimmune.get_model(model_name)
    _W.update(model=model, variant=variant, barrier=barrier)


def _silence_output() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


@contextlib.contextmanager
def quiet_output() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null for the duration (libRoadRunner's CVODE messages)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _sync() -> int:
    """Block until every worker of the pool runs this (so all initialisers have finished)."""
    _W["barrier"].wait(timeout=300)
    return os.getpid()


def _rr_task(
    values: np.ndarray, param_id: str, t_end: float, n_points: int, rtol: float, atol: float, keep: bool
) -> tuple[np.ndarray, np.ndarray | None, int]:
    rr = _W["rr"]
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    n_sel = len(rr.timeCourseSelections) - 1
    failed = np.zeros(len(values), dtype=bool)
    out = np.full((len(values), n_points, n_sel), np.nan) if keep else None
    for i, v in enumerate(values):
        rr.resetAll()
        rr[param_id] = float(v)
        try:
            res = rr.simulate(0.0, t_end, n_points)
        except Exception:  # CVODE errors (CV_TOO_MUCH_WORK, CV_CONV_FAILURE ...) arrive as RuntimeError
            failed[i] = True
            continue
        if out is not None:
            out[i] = np.asarray(res)[:, 1:]
    return failed, out, int(rr.integrator.maximum_num_steps)


def _scipy_task(
    values: np.ndarray,
    param: str,
    t_out: np.ndarray,
    events: Any,
    method: str,
    rtol: float,
    atol: float,
    log: bool,
    keep: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    model = _W["model"]
    p_base = model.parameter_values(_W["variant"])
    y0 = model.initial_values(_W["variant"])
    k = model.parameter_index(param)
    log_states = np.array([s.log for s in model.states]) if log else None
    compiled = None
    if log:  # the reference: same equations, compiled, in log coordinates
        if "compiled" not in _W:
            _W["compiled"] = compile_rhs(model.rhs)
        compiled = _W["compiled"]
    failed = np.zeros(len(values), dtype=bool)
    out = np.full((len(values), t_out.shape[0], model.n_states), np.nan) if keep else None
    for i, v in enumerate(values):
        p = p_base.copy()
        p[k] = v
        y, ok = integrate_scipy(
            model.rhs,
            p,
            y0,
            events,
            t_out,
            method=method,
            rtol=rtol,
            atol=atol,
            log_states=log_states,
            compiled=compiled,
        )
        failed[i] = not ok
        if out is not None:
            out[i] = y
    return failed, out


# ----------------------------------------------------------------------------------------------
# Measurement helpers.
# ----------------------------------------------------------------------------------------------

_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f} s] {msg}", flush=True)


@dataclass
class Row:
    """One line of a results table."""

    tool: str
    settings: str
    rtol: float
    n_per_run: int
    throughput: list[float]
    failures: int
    n_failure_check: int
    acc_median: float = math.nan
    acc_p95: float = math.nan
    acc_failed: int = 0
    notes: str = ""
    method: str = ""
    # libRoadRunner rows: the matched oncoimmune setting (see ``match``) and the throughput ratios
    # oncoimmune / libRoadRunner of interleaved timed runs of the two (one pair per repetition)
    paired_with: Row | None = None
    paired_ratios: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return float(np.median(self.throughput))


class Pool:
    """A process pool of ``WORKERS`` processes, all initialised before any timing starts."""

    def __init__(self, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(WORKERS)
        self.ex = ProcessPoolExecutor(WORKERS, mp_context=ctx, initializer=initializer, initargs=(*initargs, barrier))
        pids = [f.result() for f in [self.ex.submit(_sync) for _ in range(WORKERS)]]
        assert len(set(pids)) == WORKERS

    def map_chunks(self, fn: Callable[..., Any], values: np.ndarray, *args: Any) -> list[tuple[np.ndarray, Any]]:
        """Run ``fn(values[idx], *args)`` over interleaved chunks (balanced load), keeping indices."""
        n_chunks = min(len(values), 4 * WORKERS)
        idx = [np.arange(i, len(values), n_chunks) for i in range(n_chunks)]
        futures = [self.ex.submit(fn, values[ix], *args) for ix in idx]
        return [(ix, f.result()) for ix, f in zip(idx, futures, strict=True)]

    def close(self) -> None:
        self.ex.shutdown()


def _timed(run: Callable[[int], Any], n0: int, target_s: float, reps: int, n_max: int) -> tuple[int, list[float]]:
    """Pick N so that one run lasts about ``target_s`` (from a calibration run), then time ``reps`` runs."""
    t = time.perf_counter()
    run(n0)
    dt = time.perf_counter() - t
    n = int(min(n_max, max(n0, math.ceil(n0 * target_s / max(dt, 1e-3)))))
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        run(n)
        times.append(time.perf_counter() - t)
    return n, [n / s for s in times]


# ----------------------------------------------------------------------------------------------
# Running one case.
# ----------------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    case: Case
    rows: list[Row]
    first_call_s: float
    sbml_check: str
    rr_max_steps: int
    reference_check: str
    load_before: float
    load_after: float


def run_case(case: Case, reps: int, quick: bool, ref_cache: Path | None) -> CaseResult:
    import oncoimmune

    model = oncoimmune.get_model(case.model)
    regimen = case.regimen()
    events = regimen.events(model)
    t_out = case.t_out
    n_acc = 10 if quick else case.n_accuracy
    acc_values = case.values(n_acc)
    log(f"{case.title}")
    load = _loadavg()
    if load > 0.3:
        log(f"  warning: 1-minute load average {load:.2f} before the case; other processes compete for the cores")

    def onco(values: np.ndarray, rtol: float, method: str = "radau5") -> Any:
        return oncoimmune.simulate(
            case.model,
            patients={case.param: values},
            regimen=regimen,
            times=t_out,
            variant=case.variant,
            rtol=rtol,
            atol=ATOL,
            method=method,
        )

    # -- compile / first call, excluded from the timings ---------------------------------------
    t = time.perf_counter()
    onco(case.values(2), 1e-6)
    first_call = time.perf_counter() - t
    log(f"  oncoimmune first call (2 patients, kernel compile or disk-cache load): {first_call:.1f} s")

    # -- reference -----------------------------------------------------------------------------
    sp_pool = Pool(_scipy_init, (case.model, case.variant))
    ref, reference_check = _reference(case, model, events, acc_values, sp_pool, ref_cache)
    log(f"  {reference_check}")

    rows: list[Row] = []
    cells = np.array([st.unit == "cells" for st in model.states])  # the accuracy metric's states

    def accuracy(row: Row, y: np.ndarray, failed: np.ndarray) -> None:
        err = max_relative_error(y, ref, t_out, case.accuracy_t_min, states=cells)
        row.acc_median, row.acc_p95 = accuracy_summary(err, failed)
        row.acc_failed = int(failed.sum())

    # -- oncoimmune ----------------------------------------------------------------------------
    target = 0.6 if quick else 1.3

    def onco_seconds(row: Row) -> float:
        t = time.perf_counter()
        onco(case.values(row.n_per_run), row.rtol, row.method)
        return time.perf_counter() - t

    for method, rtols in ONCO_METHODS.items():
        if method != "radau5":
            onco(case.values(2), 1e-6, method)  # compile this method's kernel outside the timings
        for rtol in rtols:
            n0 = 256 if quick else 512
            box: dict[int, int] = {}

            def onco_run(n: int, rtol: float = rtol, box: dict[int, int] = box, method: str = method) -> None:
                box[n] = int((~onco(case.values(n), rtol, method).ok).sum())

            n, tp = _timed(onco_run, n0, target, reps, 1 << 20)
            fails = box[n]
            acc_res = onco(acc_values, rtol, method)
            row = Row(
                "oncoimmune",
                f"{METHOD_LABEL[method]}, log states, rtol {_tol(rtol)}, atol {_tol(ATOL)}, {WORKERS} threads",
                rtol,
                n,
                tp,
                fails,
                n,
                method=method,
            )
            accuracy(row, acc_res.y, ~acc_res.ok)
            rows.append(row)
            log(
                f"  oncoimmune {method} rtol {_tol(rtol)}: {row.median:,.0f} patients/s (N={n}), failures {fails}, "
                f"error median {row.acc_median:.1e} p95 {row.acc_p95:.1e}"
            )

    # -- libRoadRunner -------------------------------------------------------------------------
    sel = [case.sbml_ids[s] for s in model.state_names]
    rr_pool = Pool(_rr_init, (case.sbml(), sel))
    n_pts = t_out.shape[0]
    t_end = float(t_out[-1])
    if not np.allclose(t_out, np.linspace(0.0, t_end, n_pts)):
        raise ValueError("libRoadRunner runs use an evenly spaced output grid from 0")
    rr_max_steps = 0
    sbml_check = _validate_sbml(case, model, regimen, sel)
    log(f"  {sbml_check}")
    rr_runs: dict[float, Callable[[int], None]] = {}
    for rtol in RR_RTOLS:
        fail_box: dict[int, np.ndarray] = {}

        def rr_run(n: int, rtol: float = rtol, fail_box: dict[int, np.ndarray] = fail_box) -> None:
            parts = rr_pool.map_chunks(_rr_task, case.values(n), case.param, t_end, n_pts, rtol, ATOL, False)
            failed = np.zeros(n, dtype=bool)
            for ix, (f, _, _) in parts:
                failed[ix] = f
            fail_box[n] = failed

        rr_runs[rtol] = rr_run
        n, tp = _timed(rr_run, 128 if quick else 256, 0.5 if quick else 1.2, reps, 1 << 20)
        fails = int(fail_box[n].sum())
        parts = rr_pool.map_chunks(_rr_task, acc_values, case.param, t_end, n_pts, rtol, ATOL, True)
        y = np.full((n_acc, n_pts, model.n_states), np.nan)
        failed = np.zeros(n_acc, dtype=bool)
        for ix, (f, traj, steps) in parts:
            failed[ix] = f
            y[ix] = traj
            rr_max_steps = steps
        row = Row(
            "libRoadRunner",
            f"CVODE (BDF), rtol {_tol(rtol)}, atol {_tol(ATOL)}, max steps {rr_max_steps} (default), "
            f"{WORKERS} processes",
            rtol,
            n,
            tp,
            fails,
            n,
        )
        accuracy(row, y, failed)
        rows.append(row)
        log(
            f"  libRoadRunner rtol {_tol(rtol)}: {row.median:,.0f} patients/s (N={n}), failures {fails}/{n}, "
            f"error median {row.acc_median:.1e} p95 {row.acc_p95:.1e} ({row.acc_failed} of {n_acc} failed)"
        )
    # -- matched pairs, timed interleaved ------------------------------------------------------
    # The grid above times every oncoimmune setting before any libRoadRunner one; on a shared
    # machine whose speed drifts over minutes that alone can move a ratio by a third. The verdict
    # therefore re-times each libRoadRunner setting against its accuracy match in alternating runs
    # (oncoimmune, libRoadRunner, oncoimmune, ...) and uses the median of the per-pair ratios.
    for rr in [r for r in rows if r.tool == "libRoadRunner"]:
        best = match(rows, rr)
        if best is None:
            continue
        rr.paired_with = best
        for _ in range(reps):
            t_onco = onco_seconds(best)
            t = time.perf_counter()
            rr_runs[rr.rtol](rr.n_per_run)
            t_rr = time.perf_counter() - t
            rr.paired_ratios.append((best.n_per_run / t_onco) / (rr.n_per_run / t_rr))
        log(
            f"  paired: libRoadRunner rtol {_tol(rr.rtol)} vs oncoimmune {best.method} rtol {_tol(best.rtol)}: "
            f"ratio median {np.median(rr.paired_ratios):.1f} [{min(rr.paired_ratios):.1f}-"
            f"{max(rr.paired_ratios):.1f}] over {reps} interleaved pairs"
        )
    rr_pool.close()

    # -- scipy ---------------------------------------------------------------------------------
    # One timed run over the accuracy set: a few patients (near-extinction troughs) take a linear-
    # space LSODA 10-20 s each and dominate its cost, so a representative sample needs tens of
    # patients, and five repeats of it would dominate the benchmark's run time.
    for method in SCIPY_METHODS:
        t = time.perf_counter()
        parts = sp_pool.map_chunks(
            _scipy_task, acc_values, case.param, t_out, events, method, SCIPY_RTOL, ATOL, False, True
        )
        elapsed = time.perf_counter() - t
        y, failed = _collect(parts, n_acc, (t_out.shape[0], model.n_states))
        row = Row(
            "scipy",
            f"solve_ivp {method}, linear states, rtol {_tol(SCIPY_RTOL)}, atol {_tol(ATOL)}, {WORKERS} processes",
            SCIPY_RTOL,
            n_acc,
            [n_acc / elapsed],
            int(failed.sum()),
            n_acc,
        )
        accuracy(row, y, failed)
        rows.append(row)
        log(
            f"  scipy {method}: {row.median:,.1f} patients/s (N={row.n_per_run}, 1 run), "
            f"failures {row.failures}/{row.n_per_run}, "
            f"error median {row.acc_median:.1e} p95 {row.acc_p95:.1e}"
        )
    sp_pool.close()
    return CaseResult(case, rows, first_call, sbml_check, rr_max_steps, reference_check, load, _loadavg())


def _loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return math.nan


def _cache_dir() -> Path:
    env = os.environ.get("ONCOIMMUNE_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "oncoimmune"
    return base / "benchmarks"


def _reference(
    case: Case, model: Any, events: Any, values: np.ndarray, pool: Pool, cache: Path | None
) -> tuple[np.ndarray, str]:
    """High-accuracy trajectories for the accuracy set, and a sentence on how they were checked.

    Radau at ``REF_RTOL`` in log coordinates for the populations; its own error is estimated by
    comparison with a run one decade looser on the first patients. The result is cached on disk
    under a hash of everything it depends on (model source, inputs, settings, scipy version), so a
    re-run with identical inputs loads it instead of spending a minute recomputing it.
    """
    import hashlib
    import inspect

    import scipy

    t_out = case.t_out
    shape = (t_out.shape[0], model.n_states)
    n_check = min(4, values.shape[0])
    key_src = "\0".join(
        [
            inspect.getsource(sys.modules[model.rhs.__module__]),
            scipy.__version__,
            np.__version__,
            repr((case.key, case.variant, case.param, REF_RTOL, REF_ATOL, n_check)),
            t_out.tobytes().hex(),
            values.tobytes().hex(),
            np.asarray(events.t).tobytes().hex() + np.asarray(events.val).tobytes().hex(),
            inspect.getsource(integrate_scipy),
        ]
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:20]
    path = (cache or Path()) / f"reference_{case.key}_{key}.npz"
    if cache is not None and path.exists():
        with np.load(path) as data:
            ref, check_err = data["ref"], float(data["check_err"])
        origin = f"loaded from the cache {path.name} (computed by an earlier run with identical inputs)"
    else:
        log(
            f"  reference: scipy Radau rtol {_tol(REF_RTOL)} atol {_tol(REF_ATOL)}, log coordinates, "
            f"{len(values)} patients"
        )
        args = (case.param, t_out, events, "Radau")
        ref, failed = _collect(
            pool.map_chunks(_scipy_task, values, *args, REF_RTOL, REF_ATOL, True, True), len(values), shape
        )
        if failed.any():
            raise RuntimeError(f"reference integration failed for {int(failed.sum())} patients")
        loose, failed = _collect(
            pool.map_chunks(_scipy_task, values[:n_check], *args, 10 * REF_RTOL, 10 * REF_ATOL, True, True),
            n_check,
            shape,
        )
        cells = np.array([st.unit == "cells" for st in model.states])
        check_err = float(np.max(max_relative_error(loose, ref[:n_check], t_out, case.accuracy_t_min, states=cells)))
        if failed.any():
            check_err = math.inf
        origin = "computed in this run"
        if cache is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.stem + ".tmp.npz")
            np.savez_compressed(tmp, ref=ref, check_err=check_err)
            tmp.replace(path)
    check = (
        f"reference {origin}; Radau at rtol {_tol(10 * REF_RTOL)}/atol {_tol(10 * REF_ATOL)} differs from it "
        "by at most "
        f"{check_err:.1e} (same metric) on the first {n_check} patients"
    )
    return ref, check


def _collect(parts: list[tuple[np.ndarray, Any]], n: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    y = np.full((n, *shape), np.nan)
    failed = np.zeros(n, dtype=bool)
    for ix, (f, traj) in parts:
        failed[ix] = f
        y[ix] = traj
    return y, failed


TIGHT_RR = ((1e-10, 1e-12), (1e-9, 1e-12), (1e-11, 1e-12), (1e-11, 1e-11))
"""libRoadRunner settings tried in turn for the SBML check (CVODE may fail at the tightest)."""


def rr_trajectory(
    sbml: str,
    selections: Sequence[str],
    param: str,
    value: float,
    t_end: float,
    n_points: int,
    rtol: float,
    atol: float,
    max_steps: int = 10**6,
) -> np.ndarray:
    """States (without time) from a fresh libRoadRunner instance; raises on a CVODE failure."""
    import roadrunner

    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_CRITICAL)
    with quiet_output():
        rr = roadrunner.RoadRunner(sbml)
        rr.timeCourseSelections = ["time", *selections]
        rr.integrator.relative_tolerance = rtol
        rr.integrator.absolute_tolerance = atol
        rr.integrator.maximum_num_steps = max_steps
        rr.resetAll()
        rr[param] = float(value)
        return np.asarray(rr.simulate(0.0, t_end, n_points))[:, 1:]


def _validate_sbml(case: Case, model: Any, regimen: Any, sel: list[str]) -> str:
    """libRoadRunner on the SBML at tight tolerance vs oncoimmune at rtol 1e-10, on one patient."""
    import oncoimmune

    value = float(case.values(1)[0])
    res = oncoimmune.simulate(
        case.model,
        patients={case.param: [value]},
        regimen=regimen,
        times=case.t_out,
        variant=case.variant,
        rtol=1e-10,
        atol=1e-12,
    )
    sbml = case.sbml()
    failed = []
    for rtol, atol in TIGHT_RR:
        try:
            y_rr = rr_trajectory(sbml, sel, case.param, value, float(case.t_out[-1]), case.t_out.shape[0], rtol, atol)
        except RuntimeError as exc:
            failed.append(f"rtol {_tol(rtol)}/atol {_tol(atol)} ({str(exc).split(':')[1].strip()})")
            continue
        err = float(max_relative_error(y_rr[None], res.y, case.t_out, 0.0)[0])
        note = f"; libRoadRunner failed at {', '.join(failed)}" if failed else ""
        return (
            f"SBML check: libRoadRunner (rtol {_tol(rtol)}, atol {_tol(atol)}, max steps 1e6) vs oncoimmune "
            "(rtol 1e-10) on "
            f"patient 1 ({case.param} = {value:.6g}): max relative difference {err:.1e} over all states and days "
            f"with values > 1{note}"
        )
    return f"SBML check: libRoadRunner failed at every tight setting ({', '.join(failed)})"


# ----------------------------------------------------------------------------------------------
# Child processes: peak memory and cold compilation, each measured in a fresh interpreter.
# ----------------------------------------------------------------------------------------------


def _status_mib(field: str) -> float:
    """A memory line of /proc/self/status (``VmRSS``, ``VmHWM``) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise KeyError(field)


def _child_memory(mode: str, n: int) -> dict[str, Any]:
    """Peak resident memory of one case-1 run in this (fresh) process.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` of a process started by fork/vfork + exec includes the
    peak of the parent's image at exec (Linux keeps the larger of the two), so it would report the
    benchmark driver's memory. The peak is therefore read from ``VmHWM`` in /proc/self/status,
    which belongs to this process's own address space, and reset (``clear_refs``) after the
    warm-up so that it covers the measured run only.
    """
    import oncoimmune

    case = cases()["kirschner_panetta_1998"]
    kw = {"times": case.t_out, "variant": case.variant}
    oncoimmune.simulate(case.model, patients={"c": case.values(2)}, **kw)
    values = case.values(n)
    warm_peak = _status_mib("VmHWM")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident size
    before = _status_mib("VmRSS")
    t = time.perf_counter()
    if mode == "reduce":
        res = oncoimmune.simulate(
            case.model,
            patients={"c": values},
            reduce={"T_final": oncoimmune.Final("T"), "T_min": oncoimmune.Min("T")},
            **kw,
        )
    else:
        res = oncoimmune.simulate(case.model, patients={"c": values}, **kw)
    seconds = time.perf_counter() - t
    return {
        "mode": mode,
        "n": n,
        "baseline_mib": before,
        "peak_mib": _status_mib("VmHWM"),
        "warmup_peak_mib": warm_peak,
        "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "seconds": seconds,
        "status": res.status_counts(),
    }


def _child_compile(model_name: str) -> dict[str, Any]:
    import oncoimmune

    if model_name == ORAL_CASE:
        t = time.perf_counter()
        _oral_simulate(_oral_patients(2)[:2], "doses")
        return {"model": model_name, "seconds": time.perf_counter() - t}
    case = cases()[model_name]
    t = time.perf_counter()
    oncoimmune.simulate(
        case.model,
        patients={case.param: case.values(2)},
        regimen=case.regimen(),
        times=case.t_out,
        variant=case.variant,
    )
    return {"model": model_name, "seconds": time.perf_counter() - t}


def _run_child(args: list[str], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------
# Case 3: daily oral dosing, dose by dose vs the spread input (oral_input="continuous").
# ----------------------------------------------------------------------------------------------

ORAL_CASE = "oral_input"  # key for --cases
ORAL_MODEL = "io_qsp"
ORAL_REGIMEN = "dabrafenib 150 mg bid + trametinib 2 mg daily"
ORAL_DAYS = 730
ORAL_SEED = 20_261_130
ORAL_N_ACCURACY = 8
ORAL_RTOL = 1e-6  # oncoimmune's default and the scipy loop's
ORAL_REF = ("LSODA", 1e-10, 1e-12)  # method, rtol, atol of the reference


@dataclass
class OralRow:
    """One line of case 3's table: a tool and an input mode, its throughput, steps and SLD error."""

    tool: str
    mode: str  # "doses" or "continuous"
    settings: str
    n_per_run: int
    throughput: list[float]
    failures: int
    n_failure_check: int
    steps_median: float = math.nan
    sld_err_median: float = math.nan
    sld_err_max: float = math.nan
    sld_rel_err_max: float = math.nan
    cells_err_max: float = math.nan

    @property
    def median(self) -> float:
        return float(np.median(self.throughput))


@dataclass
class OralResult:
    rows: list[OralRow]
    n_events: dict[str, int]
    reference_s: float
    first_call_s: float
    plan_ms: dict[str, float]
    cold_compile_s: float = math.nan


def _oral_patients(n: int) -> list[Any]:
    """The first ``n`` of one seeded draw of the melanoma population's covariates."""
    from oncoimmune.population import sample_population, to_covariates

    return to_covariates(sample_population("melanoma", n=max(n, ORAL_N_ACCURACY), seed=ORAL_SEED))[:n]


def _oral_simulate(patients: Sequence[Any], mode: str, **kw: Any) -> Any:
    """oncoimmune on case 3 with io_qsp's extinction rule off: a population below 0.9 cells (1e-12 for the immune
    ones) is set to zero there, while the scipy loop solves the bare equations, so oncoimmune runs with the engine's
    numerical-zero threshold instead (same equations for all tools)."""
    import oncoimmune
    from oncoimmune.solve._simulate import NUMERICAL_EXTINCTION

    t = np.arange(0.0, ORAL_DAYS + 1.0, 1.0)
    model = oncoimmune.get_model(ORAL_MODEL)
    kw.setdefault("extinction", {k: NUMERICAL_EXTINCTION for k in model.extinction})
    return oncoimmune.simulate_treatment(ORAL_MODEL, ORAL_REGIMEN, list(patients), t, oral_input=mode, **kw)


def _oral_scipy_task(
    items: Sequence[tuple[np.ndarray, np.ndarray, Any]], method: str, rtol: float, atol: float, compiled: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scipy loop over ``(parameters, initial state, events)``: failed flags, SLD (mm) and tumour cells."""
    model = _W["model"]
    fz = None
    if compiled:
        if "compiled" not in _W:
            _W["compiled"] = compile_rhs(model.rhs)
        fz = _W["compiled"]
    t = np.arange(0.0, ORAL_DAYS + 1.0, 1.0)
    failed = np.zeros(len(items), dtype=bool)
    sld = np.full((len(items), t.shape[0]), np.nan)
    cells = np.full((len(items), t.shape[0]), np.nan)
    for i, (p, y0, events) in enumerate(items):
        y, ok = integrate_scipy(model.rhs, p, y0, events, t, method=method, rtol=rtol, atol=atol, compiled=fz)
        failed[i] = not ok
        if ok:
            out = model.outputs(y[None], p[None, None, :])
            sld[i], cells[i] = out["sld_mm"][0], out["tumour_cells"][0]
    return failed, sld, cells


def _oral_items(res: Any) -> list[tuple[np.ndarray, np.ndarray, Any]]:
    """Each planned patient of a TreatmentResult as (parameters, initial state, event table)."""
    import oncoimmune

    model = oncoimmune.get_model(ORAL_MODEL)
    items = []
    for i, plan in enumerate(res.plans):
        y0 = model.initial_values(None).copy()
        for name, v in plan.init.items():
            y0[model.state_index(name)] = v
        items.append((np.array(res.parameters[i], dtype=np.float64), y0, plan.regimen.events(model)))
    return items


def _oral_errors(sld: np.ndarray, cells: np.ndarray, ref_sld: np.ndarray, ref_cells: np.ndarray) -> tuple:
    """Per patient: max |SLD - ref| (mm); the same relative to the reference SLD where it is >= 10 mm
    (RECIST's smallest measurable lesion); max relative tumour-cell error while above 1 % of baseline."""
    d_sld = np.nanmax(np.abs(sld - ref_sld), axis=1)
    measurable = ref_sld >= 10.0
    rel_sld = np.where(measurable, np.abs(sld - ref_sld) / np.where(measurable, ref_sld, 1.0), 0.0)
    big = ref_cells > 0.01 * ref_cells[:, :1]
    rel = np.where(big, np.abs(cells - ref_cells) / np.where(big, ref_cells, 1.0), 0.0)
    return d_sld, np.nanmax(rel_sld, axis=1), np.nanmax(rel, axis=1)


def run_oral(reps: int, quick: bool) -> OralResult:
    """Case 3: the same virtual patients on two years of dabrafenib bid + trametinib daily."""
    n_acc = 2 if quick else ORAL_N_ACCURACY
    acc = _oral_patients(n_acc)
    log(f"case 3 ({ORAL_MODEL}, {ORAL_REGIMEN}, {ORAL_DAYS} days): warm-up")
    t = time.perf_counter()
    _oral_simulate(acc[:2], "continuous")
    first_call_s = time.perf_counter() - t
    _oral_simulate(acc[:2], "doses")

    runs = {m: _oral_simulate(acc, m) for m in ("doses", "continuous")}
    import oncoimmune

    model = oncoimmune.get_model(ORAL_MODEL)
    n_events = {m: len(r.plans[0].regimen.events(model)) for m, r in runs.items()}
    from oncoimmune.treatments._plan import plan_patient

    plan_ms = {}
    for m in ("doses", "continuous"):  # the Python part of a run: each patient's plan (doses, PK parameters)
        passes = []
        for _ in range(3):  # the fastest of three passes (the first pays one-time imports and caches)
            t = time.perf_counter()
            for c in acc:
                plan_patient(ORAL_MODEL, ORAL_REGIMEN, c, float(ORAL_DAYS), oral_input=m)
            passes.append(1e3 * (time.perf_counter() - t) / len(acc))
        plan_ms[m] = min(passes)
    log(f"  events per patient: {n_events}")

    pool = Pool(_scipy_init, (ORAL_MODEL, None))
    try:

        def scipy_run(items: list[Any], method: str, rtol: float, atol: float, compiled: bool) -> tuple:
            n_chunks = min(len(items), 2 * WORKERS)
            idx = [list(range(i, len(items), n_chunks)) for i in range(n_chunks)]
            futs = [
                pool.ex.submit(_oral_scipy_task, [items[j] for j in ix], method, rtol, atol, compiled) for ix in idx
            ]
            failed = np.zeros(len(items), dtype=bool)
            sld = np.full((len(items), ORAL_DAYS + 1), np.nan)
            cells = np.full_like(sld, np.nan)
            for ix, f in zip(idx, futs, strict=True):
                fl, s, c = f.result()
                failed[ix], sld[ix], cells[ix] = fl, s, c
            return failed, sld, cells

        log(
            f"  reference: scipy {ORAL_REF[0]} rtol {ORAL_REF[1]:g}, atol {ORAL_REF[2]:g}, "
            f"dose by dose, {n_acc} patients"
        )
        t = time.perf_counter()
        ref_failed, ref_sld, ref_cells = scipy_run(_oral_items(runs["doses"]), *ORAL_REF, True)
        reference_s = time.perf_counter() - t
        if ref_failed.any():
            raise RuntimeError(f"case 3 reference failed for {int(ref_failed.sum())} patients")

        rows: list[OralRow] = []
        targets = {"doses": (2, 4.0 if not quick else 1.0, 64), "continuous": (8, 1.3, 4096)}
        for mode in ("doses", "continuous"):
            n0, target_s, n_max = targets[mode]
            cohort = _oral_patients(n_max if not quick else 16)
            log(f"  oncoimmune, {mode}")
            last: dict[str, Any] = {}  # the last timed run (N patients): its failures and steps are reported

            def timed_run(k: int, m: str = mode, c: list[Any] = cohort, last: dict[str, Any] = last) -> None:
                last["r"] = _oral_simulate(c[:k], m)

            n, tp = _timed(timed_run, n0, target_s, reps, len(cohort))
            r = last["r"]
            out = runs[mode].outputs()
            d_sld, r_sld, d_cells = _oral_errors(out["sld_mm"], out["tumour_cells"], ref_sld, ref_cells)
            rows.append(
                OralRow(
                    "oncoimmune",
                    mode,
                    f"Radau IIA 5 (default), rtol {ORAL_RTOL:g}, {WORKERS} threads",
                    n,
                    tp,
                    int((~r.result.ok).sum()),
                    n,
                    float(np.median(r.result.n_steps)),
                    float(np.median(d_sld)),
                    float(np.max(d_sld)),
                    float(np.max(r_sld)),
                    float(np.max(d_cells)),
                )
            )
        for mode in ("doses", "continuous"):
            log(f"  scipy LSODA loop, {mode}")
            items = _oral_items(runs[mode])
            t = time.perf_counter()
            failed, sld, cells = scipy_run(items, "LSODA", ORAL_RTOL, ATOL, False)
            dt = time.perf_counter() - t
            ok = ~failed
            d_sld, r_sld, d_cells = _oral_errors(sld[ok], cells[ok], ref_sld[ok], ref_cells[ok])
            rows.append(
                OralRow(
                    "scipy loop",
                    mode,
                    f"solve_ivp LSODA, rtol {ORAL_RTOL:g}, atol {ATOL:g}, restart at every event, {WORKERS} processes",
                    len(items),
                    [len(items) / dt],
                    int(failed.sum()),
                    len(items),
                    math.nan,
                    float(np.median(d_sld)) if ok.any() else math.nan,
                    float(np.max(d_sld)) if ok.any() else math.nan,
                    float(np.max(r_sld)) if ok.any() else math.nan,
                    float(np.max(d_cells)) if ok.any() else math.nan,
                )
            )
        for row in rows:
            log(f"    {row.tool} {row.mode}: {row.median:,.2f} patients/s, SLD error max {row.sld_err_max:.3f} mm")
    finally:
        pool.close()
    return OralResult(rows, n_events, reference_s, first_call_s, plan_ms)


def _mm(x: float) -> str:
    """Millimetres: three decimals, or scientific notation below a thousandth (not a misleading 0.000)."""
    return f"{x:.3f}" if x >= 1e-3 or x == 0 else f"{x:.1e}"


def _oral_summary(res: OralResult | None) -> list[str]:
    """Case 3's bullet for the summary (no bar: the issue sets none for it)."""
    if res is None:
        return []
    by = {(r.tool, r.mode): r for r in res.rows}
    spread, doses, scipy_doses = (
        by[("oncoimmune", "continuous")],
        by[("oncoimmune", "doses")],
        by[("scipy loop", "doses")],
    )
    return [
        f'- **Case 3** ({ORAL_MODEL}, two years of daily oral dosing): the spread input (`oral_input="continuous"`) '
        f"runs {spread.median / doses.median:,.0f}× oncoimmune dose by dose and "
        f"{spread.median / scipy_doses.median:,.0f}× the scipy loop dose by dose; largest SLD difference from the "
        f"dose-by-dose reference {spread.sld_err_max:.2f} mm "
        "(no bar is set for this case; measured, not asserted).",
        "",
    ]


def render_oral(res: OralResult) -> list[str]:
    """Case 3's section of the report."""
    from oncoimmune.solve._simulate import NUMERICAL_EXTINCTION

    by = {(r.tool, r.mode): r for r in res.rows}
    spread, doses = by[("oncoimmune", "continuous")], by[("oncoimmune", "doses")]
    scipy_doses, scipy_spread = by[("scipy loop", "doses")], by[("scipy loop", "continuous")]
    out = [
        f"## Case 3: daily oral dosing, {ORAL_REGIMEN}, {ORAL_DAYS} days ({ORAL_MODEL})",
        "",
        f'Virtual melanoma patients (`sample_population("melanoma", seed={ORAL_SEED})`, the first of one draw) on '
        f"two years of `{ORAL_REGIMEN}` without stopping, daily output. Dose by dose, each patient's plan holds "
        f'{res.n_events["doses"]:,} events (every oral dose into its gut depot); with `oral_input="continuous"` '
        f"(docs/trials.md) the doses are spread over their dosing interval as a zero-order input with the IC50 that "
        f"keeps the mean growth inhibition, and the plan holds {res.n_events['continuous']:,}. The scipy loop "
        "solves the same equations (the model's `rhs`, same parameters and initial state per patient) with "
        "`solve_ivp`, restarting at every event, for both plans. io_qsp's extinction rule (a population that falls "
        "below 0.9 cells, 1e-12 for the immune ones, is set to zero: `model.extinction`) is switched off in "
        f"oncoimmune's runs here (threshold {NUMERICAL_EXTINCTION:g}, the engine's numerical zero), because the scipy "
        "loop and the reference solve the bare equations; with it on, a trajectory in which a population dies out "
        "parts from the reference by a few hundredths of a millimetre of SLD.",
        "",
        f"Reference: scipy {ORAL_REF[0]} at rtol {ORAL_REF[1]:g}, atol {ORAL_REF[2]:g} on the dose-by-dose plan "
        f"(numba-compiled right-hand side; {res.reference_s:.0f} s for the accuracy set of the first "
        f"{ORAL_N_ACCURACY} patients). Errors are measured against it, on the accuracy set: the largest difference "
        "in the sum of target-lesion diameters (what RECIST reads) over the two years, and the largest relative "
        "difference in tumour cells while the reference is above 1 % of baseline. The spread input's error is "
        "that of the approximation, not of a solver: the reference is dose by dose.",
        "",
        "| tool | input | settings | patients/s median [min–max] | N per run | failures | median steps | "
        "SLD error median mm | SLD error max mm | SLD max rel. error (SLD ≥ 10 mm) | tumour cells max rel. error |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res.rows:
        tp = f"{r.median:,.2f}" + (
            f" [{min(r.throughput):,.2f}–{max(r.throughput):,.2f}]" if len(r.throughput) > 1 else " (one run)"
        )
        steps = "–" if math.isnan(r.steps_median) else f"{r.steps_median:,.0f}"
        out.append(
            f"| {r.tool} | {'dose by dose' if r.mode == 'doses' else 'spread (continuous)'} | {r.settings} | {tp} | "
            f"{r.n_per_run:,} | {r.failures}/{r.n_failure_check} | {steps} | {_mm(r.sld_err_median)} | "
            f"{_mm(r.sld_err_max)} | {r.sld_rel_err_max:.1%} | {r.cells_err_max:.1%} |"
        )
    out += [
        "",
        f"- The spread input runs **{spread.median / doses.median:,.0f}×** oncoimmune's dose-by-dose throughput and "
        f"**{spread.median / scipy_doses.median:,.0f}×** the scipy loop's dose by dose. Its largest SLD difference "
        f"from the dose-by-dose reference is {spread.sld_err_max:.2f} mm ({spread.sld_rel_err_max:.1%} of the SLD "
        f"where it is at least 10 mm; RECIST's thresholds are 20 % and 30 %); dose by dose, oncoimmune is within "
        f"{doses.sld_err_max:.1e} mm of the reference.",
        f"- On the spread input the scipy loop runs {scipy_spread.median:,.1f} patients/s against oncoimmune's "
        f"{spread.median:,.1f}: with four events left, the problem is smooth and LSODA (non-stiff Adams steps where "
        "it can) is cheap, while much of oncoimmune's run is planning, the Python part that builds each patient's "
        f"administrations and PK parameters: {res.plan_ms['continuous']:.1f} ms per patient with the spread input "
        f"({res.plan_ms['doses']:.1f} ms dose by dose; measured alone on the accuracy set, one thread, the fastest "
        "of three passes) of the "
        f"{1e3 / spread.median:.1f} ms of wall time per patient of a run.",
        f"- oncoimmune's kernel for {ORAL_MODEL}: cold compilation in a fresh process {res.cold_compile_s:.1f} s; "
        f"first call in this process, loading that cache (2 patients): {res.first_call_s:.1f} s. scipy is timed in "
        "one run over the accuracy set (as in cases 1 and 2).",
        "",
    ]
    return out


# ----------------------------------------------------------------------------------------------
# Report.
# ----------------------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    import numba
    import scipy

    import oncoimmune

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import roadrunner

        rr_version = roadrunner.__version__
    except ImportError:
        rr_version = "not installed"
    mem = ""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
        kib = int(next(x for x in lines if x.startswith("MemTotal")).split()[1])
        mem = f"{kib / 1024**2:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "CPU": cpu,
        "Cores": f"{os.cpu_count()} (numba threads: {numba.get_num_threads()}; peers' process pools: {WORKERS})",
        "Memory": mem,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "oncoimmune": oncoimmune.__version__,
        "numba": numba.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "libroadrunner": rr_version,
        "Source": _git_revision(),
    }


def _git_revision() -> str:
    """Commit of the checkout, marked ``+ uncommitted changes`` when the tree is dirty."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"git {head}" + (" + uncommitted changes" if dirty else "")


def _fmt_tp(row: Row) -> str:
    lo, hi = min(row.throughput), max(row.throughput)
    fmt = "{:,.0f}" if row.median >= 100 else "{:,.1f}"
    if len(row.throughput) == 1:
        return f"{fmt.format(row.median)} (1 run)"
    return f"{fmt.format(row.median)} [{fmt.format(lo)}–{fmt.format(hi)}]"


def _tol(x: float) -> str:
    """A tolerance as ``1e-6`` (not ``1e-06`` or ``0.0001``)."""
    mant, exp_ = f"{x:.0e}".split("e")
    return f"{mant}e{int(exp_)}"


def _fmt_err(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.1e}"


def verdict(rows: list[Row]) -> tuple[bool, list[str]]:
    """Compare oncoimmune with libRoadRunner at equal or better accuracy.

    For each libRoadRunner setting, the fastest oncoimmune setting with zero failures whose median
    *and* 95th-percentile errors are no larger is its match; the bar is met for that setting when
    the match has at least ``BAR`` times libRoadRunner's median throughput. The overall verdict
    requires every libRoadRunner setting to be met.
    """
    lines, all_met = [], True
    for rr in (r for r in rows if r.tool == "libRoadRunner"):
        best = rr.paired_with or match(rows, rr)
        if best is None:
            all_met = False
            lines.append(
                f"libRoadRunner rtol {_tol(rr.rtol)}: no oncoimmune setting measured here is as accurate; "
                "bar **not met**."
            )
            continue
        if rr.paired_ratios:
            ratio = float(np.median(rr.paired_ratios))
            how = (
                f" (median of {len(rr.paired_ratios)} interleaved pairs, "
                f"{min(rr.paired_ratios):.1f}–{max(rr.paired_ratios):.1f}; "
                f"from the tables: {best.median / rr.median:.1f}×)"
            )
        else:
            ratio, how = best.median / rr.median, ""
        met = ratio >= BAR
        all_met &= met
        lines.append(
            f"libRoadRunner rtol {_tol(rr.rtol)} ({rr.failures}/{rr.n_failure_check} failed, error median "
            f"{_fmt_err(rr.acc_median)}, p95 {_fmt_err(rr.acc_p95)}) vs oncoimmune {METHOD_LABEL[best.method]} "
            f"rtol {_tol(best.rtol)} (0 failed, "
            f"{_fmt_err(best.acc_median)}, {_fmt_err(best.acc_p95)}): **{ratio:.1f}×**{how} — bar "
            f"{'met' if met else '**not met**'}."
        )
    return all_met, lines


def match(rows: list[Row], rr: Row) -> Row | None:
    """The fastest oncoimmune setting (by the tables' median throughput) with zero failures whose
    median and 95th-percentile errors are both no larger than those of the libRoadRunner row."""
    ok = [
        o
        for o in rows
        if o.tool == "oncoimmune" and o.failures == 0 and o.acc_median <= rr.acc_median and o.acc_p95 <= rr.acc_p95
    ]
    return max(ok, key=lambda o: o.median) if ok else None


def _summary(results: list[CaseResult]) -> list[str]:
    if not results:
        return []
    out = ["## Summary", ""]
    for cr in results:
        met, lines = verdict(cr.rows)
        onco6 = next(r for r in cr.rows if r.tool == "oncoimmune" and r.rtol == 1e-6 and r.method == "radau5")
        rr6 = next((r for r in cr.rows if r.tool == "libRoadRunner" and r.rtol == 1e-6), None)
        fails = ", ".join(f"{r.failures}/{r.n_failure_check}" for r in cr.rows if r.tool == "libRoadRunner")
        out.append(f"- **{cr.case.title.split(':')[0]}** ({cr.case.model}): bar **{'met' if met else 'not met'}**.")
        if rr6 is not None:
            out.append(
                f"  - At rtol 1e-6 for both, oncoimmune runs {onco6.median / rr6.median:,.1f}× libRoadRunner's "
                f"throughput; oncoimmune failed 0 patients in every setting, libRoadRunner {fails} "
                "(rtol 1e-6, 1e-7, 1e-8)."
            )
        out += [f"  - Matched accuracy: {x}" for x in lines]
    out += [""]
    return out


def render(
    info: Mapping[str, str],
    results: list[CaseResult],
    memory: list[dict[str, Any]],
    compile_s: Mapping[str, float],
    skipped: Sequence[str],
    command: str,
    elapsed: float,
    oral: OralResult | None = None,
) -> str:
    out = [
        "# Benchmarks",
        "",
        "Speed, accuracy and memory of the oncoimmune engine against libRoadRunner and scipy, measured in one run "
        "of `benchmarks/run.py` (generated file; do not edit by hand). Research and education software: the "
        "virtual patients below are numerical test cases, not clinical predictions.",
        "",
        f"Generated {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} in {elapsed / 60:.1f} min by:",
        "",
        "```",
        command,
        "```",
        "",
        *_summary(results),
        *_oral_summary(oral),
        "## Machine and versions",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info.items()],
        "",
        "## Method",
        "",
        "- Every tool solves the same equations with the same parameters and uses every core: oncoimmune through "
        "its numba threads, libRoadRunner and scipy through a `ProcessPoolExecutor` with one worker per core "
        "(spawned and initialised before timing; each libRoadRunner worker builds its `RoadRunner` once, then per "
        "patient calls `resetAll()`, sets the varied parameter and `simulate(0, t_end, points)`).",
        "- Throughput = patients per second of wall time, median [min–max] of 5 runs. N (patients per run) is "
        "chosen from a calibration run so that one run lasts about 1.3 s (oncoimmune) or 1.2 s (libRoadRunner); "
        "throughput is per second, so the N differ. oncoimmune's kernel compilation is excluded (one warm-up call "
        "on 2 patients, reported separately). scipy is timed in one run over the accuracy set: a few patients "
        "(deep tumour troughs) cost a linear-space solver 10–20 s each and dominate its throughput, so it needs "
        "tens of patients per run, and five such runs would dominate the benchmark's run time.",
        "- Failures = patients whose integration raised (libRoadRunner: CVODE errors such as CV_TOO_MUCH_WORK) or "
        "returned a non-OK status (oncoimmune) or failed/non-finite (scipy), among the N patients of a timed run.",
        f"- Accuracy: reference = scipy Radau at rtol {_tol(REF_RTOL)}, atol {_tol(REF_ATOL)} on the same equations "
        "(numba-compiled), with the populations integrated as logarithms (a population that starts at zero, "
        "such as E in case 1, and the drug/cytokine states, linearly), for the first patients of the same seeded "
        "draw (accuracy set). Per patient: max of |y − ref| / ref over the cell populations and the output times "
        "(from the case's first accuracy day) where the reference exceeds 1 cell. "
        "Table: median and 95th percentile over the patients that did not fail; a failed patient is "
        "counted as a failure, not in these statistics (this favours a tool that fails on the hardest patients).",
        "- Only tolerances are changed from each tool's defaults (absolute tolerance "
        f"{_tol(ATOL)} everywhere; libRoadRunner's step limit is its default).",
        "- Verdict: the issue's bar is ≥10× libRoadRunner's throughput at equal or better accuracy with 0 failed "
        "patients. oncoimmune runs with each of its three methods over a grid of tolerances ("
        + "; ".join(f"{METHOD_LABEL[m]}: rtol {', '.join(_tol(x) for x in r)}" for m, r in ONCO_METHODS.items())
        + f") and libRoadRunner at rtol {', '.join(_tol(x) for x in RR_RTOLS)}, so that the tables show throughput "
        "against accuracy; for each libRoadRunner tolerance, the fastest oncoimmune setting (method and tolerance, "
        "both user options of `simulate`) with 0 failures whose median and p95 errors are both no larger is its "
        "match. The verdict's ratio is re-measured: the two are timed again in interleaved runs (oncoimmune, "
        "libRoadRunner, oncoimmune, …; one pair per repetition, same N as in the tables) and the median of the "
        "per-pair throughput ratios is reported, because on a shared machine the speed of both tools drifts by "
        "30–50 % over the minutes between the tables' runs.",
        "",
    ]
    for cr in results:
        c = cr.case
        out += [
            f"## {c.title}",
            "",
            c.description,
            "",
            f"Patients: `{c.param}` ~ U({c.low:g}, {c.high:g}), "
            f"`numpy.random.default_rng({c.seed})`; accuracy set: the first {c.n_accuracy} patients, from day "
            f"{c.accuracy_t_min:g}.",
            "",
        ]
        out += [
            "| tool | settings | patients/s median [min–max] | N per run | failures | error median | error p95 |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in cr.rows:
            fails = f"{r.failures}/{r.n_failure_check}"
            if r.acc_failed and r.n_failure_check != c.n_accuracy:
                fails += f" ({r.acc_failed}/{c.n_accuracy} in accuracy set)"
            out.append(
                f"| {r.tool} | {r.settings} | {_fmt_tp(r)} | {r.n_per_run:,} | {fails} | "
                f"{_fmt_err(r.acc_median)} | {_fmt_err(r.acc_p95)} |"
            )
        onco6 = next(r for r in cr.rows if r.tool == "oncoimmune" and r.rtol == 1e-6 and r.method == "radau5")
        out += ["", "Ratios of median throughput at equal settings (rtol 1e-6):", ""]
        for r in cr.rows:
            if r.tool != "oncoimmune" and r.rtol == 1e-6:
                out.append(f"- oncoimmune / {r.tool} ({r.settings.split(',')[0]}): **{onco6.median / r.median:,.1f}×**")
        met, lines = verdict(cr.rows)
        out += [
            "",
            "Matched accuracy (verdict):",
            "",
            *[f"- {x}" for x in lines],
            "",
            f"**Verdict for this case: the bar is {'met' if met else 'not met'}.**",
            "",
        ]
        out += [
            "Notes:",
            "",
            f"- oncoimmune compile time (first call on 2 patients in a fresh process with an empty kernel cache): "
            f"{compile_s.get(c.key, math.nan):.1f} s; first call in this process, loading that cache: "
            f"{cr.first_call_s:.1f} s. Both are excluded from the throughput.",
            f"- {cr.sbml_check}.",
            f"- 1-minute load average before / after the case: {cr.load_before:.2f} / {cr.load_after:.2f} "
            "(the benchmark itself adds up to 2; a value well above 0.3 before the case means other processes "
            "were competing for the cores).",
            f"- Reference check: {cr.reference_check}.",
            "",
        ]
    for key in skipped:
        out += [f"## {key}", "", "Not run: the model is not in the registry of this checkout.", ""]
    if oral is not None:
        out += render_oral(oral)
    if memory:
        out += [
            "## Memory",
            "",
            "Peak resident memory of one oncoimmune call on case 1 (501 output times, 3 states), each in a fresh "
            "process started after imports and a 2-patient warm-up. Resident before = `VmRSS` after the warm-up; "
            "peak = `VmHWM` during the call (reset with `/proc/self/clear_refs` after the warm-up). "
            "`resource.getrusage(RUSAGE_SELF).ru_maxrss` is not used for the peak: in a child started by "
            "fork/vfork + exec, Linux reports the larger of the child's peak and the parent's peak at exec, i.e. this "
            "driver's memory; it is listed for completeness.",
            "",
            "| run | patients | resident before MiB | peak during call MiB | increase MiB | ru_maxrss MiB | seconds |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in memory:
            what = 'reductions only (`Final("T")`, `Min("T")`)' if m["mode"] == "reduce" else "full trajectories kept"
            out.append(
                f"| {what} | {m['n']:,} | {m['baseline_mib']:,.0f} | {m['peak_mib']:,.0f} | "
                f"{m['peak_mib'] - m['baseline_mib']:,.0f} | {m['ru_maxrss_mib']:,.0f} | {m['seconds']:.1f} |"
            )
        traj = next((m for m in memory if m["mode"] == "trajectories"), None)
        if traj:
            per = traj["n"] * 501 * 3 * 8 / 2**20
            out += [
                "",
                f"Trajectories for {traj['n']:,} patients hold {per:,.0f} MiB of float64 states and grow linearly "
                "with the number of patients; with reductions only one chunk of 4,096 trajectories "
                f"({4096 * 501 * 3 * 8 / 2**20:,.0f} MiB) is alive at a time, whatever the number of patients.",
                "",
            ]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------------
# Entry point.
# ----------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, help="write the Markdown report here")
    parser.add_argument("--quick", action="store_true", help="short smoke run (fewer patients and repeats)")
    parser.add_argument("--cases", default="all", help="comma-separated case keys, or 'all'")
    parser.add_argument("--reps", type=int, default=5, help="timed runs per setting")
    parser.add_argument("--no-cache", action="store_true", help="recompute the reference even if cached")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        result = _child_memory(rest[0], int(rest[1])) if kind == "memory" else _child_compile(rest[0])
        print(json.dumps(result))
        return 0

    command = ".venv/bin/python benchmarks/run.py" + (f" --write {args.write}" if args.write else "")
    if args.quick:
        command += " --quick"
    reps = 2 if args.quick else args.reps
    info = machine_info()
    log("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    available = cases()
    wanted = [*available, ORAL_CASE] if args.cases == "all" else args.cases.split(",")
    skipped = [k for k in ("kirschner_panetta_1998", "de_pillis_2006") if k not in available]
    for k in skipped:
        log(f"skipping {k}: not in the model registry")

    results: list[CaseResult] = []
    oral: OralResult | None = None
    memory: list[dict[str, Any]] = []
    compile_s: dict[str, float] = {}

    def write() -> None:
        if args.write:
            text = render(info, results, memory, compile_s, skipped, command, time.perf_counter() - _T0, oral)
            tmp = args.write.with_name(f".{args.write.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(args.write)

    ref_cache = None if args.no_cache else _cache_dir()
    kernels = tempfile.TemporaryDirectory(prefix="oncoimmune-bench-kernels-")
    if not args.quick:
        # Kernels are compiled cold (empty cache) in a child process, into a cache that this
        # process and the memory children then load instead of compiling a second time.
        os.environ["ONCOIMMUNE_CACHE_DIR"] = kernels.name
    for key in wanted:
        if key == ORAL_CASE:
            cold = math.nan
            if not args.quick:
                log(f"cold compilation of {ORAL_MODEL} in a fresh process with an empty kernel cache")
                cold = _run_child(["compile", key])["seconds"]
                log(f"  {cold:.1f} s")
            oral = run_oral(reps, args.quick)
            oral.cold_compile_s = cold
            write()
            continue
        if key not in available:
            continue
        if not args.quick:
            log(f"cold compilation of {key} in a fresh process with an empty kernel cache")
            compile_s[key] = _run_child(["compile", key])["seconds"]
            log(f"  {compile_s[key]:.1f} s")
        results.append(run_case(available[key], reps, args.quick, ref_cache))
        write()

    if "kirschner_panetta_1998" in wanted:
        for mode, n in (("trajectories", 10_000), ("reduce", 10_000 if args.quick else 100_000)):
            log(f"memory: {mode}, {n:,} patients (fresh process)")
            memory.append(_run_child(["memory", mode, str(n)]))
            m = memory[-1]
            log(f"  peak {m['peak_mib']:.0f} MiB (baseline {m['baseline_mib']:.0f} MiB), {m['seconds']:.1f} s")
        write()

    for cr in results:
        met, lines = verdict(cr.rows)
        log(f"{cr.case.key}: bar {'MET' if met else 'NOT MET'}")
        for x in lines:
            log("  " + x.replace("**", ""))
    kernels.cleanup()
    log("done" + (f"; wrote {args.write}" if args.write else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
