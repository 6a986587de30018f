r"""Kimmel, Locke & Altrock (2021): normal T cells, CAR T cells and CD19+ lymphoma after lymphodepletion.

.. math::

    \frac{dN}{dt} &= -r_N\, N \ln\frac{N + C}{K_N} \\
    \frac{dC}{dt} &= -r_C(T)\, C \ln\frac{N + C}{K_C} \\
    \frac{dB}{dt} &= r_B B - \gamma_B B \frac{C}{k_B + C} \\
    r_C(T) &= \rho_C + b\,\frac{(T - K_N)^2}{a T^2 + (T - K_N)^2}, \qquad T = N + C

(paper Eqs. 2.1–2.3). :math:`N` normal T cells and :math:`C` CAR T cells grow back after
lymphodepleting chemotherapy towards Gompertz carrying capacities :math:`K_N > K_C` and compete
for the same niche (both feel the total :math:`T = N + C`), so the CAR T population expands,
peaks about a week after infusion and then contracts. Time 0 is the CAR T infusion. The tumour
:math:`B` (antigen-presenting CD19\ :sup:`+` cells) grows exponentially and is killed by CAR T
cells with saturation :math:`k_B`. Progression is defined as :math:`B \ge 1.2\,B(0)`; cure is
a stochastic extinction event in the paper (the tumour-free state is deterministically
unstable), which this deterministic mean-field model does not represent: B only falls to a
small positive minimum and regrows.

Variants
--------
* ``default`` (no variant): paper Table 1 in cells, :math:`K_N = 2.50\times10^{11}`,
  :math:`K_C = 6.96\times10^{10}`, :math:`k_B = 2.024\times10^9` cells,
  :math:`N(0) = 3.00\times10^9`, :math:`C(0) = 1.80\times10^8`, :math:`B(0) = 9.486\times10^{10}`
  cells.
* ``sbml_units``: the curated BioModels file BIOMD0000001041, in the paper's measurement units
  (N, C and :math:`K_N, K_C, k_B` in cells/µL of peripheral blood, B in ml):
  :math:`K_N = 500, K_C = 139, k_B = 4.05, N(0) = 6, C(0) = 0.36, B(0) = 94.86`. It reproduces
  the paper's Fig. 2a,b. **With this variant the state units are cells/µL (N, C) and ml (B),
  not the cells declared below.**

The two variants describe the same dynamics: the right-hand side is invariant under scaling
N, C, :math:`K_N, K_C, k_B` by one factor and B by another. Table 1 in cells is the SBML set
scaled by :math:`5\times10^8` cells per (cell/µL) and :math:`10^9` cells/ml, up to the
rounding of :math:`K_C` (:math:`6.96\times10^{10}/5\times10^8 = 139.2`) and :math:`k_B`
(4.048); the paper does not state the conversion factor in the main text.

Known discrepancies
-------------------
* The fitted :math:`a = 0.423` and :math:`b = 0.525` day\ :sup:`-1` lie outside the quartile
  ranges printed beside them in Table 1 (:math:`[0.100, 0.302]` and :math:`[0.467, 0.522]`).
* Table 1 gives :math:`r_B` as a range, :math:`(1\text{–}50)\times10^{-2}` day\ :sup:`-1`; the
  default 0.01 is the SBML value. The progression scenarios of the paper use 0.105 / 0.19 /
  0.265 day\ :sup:`-1` (slow / medium / fast).
* The SBML Fig. 2 reproduction uses :math:`r_B = 0.01`, with which B falls to about
  :math:`10^{-13}` ml, deterministically "extinct" but not zero.
"""

from __future__ import annotations

import math

from oncoimmune.models._base import Model, Parameter, State, Variant

__all__ = ["MODEL"]

_TABLE = "Kimmel et al. 2021 Table 1"
_SBML = "BIOMD0000001041 (Kimmel 2021, curated SBML)"


def rhs(y, p, dy):
    N, C, B = y
    K_N, K_C, r_N, rho_C, a, b, r_B, gamma_B, k_B = p
    T = N + C
    if T > 0.0:
        # r_C = rho_C + b (T - K_N)^2 / (a T^2 + (T - K_N)^2), divided through by T^2 or by
        # (K_N - T)^2 so that no square overflows however large the (trial) counts are.
        if T >= K_N:
            q = 1.0 - K_N / T
            den = a + q * q
            r_C = rho_C + (b * q * q / den if den > 0.0 else b)
        else:
            w = T / (K_N - T)
            r_C = rho_C + b / (a * w * w + 1.0)
        dy[0] = -r_N * N * math.log(T / K_N)
        dy[1] = -r_C * C * math.log(T / K_C)
    else:
        dy[0] = 0.0
        dy[1] = 0.0
    dy[2] = r_B * B - gamma_B * B * (C / (k_B + C)) if k_B + C > 0.0 else r_B * B


