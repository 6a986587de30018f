"""The one entry point: :func:`simulate`."""

from __future__ import annotations

import contextlib
import math
import platform
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from oncoimmune.errors import SolverError, UnknownNameError, ValidationError
from oncoimmune.models._base import Model, get_model
from oncoimmune.solve._result import Reduction, SimulationResult
from oncoimmune.solve._status import Status
from oncoimmune.treatments._doses import EventTable, Regimen

__all__ = ["NUMERICAL_EXTINCTION", "simulate"]

NUMERICAL_EXTINCTION = 1e-300
"""Default extinction threshold: below 1e-300 a population is numerically zero (models.md)."""


_METHOD_NAMES = {"radau5": "Radau IIA order 5", "radau9": "Radau IIA order 9", "rodas4": "Rodas4 Rosenbrock"}


def simulate(
    model: str | Model,
    patients: Any = None,
    regimen: Regimen | Sequence[Regimen] | None = None,
    times: Sequence[float] | np.ndarray | None = None,
    *,
    variant: str | None = None,
    t_end: float | None = None,
    params: Mapping[str, float] | None = None,
    init: Mapping[str, float] | None = None,
    rtol: float = 1e-6,
    atol: float | Mapping[str, float] = 1e-9,
    max_steps: int = 100_000,
    extinction: Mapping[str, float] | None = None,
    reduce: Mapping[str, Reduction] | None = None,
    chunk_size: int = 4096,
    workers: int | None = None,
    throw: bool = False,
    progress: bool = False,
    method: str = "radau5",
    jacobian: str = "auto",
) -> SimulationResult:
    """Simulate one patient or a batch of virtual patients.

    Parameters
    ----------
    model:
        A registered model name (``"kirschner_panetta_1998"``) or a :class:`~oncoimmune.models.Model`.
    patients:
        ``None`` for one patient with the model's defaults, or a table with one row per patient
        (a pandas DataFrame, or a mapping of column name to values): an optional ``patient_id``
        column, parameter names, and ``init.STATE`` columns for initial values. Values are
        validated against each parameter's bounds; the error names the row and the column.
    regimen:
        Doses (:class:`~oncoimmune.treatments.Regimen`); integration restarts exactly at every
        dose and input change. A sequence of regimens, one per patient, gives each patient its
        own doses (amounts from each patient's weight or body-surface area, for instance).
    times:
        Output times in days (increasing, >= 0). Default: daily from 0 to ``t_end``
        (``model.t_end`` if not given; at most 2001 points).
    variant:
        Named parameter set of the model (e.g. ``"patient9"``).
    params, init:
        Overrides applied to every patient before the table's columns.
    rtol, atol:
        Relative tolerance (also the absolute tolerance on ``ln y`` for states integrated in log
        space) and absolute tolerance for states integrated as they are (scalar or per state).
    max_steps:
        Step budget per patient (accepted + rejected); exhausting it gives ``Status.MAX_STEPS``.
    extinction:
        Thresholds by state name: a population that falls below its threshold is set to exactly
        zero, and any output of a population below its threshold is reported as zero (also while
        a source re-seeds it from zero). Defaults: the model's published rule if any, else 1e-300
        (numerical zero).
    reduce:
        Per-patient reductions by name (:class:`~oncoimmune.solve.Final`, ``Min``, ``Max``,
        ``TimeBelow``). When given, trajectories are not kept (``result.y is None``), so memory
        stays bounded by ``chunk_size`` whatever the number of patients.
    chunk_size:
        Patients integrated per kernel call.
    workers:
        Threads used by the kernel (default: all cores). Results do not depend on it.
    throw:
        Raise :class:`~oncoimmune.errors.SolverError` if any patient fails. By default a failing
        patient gets a :class:`~oncoimmune.Status` and the batch carries on.
    progress:
        Show a progress bar on stderr.
    method:
        ``"radau5"`` (default; Radau IIA of order 5), ``"radau9"`` (five-stage Radau IIA of order
        9: far fewer steps on long smooth runs at tight tolerances, e.g. Kirschner-Panetta over 500
        days at rtol 1e-5, where it is about twice as fast as ``"radau5"`` at equal accuracy; outputs
        between step ends come from its collocation polynomial) or ``"rodas4"`` (Rosenbrock of order
        4, the fastest at loose tolerances with many dose events). See docs/decisions.md.
    jacobian:
        ``"auto"`` (default): the analytic Jacobian generated from the model where possible;
        ``"fd"``: forward differences (for cross-checks).

    Returns
    -------
    SimulationResult
    """
    from oncoimmune.solve._compile import kernel_for

    model = get_model(model)
    rtol = _positive("rtol", rtol, upper=1.0)
    atol_vec = _atol(model, atol)
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ValidationError("max_steps", "be an integer >= 1", max_steps, "simulate")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValidationError("chunk_size", "be an integer >= 1", chunk_size, "simulate")
    t_out = _output_times(model, times, t_end)
    base_p = model.parameter_values(variant, **dict(params or {}))
    base_y = model.initial_values(variant, **dict(init or {}))
    ids, P, Y0 = _patients(model, patients, base_p, base_y)
    n_pat = P.shape[0]
    regimen = regimen if regimen is not None else Regimen()
    if isinstance(regimen, Regimen):
        per_patient = None
        events = regimen.events(model)
    elif isinstance(regimen, Sequence) and not isinstance(regimen, (str, bytes)):
        per_patient = list(regimen)
        if len(per_patient) != n_pat:
            raise ValidationError(
                "regimen", f"have one Regimen per patient ({n_pat})", f"{len(per_patient)} regimens", "simulate"
            )
        for i, r in enumerate(per_patient):
            if not isinstance(r, Regimen):
                raise ValidationError("regimen", "contain Regimen values", r, f"simulate (patient {ids[i]!r})")
        tables = {}
        events_of = [tables.setdefault(r, r.events(model)) for r in per_patient]
    else:
        raise ValidationError(
            "regimen", "be a Regimen or a sequence of Regimens (one per patient)", regimen, "simulate"
        )
    ext = _extinction(model, extinction)
    eligible = np.array([s.log for s in model.states], dtype=np.bool_)
    log_ext = np.log(ext)
    reduce = dict(reduce or {})
    for name, red in reduce.items():
        if not isinstance(red, Reduction):
            raise ValidationError(f"reduce[{name!r}]", "be a Reduction (Final, Min, Max, TimeBelow)", red, "simulate")
        model.state_index(red.state)

    if jacobian not in ("auto", "fd"):
        raise ValidationError("jacobian", "be 'auto' or 'fd'", jacobian, "simulate")
    if method not in _METHOD_NAMES:
        raise ValidationError("method", "be 'radau5', 'radau9' or 'rodas4'", method, "simulate")
    kernel = kernel_for(model, jacobian, method)
    n, n_t = model.n_states, t_out.shape[0]
    status = np.zeros(n_pat, dtype=np.int8)
    stats = np.zeros((n_pat, 3), dtype=np.int64)
    y_all = None if reduce else np.empty((n_pat, n_t, n), dtype=np.float64)
    red_out = {k: np.empty(n_pat) for k in reduce}
    with _threads(workers), _progress(progress, n_pat, model.name) as advance:
        for lo in range(0, n_pat, chunk_size):
            hi = min(n_pat, lo + chunk_size)
            m = hi - lo
            if per_patient is None:
                ev_t, ev_op, ev_idx, ev_val, n_ev = _event_arrays(events, m)
            else:
                ev_t, ev_op, ev_idx, ev_val, n_ev = _event_arrays_per_patient(events_of[lo:hi])
            out = y_all[lo:hi] if y_all is not None else np.empty((m, n_t, n))
            st = np.zeros(m, dtype=np.int32)
            kernel.solve_batch(
                np.ascontiguousarray(Y0[lo:hi]),
                np.ascontiguousarray(P[lo:hi]),
                ev_t,
                ev_op,
                ev_idx,
                ev_val,
                n_ev,
                t_out,
                0.0,
                eligible,
                log_ext,
                ext,
                rtol,
                atol_vec,
                int(max_steps),
                out,
                st,
                stats[lo:hi],
            )
            status[lo:hi] = st
            for k, red in reduce.items():
                red_out[k][lo:hi] = red.compute(t_out, out[:, :, model.state_index(red.state)])
            advance(m)

    result = SimulationResult(
        model=model.name,
        t=t_out,
        y=y_all,
        state_names=model.state_names,
        state_units=tuple(s.unit for s in model.states),
        patient_ids=ids,
        status=status,
        n_steps=stats[:, 0].copy(),
        n_rejected=stats[:, 1].copy(),
        n_rhs=stats[:, 2].copy(),
        reductions=red_out,
        provenance=_provenance(
            model,
            variant,
            base_p,
            base_y,
            patients,
            regimen if per_patient is None else per_patient,
            rtol,
            atol_vec,
            max_steps,
            ext,
            method,
            jacobian,
        ),
    )
    if throw and not result.ok.all():
        bad = np.flatnonzero(~result.ok)
        first = Status(int(status[bad[0]]))
        raise SolverError(
            f"{bad.size} of {n_pat} patients did not finish; first: patient {ids[bad[0]]!r}: {first.message}",
            tuple(ids[bad].tolist()),
        )
    return result


