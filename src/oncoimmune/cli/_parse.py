"""Parsing of command-line values into Python API arguments.

Every value typed by a user is parsed with ``float()`` and plain string operations; nothing is
evaluated. Syntax errors raise :class:`~oncoimmune.ValidationError` naming the option and the
text received, so that the command prints one line such as::

    error: The '--bolus' parameter must look like STATE=AMOUNT@DAY[,DAY...]. Got 'E=5'.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.models._base import Model
from oncoimmune.treatments._doses import Bolus

__all__ = [
    "OUT_SUFFIXES",
    "check_out_path",
    "parse_assignments",
    "parse_boluses",
    "parse_number",
    "parse_patient",
    "parse_times",
    "read_patients",
    "read_regimen",
]

OUT_SUFFIXES = (".csv", ".parquet")


def _either(suffixes: tuple[str, ...]) -> str:
    return suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ASSIGN = re.compile(rf"^\s*((?:{_NAME}:)?{_NAME})\s*=\s*(\S.*?)\s*$")  # DRUG:NAME for --set
_BOLUS = re.compile(rf"^\s*({_NAME})\s*=\s*([^@]+?)\s*@\s*(.+?)\s*$")


def parse_number(option: str, text: str, *, positive: bool = False) -> float:
    """Parse one finite number given to ``option`` (e.g. ``--t-end 150``)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValidationError(option, "be a number", text) from None
    if not math.isfinite(value):
        raise ValidationError(option, "be a finite number", text)
    if positive and value <= 0:
        raise ValidationError(option, "be > 0", text)
    return value


def parse_assignments(option: str, items: Iterable[str], model: Model) -> dict[str, float]:
    """Parse repeated ``NAME=VALUE`` items of ``--set`` (parameters) or ``--init`` (states).

    Names are checked against the model and values against the parameter bounds (``--set``) or
    ``>= 0`` (``--init``), so that errors name the option before any simulation starts.
    """
    is_init = option == "--init"
    syntax = "look like STATE=VALUE" if is_init else "look like NAME=VALUE"
    names = model.state_names if is_init else model.parameter_names
    out: dict[str, float] = {}
    for item in items:
        match = _ASSIGN.match(item)
        if match is None:
            raise ValidationError(option, syntax, item)
        name, text = match.groups()
        if ":" in name and is_init:
            raise ValidationError(option, syntax, item)
        if ":" in name:  # a drug's exposure-effect parameter (treatments.drug_parameter)
            from oncoimmune.treatments._plan import drug_parameter

            _, lo, hi, _ = drug_parameter(model, name, option)
        elif name not in names:
            raise UnknownNameError(option, name, names, f"model {model.name}")
        try:
            value = float(text)
        except ValueError:
            raise ValidationError(name, "be a number", text, option) from None
        if math.isinf(value):
            raise ValidationError(name, "be a finite number", text, option)
        if name in out:
            raise ValidationError(option, f"give {name} once", item)
        if is_init:
            out[name] = model.validate_init(name, value, where=option)
        elif ":" in name:
            if not (math.isfinite(value) and lo <= value <= hi):
                raise ValidationError(name, f"be within [{lo:g}, {hi:g}]", text, option)
            out[name] = value
        else:
            out[name] = model.validate_parameter(name, value, where=option)
    return out


def parse_boluses(items: Iterable[str], model: Model) -> list[Bolus]:
    """Parse repeated ``--bolus STATE=AMOUNT@DAY[,DAY...]`` items into :class:`~oncoimmune.Bolus` doses."""
    doses = []
    for item in items:
        match = _BOLUS.match(item)
        if match is None:
            raise ValidationError("--bolus", "look like STATE=AMOUNT@DAY[,DAY...]", item)
        state, amount_text, days_text = match.groups()
        if state not in model.state_names:
            raise UnknownNameError("--bolus", state, model.state_names, f"model {model.name}")
        try:
            amount = float(amount_text)
        except ValueError:
            raise ValidationError("--bolus", "look like STATE=AMOUNT@DAY[,DAY...] with a number AMOUNT", item) from None
        days = []
        for part in days_text.split(","):
            try:
                days.append(float(part))
            except ValueError:
                raise ValidationError(
                    "--bolus", "look like STATE=AMOUNT@DAY[,DAY...] with numbers as days", item
                ) from None
        try:
            doses.append(Bolus(state, amount, tuple(days)))
        except ValidationError as exc:
            raise ValidationError(exc.field, exc.rule, exc.value, f"--bolus {item!r}") from None
    return doses


def parse_times(text: str) -> np.ndarray:
    """Parse ``--times T1,T2,...`` (days, >= 0, strictly increasing)."""
    parts = text.split(",")
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        raise ValidationError("--times", "be a comma-separated list of days, e.g. 0,7,14", text) from None
    if not np.all(np.isfinite(values)):
        raise ValidationError("--times", "be finite", text)
    if values[0] < 0:
        raise ValidationError("--times", "be >= 0 (days)", text)
    if values.size > 1 and np.any(np.diff(values) <= 0):
        i = int(np.flatnonzero(np.diff(values) <= 0)[0])
        raise ValidationError("--times", f"be strictly increasing ({parts[i]} then {parts[i + 1]})", text)
    return values


