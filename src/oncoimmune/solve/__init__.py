"""The batched simulation engine: :func:`simulate`, results, statuses and reductions."""

from oncoimmune.solve._result import Final, Max, Min, Reduction, SimulationResult, TimeBelow
from oncoimmune.solve._simulate import NUMERICAL_EXTINCTION, simulate
from oncoimmune.solve._status import Status

__all__ = [
    "NUMERICAL_EXTINCTION",
    "Final",
    "Max",
    "Min",
    "Reduction",
    "SimulationResult",
    "Status",
    "TimeBelow",
    "simulate",
]
