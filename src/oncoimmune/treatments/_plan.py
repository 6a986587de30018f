r"""From a prescription and a patient to a simulation: drug doses routed into a mechanistic model.

A :class:`~oncoimmune.treatments.Regimen` written as clinics write it
(``"nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w"``) holds
per-patient prescriptions. :func:`plan_patient` turns it, for one patient's
:class:`~oncoimmune.treatments.Covariates`, into what the engine integrates:

1. **Amounts and times.** :meth:`Regimen.administrations` computes every administration (mg/kg
   × weight, mg/m² × BSA with the formula named, Calvert AUC dosing, IU/kg, cells/kg).
2. **Slots.** Each drug's ``qsp`` section names the dose slot of the model it fills
   (:class:`~oncoimmune.models.DoseSlot`): ``PD1`` for nivolumab or pembrolizumab, the
   ``cytotoxic`` group (slots ``ch1``, ``ch2``) for chemotherapy, in order of first appearance.
   Two drugs cannot share one slot (nivolumab and pembrolizumab in one regimen is an error).
3. **Pharmacokinetics.** The drug's population-PK parameters for this patient
   (:meth:`Drug.pk_patient <oncoimmune.treatments.Drug.pk_patient>`, covariate model applied) fill
   the slot's clearance, volumes, inter-compartmental clearance, absorption rate and
   bioavailability. A one-compartment drug in a two-compartment slot gets ``Q = 0``.
4. **Exposure–effect.** The ``qsp.parameters`` of the drug file set the slot's potency
   parameters (``KD``, ``EC50``, ``Emax``...), each with its unit and source.
5. **Patient.** The model's covariate reading (``Model.patient``) sets tumour biomarkers and the
   initial state (PD-L1, TMB, burden and lesions for ``io_qsp``), listing what it assumed.
6. **Doses.** Each administration (times the drug's ``pk.amount_factor``, e.g. fludarabine
   phosphate to F-ara-A) becomes a :class:`~oncoimmune.treatments.Bolus` (injection,
   oral dose) or an :class:`~oncoimmune.treatments.Infusion` (zero-order over the infusion
   time) into the state of the slot for that route. With ``oral_input="continuous"`` an oral
   dose taken daily or more often is instead spread evenly over its dosing interval (a zero-order
   input into the gut depot of a targeted-therapy slot; :data:`ORAL_SPREAD_MAX_DAYS`): every
   dose's amount and the mean exposure are kept, the within-day peaks and troughs are not, and
   the drug's IC50 is replaced by the one that gives, at the spread input's steady concentration,
   the time-averaged growth inhibition of the doses at periodic steady state
   (:func:`mean_effect_ic50`). Months of twice-daily dosing then cost the solver a few hundred
   steps instead of about fifty per dose.

:func:`simulate_treatment` does this for every patient and runs one batched
:func:`~oncoimmune.simulate` with per-patient doses and parameters.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oncoimmune.errors import ValidationError
from oncoimmune.models._base import DoseSlot, Model, get_model
from oncoimmune.treatments._covariates import Covariates
from oncoimmune.treatments._doses import Bolus, Infusion, Regimen
from oncoimmune.treatments._drugs import Drug, get_drug
from oncoimmune.treatments._prescription import Administration, DrugDose

__all__ = ["PatientPlan", "TreatmentResult", "plan_patient", "simulate_treatment"]

_PK_NAMES: dict[str, tuple[str, ...]] = {
    "CL": ("CL0", "CL"),
    "V1": ("V1", "V"),
    "Q": ("Q", "Q2"),
    "V2": ("V2",),
    "ka": ("ka",),
    "F": ("F",),
}
"""Canonical slot PK names and the names the registered PK models use for them."""

_OPTIONAL_PK = {"Q": 0.0}
"""Slot PK parameters a drug's PK model may lack, and the value that switches the term off."""

_TO_SLOT_UNIT: dict[tuple[str, str], float] = {
    ("mg", "mg"): 1.0,
    ("g", "mg"): 1000.0,
    ("ug", "mg"): 1e-3,
    ("IU", "IU"): 1.0,
    ("cells", "cells"): 1.0,
}


