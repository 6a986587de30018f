r"""de Pillis, Caldwell, Sarapata & Williams (2013): regulatory T cells, IL-2 and sunitinib in renal cell carcinoma.

Seven states: tumour cells :math:`T`, NK cells :math:`N`, CD8\ :sup:`+` T cells :math:`L`, regulatory
T cells :math:`R`, circulating lymphocytes :math:`C`, IL-2 :math:`I` and sunitinib :math:`S`
(paper Eqs. 1–8):

.. math::

    \frac{dT}{dt} &= aT(1 - bT) - c\,e^{-\lambda_T R}\,NT - DT \\
    \frac{dN}{dt} &= f\left(\tfrac{e}{f}C - N\right) - pNT + \frac{p_N N I}{g_N + I} \\
    \frac{dL}{dt} &= -mL - qLT + (r_1 N + r_2 C)\,T + \frac{p_I L I}{g_I + I}
                     - \frac{z L^2 R I}{\kappa + I} + \frac{jT}{k + T}\,L \\
    \frac{dR}{dt} &= u\left(\tfrac{w}{u}C - R\right) + \frac{p_R R I}{g_R + I} - H_R\,(1 - e^{-\lambda_R S})\,R \\
    \frac{dC}{dt} &= \beta\left(\tfrac{\alpha}{\beta} - C\right) \\
    \frac{dI}{dt} &= -\mu_I I + \phi C + \frac{\omega L I}{\zeta + I} \\
    \frac{dS}{dt} &= -\eta S + v_S(t) \\
    D &= d\,\frac{(L/T)^l}{s + (L/T)^l}

:math:`D` is evaluated as :math:`d / (1 + s\,e^{-l(\ln L - \ln T)})` (no overflow as
:math:`T \to 0`), with :math:`D = 0` when :math:`L = 0` and :math:`D = d` when :math:`T = 0 < L`.
The ratios :math:`e/f`, :math:`w/u` and :math:`\alpha/\beta` are parameters in their own right
(``e_f``, ``w_u``, ``alpha_beta``), as in Table 3 and the SBML.

Sunitinib acts only by depleting Tregs: the kill :math:`H_R(1 - e^{-\lambda_R S})` saturates at
:math:`H_R` for :math:`S \gg 1/\lambda_R = 0.02` mg/L. The input :math:`v_S` (mg·L⁻¹·day⁻¹) is zero by
default; the standard schedule is 50 mg/day orally for 28 days then 14 days off (one 6-week cycle,
five cycles on average) in a body volume of 59.71 L.

Variants
--------
``table`` (default)
    Table 3 of the paper, identical to the curated SBML BIOMD0000000908.
``text``
    The values written in the paper's text for :math:`r_1 = 8.68\times10^{-12}`,
    :math:`\omega = 7.879\times10^{-2}`, :math:`\phi = 2.5153\times10^{-7}` and
    :math:`H_R = 2.27\times10^{-2}` (Table 3: 6.682e-12, 5.314e-2, 3.594e-7, 0.227); every other
    parameter is shared.

The default initial state is the paper's high-tumour homeostasis (the SBML initial values):
:math:`T = 4.662\times10^9`, :math:`N = 2.5\times10^8`, :math:`L = 5.268\times10^5`,
:math:`R = 3.52\times10^8`, :math:`C = 2.14\times10^9`, :math:`I = 1173` IU/L, :math:`S = 0`. The
zero-tumour homeostasis is :math:`(0, 2.5\times10^8, 2.4\times10^4, 1.1\times10^8, 2.14\times10^9, 48.9, 0)`.
Neither is an exact steady state of the Table 3 parameters (see ``tests/reference/test_de_pillis_2013.py``).
:math:`d` and :math:`l` are patient-specific in the paper (range 1.7–2.2); the defaults are the SBML's 1.7.

Known discrepancies
-------------------
* :math:`\mu_I`: Table 3 and the SBML give 11.7427 day⁻¹; the text derives
  :math:`\ln 2 / 5.9\times10^{-2}\,\text{day} = 11.7483` day⁻¹. We use 11.7427 in both variants.
* Sunitinib dose: the paper writes ":math:`v_S` = (50 mg/day × 28 days)/59.71 L = 23.4467 mg/L", which
  reads as an amount per cycle, not a rate. We treat :math:`v_S` as a rate and recommend
  50/59.71 = 0.8374 mg·L⁻¹·day⁻¹ during the on-days; with :math:`\lambda_R = 50.02` L/mg the Treg kill
  saturates at :math:`H_R` under either reading.
* BIOMD0000000908 computes :math:`D` from the *initial* values of :math:`L` and :math:`T` (parameters
  ``Metabolite_2``/``Metabolite_0`` set by initial assignments), so :math:`D` is a constant in the SBML
  instead of a function of the current state.
* BIOMD0000000908 writes sunitinib elimination as the rate ``(-n)*S`` of a reaction that consumes
  :math:`S`, i.e. :math:`dS/dt = v_S + \eta S`; it is harmless there only because :math:`v_S = S_0 = 0`.
  We use :math:`-\eta S`.
* SBML identifiers differ from the paper's symbols: ``delta_T``/``delta_R`` for :math:`\lambda_T`/
  :math:`\lambda_R`, ``w`` for :math:`\omega`, ``n`` for :math:`\eta`, ``vs`` for :math:`v_S`,
  ``r_1``/``r_2`` for :math:`r_1`/:math:`r_2`.

Reference
---------
de Pillis L, Caldwell T, Sarapata E, Williams H. Mathematical modeling of regulatory T cell effects on
renal cell carcinoma treatment. *Discrete Contin Dyn Syst Ser B* 18(4):915–943 (2013).
"""

