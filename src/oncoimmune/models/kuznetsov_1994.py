r"""Kuznetsov, Makalkin, Taylor & Perelson (1994): effector cells and an immunogenic tumour.

The reduced two-dimensional model, in which effector–tumour conjugates are at quasi-steady
state (BCL\ :sub:`1` B-cell lymphoma in the mouse spleen):

.. math::

    \frac{dE}{dt} &= s + \frac{p\,E\,T}{g + T} - m\,E\,T - d\,E \\
    \frac{dT}{dt} &= a\,T\,(1 - b\,T) - n\,E\,T

:math:`s` is the tumour-independent influx of effector cells, :math:`p E T/(g + T)` their
tumour-stimulated proliferation, :math:`m E T` their inactivation by tumour cells and
:math:`d E` their death; the tumour grows logistically (carrying capacity :math:`1/b`) and is
killed at rate :math:`n E T`. Parameter values and initial conditions are those of the curated
BioModels file BIOMD0000000762 (:math:`E(0) = 3.2\times10^5`, :math:`T(0) = 5\times10^6`).

Nondimensional form
-------------------
With :math:`x = E/E_0`, :math:`y = T/T_0`, :math:`E_0 = T_0 = 10^6` and :math:`\tau = n T_0 t`
the system becomes

.. math::

    \frac{dx}{d\tau} = \sigma + \frac{\rho\,x\,y}{\eta + y} - \mu\,x\,y - \delta\,x, \qquad
    \frac{dy}{d\tau} = \alpha\,y\,(1 - \beta\,y) - x\,y

with :math:`\sigma = s/(n E_0 T_0)`, :math:`\rho = p/(n T_0)`, :math:`\eta = g/T_0`,
:math:`\mu = m/n`, :math:`\delta = d/(n T_0)`, :math:`\alpha = a/(n T_0)`, :math:`\beta = b T_0`
(:func:`nondimensional_parameters`). The published nondimensional set is
:math:`\sigma = 0.1181, \rho = 1.131, \eta = 20.19, \mu = 0.00311, \delta = 0.3743,
\alpha = 1.636, \beta = 2.0\times10^{-3}` (models.md §2.2).

Known discrepancies
-------------------
* From the rounded dimensional values, :math:`\delta = 0.0412/0.1101 = 0.37421` and
  :math:`\alpha = 0.18/0.1101 = 1.63488`, not the printed 0.3743 and 1.636: the dimensional
  values are themselves rounded (0.3743 and 1.636 map back to d = 0.04121 and a = 0.18012, which
  round to the printed 0.0412 and 0.18). The other five groups agree to every printed digit.
* One public teaching implementation (Université Lyon 1 MATLAB/Scilab files) sets
  :math:`\beta = 10^{-2}` with the comment ``%2.0e-3``; :math:`\beta = 2\times10^{-3}`
  (carrying capacity :math:`5\times10^8` cells) is the value consistent with :math:`b`.
* The full four-variable model with explicit conjugates and the paper's own figure-level
  parameter sets ("sneaking through") are not implemented: the paper was not available in
  readable form (models.md §12).

With the default parameters the system has a tumour-free equilibrium
:math:`(s/d, 0)` (unstable) and three interior equilibria: a stable focus ("dormant" tumour,
:math:`T^* \approx 8.19\times10^6`), a saddle (:math:`T^* \approx 2.68\times10^8`) and a stable
node near carrying capacity (:math:`T^* \approx 4.47\times10^8`) [computed].
"""

from __future__ import annotations

from collections.abc import Mapping

from oncoimmune.models._base import Model, Parameter, State

__all__ = ["MODEL", "nondimensional_parameters"]

_SBML = "BIOMD0000000762 (Kuznetsov et al. 1994, curated SBML)"


def rhs(y, par, dy):
    # The parameter vector is called ``par`` because the model has a parameter named ``p``.
    E, T = y
    s, p, g, m, d, a, b, n = par
    dy[0] = s + p * E * T / (g + T) - m * E * T - d * E
    dy[1] = a * T * (1.0 - b * T) - n * E * T


