r"""Exposure drivers of the side-effect model, read from the outputs of an exposure model (io_qsp).

Every drug class acts on the adverse-event hazards through one dimensionless *drive* :math:`s_c(t)`
computed from the model outputs, and its cumulative exposure :math:`X_c(t) = \int_{t_0}^{t} s_c\,du`
(driver-days):

=====================  ==========================================  ==================================
class                  drive :math:`s_c`                            output read
=====================  ==========================================  ==================================
anti-PD-1              receptor occupancy :math:`O_{PD1}`           ``occupancy_PD1``
anti-PD-L1             receptor occupancy :math:`O_{PDL1}`          ``occupancy_PDL1``
anti-CTLA-4            :math:`c/(c + EC_{50,tox})`                  ``conc_CTLA4`` (mg/L)
PD-(L)1 x CTLA-4       :math:`B_{PD}\, s_{CTLA4}`                   both of the above
IL-2                   :math:`c/(c + EC_{50,IL2,E})`                ``conc_IL2_nM``
IFN-alpha              :math:`c/(c + EC_{50,IFN})`                  ``conc_IFN_IU_per_mL``
cytotoxic              lymphocyte kill rate (1/day)                 ``cytotoxic_kill_lymphocytes``
targeted               growth inhibition of sensitive cells (0-1)   ``targeted_effect``
CAR-T                  blood CAR-T cells (cells/µL); peak used      ``car_t_per_uL``
=====================  ==========================================  ==================================

with :math:`B_{PD} = 1 - (1 - O_{PD1})(1 - O_{PDL1})`. Why not io_qsp's ``immune_activation``
index: under any anti-PD-1 dose it is already ≥ 0.97 (occupancy is saturated), so it cannot tell
monotherapy from the combination, whose toxicity is three times higher (CheckMate 067). The
anti-PD-1 drive is the saturated occupancy because anti-PD-1 toxicity is flat over a five-fold
dose range (KEYNOTE-002, 2 vs 10 mg/kg, clinical.md §1.2); the anti-CTLA-4 drive is a
concentration Emax because ipilimumab toxicity rises with dose (10 vs 3 mg/kg, Ascierto 2017,
clinical.md §1.2, U) and with trough concentration (Feng 2013, pharmacology.md §1.4, R).

Cumulative exposure is the trapezoidal integral of the sampled drive on the output grid. Drugs
that leave the body within hours (chemotherapy, aldesleukin, interferon) are invisible on a daily
grid, so for them the caller should pass the exact cumulative exposure as
``cumulative_<class>`` (e.g. ``cumulative_cytotoxic``, ∫ kill dt from an accumulator state); a
grid coarser than :data:`FINE_GRID_DAYS` without it is reported in the result's notes.
"""

from __future__ import annotations

import numpy as np

from oncoimmune.errors import ValidationError

__all__ = [
    "CAUSES",
    "CLASSES",
    "FINE_GRID_DAYS",
    "INTERACTION",
    "PLACEBO",
    "cumulative",
    "drives",
    "drug_classes_of",
]

CLASSES = (
    "anti-PD-1",
    "anti-PD-L1",
    "anti-CTLA-4",
    "IL-2",
    "IFN-alpha",
    "cytotoxic",
    "targeted",
    "CAR-T",
)
"""Drug classes the side-effect model knows, as users name them."""

PLACEBO = "placebo"
"""The matched placebo of a double-blind design (``drug_classes`` and the management accept it): no
exposure and no drive, but the patient is on study treatment while it is given, so an adverse event
then is managed (held, stopped) under the general rules as on a drug."""

INTERACTION = "PD-(L)1 x CTLA-4"
"""The cause label of the combination excess (checkpoint synergy) hazard."""

CAUSES = (*CLASSES[:-1], INTERACTION)
"""Causes of hazard-driven (non CAR-T) drug events."""

IMMUNE = ("anti-PD-1", "anti-PD-L1", "anti-CTLA-4", INTERACTION, "IL-2", "IFN-alpha")
"""Causes whose drive corticosteroids damp."""

SHORT_LIVED = ("IL-2", "IFN-alpha", "cytotoxic")
"""Classes whose exposure a coarse output grid misses (half-lives of minutes to hours)."""

FINE_GRID_DAYS = 1.0 / 24.0
"""Largest grid step (days) at which short-lived exposures are integrated from samples."""