@dataclass(frozen=True)
class PatientPlan:
    """One patient's treatment, ready for the engine.

    Attributes
    ----------
    regimen:
        Model inputs only (Bolus and Infusion into slot states).
    parameters:
        Parameter values set for this patient (biomarkers, drug PK and potency), by name.
    init:
        Initial state from the patient's covariates (empty if the model has no covariate model).
    slots:
        Drug name to the dose slot it occupies.
    administrations:
        Every administration with its amount and how it was computed.
    assumed:
        Covariates the model or the PK models did not find and replaced by their reference.
    """

    regimen: Regimen
    parameters: Mapping[str, float]
    init: Mapping[str, float]
    slots: Mapping[str, str]
    administrations: tuple[Administration, ...]
    assumed: tuple[str, ...] = field(default=())


def _slot_for(model: Model, drug: Drug, taken: dict[str, str], where: str) -> DoseSlot:
    if drug.qsp is None or drug.qsp.model != model.name:
        raise ValidationError(
            "drug",
            f"have a qsp section for model {model.name} (which terms its exposure acts on)",
            drug.name,
            where,
        )
    name = drug.qsp.slot
    candidates = [s for s in model.dose_slots if s.name == name] or [s for s in model.dose_slots if s.group == name]
    for slot in candidates:
        if slot.name not in taken:
            return slot
    holders = ", ".join(f"{taken[s.name]} ({s.name})" for s in candidates)
    raise ValidationError(
        "regimen",
        f"use at most {len(candidates)} drug(s) of slot {name!r} of model {model.name}; already used by {holders}",
        drug.name,
        where,
    )


def _pk_values(model: Model, drug: Drug, slot: DoseSlot, covariates: Covariates | None, where: str):
    if not slot.pk or drug.pk is None:
        return {}, ()
    pk = drug.pk_patient(covariates)
    out: dict[str, float] = {}
    for canonical, param in slot.pk.items():
        value = next((pk.values[n] for n in _PK_NAMES.get(canonical, (canonical,)) if n in pk.values), None)
        if value is None:
            if canonical in _OPTIONAL_PK:
                value = _OPTIONAL_PK[canonical]
            else:
                raise ValidationError(
                    "pk",
                    f"give {canonical!r} ({' or '.join(_PK_NAMES.get(canonical, (canonical,)))}) for slot {slot.name}",
                    f"{drug.pk.model}/{drug.pk.variant}",
                    where,
                )
        out[param] = float(value)
    return out, tuple(f"{drug.name}: {a}" for a in pk.assumed)


def _pd_values(model: Model, drug: Drug, slot: DoseSlot, overrides: Mapping[str, float]) -> dict[str, float]:
    names = set(model.parameter_names)
    out = {}
    for name in drug.qsp.parameters:  # type: ignore[union-attr]
        target = name + slot.suffix if name + slot.suffix in names else name
        out[target] = float(overrides.get(f"{drug.name}{DRUG_PARAMETER_SEP}{name}", drug.qsp_quantity(name).value))
    return out


DRUG_PARAMETER_SEP = ":"
"""Separator of a drug-qualified parameter name, ``DRUG:NAME`` (``carboplatin:EmaxT``): the
exposure–effect parameter ``NAME`` of the drug's ``qsp`` section, in whichever slot the drug
takes in a regimen (``EmaxT_ch1`` or ``EmaxT_ch2``)."""


def drug_parameter(model: str | Model, name: str, where: str = "parameters") -> tuple[str, float, float, str]:
    """Check a drug-qualified parameter name ``DRUG:NAME`` against ``model``.

    Returns ``(model parameter it sets in the drug's first slot, lower bound, upper bound, unit)``;
    an unknown drug, a drug without a ``qsp`` section for ``model`` or a name its ``qsp`` section
    does not give is an error naming ``where`` and the value.
    """
    from oncoimmune.errors import UnknownNameError

    model = get_model(model)
    drug_name, _, key = name.partition(DRUG_PARAMETER_SEP)
    try:
        drug = get_drug(drug_name)
    except UnknownNameError as exc:
        raise UnknownNameError(where, drug_name, exc.choices, "the drug library") from None
    if drug.qsp is None or drug.qsp.model != model.name:
        raise ValidationError(where, f"name a drug with a qsp section for model {model.name}", name)
    if key not in drug.qsp.parameters:
        raise UnknownNameError(where, key, sorted(drug.qsp.parameters), f"the qsp parameters of {drug.name}")
    slot = _slot_for(model, drug, {}, where)
    target = key + slot.suffix if key + slot.suffix in model.parameter_names else key
    lo, hi = model.parameters[model.parameter_index(target)].bounds
    return target, lo, hi, drug.qsp_quantity(key).unit


