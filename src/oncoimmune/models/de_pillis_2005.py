r"""de Pillis, Radunskaya & Wiseman (2005): tumour, NK cells and tumour-specific CD8+ T cells.

.. math::

    \frac{dT}{dt} &= a T (1 - b T) - c N T - D T \\
    \frac{dN}{dt} &= \sigma - f N + \frac{g T^2}{h + T^2} N - p N T \\
    \frac{dL}{dt} &= -m L + \frac{j D^2 T^2}{k + D^2 T^2} L - q L T + r N T \\
    D &= d \, \frac{(L/T)^l}{s + (L/T)^l}

:math:`T` tumour cells, :math:`N` natural-killer cells, :math:`L` tumour-specific CD8\ :sup:`+`
T cells. The paper's novelty is the ratio-dependent CD8\ :sup:`+` kill rate :math:`D`, fitted
to chromium-release assays. :math:`D` is evaluated as
:math:`d / (1 + s\,e^{-l(\ln L - \ln T)})`, which cannot overflow as :math:`T \to 0`;
:math:`D = 0` when :math:`L = 0`.

Equations and default values are those of the non-curated BioModels file MODEL1907260001
(models.md §3.1–3.2); default initial state :math:`T, N, L = 100, 1000, 0`. The same
equations form the :math:`T, N, L` core of de Pillis, Gu & Radunskaya 2006, which adds
circulating lymphocytes :math:`C`, chemotherapy and IL-2. No source available here defines a
circulating-lymphocyte state for the 2005 model, so this module has none.

Known discrepancies and caveats
-------------------------------
* **Parameter provenance is unverified.** Which fitted set (mouse ligand-transduced vs
  control; human patients 9/10) the SBML's :math:`d = 1.43, l = 0.58, s = 2.73` are could not be
  checked against the paper's table. With this set immune control is weak: every tumour from
  :math:`10^2` to :math:`10^8` cells grows to the large equilibrium :math:`T^* \approx 9.77\times
  10^8` (models.md §3.3). This does not reproduce the paper's mouse rejection experiments.
* de Pillis et al. 2008 (J Biol Syst, Table 1) cite this paper for
  :math:`d = 5.00` day\ :sup:`-1` ("primed with ligand-transduced cells, challenged with
  ligand-transduced cells"), :math:`l = 2/3`, :math:`s = 0.3`, and for the same
  :math:`b, c, f, g, p, q` as the SBML. They are offered as the variant
  ``ligand_transduced`` (only :math:`d, l, s` change); other parameters keep the SBML values,
  a combination that no source states as such.
* The SBML tumour growth rate :math:`a = 0.514` day\ :sup:`-1` differs from the
  :math:`a = 0.431` day\ :sup:`-1` of the de Pillis 2006 model (models.md §4.2); which one the
  2005 paper reports is unverified.
* The human values sometimes quoted for patients 9 and 10 are recalled, unverified
  (models.md §3.2) and are not included.
* Units are inferred (models.md): :math:`h` is in cells\ :sup:`2` (it is compared with
  :math:`T^2`); :math:`k` is compared with :math:`(D T)^2`, a squared kill rate, so its unit is
  (cells/day)\ :sup:`2` by dimensional analysis (models.md writes cells\ :sup:`2`).
"""

from __future__ import annotations

import math

from oncoimmune.models._base import Model, Parameter, State, Variant

__all__ = ["MODEL"]

_SBML = "MODEL1907260001 (de Pillis 2005, non-curated SBML; provenance in the paper unverified)"


def rhs(y, par, dy):
    # The parameter vector is called ``par`` because the model has a parameter named ``p``.
    T, N, L = y
    a, b, c, d, l, s, sigma, f, g, h, p, m, j, k, q, r = par
    if L <= 0.0:
        D = 0.0
    elif T <= 0.0:
        D = d
    else:
        # d (L/T)^l / (s + (L/T)^l) written so that it cannot overflow when T << L or L << T.
        x = l * (math.log(T) - math.log(L))
        D = 0.0 if x > 700.0 else d / (1.0 + s * math.exp(x))
    DT2 = (D * T) ** 2
    T2 = T * T
    dy[0] = a * T * (1.0 - b * T) - c * N * T - D * T
    dy[1] = sigma - f * N + g * T2 / (h + T2) * N - p * N * T
    dy[2] = -m * L + j * DT2 / (k + DT2) * L - q * L * T + r * N * T


