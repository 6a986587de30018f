"""The oncoimmune exception tree.

Every error raised on purpose by oncoimmune derives from :class:`OncoimmuneError`::

    OncoimmuneError
    ├── ValidationError (also a ValueError)      bad input: names the field, the rule and the value
    │   └── UnknownNameError (also a KeyError)   an unknown model, variant, state, parameter or drug
    ├── ModelDefinitionError                     a model file that breaks the model contract
    └── SolverError                              a patient failed and ``throw=True`` was asked for

A failing virtual patient is *not* an exception: :func:`oncoimmune.simulate` records a
:class:`oncoimmune.Status` per patient and carries on. ``SolverError`` is only raised when the
caller opts in with ``throw=True``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ModelDefinitionError",
    "OncoimmuneError",
    "SolverError",
    "UnknownNameError",
    "ValidationError",
]


class OncoimmuneError(Exception):
    """Base class of every error oncoimmune raises on purpose."""


def _show(value: Any) -> str:
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()  # numpy scalar: show 'nan', not 'np.float64(nan)'
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


class ValidationError(OncoimmuneError, ValueError):
    """Invalid input, reported with one message template.

    The message reads ``The 'dose' parameter of Dose must be > 0. Got -5.``: it names the
    field (and where it lives), the rule, and the received value.

    Parameters
    ----------
    field:
        The name of the offending argument, column, key or parameter.
    rule:
        What the value must satisfy, phrased to follow "must", e.g. ``"be > 0"``.
    value:
        The value received.
    where:
        Where the field lives (``"Bolus"``, ``"patients.csv row 3"``, ``"regimen.yaml"``).
    """

    def __init__(self, field: str, rule: str, value: Any, where: str | None = None) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        self.where = where
        location = f" of {where}" if where else ""
        super().__init__(f"The '{field}' parameter{location} must {rule}. Got {_show(value)}.")


class UnknownNameError(ValidationError, KeyError):
    """A name (model, variant, state, parameter, drug) that is not known.

    The message lists the valid choices so that the user can correct the spelling.
    """

    def __init__(self, field: str, value: Any, choices: list[str] | tuple[str, ...], where: str | None = None):
        shown = ", ".join(sorted(choices)[:40])
        more = "" if len(choices) <= 40 else f", ... ({len(choices)} in all)"
        super().__init__(field, f"be one of [{shown}{more}]", value, where)
        self.choices = tuple(choices)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class ModelDefinitionError(OncoimmuneError):
    """A model declaration that breaks the model contract (see :mod:`oncoimmune.models`)."""


class SolverError(OncoimmuneError):
    """Raised by :func:`oncoimmune.simulate` with ``throw=True`` when a patient does not finish."""

    def __init__(self, message: str, patient_ids: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.patient_ids = patient_ids
