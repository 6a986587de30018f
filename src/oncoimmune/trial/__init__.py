"""Virtual clinical trials: a YAML spec, its run, tumour response (RECIST 1.1, iRECIST) and survival.

:func:`load_trial_spec` validates a spec (JSON Schema: :func:`trial_schema`, ``oncoimmune schema
trial``) and :func:`run_trial` runs it (``oncoimmune trial SPEC.yaml``). The building blocks below
can also be used on their own.

The functions work on arrays over the patients of one arm, so a trial runner calls them per arm:

1. sample the simulated sum of diameters (io_qsp ``sld_mm``) at ``ScanSchedule.days`` and read the
   responses with :func:`assess_response` (best overall response, progression day, waterfall and
   spider data);
2. draw deaths from the tumour burden (io_qsp ``tumour_cells``) and background mortality with
   :func:`draw_death_times`, new lesions with :func:`draw_new_lesion_days` (passed to
   :func:`assess_response`), and follow-up with :func:`administrative_follow_up`;
3. combine them into PFS and OS with :func:`survival_endpoints` (lifelines vocabulary:
   ``durations``, ``event_observed``);
4. summarise the arms with :func:`summarise_survival` (Kaplan–Meier medians with CI, landmark rates,
   log-rank p, Cox hazard ratios) or the individual :func:`kaplan_meier`, :func:`logrank_test` and
   :func:`cox_hazard_ratio`.

Every random draw is per patient (:func:`patient_generators`), so results are bit-identical
whatever the chunking. Outputs are for research and education; decisions about a patient's care
belong with the patient's doctor.
"""

from oncoimmune.trial._calibration import CALIBRATION_DIR, Calibration, calibrations, load_calibration
from oncoimmune.trial._lesions import MAX_NEW_LESIONS, NewLesionModel, ResidualMassModel, draw_new_lesion_days
from oncoimmune.trial._predict import DEFAULT_THERAPIES, Prediction, predict, read_profile
from oncoimmune.trial._recist import (
    CRITERIA,
    MeasurementNoise,
    ResponseAssessment,
    ResponseCriteria,
    ScanSchedule,
    assess_response,
)
from oncoimmune.trial._report import write_report
from oncoimmune.trial._run import TrialResult, run_trial
from oncoimmune.trial._spec import ArmSpec, TrialSpec, load_trial_spec, trial_schema, trial_spec_from_dict
from oncoimmune.trial._survival import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    US_LIFE_TABLE_2022,
    DeathModel,
    DeathTimes,
    HazardRatio,
    KaplanMeier,
    LifeTable,
    LogRankResult,
    SurvivalData,
    SurvivalEndpoints,
    TumourBurdenHazard,
    administrative_follow_up,
    cox_hazard_ratio,
    draw_death_times,
    kaplan_meier,
    logrank_test,
    patient_generators,
    summarise_survival,
    survival_endpoints,
)

__all__ = [
    "CALIBRATION_DIR",
    "CRITERIA",
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "DEFAULT_THERAPIES",
    "MAX_NEW_LESIONS",
    "US_LIFE_TABLE_2022",
    "ArmSpec",
    "Calibration",
    "DeathModel",
    "DeathTimes",
    "HazardRatio",
    "KaplanMeier",
    "LifeTable",
    "LogRankResult",
    "MeasurementNoise",
    "NewLesionModel",
    "Prediction",
    "ResidualMassModel",
    "ResponseAssessment",
    "ResponseCriteria",
    "ScanSchedule",
    "SurvivalData",
    "SurvivalEndpoints",
    "TrialResult",
    "TrialSpec",
    "TumourBurdenHazard",
    "administrative_follow_up",
    "assess_response",
    "calibrations",
    "cox_hazard_ratio",
    "draw_death_times",
    "draw_new_lesion_days",
    "kaplan_meier",
    "load_calibration",
    "load_trial_spec",
    "logrank_test",
    "patient_generators",
    "predict",
    "read_profile",
    "run_trial",
    "summarise_survival",
    "survival_endpoints",
    "trial_schema",
    "trial_spec_from_dict",
    "write_report",
]