def _par(name: str, value: float, unit: str, description: str, bounds=(0.0, 1e3)) -> Parameter:
    return Parameter(name, value, unit, f"{_SBML}, parameter {name}", bounds, description)


MODEL = Model(
    name="de_pillis_2005",
    title="de Pillis–Radunskaya–Wiseman tumour–NK–CD8+ model",
    citation=(
        "de Pillis LG, Radunskaya AE, Wiseman CL. A validated mathematical model of cell-mediated immune "
        "response to tumor growth. Cancer Res 65(17):7950-7958 (2005). doi:10.1158/0008-5472.CAN-05-0564."
    ),
    states=(
        State("T", "cells", "tumour cells"),
        State("N", "cells", "natural-killer (NK) cells"),
        State("L", "cells", "tumour-specific CD8+ T cells"),
    ),
    parameters=(
        _par("a", 0.514, "1/day", "tumour growth rate"),
        _par("b", 1.02e-9, "1/cell", "inverse tumour carrying capacity", (0.0, 1.0)),
        _par("c", 3.23e-7, "1/(cell*day)", "tumour kill by NK cells", (0.0, 1.0)),
        _par("d", 1.43, "1/day", "saturation level of the CD8+ kill rate D"),
        _par("l", 0.58, "1", "exponent of the effector:target ratio in D (lambda)", (0.0, 10.0)),
        _par("s", 2.73, "1", "effector:target ratio (to the power l) giving half of d", (1e-12, 1e6)),
        _par("sigma", 1.3e4, "cells/day", "constant NK-cell source", (0.0, 1e12)),
        _par("f", 0.0412, "1/day", "NK-cell death rate"),
        _par("g", 0.025, "1/day", "maximal NK-cell recruitment by tumour"),
        _par("h", 2.02e7, "cells^2", "tumour size squared giving half-maximal NK recruitment", (1e-12, 1e30)),
        _par("p", 1e-7, "1/(cell*day)", "NK-cell inactivation by tumour cells", (0.0, 1.0)),
        _par("m", 0.02, "1/day", "CD8+ T-cell death rate"),
        _par("j", 0.0375, "1/day", "maximal CD8+ T-cell recruitment by killed tumour cells"),
        _par(
            "k",
            2.02e7,
            "(cells/day)^2",
            "squared kill rate (D*T)^2 giving half-maximal CD8+ recruitment",
            (1e-12, 1e30),
        ),
        _par("q", 3.42e-10, "1/(cell*day)", "CD8+ T-cell inactivation by tumour cells", (0.0, 1.0)),
        _par("r", 1.1e-7, "1/(cell*day)", "CD8+ T-cell activation by NK-lysed tumour debris", (0.0, 1.0)),
    ),
    init={"T": 100.0, "N": 1000.0, "L": 0.0},
    init_source="MODEL1907260001 initial amounts T = 100, N = 1000, L = 0 cells",
    rhs=rhs,
    variants={
        "ligand_transduced": Variant(
            "CD8+ kill parameters d = 5.00/day, l = 2/3, s = 0.3 that de Pillis et al. 2008 (J Biol Syst, "
            "Table 1) cite from de Pillis 2005 for mice primed and challenged with NKG2D-ligand-transduced "
            "cells; every other parameter keeps the MODEL1907260001 value (a combination no source states)",
            {"d": 5.0, "l": 2.0 / 3.0, "s": 0.3},
            source="de Pillis LG et al., J Biol Syst 16(1):51-80 (2008), Table 1, citing de Pillis 2005",
        ),
    },
    t_end=100.0,
    notes=(
        "MODEL1907260001 values; which of the paper's fitted sets they are is unverified, and with them every "
        "tumour from 1e2 to 1e8 cells escapes to about 9.77e8 cells. No circulating-lymphocyte state (C) is "
        "defined for the 2005 model by any available source (C belongs to de Pillis 2006)."
    ),
)