SIGNALS = {
    "anti-PD-1": ("occupancy_PD1",),
    "anti-PD-L1": ("occupancy_PDL1",),
    "anti-CTLA-4": ("conc_CTLA4",),
    "IL-2": ("conc_IL2_nM",),
    "IFN-alpha": ("conc_IFN_IU_per_mL",),
    "cytotoxic": ("cytotoxic_kill_lymphocytes",),
    "targeted": ("targeted_effect",),
    "CAR-T": ("car_t_per_uL",),
}
"""Outputs each class reads."""


def _signal(outputs, key: str, shape) -> np.ndarray:
    a = np.asarray(outputs[key], dtype=float)
    if a.shape != shape:
        rule = f"have shape {shape} (patients, times)"
        raise ValidationError(f"outputs['{key}']", rule, a.shape, "simulate_toxicity")
    if not np.all(np.isfinite(a)) or np.any(a < -1e-12):
        raise ValidationError(f"outputs['{key}']", "be finite and >= 0", key, "simulate_toxicity")
    return np.maximum(a, 0.0)


def drives(outputs, shape, present: dict[str, np.ndarray], params) -> dict[str, np.ndarray]:
    """Instantaneous drive of each cause, ``(patients, times)``.

    ``present[c]`` is a boolean per patient: whether the patient receives class ``c``; a class a
    patient does not receive contributes nothing even if its signal is not exactly zero.
    ``params`` holds the Emax constants (:data:`oncoimmune.toxicity._parameters.DRIVER_EC50`).
    """
    out: dict[str, np.ndarray] = {}
    for c in CLASSES:
        keys = SIGNALS[c]
        if not present[c].any():
            continue
        x = _signal(outputs, keys[0], shape)
        if c in params:
            x = x / (x + params[c])
        if c in ("anti-PD-1", "anti-PD-L1", "targeted"):
            x = np.minimum(x, 1.0)
        out[c] = np.where(present[c][:, None], x, 0.0)
    pd = None
    for c in ("anti-PD-1", "anti-PD-L1"):
        if c in out:
            pd = out[c] if pd is None else 1.0 - (1.0 - pd) * (1.0 - out[c])
    if pd is not None and "anti-CTLA-4" in out:
        out[INTERACTION] = pd * out["anti-CTLA-4"]
    return out


def cumulative(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cumulative trapezoidal integral along the time axis, starting at 0 (driver-days)."""
    inc = 0.5 * (s[:, 1:] + s[:, :-1]) * np.diff(t)[None, :]
    out = np.empty_like(s)
    out[:, 0] = 0.0
    np.cumsum(inc, axis=1, out=out[:, 1:])
    return out


_BY_TARGET = {"PD-1": "anti-PD-1", "PD-L1": "anti-PD-L1", "CTLA-4": "anti-CTLA-4"}
_BY_CLASS = {
    "chemotherapy": "cytotoxic",
    "lymphodepletion": "cytotoxic",
    "targeted_therapy": "targeted",
    "car_t": "CAR-T",
}


def drug_classes_of(regimen) -> tuple[str, ...]:
    """Side-effect classes of the drugs of a regimen (text or :class:`~oncoimmune.treatments.Regimen`).

    Checkpoint antibodies map by target (anti-PD-1, anti-PD-L1, anti-CTLA-4); aldesleukin to IL-2 and
    interferon alfa to IFN-alpha; chemotherapy and lymphodepletion to cytotoxic; kinase inhibitors to
    targeted; CAR-T products to CAR-T. Tumour-targeting antibodies, immunoglobulin, vaccines and
    corticosteroids have no side-effect model yet and map to nothing.
    """
    from oncoimmune.treatments import Regimen, get_drug
    from oncoimmune.treatments._prescription import DrugDose

    if isinstance(regimen, str):
        regimen = Regimen.parse(regimen)
    out: list[str] = []
    for dose in regimen.doses:
        if not isinstance(dose, DrugDose):
            continue
        drug = get_drug(dose.drug)
        if drug.drug_class == "checkpoint_antibody":
            c = _BY_TARGET.get(drug.target)
        elif drug.drug_class == "cytokine":
            c = "IL-2" if drug.target.startswith("IL-2") else "IFN-alpha" if "interferon" in drug.target else None
        else:
            c = _BY_CLASS.get(drug.drug_class)
        if c is not None and c not in out:
            out.append(c)
    return tuple(out)
