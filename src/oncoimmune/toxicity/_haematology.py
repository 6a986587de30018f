r"""Chemotherapy-induced neutropenia and anaemia: semi-mechanistic marrow models graded by CTCAE.

Neutrophils follow the Friberg model with the docetaxel system parameters of Netterberg 2017 /
Kloft 2006 (pharmacology.md §5.2): a proliferating pool, three transit compartments and the
circulating pool, all normalised to their baseline,

.. math::

    \dot P &= k_{tr} P \left(1/C\right)^{\gamma} - k_{tr} P - s_N k(t) P, \\
    \dot T_1 &= k_{tr}(P - T_1), \; \dot T_2 = k_{tr}(T_1 - T_2), \; \dot T_3 = k_{tr}(T_2 - T_3), \\
    \dot C &= k_{tr}(T_3 - C), \qquad ANC(t) = ANC_0\, C(t),

with :math:`k_{tr} = 4/MTT`. The drug effect is io_qsp's cytotoxic kill rate of proliferating
lymphocytes :math:`k(t)` (``cytotoxic_kill_lymphocytes``, 1/day) scaled by a marrow sensitivity
:math:`s_N` (log-normal between patients). Friberg's linear effect :math:`k_{tr}\,slope\,c` is the
same loss term; io_qsp saturates it at :math:`E_{max}`, so :math:`s_N` is calibrated to a trial
rather than taken from the docetaxel slope.

Haemoglobin follows the same structure for erythroid precursors (mean transit ``mtt_e``, feedback
on haemoglobin with exponent ``gamma_e`` for erythropoietin) feeding a red-cell pool that turns
over with the red-cell lifespan: :math:`\dot R = (T_{3,E} - R)/\tau_{RBC}`,
:math:`Hgb(t) = Hgb_0 R(t)`.

Both are integrated with the exact cumulative kill between output times spread evenly over
sub-steps of at most :data:`SUBSTEP` days (exponential update of the proliferating pool,
backward Euler for the transit chain), so the nadir is found between output times. An adverse
event is a grade above the patient's baseline grade (treatment-emergent, as trial tables count).
"""

from __future__ import annotations

import math

import numpy as np

from oncoimmune.toxicity._parameters import HAEM
from oncoimmune.toxicity.grading import grade_anaemia, grade_neutrophils

__all__ = ["SUBSTEP", "marrow"]

SUBSTEP = 0.1
"""Largest integration sub-step (days)."""


def _step(P, T1, T2, T3, C, ktr, gamma, kill, h, fb):
    P = P * np.exp(h * ktr * (np.power(np.minimum(fb, 1e6), gamma) - 1.0) - kill)
    a = h * ktr
    T1 = (T1 + a * P) / (1.0 + a)
    T2 = (T2 + a * T1) / (1.0 + a)
    T3 = (T3 + a * T2) / (1.0 + a)
    return P, T1, T2, T3


