"""Treatments: doses, schedules and regimens (immutable values, loadable from YAML), patient covariates
and the drug library."""

from oncoimmune.treatments._covariates import BSA_FORMULAS, Covariates
from oncoimmune.treatments._doses import Bolus, EventTable, Infusion, Regimen, cycles, every
from oncoimmune.treatments._drugs import Drug, PKPatient, PKSimulation, drug_library, get_drug, load_drug_file

__all__ = [
    "BSA_FORMULAS",
    "Bolus",
    "Covariates",
    "Drug",
    "EventTable",
    "Infusion",
    "PKPatient",
    "PKSimulation",
    "Regimen",
    "cycles",
    "drug_library",
    "every",
    "get_drug",
    "load_drug_file",
]
