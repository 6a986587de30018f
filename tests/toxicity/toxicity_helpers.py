"""Exposure signals built by hand for the side-effect tests, cached simulations, and tolerances.

The signals stand in for ``TreatmentResult.outputs()`` of io_qsp on the reference regimens of
``oncoimmune.toxicity._calibration`` (an 80-kg patient), so that the calibration can be checked
without solving the model:

* anti-PD-1 occupancy: saturated at 0.985 from the first dose (io_qsp gives 0.972 on day 7 and a
  mean of 0.984 over a year of nivolumab 3 mg/kg q2w); with nivolumab 1 mg/kg during the four
  combination doses, 0.95 until day 84 (io_qsp 0.92-0.98);
* ipilimumab concentration: the analytic two-compartment bolus response of the Feng 2014 typical
  patient (CL 0.360 L/day, V1 4.15 L, Q 0.986 L/day, V2 3.11 L; pharmacology.md §1.4, the
  ``ipilimumab`` variant of pk_two_compartment) to 3 mg/kg x 80 kg on days 0, 21, 42, 63;
* cytotoxic kill: the reference chemotherapy course as a cumulative kill rising by each cycle's
  kill within a day (``CHEMO_PULSES``);
* CAR-T: a Gaussian expansion peaking on day 9 after infusion on day 2 (median Tmax of Stein 2019,
  pharmacology.md §4.3); the peaks spread between patients as in the ZUMA-1 virtual population,
  ln(peak/c_ref) at the normal quantiles of N(ln_peak_mean, ln_peak_sd^2) (``CART``).
"""

from __future__ import annotations

import math
import warnings
from functools import cache

import numpy as np
from scipy.special import ndtri

from oncoimmune.toxicity import simulate_toxicity
from oncoimmune.toxicity._calibration import CHEMO_PULSES
from oncoimmune.toxicity._parameters import CART

T = np.arange(0.0, 366.0, 1.0)
"""Daily grid over the 365-day reference window."""

N = 10_000
SEED = 20_260_604


def two_compartment(t, dose_mg, dose_days, CL=0.360, V1=4.15, Q=0.986, V2=3.11):
    """Central concentration (mg/L) of a linear two-compartment model after IV boluses (analytic)."""
    k10, k12, k21 = CL / V1, Q / V1, Q / V2
    s = k10 + k12 + k21
    root = math.sqrt(s * s - 4.0 * k10 * k21)
    alpha, beta = 0.5 * (s + root), 0.5 * (s - root)
    a = (alpha - k21) / (alpha - beta)
    b = (k21 - beta) / (alpha - beta)
    c = np.zeros_like(np.asarray(t, dtype=float))
    for d in dose_days:
        dt = np.clip(t - d, 0.0, None)
        c = c + np.where(t >= d, dose_mg / V1 * (a * np.exp(-alpha * dt) + b * np.exp(-beta * dt)), 0.0)
    return c


def ipilimumab(mg_per_kg: float = 3.0, weight: float = 80.0) -> np.ndarray:
    return two_compartment(T, mg_per_kg * weight, (0.0, 21.0, 42.0, 63.0))


def pd1(combination: bool = False, level: float = 0.985) -> np.ndarray:
    occ = np.full_like(T, level)
    if combination:
        occ[T < 84.0] = 0.95
    return occ


def chemo_cumulative(pulses=CHEMO_PULSES) -> np.ndarray:
    X = np.zeros_like(T)
    for day, kill in pulses:
        X += kill * np.clip(T - day, 0.0, 1.0)
    return X


def car_t(peak: float | None = None) -> np.ndarray:
    peak = CART["c_ref"].value if peak is None else peak
    c = peak * np.exp(-0.5 * ((T - 11.0) / 3.0) ** 2)
    c[T < 2.0] = 0.0
    return c


def arm(name: str, n: int = N) -> dict[str, np.ndarray]:
    """Outputs of a reference arm for n identical patients (read-only broadcast views)."""
    zero = np.zeros_like(T)
    sig = {"occupancy_PD1": zero, "conc_CTLA4": zero}
    if name == "nivolumab":
        sig = {"occupancy_PD1": pd1(), "conc_CTLA4": zero}
    elif name == "ipilimumab":
        sig = {"occupancy_PD1": zero, "conc_CTLA4": ipilimumab()}
    elif name == "ipilimumab 10 mg/kg":
        sig = {"occupancy_PD1": zero, "conc_CTLA4": ipilimumab(10.0)}
    elif name == "nivolumab+ipilimumab":
        sig = {"occupancy_PD1": pd1(combination=True), "conc_CTLA4": ipilimumab()}
    elif name == "pembrolizumab":
        sig = {"occupancy_PD1": pd1(level=0.997), "conc_CTLA4": zero}
    elif name == "chemotherapy":
        X = chemo_cumulative()
        sig = {"cytotoxic_kill_lymphocytes": np.gradient(X, T), "cumulative_cytotoxic": X}
    elif name == "CAR-T":
        z = ndtri((np.arange(n) + 0.5) / n)
        peaks = CART["c_ref"].value * np.exp(CART["ln_peak_mean"].value + CART["ln_peak_sd"].value * z)
        return {"car_t_per_uL": peaks[:, None] * car_t(1.0)[None, :]}
    elif name != "untreated":
        raise KeyError(name)
    return {k: np.broadcast_to(v, (n, len(T))) for k, v in sig.items()}


@cache
def simulated(name: str, n: int = N, seed: int = SEED):
    """simulate_toxicity on a reference arm (cached per session)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return simulate_toxicity(arm(name, n), T, seed=seed)


def binomial_tol(p: float, n: int, k: float = 3.0) -> float:
    """k binomial standard errors of a rate p estimated from n patients."""
    return k * math.sqrt(max(p * (1.0 - p), 1.0 / n) / n)
