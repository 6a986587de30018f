r"""Cytokine release syndrome and ICANS after CAR-T cells, graded with the ASTCT consensus.

Peak CAR-T expansion is associated with CRS severity and tocilizumab use (tisagenlecleucel,
Awasthi 2020; axi-cel, Locke 2020; pharmacology.md §4.3), so each patient's severity is a latent
variable centred on the log of the peak blood CAR-T count :math:`C_{max}` (cells/µL):

.. math::

    z_i = \ln(C_{max,i} / C_{ref}) + \sigma_p \varepsilon_i, \qquad
    z_{ij} = z_i + \sigma_f \eta_{ij}

with :math:`\varepsilon, \eta \sim N(0, 1)`. Each clinical feature *j* of CRS (fever, the support
hypotension needs, the oxygen hypoxia needs) and of ICANS (ICE score band, level of consciousness,
seizure) is present at a level set by thresholds on :math:`z_{ij}`, and the grade is then computed
from those features with the ASTCT definitions (:func:`~oncoimmune.toxicity.grading.astct_crs_grade`,
:func:`~oncoimmune.toxicity.grading.astct_icans_grade`), so that the grade is *derived* from the
definition, not drawn. ICANS susceptibility correlates with CRS susceptibility with coefficient
:math:`\rho`. Thresholds are set so that the ZUMA-1 virtual population (io_qsp with the
shipped ``zuma1`` calibration, whose peaks spread as :math:`\ln(C_{max}/C_{ref}) \sim
N(\mu_c, s_c^2)`, ``ln_peak_mean`` and ``ln_peak_sd``; :math:`C_{ref}` is the real-world median
axi-cel peak) has the ZUMA-1 / YESCARTA rates (clinical.md §1.6): CRS 94 %, grade ≥ 3 13 %,
hypotension 41 %, hypoxia 22 %; neurologic events of grade ≥ 3 28 %. (Set at :math:`C_{max} =
C_{ref}` alone, the population's wide spread of peaks gave grade ≥ 3 CRS 19 % and
any CRS 70 %.) A patient with no CAR-T signal has neither.

Onset and duration are log-normal around the label medians (CRS onset 2 d, duration 7 d; ICANS
onset 4 d, duration 17 d) counted from the infusion day, the first output time with CAR-T cells.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from oncoimmune.toxicity._parameters import CART
from oncoimmune.toxicity._parameters import CART_THRESHOLDS as THRESHOLDS
from oncoimmune.toxicity.grading import astct_crs_grade, astct_icans_grade

__all__ = ["HYPOTENSION_LEVELS", "HYPOXIA_LEVELS", "cart_events"]

HYPOTENSION_LEVELS = ("none", "fluids", "one_vasopressor", "multiple_vasopressors")
HYPOXIA_LEVELS = ("none", "low_flow", "high_flow", "positive_pressure")
CONSCIOUSNESS_LEVELS = ("normal", "spontaneous", "voice", "tactile", "unarousable")

N_UNIFORMS = 12
"""Uniform random numbers used per patient (fixed layout)."""


def _level(z: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    return np.searchsorted(np.asarray(cuts), z, side="right")


def cart_events(car: np.ndarray, t: np.ndarray, u: np.ndarray) -> list[dict]:
    """CRS and ICANS episodes of the patients with a CAR-T signal.

    Parameters
    ----------
    car:
        Blood CAR-T cells (cells/µL), ``(patients, times)``.
    t:
        Output times (days).
    u:
        Uniform random numbers, ``(patients, N_UNIFORMS)``.

    Returns
    -------
    list of dict
        One record per episode: ``row`` (patient position), ``term``, ``onset_day``, ``grade``,
        ``resolution_day`` and the ASTCT features behind the grade.
    """
    records: list[dict] = []
    peak = car.max(axis=1)
    has = peak > 0.0
    if not has.any():
        return records
    c_ref = CART["c_ref"].value
    sp, sf, rho = CART["sigma_patient"].value, CART["sigma_feature"].value, CART["rho_icans"].value
    n = ndtri(np.clip(u, 1e-12, 1.0 - 1e-12))
    z_crs = np.log(np.where(has, peak, 1.0) / c_ref) + sp * n[:, 0]
    z_icans = np.log(np.where(has, peak, 1.0) / c_ref) + sp * (rho * n[:, 0] + np.sqrt(1.0 - rho**2) * n[:, 6])
    fever = z_crs + sf * n[:, 1] > THRESHOLDS["fever"][0]
    hyp = _level(z_crs + sf * n[:, 2], THRESHOLDS["hypotension"])
    oxy = _level(z_crs + sf * n[:, 3], THRESHOLDS["hypoxia"])
    ice_band = _level(z_icans + sf * n[:, 7], THRESHOLDS["ice"])  # 0: ICE 10, 1: 7-9, 2: 3-6, 3: 0-2
    unarousable = z_icans + sf * n[:, 7] > THRESHOLDS["unarousable"][0]
    seizure = z_icans + sf * n[:, 8] > THRESHOLDS["seizure"][0]
    lo = np.array([10, 7, 3, 0])
    hi = np.array([10, 9, 6, 2])
    first = np.argmax(car > 0.0, axis=1)
    (c_on_m, c_on_s), (c_du_m, c_du_s) = CART["crs_onset"].value, CART["crs_duration"].value
    (i_on_m, i_on_s), (i_du_m, i_du_s) = CART["icans_onset"].value, CART["icans_duration"].value
    for i in np.flatnonzero(has):
        day0 = float(t[first[i]])
        crs = astct_crs_grade(bool(fever[i]), HYPOTENSION_LEVELS[hyp[i]], HYPOXIA_LEVELS[oxy[i]])
        if crs > 0:
            onset = day0 + c_on_m * float(np.exp(c_on_s * n[i, 4]))
            records.append(
                {
                    "row": int(i),
                    "term": "crs",
                    "onset_day": onset,
                    "grade": crs,
                    "cause": "CAR-T",
                    "resolution_day": onset + c_du_m * float(np.exp(c_du_s * n[i, 5])),
                    "detail": f"fever, hypotension {HYPOTENSION_LEVELS[hyp[i]]}, hypoxia {HYPOXIA_LEVELS[oxy[i]]}; "
                    f"peak {peak[i]:.3g} cells/uL",
                }
            )
        b = int(ice_band[i])
        ice = int(lo[b] + np.floor(u[i, 11] * (hi[b] - lo[b] + 1)))
        consc = "unarousable" if unarousable[i] else "normal"
        if consc == "unarousable":
            ice = 0
        seiz = "rapid" if seizure[i] else "none"
        icans = astct_icans_grade(ice, consc, seiz)
        if icans > 0:
            onset = day0 + i_on_m * float(np.exp(i_on_s * n[i, 9]))
            records.append(
                {
                    "row": int(i),
                    "term": "icans",
                    "onset_day": onset,
                    "grade": icans,
                    "cause": "CAR-T",
                    "resolution_day": onset + i_du_m * float(np.exp(i_du_s * n[i, 10])),
                    "detail": f"ICE {ice}, consciousness {consc}, seizure {seiz}; peak {peak[i]:.3g} cells/uL",
                }
            )
    return records
