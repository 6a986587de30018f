"""The virtual-trial specification: a YAML document validated against a published JSON Schema.

A spec is data: who is enrolled (a tumour type's virtual population), how many, how they are
randomised, what each arm receives (regimens as clinics write them), when tumours are scanned,
how long patients are followed, and how response and death are read. Running it never mutates it.

Example (``examples/trials/checkmate067_like.yaml``, shipped as ``SPEC_DIR / "checkmate067_like.yaml"``)::

    name: CheckMate 067-like
    population: {tumour_type: melanoma}
    patients: 300
    seed: 67
    arms:
      - name: nivolumab + ipilimumab
        regimen: "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w"
      - {name: nivolumab, regimen: "nivolumab 3 mg/kg q2w"}
      - {name: ipilimumab, regimen: "ipilimumab 3 mg/kg q3w x4"}
    scans: {every_weeks: 12, first_weeks: 12}
    follow_up: {months: 60}

``oncoimmune schema trial`` prints the JSON Schema (:func:`trial_schema`). Every error names the
field (``arms[1].regimen``), the rule and the value; nothing is run before the whole spec is valid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from oncoimmune._validate import read_yaml
from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.population._parameters import ParameterDistribution, PlausibleRange

__all__ = [
    "SPEC_DIR",
    "ArmSpec",
    "ComparisonSpec",
    "EndpointsSpec",
    "TrialSpec",
    "VPopSpec",
    "load_trial_spec",
    "trial_schema",
]

SPEC_DIR = Path(__file__).resolve().parent / "specs"
"""Trial specs shipped with the package (``examples/trials/`` links to them)."""

MAX_PATIENTS = 1_000_000
"""Largest trial a spec may ask for (the engine scales further; a spec this large is a typo more often than not)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VPopSpec(_Frozen):
    """Enrol the trial from a virtual-population table (oncoimmune.population._enrol; docs/population.md)."""

    table: str = Field(
        min_length=1,
        description="A CSV or Parquet table, one virtual patient per row: the covariate columns of "
        "sample_population and optional param_NAME columns (`oncoimmune vpop`'s vpop.parquet, a trial's "
        "patients.parquet); a relative path is read from the spec file's folder (the working directory for a "
        "spec given as data)",
    )
    weight: str | None = Field(
        default=None,
        description="Column of prevalence weights (MAPEL's 'weight') to draw patients by, or 'equal'; must be "
        "given when the table has a 'weight' column",
    )
    sampling: Literal["resample", "in_order"] = Field(
        default="resample",
        description="resample: each patient is a VP drawn with probability proportional to its weight (seeded); "
        "in_order: patient i is row i (patients at most the rows)",
    )


class PopulationSpec(_Frozen):
    """Who is enrolled: a tumour type of :mod:`oncoimmune.population` and optional covariate overrides,
    or the rows of a virtual-population table (``vpop``)."""

    tumour_type: str = Field(description="melanoma, nsclc, rcc or lbcl (oncoimmune.population.tumour_types())")
    overrides: dict[str, float | int | str | bool] = Field(
        default_factory=dict, description="Covariate values imposed on every patient, e.g. {pdl1: 0.6}"
    )
    parameters: dict[str, ParameterDistribution] = Field(
        default_factory=dict,
        description=(
            "Model parameters that vary between patients beyond the covariates: {name: {median, omega}} "
            "(log-normal) or {name: {value}} (fixed); they override the calibration's"
        ),
    )
    plausible: dict[str, PlausibleRange] = Field(
        default_factory=dict,
        description=(
            "Ranges a patient's resulting model parameters must fall in, e.g. {kg: {upper: 0.35}}; the "
            "varying parameters of a patient outside them are redrawn (plausible patients)"
        ),
    )

    vpop: VPopSpec | None = Field(
        default=None,
        description="Enrol from a virtual-population table (selected or MAPEL-weighted) instead of sampling new "
        "patients: {table, weight, sampling}",
    )

    @model_validator(mode="after")
    def _vpop_alone(self) -> PopulationSpec:
        if self.vpop is not None and self.overrides:
            raise ValidationError(
                "population.overrides",
                "be empty when population.vpop is given (the table's rows are the patients' covariates)",
                dict(self.overrides),
            )
        return self

    @field_validator("tumour_type")
    @classmethod
    def _known(cls, v: str) -> str:
        from oncoimmune.population import tumour_types

        known = list(tumour_types())
        if v not in known:
            raise ValueError(f"must be one of {known}")
        return v


