"""Treatments: doses, schedules and regimens (immutable values, loadable from YAML), patient covariates
and the drug library."""

from oncoimmune.treatments._covariates import BSA_FORMULAS, Covariates
from oncoimmune.treatments._doses import Bolus, EventTable, Infusion, Regimen, cycles, every
from oncoimmune.treatments._drugs import Drug, PKPatient, PKSimulation, drug_library, get_drug, load_drug_file
from oncoimmune.treatments._plan import PatientPlan, TreatmentResult, plan_patient, simulate_treatment
from oncoimmune.treatments._prescription import Administration, DrugDose, parse_regimen

__all__ = [
    "BSA_FORMULAS",
    "Administration",
    "Bolus",
    "Covariates",
    "Drug",
    "DrugDose",
    "EventTable",
    "Infusion",
    "PKPatient",
    "PKSimulation",
    "PatientPlan",
    "Regimen",
    "TreatmentResult",
    "cycles",
    "drug_library",
    "every",
    "get_drug",
    "load_drug_file",
    "parse_regimen",
    "plan_patient",
    "simulate_treatment",
]
