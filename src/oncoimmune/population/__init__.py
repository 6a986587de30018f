r"""Virtual patients: covariate distributions per tumour type and correlated, reproducible sampling.

A virtual population is a table with one row per patient and one column per covariate, drawn
from published baseline distributions of the trials the product is calibrated to
(../shared/reference/population.md §1, §2 and §6; clinical.md §6). Every number is data, in
``oncoimmune/population/data/*.yaml``, with its unit, source and flag (**V** seen in a source,
**R** recalled, **U** uncertain or chosen here, **D** derived by arithmetic from V values);
:func:`describe` lists them and ``docs/population.md`` tabulates them.

>>> from oncoimmune.population import sample_population, to_covariates
>>> frame = sample_population("melanoma", n=1000, seed=7)
>>> patients = to_covariates(frame)          # list[Covariates], one per row

Tumour types
------------
``melanoma`` (advanced, first line), ``nsclc`` (advanced, first line, no EGFR/ALK; histology
as ``subtype``), ``rcc`` (metastatic clear cell, first line) and ``lbcl`` (relapsed/refractory
large B-cell lymphoma before CAR-T; burden as Lugano SPD).

Covariates and their draw order
-------------------------------
Sex (and NSCLC histology) and MSI status first; then, through a Gaussian copula over latent
normal scores (:mod:`oncoimmune.population._sample`): age; weight (log-normal) and height
(normal), sex-specific and correlated; serum creatinine (sex-specific log-normal, fitted to the
eGFR mean and SD of the pooled nivolumab trials), from which eGFR follows by the race-free
CKD-EPI 2021 equation; ECOG; baseline tumour burden (log-normal), correlated
with ECOG, LDH and the number of target lesions (Hillman 2009); LDH (split log-normal);
the net growth rate of the untreated tumour (log-normal, correlated with LDH); TMB (log-normal, with an MSI-high
log-uniform component; correlated with age); PD-L1 (a mixture over TPS strata, independent of
TMB: Yarchoan 2019); for LBCL the CD19 fraction. The correlation matrix is recorded in
``frame.attrs["provenance"]``.

How the columns feed the models
-------------------------------
:func:`to_covariates` turns rows into :class:`~oncoimmune.treatments.Covariates`;
``io_qsp.patient`` (:mod:`oncoimmune.models.io_qsp`) then maps them to parameters and the
initial state:

===================================  ==========================================================
column                               used by
===================================  ==========================================================
``pdl1`` (fraction)                  io_qsp ``pdl1`` (PD-1 suppression of T-cell killing)
``tmb`` (mut/Mb), ``msi_high``       io_qsp ``tmb`` (number of primed clones, ∝ TMB); an
                                     MSI-high patient without TMB gets 40 mut/Mb
``growth_rate`` (1/day)              io_qsp ``kg``, solved so that the untreated tumour grows at this
                                     net rate against the patient's immune kill (``io_qsp.baseline``)
``car_antigen`` (fraction)           io_qsp ``a_CAR`` (CD19-bearing fraction, CAR-T kill)
``tumour_burden_mm``, ``n_lesions``  initial cancer cells: ``n_lesions`` equal spheres whose
                                     diameters sum to the SLD (``io_qsp.tumour_cells``); the
                                     untreated immune state follows (``initial_state``)
``weight_kg``, ``height_cm``,        doses in mg/kg and mg/m² (BSA), Calvert carboplatin dose
``sex``, ``age_years``,              (Cockcroft–Gault from serum creatinine), and the covariate
``serum_creatinine``, ``egfr``,      models of the drug library's popPK (e.g. nivolumab CL ∝
``ecog``, ``ldh_u_per_l``,           eGFR^0.186, ECOG ≥ 1; ipilimumab CL with LDH; pembrolizumab
``tumour_burden_mm``, tumour type    and atezolizumab CL with tumour size; pembrolizumab NSCLC)
===================================  ==========================================================

For lymphoma the SPD (``spd_cm2``) is converted to a sum of diameters for the model by treating
the ``n_lesions`` index lesions as equal near-spherical nodes (SPD = K d², SLD = K d =
√(K·SPD); population.md §1.4). Patient-to-patient variability of the model parameters no
covariate measures is drawn by :func:`sample_parameters` from :class:`ParameterDistribution`
entries (log-normal, per-patient streams); the calibrations of :mod:`oncoimmune.trial` ship
fitted ones.

Research and education software: a virtual population describes trial-like patients, not any
real person, and every decision about a patient belongs with that patient's doctor.
"""

