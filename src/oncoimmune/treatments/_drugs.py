r"""The drug library: one YAML data file per drug, validated by a frozen pydantic schema.

Each file in ``oncoimmune/treatments/drugs/`` describes one drug as data: names, class, target
and mechanism, the dose units it is prescribed in, its population-PK model (a registered model,
a variant holding the typical patient's parameters, and the covariate model with every exponent,
its unit, source and pharmacology.md flag), the standard regimens as clinics write them, the
infusion duration, and the pharmacodynamic exposure–effect relation the QSP model will act
through (data only for now).

Flags (pharmacology.md): **V** seen in a retrieved source, **R** recalled (verify before using as a
hard constant), **U** uncertain, **C** computed from V parameters (a regression target).

Covariate effects multiply a typical parameter :math:`\theta` (the model variant's value):

================== =========================================== =====================================
form               factor                                      example
================== =========================================== =====================================
``power``          :math:`(x/x_{ref})^{e}`                     CL × (WT/80)^0.566
``log_ratio_power`` :math:`(\ln x/\ln x_{ref})^{e}`            ipilimumab CL × (ln LDH/ln 206)^1.13
``linear``         :math:`1 + e\,(x - x_{ref})`                rituximab CL1 × (1 − 0.0082 (age − 60))
``exp_indicator``  :math:`\exp(e\,I)`                          nivolumab CL × exp(0.165·[male])
``linear_indicator`` :math:`1 + e\,I`                          pembrolizumab CL × (1 − 0.152·[female])
================== =========================================== =====================================

Continuous covariates are attributes of :class:`~oncoimmune.treatments.Covariates`; indicators
are ``female``, ``male``, ``ecog_ge_1``, ``asian``, ``black`` or a name in
``Covariates.conditions`` (``nsclc``, ``ada_positive``, ``prior_ipilimumab``,
``liver_metastases``, ``progressor``). A continuous covariate the patient lacks takes the model's
reference value, and :meth:`Drug.pk_patient` lists it under ``assumed``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from oncoimmune._validate import read_yaml
from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.treatments._covariates import Covariates
from oncoimmune.units import AMOUNT_UNITS, Amount, normalise_unit, to_amount

__all__ = [
    "DRUG_DIR",
    "CovariateEffect",
    "Drug",
    "PKPatient",
    "PKSimulation",
    "Quantity",
    "drug_library",
    "get_drug",
    "load_drug_file",
]

DRUG_DIR = Path(__file__).resolve().parent / "drugs"
"""Directory of the drug data files shipped with the package."""

Flag = Literal["V", "R", "U", "C"]
DrugClass = Literal[
    "checkpoint_antibody",
    "tumour_targeting_antibody",
    "immunoglobulin",
    "cytokine",
    "vaccine",
    "car_t",
    "lymphodepletion",
    "chemotherapy",
    "targeted_therapy",
]

CONTINUOUS_COVARIATES: dict[str, str] = {
    "weight_kg": "kg",
    "height_cm": "cm",
    "age_years": "years",
    "albumin_g_per_l": "g/L",
    "egfr": "mL/min/1.73 m2",
    "ldh_u_per_l": "U/L",
    "ast_u_per_l": "U/L",
    "tumour_burden_mm": "mm",
}
"""Continuous covariates a PK covariate model may use, with the unit its reference must be in."""

_INDICATOR_FORMS = ("exp_indicator", "linear_indicator")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


class Quantity(_Frozen):
    """A number with its unit, source and pharmacology.md flag."""

    value: float
    unit: str = Field(min_length=1)
    source: str = Field(min_length=1)
    flag: Flag
    note: str = ""

    _check = field_validator("value")(_finite)


class CovariateEffect(_Frozen):
    """One covariate effect of a popPK model on one parameter (forms in the module docstring)."""

    parameter: str = Field(min_length=1)
    covariate: str = Field(min_length=1)
    form: Literal["power", "log_ratio_power", "linear", "exp_indicator", "linear_indicator"]
    coefficient: float
    reference: float | None = None
    unit: str = Field(min_length=1)
    source: str = Field(min_length=1)
    flag: Flag
    note: str = ""

    _check = field_validator("coefficient")(_finite)

    @model_validator(mode="after")
    def _consistent(self) -> CovariateEffect:
        if self.form in _INDICATOR_FORMS:
            if self.reference is not None:
                raise ValueError(f"an indicator effect ({self.form}) takes no reference")
            if self.unit != "1":
                raise ValueError("the unit of an indicator effect must be '1'")
            if self.covariate in CONTINUOUS_COVARIATES:
                raise ValueError(f"{self.covariate} is continuous; use power, log_ratio_power or linear")
            return self
        if self.covariate not in CONTINUOUS_COVARIATES:
            raise ValueError(f"covariate must be one of {sorted(CONTINUOUS_COVARIATES)} for form {self.form}")
        want = CONTINUOUS_COVARIATES[self.covariate]
        if self.unit != want:
            raise ValueError(f"the unit of {self.covariate} must be {want!r}, got {self.unit!r}")
        if self.reference is None or not math.isfinite(self.reference):
            raise ValueError(f"a {self.form} effect needs a finite reference value")
        if self.form in ("power", "log_ratio_power") and self.reference <= (
            1.0 if self.form == "log_ratio_power" else 0
        ):
            raise ValueError(
                f"the reference of a {self.form} effect must be > {1 if self.form == 'log_ratio_power' else 0}"
            )
        return self


class PKSpec(_Frozen):
    """Population-PK model of a drug: registry model, variant (typical patient) and covariate model."""

    model: str
    variant: str
    source: str = Field(min_length=1)
    flag: Flag
    reference_patient: str = Field(min_length=1)
    covariates: tuple[CovariateEffect, ...] = ()
    not_included: str = ""

    @model_validator(mode="after")
    def _known(self) -> PKSpec:
        from oncoimmune.models._base import registry

        models = registry()
        if self.model not in models:
            raise ValueError(f"model must be one of {sorted(models)}, got {self.model!r}")
        m = models[self.model]
        if self.variant not in m.variants:
            raise ValueError(f"variant must be one of {sorted(m.variants)}, got {self.variant!r}")
        for eff in self.covariates:
            if eff.parameter not in m.parameter_names:
                raise ValueError(f"covariate effect on unknown parameter {eff.parameter!r} of {self.model}")
        return self


class RegimenSpec(_Frozen):
    """A standard regimen as the clinic writes it, with its structured reading."""

    text: str = Field(min_length=1)
    dose: float = Field(gt=0)
    unit: str
    interval_days: float | None = Field(default=None, gt=0)
    count: int | None = Field(default=None, ge=1)
    loading_dose: float | None = Field(default=None, gt=0)
    setting: str = ""
    source: str = Field(min_length=1)
    flag: Flag

    _check = field_validator("dose")(_finite)

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        try:
            return normalise_unit(v)
        except ValidationError as exc:
            raise ValueError(str(exc)) from None


class InfusionSpec(_Frozen):
    """Standard infusion duration (and the first infusion's, where it differs)."""

    minutes: Quantity
    first_minutes: Quantity | None = None

    @model_validator(mode="after")
    def _minutes(self) -> InfusionSpec:
        for q in (self.minutes, self.first_minutes):
            if q is not None and (q.unit != "min" or q.value <= 0):
                raise ValueError("infusion durations must be > 0 and in 'min'")
        return self


class PDSpec(_Frozen):
    """An exposure–effect relation the QSP model will use (data only for now)."""

    relation: str = Field(min_length=1)
    target: str = Field(min_length=1)
    description: str = Field(min_length=1)
    parameters: dict[str, Quantity] = Field(default_factory=dict)


class Drug(_Frozen):
    """One drug of the library (see the module docstring for the file format)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    brand_names: tuple[str, ...] = ()
    drug_class: DrugClass = Field(alias="class")
    target: str = Field(min_length=1)
    mechanism: str = Field(min_length=1)
    amount_unit: str
    dose_units: tuple[str, ...] = Field(min_length=1)
    molecular_weight: Quantity | None = None
    pk: PKSpec | None = None
    pk_limitations: str = ""
    infusion: InfusionSpec | None = None
    regimens: tuple[RegimenSpec, ...] = Field(min_length=1)
    pd: tuple[PDSpec, ...] = ()
    evidence: str = ""
    notes: str = ""

    @field_validator("amount_unit")
    @classmethod
    def _amount_unit(cls, v: str) -> str:
        if v not in AMOUNT_UNITS:
            raise ValueError(f"must be one of {sorted(AMOUNT_UNITS)}")
        return v

    @field_validator("dose_units")
    @classmethod
    def _dose_units(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for u in v:
            try:
                out.append(normalise_unit(u))
            except ValidationError as exc:
                raise ValueError(str(exc)) from None
        return tuple(out)

    @model_validator(mode="after")
    def _regimen_units(self) -> Drug:
        for r in self.regimens:
            if r.unit not in self.dose_units:
                raise ValueError(
                    f"regimen {r.text!r} uses unit {r.unit!r}, not among dose_units {list(self.dose_units)}"
                )
        if self.pk is None and not self.pk_limitations:
            raise ValueError("a drug without a PK model must explain why in pk_limitations")
        return self

    # -- PK ------------------------------------------------------------------------------------
    def pk_patient(self, covariates: Covariates | None = None) -> PKPatient:
        """Individual PK parameters from the popPK covariate model.

        Parameters
        ----------
        covariates:
            The patient; ``None`` gives the model's typical (reference) patient.

        Returns
        -------
        PKPatient
            Parameter values by name (model units), the covariates that were missing and set to
            the model's reference (``assumed``), and the model and variant names.
        """
        spec = self._pk_spec()
        from oncoimmune.models._base import get_model

        model = get_model(spec.model)
        values = dict(zip(model.parameter_names, model.parameter_values(spec.variant).tolist(), strict=True))
        assumed: list[str] = []
        if covariates is not None:
            if not isinstance(covariates, Covariates):
                raise ValidationError("covariates", "be a Covariates value", covariates, f"drug {self.name}")
            for eff in spec.covariates:
                factor, missing = _effect(eff, covariates)
                values[eff.parameter] *= factor
                if missing and eff.covariate not in assumed:
                    assumed.append(eff.covariate)
        for k, v in values.items():
            model.validate_parameter(k, v, f"drug {self.name} (individual PK)")
        return PKPatient(values, tuple(assumed), spec.model, spec.variant)

    def _pk_spec(self) -> PKSpec:
        if self.pk is None:
            raise ValidationError("drug", f"have a PK model ({self.pk_limitations})", self.name, "pk_patient")
        return self.pk

    def dose_amount(
        self, dose: float, unit: str, covariates: Covariates | None = None, *, bsa_formula: str = "mosteller"
    ) -> Amount:
        """Absolute amount (in ``amount_unit``) of ``dose`` ``unit`` for this drug and patient."""
        where = f"drug {self.name}"
        u = normalise_unit(unit, where)
        if u not in self.dose_units:
            raise ValidationError("unit", f"be one of {list(self.dose_units)} for {self.name}", unit, where)
        return to_amount(dose, u, covariates, amount_unit=self.amount_unit, bsa_formula=bsa_formula, where=where)

    def simulate_pk(
        self,
        dose: float,
        unit: str,
        *,
        interval_days: float,
        n_doses: int,
        covariates: Covariates | Sequence[Covariates] | None = None,
        loading_dose: float | None = None,
        infusion_minutes: float | None = None,
        first_infusion_minutes: float | None = None,
        t_end: float | None = None,
        times: Sequence[float] | np.ndarray | None = None,
        bsa_formula: str = "mosteller",
        rtol: float = 1e-8,
        atol: float = 1e-8,
    ) -> PKSimulation:
        """Serum concentration after ``n_doses`` IV infusions of ``dose`` ``unit`` every ``interval_days``.

        The first dose starts at day 0 (the clock of the time-varying clearance starts there).
        Each dose is a zero-order infusion into ``A1`` over the drug's standard infusion duration
        (``infusion_minutes`` overrides it; ``first_infusion_minutes`` the first one's);
        ``loading_dose`` (same unit) replaces the first dose, as in trastuzumab 8 mg/kg then 6 mg/kg.
        Each patient gets the individual parameters of :meth:`pk_patient`.

        Returns
        -------
        PKSimulation
            ``t`` (days), ``concentration`` (patients × times, mg/L = µg/mL), the dose amounts and
            the formulas used, the individual parameters and the engine result(s).
        """
        from oncoimmune.solve._simulate import simulate
        from oncoimmune.treatments._doses import Infusion, Regimen, every

        where = f"drug {self.name}"
        spec = self._pk_spec()
        if isinstance(n_doses, bool) or not isinstance(n_doses, (int, np.integer)) or n_doses < 1:
            raise ValidationError("n_doses", "be an integer >= 1", n_doses, where)
        if covariates is None or isinstance(covariates, Covariates):
            patients: list[Covariates | None] = [covariates]
        else:
            patients = list(covariates)
            if not patients:
                raise ValidationError("covariates", "contain at least one patient", covariates, where)
        starts = every(interval_days, int(n_doses))
        d_min = self._minutes(infusion_minutes, "infusion_minutes", first=False)
        d1_min = self._minutes(first_infusion_minutes, "first_infusion_minutes", first=True)
        if infusion_minutes is not None and first_infusion_minutes is None:
            d1_min = d_min
        dur, dur1 = d_min / 1440.0, d1_min / 1440.0
        horizon = float(t_end) if t_end is not None else starts[-1] + interval_days
        if times is None:
            grid = np.arange(0.0, horizon + 1e-9, 1.0)
            ends = [s + (dur1 if k == 0 else dur) for k, s in enumerate(starts)]
            t_out = np.unique(np.concatenate([grid, [e for e in ends if e <= horizon], [horizon]]))
        else:
            t_out = np.asarray(times, dtype=float)

        amounts: list[Amount] = []
        loads: list[Amount] = []
        params: list[PKPatient] = []
        for cov in patients:
            amounts.append(self.dose_amount(dose, unit, cov, bsa_formula=bsa_formula))
            loads.append(
                self.dose_amount(loading_dose, unit, cov, bsa_formula=bsa_formula)
                if loading_dose is not None
                else amounts[-1]
            )
            params.append(self.pk_patient(cov))
        conc = np.empty((len(patients), t_out.size))
        results = []
        # Patients with the same amounts share one regimen, hence one batched engine call.
        groups: dict[tuple[float, float], list[int]] = {}
        for i, (a, a1) in enumerate(zip(amounts, loads, strict=True)):
            groups.setdefault((a.value, a1.value), []).append(i)
        for (amount, amount1), idx in groups.items():
            doses = []
            if amount1 > 0:
                doses.append(Infusion("A1", amount1 / dur1, ((starts[0], starts[0] + dur1),)))
            if len(starts) > 1 and amount > 0:
                doses.append(Infusion("A1", amount / dur, tuple((s, s + dur) for s in starts[1:])))
            regimen = Regimen(tuple(doses), name=f"{self.name} {dose:g} {unit} q{interval_days:g}d x{n_doses}")
            table = {k: [params[i].values[k] for i in idx] for k in params[idx[0]].values}
            res = simulate(spec.model, table, regimen, t_out, variant=spec.variant, rtol=rtol, atol=atol)
            conc[idx] = res["A1"] / np.asarray(table["V1"])[:, None]
            results.append(res)
        return PKSimulation(t_out, conc, tuple(amounts), tuple(loads), tuple(params), tuple(results))

    def _minutes(self, value: float | None, name: str, *, first: bool) -> float:
        if value is None:
            if self.infusion is None:
                raise ValidationError(name, "be given (the drug file states no infusion duration)", None, self.name)
            q = self.infusion.first_minutes if first and self.infusion.first_minutes else self.infusion.minutes
            return q.value
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        if not math.isfinite(v) or v <= 0:
            raise ValidationError(name, "be a finite number > 0 (minutes)", value, f"drug {self.name}")
        return v


@dataclass(frozen=True)
class PKPatient:
    """Individual PK parameters (model units) of one patient."""

    values: Mapping[str, float]
    assumed: tuple[str, ...]
    model: str
    variant: str


@dataclass(frozen=True)
class PKSimulation:
    """Concentrations from :meth:`Drug.simulate_pk` (mg/L = µg/mL)."""

    t: np.ndarray
    concentration: np.ndarray
    amounts: tuple[Amount, ...]
    loading_amounts: tuple[Amount, ...]
    parameters: tuple[PKPatient, ...]
    results: tuple[Any, ...]

    def at(self, t: float) -> np.ndarray:
        """Concentration of every patient at output time ``t`` (must be one of ``self.t``)."""
        hits = np.flatnonzero(np.isclose(self.t, t, rtol=0.0, atol=1e-9))
        if hits.size == 0:
            raise ValidationError("t", "be one of the output times", t, "PKSimulation.at")
        return self.concentration[:, hits[0]]


def _effect(eff: CovariateEffect, cov: Covariates) -> tuple[float, bool]:
    """Factor of one covariate effect for one patient, and whether the covariate was missing."""
    if eff.form in _INDICATOR_FORMS:
        name = eff.covariate
        missing = False
        if name in ("female", "male"):
            ind = cov.sex == name
        elif name == "ecog_ge_1":
            missing = cov.ecog is None
            ind = bool(cov.ecog is not None and cov.ecog >= 1)
        elif name in ("asian", "black", "white"):
            missing = cov.race is None
            ind = cov.race == name
        else:
            ind = name in cov.conditions
        i = 1.0 if ind else 0.0
        return (math.exp(eff.coefficient * i) if eff.form == "exp_indicator" else 1.0 + eff.coefficient * i), missing
    x = getattr(cov, eff.covariate)
    ref = float(eff.reference)  # type: ignore[arg-type]
    missing = x is None
    x = ref if x is None else float(x)
    if eff.form == "power":
        return (x / ref) ** eff.coefficient, missing
    if eff.form == "log_ratio_power":
        return (math.log(x) / math.log(ref)) ** eff.coefficient, missing
    return 1.0 + eff.coefficient * (x - ref), missing


# -- loading -----------------------------------------------------------------------------------


def load_drug_file(path: str | Path) -> Drug:
    """Load and validate one drug file (safe YAML loader; nothing in it is executed).

    Raises :class:`~oncoimmune.errors.ValidationError` naming the file and the field (a dotted
    path such as ``pk.covariates[0].source``) for a malformed file.
    """

    p = Path(path)
    where = p.name
    data = read_yaml(p, "drug file")
    if not isinstance(data, Mapping):
        raise ValidationError("drug file", "be a mapping of fields", data, where)
    try:
        drug = Drug.model_validate(data)
    except PydanticValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in err["loc"]).lstrip(".") or "drug"
        rule = err["msg"]
        if rule.startswith("Value error, "):
            rule = rule[len("Value error, ") :]
        value = err.get("input", None) if err["type"] != "missing" else None
        raise ValidationError(loc, f"be valid: {rule}", value, where) from None
    if drug.name != p.stem:
        raise ValidationError("name", f"match the file name ({p.stem!r})", drug.name, where)
    return drug


@cache
def _library() -> dict[str, Drug]:
    drugs = [load_drug_file(f) for f in sorted(DRUG_DIR.glob("*.yaml"))]
    return {d.name: d for d in drugs}


def drug_library() -> Mapping[str, Drug]:
    """Every drug shipped with the package, by name (loaded and validated once)."""
    from types import MappingProxyType

    return MappingProxyType(_library())


def get_drug(name: str | Drug) -> Drug:
    """A drug by name or brand name (case-insensitive); unknown names list the known drugs."""
    if isinstance(name, Drug):
        return name
    lib = _library()
    key = str(name).strip().lower()
    if key in lib:
        return lib[key]
    for d in lib.values():
        if key in (b.lower() for b in d.brand_names):
            return d
    raise UnknownNameError("drug", name, list(lib))
