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


def read_yaml(path: str | Path, field: str) -> Any:
    """Parse a YAML file with the safe loader (nothing in it is executed)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(field, "be a readable YAML file", str(path)) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(field, f"be valid YAML ({exc.__class__.__name__})", str(path)) from exc