from __future__ import annotations

import pandas as pd

from oncoimmune.population._distributions import (
    DATA_DIR,
    Strata,
    load_tumour_type,
    numbers_of,
    resolve_tumour_type,
    tumour_type_names,
)
from oncoimmune.population._mapel import MapelFit, weight_virtual_population
from oncoimmune.population._parameters import (
    ParameterDistribution,
    PlausibleRange,
    check_parameter_set,
    check_plausible_ranges,
    draw_plausible,
    sample_parameters,
)
from oncoimmune.population._sample import (
    BLOCK_SIZE,
    COLUMNS,
    ckd_epi_2021,
    creatinine_from_egfr,
    sample_population,
    to_covariates,
)
from oncoimmune.population._vpop import VPopSelection, select_virtual_population

__all__ = [
    "BLOCK_SIZE",
    "COLUMNS",
    "DATA_DIR",
    "MapelFit",
    "ParameterDistribution",
    "PlausibleRange",
    "VPopSelection",
    "check_parameter_set",
    "check_plausible_ranges",
    "ckd_epi_2021",
    "correlation_matrix",
    "creatinine_from_egfr",
    "describe",
    "draw_plausible",
    "sample_parameters",
    "sample_population",
    "select_virtual_population",
    "to_covariates",
    "tumour_types",
    "weight_virtual_population",
]

_DESCRIBE_COLUMNS = ("covariate", "distribution", "parameter", "value", "unit", "flag", "source", "note")


def tumour_types() -> tuple[str, ...]:
    """Names of the tumour types with a shipped population (aliases are accepted everywhere)."""
    return tuple(sorted(set(tumour_type_names().values())))


def describe(tumour_type: str) -> pd.DataFrame:
    """Every number behind a tumour type's population, with its unit, flag and source.

    One row per number: the subtype and sex shares, each covariate's distribution parameters,
    the within-stratum shapes, the LDH upper limit of normal, and every latent correlation of
    the correlation tree (with the conversion from a published regression slope where one was
    used). ``flag`` follows population.md: V, R, U, D.
    """
    tt = load_tumour_type(resolve_tumour_type(tumour_type, "describe"))
    rows: list[dict[str, object]] = []

    def add(cov: str, dist: str, par: str, num, note: str | None = None) -> None:
        rows.append(
            {
                "covariate": cov,
                "distribution": dist,
                "parameter": par,
                "value": float(num.value),
                "unit": num.unit,
                "flag": num.flag,
                "source": num.source,
                "note": note if note is not None else (num.note or ""),
            }
        )

    for name, st in tt.subtypes.items():
        add("subtype", "categorical", f"share {name}", st.share)
        add("sex", "bernoulli given subtype", f"male share ({name})", st.male)
    for name, cov in tt.covariates.items():
        spec = cov.entry.spec
        for par, num in numbers_of(cov.entry):
            add(name, spec.distribution, par, num)
        if isinstance(cov.marginal, Strata):
            rows.append(
                {
                    "covariate": name,
                    "distribution": spec.distribution,
                    "parameter": "within-stratum shape",
                    "value": float("nan"),
                    "unit": "",
                    "flag": spec.shape_flag,  # type: ignore[union-attr]
                    "source": spec.shape_source,  # type: ignore[union-attr]
                    "note": ", ".join(
                        f"[{s.lower:g}, {s.upper:g}) {s.shape}"
                        for s in spec.strata  # type: ignore[union-attr]
                    ),
                }
            )
    add("ldh_u_per_l", "reference", "upper limit of normal", tt.ldh_uln)
    for e in tt.edges:
        rows.append(
            {
                "covariate": f"{e.a} ~ {e.b}",
                "distribution": "latent correlation",
                "parameter": "rho",
                "value": e.rho,
                "unit": "1",
                "flag": e.flag,
                "source": e.source,
                "note": e.how,
            }
        )
    return pd.DataFrame(rows, columns=list(_DESCRIBE_COLUMNS))


def correlation_matrix(tumour_type: str) -> pd.DataFrame:
    """The latent correlation matrix of a tumour type's Gaussian copula (rows and columns named)."""
    tt = load_tumour_type(resolve_tumour_type(tumour_type, "correlation_matrix"))
    return pd.DataFrame(tt.correlation, index=list(tt.members), columns=list(tt.members))