def plan_patient(
    model: str | Model,
    regimen: Regimen | str,
    covariates: Covariates | None = None,
    t_end: float | None = None,
    *,
    params: Mapping[str, float] | None = None,
    bsa_formula: str = "mosteller",
    withhold: Sequence[tuple] = (),
    extra: Regimen | None = None,
    extra_until: float | None = None,
    oral_input: str = "doses",
) -> PatientPlan:
    """Route a regimen into ``model`` for one patient (steps in the module docstring).

    Parameters
    ----------
    model:
        A model with dose slots (``"io_qsp"``).
    regimen:
        A :class:`~oncoimmune.treatments.Regimen` (drug doses, and/or Bolus/Infusion model inputs,
        which pass through unchanged) or a regimen string.
    covariates:
        The patient; ``None`` for the model's default patient (flat doses only).
    t_end:
        Horizon in days; open-ended schedules are cut there.
    params:
        Parameter overrides, applied last and seen by the model's covariate reading (so that the
        initial state reflects them, e.g. an NK-depleted patient).
    bsa_formula:
        Body-surface-area formula for doses per m².
    withhold:
        Windows ``(start, stop, drugs)`` in days in which administrations are not given: those that
        start in ``[start, stop)`` of the named drugs (library names; ``None``: every drug) are
        skipped, not delayed, as a dose held for an adverse event is (a permanent discontinuation
        is a window with ``stop = inf``). A window ``(start, stop, drugs, factor)`` multiplies those
        administrations' amounts by ``factor`` in [0, 1] instead (0: skipped; a dose reduction
        after an adverse event is ``(onset, inf, drugs, 0.75)``); overlapping windows multiply.
    extra:
        Drug doses given on top of ``regimen`` and planned up to ``extra_until`` (default ``t_end``),
        untouched by ``t_end`` and ``withhold``: the corticosteroid course that treats an adverse event
        goes on after the drug that caused it stopped.
    oral_input:
        ``"doses"`` (default): each oral dose is a bolus into the gut depot. ``"continuous"``: an
        oral dose of a drug in a targeted-therapy slot (:data:`ORAL_SPREAD_GROUPS`) followed by
        the next dose of the same drug within :data:`ORAL_SPREAD_MAX_DAYS` (daily, twice daily...)
        is spread evenly over the time to that next dose of the schedule as written (the last one
        over the interval before it), so a held dose leaves a gap and a reduced dose a lower rate;
        the amount given is unchanged. The slot's ``IC50`` becomes :func:`mean_effect_ic50` of the
        first such dose (after ``params``), so that the spread input inhibits growth as much as
        the doses do on average once at steady state; a reduced dose keeps that IC50.
    """
    if oral_input not in ORAL_INPUTS:
        raise ValidationError("oral_input", f"be one of {list(ORAL_INPUTS)}", oral_input, "plan_patient")
    model = get_model(model)
    if isinstance(regimen, str):
        regimen = Regimen.parse(regimen)
    if not isinstance(regimen, Regimen):
        raise ValidationError("regimen", "be a Regimen or a regimen string", regimen, "plan_patient")
    where = f"plan_patient({model.name}, {regimen.name or regimen})"
    init: dict[str, float] = {}
    assumed: list[str] = []
    overrides = dict(params or {})
    params = {}
    for name in overrides:  # unknown names are an error before any work
        if DRUG_PARAMETER_SEP in name:
            drug_parameter(model, name, "params")
        else:
            model.parameter_index(name)
    drug_overrides = {k: v for k, v in overrides.items() if DRUG_PARAMETER_SEP in k}
    overrides = {k: v for k, v in overrides.items() if DRUG_PARAMETER_SEP not in k}
    if model.patient is not None and (covariates is not None or overrides):
        p, init, a = model.patient(covariates, overrides)
        params.update(p)
        assumed.extend(a if covariates is not None else ())
    taken: dict[str, str] = {}
    slot_of: dict[str, DoseSlot] = {}
    if extra is not None and not isinstance(extra, Regimen):
        raise ValidationError("extra", "be a Regimen or None", extra, where)
    extra_doses = () if extra is None else extra.doses
    for d in regimen.doses + extra_doses:
        if isinstance(d, DrugDose) and d.drug not in slot_of:
            drug = get_drug(d.drug)
            slot = _slot_for(model, drug, taken, where)
            taken[slot.name] = drug.name
            slot_of[drug.name] = slot
            pk, a = _pk_values(model, drug, slot, covariates, where)
            params.update(pk)
            params.update(_pd_values(model, drug, slot, drug_overrides))
            assumed.extend(a)
    adms = regimen.administrations(covariates, t_end, bsa_formula=bsa_formula) if slot_of else ()
    planned = adms  # the schedule as written, before holds: the spread of a continuous oral dose
    if withhold:
        windows = _windows(withhold, where)
        kept = []
        for a in adms:
            f = math.prod(f for lo, hi, ds, f in windows if lo <= a.time_days < hi and (ds is None or a.drug in ds))
            if f > 0.0:
                kept.append(
                    a if f == 1.0 else dataclasses.replace(a, amount=a.amount * f, formula=f"{a.formula} x {f:g}")
                )
        adms = tuple(kept)
    if extra_doses and slot_of:
        more = Regimen(extra_doses).administrations(
            covariates, t_end if extra_until is None else extra_until, bsa_formula=bsa_formula
        )
        adms = tuple(sorted((*adms, *more), key=lambda a: a.time_days))
        planned = (*planned, *more)
    spread = (
        _oral_spread([a for a in planned if slot_of[a.drug].group in ORAL_SPREAD_GROUPS])
        if oral_input == "continuous"
        else {}
    )
    nominal: dict[str, tuple[float, float]] = {}  # drug -> (first spread amount in slot units, interval)
    boluses: dict[tuple[str, float], list[float]] = {}
    infusions: dict[tuple[str, float], list[tuple[float, float]]] = {}
    salt_factor: dict[str, float | None] = {}
    for adm in adms:
        slot = slot_of[adm.drug]
        factor = _TO_SLOT_UNIT.get((adm.amount_unit, slot.unit))
        if factor is None:
            raise ValidationError(
                "amount_unit", f"convert to {slot.unit!r} (slot {slot.name})", adm.amount_unit, f"{where}: {adm.drug}"
            )
        route = adm.route or "iv"
        if route not in slot.routes:
            raise ValidationError(
                "route", f"be one of {sorted(slot.routes)} for slot {slot.name}", route, f"{where}: {adm.drug}"
            )
        state = slot.routes[route]
        if adm.drug not in salt_factor:  # looked up once per drug, not per administration
            pk = get_drug(adm.drug).pk
            salt_factor[adm.drug] = pk.amount_factor.value if pk is not None and pk.amount_factor is not None else None
        if salt_factor[adm.drug] is not None:
            factor *= salt_factor[adm.drug]  # prescribed salt or prodrug -> modelled species
        amount = adm.amount * factor
        duration = adm.duration_days
        if route == "oral" and duration == 0:
            duration = spread.get((adm.drug, adm.time_days), 0.0)
            if duration > 0 and adm.drug not in nominal:
                first = next(a for a in planned if a.drug == adm.drug and (a.drug, a.time_days) in spread)
                nominal[adm.drug] = (first.amount * amount / adm.amount, spread[(adm.drug, first.time_days)])
        if duration > 0:
            infusions.setdefault((state, amount / duration), []).append((adm.time_days, adm.time_days + duration))
        else:
            boluses.setdefault((state, amount), []).append(adm.time_days)
    params.update(overrides)
    for drug_name, (dose, tau) in nominal.items():
        slot = slot_of[drug_name]
        params[f"IC50{slot.suffix}"] = mean_effect_ic50(model, slot, params, dose, tau)
    inputs = [d for d in regimen.doses + extra_doses if not isinstance(d, DrugDose)]
    inputs += [Bolus(s, a, tuple(ts)) for (s, a), ts in boluses.items()]
    inputs += [Infusion(s, r, _merged(ivs) if spread else tuple(ivs)) for (s, r), ivs in infusions.items()]
    model.parameter_values(None, **params)  # bounds check, naming the parameter
    return PatientPlan(
        Regimen(tuple(inputs), name=regimen.name or str(regimen)),
        params,
        init,
        {k: v.name for k, v in slot_of.items()},
        tuple(adms),
        tuple(dict.fromkeys(assumed)),
    )