_UNTREATED_REGIMENS = ("none", "untreated", "best supportive care")
"""Regimen texts that give no drug (an untreated control arm)."""


def _untreated(regimen: str) -> bool:
    return regimen.strip().lower() in _UNTREATED_REGIMENS


class ArmSpec(_Frozen):
    """One arm: a name, a regimen as clinics write it (or ``none``), and its randomisation weight."""

    name: str = Field(min_length=1, max_length=80)
    regimen: str = Field(min_length=1, description='Regimen text, e.g. "pembrolizumab 200 mg q3w", or "none"')
    ratio: int = Field(default=1, ge=1, le=20, description="Randomisation weight (2 for a 2:1 arm)")
    placebo_every_weeks: float | None = Field(
        default=None,
        ge=1,
        le=52,
        allow_inf_nan=False,
        description="Double-blind design: matched placebo infusions every N weeks (1 to 52) from day 0 until "
        "treatment ends (progression, maximum duration, discontinuation). No drug, but the patient stays on "
        "study treatment: adverse events then are managed and collected up to 100 days after the last infusion",
    )

    @field_validator("placebo_every_weeks", mode="before")
    @classmethod
    def _not_a_flag(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError(f"must be a number of weeks, not {v!r}")
        return v

    @field_validator("placebo_every_weeks")
    @classmethod
    def _placebo_next_to_a_drug(cls, v: float | None, info: ValidationInfo) -> float | None:
        regimen = info.data.get("regimen")
        if v is None or regimen is None:
            return v
        from oncoimmune.toxicity import drug_classes_of

        if _untreated(regimen) or not drug_classes_of(regimen):
            raise ValueError(
                "needs a regimen with a drug the side-effect model knows (the placebo is matched to it); a "
                f"placebo-only arm is not modelled, got regimen {regimen!r}"
            )
        return v

    @property
    def treatment_text(self) -> str:
        """The regimen as reports show it: with ``+ matched placebo every N weeks`` in a double-blind arm."""
        if self.placebo_every_weeks is None:
            return self.regimen
        return f"{self.regimen} + matched placebo every {self.placebo_every_weeks:g} weeks"

    @field_validator("regimen")
    @classmethod
    def _parses(cls, v: str) -> str:
        if _untreated(v):
            return v
        from oncoimmune.treatments._doses import Regimen

        try:
            Regimen.parse(v)
        except Exception as exc:
            raise ValueError(str(exc)) from None
        return v

    @property
    def untreated(self) -> bool:
        return _untreated(self.regimen)


class ScanSpec(_Frozen):
    """Scan schedule (weeks from randomisation); baseline is day 0."""

    every_weeks: float | None = Field(default=None, gt=0, description="Interval of the first phase")
    until_weeks: float | None = Field(default=None, gt=0, description="Last week of the first phase")
    then_weeks: float | None = Field(default=None, gt=0, description="Interval after the first phase")
    end_weeks: float | None = Field(default=None, gt=0, description="Last possible scan")
    first_weeks: float | None = Field(default=None, gt=0, description="First on-treatment scan")
    days: tuple[float, ...] | None = Field(default=None, description="Explicit scan days instead of a rule")

    @model_validator(mode="after")
    def _rule(self) -> ScanSpec:
        if (self.days is None) == (self.every_weeks is None):
            raise ValueError("give either every_weeks (with optional until/then/end/first weeks) or days")
        return self

    def schedule(self, horizon_days: float) -> Any:
        """The :class:`~oncoimmune.trial.ScanSchedule`; a rule without an end runs to ``horizon_days``."""
        from oncoimmune.trial._recist import ScanSchedule

        options = self.model_dump(exclude_none=True)
        if (
            "every_weeks" in options
            and "end_weeks" not in options
            and ("until_weeks" not in options or "then_weeks" in options)
        ):
            options["end_weeks"] = horizon_days / 7.0
        return ScanSchedule.from_mapping(options, where="scans")


class FollowUpSpec(_Frozen):
    """Follow-up: minimum months after the last patient's randomisation, and accrual duration."""

    months: float = Field(gt=0, le=240, description="Minimum follow-up (months of 30.44 days)")
    accrual_months: float = Field(default=0.0, ge=0, le=120, description="Uniform accrual duration")


class MeasurementNoiseSpec(_Frozen):
    """Error on each lesion's measured diameter at each scan (oncoimmune.trial.MeasurementNoise):
    N(0, sd_mm^2 + (cv d)^2), independent per lesion and scan, drawn from the trial's seed."""

    sd_mm: float = Field(default=0.0, ge=0, le=20, allow_inf_nan=False, description="Additive SD per lesion, mm")
    cv: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False, description="Proportional CV per lesion")


