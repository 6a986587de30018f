r"""Patient covariates: body size, renal function and the covariates of the antibody popPK models.

A :class:`Covariates` value is immutable and validated when it is built. It carries what
clinics use to turn a dose into an amount (weight, height, sex, age, serum creatinine) and what
the population-PK models of the drug library use to individualise clearance and volumes
(albumin, eGFR, ECOG, LDH, AST, tumour burden, race, and binary conditions such as
``"nsclc"`` or ``"ada_positive"``).

Plausible bounds (checked at construction; outside them the value is almost surely a unit slip):

=====================  ==================  =====================================================
field                  bounds              note
=====================  ==================  =====================================================
weight_kg              [2, 350] kg         paediatric CAR-T patients down to 14 kg are in scope
height_cm              [40, 250] cm
age_years              [0, 120] years
sex                    female / male       the sex the popPK models were fitted on
serum_creatinine       [0.1, 20] mg/dL     build from µmol/L with :meth:`Covariates.with_creatinine_umol`
albumin_g_per_l        [10, 70] g/L        (4 g/dL = 40 g/L)
egfr                   [1, 250]            mL/min/1.73 m²
ecog                   0 ... 4             integer performance status
ldh_u_per_l            [20, 20000] U/L
ast_u_per_l            [1, 10000] U/L
tumour_burden_mm       [0, 3000] mm        sum of longest diameters (SLD)
pdl1                   [0, 1]              PD-L1 tumour proportion score as a fraction
tmb                    [0, 1000] mut/Mb    tumour mutational burden
growth_rate            [0, 1] 1/day        net growth rate of the untreated tumour (ln 2 / doubling time)
n_lesions              1 ... 10            number of target lesions
car_antigen            [0, 1]              fraction of cancer cells with the CAR antigen
target_antigen         [0, 1]              fraction with the tumour-targeting antibody's antigen
=====================  ==================  =====================================================

Body-surface area (:meth:`Covariates.bsa`, :data:`BSA_FORMULAS`), H in cm and W in kg
(pharmacology.md §0.1, all flag V):

* Mosteller (default): :math:`\sqrt{H W / 3600}` — Mosteller RD, N Engl J Med 1987;317:1098.
* DuBois & DuBois: :math:`0.007184\, W^{0.425} H^{0.725}` — Arch Intern Med 1916;17:863.
* Haycock: :math:`0.024265\, H^{0.3964} W^{0.5378}` — J Pediatr 1978;93:62.
* Gehan–George: :math:`0.0235\, H^{0.42246} W^{0.51456}` — Cancer Chemother Rep 1970;54:225.

Creatinine clearance (Cockcroft DW, Gault MH, Nephron 1976;16:31 — pharmacology.md §0.1, V):
:math:`\mathrm{CrCl} = (140 - \mathrm{age})\, W / (72\, \mathrm{SCr}) \times 0.85` if female, in
mL/min, with SCr in mg/dL and the actual body weight.

Carboplatin dose (Calvert AH et al., J Clin Oncol 1989;7:1748; pharmacology.md §5.3, V):
:math:`\mathrm{dose\,[mg]} = \mathrm{AUC\,[mg/mL \cdot min]} \times (\mathrm{GFR} + 25)`, GFR in
mL/min. The GFR is capped at 125 mL/min following the FDA safety communication of 2010; that cap
is flagged **R** in pharmacology.md (restated by dosing calculators, the FDA text itself not
re-read).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from oncoimmune._validate import finite_number
from oncoimmune.errors import UnknownNameError, ValidationError

__all__ = [
    "BSA_FORMULAS",
    "CALVERT_GFR_CAP",
    "CREATININE_UMOL_PER_MG_DL",
    "BsaFormula",
    "CalvertDose",
    "Covariates",
]

CREATININE_UMOL_PER_MG_DL = 88.42
"""µmol/L of creatinine per mg/dL (pharmacology.md §0.1: SCr µmol/L ÷ 88.42 → mg/dL)."""

CALVERT_GFR_CAP = 125.0
"""mL/min; the cap on the GFR used in the Calvert formula (FDA 2010; pharmacology.md flag R)."""


class BsaFormula(NamedTuple):
    """A body-surface-area formula: ``function(height_cm, weight_kg) -> m²`` and its source."""

    name: str
    function: Callable[[float, float], float]
    equation: str
    source: str


BSA_FORMULAS: dict[str, BsaFormula] = {
    f.name: f
    for f in (
        BsaFormula(
            "mosteller",
            lambda h, w: math.sqrt(h * w / 3600.0),
            "sqrt(H*W/3600)",
            "Mosteller RD, N Engl J Med 1987;317:1098 (pharmacology.md §0.1, V)",
        ),
        BsaFormula(
            "dubois",
            lambda h, w: 0.007184 * w**0.425 * h**0.725,
            "0.007184 * W^0.425 * H^0.725",
            "DuBois D, DuBois EF, Arch Intern Med 1916;17:863 (pharmacology.md §0.1, V)",
        ),
        BsaFormula(
            "haycock",
            lambda h, w: 0.024265 * h**0.3964 * w**0.5378,
            "0.024265 * H^0.3964 * W^0.5378",
            "Haycock GB et al., J Pediatr 1978;93:62 (pharmacology.md §0.1, V)",
        ),
        BsaFormula(
            "gehan_george",
            lambda h, w: 0.0235 * h**0.42246 * w**0.51456,
            "0.0235 * H^0.42246 * W^0.51456",
            "Gehan EA, George SL, Cancer Chemother Rep 1970;54:225 (pharmacology.md §0.1, V)",
        ),
    )
}

_BOUNDS: dict[str, tuple[float, float, str]] = {
    "weight_kg": (2.0, 350.0, "kg"),
    "height_cm": (40.0, 250.0, "cm"),
    "age_years": (0.0, 120.0, "years"),
    "serum_creatinine": (0.1, 20.0, "mg/dL"),
    "albumin_g_per_l": (10.0, 70.0, "g/L"),
    "egfr": (1.0, 250.0, "mL/min/1.73 m2"),
    "ldh_u_per_l": (20.0, 20000.0, "U/L"),
    "ast_u_per_l": (1.0, 10000.0, "U/L"),
    "tumour_burden_mm": (0.0, 3000.0, "mm"),
    "pdl1": (0.0, 1.0, "fraction of tumour cells, TPS/100"),
    "tmb": (0.0, 1000.0, "mut/Mb"),
    "growth_rate": (0.0, 1.0, "1/day"),
    "car_antigen": (0.0, 1.0, "fraction of tumour cells"),
    "target_antigen": (0.0, 1.0, "fraction of tumour cells"),
}
_SEXES = ("female", "male")


class CalvertDose(NamedTuple):
    """Result of :meth:`Covariates.calvert_dose`."""

    dose_mg: float
    gfr_used: float  # mL/min, after the cap
    capped: bool
    gfr_source: str


@dataclass(frozen=True)
class Covariates:
    """One patient's covariates (immutable; validated at construction, bounds in the module docstring).

    Parameters
    ----------
    weight_kg, height_cm, age_years:
        Actual body weight, height and age.
    sex:
        ``"female"`` or ``"male"``.
    serum_creatinine:
        Serum creatinine in mg/dL (optional; needed for Cockcroft–Gault and the Calvert formula).
    albumin_g_per_l, egfr, ecog, ldh_u_per_l, ast_u_per_l, tumour_burden_mm:
        Optional covariates of the popPK models; a model that needs one the patient lacks uses
        its reference value and says so (:meth:`oncoimmune.treatments.Drug.pk_patient`).
    race:
        Optional free text as the popPK models code it (``"asian"``, ``"black"``, ``"white"``...).
    conditions:
        Binary indicators of disease and context used by popPK models, lower case:
        ``"nsclc"``, ``"ada_positive"``, ``"prior_ipilimumab"``, ``"liver_metastases"``,
        ``"progressor"``...
    pdl1, tmb, msi_high, growth_rate, n_lesions, car_antigen, target_antigen:
        Tumour biomarkers read by the mechanistic models (optional; a model uses its default
        and says so when one is missing): PD-L1 tumour proportion score as a fraction (0.6 for
        TPS 60 %), tumour mutational burden (mut/Mb), microsatellite instability high, intrinsic
        growth rate of cancer cells (1/day), number of target lesions (1–10, RECIST caps at 5),
        and the fractions of cancer cells bearing the CAR antigen (CD19) and the tumour-targeting
        antibody's antigen (CD20, HER2).
    """

    weight_kg: float
    height_cm: float
    age_years: float
    sex: str
    serum_creatinine: float | None = None
    albumin_g_per_l: float | None = None
    egfr: float | None = None
    ecog: int | None = None
    ldh_u_per_l: float | None = None
    ast_u_per_l: float | None = None
    tumour_burden_mm: float | None = None
    race: str | None = None
    conditions: frozenset[str] = field(default_factory=frozenset)
    pdl1: float | None = None
    tmb: float | None = None
    msi_high: bool | None = None
    growth_rate: float | None = None
    n_lesions: int | None = None
    car_antigen: float | None = None
    target_antigen: float | None = None

    def __post_init__(self) -> None:
        where = "Covariates"
        for name, (lo, hi, unit) in _BOUNDS.items():
            value = getattr(self, name)
            required = name in ("weight_kg", "height_cm", "age_years")
            if value is None and not required:
                continue
            v = _number(name, value, where)
            if not (lo <= v <= hi):
                raise ValidationError(name, f"lie in [{lo:g}, {hi:g}] ({unit})", value, where)
            object.__setattr__(self, name, v)
        if self.sex not in _SEXES:
            raise ValidationError("sex", f"be one of {list(_SEXES)}", self.sex, where)
        if self.ecog is not None and (
            isinstance(self.ecog, bool) or not isinstance(self.ecog, int) or not 0 <= self.ecog <= 4
        ):
            raise ValidationError("ecog", "be an integer in [0, 4]", self.ecog, where)
        for name in ("msi_high",):
            v = getattr(self, name)
            if v is not None and not isinstance(v, (bool, np.bool_)):
                raise ValidationError(name, "be true or false", v, where)
        if self.n_lesions is not None and (
            isinstance(self.n_lesions, bool) or not isinstance(self.n_lesions, int) or not 1 <= self.n_lesions <= 10
        ):
            raise ValidationError("n_lesions", "be an integer in [1, 10]", self.n_lesions, where)
        if self.race is not None:
            if not isinstance(self.race, str) or not self.race.strip():
                raise ValidationError("race", "be a non-empty string", self.race, where)
            object.__setattr__(self, "race", self.race.strip().lower())
        conds = self.conditions
        if isinstance(conds, str) or not isinstance(conds, Iterable):
            raise ValidationError("conditions", "be a set of strings", conds, where)
        conds = frozenset(conds)
        if not all(isinstance(c, str) and c for c in conds):
            raise ValidationError("conditions", "contain non-empty strings", sorted(map(str, conds)), where)
        object.__setattr__(self, "conditions", frozenset(c.lower() for c in conds))

    @classmethod
    def with_creatinine_umol(cls, serum_creatinine_umol_per_l: float, **kwargs: Any) -> Covariates:
        """Build covariates from a serum creatinine in µmol/L (÷ 88.42 → mg/dL)."""
        v = _number("serum_creatinine_umol_per_l", serum_creatinine_umol_per_l, "Covariates")
        return cls(serum_creatinine=v / CREATININE_UMOL_PER_MG_DL, **kwargs)

    # -- derived quantities --------------------------------------------------------------------
    @property
    def is_female(self) -> bool:
        return self.sex == "female"

    @property
    def bmi(self) -> float:
        """Body-mass index, kg/m²."""
        return self.weight_kg / (self.height_cm / 100.0) ** 2

    def bsa(self, formula: str = "mosteller") -> float:
        """Body-surface area in m² by the named formula (see :data:`BSA_FORMULAS`)."""
        return bsa_formula(formula).function(self.height_cm, self.weight_kg)

    def creatinine_clearance(self) -> float:
        """Cockcroft–Gault creatinine clearance in mL/min (actual body weight; × 0.85 if female)."""
        if self.serum_creatinine is None:
            raise ValidationError(
                "serum_creatinine", "be given to compute the Cockcroft-Gault creatinine clearance", None, "Covariates"
            )
        crcl = (140.0 - self.age_years) * self.weight_kg / (72.0 * self.serum_creatinine)
        return max(crcl * (0.85 if self.is_female else 1.0), 0.0)

    def calvert_dose(self, target_auc: float, gfr: float | None = None) -> CalvertDose:
        """Carboplatin dose (mg) for a target AUC in mg/mL·min: ``AUC × (GFR + 25)``.

        ``gfr`` (mL/min) defaults to the Cockcroft–Gault creatinine clearance. The GFR is capped
        at 125 mL/min (FDA 2010; flag R in pharmacology.md §0.1, §5.3).
        """
        auc = _number("target_auc", target_auc, "calvert_dose")
        if not 0.0 < auc <= 10.0:
            raise ValidationError("target_auc", "lie in (0, 10] (mg/mL*min)", target_auc, "calvert_dose")
        if gfr is None:
            g, how = self.creatinine_clearance(), "Cockcroft-Gault creatinine clearance"
        else:
            g, how = _number("gfr", gfr, "calvert_dose"), "given GFR"
            if g < 0:
                raise ValidationError("gfr", "be >= 0 (mL/min)", gfr, "calvert_dose")
        capped = g > CALVERT_GFR_CAP
        used = min(g, CALVERT_GFR_CAP)
        return CalvertDose(auc * (used + 25.0), used, capped, how)


def bsa_formula(name: str) -> BsaFormula:
    """The BSA formula called ``name`` (case-insensitive; ``"gehan-george"`` is accepted)."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in BSA_FORMULAS:
        raise UnknownNameError("bsa_formula", name, list(BSA_FORMULAS))
    return BSA_FORMULAS[key]


_number = finite_number