# -- validation helpers ---------------------------------------------------------------------


def _positive(name: str, value: Any, upper: float = math.inf) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValidationError(name, "be a number", value, "simulate") from None
    if not (0.0 < v < upper):
        rule = "be > 0" if upper == math.inf else f"be > 0 and < {upper:g}"
        raise ValidationError(name, rule, value, "simulate")
    return v


def _atol(model: Model, atol: float | Mapping[str, float]) -> np.ndarray:
    if isinstance(atol, Mapping):
        vec = np.full(model.n_states, 1e-9)
        for k, v in atol.items():
            vec[model.state_index(k)] = _positive(f"atol[{k!r}]", v)
        return vec
    return np.full(model.n_states, _positive("atol", atol))


def _output_times(model: Model, times: Any, t_end: float | None) -> np.ndarray:
    if times is None:
        end = model.t_end if t_end is None else t_end
        end = _positive("t_end", end)
        n = int(min(2000, math.ceil(end))) + 1
        return np.linspace(0.0, end, n)
    if t_end is not None:
        raise ValidationError("t_end", "not be given together with times", t_end, "simulate")
    try:
        arr = np.asarray(times, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValidationError("times", "be a list of numbers (days)", times, "simulate") from None
    if arr.size == 0:
        raise ValidationError("times", "contain at least one time", list(arr), "simulate")
    if not np.all(np.isfinite(arr)):
        raise ValidationError("times", "be finite", arr[~np.isfinite(arr)][0], "simulate")
    if arr[0] < 0:
        raise ValidationError("times", "be >= 0 (days)", arr[0], "simulate")
    if arr.size > 1 and np.any(np.diff(arr) <= 0):
        i = int(np.flatnonzero(np.diff(arr) <= 0)[0])
        raise ValidationError("times", "be strictly increasing", [arr[i], arr[i + 1]], "simulate")
    # Integration always starts at day 0, the clock of the initial values and of the doses.
    return np.ascontiguousarray(arr)


def _patients(model: Model, patients: Any, base_p: np.ndarray, base_y: np.ndarray):
    if patients is None:
        return np.array([0]), base_p[None, :].copy(), base_y[None, :].copy()
    columns = _columns(patients)
    n_rows = None
    for col, values in columns.items():
        if n_rows is None:
            n_rows = len(values)
        elif len(values) != n_rows:
            raise ValidationError(col, f"have {n_rows} values like the other columns", len(values), "patients")
    if not n_rows:
        raise ValidationError("patients", "contain at least one row", 0)
    P = np.repeat(base_p[None, :], n_rows, axis=0)
    Y = np.repeat(base_y[None, :], n_rows, axis=0)
    ids = np.arange(n_rows)
    for col, values in columns.items():
        if col == "patient_id":
            ids = np.asarray(values)
            if len(set(ids.tolist())) != len(ids):
                raise ValidationError("patient_id", "be unique", _first_duplicate(ids), "patients")
            continue
        if col.startswith("init."):
            state = col[5:]
            if state not in model.state_names:
                raise UnknownNameError(
                    "column",
                    col,
                    ["patient_id", *model.parameter_names, *[f"init.{s}" for s in model.state_names]],
                    "patients",
                )
            arr = _numeric(col, values)
            bad = ~np.isfinite(arr) | (arr < 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValidationError(col, "be finite and >= 0", values[i], f"patients row {i + 1}")
            Y[:, model.state_index(state)] = arr
        elif col in model.parameter_names:
            arr = _numeric(col, values)
            lo, hi = model.parameter(col).bounds
            bad = np.isnan(arr) | (arr < lo) | (arr > hi)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                unit = model.parameter(col).unit
                rule = "be a number (not NaN)" if np.isnan(arr[i]) else f"lie in [{lo:g}, {hi:g}] ({unit})"
                raise ValidationError(col, rule, values[i], f"patients row {i + 1}")
            P[:, model.parameter_index(col)] = arr
        else:
            raise UnknownNameError(
                "column",
                col,
                ["patient_id", *model.parameter_names, *[f"init.{s}" for s in model.state_names]],
                "patients",
            )
    return ids, P, Y


def _first_duplicate(ids: np.ndarray) -> Any:
    seen = set()
    for v in ids.tolist():
        if v in seen:
            return v
        seen.add(v)
    return None


def _columns(patients: Any) -> dict[str, Any]:
    try:
        import pandas as pd

        if isinstance(patients, pd.DataFrame):
            return {str(c): patients[c].to_numpy() for c in patients.columns}
    except ImportError:  # pragma: no cover
        pass
    if isinstance(patients, Mapping):
        out = {}
        for k, v in patients.items():
            arr = np.atleast_1d(np.asarray(v, dtype=object if k == "patient_id" else None))
            out[str(k)] = arr
        return out
    raise ValidationError("patients", "be a pandas DataFrame or a mapping of column to values", type(patients).__name__)


def _numeric(col: str, values: Any) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(values):
            try:
                float(v)
            except (TypeError, ValueError):
                raise ValidationError(col, "be a number", v, f"patients row {i + 1}") from None
        raise  # pragma: no cover


def _extinction(model: Model, extinction: Mapping[str, float] | None) -> np.ndarray:
    ext = np.full(model.n_states, NUMERICAL_EXTINCTION)
    for k, v in model.extinction.items():
        ext[model.state_index(k)] = v
    for k, v in dict(extinction or {}).items():
        ext[model.state_index(k)] = _positive(f"extinction[{k!r}]", v)
    return ext


def _event_arrays_per_patient(tables: Sequence[EventTable]):
    m = len(tables)
    e = max([1, *(len(t) for t in tables)])
    ev_t = np.zeros((m, e))
    ev_op = np.zeros((m, e), dtype=np.int64)
    ev_idx = np.zeros((m, e), dtype=np.int64)
    ev_val = np.zeros((m, e))
    n_ev = np.zeros(m, dtype=np.int64)
    for i, t in enumerate(tables):
        k = len(t)
        n_ev[i] = k
        if k:
            ev_t[i, :k] = t.t
            ev_op[i, :k] = t.op
            ev_idx[i, :k] = t.idx
            ev_val[i, :k] = t.val
    return ev_t, ev_op, ev_idx, ev_val, n_ev


def _event_arrays(events: EventTable, m: int):
    e = max(1, len(events))
    ev_t = np.zeros((m, e))
    ev_op = np.zeros((m, e), dtype=np.int64)
    ev_idx = np.zeros((m, e), dtype=np.int64)
    ev_val = np.zeros((m, e))
    if len(events):
        ev_t[:] = events.t
        ev_op[:] = events.op
        ev_idx[:] = events.idx
        ev_val[:] = events.val
    n_ev = np.full(m, len(events), dtype=np.int64)
    return ev_t, ev_op, ev_idx, ev_val, n_ev


@contextlib.contextmanager
def _threads(workers: int | None) -> Iterator[None]:
    if workers is None:
        yield
        return
    import numba

    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValidationError("workers", "be an integer >= 1", workers, "simulate")
    before = numba.get_num_threads()
    numba.set_num_threads(min(int(workers), numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(before)


@contextlib.contextmanager
def _progress(show: bool, total: int, label: str):
    if not show:
        yield lambda k: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(f"simulating {label}", total=total)
        yield lambda k: bar.advance(task, k)


def _provenance(
    model, variant, base_p, base_y, patients, regimen, rtol, atol, max_steps, ext, method, jacobian
) -> dict[str, Any]:
    import numba

    from oncoimmune import __version__

    return {
        "oncoimmune": __version__,
        "python": platform.python_version(),
        "numba": numba.__version__,
        "solver": f"{method} ({_METHOD_NAMES[method]}), "
        f"{jacobian} Jacobian, mixed log/linear coordinates, numba kernel",
        "model": model.name,
        "citation": model.citation,
        "variant": variant if variant is not None else (model.default_variant or "default"),
        "parameters": dict(zip(model.parameter_names, base_p.tolist(), strict=True)),
        "init": dict(zip(model.state_names, base_y.tolist(), strict=True)),
        "patients": "table" if patients is not None else "single default patient",
        "regimen": regimen.to_dict()
        if isinstance(regimen, Regimen)
        else [{"patient_index": i, **r.to_dict()} for i, r in enumerate(regimen)],
        "rtol": rtol,
        "atol": dict(zip(model.state_names, atol.tolist(), strict=True)),
        "max_steps": int(max_steps),
        "extinction": dict(zip(model.state_names, ext.tolist(), strict=True)),
    }
