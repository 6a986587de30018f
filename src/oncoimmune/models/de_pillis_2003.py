r"""de Pillis & Radunskaya (2003): normal, tumour and immune cells under chemotherapy (normalised).

.. math::

    \frac{dN}{dt} &= r_2 N (1 - b_2 N) - c_4 T N - a_3 (1 - e^{-u}) N \\
    \frac{dT}{dt} &= r_1 T (1 - b_1 T) - c_2 I T - c_3 T N - a_2 (1 - e^{-u}) T \\
    \frac{dI}{dt} &= s + \frac{\rho I T}{\alpha + T} - c_1 I T - d_1 I - a_1 (1 - e^{-u}) I \\
    \frac{du}{dt} &= v(t) - d_2 u

:math:`N` normal host cells, :math:`T` tumour cells and :math:`I` immune cells are normalised
populations (1 = carrying capacity of normal tissue); :math:`u` is the drug in the tissue and
:math:`v(t)` the drug input. The drug kills each population with a saturating fraction
:math:`a_i (1 - e^{-u})`. Values and initial conditions (:math:`N, T, I, u = 1, 0.25, 0.15, 0`)
are those of the curated BioModels file BIOMD0000000909 (models.md §10.3); the paper is a
phase-space and optimal-control study of this system.

The drug input ``v`` is a treatment input (``input=True``, default 0): an
:class:`~oncoimmune.treatments.Infusion` with target ``"v"`` switches it on, e.g. ``v = 1`` for
days 0–20 moves the system from the coexistence basin (:math:`N, T, I \to 0.436, 0.564, 0.436`)
to the tumour-free equilibrium :math:`(1, 0, s/d_1 = 1.65)`. Under a constant :math:`v`
the drug settles at :math:`u^* = v/d_2` and the tumour-free state becomes
:math:`N^* = (1 - a_3 k/r_2)/b_2`, :math:`I^* = s/(d_1 + a_1 k)` with :math:`k = 1 - e^{-u^*}`
(:math:`N^* = 0.9368`, :math:`I^* = 1.0110` for :math:`v = 1`).

Notes
-----
The SBML file names :math:`\rho` ``p``; here it is ``rho``, the symbol of the equations
(models.md). Time is in days as in the SBML/SED-ML export; the populations and the drug are
dimensionless.
"""

from __future__ import annotations

import math

from oncoimmune.models._base import Model, Parameter, State

__all__ = ["MODEL"]

_SBML = "BIOMD0000000909 (de Pillis & Radunskaya 2003, curated SBML)"


def rhs(y, p, dy):
    N, T, I, u = y
    a1, a2, a3, b1, b2, alpha, c1, c2, c3, c4, d1, d2, r1, r2, s, rho, v = p
    kill = 1.0 - math.exp(-u)
    dy[0] = r2 * N * (1.0 - b2 * N) - c4 * T * N - a3 * kill * N
    dy[1] = r1 * T * (1.0 - b1 * T) - c2 * I * T - c3 * T * N - a2 * kill * T
    dy[2] = s + rho * I * T / (alpha + T) - c1 * I * T - d1 * I - a1 * kill * I
    dy[3] = v - d2 * u


def _par(name: str, value: float, unit: str, description: str, sbml_id: str | None = None, **kw) -> Parameter:
    source = f"{_SBML}, parameter {sbml_id or name}"
    return Parameter(name, value, unit, source, kw.pop("bounds", (0.0, 100.0)), description, **kw)


MODEL = Model(
    name="de_pillis_2003",
    title="de Pillis–Radunskaya normalised tumour–immune–chemotherapy model",
    citation=(
        "de Pillis LG, Radunskaya A. The dynamics of an optimally controlled tumor model: a case study. "
        "Math Comput Model 37(11):1221-1244 (2003). doi:10.1016/S0895-7177(03)00133-X."
    ),
    states=(
        State("N", "1", "normal host cells (normalised)"),
        State("T", "1", "tumour cells (normalised)"),
        State("I", "1", "immune cells (normalised)"),
        State("u", "1", "drug concentration in the tissue (normalised)", log=False),
    ),
    parameters=(
        _par("a1", 0.2, "1/day", "fractional immune-cell kill by the drug"),
        _par("a2", 0.3, "1/day", "fractional tumour-cell kill by the drug"),
        _par("a3", 0.1, "1/day", "fractional normal-cell kill by the drug"),
        _par("b1", 1.0, "1", "inverse tumour carrying capacity (normalised)"),
        _par("b2", 1.0, "1", "inverse normal-cell carrying capacity (normalised)"),
        _par("alpha", 0.3, "1", "immune-response threshold (half-saturation tumour size)"),
        _par("c1", 1.0, "1/day", "immune-cell inactivation by tumour cells"),
        _par("c2", 0.5, "1/day", "tumour kill by immune cells"),
        _par("c3", 1.0, "1/day", "tumour loss from competition with normal cells"),
        _par("c4", 1.0, "1/day", "normal-cell loss from competition with tumour cells"),
        _par("d1", 0.2, "1/day", "immune-cell death rate"),
        _par("d2", 1.0, "1/day", "drug decay rate"),
        _par("r1", 1.5, "1/day", "tumour growth rate"),
        _par("r2", 1.0, "1/day", "normal-cell growth rate"),
        _par("s", 0.33, "1/day", "constant immune-cell source"),
        _par("rho", 0.01, "1/day", "immune response rate (tumour-stimulated recruitment)", sbml_id="p"),
        _par("v", 0.0, "1/day", "drug input (treatment input; SBML value 0)", bounds=(0.0, 1e6), input=True),
    ),
    init={"N": 1.0, "T": 0.25, "I": 0.15, "u": 0.0},
    init_source="BIOMD0000000909 initial concentrations N = 1, T = 0.25, I = 0.15, u = 0",
    rhs=rhs,
    t_end=150.0,
    notes=(
        "Normalised model; the SBML parameter p is named rho here (the symbol of the equations). "
        "Without drug the default initial state goes to coexistence (0.436, 0.564, 0.436)."
    ),
)
