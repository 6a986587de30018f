"""The typer application behind the ``oncoimmune`` command.

A thin adapter: each command parses its options (:mod:`oncoimmune.cli._parse`), calls the
Python API and prints or writes what it returns. User errors (any
:class:`~oncoimmune.OncoimmuneError`, and unreadable or unwritable files) end the command with
one line ``error: <message>`` on stderr and exit status 2, without a traceback.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from oncoimmune._version import __version__
from oncoimmune.errors import OncoimmuneError, UnknownNameError, ValidationError

__all__ = ["EXIT_USER_ERROR", "app", "main"]

EXIT_USER_ERROR = 2
"""Exit status for bad input (the same status the option parser uses for usage errors)."""

PROGRESS_ABOVE = 100
"""A progress bar is shown on stderr when a run has more patients than this."""

app = typer.Typer(
    name="oncoimmune",
    help="oncoimmune: an open in-silico immunotherapy laboratory (research and education only; not medical advice).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

F = TypeVar("F", bound=Callable[..., Any])


# -- error handling -------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise (status 2)."""
    sys.stderr.write(f"error: {_one_line(message)}\n")
    sys.stderr.flush()
    return typer.Exit(EXIT_USER_ERROR)


def _file_error_message(exc: OSError) -> str:
    what = exc.strerror or exc.__class__.__name__
    return f"{what}: {exc.filename}" if exc.filename else _one_line(str(exc)) or what


def user_errors(func: F) -> F:
    """Turn user errors raised by ``func`` into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OncoimmuneError as exc:
            raise fail(str(exc)) from None
        except OSError as exc:  # a file that cannot be read or written
            raise fail(_file_error_message(exc)) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def _cleanup_on_error(paths: list[Path]) -> Iterator[None]:
    """Remove the files listed in ``paths`` if the block fails, so that a failed command leaves nothing."""
    try:
        yield
    except BaseException:
        for p in paths:
            try:
                p.unlink()
            except OSError:
                pass
        raise


# -- version --------------------------------------------------------------------------------


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"oncoimmune {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """oncoimmune: tumour–immune models, treatments and virtual patients.

    Research and education software: its outputs are not medical advice.
    """


# -- models ---------------------------------------------------------------------------------


def _console(stderr: bool = False):
    from rich.console import Console

    # Created per call so that it writes to the current sys.stdout (test runners swap it).
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def _text(value: Any):
    from rich.text import Text

    return Text(str(value))  # never interpreted as rich markup (sources contain [brackets])


def _num(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def _json_number(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


@app.command("models")
@user_errors
def models_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON on stdout).")] = False,
) -> None:
    """List the registered models: name, states and citation."""
    from rich.table import Table

    from oncoimmune.models._base import registry

    reg = registry()
    data = [
        {
            "name": m.name,
            "title": m.title,
            "states": [s.name for s in m.states],
            "citation": m.citation,
        }
        for m in reg.values()
    ]
    if as_json:
        _print_json(data)
        return
    table = Table(title="Registered models", title_justify="left")
    table.add_column("model", no_wrap=True)
    table.add_column("states", no_wrap=True)
    table.add_column("citation", overflow="fold")
    for row in data:
        table.add_row(_text(row["name"]), _text(", ".join(row["states"])), _text(row["citation"]))
    _console().print(table)


# -- show -----------------------------------------------------------------------------------


def describe(model: Any) -> dict[str, Any]:
    """Everything ``show`` prints about a model, as JSON-ready data (infinite bounds are ``null``)."""
    defaults = {p.name: p.value for p in model.parameters}
    return {
        "name": model.name,
        "title": model.title,
        "citation": model.citation,
        "notes": model.notes,
        "t_end": model.t_end,
        "default_variant": model.default_variant,
        "states": [
            {"name": s.name, "unit": s.unit, "description": s.description, "log": bool(s.log)} for s in model.states
        ],
        "parameters": [
            {
                "name": p.name,
                "value": p.value,
                "unit": p.unit,
                "bounds": [_json_number(p.bounds[0]), _json_number(p.bounds[1])],
                "source": p.source,
                "description": p.description,
                "input": bool(p.input),
            }
            for p in model.parameters
        ],
        "variants": [
            {
                "name": name,
                "description": v.description,
                "source": v.source,
                "parameters": {k: {"default": defaults[k], "value": float(x)} for k, x in v.parameters.items()},
                "init": {k: {"default": model.init[k], "value": float(x)} for k, x in v.init.items()},
            }
            for name, v in model.variants.items()
        ],
        "init": {"values": {k: float(model.init[k]) for k in model.state_names}, "source": model.init_source},
        "extinction": {k: float(v) for k, v in model.extinction.items()},
    }


@app.command("show")
@user_errors
def show_command(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Registered model name (see `oncoimmune models`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON on stdout).")] = False,
) -> None:
    """Show a model: parameters (value, unit, bounds, source), variants, states, initial values."""
    from rich.table import Table

    from oncoimmune.models._base import get_model

    m = get_model(model)
    data = describe(m)
    if as_json:
        _print_json(data)
        return
    con = _console()
    con.print(_text(f"{m.title} ({m.name})"), style="bold")
    con.print(_text(m.citation))
    if m.notes:
        con.print(_text(f"Notes: {m.notes}"))

    states = Table(title="States", title_justify="left")
    for col in ("name", "unit", "meaning", "integrated in log space"):
        states.add_column(col)
    for s in data["states"]:
        states.add_row(*(_text(x) for x in (s["name"], s["unit"], s["description"], "yes" if s["log"] else "no")))
    con.print(states)

    params = Table(title="Parameters", title_justify="left")
    for col in ("name", "value", "unit", "bounds", "source"):
        params.add_column(col, overflow="fold", no_wrap=col in ("name", "value"))
    for p in m.parameters:
        lo, hi = p.bounds
        name = f"{p.name} (input)" if p.input else p.name
        params.add_row(*(_text(x) for x in (name, _num(p.value), p.unit, f"[{_num(lo)}, {_num(hi)}]", p.source)))
    con.print(params)

    init = Table(title="Default initial values", title_justify="left")
    init.add_column("state")
    init.add_column("value")
    init.add_column("unit")
    for s in m.states:
        init.add_row(_text(s.name), _text(_num(m.init[s.name])), _text(s.unit))
    con.print(init)
    con.print(_text(f"Source of the initial values: {m.init_source}"))

    if data["variants"]:
        variants = Table(title="Variants", title_justify="left")
        for col in ("variant", "changes", "description and source"):
            variants.add_column(col, overflow="fold")
        for v in data["variants"]:
            changes = [f"{k}: {_num(x['default'])} -> {_num(x['value'])}" for k, x in v["parameters"].items()]
            changes += [f"init {k}: {_num(x['default'])} -> {_num(x['value'])}" for k, x in v["init"].items()]
            about = v["description"] + (f" ({v['source']})" if v["source"] else "")
            variants.add_row(_text(v["name"]), _text("\n".join(changes) or "(none)"), _text(about))
        con.print(variants)
        if m.default_variant:
            con.print(_text(f"Default variant: {m.default_variant}"))
    else:
        con.print(_text("Variants: none"))
    con.print(_text(f"Default horizon: {_num(m.t_end)} days"))


# -- simulate -------------------------------------------------------------------------------

_API_OPTION = {"times": "--times", "t_end": "--t-end", "rtol": "--rtol", "atol": "--atol"}


def _as_cli_error(exc: ValidationError, patients: Path | None) -> ValidationError:
    """Rename API arguments and the patients table in a ValidationError after the CLI's own names."""
    field, where = exc.field, exc.where
    if where == "simulate" and field in _API_OPTION:
        field, where = _API_OPTION[field], None
    elif patients is not None and where is not None and (where == "patients" or where.startswith("patients ")):
        where = patients.name + where[len("patients") :]
    elif patients is not None and field == "patients" and where is None:
        field = "--patients"
    value = exc.value.item() if type(exc.value).__module__ == "numpy" and hasattr(exc.value, "item") else exc.value
    if (field, where, value) == (exc.field, exc.where, exc.value):
        return exc
    return ValidationError(field, exc.rule, value, where)