def check_out_path(option: str, path: Path, suffixes: tuple[str, ...]) -> None:
    """Refuse an output path with an unsupported suffix or in a missing directory, before any work."""
    if path.suffix.lower() not in suffixes:
        raise ValidationError(option, f"end in {_either(suffixes)}", str(path))
    if path.is_dir():
        raise ValidationError(option, "name a file, not a directory", str(path))
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValidationError(option, f"be in an existing directory ({parent} does not exist)", str(path))


def _input_file(option: str, path: Path, suffixes: tuple[str, ...]) -> None:
    if path.suffix.lower() not in suffixes:
        raise ValidationError(option, f"end in {_either(suffixes)}", str(path))
    if not path.exists():
        raise ValidationError(option, "be an existing file", str(path))
    if not path.is_file():
        raise ValidationError(option, "be a file, not a directory", str(path))


def read_patients(path: Path) -> Any:
    """Read a ``--patients`` table (``.csv`` or ``.parquet``): one row per patient.

    Columns are validated by :func:`oncoimmune.simulate` (names, NaN, bounds, with the row and
    column in the message); this function reports the file-level problems: wrong suffix, missing
    or unreadable file, no rows (:func:`oncoimmune._validate.read_table`).
    """
    from oncoimmune._validate import read_table

    return read_table(path, "--patients")


def read_regimen(path: Path) -> Any:
    """Read a ``--regimen`` YAML file with :meth:`oncoimmune.Regimen.from_yaml` (safe loader)."""
    from oncoimmune.treatments._doses import Regimen

    _input_file("--regimen", path, (".yaml", ".yml"))
    return Regimen.from_yaml(path)


_PATIENT_KEYS: dict[str, tuple[str, str]] = {
    # key on the command line -> (Covariates field, kind)
    "weight": ("weight_kg", "number"),
    "height": ("height_cm", "number"),
    "age": ("age_years", "number"),
    "sex": ("sex", "text"),
    "creatinine": ("serum_creatinine", "number"),
    "albumin": ("albumin_g_per_l", "number"),
    "egfr": ("egfr", "number"),
    "ecog": ("ecog", "integer"),
    "ldh": ("ldh_u_per_l", "number"),
    "ast": ("ast_u_per_l", "number"),
    "sld": ("tumour_burden_mm", "number"),
    "race": ("race", "text"),
    "pdl1": ("pdl1", "number"),
    "tmb": ("tmb", "number"),
    "msi": ("msi_high", "bool"),
    "growth": ("growth_rate", "number"),
    "lesions": ("n_lesions", "integer"),
    "car_antigen": ("car_antigen", "number"),
    "target_antigen": ("target_antigen", "number"),
}
"""Keys of ``--patient`` and the :class:`~oncoimmune.treatments.Covariates` field each sets."""

PATIENT_DEFAULTS: dict[str, Any] = {"weight_kg": 70.0, "height_cm": 170.0, "age_years": 60.0, "sex": "female"}
"""Body covariates taken when ``--patient`` omits them (reported on stderr as assumed)."""


def parse_patient(text: str, option: str = "--patient") -> tuple[Any, tuple[str, ...]]:
    """Parse ``weight=70,height=175,pdl1=0.6,tmb=12`` into Covariates and the keys it assumed.

    Keys: see :data:`_PATIENT_KEYS` (``sld`` is the sum of target-lesion diameters in mm, ``pdl1``
    the tumour proportion score as a fraction, ``msi`` true/false). Missing weight, height, age
    or sex take :data:`PATIENT_DEFAULTS`.
    """
    from oncoimmune.treatments._covariates import Covariates

    values: dict[str, Any] = {}
    for item in [s for s in str(text).split(",") if s.strip()]:
        m = _ASSIGN.match(item)
        if m is None:
            raise ValidationError(option, "be KEY=VALUE pairs separated by commas", item)
        key, raw = m.group(1).lower(), m.group(2)
        if key not in _PATIENT_KEYS:
            raise UnknownNameError(option, key, sorted(_PATIENT_KEYS))
        name, kind = _PATIENT_KEYS[key]
        if name in values:
            raise ValidationError(option, f"give {key} once", text)
        if kind == "text":
            values[name] = raw.lower()
        elif kind == "bool":
            if raw.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise ValidationError(f"{option} {key}", "be true or false", raw)
            values[name] = raw.lower() in ("true", "yes", "1")
        else:
            v = parse_number(f"{option} {key}", raw)
            if kind == "integer":
                if v != int(v):
                    raise ValidationError(f"{option} {key}", "be an integer", raw)
                v = int(v)
            values[name] = v
    assumed = tuple(f"{k}={v}" for k, v in PATIENT_DEFAULTS.items() if k not in values)
    for k, v in PATIENT_DEFAULTS.items():
        values.setdefault(k, v)
    try:
        return Covariates(**values), assumed
    except ValidationError as exc:
        key = next((k for k, (f, _) in _PATIENT_KEYS.items() if f == exc.field), exc.field)
        raise ValidationError(f"{option} {key}", exc.rule, exc.value) from None
