"""oncoimmune: an open in-silico immunotherapy laboratory.

Research and education software. Its outputs are not medical advice: every individual decision
about treatment belongs with the patient and their doctor.
"""

from oncoimmune._version import __version__
from oncoimmune.errors import (
    ModelDefinitionError,
    OncoimmuneError,
    SolverError,
    UnknownNameError,
    ValidationError,
)
from oncoimmune.models import DoseSlot, Model, Parameter, State, Variant, get_model, registry
from oncoimmune.solve import Final, Max, Min, SimulationResult, Status, TimeBelow, simulate
from oncoimmune.treatments import (
    Bolus,
    Covariates,
    Infusion,
    Regimen,
    cycles,
    every,
    get_drug,
    simulate_treatment,
)

__all__ = [
    "Bolus",
    "Covariates",
    "DoseSlot",
    "Final",
    "Infusion",
    "Max",
    "Min",
    "Model",
    "ModelDefinitionError",
    "OncoimmuneError",
    "Parameter",
    "Regimen",
    "SimulationResult",
    "SolverError",
    "State",
    "Status",
    "TimeBelow",
    "UnknownNameError",
    "ValidationError",
    "Variant",
    "__version__",
    "cycles",
    "every",
    "get_drug",
    "get_model",
    "registry",
    "simulate",
    "simulate_treatment",
]
