r"""Sampling virtual patients: correlated covariates through a Gaussian copula, reproducible per patient.

Method (population.md §2)
-------------------------
For patient :math:`i` the sampler draws, from random streams that depend only on the seed, the
patient's index and the variable (never on ``n`` or on the order in which patients are drawn):

1. the subtype-by-sex cell (NSCLC histology; sex given histology) and, independently, the
   microsatellite status (MSI-high with the tumour type's prevalence);
2. a vector :math:`e` of independent standard normals, one per copula member, turned into
   correlated latent scores :math:`z = L e`, :math:`L L^T = R` (Cholesky factor of the latent
   correlation matrix :math:`R` built from the correlation tree of the tumour type);
3. each covariate from its own score through its marginal (sex-specific for weight and height,
   the MSI or MSS component for TMB), so that every marginal is exactly the declared one and the
   dependence is that of :math:`R`.

Fixed covariates (``overrides``) are conditioned on, not pasted over: a fixed continuous value
sets its latent score :math:`z_F = \Phi^{-1}(F(x))`; a fixed ECOG grade or lesion count draws
its score from the normal truncated to the grade's interval (given the continuous scores already
fixed); the free scores then follow the Gaussian conditional
:math:`z_G = R_{GF} R_{FF}^{-1} z_F + \mathrm{chol}(R_{GG} - R_{GF} R_{FF}^{-1} R_{FG})\, e_G`.
Sex and MSI status are drawn from their posterior given fixed weight, height or TMB (the
marginal densities and the Gaussian-copula density of the fixed scores). The conditioning is
exact when at most one of ECOG and the number of lesions is fixed; with both fixed the second is
conditioned on the first's drawn score (their latent correlation is about 0.1).

Random streams
--------------
Patients are drawn in blocks of :data:`BLOCK_SIZE`; every (variable, block) pair has its own
PCG64 stream seeded by ``SeedSequence(seed, spawn_key=(slot, block))``, with the slot numbers of
:data:`SLOTS`. Patient ``start + k`` is therefore the same whatever ``n`` and ``start``: a trial
of 100 patients is the first 100 of a trial of 1000, and chunks sampled by separate workers
concatenate to the same population. All arithmetic is element-wise (no BLAS), so the results are
bit-identical across chunkings.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from oncoimmune._validate import finite_number, integer
from oncoimmune._version import __version__
from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.population._distributions import (
    MEMBER_ORDER,
    BySex,
    Continuous,
    Ordinal,
    Strata,
    TMBMixture,
    TumourType,
    load_tumour_type,
    resolve_tumour_type,
)
from oncoimmune.treatments._covariates import Covariates

__all__ = [
    "BLOCK_SIZE",
    "COLUMNS",
    "SLOTS",
    "ckd_epi_2021",
    "creatinine_from_egfr",
    "sample_population",
    "to_covariates",
]

BLOCK_SIZE = 1024
"""Patients per random-stream block."""

STREAM_LAYOUT = 1
"""Version of the stream layout (slot numbers, block size, draw kinds); recorded in provenance."""

SLOTS: dict[str, int] = {
    "cell": 0,
    "msi": 1,
    "age_years": 2,
    "weight_kg": 3,
    "height_cm": 4,
    "serum_creatinine": 5,
    "ecog": 6,
    "tumour_burden_mm": 7,
    "spd_cm2": 8,
    "ldh_u_per_l": 9,
    "n_lesions": 10,
    "growth_rate": 11,
    "tmb": 12,
    "pdl1": 13,
    "car_antigen": 14,
}
"""Stream slot of every random variable; a new variable takes a new number, existing ones never change."""
if set(SLOTS) != {"cell", "msi", *MEMBER_ORDER}:  # pragma: no cover - guards edits of MEMBER_ORDER
    raise RuntimeError("every copula member needs a stream slot")

COLUMNS = (
    "patient_id",
    "tumour_type",
    "subtype",
    "sex",
    "age_years",
    "weight_kg",
    "height_cm",
    "egfr",
    "serum_creatinine",
    "ecog",
    "ldh_u_per_l",
    "tumour_burden_mm",
    "spd_cm2",
    "n_lesions",
    "pdl1",
    "tmb",
    "msi_high",
    "growth_rate",
    "car_antigen",
)
"""Columns of a sampled population, in order (NaN where a covariate does not apply to the tumour type)."""

_WHERE = "sample_population"
_STRATIFIERS = ("sex", "subtype", "msi_high")
_DERIVED = {
    "egfr": "fix 'serum_creatinine' instead: eGFR is derived from serum creatinine, age and sex (CKD-EPI 2021)",
    "tumour_burden_mm": "fix 'spd_cm2' instead: for lymphoma the sum of diameters is derived from the SPD",
}


# -- renal function ------------------------------------------------------------------------------
# CKD-EPI 2021 creatinine equation without race (Inker LA et al., N Engl J Med 2021;385:1737; flag R:
# not in the reference notes): eGFR = 142 min(S/k, 1)^a max(S/k, 1)^-1.200 0.9938^age (x 1.012 if female),
# S serum creatinine in mg/dL, k = 0.7 (female) or 0.9 (male), a = -0.241 (female) or -0.302 (male).


def ckd_epi_2021(scr_mg_dl: Any, age_years: Any, female: Any) -> np.ndarray:
    """eGFR (mL/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation (Inker 2021; flag R)."""
    s = np.asarray(scr_mg_dl, dtype=float)
    f = np.asarray(female, dtype=bool)
    k = np.where(f, 0.7, 0.9)
    a = np.where(f, -0.241, -0.302)
    r = s / k
    return (
        142.0
        * np.minimum(r, 1.0) ** a
        * np.maximum(r, 1.0) ** -1.200
        * 0.9938 ** np.asarray(age_years, dtype=float)
        * np.where(f, 1.012, 1.0)
    )


def creatinine_from_egfr(egfr: Any, age_years: Any, female: Any) -> np.ndarray:
    """Serum creatinine (mg/dL) whose CKD-EPI 2021 eGFR is ``egfr``: the inverse of :func:`ckd_epi_2021`."""
    g = np.asarray(egfr, dtype=float)
    f = np.asarray(female, dtype=bool)
    k = np.where(f, 0.7, 0.9)
    a = np.where(f, -0.241, -0.302)
    top = 142.0 * 0.9938 ** np.asarray(age_years, dtype=float) * np.where(f, 1.012, 1.0)  # eGFR at S = k
    ratio = g / top
    r = np.where(ratio >= 1.0, ratio ** (1.0 / a), ratio ** (-1.0 / 1.200))
    return r * k


# -- validation ----------------------------------------------------------------------------------


def _integer(name: str, value: Any, minimum: int) -> int:
    return integer(name, value, minimum, _WHERE)


def _support(tt: TumourType, name: str) -> tuple[float, float]:
    m = tt.covariates[name].marginal
    if isinstance(m, TMBMixture):
        return m.mss.lower, max(m.mss.upper, m.msi.upper)
    return m.lower, m.upper  # type: ignore[union-attr]


def _check_overrides(tt: TumourType, overrides: Any) -> dict[str, Any]:
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise ValidationError("overrides", "be a mapping of covariate names to values", overrides, _WHERE)
    allowed = [*tt.members, *_STRATIFIERS]
    fixed: dict[str, Any] = {}
    for key, value in overrides.items():
        field = f"overrides.{key}"
        if key in _DERIVED and key not in tt.members:
            raise ValidationError(field, _DERIVED[key], value, _WHERE)
        if key not in allowed:
            raise UnknownNameError("overrides", key, allowed, _WHERE)
        if key == "sex":
            if value not in ("female", "male"):
                raise ValidationError(field, "be 'female' or 'male'", value, _WHERE)
        elif key == "subtype":
            if value not in tt.subtypes:
                raise ValidationError(field, f"be one of {sorted(tt.subtypes)}", value, _WHERE)
        elif key == "msi_high":
            if not isinstance(value, (bool, np.bool_)):
                raise ValidationError(field, "be true or false", value, _WHERE)
            value = bool(value)
            prevalence = tt.covariates["tmb"].marginal.msi_prevalence  # type: ignore[union-attr]
            if value and prevalence <= 0.0:
                raise ValidationError(field, f"be false: MSI-high has prevalence 0 in {tt.name}", value, _WHERE)
        elif isinstance(tt.covariates[key].marginal, Ordinal):
            levels = tt.covariates[key].marginal.levels  # type: ignore[union-attr]
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
                raise ValidationError(field, f"be an integer in {list(levels)}", value, _WHERE)
            if int(value) not in levels:
                raise ValidationError(field, f"be one of {list(levels)} for {tt.name}", value, _WHERE)
            value = int(value)
        else:
            value = finite_number(field, value, _WHERE)
            lo, hi = _support(tt, key)
            if not lo <= value <= hi:
                unit = tt.covariates[key].unit
                raise ValidationError(field, f"lie in [{lo:g}, {hi:g}] ({unit}) for {tt.name}", value, _WHERE)
        fixed[key] = value
    if "sex" in fixed or "subtype" in fixed:
        p = sum(
            pr
            for st, sex, pr in tt.cell_probabilities()
            if fixed.get("sex", sex) == sex and fixed.get("subtype", st) == st
        )
        if p <= 0.0:
            raise ValidationError("overrides.sex", f"be possible for {tt.name}", fixed.get("sex"), _WHERE)
    if "tmb" in fixed and "msi_high" in fixed:
        m = tt.covariates["tmb"].marginal
        comp = m.msi if fixed["msi_high"] else m.mss  # type: ignore[union-attr]
        if not comp.lower <= fixed["tmb"] <= comp.upper:
            what = "MSI-high" if fixed["msi_high"] else "microsatellite-stable"
            rule = f"lie in [{comp.lower:g}, {comp.upper:g}] mut/Mb for a {what} tumour"
            raise ValidationError("overrides.tmb", rule, fixed["tmb"], _WHERE)
    return fixed


# -- random streams ------------------------------------------------------------------------------


def _stream(seed: int, start: int, n: int, slot: str, kind: str) -> np.ndarray:
    """Draws ``start .. start + n - 1`` of one variable: standard normals or uniforms on [0, 1)."""
    first, last = start // BLOCK_SIZE, (start + n - 1) // BLOCK_SIZE
    parts = []
    for block in range(first, last + 1):
        seq = np.random.SeedSequence(seed, spawn_key=(SLOTS[slot], block))
        gen = np.random.Generator(np.random.PCG64(seq))
        parts.append(gen.standard_normal(BLOCK_SIZE) if kind == "normal" else gen.random(BLOCK_SIZE))
    offset = start - first * BLOCK_SIZE
    return np.concatenate(parts)[offset : offset + n]


def _cholesky(A: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor in a fixed order of operations (LAPACK's can differ in the last bit between sizes).

    Row i depends only on the leading i x i block, and independent variables contribute exact zeros, so
    fixing an independent covariate leaves the draws of the others bit-identical.
    """
    n = A.shape[0]
    L = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = float(A[i, j])
            for k in range(j):
                s -= L[i][k] * L[j][k]
            if i == j:
                if s <= 0.0:
                    raise np.linalg.LinAlgError("correlation matrix is not positive definite")
                L[i][j] = math.sqrt(s)
            else:
                L[i][j] = s / L[j][j]
    return np.array(L)


def _rows(M: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``X @ M.T`` by element-wise accumulation in a fixed order (bit-identical for any number of rows)."""
    out = np.zeros((X.shape[0], M.shape[0]))
    for i in range(M.shape[0]):
        acc = np.zeros(X.shape[0])
        for j in range(M.shape[1]):
            if M[i, j] != 0.0:
                acc = acc + M[i, j] * X[:, j]
        out[:, i] = acc
    return out


# -- latent scores of fixed values ------------------------------------------------------------------


def _continuous_part(m: Any, sex: str | None, msi: bool | None) -> Any:
    if isinstance(m, BySex):
        return m.part(sex or "male")
    if isinstance(m, TMBMixture):
        return m.component(bool(msi))
    return m


def _z_of(m: Any, x: float, sex: str, msi: bool) -> float:
    """Latent score of value ``x`` under the marginal that applies to this sex and MSI status."""
    u = float(np.clip(_continuous_part(m, sex, msi).cdf(np.array(x)), 1e-15, 1.0 - 1e-15))
    return float(ndtri(u))


def _score(m: Any, x: float, sex: np.ndarray, msi: np.ndarray) -> np.ndarray:
    """Latent score of a fixed continuous value for every patient (it may depend on sex or MSI status)."""
    n = sex.shape[0]
    out = np.empty(n)
    for s in ("male", "female"):
        for flag in (False, True):
            mask = (sex == s) & (msi == flag)
            if mask.any():
                out[mask] = _z_of(m, x, s, flag)
    return out


def _logpdf(m: Any, x: float, sex: str, msi: bool) -> float:
    return float(_continuous_part(m, sex, msi).logpdf(np.array(x)))


# -- the sampler ---------------------------------------------------------------------------------


def sample_population(
    tumour_type: str,
    n: int,
    seed: int,
    *,
    overrides: Mapping[str, Any] | None = None,
    start: int = 0,
) -> pd.DataFrame:
    """Sample ``n`` virtual patients of one tumour type with correlated covariates.

    Parameters
    ----------
    tumour_type:
        ``"melanoma"``, ``"nsclc"``, ``"rcc"`` or ``"lbcl"`` (or an alias, case-insensitive;
        :func:`tumour_types` lists them, :func:`describe` shows every distribution and source).
    n:
        Number of patients (integer >= 1).
    seed:
        Integer >= 0. The same seed gives a bit-identical frame; patient ``i`` is the same whatever
        ``n`` and ``start``.
    overrides:
        Covariates fixed for every patient, e.g. ``{"pdl1": 0.6, "ecog": 1, "sex": "female"}``.
        The other covariates are drawn *conditionally* on the fixed ones (module docstring).
        Keys are the sampled columns of the tumour type plus ``sex``, ``subtype`` and ``msi_high``.
    start:
        Index of the first patient (integer >= 0): ``sample_population(t, 100, s, start=200)`` is
        rows 200-299 of ``sample_population(t, 300, s)``, so that workers can sample chunks.

    Returns
    -------
    pandas.DataFrame
        One row per patient with the columns of :data:`COLUMNS`; ``frame.attrs["provenance"]``
        records the package version, tumour type, seed, ``n``, ``start``, overrides, data-file
        hash, the stream layout and the latent correlation matrix used.
    """
    key = resolve_tumour_type(tumour_type, _WHERE)
    n = _integer("n", n, 1)
    seed = _integer("seed", seed, 0)
    start = _integer("start", start, 0)
    tt = load_tumour_type(key)
    fixed = _check_overrides(tt, overrides)
    covs = tt.covariates
    members = tt.members
    R = tt.correlation
    idx = {m: i for i, m in enumerate(members)}

    # 1. subtype x sex cell and MSI status, from their posterior given fixed weight, height, TMB
    cells = tt.cell_probabilities()
    u_cell = _stream(seed, start, n, "cell", "uniform")
    u_msi = _stream(seed, start, n, "msi", "uniform")
    p_msi = covs["tmb"].marginal.msi_prevalence  # type: ignore[union-attr]
    msi_options = [fixed["msi_high"]] if "msi_high" in fixed else [False, True]
    combo_fixed = [k for k in ("weight_kg", "height_cm", "tmb") if k in fixed]
    cont_fixed = [
        m for m in members if m in fixed and not isinstance(covs[m].marginal, Ordinal)
    ]  # fixed continuous members, member order
    combos: list[tuple[int, bool, float]] = []  # (cell index, msi, log weight)
    for ci, (st, sex, pr) in enumerate(cells):
        if pr <= 0 or fixed.get("sex", sex) != sex or fixed.get("subtype", st) != st:
            continue
        for msi in msi_options:
            prior = 1.0 if "msi_high" in fixed else (p_msi if msi else 1.0 - p_msi)
            if prior <= 0:
                continue
            combos.append((ci, msi, math.log(pr) + math.log(prior)))
    logw = np.array([c[2] for c in combos])[None, :] * np.ones((n, 1))
    if combo_fixed:
        # likelihood of the fixed continuous values: marginal densities x Gaussian-copula density
        Fi = [idx[m] for m in cont_fixed]
        Q = np.linalg.inv(R[np.ix_(Fi, Fi)]) - np.eye(len(Fi))
        for k, (ci, msi, _) in enumerate(combos):
            sex = cells[ci][1]
            # densities of values that do not depend on sex or MSI status are the same for every combination
            ll = sum(_logpdf(covs[m].marginal, fixed[m], sex, msi) for m in combo_fixed)
            z = np.array([_z_of(covs[m].marginal, fixed[m], sex, msi) for m in cont_fixed])
            logw[:, k] += ll - 0.5 * float(z @ Q @ z)
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    cell_of = np.array([c[0] for c in combos])
    cell_ids = sorted(set(cell_of.tolist()))
    p_cell = np.stack([w[:, cell_of == c].sum(axis=1) for c in cell_ids], axis=1)
    p_cell /= p_cell.sum(axis=1, keepdims=True)
    pick = np.minimum(np.sum(u_cell[:, None] >= np.cumsum(p_cell, axis=1)[:, :-1], axis=1), len(cell_ids) - 1)
    chosen = np.asarray(cell_ids)[pick]
    subtype = np.array([cells[c][0] for c in range(len(cells))], dtype=object)[chosen]
    sex = np.array([cells[c][1] for c in range(len(cells))], dtype=object)[chosen]
    if "msi_high" in fixed:
        msi_high = np.full(n, bool(fixed["msi_high"]))
    else:
        w_msi = np.zeros(n)
        w_all = np.zeros(n)
        for k, (ci, msi, _) in enumerate(combos):
            here = chosen == ci
            w_all += np.where(here, w[:, k], 0.0)
            if msi:
                w_msi += np.where(here, w[:, k], 0.0)
        msi_high = u_msi < w_msi / w_all

    # 2. latent scores: fixed continuous, then fixed ordinal (truncated), then the free ones
    e = np.stack([_stream(seed, start, n, m, "normal") for m in members], axis=1)
    z = np.zeros((n, len(members)))
    known: list[int] = []
    for m in cont_fixed:
        z[:, idx[m]] = _score(covs[m].marginal, fixed[m], sex, msi_high)
        known.append(idx[m])
    for m in members:
        if m in fixed and isinstance(covs[m].marginal, Ordinal):
            j = idx[m]
            if known:
                A = np.linalg.solve(R[np.ix_(known, known)], R[known, j])
                mean = _rows(A[None, :], z[:, known])[:, 0]
                sd = math.sqrt(max(1.0 - float(R[j, known] @ A), 1e-12))
            else:
                mean, sd = np.zeros(n), 1.0
            a, b = covs[m].marginal.interval(fixed[m])  # type: ignore[union-attr]
            pa, pb = ndtr((a - mean) / sd), ndtr((b - mean) / sd)
            q = np.clip(pa + ndtr(e[:, j]) * (pb - pa), 1e-15, 1.0 - 1e-15)
            z[:, j] = mean + sd * ndtri(q)
            known.append(j)
    free = [i for i in range(len(members)) if i not in known]
    if free:
        if known:
            K = np.linalg.solve(R[np.ix_(known, known)], R[np.ix_(known, free)])  # R_FF^-1 R_FG
            cond = R[np.ix_(free, free)] - R[np.ix_(free, known)] @ K
            L = _cholesky(0.5 * (cond + cond.T))
            z[:, free] = _rows(K.T, z[:, known]) + _rows(L, e[:, free])
        else:
            z[:, free] = _rows(_cholesky(R), e)

    # 3. values from scores
    values: dict[str, np.ndarray] = {}
    for m in members:
        j = idx[m]
        marg = covs[m].marginal
        if m in fixed:
            values[m] = np.full(n, fixed[m], dtype=np.int64 if isinstance(marg, Ordinal) else float)
            continue
        u = ndtr(z[:, j])
        if isinstance(marg, Ordinal):
            values[m] = marg.from_z(z[:, j])
        elif isinstance(marg, Strata):
            values[m] = marg.ppf(u)
        elif isinstance(marg, BySex):
            values[m] = np.where(sex == "male", marg.male.ppf(u), marg.female.ppf(u))
        elif isinstance(marg, TMBMixture):
            values[m] = np.where(msi_high, marg.msi.ppf(u), marg.mss.ppf(u))
        elif isinstance(marg, Continuous):
            values[m] = marg.ppf(u)
        else:  # pragma: no cover
            raise TypeError(marg)

    # 4. derived covariates
    female = sex == "female"
    scr = values["serum_creatinine"]
    egfr = ckd_epi_2021(scr, values["age_years"], female)
    if "spd_cm2" in values:
        spd = values["spd_cm2"]
        # equal near-spherical lesions: SPD = K d^2 (population.md §1.4), SLD = K d = sqrt(K x SPD)
        sld = 10.0 * np.sqrt(values["n_lesions"] * spd)
    else:
        spd = np.full(n, np.nan)
        sld = values["tumour_burden_mm"]
    frame = pd.DataFrame(
        {
            "patient_id": np.arange(start, start + n, dtype=np.int64),
            "tumour_type": np.full(n, tt.name, dtype=object),
            "subtype": subtype,
            "sex": sex,
            "age_years": values["age_years"],
            "weight_kg": values["weight_kg"],
            "height_cm": values["height_cm"],
            "egfr": egfr,
            "serum_creatinine": scr,
            "ecog": values["ecog"].astype(np.int64),
            "ldh_u_per_l": values["ldh_u_per_l"],
            "tumour_burden_mm": sld,
            "spd_cm2": spd,
            "n_lesions": values["n_lesions"].astype(np.int64),
            "pdl1": values["pdl1"],
            "tmb": values["tmb"],
            "msi_high": msi_high.astype(bool),
            "growth_rate": values["growth_rate"],
            "car_antigen": values.get("car_antigen", np.full(n, np.nan)),
        },
        columns=list(COLUMNS),
    )
    for col in ("tumour_type", "subtype", "sex"):
        frame[col] = frame[col].astype(str)
    frame.attrs["provenance"] = {
        "function": "oncoimmune.population.sample_population",
        "oncoimmune_version": __version__,
        "tumour_type": tt.name,
        "n": n,
        "start": start,
        "seed": seed,
        "overrides": dict(fixed),
        "data_files": list(tt.files),
        "data_sha256": tt.sha256,
        "method": (
            "Gaussian copula over latent normal scores (correlation tree, population.md §2); sex and MSI "
            "status drawn first; marginals by inverse CDF; overrides conditioned on"
        ),
        "streams": {
            "layout": STREAM_LAYOUT,
            "bit_generator": "PCG64",
            "seeding": "SeedSequence(seed, spawn_key=(slot, block))",
            "block_size": BLOCK_SIZE,
            "slots": dict(SLOTS),
        },
        "correlation": {
            "variables": list(members),
            "matrix": [[float(x) for x in row] for row in R],
            "edges": [
                {"between": [e.a, e.b], "rho": e.rho, "flag": e.flag, "source": e.source, "how": e.how}
                for e in tt.edges
            ],
        },
        "ldh_uln_u_per_l": tt.ldh_uln.value,
    }
    return frame


# -- frame -> Covariates ----------------------------------------------------------------------------

_FLOATS = (
    "serum_creatinine",
    "egfr",
    "ldh_u_per_l",
    "tumour_burden_mm",
    "pdl1",
    "tmb",
    "growth_rate",
    "car_antigen",
    "albumin_g_per_l",
    "ast_u_per_l",
    "target_antigen",
)
_INTS = ("ecog", "n_lesions")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def to_covariates(frame: pd.DataFrame) -> list[Covariates]:
    """One :class:`~oncoimmune.treatments.Covariates` per row of a population frame.

    Missing values (NaN) become ``None`` (the model or popPK default then applies and is reported);
    the tumour type becomes a condition (``"nsclc"`` is read by the pembrolizumab popPK model).
    Columns that are not Covariates fields (``patient_id``, ``subtype``, ``spd_cm2`` ...) are ignored.
    """
    where = "to_covariates"
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError("frame", "be a pandas DataFrame", type(frame).__name__, where)
    for col in ("weight_kg", "height_cm", "age_years", "sex"):
        if col not in frame.columns:
            raise ValidationError("frame", f"have a '{col}' column", sorted(map(str, frame.columns)), where)
    out: list[Covariates] = []
    records = frame.to_dict(orient="records")
    for i, row in enumerate(records):
        kw: dict[str, Any] = {
            "weight_kg": row["weight_kg"],
            "height_cm": row["height_cm"],
            "age_years": row["age_years"],
            "sex": row["sex"],
        }
        for name in _FLOATS:
            if name in row and not _missing(row[name]):
                kw[name] = float(row[name])
        for name in _INTS:
            if name in row and not _missing(row[name]):
                v = row[name]
                kw[name] = int(v) if float(v).is_integer() else v
        if "msi_high" in row and not _missing(row["msi_high"]):
            kw["msi_high"] = bool(row["msi_high"])
        if "tumour_type" in row and isinstance(row["tumour_type"], str):
            kw["conditions"] = frozenset({row["tumour_type"]})
        try:
            out.append(Covariates(**kw))
        except ValidationError as exc:
            pid = row.get("patient_id", i)
            raise ValidationError(exc.field, exc.rule, exc.value, f"{where} row {i} (patient_id {pid})") from None
    return out