ORAL_INPUTS = ("doses", "continuous")
"""How oral doses enter the gut depot (:func:`plan_patient`'s ``oral_input``)."""

ORAL_SPREAD_GROUPS = ("targeted",)
"""Slot groups whose oral doses ``oral_input="continuous"`` spreads: the oral kinase inhibitors,
with a growth-inhibition ``IC50`` and the depot-central-peripheral PK of :class:`DoseSlot`."""

MEAN_EFFECT_POINTS = 513
"""Points of the Simpson rule over one dosing interval in :func:`mean_effect_ic50`."""

ORAL_SPREAD_MAX_DAYS = 1.0
"""Longest dosing interval (days) over which ``oral_input="continuous"`` spreads an oral dose: daily
or more frequent schedules (a weekly oral dose stays a bolus)."""


def _oral_spread(planned: Sequence[Administration]) -> dict[tuple[str, float], float]:
    """``(drug, time) -> days`` over which a continuous oral dose is spread: the time to the next
    dose of the same drug as planned, the last dose over the interval before it, when at most
    :data:`ORAL_SPREAD_MAX_DAYS`; a drug given once keeps its bolus."""
    times: dict[str, list[float]] = {}
    for a in planned:
        if a.route == "oral" and a.duration_days == 0:
            times.setdefault(a.drug, []).append(a.time_days)
    out: dict[tuple[str, float], float] = {}
    for drug, ts in times.items():
        ts = sorted(set(ts))
        gaps = [b - a for a, b in itertools.pairwise(ts)]
        for k, t in enumerate(ts):
            if not gaps:
                break
            gap = gaps[k] if k < len(gaps) else gaps[-1]
            if 0.0 < gap <= ORAL_SPREAD_MAX_DAYS:
                out[(drug, t)] = gap
    return out


