r"""Dose units as clinics write them, and their conversion to an absolute amount per patient.

A dose is written as an amount and a unit: ``3 mg/kg``, ``375 mg/m2``, ``240 mg``,
``600000 IU/kg``, ``2e6 cells/kg``, ``2 g/kg`` or a carboplatin target ``AUC 5``.
:func:`to_amount` turns it into the absolute amount the drug is dosed in (``mg`` for
antibodies and small molecules, ``IU`` for cytokines, ``cells`` for CAR-T products), using the
patient's :class:`~oncoimmune.treatments.Covariates`, and names the formula it used:

=================  =============================  ==============================================
unit               amount                         needs
=================  =============================  ==============================================
``mg``, ``g``,     flat                           —
``ug``
``mg/kg``,         amount × weight                weight
``g/kg``,
``ug/kg``
``mg/m2``          amount × BSA                   height and weight (Mosteller by default;
(``mg/m²``)                                       DuBois, Haycock, Gehan–George selectable)
``IU``, ``MIU``    flat                           — (1 MIU = 10⁶ IU)
``IU/kg``,         amount × weight                weight
``MIU/kg``
``IU/m2``,         amount × BSA                   height and weight (as ``mg/m2``)
``MIU/m2``
``cells``,         flat, or × weight              weight for ``cells/kg``
``cells/kg``
``AUC``            Calvert: AUC × (GFR + 25) mg   GFR (given) or serum creatinine, age, weight,
                   (AUC in mg/mL·min)             sex (Cockcroft–Gault); GFR capped at 125 mL/min
=================  =============================  ==============================================

Mass units convert among themselves (1 g = 1000 mg = 10⁶ µg), IU units among themselves
(1 MIU = 10⁶ IU); IU and cells convert to nothing else (a drug's mass-to-IU specific activity is
data of its drug file, not a unit conversion). Cytokines are written both ways (aldesleukin
600,000 IU/kg, interferon alfa-2b 20 MIU/m²). Errors use the one validation template of
:mod:`oncoimmune.errors`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from oncoimmune.errors import UnknownNameError, ValidationError

if TYPE_CHECKING:
    from oncoimmune.treatments._covariates import Covariates

__all__ = ["AMOUNT_UNITS", "DOSE_UNITS", "Amount", "DoseUnit", "normalise_unit", "to_amount"]


class DoseUnit(NamedTuple):
    """A dose unit: what it measures (``mass``, ``IU``, ``cells``, ``auc``), per what, and its scale."""

    name: str
    kind: str
    per: str | None  # None (flat), "kg" (per body weight) or "m2" (per body-surface area)
    scale: float  # to the base unit of its kind: mg for mass, IU, cells


DOSE_UNITS: dict[str, DoseUnit] = {
    u.name: u
    for u in (
        DoseUnit("mg", "mass", None, 1.0),
        DoseUnit("g", "mass", None, 1000.0),
        DoseUnit("ug", "mass", None, 1e-3),
        DoseUnit("mg/kg", "mass", "kg", 1.0),
        DoseUnit("g/kg", "mass", "kg", 1000.0),
        DoseUnit("ug/kg", "mass", "kg", 1e-3),
        DoseUnit("mg/m2", "mass", "m2", 1.0),
        DoseUnit("IU", "IU", None, 1.0),
        DoseUnit("IU/kg", "IU", "kg", 1.0),
        DoseUnit("IU/m2", "IU", "m2", 1.0),
        DoseUnit("MIU", "IU", None, 1e6),
        DoseUnit("MIU/kg", "IU", "kg", 1e6),
        DoseUnit("MIU/m2", "IU", "m2", 1e6),
        DoseUnit("cells", "cells", None, 1.0),
        DoseUnit("cells/kg", "cells", "kg", 1.0),
        DoseUnit("AUC", "auc", None, 1.0),
    )
}
"""Dose units accepted in regimens and drug files (normalised spelling)."""

AMOUNT_UNITS: dict[str, tuple[str, float]] = {
    "mg": ("mass", 1.0),
    "g": ("mass", 1000.0),
    "ug": ("mass", 1e-3),
    "IU": ("IU", 1.0),
    "cells": ("cells", 1.0),
}
"""Units a drug's amount can be kept in: kind and scale to the kind's base unit."""

_ALIASES = {
    "mg/m²": "mg/m2",
    "mg/m^2": "mg/m2",
    "µg/kg": "ug/kg",
    "μg/kg": "ug/kg",
    "mcg/kg": "ug/kg",
    "µg": "ug",
    "μg": "ug",
    "mcg": "ug",
    "iu/kg": "IU/kg",
    "iu": "IU",
    "iu/m2": "IU/m2",
    "iu/m²": "IU/m2",
    "iu/m^2": "IU/m2",
    "miu": "MIU",
    "miu/kg": "MIU/kg",
    "miu/m2": "MIU/m2",
    "miu/m²": "MIU/m2",
    "miu/m^2": "MIU/m2",
    "cell/kg": "cells/kg",
    "cell": "cells",
    "auc": "AUC",
    "mg/ml*min": "AUC",
    "mg/ml·min": "AUC",
    "mg/ml.min": "AUC",
    "mg·min/ml": "AUC",
    "mg*min/ml": "AUC",
}


class Amount(NamedTuple):
    """An absolute amount, its unit, and how it was obtained (``formula``)."""

    value: float
    unit: str
    formula: str


def normalise_unit(unit: str, where: str = "dose") -> str:
    """The normalised spelling of a dose unit (``"mg/m²"`` → ``"mg/m2"``); unknown units raise."""
    if not isinstance(unit, str):
        raise ValidationError("unit", "be a string such as 'mg/kg'", unit, where)
    text = "".join(unit.split())
    if text in DOSE_UNITS:
        return text
    alias = _ALIASES.get(text) or _ALIASES.get(text.lower())
    if alias is not None:
        return alias
    raise UnknownNameError("unit", unit, list(DOSE_UNITS), where)


def to_amount(
    amount: float,
    unit: str,
    covariates: Covariates | None = None,
    *,
    amount_unit: str = "mg",
    bsa_formula: str = "mosteller",
    gfr: float | None = None,
    where: str = "dose",
) -> Amount:
    """Convert a dose as written (``amount`` ``unit``) into an absolute amount in ``amount_unit``.

    Parameters
    ----------
    amount:
        The number written before the unit; finite and >= 0.
    unit:
        A dose unit (:data:`DOSE_UNITS`; ``mg/m²`` and ``µg/kg`` are accepted spellings).
    covariates:
        The patient; needed for per-kg, per-m² and AUC doses.
    amount_unit:
        Unit of the result (:data:`AMOUNT_UNITS`), usually the drug's amount unit.
    bsa_formula:
        BSA formula for ``mg/m2`` doses: ``mosteller`` (default), ``dubois``, ``haycock``,
        ``gehan_george``.
    gfr:
        GFR in mL/min for ``AUC`` doses; default: Cockcroft–Gault from the covariates.

    Returns
    -------
    Amount
        ``(value, unit, formula)``; ``formula`` states the computation, e.g.
        ``"375 mg/m2 x BSA 1.8447 m2 (Mosteller)"``.
    """
    from oncoimmune.treatments._covariates import bsa_formula as _bsa_formula

    if isinstance(amount, bool):
        raise ValidationError("amount", "be a finite number >= 0", amount, where)
    try:
        a = float(amount)
    except (TypeError, ValueError):
        raise ValidationError("amount", "be a finite number >= 0", amount, where) from None
    if not math.isfinite(a) or a < 0:
        raise ValidationError("amount", "be a finite number >= 0", amount, where)
    du = DOSE_UNITS[normalise_unit(unit, where)]
    if amount_unit not in AMOUNT_UNITS:
        raise UnknownNameError("amount_unit", amount_unit, list(AMOUNT_UNITS), where)
    out_kind, out_scale = AMOUNT_UNITS[amount_unit]

    if du.kind == "auc":
        if out_kind != "mass":
            raise ValidationError("unit", f"be a {out_kind} unit for a drug dosed in {amount_unit}", du.name, where)
        if covariates is None and gfr is None:
            raise ValidationError("covariates", "be given for an AUC (Calvert) dose", None, where)
        if covariates is None:
            from oncoimmune.treatments._covariates import CALVERT_GFR_CAP

            try:
                g = float(gfr)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                g = math.nan
            if isinstance(gfr, bool) or not math.isfinite(g) or g < 0:
                raise ValidationError("gfr", "be a finite number >= 0 (mL/min)", gfr, where)
            used = min(g, CALVERT_GFR_CAP)
            mg, capped, how = a * (used + 25.0), g > CALVERT_GFR_CAP, "given GFR"
        else:
            res = covariates.calvert_dose(a, gfr) if a > 0 else None
            if res is None:
                return Amount(0.0, amount_unit, "AUC 0")
            mg, used, capped, how = res.dose_mg, res.gfr_used, res.capped, res.gfr_source
        cap = ", capped at 125 mL/min" if capped else ""
        formula = f"Calvert: AUC {a:g} mg/mL*min x (GFR {used:.4g} mL/min ({how}{cap}) + 25)"
        return Amount(mg / out_scale, amount_unit, formula)

    if du.kind != out_kind:
        raise ValidationError("unit", f"be a {out_kind} unit for a drug dosed in {amount_unit}", du.name, where)
    base = a * du.scale / out_scale
    if du.per is None:
        return Amount(base, amount_unit, f"flat dose {a:g} {du.name}")
    if covariates is None:
        needed = "weight" if du.per == "kg" else "height and weight (BSA)"
        raise ValidationError("covariates", f"be given for a {du.name} dose ({needed} needed)", None, where)
    if du.per == "kg":
        w = covariates.weight_kg
        return Amount(base * w, amount_unit, f"{a:g} {du.name} x weight {w:g} kg")
    f = _bsa_formula(bsa_formula)
    bsa = f.function(covariates.height_cm, covariates.weight_kg)
    label = {"mosteller": "Mosteller", "dubois": "DuBois", "haycock": "Haycock", "gehan_george": "Gehan-George"}
    return Amount(base * bsa, amount_unit, f"{a:g} {du.name} x BSA {bsa:.4f} m2 ({label[f.name]})")