MODEL = Model(
    name="kuznetsov_1994",
    title="Kuznetsov–Makalkin–Taylor–Perelson effector–tumour model",
    citation=(
        "Kuznetsov VA, Makalkin IA, Taylor MA, Perelson AS. Nonlinear dynamics of immunogenic tumors: "
        "parameter estimation and global bifurcation analysis. Bull Math Biol 56(2):295-321 (1994). PMID 8186756."
    ),
    states=(
        State("E", "cells", "effector cells (cytotoxic T lymphocytes / NK cells)"),
        State("T", "cells", "tumour cells (BCL1 lymphoma)"),
    ),
    parameters=(
        Parameter(
            "s",
            1.3e4,
            "cells/day",
            _SBML + ", parameter s",
            (0.0, 1e12),
            "normal (tumour-independent) influx of effector cells",
        ),
        Parameter(
            "p",
            0.1245,
            "1/day",
            _SBML + ", parameter p",
            (0.0, 100.0),
            "maximal tumour-stimulated effector proliferation rate",
        ),
        Parameter(
            "g",
            2.019e7,
            "cells",
            _SBML + ", parameter g",
            (1e-12, 1e15),
            "half-saturation tumour size of effector stimulation",
        ),
        Parameter(
            "m", 3.422e-10, "1/(cell*day)", _SBML + ", parameter m", (0.0, 1.0), "effector inactivation by tumour cells"
        ),
        Parameter("d", 0.0412, "1/day", _SBML + ", parameter d", (0.0, 100.0), "effector death rate"),
        Parameter("a", 0.18, "1/day", _SBML + ", parameter a", (0.0, 100.0), "maximal tumour growth rate"),
        Parameter(
            "b",
            2.0e-9,
            "1/cell",
            _SBML + ", parameter b (carrying capacity 1/b = 5e8 cells)",
            (0.0, 1.0),
            "inverse tumour carrying capacity",
        ),
        Parameter(
            "n", 1.101e-7, "1/(cell*day)", _SBML + ", parameter n", (0.0, 1.0), "tumour kill rate by effector cells"
        ),
    ),
    init={"E": 3.2e5, "T": 5e6},
    init_source="BIOMD0000000762 initial amounts E = 3.2e5, T = 5e6 cells (XPP export: total = 200 days)",
    rhs=rhs,
    t_end=200.0,
    notes=(
        "Dimensional 2-D reduction with BIOMD0000000762 values. The published nondimensional delta = 0.3743 "
        "and alpha = 1.636 differ in the last digit from 0.0412/0.1101 and 0.18/0.1101 because the dimensional "
        "values are rounded. A public teaching file uses beta = 1e-2 with the comment '%2.0e-3' (typo for 2e-3). "
        "The paper itself was not available; its figure-level parameter sets are not implemented."
    ),
)


def nondimensional_parameters(
    params: Mapping[str, float] | None = None, E0: float = 1e6, T0: float = 1e6
) -> dict[str, float]:
    r"""Kuznetsov's nondimensional groups from the dimensional parameters.

    Parameters
    ----------
    params:
        Dimensional parameters by name (defaults: the model's values); missing names take the
        default.
    E0, T0:
        Effector and tumour scales in cells (Kuznetsov: :math:`10^6` both). Time is scaled by
        :math:`n T_0`.

    Returns
    -------
    dict
        ``sigma``, ``rho``, ``eta``, ``mu``, ``delta``, ``alpha``, ``beta`` (dimensionless).
    """
    v = {p.name: p.value for p in MODEL.parameters}
    v.update({k: float(x) for k, x in dict(params or {}).items()})
    rate = v["n"] * T0
    return {
        "sigma": v["s"] / (v["n"] * E0 * T0),
        "rho": v["p"] / rate,
        "eta": v["g"] / T0,
        "mu": v["m"] / v["n"],
        "delta": v["d"] / rate,
        "alpha": v["a"] / rate,
        "beta": v["b"] * T0,
    }
