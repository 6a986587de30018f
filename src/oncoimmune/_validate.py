"""Small validation helpers shared by the input boundaries (one message template, see errors.py)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from oncoimmune.errors import ValidationError

__all__ = ["finite_number", "read_yaml"]


def finite_number(name: str, value: Any, where: str | None = None) -> float:
    """``float(value)`` if it is a finite number (booleans are not numbers), else a ValidationError."""
    if isinstance(value, bool):
        raise ValidationError(name, "be a number", value, where)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValidationError(name, "be a number", value, where) from None
    if not math.isfinite(v):
        raise ValidationError(name, "be a finite number", value, where)
    return v


_FLOAT_1_2 = (
    r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
    r"|[0-9][0-9_]*[eE][-+]?[0-9]+|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _RepeatedKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"key {key!r} repeated at line {line}")
        self.key, self.line = key, line


def _yaml_loader() -> Any:
    """PyYAML's safe loader, reading ``1e12`` and ``2.0e12`` as numbers as YAML 1.2 does (PyYAML follows
    YAML 1.1, where a float needs a dot and a signed exponent, and would read them as text)."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            # YAML requires unique keys; PyYAML would silently keep the last of a repeated one
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int | float | bool) and key in seen:
                    raise _RepeatedKey(key, key_node.start_mark.line + 1)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    for first in list(Loader.yaml_implicit_resolvers):
        Loader.yaml_implicit_resolvers[first] = [
            (tag, rx) for tag, rx in Loader.yaml_implicit_resolvers[first] if tag != "tag:yaml.org,2002:float"
        ]
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(_FLOAT_1_2), list("-+0123456789."))
    return Loader


def read_yaml(path: str | Path, field: str) -> Any:
    """Parse a YAML file with the safe loader (nothing in it is executed); ``1e12`` is a number."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(field, "be a readable YAML file", str(path)) from exc
    try:
        return yaml.load(text, Loader=_yaml_loader())
    except _RepeatedKey as exc:
        raise ValidationError(field, f"be valid YAML without repeated keys ({exc})", str(path)) from None
    except yaml.YAMLError as exc:
        raise ValidationError(field, f"be valid YAML ({exc.__class__.__name__})", str(path)) from exc


def integer(name: str, value: Any, minimum: int, where: str | None = None) -> int:
    """``value`` as an int, refused (naming ``name``) unless it is an integer >= ``minimum`` (bools are not)."""
    import numbers

    import numpy as np

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValidationError(name, f"be an integer >= {minimum}", value, where)
    if int(value) < minimum:
        raise ValidationError(name, f"be an integer >= {minimum}", value, where)
    return int(value)


def read_table(path: str | Path, field: str) -> Any:
    """Read a ``.csv`` or ``.parquet`` table with one row per patient, refusing (naming ``field``) a wrong
    suffix, a missing or unreadable file, a file with no rows and a column without a name. The columns
    themselves are checked by whoever uses them."""
    import pandas as pd

    p = Path(path)
    if p.suffix.lower() not in (".csv", ".parquet"):
        raise ValidationError(field, "end in .csv or .parquet", str(path))
    if not p.exists():
        raise ValidationError(field, "be an existing file", str(path))
    if not p.is_file():
        raise ValidationError(field, "be a file, not a directory", str(path))
    try:
        if p.suffix.lower() == ".parquet":
            frame = pd.read_parquet(p)
        else:
            frame = pd.read_csv(p, skipinitialspace=True, float_precision="round_trip")
    except pd.errors.EmptyDataError:
        raise ValidationError(field, "contain a header and at least one row", str(path)) from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        kind = "Parquet" if p.suffix.lower() == ".parquet" else "CSV"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ValidationError(field, f"be a readable {kind} file ({reason})", str(path)) from None
    if len(frame.columns) == 0 or len(frame) == 0:
        raise ValidationError(field, "contain a header and at least one row", str(path))
    if any(str(c).startswith("Unnamed:") for c in frame.columns):
        raise ValidationError(field, "have a name for every column (no empty header cell)", str(path))
    if p.suffix.lower() == ".csv":  # pandas renames a repeated header (age, age.1): refuse it instead
        import csv

        with p.open(newline="", encoding="utf-8", errors="replace") as f:
            names = [h.strip() for h in next(csv.reader(f), [])]
        repeated = sorted({h for h in names if names.count(h) > 1})
        if repeated:
            raise ValidationError(field, f"have each column once (repeated: {repeated})", str(path))
    return frame