def mean_effect_ic50(model: Model, slot: DoseSlot, params: Mapping[str, float], dose: float, tau: float) -> float:
    r"""IC50 of the spread input that matches the doses' mean growth inhibition at steady state.

    A dose ``dose`` (slot amount units) into the depot every ``tau`` days of a drug with the slot's
    linear PK (depot :math:`\to` central :math:`\leftrightarrow` peripheral, ``params`` over the
    model's defaults) reaches a periodic steady state :math:`x(t) = e^{At}(I - e^{A\tau})^{-1} b`
    on :math:`[0, \tau)`. Its time-averaged inhibition is :math:`I_{max} m` with
    :math:`m = \frac1\tau\int_0^\tau c/(IC_{50} + c)\,dt` (Simpson's rule on
    :data:`MEAN_EFFECT_POINTS` points). The same amount spread evenly over the interval holds the
    concentration at :math:`\bar c = F\,dose/(\tau\,CL)`; the returned
    :math:`IC_{50}' = \bar c (1 - m)/m` makes :math:`\bar c/(IC_{50}' + \bar c) = m`. A drug whose
    concentration hardly moves within a day keeps :math:`IC_{50}' \approx IC_{50}`; one eliminated
    within hours gets a larger one (the troughs inhibit less than the mean concentration would).
    """
    from scipy.integrate import simpson
    from scipy.linalg import expm

    defaults = dict(zip(model.parameter_names, model.parameter_values(None), strict=True))

    def value(canonical: str, default: float = 0.0) -> float:
        name = slot.pk.get(canonical)
        return default if name is None else float(params.get(name, defaults[name]))

    ka, f, cl, v1 = value("ka"), value("F", 1.0), value("CL"), value("V1")
    q, v2 = value("Q"), value("V2", 1.0)
    ic50 = float(params.get(f"IC50{slot.suffix}", defaults[f"IC50{slot.suffix}"]))
    for name, v in (("ka", ka), ("CL", cl), ("V1", v1)):
        if not (math.isfinite(v) and v > 0.0):
            raise ValidationError(
                slot.pk.get(name, name),
                "be > 0 for a continuous oral input (no steady state without absorption and clearance)",
                v,
                f"oral_input='continuous', slot {slot.name}",
            )
    if q > 0.0:
        a = np.array([[-ka, 0.0, 0.0], [f * ka, -(cl + q) / v1, q / v2], [0.0, q / v1, -q / v2]])
    else:  # one compartment: a peripheral state that exchanges nothing would make I - e^{A tau} singular
        a = np.array([[-ka, 0.0], [f * ka, -cl / v1]])
    m0 = a.shape[0]
    n = MEAN_EFFECT_POINTS
    step = expm(a * (tau / (n - 1)))
    x = np.linalg.solve(np.eye(m0) - expm(a * tau), np.eye(m0)[0] * dose)
    c = np.empty(n)
    for k in range(n):
        c[k] = x[1] / v1
        x = step @ x
    m = simpson(c / (ic50 + c), dx=1.0) / (n - 1)
    cbar = f * dose / (tau * cl)
    return cbar * (1.0 - m) / m