class ResponseSpec(_Frozen):
    """How tumour response is read (oncoimmune.trial.ResponseCriteria)."""

    criteria: Literal["recist1.1", "irecist"] = "recist1.1"
    confirm: bool = Field(default=False, description="Require confirmation of PR/CR (non-randomised trials)")
    min_sd_weeks: float = Field(default=6.0, gt=0)
    measurement_noise: MeasurementNoiseSpec | None = Field(
        default=None,
        description="Measurement error of the lesion diameters (population.md §3.3: about 5-10 % CV or 1-2 mm per "
        "lesion, U); none by default (exact measurements)",
    )


class TreatmentSpec(_Frozen):
    """When treatment stops (at RECIST progression, iRECIST: its progression date; after a maximum duration) and
    how oral kinase inhibitors are integrated."""

    stop_at_progression: bool = Field(default=True, description="Stop dosing at progression, as trials do")
    max_months: float | None = Field(default=None, gt=0, le=240, description="Maximum treatment duration, e.g. 24")
    oral_input: Literal["doses", "continuous"] = Field(
        default="doses",
        description="How daily or twice-daily oral kinase inhibitors enter the model: each dose (exact), or spread "
        "over its dosing interval with the IC50 that keeps the steady-state mean growth inhibition "
        "(oncoimmune.treatments.plan_patient; about 100 times faster over months of dosing)",
    )


class AnalysisSpec(_Frozen):
    """Which patients an arm's figures count: every randomised patient (intention to treat), or only
    those treated (the modified intention-to-treat set of single-arm and cell-therapy trials)."""

    population: Literal["randomised", "treated"] = Field(
        default="randomised",
        description=(
            "randomised: every patient (intention to treat); treated: patients who received a first dose "
            "(of treated_with, if given) before treatment stopped and before death"
        ),
    )
    treated_with: str | None = Field(
        default=None,
        description=(
            "With population treated: the drug whose first dose admits a patient, e.g. the CAR-T product "
            "when lymphodepletion comes first (ZUMA-1 counted the patients given axi-cel); default: any drug"
        ),
    )

    @model_validator(mode="after")
    def _drug(self) -> AnalysisSpec:
        if self.treated_with is not None:
            if self.population != "treated":
                raise ValidationError(
                    "analysis.treated_with", "be given only with population: treated", self.treated_with
                )
            from oncoimmune.treatments._prescription import resolve_drug

            resolve_drug(self.treated_with, "trial spec", "analysis.treated_with")
        return self