MODEL = Model(
    name="kimmel_2021",
    title="Kimmel–Locke–Altrock CAR T / normal T cell competition model",
    citation=(
        "Kimmel GJ, Locke FL, Altrock PM. The roles of T cell competition and stochastic extinction events in "
        "chimeric antigen receptor T cell therapy. Proc R Soc B 288(1947):20210229 (2021). "
        "doi:10.1098/rspb.2021.0229."
    ),
    states=(
        State("N", "cells", "normal T cells (cells/µL in variant sbml_units)"),
        State("C", "cells", "CAR T cells (cells/µL in variant sbml_units)"),
        State("B", "cells", "antigen-presenting CD19+ tumour cells (ml of tumour in variant sbml_units)"),
    ),
    parameters=(
        Parameter(
            "K_N",
            2.50e11,
            "cells",
            f"{_TABLE} (ref. 19); {_SBML}: 500 cells/µL",
            (1e-12, 1e15),
            "normal T-cell carrying capacity",
        ),
        Parameter(
            "K_C",
            6.96e10,
            "cells",
            f"{_TABLE} (IQR 6.15-9.65e10); {_SBML}: 139 cells/µL",
            (1e-12, 1e15),
            "CAR T-cell carrying capacity",
        ),
        Parameter(
            "r_N", 0.170, "1/day", f"{_TABLE} (IQR 0.165-0.170); {_SBML}", (0.0, 10.0), "normal T-cell net growth rate"
        ),
        Parameter(
            "rho_C",
            2.51e-2,
            "1/day",
            f"{_TABLE} (IQR 0.0208-0.0354); {_SBML}",
            (0.0, 10.0),
            "baseline CAR T-cell net growth rate",
        ),
        Parameter(
            "a",
            0.423,
            "1",
            f"{_TABLE} (printed IQR 0.100-0.302 excludes it); {_SBML}",
            (0.0, 1e3),
            "signalling inefficiency factor in r_C",
        ),
        Parameter(
            "b",
            0.525,
            "1/day",
            f"{_TABLE} (printed IQR 0.467-0.522 excludes it); {_SBML}",
            (0.0, 10.0),
            "immune-reconstitution impact in r_C",
        ),
        Parameter(
            "r_B",
            0.01,
            "1/day",
            f"{_TABLE} gives the range 0.01-0.5 (ref. 20); {_SBML}: 0.01",
            (0.0, 10.0),
            "tumour net growth rate",
        ),
        Parameter(
            "gamma_B",
            1.15,
            "1/day",
            f"{_TABLE} (IQR 0.64-1.35); {_SBML}",
            (0.0, 100.0),
            "maximal tumour-killing rate by CAR T cells",
        ),
        Parameter(
            "k_B",
            2.024e9,
            "cells",
            f"{_TABLE} (IQR 1.40-3.125e9); {_SBML}: 4.05 cells/µL",
            (0.0, 1e15),
            "CAR T count giving half-maximal tumour killing",
        ),
    ),
    init={"N": 3.00e9, "C": 1.80e8, "B": 9.486e10},
    init_source=(
        "Kimmel et al. 2021 Table 1: N(0) = 3.00e9, C(0) = 1.80e8 cells (ZUMA-1 medians, ref. 5), "
        "B(0) = 9.486e10 cells (median metabolic tumour volume 94.86 ml)"
    ),
    rhs=rhs,
    variants={
        "sbml_units": Variant(
            "BIOMD0000001041 in the paper's measurement units: N, C, K_N, K_C, k_B in cells/µL of blood, B in ml "
            "(state units then differ from the declared cells); reproduces Fig. 2a,b",
            {"K_N": 500.0, "K_C": 139.0, "k_B": 4.05},
            init={"N": 6.0, "C": 0.36, "B": 94.86},
            source=_SBML,
        ),
    },
    t_end=600.0,
    notes=(
        "Default: Table 1 in cells. Variant sbml_units: BIOMD0000001041 in cells/µL (N, C) and ml (B); the state "
        "units then differ from the declared ones. Table 1 equals the SBML set scaled by 5e8 cells per cell/µL "
        "and 1e9 cells/ml up to rounding of K_C and k_B. Fitted a and b lie outside their printed quartile "
        "ranges. Cure is stochastic in the paper; this deterministic model never reaches B = 0."
    ),
)
