r"""The drug library: one YAML data file per drug, validated by a frozen pydantic schema.

Each file in ``oncoimmune/treatments/drugs/`` describes one drug as data: names, class, target
and mechanism, the dose units it is prescribed in, its population-PK model (a registered model,
a variant holding the typical patient's parameters, and the covariate model with every exponent,
its unit, source and pharmacology.md flag), the standard regimens as clinics write them, the
infusion duration, and the pharmacodynamic exposure–effect relation the QSP model will act
through (data only for now).

Biologics add a few fields: ``aliases`` (``axi-cel``, ``IL-2``), ``specific_activity`` (IU per mg
of protein for cytokines dosed in IU), ``pk.amount_factor`` (prescribed salt or prodrug to the
modelled species: fludarabine phosphate → F-ara-A, 0.78), per-regimen ``route``, dose ranges
(``dose``–``dose_max``), a per-dose cap (``max_amount``) and ``lymphodepletion`` for cell
products, and ``cellular_kinetics`` (:class:`CellularKineticsSpec`) for living cell products,
which have no drug concentration: their expansion and persistence in blood is a registered
cellular-kinetic model (Stein 2019 for tisagenlecleucel, Kimmel 2021 for axicabtagene
ciloleucel) run by :meth:`Drug.simulate_cellular_kinetics`.

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

Continuous covariates are attributes of :class:`~oncoimmune.treatments.Covariates`
(``creatinine_clearance`` is its Cockcroft–Gault value, missing without a serum creatinine;
``bsa_m2`` its Mosteller body-surface area); indicators
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
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from oncoimmune._validate import read_yaml
from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.treatments._covariates import Covariates
from oncoimmune.units import AMOUNT_UNITS, Amount, normalise_unit, to_amount

__all__ = [
    "DRUG_DIR",
    "CellularKineticsSpec",
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
    "corticosteroid",
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
    "creatinine_clearance": "mL/min",
    "bsa_m2": "m2",
}
"""Continuous covariates a PK covariate model may use, with the unit its reference must be in."""

_INDICATOR_FORMS = ("exp_indicator", "linear_indicator")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


def _registered_variant(model: str, variant: str) -> Any:
    """The registered model ``model``, checking that it has the variant ``variant`` (pydantic-style errors)."""
    from oncoimmune.models._base import registry

    models = registry()
    if model not in models:
        raise ValueError(f"model must be one of {sorted(models)}, got {model!r}")
    m = models[model]
    if variant not in m.variants:
        raise ValueError(f"variant must be one of {sorted(m.variants)}, got {variant!r}")
    return m


class Quantity(_Frozen):
    """A number with its unit, source and pharmacology.md flag.

    The value must be a YAML number: a string such as ``"4.3e5"`` (PyYAML reads ``4.3e5`` without
    a dot before the exponent sign as text) is refused rather than converted behind the reader's back.
    """

    value: float = Field(strict=True)
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
    """Population-PK model of a drug: registry model, variant (typical patient) and covariate model.

    ``route`` says where a dose goes: ``iv`` (an infusion of the drug's standard duration into the
    ``central`` state), ``oral`` or ``sc`` (a bolus into the ``depot`` state, delayed by
    ``lag_time`` when the popPK model has one). The concentration is ``central / volume``
    (state and parameter names of the model; amount unit per litre, mg/L = µg/mL).
    ``bioavailability`` records the absolute bioavailability (fraction) as data; the model's
    own ``F`` parameter is what the simulation applies (1 for apparent CL/F, V/F models).
    ``amount_factor`` (unit ``1``) converts the prescribed amount into the amount of the species
    the model describes, when they differ: fludarabine is prescribed as fludarabine phosphate
    (F-ara-AMP) and modelled as F-ara-A, 0.78 mg per mg.
    """

    model: str
    variant: str
    source: str = Field(min_length=1)
    flag: Flag
    reference_patient: str = Field(min_length=1)
    covariates: tuple[CovariateEffect, ...] = ()
    not_included: str = ""
    route: Literal["iv", "oral", "sc"] = "iv"
    central: str = "A1"
    volume: str = "V1"
    depot: str | None = None
    lag_time: Quantity | None = None
    bioavailability: Quantity | None = None
    apparent: bool = False
    amount_factor: Quantity | None = None

    @field_validator("lag_time")
    @classmethod
    def _lag(cls, v: Quantity | None) -> Quantity | None:
        if v is not None and (v.unit != "h" or v.value < 0):
            raise ValueError("must be >= 0 and in 'h'")
        return v

    @field_validator("bioavailability")
    @classmethod
    def _fraction(cls, v: Quantity | None) -> Quantity | None:
        if v is not None and (v.unit != "1" or not 0 < v.value <= 1):
            raise ValueError("must be a fraction in (0, 1] with unit '1'")
        return v

    @model_validator(mode="after")
    def _known(self) -> PKSpec:
        m = _registered_variant(self.model, self.variant)
        for eff in self.covariates:
            if eff.parameter not in m.parameter_names:
                raise ValueError(f"covariate effect on unknown parameter {eff.parameter!r} of {self.model}")
        if self.central not in m.state_names:
            raise ValueError(f"central must be a state of {self.model} {list(m.state_names)}, got {self.central!r}")
        if self.volume not in m.parameter_names:
            raise ValueError(f"volume must be a parameter of {self.model}, got {self.volume!r}")
        if self.route in ("oral", "sc"):
            if self.depot is None or self.depot not in m.state_names:
                raise ValueError(
                    f"a {self.route} drug needs depot = a state of {self.model} {list(m.state_names)}, "
                    f"got {self.depot!r}"
                )
        elif self.lag_time is not None:
            raise ValueError("lag_time applies to oral or sc doses only")
        if self.amount_factor is not None and (self.amount_factor.unit != "1" or self.amount_factor.value <= 0):
            raise ValueError("amount_factor must be > 0 with unit '1'")
        if self.apparent and "F" in m.parameter_names and m.parameter_values(self.variant)[m.parameter_index("F")] != 1:
            raise ValueError("a model in apparent parameters (CL/F, V/F) must have F = 1 in its variant")
        return self


class CellularKineticsSpec(_Frozen):
    """Cellular-kinetic model of a living cell product (CAR-T): expansion, contraction, persistence.

    A cell product has no drug concentration: what is measured is the number of product cells (or
    CAR transgene copies) in blood. ``model`` and ``variant`` name a registered model and its
    typical patient; the measured level is the sum of the ``observed`` states, in ``unit``
    (``copies/ug`` of genomic DNA by qPCR, or ``cells/uL`` by flow cytometry), as described by
    ``measurement``. ``dose_dependence`` says how (or whether) the infused dose enters.
    """

    model: str
    variant: str
    observed: tuple[str, ...] = Field(min_length=1)
    unit: str = Field(min_length=1)
    measurement: str = Field(min_length=1)
    dose_dependence: str = Field(min_length=1)
    source: str = Field(min_length=1)
    flag: Flag
    reference_patient: str = Field(min_length=1)
    not_included: str = ""

    @model_validator(mode="after")
    def _known(self) -> CellularKineticsSpec:
        m = _registered_variant(self.model, self.variant)
        for name in self.observed:
            if name not in m.state_names:
                raise ValueError(f"observed must be states of {self.model} {list(m.state_names)}, got {name!r}")
        return self


class LymphodepletionSpec(_Frozen):
    """One conditioning (lymphodepleting) drug given before a cell product.

    ``days`` are relative to the cell infusion (day 0): axicabtagene ciloleucel's fludarabine
    30 mg/m2 on days -5, -4, -3. Where the source gives only the number of daily doses, ``count``
    holds it and ``days`` is empty.
    """

    drug: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    dose: float = Field(gt=0)
    unit: str
    days: tuple[float, ...] = ()
    count: int | None = Field(default=None, ge=1)
    source: str = Field(min_length=1)
    flag: Flag
    note: str = ""

    _check = field_validator("dose")(_finite)

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        try:
            return normalise_unit(v)
        except ValidationError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _days(self) -> LymphodepletionSpec:
        if not self.days and self.count is None:
            raise ValueError("give the days (relative to the cell infusion) or the count of daily doses")
        if any(not math.isfinite(d) or d >= 0 for d in self.days):
            raise ValueError("lymphodepletion days must be finite and before the cell infusion (< 0)")
        if self.days and self.count is not None and self.count != len(self.days):
            raise ValueError("count must equal the number of days when both are given")
        return self


class RegimenSpec(_Frozen):
    """A standard regimen as the clinic writes it, with its structured reading.

    ``interval_days`` is the dosing interval (0.5 for twice daily, 1 for daily); ``on_days`` and
    ``off_days`` make it cyclic (doses every ``interval_days`` during the first ``on_days`` of each
    ``on_days + off_days`` cycle: "50 mg daily 4 weeks on 2 weeks off" is 1, 28, 14).
    ``infusion_minutes`` overrides the drug's standard infusion duration for this regimen
    (paclitaxel 135 mg/m2 over 24 h).
    ``route`` is the route of this regimen when it differs from the drug's PK route (interferon
    alfa-2b: IV induction, SC maintenance). A labelled dose range reads ``dose`` (lower end) to
    ``dose_max`` (tisagenlecleucel 0.2-5.0 x 10^6 cells/kg); ``max_amount`` caps the absolute amount
    per dose, in the drug's amount unit (axicabtagene ciloleucel: at most 2 x 10^8 cells).
    ``lymphodepletion`` lists the conditioning chemotherapy a cell product is given after.
    """

    text: str = Field(min_length=1)
    dose: float = Field(gt=0)
    unit: str
    interval_days: float | None = Field(default=None, gt=0)
    count: int | None = Field(default=None, ge=1)
    loading_dose: float | None = Field(default=None, gt=0)
    on_days: float | None = Field(default=None, gt=0)
    off_days: float | None = Field(default=None, ge=0)
    infusion_minutes: float | None = Field(default=None, gt=0)
    route: Literal["iv", "oral", "sc"] | None = None
    dose_max: float | None = Field(default=None, gt=0)
    max_amount: float | None = Field(default=None, gt=0)
    lymphodepletion: tuple[LymphodepletionSpec, ...] = ()
    setting: str = ""
    source: str = Field(min_length=1)
    flag: Flag

    _check = field_validator("dose")(_finite)

    @model_validator(mode="after")
    def _range(self) -> RegimenSpec:
        if self.dose_max is not None and not (math.isfinite(self.dose_max) and self.dose_max >= self.dose):
            raise ValueError("dose_max (upper end of a dose range) must be finite and >= dose")
        if self.max_amount is not None and not math.isfinite(self.max_amount):
            raise ValueError("max_amount must be finite")
        return self

    @model_validator(mode="after")
    def _cycle(self) -> RegimenSpec:
        if (self.on_days is None) != (self.off_days is None):
            raise ValueError("on_days and off_days go together (a cyclic schedule needs both)")
        if self.on_days is not None and self.interval_days is None:
            raise ValueError("a cyclic schedule (on_days/off_days) needs interval_days")
        return self

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


class QSPSpec(_Frozen):
    """Which terms of a mechanistic model the drug's exposure acts on, with their values.

    ``slot`` is a dose slot (or slot group, e.g. ``cytotoxic``) of ``model``
    (:class:`~oncoimmune.models.DoseSlot`): doses enter its states, the drug's popPK parameters
    fill its PK parameters, and each entry of ``parameters`` sets the model parameter
    ``<name><slot suffix>`` (``KD`` on slot ``PD1`` sets ``KD_PD1``) or, failing that, the
    model parameter ``<name>``. An entry is a quantity (value, unit, source, flag) or a reference
    to one stated elsewhere in the file: ``molecular_weight`` or ``pd.<name>`` (the first ``pd``
    relation with a parameter of that name). The unit must be the model parameter's unit.
    """

    model: str = "io_qsp"
    slot: str = Field(min_length=1)
    acts_on: str = Field(min_length=1)
    parameters: dict[str, Quantity | str] = Field(default_factory=dict)
    note: str = ""

    @model_validator(mode="after")
    def _known(self) -> QSPSpec:
        from oncoimmune.models._base import registry

        models = registry()
        if self.model not in models:
            raise ValueError(f"model must be one of {sorted(models)}, got {self.model!r}")
        m = models[self.model]
        if not [s for s in m.dose_slots if self.slot in (s.name, s.group)]:
            known = sorted({s.name for s in m.dose_slots} | {s.group for s in m.dose_slots})
            raise ValueError(f"slot must be one of {known} for model {self.model}, got {self.slot!r}")
        return self

    def targets(self) -> dict[str, str]:
        """Parameter name in the file to model parameter name (for the first slot of the group)."""
        from oncoimmune.models._base import get_model

        m = get_model(self.model)
        slot = next(s for s in m.dose_slots if self.slot in (s.name, s.group))
        names = set(m.parameter_names)
        return {n: (n + slot.suffix if n + slot.suffix in names else n) for n in self.parameters}


class Drug(_Frozen):
    """One drug of the library (see the module docstring for the file format)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    brand_names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    drug_class: DrugClass = Field(alias="class")
    target: str = Field(min_length=1)
    mechanism: str = Field(min_length=1)
    amount_unit: str
    dose_units: tuple[str, ...] = Field(min_length=1)
    molecular_weight: Quantity | None = None
    specific_activity: Quantity | None = None
    pk: PKSpec | None = None
    pk_limitations: str = ""
    cellular_kinetics: CellularKineticsSpec | None = None
    infusion: InfusionSpec | None = None
    regimens: tuple[RegimenSpec, ...] = Field(min_length=1)
    pd: tuple[PDSpec, ...] = ()
    qsp: QSPSpec | None = None
    evidence: str = ""
    notes: str = ""

    @model_validator(mode="after")
    def _qsp_parameters(self) -> Drug:
        if self.qsp is None:
            return self
        from oncoimmune.models._base import get_model

        m = get_model(self.qsp.model)
        units = {p.name: p.unit for p in m.parameters}
        for name, target in self.qsp.targets().items():
            if target not in units:
                raise ValueError(f"qsp parameter {name!r} is not a parameter of {self.qsp.model} (tried {target!r})")
            q = self.qsp_quantity(name)
            if q.unit != units[target]:
                raise ValueError(
                    f"qsp parameter {name!r} must be in {units[target]!r} (unit of {target}), got {q.unit!r}"
                )
        return self

    def qsp_quantity(self, name: str) -> Quantity:
        """The quantity behind ``qsp.parameters[name]``, following a reference if it is one."""
        entry = self.qsp.parameters[name]  # type: ignore[union-attr]
        if isinstance(entry, Quantity):
            return entry
        if entry == "molecular_weight" and self.molecular_weight is not None:
            return self.molecular_weight
        if entry.startswith("pd."):
            key = entry[3:]
            for rel in self.pd:
                if key in rel.parameters:
                    return rel.parameters[key]
        raise ValueError(f"qsp parameter {name!r} refers to {entry!r}, which the file does not state")

    @field_validator("amount_unit")
    @classmethod
    def _amount_unit(cls, v: str) -> str:
        if v not in AMOUNT_UNITS:
            raise ValueError(f"must be one of {sorted(AMOUNT_UNITS)}")
        return v

    @field_validator("specific_activity")
    @classmethod
    def _specific_activity(cls, v: Quantity | None, info: ValidationInfo) -> Quantity | None:
        unit = f"{info.data.get('amount_unit', '?')}/mg"
        if v is not None and (v.unit != unit or v.value <= 0):
            raise ValueError(f"must be > 0 and in {unit!r} (drug amount per mg of protein)")
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

    def simulate_cellular_kinetics(
        self,
        times: Sequence[float] | np.ndarray | None = None,
        *,
        params: Mapping[str, float] | None = None,
        init: Mapping[str, float] | None = None,
        rtol: float = 1e-8,
        atol: float = 1e-8,
    ) -> tuple[np.ndarray, np.ndarray, Any]:
        """Measured level of a cell product in its typical patient (days after the infusion).

        Runs the ``cellular_kinetics`` model and variant (``params`` and ``init`` override them)
        and returns ``(t, level, result)``: ``level`` is the sum of the observed states, in
        ``cellular_kinetics.unit``, and ``result`` the engine's
        :class:`~oncoimmune.solve.SimulationResult`.
        """
        from oncoimmune.solve._simulate import simulate

        ck = self.cellular_kinetics
        if ck is None:
            raise ValidationError(
                "drug", "be a cell product with a cellular_kinetics model", self.name, "simulate_cellular_kinetics"
            )
        res = simulate(ck.model, times=times, variant=ck.variant, params=params, init=init, rtol=rtol, atol=atol)
        level = sum(res[name][0] for name in ck.observed)
        return res.t, np.asarray(level, dtype=float), res

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
        on_days: float | None = None,
        off_days: float | None = None,
        t_end: float | None = None,
        times: Sequence[float] | np.ndarray | None = None,
        bsa_formula: str = "mosteller",
        rtol: float = 1e-8,
        atol: float = 1e-8,
    ) -> PKSimulation:
        """Concentration after ``n_doses`` doses of ``dose`` ``unit`` every ``interval_days``.

        The first dose is at day 0 (the clock of a time-varying clearance starts there). The
        route is the drug's (``pk.route``):

        * ``iv``: each dose is a zero-order infusion into the central state over the drug's
          standard infusion duration (``infusion_minutes`` overrides it;
          ``first_infusion_minutes`` the first one's);
        * ``oral`` / ``sc``: each dose is a bolus into the depot state, given ``pk.lag_time``
          after the nominal dose time (the model's ``F`` scales what is absorbed).

        ``interval_days`` 0.5 is twice daily (bid), 1 once daily. ``on_days`` / ``off_days``
        give a cyclic schedule: doses every ``interval_days`` during the first ``on_days`` of
        each cycle of ``on_days + off_days`` days (sunitinib 4 weeks on, 2 off: ``interval_days=1,
        on_days=28, off_days=14``; dacarbazine days 1-5 q3w: ``1, 5, 16``); ``n_doses`` counts
        doses, not cycles. ``loading_dose`` (same unit) replaces the first dose, as in trastuzumab
        8 mg/kg then 6 mg/kg. Each patient gets the individual parameters of :meth:`pk_patient`.

        The default output grid is daily for IV drugs given every 7 days or less often, hourly
        otherwise, plus the end of each infusion; pass ``times`` for anything else.

        Returns
        -------
        PKSimulation
            ``t`` (days), ``concentration`` (patients × times, amount unit per litre: mg/L = µg/mL),
            the dose amounts and the formulas used, the individual parameters and the engine
            result(s).
        """
        from oncoimmune.solve._simulate import simulate
        from oncoimmune.treatments._doses import Bolus, Infusion, Regimen

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
        starts = _dose_days(interval_days, int(n_doses), on_days, off_days, where)
        iv = spec.route == "iv"
        if iv:
            d_min = self._minutes(infusion_minutes, "infusion_minutes", first=False)
            d1_min = self._minutes(first_infusion_minutes, "first_infusion_minutes", first=True)
            if infusion_minutes is not None and first_infusion_minutes is None:
                d1_min = d_min
            dur, dur1 = d_min / 1440.0, d1_min / 1440.0
            ends = [s + (dur1 if k == 0 else dur) for k, s in enumerate(starts)]
        else:
            for name, val in (
                ("infusion_minutes", infusion_minutes),
                ("first_infusion_minutes", first_infusion_minutes),
            ):
                if val is not None:
                    raise ValidationError(name, f"be omitted for a drug given by the {spec.route} route", val, where)
            lag = spec.lag_time.value / 24.0 if spec.lag_time is not None else 0.0
            ends = [s + lag for s in starts]
        horizon = float(t_end) if t_end is not None else starts[-1] + float(interval_days)
        if times is None:
            step = 1.0 if iv and float(interval_days) >= 7.0 else 1.0 / 24.0
            grid = np.arange(math.floor(horizon / step + 1e-9) + 1) * step
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
        factor = spec.amount_factor.value if spec.amount_factor is not None else 1.0
        for (amount, amount1), idx in groups.items():
            amount, amount1 = amount * factor, amount1 * factor  # prescribed -> modelled species
            doses: list[Bolus | Infusion] = []
            if iv:
                if amount1 > 0:
                    doses.append(Infusion(spec.central, amount1 / dur1, ((starts[0], starts[0] + dur1),)))
                if len(starts) > 1 and amount > 0:
                    doses.append(Infusion(spec.central, amount / dur, tuple((s, s + dur) for s in starts[1:])))
            else:
                depot = str(spec.depot)
                if amount1 > 0:
                    doses.append(Bolus(depot, amount1, (ends[0],)))
                if len(ends) > 1 and amount > 0:
                    doses.append(Bolus(depot, amount, tuple(ends[1:])))
            schedule = f"q{interval_days:g}d" + (f" {on_days:g} on/{off_days:g} off" if on_days is not None else "")
            regimen = Regimen(tuple(doses), name=f"{self.name} {dose:g} {unit} {schedule} x{n_doses}")
            table = {k: [params[i].values[k] for i in idx] for k in params[idx[0]].values}
            res = simulate(spec.model, table, regimen, t_out, variant=spec.variant, rtol=rtol, atol=atol)
            conc[idx] = res[spec.central] / np.asarray(table[spec.volume])[:, None]
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