class ToxicitySpec(_Frozen):
    """Side effects: simulate them, and apply the management rules (holds, steroids, discontinuation)."""

    enabled: bool = True
    management: bool = True
    feedback: bool = True
    """Feed the management back into the treatment: skip held doses and give the corticosteroid
    courses (which damp T-cell priming and expansion in io_qsp). ``False`` records the actions only
    (permanent discontinuation still stops dosing)."""
    checkpoint_label: Literal["current", "yervoy_2011"] = "current"
    """Which checkpoint labels the discontinuation rules follow: ``current`` (the OPDIVO/YERVOY labels now:
    withhold for grade 3) or ``yervoy_2011`` (the first YERVOY label, in force when CheckMate 067 enrolled:
    a severe immune-mediated reaction during the ipilimumab course permanently stops the regimen;
    oncoimmune.toxicity.manage)."""


class ComparisonSpec(_Frozen):
    """One hypothesis of the trial: an endpoint compared between an experimental and a control arm, or a
    single arm's response rate against a historical rate (oncoimmune.trial._endpoints)."""

    endpoint: Literal["pfs", "os", "orr"]
    experimental: str = Field(min_length=1, description="The arm tested")
    control: str | None = Field(default=None, description="The comparator arm (absent: single-arm ORR vs null_rate)")
    null_rate: float | None = Field(
        default=None, gt=0, lt=1, allow_inf_nan=False, description="Single-arm ORR: the rate the arm must beat"
    )
    alpha: float | None = Field(
        default=None, gt=0, lt=0.5, allow_inf_nan=False, description="This test's alpha (default endpoints.alpha)"
    )
    label: str = Field(default="", max_length=120, description='e.g. "co-primary", "key secondary"')

    @model_validator(mode="after")
    def _design(self) -> ComparisonSpec:
        if self.control is None:
            if self.endpoint != "orr" or self.null_rate is None:
                raise ValueError("a comparison without control is a single-arm ORR test: endpoint orr with null_rate")
        elif self.null_rate is not None:
            raise ValueError("null_rate is for a single-arm ORR test (no control)")
        elif self.control == self.experimental:
            raise ValueError("control must be another arm than experimental")
        return self


