"""Helpers shared by the population tests: large samples (drawn once per session) and tolerances."""

from functools import cache

import numpy as np
from scipy.special import ndtri

from oncoimmune.population import sample_population

N = 20_000
SEED = 20_260_501
TYPES = ("melanoma", "nsclc", "rcc", "lbcl")


@cache
def _population(tumour_type: str, n: int, seed: int):
    return sample_population(tumour_type, n, seed)


def population(tumour_type: str, n: int = N, seed: int = SEED):
    """A sampled population (cached; a copy, so that a test cannot change another test's data)."""
    return _population(tumour_type, n, seed).copy()


def normal_scores(x) -> np.ndarray:
    """Van der Waerden scores: the latent normal score of a continuous column, recovered from ranks."""
    x = np.asarray(x, dtype=float)
    ranks = np.argsort(np.argsort(x, kind="stable"), kind="stable") + 1
    return ndtri((ranks - 0.5) / x.size)


def share_tol(p: float, n: int, k: float = 4.5) -> float:
    """k binomial standard errors of a share p estimated from n patients."""
    return k * float(np.sqrt(p * (1.0 - p) / n))