from __future__ import annotations

import math

from oncoimmune.models._base import Model, Parameter, State, Variant

_T3 = "de Pillis 2013 Table 3"


def _sb(sbml_id: str) -> str:
    return f"{_T3}; BIOMD0000000908 parameter '{sbml_id}'"


def rhs(y, prm, dy):
    # The parameter vector is called prm because the model has a parameter named p.
    T, N, L, R, C, I, S = y
    # fmt: off
    (a, b, c, lambda_T, d, l, s, e_f, f, p, p_N, g_N, m, q, r1, r2, p_I, g_I, z, kappa, j, k,
     w_u, u, p_R, g_R, H_R, lambda_R, alpha_beta, beta, mu_I, phi, omega, zeta, eta, v_S) = prm
    # fmt: on
    # Ratio-dependent CD8 kill, overflow-safe form of d (L/T)^l / (s + (L/T)^l).
    if L <= 0.0:
        D = 0.0
    elif T <= 0.0:
        D = d
    else:
        D = d / (1.0 + s * math.exp(-l * (math.log(L) - math.log(T))))
    dy[0] = a * T * (1.0 - b * T) - c * math.exp(-lambda_T * R) * N * T - D * T
    dy[1] = f * (e_f * C - N) - p * N * T + p_N * N * I / (g_N + I)
    dy[2] = (
        -m * L
        - q * L * T
        + (r1 * N + r2 * C) * T
        + p_I * L * I / (g_I + I)
        - z * L * L * R * I / (kappa + I)
        + j * T / (k + T) * L
    )
    dy[3] = u * (w_u * C - R) + p_R * R * I / (g_R + I) + H_R * math.expm1(-lambda_R * S) * R
    dy[4] = beta * (alpha_beta - C)
    dy[5] = -mu_I * I + phi * C + omega * L * I / (zeta + I)
    dy[6] = -eta * S + v_S


_TEXT = {"r1": 8.68e-12, "omega": 7.879e-2, "phi": 2.5153e-7, "H_R": 2.27e-2}