class EndpointsSpec(_Frozen):
    """The trial's endpoints: the comparisons it tests, at what alpha, and its landmark months."""

    primary: tuple[ComparisonSpec, ...] = Field(default=(), max_length=12)
    secondary: tuple[ComparisonSpec, ...] = Field(default=(), max_length=24)
    alpha: float = Field(default=0.05, gt=0, lt=0.5, allow_inf_nan=False, description="Significance level")
    sided: Literal[1, 2] = Field(
        default=2, description="Two-sided tests (default) or one-sided in favour of experimental"
    )
    landmarks_months: tuple[float, ...] = Field(
        default=(12.0, 24.0, 36.0, 60.0),
        max_length=24,
        description="Months at which PFS and OS rates are reported (with any a target names)",
    )

    @field_validator("landmarks_months")
    @classmethod
    def _landmarks(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        for x in v:
            if not (math.isfinite(x) and 0 < x <= 240):
                raise ValueError(f"landmark months must be in (0, 240], not {x}")
        return v


_METRICS = (
    "orr",
    "cr",
    "dcr",
    "median_pfs_months",
    "median_os_months",
    "median_dor_months",
    "trae_any",
    "trae_g3plus",
    "ae_discontinuation",
    "pfs_rate",
    "os_rate",
    "pfs_hr",
    "os_hr",
    "ae",
)


class Target(_Frozen):
    """One published figure of one arm (a calibration or validation target).

    ``metric`` is a figure of the trial summary: ``orr``, ``cr``, ``dcr``, ``median_pfs_months``,
    ``median_os_months``, ``median_dor_months`` (duration of response), ``trae_any``, ``trae_g3plus``,
    ``ae_discontinuation`` (patients who permanently
    stopped a drug for an adverse event), a landmark rate ``pfs_rate.12`` / ``os_rate.36``
    (months), a hazard ratio ``pfs_hr`` / ``os_hr`` against the arm named in ``versus``, or an
    adverse-event rate ``ae.TERM.any`` / ``ae.TERM.g3plus`` (terms of :mod:`oncoimmune.toxicity`).
    """

    arm: str = Field(min_length=1)
    metric: str = Field(
        description="orr, cr, dcr, median_pfs_months, median_os_months, median_dor_months, trae_any, trae_g3plus, "
        "ae_discontinuation, "
        "os_rate.36, "
        "pfs_hr (with versus), ae.crs.g3plus ..."
    )
    versus: str | None = Field(default=None, description="The comparator arm of a hazard ratio")
    value: float = Field(allow_inf_nan=False)
    tolerance: float = Field(gt=0, allow_inf_nan=False)
    kind: Literal["absolute", "relative"] = "absolute"
    weight: float = Field(default=1.0, ge=0, allow_inf_nan=False, description="Weight in a calibration search")
    source: str = ""

    @model_validator(mode="after")
    def _metric(self) -> Target:
        head, _, tail = self.metric.partition(".")
        if head not in _METRICS:
            raise ValueError(f"metric must be one of {list(_METRICS)} (rates as os_rate.36), not {self.metric!r}")
        if head in ("pfs_rate", "os_rate") and not tail.isdigit():
            raise ValueError(f"{head} needs a month, e.g. {head}.36")
        if head == "ae":
            from oncoimmune.toxicity import ALL_TERMS

            term, _, grade = tail.partition(".")
            if term not in ALL_TERMS or grade not in ("any", "g3plus"):
                raise ValueError(f"ae metrics read ae.TERM.any or ae.TERM.g3plus with TERM one of {list(ALL_TERMS)}")
        elif head not in ("pfs_rate", "os_rate") and tail:
            raise ValueError(f"{head} takes no suffix")
        if self.kind == "relative" and self.value == 0:
            raise ValueError("a relative tolerance needs a non-zero value")
        if (head in ("pfs_hr", "os_hr")) != (self.versus is not None):
            raise ValueError("a hazard ratio (pfs_hr, os_hr) needs versus: ARM, and only a hazard ratio takes it")
        return self

    @property
    def scale(self) -> float:
        """The tolerance in the metric's unit."""
        return self.tolerance * abs(self.value) if self.kind == "relative" else self.tolerance

    @property
    def key(self) -> str:
        return f"{self.arm}: {self.metric}" + (f" vs {self.versus}" if self.versus else "")


class TrialSpec(_Frozen):
    """A virtual clinical trial (see the module docstring for an example)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    model: str = Field(default="io_qsp", description="A model with dose slots")
    population: PopulationSpec
    patients: int = Field(gt=0, le=MAX_PATIENTS, description="Patients randomised in total")
    seed: int = Field(ge=0, description="Seed of every random draw (population, randomisation, deaths, noise)")
    arms: tuple[ArmSpec, ...] = Field(min_length=1, max_length=12)
    scans: ScanSpec
    follow_up: FollowUpSpec
    response: ResponseSpec = ResponseSpec()
    treatment: TreatmentSpec = TreatmentSpec()
    toxicity: ToxicitySpec = ToxicitySpec()
    analysis: AnalysisSpec = AnalysisSpec()
    endpoints: EndpointsSpec = Field(
        default=EndpointsSpec(),
        description="Primary and secondary comparisons (log-rank and Cox HR for PFS/OS, Fisher's exact test for ORR, "
        "an exact binomial test for a single arm's ORR), alpha, sidedness and the landmark months of the rates",
    )
    output_every_days: float = Field(default=7.0, gt=0, le=28, description="Spacing of the simulated trajectories")
    death_model: dict[str, Any] = Field(default_factory=dict, description="Options of oncoimmune.trial.DeathModel")
    new_lesions: dict[str, Any] = Field(
        default_factory=dict,
        description="Options of oncoimmune.trial.NewLesionModel (rate_per_day, reference_cells, exponent, lesion_mm): "
        "new lesions seeded at a rate that follows the viable tumour burden, each one progression under RECIST 1.1; "
        "overrides the calibration's key by key; none when neither sets them",
    )
    residual_mass: dict[str, Any] = Field(
        default_factory=dict,
        description="Options of oncoimmune.trial.ResidualMassModel (share, omega, fraction, clearance_per_day): a "
        "share of the volume a lesion loses stays visible as non-viable residue, so a cleared tumour can read as a "
        "partial response; overrides the calibration's key by key; none when neither sets them",
    )
    targets: tuple[Target, ...] = Field(
        default=(),
        description="Published figures this trial should reproduce; the summary reports simulated vs target",
    )
    calibration: str | None = Field(
        default=None,
        description=(
            "A shipped calibration (e.g. checkmate067; oncoimmune.trial.calibrations()) or a calibration YAML "
            "path: its parameter distributions and death model apply unless this spec sets its own"
        ),
    )

    @field_validator("new_lesions")
    @classmethod
    def _new_lesions(cls, v: dict[str, Any]) -> dict[str, Any]:
        from oncoimmune.trial._lesions import NewLesionModel

        # a spec may set some options and take the rest (the rate) from its calibration
        NewLesionModel.from_mapping({"rate_per_day": 0.0, **v}, where="new_lesions")
        return v

    @field_validator("residual_mass")
    @classmethod
    def _residual_mass(cls, v: dict[str, Any]) -> dict[str, Any]:
        from oncoimmune.trial._lesions import ResidualMassModel

        # a spec may set some options and take the rest (the share) from its calibration
        ResidualMassModel.from_mapping({"share": 0.0, **v}, where="residual_mass")
        return v

    @field_validator("calibration")
    @classmethod
    def _calibration(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from oncoimmune.trial._calibration import load_calibration

        load_calibration(v)  # our ValidationError (a ValueError) names the field; see trial_spec_from_dict
        return v

    @model_validator(mode="after")
    def _parameters_of_model(self) -> TrialSpec:
        from oncoimmune.models._base import get_model
        from oncoimmune.population._parameters import check_parameter_set, check_plausible_ranges

        model = get_model(self.model)
        check_parameter_set(model, self.population.parameters, "population.parameters")
        check_plausible_ranges(model, self.population.plausible, "population.plausible")
        if self.calibration is not None:
            from oncoimmune.trial._calibration import check_calibration_fits, load_calibration

            cal = load_calibration(self.calibration)
            check_calibration_fits(cal, self.population.tumour_type, self.model, "calibration", self.calibration)
        return self

    @model_validator(mode="after")
    def _vpop_table(self) -> TrialSpec:
        vpop = self.population.vpop
        if vpop is None:
            return self
        table = read_spec_vpop(self)
        if table.parameters is not None:
            for key in ("parameters", "plausible"):
                if getattr(self.population, key):
                    raise ValidationError(
                        f"population.{key}",
                        "be empty when the VPop table gives the patients' parameters (its param_ columns)",
                        sorted(getattr(self.population, key)),
                    )
        if vpop.sampling == "in_order" and self.patients > table.rows:
            raise ValidationError(
                "patients",
                f"be at most the VPop table's {table.rows} rows (population.vpop.sampling: in_order)",
                self.patients,
            )
        if vpop.sampling == "in_order" and table.weights is not None:
            raise ValidationError(
                "population.vpop.weight", "be 'equal' or absent with sampling: in_order (every row once)", vpop.weight
            )
        return self

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        from oncoimmune.models._base import registry

        models = registry()
        if v not in models:
            raise ValueError(f"must be one of {sorted(models)}")
        if not models[v].dose_slots:
            raise ValueError("must have dose slots (e.g. io_qsp)")
        return v

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: tuple[ArmSpec, ...]) -> tuple[ArmSpec, ...]:
        names = [a.name for a in arms]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"arm names must be unique; repeated: {dup}")
        return arms

    @model_validator(mode="after")
    def _analysis_arms(self) -> TrialSpec:
        if self.analysis.population != "treated":
            return self
        from oncoimmune.treatments._doses import Regimen
        from oncoimmune.treatments._prescription import resolve_drug

        want = None if self.analysis.treated_with is None else resolve_drug(self.analysis.treated_with).name
        for i, a in enumerate(self.arms):
            drugs = set() if a.untreated else {d.drug for d in Regimen.parse(a.regimen).doses}
            if not drugs or (want is not None and want not in drugs):
                raise ValidationError(
                    f"arms[{i}].regimen",
                    f"give {want or 'a drug'} (analysis.population is treated)",
                    a.regimen,
                )
        return self

    @model_validator(mode="after")
    def _endpoint_arms(self) -> TrialSpec:
        names = [a.name for a in self.arms]
        for role in ("primary", "secondary"):
            for i, c in enumerate(getattr(self.endpoints, role)):
                for key in ("experimental", "control"):
                    v = getattr(c, key)
                    if v is not None and v not in names:
                        raise ValidationError(f"endpoints.{role}[{i}].{key}", f"be one of the arms {names}", v)
        return self

    @model_validator(mode="after")
    def _target_arms(self) -> TrialSpec:
        names = [a.name for a in self.arms]
        for i, t in enumerate(self.targets):
            if t.arm not in names:
                raise ValidationError(f"targets[{i}].arm", f"be one of the arms {names}", t.arm)
            if t.versus is not None and (t.versus not in names or t.versus == t.arm):
                raise ValidationError(f"targets[{i}].versus", f"be another of the arms {names}", t.versus)
        return self

    @property
    def follow_up_days(self) -> float:
        return self.follow_up.months * 365.25 / 12.0

    def with_overrides(self, *, patients: int | None = None, seed: int | None = None) -> TrialSpec:
        """A copy with another number of patients or seed (the command-line overrides), validated."""
        data = self.model_dump()
        if patients is not None:
            data["patients"] = patients
        if seed is not None:
            data["seed"] = seed
        return trial_spec_from_dict(data, where="trial spec (with command-line overrides)")


def read_spec_vpop(spec: TrialSpec) -> Any:
    """The checked :class:`~oncoimmune.population._enrol.VPopTable` of a spec with ``population.vpop``."""
    from oncoimmune.models._base import get_model
    from oncoimmune.population._enrol import read_vpop_table
    from oncoimmune.trial._calibration import resolve_population

    vpop = spec.population.vpop
    assert vpop is not None
    varying = resolve_population(spec)[0]
    return read_vpop_table(
        vpop.table,
        tumour_type=spec.population.tumour_type,
        model=get_model(spec.model),
        varying=varying,
        weight=vpop.weight,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "spec"


def trial_spec_from_dict(data: Mapping[str, Any], where: str = "trial spec") -> TrialSpec:
    """Validate a mapping into a :class:`TrialSpec`; the first error names its field, rule and value."""
    if not isinstance(data, Mapping):
        raise ValidationError("spec", "be a mapping (a YAML document with name, population, arms ...)", data, where)
    try:
        return TrialSpec.model_validate(dict(data))
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
        field = _field_path(loc)
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ValidationError):  # raised by a validator of ours: it names its own field
            name = inner.field if not loc or inner.field.startswith(field) else f"{field}: {inner.field}"
            inner_where = f"{where}" + (f" ({inner.where})" if inner.where else "")
            if isinstance(inner, UnknownNameError):
                raise UnknownNameError(name, inner.value, inner.choices, inner_where) from None
            raise ValidationError(name, inner.rule, inner.value, inner_where) from None
        value = err.get("input", None)
        rule = err["msg"]
        if rule.startswith("Value error, "):
            rule = rule[len("Value error, ") :]
        if err["type"] == "missing":
            value = None
            rule = "be given"
        elif err["type"] == "extra_forbidden":
            rule = "be a known field (see `oncoimmune schema trial`)"
        else:
            rule = "be valid: " + rule[0].lower() + rule[1:]
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        raise ValidationError(field, rule, value, where) from None


def load_trial_spec(path: str | Path) -> TrialSpec:
    """Read and validate a trial spec from YAML (safe loader; nothing in it is executed)."""
    p = Path(path)
    return trial_spec_from_dict(read_spec_data(p), where=p.name)


def read_spec_data(path: Path) -> Any:
    """A trial spec file's YAML document (safe loader), with a relative ``population.vpop.table`` made
    the spec file's neighbour (its real folder, through links: shipped specs are linked from examples/)."""
    data = read_yaml(path, "trial spec")
    pop = data.get("population") if isinstance(data, Mapping) else None
    vpop = pop.get("vpop") if isinstance(pop, Mapping) else None
    if isinstance(vpop, Mapping) and isinstance(vpop.get("table"), str):
        table = Path(vpop["table"]).expanduser()  # ~/vpop.parquet is the user's home
        if not table.is_absolute():
            table = path.resolve().parent / table
        data = {**data, "population": {**pop, "vpop": {**vpop, "table": str(table)}}}
    return data


def trial_schema() -> dict[str, Any]:
    """The JSON Schema of a trial spec (draft 2020-12), as published by ``oncoimmune schema trial``."""
    schema = TrialSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://oncoimmune.org/schema/trial.json"
    schema["title"] = "oncoimmune virtual clinical trial"
    return schema


def metric_value(summary: Mapping[str, Any], arm: str, metric: str, versus: str | None = None) -> float:
    """One figure of a trial summary (NaN where the trial cannot give it, e.g. a median not reached)."""
    arms = summary["arms"]
    if arm not in arms:
        raise ValidationError("arm", f"be one of the trial's arms {list(arms)}", arm, "calibration target")
    s = arms[arm]
    head, _, tail = metric.partition(".")
    if head in ("pfs_hr", "os_hr"):
        v = (s.get(f"{head}_vs") or {}).get(versus)
    else:
        v = s.get(head)
        for part in tail.split(".") if tail else ():
            v = (v or {}).get(part)
    return float("nan") if v is None else float(v)


def tolerance_text(row: Mapping[str, Any]) -> str:
    """A target row's tolerance as published tables write it (``± 5 pts``, ``± 25 %``, ``± 0.10``)."""
    if row["kind"] == "relative":
        return f"± {100 * row['tolerance']:.0f} %"
    if row["metric"].startswith(("pfs_hr", "os_hr")):
        return f"± {row['tolerance']:.2f}"
    return f"± {100 * row['tolerance']:.0f} pts"


def evaluate_targets(summary: Mapping[str, Any], targets: list[Target]) -> list[dict[str, Any]]:
    """Each target with its simulated value, the difference and whether it is inside its tolerance."""
    rows = []
    for t in targets:
        s = metric_value(summary, t.arm, t.metric, t.versus)
        inside = bool(math.isfinite(s) and abs(s - t.value) <= t.scale + 1e-12)
        rows.append(
            {
                "arm": t.arm,
                "metric": t.metric,
                "versus": t.versus,
                "target": t.value,
                "tolerance": t.tolerance,
                "kind": t.kind,
                "simulated": None if not math.isfinite(s) else round(s, 6),
                "inside": inside,
                "source": t.source,
            }
        )
    return rows
