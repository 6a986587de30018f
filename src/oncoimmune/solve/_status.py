"""Per-patient integration status."""

from __future__ import annotations

import enum

__all__ = ["Status"]

_MESSAGES = {
    0: "ok: integrated to the last requested time",
    1: "max steps: the step budget (max_steps) ran out before the last requested time",
    2: "non-finite: the right-hand side produced NaN or infinity that step-size reduction could not avoid",
    3: "step-size underflow: the step size fell below 1e-14 relative to time",
    4: "singular: the Newton matrix I/(h*gamma) - J stayed singular as the step shrank",
    5: "invalid input: the patient's parameters or initial values were not finite",
}


class Status(enum.IntEnum):
    """Outcome of one virtual patient's integration; ``status.message`` explains it.

    A failing patient gets a status, never an exception that aborts the batch. Outputs after the
    failure time are NaN.
    """

    OK = 0
    MAX_STEPS = 1
    NONFINITE = 2
    STEP_UNDERFLOW = 3
    SINGULAR = 4
    INVALID_INPUT = 5

    @property
    def message(self) -> str:
        return _MESSAGES[int(self)]

    @property
    def label(self) -> str:
        return self.name.lower()