def _grade(x: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """CTCAE grade of a count below decreasing thresholds: grade g below the g-th threshold."""
    g = np.zeros(x.shape, dtype=np.int64)
    for c in cuts:
        g += x < c
    return g


def marrow(
    cum_kill: np.ndarray,
    t: np.ndarray,
    s_n: np.ndarray,
    s_e: np.ndarray,
    anc0: np.ndarray,
    hgb0: np.ndarray,
) -> dict[str, np.ndarray]:
    """Neutrophil and haemoglobin courses under a cumulative kill.

    Parameters
    ----------
    cum_kill:
        Cumulative lymphocyte kill :math:`\\int k\\,dt` (dimensionless), ``(patients, times)``.
    t:
        Output times (days), increasing.
    s_n, s_e:
        Marrow sensitivities (neutrophil and erythroid lineages) per patient.
    anc0, hgb0:
        Baseline ANC (10⁹/L) and haemoglobin (g/dL) per patient.

    Returns
    -------
    dict
        ``anc`` (10⁹/L) and ``hgb`` (g/dL) at the output times; per patient the worst grade
        ``neutropenia_grade`` / ``anaemia_grade`` (0 if never above baseline grade), the first time
        the grade rises above baseline (``*_onset``, NaN if never), the time the worst grade is
        first reached (``*_worst_day``) and the time it is back to grade <= 1 (or baseline) after
        that (``*_resolution``, NaN if not within the grid); ``neutropenia_g3_intervals``, a list per
        patient of (start, stop, worst grade) intervals with grade >= 3 (stop NaN if still open; worst
        grade 3 or 4, the grade of the interval's nadir).
    """
    n, m = cum_kill.shape
    ktr = 4.0 / HAEM["mtt"].value
    gam = HAEM["gamma"].value
    ktr_e = 4.0 / HAEM["mtt_e"].value
    gam_e = HAEM["gamma_e"].value
    k_rbc = 1.0 / HAEM["rbc_life"].value
    lln_anc = HAEM["anc_lln"].value
    lln_hgb = HAEM["hgb_lln"].value
    ones = np.ones(n)
    P, T1, T2, T3, C = (ones.copy() for _ in range(5))
    Pe, E1, E2, E3, R = (ones.copy() for _ in range(5))
    anc = np.empty((n, m))
    hgb = np.empty((n, m))
    anc[:, 0] = anc0
    hgb[:, 0] = hgb0
    base_n = np.asarray(grade_neutrophils(anc0 * 1000.0, lln_anc))
    base_e = np.asarray(grade_anaemia(hgb0, lln_hgb))
    # the same CTCAE thresholds as grade_neutrophils / grade_anaemia, without re-validating every sub-step
    anc_cuts = (lln_anc, 1500.0, 1000.0, 500.0)
    hgb_cuts = (lln_hgb, 10.0, 8.0)
    worst = {"n": base_n.copy(), "e": base_e.copy()}
    onset = {"n": np.full(n, np.nan), "e": np.full(n, np.nan)}
    worst_day = {"n": np.full(n, np.nan), "e": np.full(n, np.nan)}
    resolution = {"n": np.full(n, np.nan), "e": np.full(n, np.nan)}
    g3_open = np.full(n, np.nan)
    g3_worst = np.zeros(n, dtype=int)
    g3_intervals: list[list[tuple[float, float, int]]] = [[] for _ in range(n)]
    dK = np.diff(cum_kill, axis=1)
    for j in range(m - 1):
        dt = float(t[j + 1] - t[j])
        k = max(1, math.ceil(dt / SUBSTEP - 1e-9))
        h = dt / k
        kill_n = s_n * dK[:, j] / k
        kill_e = s_e * dK[:, j] / k
        for q in range(k):
            now = float(t[j]) + (q + 1) * h
            # the feedback (baseline/count) is capped at 1e6 in _step; the floor only avoids an overflow
            P, T1, T2, T3 = _step(P, T1, T2, T3, C, ktr, gam, kill_n, h, 1.0 / np.maximum(C, 1e-12))
            C = (C + h * ktr * T3) / (1.0 + h * ktr)
            Pe, E1, E2, E3 = _step(Pe, E1, E2, E3, R, ktr_e, gam_e, kill_e, h, 1.0 / np.maximum(R, 1e-12))
            R = (R + h * k_rbc * E3) / (1.0 + h * k_rbc)
            for key, g, base in (
                ("n", _grade(anc0 * C * 1000.0, anc_cuts), base_n),
                ("e", _grade(hgb0 * R, hgb_cuts), base_e),
            ):
                up = (g > base) & np.isnan(onset[key])
                onset[key][up] = now
                new = g > worst[key]
                worst[key][new] = g[new]
                worst_day[key][new] = now
                resolution[key][new] = np.nan
                back = (worst[key] > base) & ~np.isnan(worst_day[key]) & np.isnan(resolution[key])
                back &= g <= np.maximum(1, base)
                resolution[key][back] = now
                if key == "n":
                    g3 = g >= 3
                    opened = g3 & np.isnan(g3_open)
                    g3_open[opened] = now
                    g3_worst[opened] = 0
                    g3_worst[g3] = np.maximum(g3_worst[g3], g[g3])
                    closed = ~g3 & ~np.isnan(g3_open)
                    for i in np.flatnonzero(closed):
                        g3_intervals[i].append((float(g3_open[i]), now, int(g3_worst[i])))
                    g3_open[closed] = np.nan
        anc[:, j + 1] = anc0 * C
        hgb[:, j + 1] = hgb0 * R
    for i in np.flatnonzero(~np.isnan(g3_open)):
        g3_intervals[i].append((float(g3_open[i]), math.nan, int(g3_worst[i])))
    out = {"anc": anc, "hgb": hgb, "neutropenia_g3_intervals": g3_intervals}
    for key, name, base in (("n", "neutropenia", base_n), ("e", "anaemia", base_e)):
        g = np.where(worst[key] > base, worst[key], 0)
        out[f"{name}_grade"] = g
        out[f"{name}_onset"] = onset[key]
        out[f"{name}_worst_day"] = np.where(g > 0, worst_day[key], np.nan)
        out[f"{name}_resolution"] = np.where(g > 0, resolution[key], np.nan)
    return out