def _dose_days(
    interval_days: float, n_doses: int, on_days: float | None, off_days: float | None, where: str
) -> tuple[float, ...]:
    """Nominal dose days: every ``interval_days``, within the ``on_days`` of each on/off cycle."""
    from oncoimmune.treatments._doses import every

    if on_days is None and off_days is None:
        return every(interval_days, n_doses)
    vals = {}
    for name, v in (("interval_days", interval_days), ("on_days", on_days), ("off_days", off_days)):
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            x = math.nan
        if isinstance(v, bool) or not math.isfinite(x) or x < 0 or (x == 0 and name != "off_days"):
            rule = "be a finite number >= 0 (days)" if name == "off_days" else "be a finite number > 0 (days)"
            raise ValidationError(name, rule + " for a cyclic schedule", v, where)
        vals[name] = x
    step, on, period = vals["interval_days"], vals["on_days"], vals["on_days"] + vals["off_days"]
    per_cycle = max(1, math.ceil(on / step - 1e-9))
    return tuple((k // per_cycle) * period + (k % per_cycle) * step for k in range(n_doses))


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
    if eff.covariate == "creatinine_clearance":
        x = cov.creatinine_clearance() if cov.serum_creatinine is not None else None
    elif eff.covariate == "bsa_m2":
        x = cov.bsa()  # Mosteller, the default of oncoimmune.treatments.Covariates.bsa
    else:
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
        if key in (b.lower() for b in (*d.brand_names, *d.aliases)):
            return d
    raise UnknownNameError("drug", name, list(lib))