def write_csv_stdout(frame: Any) -> None:
    """Write a tidy table as CSV on stdout (full precision, like ``SimulationResult.save``)."""
    try:
        frame.to_csv(sys.stdout, index=False, float_format="%.17g")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `oncoimmune simulate ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None


def _status_note(result: Any) -> str | None:
    counts = result.status_counts()
    failed = result.n_patients - counts.get("ok", 0)
    if failed == 0:
        return None
    detail = ", ".join(f"{k}: {v}" for k, v in counts.items())
    return (
        f"warning: {failed} of {result.n_patients} patients did not integrate to the end ({detail}); "
        "their rows after the failure are NaN, see the status column"
    )


@app.command("simulate")
@user_errors
def simulate_command(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Registered model name (see `oncoimmune models`).")],
    variant: Annotated[
        str | None,
        typer.Option("--variant", metavar="V", help="Named parameter set of the model (see `oncoimmune show`)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="NAME=VALUE",
            help="Parameter override (repeatable), e.g. --set c=0.02; with a drug regimen also a drug's parameter, "
            "DRUG:NAME=VALUE (--set carboplatin:EmaxT=2).",
        ),
    ] = None,
    init: Annotated[
        list[str] | None,
        typer.Option("--init", metavar="STATE=VALUE", help="Initial value override (repeatable), e.g. --init T=1e5."),
    ] = None,
    bolus: Annotated[
        list[str] | None,
        typer.Option(
            "--bolus",
            metavar="STATE=AMOUNT@DAY[,DAY...]",
            help="Amount added to a state on given days (repeatable), e.g. --bolus E=1e4@7,14,21.",
        ),
    ] = None,
    regimen: Annotated[
        str | None,
        typer.Option(
            "--regimen",
            metavar="FILE.yaml|TEXT",
            help="Regimen file (see examples/regimens/) or a regimen as clinics write it, "
            'e.g. "pembrolizumab 200 mg q3w".',
        ),
    ] = None,
    patient: Annotated[
        str | None,
        typer.Option(
            "--patient",
            metavar="KEY=VALUE,...",
            help="One patient's covariates, e.g. weight=70,height=175,pdl1=0.6,tmb=12,sld=74 "
            "(keys: weight height age sex creatinine egfr albumin ecog ldh ast sld lesions pdl1 tmb msi growth "
            "car_antigen target_antigen).",
        ),
    ] = None,
    t_end: Annotated[
        str | None, typer.Option("--t-end", metavar="DAYS", help="Horizon in days, daily output (default: model's).")
    ] = None,
    times: Annotated[
        str | None, typer.Option("--times", metavar="T1,T2,...", help="Output times in days (instead of --t-end).")
    ] = None,
    patients: Annotated[
        Path | None,
        typer.Option(
            "--patients",
            metavar="FILE.csv|FILE.parquet",
            help="One row per patient: optional patient_id, parameter columns, init.STATE columns.",
        ),
    ] = None,
    rtol: Annotated[str, typer.Option("--rtol", metavar="R", help="Relative tolerance.")] = "1e-6",
    method: Annotated[
        str,
        typer.Option(
            "--method",
            metavar="M",
            help="Integrator: radau5 (default, Radau IIA order 5), radau9 (Radau IIA order 9: long smooth runs "
            "at tight tolerances) or rodas4 (Rosenbrock order 4: loose tolerances, many doses).",
        ),
    ] = "radau5",
    atol: Annotated[
        str,
        typer.Option(
            "--atol",
            metavar="A",
            help="Absolute tolerance (linear states; with a drug regimen the default is 1e-8 of the largest dose "
            "given into each drug state).",
        ),
    ] = "1e-9",
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE.csv|FILE.parquet", help="Write the table here (default: CSV on stdout)."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", metavar="FILE.png", help="Draw the trajectories (one panel per state).")
    ] = None,
) -> None:
    """Simulate a model: one patient with the defaults, or one per row of a patients table.

    The output is a tidy table with columns patient_id, time, one column per state, and status.
    """
    from oncoimmune.cli import _parse
    from oncoimmune.models._base import get_model
    from oncoimmune.plot import PLOT_SUFFIXES, plot_result
    from oncoimmune.solve._compile import METHODS
    from oncoimmune.solve._simulate import simulate
    from oncoimmune.treatments._doses import Regimen
    from oncoimmune.treatments._prescription import DrugDose

    # Everything is validated before any work, so that bad input leaves no file behind.
    m = get_model(model)
    if times is not None and t_end is not None:
        raise ValidationError("--times", "not be combined with --t-end (give one of them)", times)
    if variant is not None and variant != "default" and variant not in m.variants:
        raise UnknownNameError("--variant", variant, ["default", *m.variants], f"model {m.name}")
    params = _parse.parse_assignments("--set", set_ or [], m)
    init_values = _parse.parse_assignments("--init", init or [], m)
    doses = _parse.parse_boluses(bolus or [], m)
    t_out = _parse.parse_times(times) if times is not None else None
    horizon = _parse.parse_number("--t-end", t_end, positive=True) if t_end is not None else None
    rel = _parse.parse_number("--rtol", rtol, positive=True)
    abs_ = _parse.parse_number("--atol", atol, positive=True)
    if method not in METHODS:
        raise UnknownNameError("--method", method, list(METHODS), "simulate")
    if out is not None:
        _parse.check_out_path("--out", out, _parse.OUT_SUFFIXES)
    if plot is not None:
        _parse.check_out_path("--plot", plot, PLOT_SUFFIXES)
    plan = _regimen_option(regimen) if regimen is not None else Regimen()
    if doses:
        plan = Regimen(plan.doses + tuple(doses), name=plan.name, description=plan.description)
    given = {d.drug for d in plan.doses if isinstance(d, DrugDose)}
    for name in params:
        if ":" in name and name.partition(":")[0] not in given:
            raise ValidationError("--set", "name a drug of the regimen (DRUG:NAME sets that drug's parameter)", name)
    if patient is not None or _has_drug_doses(plan):
        if patients is not None:
            raise ValidationError("--patients", "not be combined with --patient or a drug regimen", str(patients))
        if variant is not None or init_values:
            raise ValidationError("--variant/--init", "not be combined with --patient or a drug regimen", variant)
        # A drug regimen scales the absolute tolerance of each drug state to its doses unless --atol is given.
        explicit_atol = abs_ if atol != _ATOL_DEFAULT else None
        _simulate_treatment_cli(m, plan, patient, t_out, horizon, params, rel, explicit_atol, out, plot, method)
        return
    plan.events(m)  # unknown dose targets are reported before any work
    table = _parse.read_patients(patients) if patients is not None else None
    n_patients = 1 if table is None else len(table)

    try:
        result = simulate(
            m,
            patients=table,
            regimen=plan,
            times=t_out,
            variant=variant,
            t_end=horizon,
            params=params,
            init=init_values,
            rtol=rel,
            atol=abs_,
            method=method,
            progress=n_patients > PROGRESS_ABOVE,
        )
    except ValidationError as exc:
        raise _as_cli_error(exc, patients) from None

    written = _write_result(result, out, plot, lambda path: plot_result(result, path, m))
    note = _status_note(result)
    if note:
        sys.stderr.write(note + "\n")
    if written:
        counts = ", ".join(f"{k}: {v}" for k, v in result.status_counts().items())
        files = ", ".join(str(p) for p in written if not p.name.endswith(".provenance.json"))
        sys.stderr.write(f"{m.name}: {result.n_patients} patient(s) x {result.t.size} times ({counts}) -> {files}\n")


def _write_result(result: Any, out: Path | None, plot: Path | None, draw: Callable[[Path], Any]) -> list[Path]:
    """Write the table (``--out``, with its provenance beside a CSV) and the figure; CSV on stdout without --out.

    A failure removes what was already written, so a failed command leaves no file behind.
    """
    written: list[Path] = []
    with _cleanup_on_error(written):
        if out is not None:
            result.save(out)
            written.append(out)
            if out.suffix.lower() == ".csv":
                written.append(out.with_name(out.name + ".provenance.json"))
        if plot is not None:
            draw(plot)
            written.append(plot)
    if out is None:
        write_csv_stdout(result.to_frame())
    return written


def _regimen_option(value: str) -> Any:
    """``--regimen``: a YAML file if the value ends in .yaml/.yml, else a regimen string."""
    from oncoimmune.cli import _parse
    from oncoimmune.treatments._doses import Regimen

    if value.strip().lower().endswith((".yaml", ".yml")):
        return _parse.read_regimen(Path(value))
    try:
        return Regimen.parse(value)
    except ValidationError as exc:
        raise ValidationError("--regimen", exc.rule, exc.value) from None


def _has_drug_doses(regimen: Any) -> bool:
    from oncoimmune.treatments._prescription import DrugDose

    return any(isinstance(d, DrugDose) for d in regimen.doses)


def _treat(model: Any, regimens: dict[str, Any], patient: str | None, t_out: Any, horizon: Any, **kw: Any) -> Any:
    """Run each regimen on the ``--patient`` with simulate_treatment; report assumed covariates."""
    from oncoimmune.cli import _parse
    from oncoimmune.treatments._plan import simulate_treatment

    if not model.dose_slots:
        raise ValidationError("MODEL", "have dose slots to take a drug regimen or --patient (e.g. io_qsp)", model.name)
    cov, assumed = _parse.parse_patient(patient) if patient is not None else (None, ())
    results = {label: simulate_treatment(model, r, cov, t_out, t_end=horizon, **kw) for label, r in regimens.items()}
    first = next(iter(results.values()))
    more = [a for a in first.plans[0].assumed]
    if assumed or more:
        sys.stderr.write(f"assumed (not given): {', '.join([*assumed, *more])}\n")
    return results


_ATOL_DEFAULT = "1e-9"


def _simulate_treatment_cli(
    m: Any,
    plan: Any,
    patient: str | None,
    t_out: Any,
    horizon: Any,
    params: Any,
    rel: float,
    abs_: float | None,
    out: Path | None,
    plot: Path | None,
    method: str = "radau5",
) -> None:
    from oncoimmune.plot import plot_treatments

    label = plan.name or str(plan) or "untreated"
    kw = {"atol": abs_} if abs_ is not None else {}
    tr = _treat(m, {label: plan}, patient, t_out, horizon, params=params, rtol=rel, method=method, **kw)[label]
    result = tr.result
    written = _write_result(result, out, plot, lambda path: plot_treatments({label: tr}, path))
    note = _status_note(result)
    if note:
        sys.stderr.write(note + "\n")
    if written:
        files = ", ".join(str(p) for p in written if not p.name.endswith(".provenance.json"))
        sys.stderr.write(f"{m.name}: {label} -> {files}\n")


@app.command("compare")
@user_errors
def compare_command(
    patient: Annotated[
        str | None,
        typer.Option(
            "--patient", metavar="KEY=VALUE,...", help="The virtual patient (keys as in `simulate --patient`)."
        ),
    ] = None,
    regimens: Annotated[
        list[str] | None,
        typer.Option(
            "--regimens",
            metavar="TEXT",
            help='Regimens to compare, e.g. --regimens "pembrolizumab 200 mg q3w" "docetaxel 75 mg/m2 q3w x6" '
            '"none" (the words after --regimens, up to the next option; "none" is the untreated arm).',
        ),
    ] = None,
    more: Annotated[list[str] | None, typer.Argument(hidden=True)] = None,
    model: Annotated[str, typer.Option("--model", metavar="MODEL", help="Model with dose slots.")] = "io_qsp",
    t_end: Annotated[str, typer.Option("--t-end", metavar="DAYS", help="Horizon in days.")] = "365",
    plot: Annotated[
        Path | None, typer.Option("--plot", metavar="FILE.png", help="Tumour burden and immune cells per regimen.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE.csv", help="Per-regimen summary table (default: printed as text)."),
    ] = None,
) -> None:
    """Compare regimens side by side on the same virtual patient (tumour burden and immune populations).

    Prints, per regimen, the sum of target-lesion diameters at baseline, its nadir and its value at
    the horizon, the best change from baseline, and the peak immune-activation index. Research and
    education only: not a treatment recommendation.
    """
    from rich.table import Table

    from oncoimmune.cli import _parse
    from oncoimmune.models._base import get_model
    from oncoimmune.plot import DISCLAIMER, PLOT_SUFFIXES, plot_treatments
    from oncoimmune.treatments._doses import Regimen

    m = get_model(model)
    texts = [*(regimens or []), *(more or [])]
    if not texts:
        raise ValidationError("--regimens", "name at least one regimen", None)
    horizon = _parse.parse_number("--t-end", t_end, positive=True)
    if plot is not None:
        _parse.check_out_path("--plot", plot, PLOT_SUFFIXES)
    if out is not None:
        _parse.check_out_path("--out", out, (".csv",))
    arms: dict[str, Any] = {}
    for text in texts:
        if text in arms:
            raise ValidationError("--regimens", "name each regimen once", text)
        arms[text] = Regimen() if text.strip().lower() in ("none", "untreated") else _regimen_option(text)
    import numpy as np

    t_out = np.arange(0.0, horizon + 1e-9, 1.0)
    results = _treat(m, arms, patient, t_out, None)
    rows = []
    for label, tr in results.items():
        o = tr.outputs()
        sld = o["sld_mm"][0]
        act = o["immune_activation"][0]
        ok = np.isfinite(sld)
        rows.append(
            {
                "regimen": label,
                "status": tr.result.status_counts(),
                "sld_baseline_mm": float(sld[0]),
                "sld_nadir_mm": float(np.nanmin(sld)),
                "day_of_nadir": float(tr.t[ok][np.nanargmin(sld[ok])]),
                f"sld_day{horizon:g}_mm": float(sld[ok][-1]),
                "best_change_pct": float(100.0 * (np.nanmin(sld) / sld[0] - 1.0)),
                "peak_immune_activation": float(np.nanmax(act)),
            }
        )
    import pandas as pd

    frame = pd.DataFrame(rows)
    written: list[Path] = []
    with _cleanup_on_error(written):
        if out is not None:
            tmp = out.with_name(f".{out.name}.tmp")
            frame.assign(status=frame["status"].astype(str)).to_csv(tmp, index=False)
            tmp.replace(out)
            written.append(out)
        if plot is not None:
            plot_treatments(results, plot)
            written.append(plot)
    console = _console()
    table = Table(title=f"{m.name}: {len(arms)} regimen(s) on one virtual patient, {horizon:g} days")
    for col in (
        "regimen",
        "SLD baseline (mm)",
        "nadir (mm)",
        f"day {horizon:g} (mm)",
        "best change",
        "peak activation",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["regimen"],
            f"{r['sld_baseline_mm']:.1f}",
            f"{r['sld_nadir_mm']:.1f} (day {r['day_of_nadir']:g})",
            f"{r[f'sld_day{horizon:g}_mm']:.1f}",
            f"{r['best_change_pct']:+.0f} %",
            f"{r['peak_immune_activation']:.2f}",
        )
    console.print(table)
    console.print(f"[dim]{DISCLAIMER}[/dim]")
    if written:
        sys.stderr.write(f"compare: -> {', '.join(str(p) for p in written)}\n")


# -- drugs ----------------------------------------------------------------------------------


def describe_drug(drug: Any) -> dict[str, Any]:
    """Everything ``drug NAME`` prints about a drug, as JSON-ready data."""
    from oncoimmune.models._base import get_model

    data = drug.model_dump(mode="json", by_alias=True)
    if drug.pk is not None:
        model = get_model(drug.pk.model)
        typical = drug.pk_patient()
        variant = model.variants[drug.pk.variant]
        data["pk"]["parameters"] = [
            {
                "name": p.name,
                "value": typical.values[p.name],
                "unit": p.unit,
                "source": variant.source
                if p.name in variant.parameters
                else "not part of this drug's PK model (model default; inactive or unused here)",
                "description": p.description,
            }
            for p in model.parameters
        ]
    ck = getattr(drug, "cellular_kinetics", None)
    if ck is not None:
        model = get_model(ck.model)
        variant = model.variants[ck.variant]
        values = model.parameter_values(ck.variant)
        data["cellular_kinetics"]["parameters"] = [
            {
                "name": p.name,
                "value": float(v),
                "unit": p.unit,
                "source": variant.source if p.name in variant.parameters else p.source,
                "description": p.description,
            }
            for p, v in zip(model.parameters, values, strict=True)
        ]
        init = model.initial_values(ck.variant)
        data["cellular_kinetics"]["initial_state"] = {
            s.name: {"value": float(v), "unit": s.unit} for s, v in zip(model.states, init, strict=True)
        }
    return data


def _regimen_texts(drug: Any) -> str:
    return "; ".join(r.text for r in drug.regimens)


@app.command("drugs")
@user_errors
def drugs_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON on stdout).")] = False,
) -> None:
    """List the drug library: name, class, target and standard regimens."""
    from rich.table import Table

    from oncoimmune.treatments._drugs import drug_library

    lib = drug_library()
    data = [
        {
            "name": d.name,
            "brand_names": list(d.brand_names),
            "class": d.drug_class,
            "target": d.target,
            "regimens": [r.text for r in d.regimens],
        }
        for d in lib.values()
    ]
    if as_json:
        _print_json(data)
        return
    table = Table(title="Drug library", title_justify="left")
    table.add_column("drug", no_wrap=True)
    table.add_column("class", no_wrap=True)
    table.add_column("target", overflow="fold")
    table.add_column("standard regimens", overflow="fold")
    for d in lib.values():
        table.add_row(_text(d.name), _text(d.drug_class), _text(d.target), _text(_regimen_texts(d)))
    _console().print(table)
    _console().print(_text("Research and education only: dosing decisions belong with the patient's doctor."))


@app.command("drug")
@user_errors
def drug_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Drug name or brand name (see `oncoimmune drugs`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (JSON on stdout).")] = False,
) -> None:
    """Show a drug: mechanism, PK model and parameters (units, sources, flags), regimens, PD relation."""
    from rich.table import Table

    from oncoimmune.treatments._drugs import get_drug

    d = get_drug(name)
    data = describe_drug(d)
    if as_json:
        _print_json(data)
        return
    con = _console()
    brands = f" ({', '.join(d.brand_names)})" if d.brand_names else ""
    con.print(_text(f"{d.name}{brands}: {d.drug_class}, target {d.target}"), style="bold")
    con.print(_text(f"Mechanism: {d.mechanism}"))
    con.print(_text(f"Dose units: {', '.join(d.dose_units)}; amounts in {d.amount_unit}"))
    sa = getattr(d, "specific_activity", None)
    if sa is not None:
        con.print(_text(f"Specific activity: {_num(sa.value)} {sa.unit} [{sa.flag}] {sa.source}"))
    if d.infusion is not None:
        inf = d.infusion
        first = f" (first infusion {_num(inf.first_minutes.value)} min)" if inf.first_minutes else ""
        con.print(_text(f"Infusion: {_num(inf.minutes.value)} min{first} [{inf.minutes.flag}] {inf.minutes.source}"))

    regs = Table(title="Standard regimens", title_justify="left")
    for col in ("regimen", "setting", "flag", "source"):
        regs.add_column(col, overflow="fold")
    for r in d.regimens:
        regs.add_row(*(_text(x) for x in (r.text, r.setting, r.flag, r.source)))
    con.print(regs)
    for r in d.regimens:
        for ld in r.lymphodepletion:
            when = f"days {', '.join(_num(x) for x in ld.days)}" if ld.days else f"daily x{ld.count}"
            con.print(
                _text(f"Lymphodepletion ({r.text}): {ld.drug} {_num(ld.dose)} {ld.unit} {when} [{ld.flag}] {ld.source}")
            )

    if d.pk is None:
        con.print(_text(f"PK model: none. {d.pk_limitations}"))
    else:
        con.print(_text(f"PK model: {d.pk.model}, variant {d.pk.variant} [{d.pk.flag}] {d.pk.source}"))
        con.print(_text(f"Reference patient: {d.pk.reference_patient}"))
        af = getattr(d.pk, "amount_factor", None)
        if af is not None:
            con.print(
                _text(f"Modelled amount per prescribed amount: {_num(af.value)} [{af.flag}] {af.note or af.source}")
            )
        params = Table(title="Typical PK parameters", title_justify="left")
        for col in ("name", "value", "unit", "source"):
            params.add_column(col, overflow="fold", no_wrap=col in ("name", "value"))
        for p in data["pk"]["parameters"]:
            params.add_row(*(_text(x) for x in (p["name"], _num(p["value"]), p["unit"], p["source"])))
        con.print(params)
        cov = Table(title="Covariate effects", title_justify="left")
        for col in ("parameter", "covariate", "form", "coefficient", "reference", "flag", "source"):
            cov.add_column(col, overflow="fold")
        for e in d.pk.covariates:
            ref = "" if e.reference is None else f"{_num(e.reference)} {e.unit}"
            cov.add_row(
                *(_text(x) for x in (e.parameter, e.covariate, e.form, _num(e.coefficient), ref, e.flag, e.source))
            )
        con.print(cov)
        if d.pk.not_included:
            con.print(_text(f"Not included: {d.pk.not_included}"))
    ck = data.get("cellular_kinetics")
    if ck:
        con.print(_text(f"Cellular kinetics: {ck['model']}, variant {ck['variant']} [{ck['flag']}] {ck['source']}"))
        con.print(_text(f"Measured: {' + '.join(ck['observed'])} in {ck['unit']}: {ck['measurement']}"))
        con.print(_text(f"Dose dependence: {ck['dose_dependence']}"))
        ckt = Table(title="Typical cellular-kinetic parameters", title_justify="left")
        for col in ("name", "value", "unit", "source"):
            ckt.add_column(col, overflow="fold", no_wrap=col in ("name", "value"))
        for p in ck["parameters"]:
            ckt.add_row(*(_text(x) for x in (p["name"], _num(p["value"]), p["unit"], p["source"])))
        con.print(ckt)
        if ck.get("not_included"):
            con.print(_text(f"Not included: {ck['not_included']}"))
    for pd in d.pd:
        con.print(_text(f"PD ({pd.relation}, {pd.target}): {pd.description}"))
        for k, q in pd.parameters.items():
            con.print(_text(f"  {k} = {_num(q.value)} {q.unit} [{q.flag}] {q.source}"))
    if d.evidence:
        con.print(_text(f"Evidence: {d.evidence}"))
    con.print(_text("Research and education only: dosing decisions belong with the patient's doctor."))


# -- trials ---------------------------------------------------------------------------------


@app.command("schema")
@user_errors
def schema_command(
    what: Annotated[str, typer.Argument(metavar="WHAT", help="The document type: trial.")],
) -> None:
    """Print the published JSON Schema of a document type (``trial``: a virtual-trial spec)."""
    from oncoimmune.trial._spec import trial_schema

    if what != "trial":
        raise UnknownNameError("WHAT", what, ["trial"])
    sys.stdout.write(json.dumps(trial_schema(), indent=2) + "\n")


def _int_option(option: str, text: str | None, minimum: int) -> int | None:
    """An integer command-line option given as text (``None`` when absent), at least ``minimum``."""
    from oncoimmune.cli import _parse

    if text is None:
        return None
    v = _parse.parse_number(option, text)
    if v != int(v) or v < minimum:
        raise ValidationError(option, f"be an integer >= {minimum}", text)
    return int(v)


def _progress_bar(console: Any) -> Any:
    """The progress bar of the long commands (on stderr, removed when done)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@app.command("trial")
@user_errors
def trial_command(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC.yaml", help="Trial spec (see `oncoimmune schema trial`).")],
    patients: Annotated[
        str | None, typer.Option("--patients", metavar="N", help="Override the number of patients.")
    ] = None,
    seed: Annotated[str | None, typer.Option("--seed", metavar="S", help="Override the seed.")] = None,
    out: Annotated[
        Path,
        typer.Option("--out", metavar="DIR", help="Output directory (patients.parquet, summary.json, report.html)."),
    ] = Path("trial-output"),
    workers: Annotated[
        str | None, typer.Option("--workers", metavar="N", help="Engine threads (results do not depend on it).")
    ] = None,
) -> None:
    """Run a virtual clinical trial from a YAML spec: RECIST responses, PFS and OS per arm.

    Writes DIR/patients.parquet (one row per patient), DIR/summary.json (per-arm ORR, CR, DCR,
    median PFS and OS with CI, hazard ratios, landmark rates) and DIR/report.html (waterfall,
    spider, swimmer, Kaplan–Meier with numbers at risk, forest plot, AE table, spec, provenance;
    PNG copies in DIR/figures). Research and education only: a virtual trial is not evidence
    about real patients.
    """
    from oncoimmune.plot import DISCLAIMER
    from oncoimmune.trial._run import run_trial
    from oncoimmune.trial._spec import load_trial_spec

    n = _int_option("--patients", patients, 1)
    s = _int_option("--seed", seed, 0)
    w = _int_option("--workers", workers, 1)
    if out.exists() and not out.is_dir():
        raise ValidationError("--out", "be a directory", str(out))
    spec = load_trial_spec(spec_path)
    if n is not None or s is not None:
        spec = spec.with_overrides(patients=n, seed=s)
    console = _console(stderr=True)
    with _progress_bar(console) as bar:
        tasks: dict[str, Any] = {}

        def progress(arm: str, done: int, total: int) -> None:
            if arm not in tasks:
                tasks[arm] = bar.add_task(arm, total=total)
            bar.update(tasks[arm], completed=done)

        result = run_trial(spec, workers=w, progress=progress)
    written = result.write(out)
    table = _trial_table(result)
    _console().print(table)
    _print_endpoints(result, _console())
    _console().print(f"[dim]{DISCLAIMER}[/dim]")
    report = next((p for p in written if p.name == "report.html"), None)
    sys.stderr.write(f"trial {spec.name!r}: {spec.patients} patients -> {out} (report: {report})\n")


@app.command("calibrate")
@user_errors
def calibrate_command(
    problem_path: Annotated[
        Path, typer.Argument(metavar="PROBLEM.yaml", help="Calibration problem (see examples/calibration/).")
    ],
    out: Annotated[Path, typer.Option("--out", metavar="FILE.yaml", help="Where to write the calibration.")] = Path(
        "calibration.yaml"
    ),
    workers: Annotated[
        str | None, typer.Option("--workers", metavar="N", help="Engine threads (results do not depend on it).")
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal",
            metavar="FILE.jsonl",
            help="Append every evaluation to FILE (one JSON line each); run again with the same FILE to resume "
            "a search that stopped: what it holds is read back, not re-run.",
        ),
    ] = None,
) -> None:
    """Fit a virtual population and death model to published trial figures; write a calibration file.

    Runs the stages of PROBLEM.yaml (bounded Nelder-Mead over the named knobs, each evaluation a
    virtual trial on the same patients), prints target vs simulated for every figure and writes the
    calibration (parameters, plausible ranges, death model, targets, provenance) to FILE.yaml, which a
    trial spec uses with `calibration: FILE.yaml`. This is a search: it takes minutes to hours; with
    --journal a search that stops can be resumed.
    """
    from rich.table import Table

    from oncoimmune.trial._calibrate import calibrate, load_calibration_problem, write_calibration

    w = _int_option("--workers", workers, 1)
    if out.suffix not in (".yaml", ".yml"):
        raise ValidationError("--out", "end in .yaml or .yml", str(out))
    if out.exists() and out.is_dir():
        raise ValidationError("--out", "be a file, not a directory", str(out))
    if journal is not None and journal.suffix != ".jsonl":
        raise ValidationError("--journal", "end in .jsonl", str(journal))
    problem = load_calibration_problem(problem_path)
    console = _console(stderr=True)
    with _progress_bar(console) as bar:
        task = bar.add_task(f"calibrating {problem.name}", total=sum(st.max_evaluations for st in problem.stages))

        def progress(done: int, total: int, loss: float, best: float) -> None:
            bar.update(task, completed=done, description=f"calibrating {problem.name} (best loss {best:.3g})")
            if not console.is_terminal:  # a log file gets one line per evaluation instead of a bar
                console.print(f"evaluation {done}/{total}: loss {loss:.4g}, best {best:.4g}", highlight=False)

        doc = calibrate(problem, workers=w, progress=progress, journal=journal)
    write_calibration(doc, out)
    table = Table(title=f"{problem.name}: target vs simulated ({problem.patients} virtual patients)")
    joint = bool(problem.also)
    for col in ("trial", "arm", "metric", "target", "simulated", "tolerance", "inside")[0 if joint else 1 :]:
        table.add_column(col)
    for row in doc["targets"]:
        tol = f"±{row['tolerance']:g}" + (" (rel.)" if row["kind"] == "relative" else "")
        sim = "—" if row["simulated"] is None else f"{row['simulated']:.3g}"
        cells = [row["arm"], row["metric"], f"{row['target']:g}", sim, tol, "yes" if row["inside"] else "no"]
        table.add_row(*([row.get("trial", problem.spec)] if joint else []), *cells)
    _console().print(table)
    _console().print(f"calibration -> {out} (loss {doc['provenance']['loss']:.3g})")


@app.command("vpop")
@user_errors
def vpop_command(
    table_path: Annotated[
        Path, typer.Argument(metavar="TABLE", help="Plausible patients, one per row (.csv or .parquet).")
    ],
    target_path: Annotated[
        Path, typer.Option("--target", metavar="TARGET.yaml", help="Observables and the distribution to match.")
    ],
    seed: Annotated[str, typer.Option("--seed", metavar="S", help="Seed.")] = "0",
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Output directory (vpop.parquet, vpop.json).")
    ] = Path("vpop-output"),
) -> None:
    """Select a virtual population from plausible patients (Allen, Rieger & Musante 2016).

    Keeps the rows of TABLE whose observables (TARGET.yaml: columns, log scale, and either observed
    patients or the mean and covariance of a normal) follow the target distribution: inclusion
    probability = target density / the plausible patients' own k-nearest-neighbour density, scaled
    by a factor chosen by simulated annealing to minimise the Kolmogorov-Smirnov distance
    (docs/population.md). Writes DIR/vpop.parquet (the selected rows, with pp_index and inclusion)
    and DIR/vpop.json (the KS test per observable and the provenance).

    With `method: mapel` in TARGET.yaml, weights every row instead (MAPEL prevalence weighting on
    mechanistic axes, fitted to published rates and means; docs/population.md): DIR/vpop.parquet is the
    table with a `weight` column, DIR/vpop.json the weighted figures, Fisher's composite p, the effective
    N, the bin probabilities and the alternate weightings.
    """
    from rich.table import Table

    from oncoimmune.population._vpop import (
        MapelSpec,
        load_vpop_target,
        outcome_summary,
        read_table,
        select_from_table,
    )

    s = _int_option("--seed", seed, 0)
    if out.exists() and not out.is_dir():
        raise ValidationError("--out", "be a directory", str(out))
    target, data = load_vpop_target(target_path)
    table = read_table(table_path, "TABLE")
    if isinstance(target, MapelSpec):
        _vpop_weights(table, target, int(s), out)
        return
    selected, vpop = select_from_table(table, target, data, seed=int(s))
    report = {
        "selected": vpop.n_selected,
        "plausible": len(table),
        "beta": vpop.beta,
        "ks": {
            c: {"statistic": float(st), "pvalue": float(pv)}
            for c, st, pv in zip(vpop.provenance["observables"], vpop.ks_statistic, vpop.ks_pvalue, strict=True)
        },
        "score": vpop.score,
        "score_mean": vpop.score_mean,
        "score_sd": vpop.score_sd,
        "outcomes": {"plausible": outcome_summary(table), "vpop": outcome_summary(selected)},
        "provenance": vpop.provenance,
    }
    _write_vpop(out, selected, report)
    t = Table(title=f"{target.name}: {vpop.n_selected} of {len(table)} plausible patients selected")
    for col in ("observable", "scale", "KS statistic", "KS p-value"):
        t.add_column(col)
    for o, st, pv in zip(target.observables, vpop.ks_statistic, vpop.ks_pvalue, strict=True):
        t.add_row(o.column, "log" if o.log else "linear", f"{st:.3f}", f"{pv:.3g}")
    _console().print(t)
    outcomes = report["outcomes"]
    figures = [
        f for f in ("orr", "median_pfs_months", "median_os_months") if any(f in r for r in outcomes["vpop"].values())
    ]
    if figures:  # a trial's patients: what the selection does to the outcomes
        o = Table(title="outcomes: plausible patients -> VPop")
        for col in ("arm", "n", *figures):
            o.add_column(col)

        def show(row: dict[str, Any], f: str) -> str:
            v = row.get(f)
            if v is None:
                return "—" if row.get("n") == 0 else "not reached"
            return f"{100 * v:.1f} %" if f == "orr" else f"{v:.1f}"

        for arm, before in outcomes["plausible"].items():
            after = outcomes["vpop"].get(arm, {"n": 0})
            cells = [f"{show(before, f)} -> {show(after, f)}" for f in figures]
            o.add_row(arm, f"{before['n']} -> {after['n']}", *cells)
        _console().print(o)
    sys.stderr.write(f"vpop {target.name!r} -> {out}\n")


def _write_vpop(out: Path, table: Any, report: dict[str, Any]) -> None:
    """DIR/vpop.parquet and DIR/vpop.json, both or neither (a directory this call created is removed too)."""
    created = not out.exists()
    paths = [out / "vpop.parquet", out / "vpop.json"]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with _cleanup_on_error(paths):
            table.to_parquet(paths[0], index=False)
            paths[1].write_text(json.dumps(report, indent=2) + "\n")
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


def _vpop_weights(table: Any, spec: Any, seed: int, out: Path) -> None:
    """`oncoimmune vpop` with a MAPEL weighting problem: DIR/vpop.parquet (the table with `weight`) and
    DIR/vpop.json (figures, composite p, effective N, bin probabilities, alternates, provenance)."""
    from rich.table import Table

    from oncoimmune.population._vpop import weight_table

    weighted, fit = weight_table(table, spec, seed=seed)

    def describe_fit(f: Any) -> dict[str, Any]:
        return {
            "accepted": bool(f.accepted),
            "composite_p": f.composite_p,
            "effective_n": f.effective_n,
            "objective": f.objective,
            "bin_probabilities": {a: f.bin_probabilities[i].tolist() for i, a in enumerate(spec.axes)},
        }

    report = {
        **describe_fit(fit),
        "bin_edges": {a: fit.bin_edges[i].tolist() for i, a in enumerate(spec.axes)},
        "figures": fit.figures,
        "sources": {t.name: t.source for t in spec.targets},
        "alternates": [describe_fit(a) for a in fit.alternates],
        "provenance": fit.provenance,
    }
    _write_vpop(out, weighted, report)
    verdict = "accepted" if fit.accepted else "not accepted"
    t = Table(
        title=f"{spec.name}: MAPEL weights on {len(table)} patients, composite p {fit.composite_p:.3g} "
        f"({verdict} at {spec.alpha:g}), effective N {fit.effective_n:.0f}"
    )
    for col in ("figure", "published", "weighted", "p"):
        t.add_column(col)
    for name, row in fit.figures.items():
        p = row["p"] if isinstance(row["p"], float) else min(row["p"])
        t.add_row(name, f"{row['observed']:.3g}", f"{row['simulated']:.3g}", f"{p:.3g}")
    _console().print(t)
    sys.stderr.write(f"vpop {spec.name!r} (MAPEL, {1 + len(fit.alternates)} starts) -> {out}\n")


@app.command("predict")
@user_errors
def predict_command(
    profile_path: Annotated[
        Path, typer.Argument(metavar="PROFILE.yaml", help="tumour_type plus what is known of the patient.")
    ],
    therapies: Annotated[
        list[str] | None,
        typer.Option("--therapies", metavar="NAME", help="Therapy options (repeatable); default: the tumour type's."),
    ] = None,
    samples: Annotated[str, typer.Option("--samples", metavar="N", help="Virtual patients per option.")] = "100",
    seed: Annotated[str, typer.Option("--seed", metavar="S", help="Seed.")] = "0",
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout instead of a table.")] = False,
) -> None:
    """For one patient profile, sample the uncertainty around it and compare therapy options.

    Reports, per option, the probability of objective response, of grade >= 3 side effects, of
    fatigue, joint pain and digestive troubles, and the median PFS, each with a 95 % interval.
    Research and education only: not a prediction for a real person and never a treatment
    recommendation; decisions belong with the patient and their doctor.
    """
    from rich.table import Table

    from oncoimmune.trial._predict import DISCLAIMER_TEXT, predict, read_profile

    n = _int_option("--samples", samples, 1)
    s = _int_option("--seed", seed, 0)
    profile = read_profile(profile_path)
    result = predict(profile, therapies=therapies or None, samples=int(n), seed=int(s))
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
        return

    def pct(d: dict[str, Any]) -> str:
        lo, hi = d["ci95"]
        return f"{100 * d['p']:.0f} % ({100 * lo:.0f}–{100 * hi:.0f})"

    def months(m: Any, ci: Any) -> str:
        one = "not reached" if m is None or not math.isfinite(m) else f"{m:.1f}"
        lo, hi = ci
        fmt = lambda x: "NR" if x is None or not math.isfinite(x) else f"{x:.1f}"  # noqa: E731
        return f"{one} ({fmt(lo)}–{fmt(hi)})"

    known = ", ".join(f"{k}={v}" for k, v in profile.items())
    table = Table(title=f"{known}: {int(n)} virtual patients per option", title_justify="left")
    for col in ("option", "response", "grade >= 3 AE", "fatigue", "joint pain", "digestive", "median PFS (months)"):
        table.add_column(col)
    for name, o in result.options.items():
        table.add_row(
            name,
            pct(o["objective_response"]),
            pct(o["grade3plus_adverse_event"]),
            pct(o["fatigue"]),
            pct(o["joint_pain"]),
            pct(o["digestive_troubles"]),
            months(o["median_pfs_months"], o["median_pfs_ci95_months"]),
        )
    console = _console()
    console.print(table)
    from rich.markup import escape

    console.print(f"[dim]{escape(result.to_json()['uncertainty'])}[/dim]")
    console.print(f"[bold]{DISCLAIMER_TEXT}[/bold]")


def _print_endpoints(result: Any, console: Any) -> None:
    """One line per comparison of the spec's endpoints, with its verdict."""
    from oncoimmune.trial._endpoints import comparison_text

    for role in ("primary", "secondary"):
        for row in result.summary["endpoints"][role]:
            console.print(f"{role.capitalize()} endpoint: {comparison_text(row)}", highlight=False, markup=False)


def _trial_table(result: Any) -> Any:
    from rich.table import Table

    def pct(x: Any) -> str:
        return "-" if x is None else f"{100 * x:.0f} %"

    def months(x: Any) -> str:
        return "not reached" if x is None else f"{x:.1f}"

    table = Table(title=f"{result.spec.name}: {result.spec.patients} virtual patients", title_justify="left")
    months_at = f"{result.spec.endpoints.landmarks_months[0]:g}" if result.spec.endpoints.landmarks_months else None
    columns = ["arm", "n", "ORR", "CR", "DCR", "median PFS (months)", "median OS (months)"]
    for col in columns + ([f"OS {months_at} months"] if months_at else []):
        table.add_column(col)
    for name, a in result.summary["arms"].items():
        table.add_row(
            name,
            str(a["n"]),
            pct(a["orr"]),
            pct(a["cr"]),
            pct(a["dcr"]),
            months(a["median_pfs_months"]),
            months(a["median_os_months"]),
            *([pct(a["os_rate"].get(months_at))] if months_at else []),
        )
    return table


# -- demo -----------------------------------------------------------------------------------


@app.command("demo")
@user_errors
def demo_command(
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Directory for the CSV tables and plots.")] = Path(
        "demo-output"
    ),
) -> None:
    """Run the demonstration simulations on embedded defaults and write tables and plots to DIR."""
    from oncoimmune.cli._demo import run_demo

    run_demo(out, _console())


def main() -> None:
    """Console-script entry point (``oncoimmune``)."""
    app(prog_name="oncoimmune")