MODEL = Model(
    name="de_pillis_2013",
    title="de Pillis et al. renal cell carcinoma model with Tregs, IL-2 and sunitinib",
    citation=(
        "de Pillis L, Caldwell T, Sarapata E, Williams H. Mathematical modeling of regulatory T cell effects on "
        "renal cell carcinoma treatment. Discrete Contin Dyn Syst Ser B 18(4):915-943 (2013). "
        "doi:10.3934/dcdsb.2013.18.915"
    ),
    states=(
        State("T", "cells", "tumour cells"),
        State("N", "cells/L", "natural killer (NK) cells per litre of blood"),
        State("L", "cells/L", "CD8+ T cells per litre of blood"),
        State("R", "cells/L", "regulatory T cells (Tregs) per litre of blood"),
        State("C", "cells/L", "circulating lymphocytes (other than NK, CD8+ and Tregs) per litre of blood"),
        State("I", "IU/L", "IL-2 concentration", log=False),
        State("S", "mg/L", "sunitinib concentration", log=False),
    ),
    parameters=(
        Parameter("a", 0.2065, "1/day", _sb("a"), (0.0, 10.0), "tumour growth rate"),
        Parameter("b", 2.145e-10, "1/cell", _sb("b"), (0.0, 1.0), "inverse tumour carrying capacity"),
        Parameter("c", 8.68e-10, "L/(cell*day)", _sb("c"), (0.0, 1.0), "NK kill rate of tumour cells"),
        Parameter("lambda_T", 1.59e-9, "L/cell", _sb("delta_T"), (0.0, 1.0), "Treg suppression of NK killing"),
        Parameter(
            "d",
            1.7,
            "1/day",
            _sb("d") + " (patient-specific, range 1.7-2.2)",
            (0.0, 100.0),
            "saturation level of CD8+ T-cell kill",
        ),
        Parameter(
            "l",
            1.7,
            "1",
            _sb("l") + " (patient-specific, range 1.7-2.2)",
            (0.0, 10.0),
            "exponent of the effector:target ratio in D",
        ),
        Parameter(
            "s",
            3.5e-2,
            "1",
            _sb("s") + " (kept from de Pillis 2009)",
            (1e-12, 1e6),
            "steepness of the CD8+ kill (ratio (L/T)^l at half-maximal kill)",
        ),
        Parameter("e_f", 0.1168, "1", _sb("e_f"), (0.0, 10.0), "ratio e/f: NK share of circulating lymphocytes"),
        Parameter("f", 1.25e-2, "1/day", _sb("f"), (0.0, 10.0), "NK turnover rate"),
        Parameter("p", 6.682e-14, "L/(cell*day)", _sb("p"), (0.0, 1.0), "NK inactivation by tumour cells"),
        Parameter("p_N", 6.68e-2, "1/day", _sb("p_N"), (0.0, 10.0), "IL-2-induced NK proliferation"),
        Parameter(
            "g_N",
            2.5036e5,
            "IU/L",
            _sb("g_N") + " (IL-2R beta-gamma affinity)",
            (1e-12, 1e15),
            "half-saturation of IL-2-induced NK proliferation",
        ),
        Parameter("m", 9e-3, "1/day", _sb("m"), (0.0, 10.0), "CD8+ T-cell death rate"),
        Parameter("q", 3.422e-10, "1/(cell*day)", _sb("q"), (0.0, 1.0), "CD8+ inactivation by tumour cells"),
        Parameter(
            "r1",
            6.682e-12,
            "1/(cell*day)",
            _sb("r_1") + " (text: 8.68e-12, variant 'text')",
            (0.0, 1.0),
            "CD8+ stimulation by NK-lysed tumour debris",
        ),
        Parameter("r2", 1e-15, "1/(cell*day)", _sb("r_2"), (0.0, 1.0), "CD8+ stimulation by circulating lymphocytes"),
        Parameter("p_I", 1.111, "1/day", _sb("p_I"), (0.0, 100.0), "IL-2-induced CD8+ proliferation"),
        Parameter(
            "g_I",
            2.5036e3,
            "IU/L",
            _sb("g_I") + " (IL-2R alpha-beta-gamma affinity)",
            (1e-12, 1e15),
            "half-saturation of IL-2-induced CD8+ proliferation",
        ),
        Parameter("z", 2.3085e-13, "L^2/(cell^2*day)", _sb("z"), (0.0, 1.0), "Treg suppression of CD8+ T cells"),
        Parameter(
            "kappa",
            2.5036e3,
            "IU/L",
            _sb("kappa"),
            (1e-12, 1e15),
            "half-saturation of IL-2 in Treg suppression of CD8+ T cells",
        ),
        Parameter("j", 1.245e-1, "1/day", _sb("j"), (0.0, 10.0), "tumour-driven CD8+ recruitment"),
        Parameter("k", 2.019e7, "cells", _sb("k"), (1e-12, 1e15), "half-saturation of CD8+ recruitment"),
        Parameter("w_u", 1.22e-2, "1", _sb("w_u"), (0.0, 10.0), "ratio w/u: Treg share of circulating lymphocytes"),
        Parameter("u", 3.851e-2, "1/day", _sb("u") + " (Treg half-life 18 d)", (0.0, 10.0), "Treg turnover rate"),
        Parameter("p_R", 3.598e-2, "1/day", _sb("p_R"), (0.0, 10.0), "IL-2-induced Treg proliferation"),
        Parameter(
            "g_R", 11.027, "IU/L", _sb("g_R"), (1e-12, 1e15), "half-saturation of IL-2-induced Treg proliferation"
        ),
        Parameter(
            "H_R",
            0.227,
            "1/day",
            _sb("H_R") + " (text: 2.27e-2, variant 'text')",
            (0.0, 100.0),
            "maximal sunitinib-induced Treg death rate",
        ),
        Parameter("lambda_R", 50.02, "L/mg", _sb("delta_R"), (0.0, 1e6), "sunitinib efficacy on Tregs"),
        Parameter(
            "alpha_beta",
            2.14e9,
            "cells/L",
            _sb("alpha_beta"),
            (0.0, 1e15),
            "ratio alpha/beta: homeostatic circulating-lymphocyte level",
        ),
        Parameter("beta", 6.3e-3, "1/day", _sb("beta"), (0.0, 10.0), "circulating-lymphocyte turnover rate"),
        Parameter(
            "mu_I",
            11.7427,
            "1/day",
            _sb("mu_I") + " (text: ln2/5.9e-2 = 11.7483; IL-2 tissue half-life 85 min)",
            (0.0, 1e4),
            "IL-2 clearance rate",
        ),
        Parameter(
            "phi",
            3.594e-7,
            "IU/(cell*day)",
            _sb("phi") + " (text: 2.5153e-7, variant 'text')",
            (0.0, 1.0),
            "IL-2 production by circulating lymphocytes",
        ),
        Parameter(
            "omega",
            5.314e-2,
            "1/day",
            _sb("w") + " (text: 7.879e-2, variant 'text')",
            (0.0, 10.0),
            "IL-2-stimulated IL-2 production by CD8+ T cells (Table 3 unit 1/day; dimensionally IU/(cell*day))",
        ),
        Parameter(
            "zeta", 2.5036e3, "IU/L", _sb("zeta"), (1e-12, 1e15), "half-saturation of IL-2-stimulated IL-2 production"
        ),
        Parameter(
            "eta", 0.277, "1/day", _sb("n") + " (sunitinib half-life 2.5 d)", (0.0, 100.0), "sunitinib elimination rate"
        ),
        Parameter(
            "v_S",
            0.0,
            "mg/(L*day)",
            "treatment input; de Pillis 2013 section 4.7 (50 mg/day in 59.71 L = 0.8374 mg/L/day; SBML parameter 'vs')",
            (0.0, 1e6),
            "sunitinib dosing rate",
            input=True,
        ),
    ),
    init={"T": 4.662e9, "N": 2.5e8, "L": 5.268e5, "R": 3.52e8, "C": 2.14e9, "I": 1173.0, "S": 0.0},
    init_source="de Pillis 2013 high-tumour homeostasis (section 5.3 of models.md); BIOMD0000000908 initial values",
    rhs=rhs,
    variants={
        "table": Variant(
            "Table 3 values (identical to BIOMD0000000908)",
            {},
            source=_T3 + "; BIOMD0000000908",
        ),
        "text": Variant(
            "In-text values of r1, omega, phi and H_R (r1 = 8.68e-12, omega = 7.879e-2, phi = 2.5153e-7, "
            "H_R = 2.27e-2); everything else as Table 3",
            _TEXT,
            source="de Pillis 2013 text (models.md §5.2)",
        ),
    },
    default_variant="table",
    t_end=210.0,
    notes=(
        "Variant 'table' = Table 3 = BIOMD0000000908; variant 'text' uses the in-text r1, omega, phi, H_R. "
        "mu_I is 11.7427 (Table 3, SBML) although the text derives 11.7483. The sunitinib 'v_S = 23.4467 mg/L' "
        "of the paper is ambiguous (per-cycle amount vs rate); use 50/59.71 = 0.8374 mg/L/day on days 0-28 of "
        "42-day cycles. BIOMD0000000908 freezes D at its initial value (computed from the initial L and T) and "
        "has dS/dt = vs + n*S (sign error, harmless at vs = S0 = 0)."
    ),
)