def _merged(intervals: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Intervals of one input rate with the back-to-back ones joined (fewer solver restarts)."""
    out: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1e-9 * max(1.0, abs(lo)):
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def _windows(withhold, where: str) -> list[tuple[float, float, frozenset[str] | None, float]]:
    """Validated withholding windows: ``start`` finite and >= 0, ``stop`` >= ``start`` (may be inf),
    drugs named as in the library, dose factor in [0, 1] (0 when not given)."""
    from oncoimmune.treatments._prescription import resolve_drug

    out = []
    for w in withhold:
        if not isinstance(w, Sequence) or len(w) not in (3, 4):
            raise ValidationError("withhold", "be (start, stop, drugs[, factor]) windows", w, where)
        lo, hi, drugs = w[:3]
        try:
            factor = float(w[3]) if len(w) == 4 else 0.0
            lo, hi = float(lo), float(hi)
        except (TypeError, ValueError):
            raise ValidationError("withhold", "have numeric start, stop and factor", w, where) from None
        if not (math.isfinite(lo) and lo >= 0) or math.isnan(hi) or hi < lo:
            raise ValidationError("withhold", "have 0 <= start <= stop days (stop may be inf)", w, where)
        if not 0.0 <= factor <= 1.0:
            raise ValidationError("withhold", "have a dose factor in [0, 1]", w, where)
        names = None if drugs is None else frozenset(resolve_drug(d, where, "withhold").name for d in drugs)
        out.append((lo, hi, names, factor))
    return out


@dataclass(frozen=True)
class TreatmentResult:
    """Result of :func:`simulate_treatment`: the engine result, each patient's plan and parameters.

    ``result[state]`` is ``(patients, times)``; :meth:`outputs` gives the model's derived
    quantities (occupancies, concentrations, sum of diameters for ``io_qsp``).
    """

    result: Any
    plans: tuple[PatientPlan, ...]
    parameters: np.ndarray

    def __getitem__(self, state: str) -> np.ndarray:
        return self.result[state]

    @property
    def t(self) -> np.ndarray:
        return self.result.t

    def outputs(self) -> dict[str, np.ndarray]:
        """Derived quantities, each ``(patients, times)``."""
        model = get_model(self.result.model)
        if model.outputs is None:
            raise ValidationError("model", "define outputs", model.name, "TreatmentResult.outputs")
        if self.result.y is None:
            raise ValidationError("result", "keep trajectories (no reduce=)", "reduced", "TreatmentResult.outputs")
        return model.outputs(self.result.y, self.parameters[:, None, :])


ATOL_PER_DOSE = 1e-8
"""Absolute tolerance on a drug state, as a fraction of the largest amount given into it."""

STEPS_PER_ADMINISTRATION = 400
"""Step budget per administration: each dose is a discontinuity whose absorption and distribution
transients the solver resolves to ``rtol`` (about 50-150 steps each for a small molecule at
rtol 1e-6), so a year of twice-daily oral dosing needs far more than the default budget."""


ATOL_REFERENCE_PATIENT = Covariates(weight_kg=70.0, height_cm=170.0, age_years=60.0, sex="male", serum_creatinine=1.0)
"""The patient whose doses scale the drug states' absolute tolerance and the step budget: a
70-kg, 170-cm adult (BSA about 1.8 m²), so that every patient of a batch integrates with the same
tolerances and a patient's result does not depend on which other patients share its batch."""


def _dose_scaled_atol(model: Model, regimen: Regimen, horizon: float) -> tuple[dict[str, float], int]:
    """Per-state absolute tolerance and the number of administrations of ``regimen`` for
    :data:`ATOL_REFERENCE_PATIENT`: 1e-9 for populations (integrated in log space, where rtol
    rules), and ``ATOL_PER_DOSE`` times the largest amount given into each dosed state, so that
    a 48-MIU IL-2 dose is not resolved to 1e-9 IU nor a 2-mg trametinib dose to 1e-9 mg."""
    ref = plan_patient(model, regimen, ATOL_REFERENCE_PATIENT, horizon)
    big: dict[str, float] = {}
    for d in ref.regimen.doses:
        if isinstance(d, Bolus):
            amount = d.amount
        elif isinstance(d, Infusion):
            amount = max(d.rate * (b - a) for a, b in d.intervals)
        else:
            continue
        big[d.target] = max(big.get(d.target, 0.0), amount)
    atol = {}
    for slot in model.dose_slots:
        dosed = [big[s] for s in slot.routes.values() if s in big]
        if not dosed:
            continue
        for state in {*slot.routes.values(), *(n for n in model.state_names if n.startswith(_prefix(slot)))}:
            atol[state] = ATOL_PER_DOSE * max(dosed)
    return atol, len(ref.administrations)


def _per_patient(values, n: int, name: str, default: Any) -> list[Any]:
    if values is None:
        return [default] * n
    values = list(values)
    if len(values) != n:
        raise ValidationError(name, f"give one entry per patient ({n})", f"{len(values)} entries", "simulate_treatment")
    return values


def _prefix(slot: DoseSlot) -> str:
    """States of a slot share the prefix of its dose state up to the last underscore (Ab_PD1_1, Ab_PD1_2)."""
    state = next(iter(slot.routes.values()))
    return state.rsplit("_", 1)[0] + "_" if "_" in state else state


def simulate_treatment(
    model: str | Model,
    regimen: Regimen | str,
    patients: Covariates | Sequence[Covariates] | None = None,
    times: Sequence[float] | np.ndarray | None = None,
    *,
    t_end: float | None = None,
    params: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
    bsa_formula: str = "mosteller",
    dose_until: float | Sequence[float] | None = None,
    withhold: Sequence[Sequence[tuple[float, float, Collection[str] | None]]] | None = None,
    extra_doses: Sequence[Regimen | None] | None = None,
    oral_input: str = "doses",
    **kwargs: Any,
) -> TreatmentResult:
    """Simulate a regimen on one or more patients described by covariates.

    Parameters
    ----------
    model:
        A model with dose slots, e.g. ``"io_qsp"``.
    regimen:
        A regimen string (``"pembrolizumab 200 mg q3w"``) or :class:`~oncoimmune.treatments.Regimen`.
    patients:
        One :class:`~oncoimmune.treatments.Covariates`, a sequence of them, or ``None`` for the
        model's default patient.
    times, t_end:
        Output times (days) or the horizon (default: the model's ``t_end``), as in
        :func:`~oncoimmune.simulate`.
    params:
        Parameter overrides applied after the plan (e.g. a sensitivity run), one mapping for every
        patient or one per patient (a virtual population's drawn parameters); the model's covariate
        reading sees them, so the initial state is consistent with them.
    dose_until:
        Last day on which doses are given, one value or one per patient (treatment stopped at
        progression or for toxicity); ``None``: the whole regimen up to the horizon.
    withhold:
        One sequence of ``(start, stop, drugs)`` windows per patient: administrations of those
        drugs (``None``: all) starting in ``[start, stop)`` are skipped (doses held for an adverse
        event), or scaled by ``factor`` for a ``(start, stop, drugs, factor)`` window (a dose
        reduction); see :func:`plan_patient`.
    extra_doses:
        One :class:`~oncoimmune.treatments.Regimen` (or ``None``) per patient, given on top of
        ``regimen``: per-patient additions such as the corticosteroid course that manages an
        adverse event (not cut by ``dose_until`` nor ``withhold``).
    oral_input:
        ``"doses"`` or ``"continuous"`` (oral doses spread over their dosing interval), as in
        :func:`plan_patient`.
    **kwargs:
        Passed to :func:`~oncoimmune.simulate` (``rtol``, ``workers``, ``throw``...).
    """
    from oncoimmune.solve._simulate import simulate

    model = get_model(model)
    if isinstance(regimen, str):
        regimen = Regimen.parse(regimen)
    if patients is None or isinstance(patients, Covariates):
        cohort: list[Covariates | None] = [patients]
    else:
        cohort = list(patients)
        if not cohort:
            raise ValidationError("patients", "contain at least one patient", patients, "simulate_treatment")
    if times is not None:
        horizon = float(np.max(np.asarray(times, dtype=float)))
    else:
        horizon = float(t_end) if t_end is not None else model.t_end
    if dose_until is None:
        stops = [horizon] * len(cohort)
    else:
        raw = np.broadcast_to(np.asarray(dose_until, dtype=float), (len(cohort),))
        if np.any(np.isnan(raw)) or np.any(raw < 0):
            raise ValidationError(
                "dose_until", "be >= 0 days (one value or one per patient)", dose_until, "simulate_treatment"
            )
        stops = [min(horizon, float(x)) for x in raw]
    if params is None or isinstance(params, Mapping):
        per_patient: list[Mapping[str, float] | None] = [params] * len(cohort)
    else:
        per_patient = list(params)
        if len(per_patient) != len(cohort):
            raise ValidationError(
                "params",
                f"be one mapping, or one per patient ({len(cohort)})",
                f"{len(per_patient)} mappings",
                "simulate_treatment",
            )
    holds = _per_patient(withhold, len(cohort), "withhold", ())
    extras = _per_patient(extra_doses, len(cohort), "extra_doses", None)
    for x in extras:
        if x is not None and not isinstance(x, Regimen):
            raise ValidationError("extra_doses", "hold one Regimen or None per patient", x, "simulate_treatment")
    plans = tuple(
        plan_patient(
            model,
            regimen,
            c,
            stop,
            params=q,
            bsa_formula=bsa_formula,
            withhold=h,
            extra=x,
            extra_until=horizon,
            oral_input=oral_input,
        )
        for c, stop, q, h, x in zip(cohort, stops, per_patient, holds, extras, strict=True)
    )
    base = model.parameter_values(None)
    table: dict[str, list[float]] = {}
    for name in dict.fromkeys(k for pl in plans for k in pl.parameters):
        i = model.parameter_index(name)
        table[name] = [pl.parameters.get(name, float(base[i])) for pl in plans]
    y0 = model.initial_values(None)
    for name in dict.fromkeys(k for pl in plans for k in pl.init):
        i = model.state_index(name)
        table[f"init.{name}"] = [pl.init.get(name, float(y0[i])) for pl in plans]
    if len(plans) > 1:
        table["patient_id"] = list(range(len(plans)))
    kwargs = dict(kwargs)
    if "atol" not in kwargs or "max_steps" not in kwargs:
        # the arm's regimen plus the first patient-specific addition of each drug (amounts set the
        # tolerance of the states they enter, their number the step budget)
        added: dict[str, Any] = {}
        for x in extras:
            for d in () if x is None else x.doses:
                added.setdefault(getattr(d, "drug", repr(d)), d)
        reference = Regimen(regimen.doses + tuple(added.values()), name=regimen.name)
        atol, n_events = _dose_scaled_atol(model, reference, horizon)
        kwargs.setdefault("atol", atol)
        kwargs.setdefault("max_steps", max(100_000, STEPS_PER_ADMINISTRATION * n_events))
    res = simulate(
        model,
        table if table else None,
        [pl.regimen for pl in plans] if table else plans[0].regimen,
        times,
        t_end=t_end,
        **kwargs,
    )
    P = np.tile(base, (len(plans), 1))
    for name, values in table.items():
        if not name.startswith("init.") and name != "patient_id":
            P[:, model.parameter_index(name)] = values
    return TreatmentResult(res, plans, P)
