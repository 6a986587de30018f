r"""de Pillis, Gu & Radunskaya (2006): mixed immunotherapy and chemotherapy of tumours.

Six populations: tumour cells :math:`T`, NK cells :math:`N`, tumour-specific CD8\ :sup:`+` T cells
:math:`L`, circulating lymphocytes :math:`C`, chemotherapy drug :math:`M` and exogenous IL-2 :math:`I`.

.. math::

    \frac{dT}{dt} &= aT(1 - bT) - cNT - DT - K_T\,(1 - e^{-M})\,T \\
    \frac{dN}{dt} &= eC - fN + \frac{g\,T^2}{h + T^2}\,N - pNT - K_N\,(1 - e^{-M})\,N \\
    \frac{dL}{dt} &= -mL + \frac{j\,D^2T^2}{k + D^2T^2}\,L - qLT + (r_1 N + r_2 C)\,T - u N L^2
                     - K_L\,(1 - e^{-M})\,L + \frac{p_I\,L\,I}{g_I + I} + v_L(t) \\
    \frac{dC}{dt} &= \alpha - \beta C - K_C\,(1 - e^{-M})\,C \\
    \frac{dM}{dt} &= -\gamma M + v_M(t) \\
    \frac{dI}{dt} &= -\mu_I I + v_I(t) \\
    D &= d\,\frac{(L/T)^l}{s + (L/T)^l}

The ratio-dependent CD8\ :sup:`+` kill :math:`D` (de Pillis, Radunskaya & Wiseman 2005) is
evaluated as :math:`D = d / (1 + s\,e^{-l(\ln L - \ln T)})`, which cannot overflow when
:math:`T \to 0`; :math:`D = 0` when :math:`L = 0` and :math:`D = d` (the limit) when :math:`T = 0`
and :math:`L > 0`. The chemotherapy kill is saturating, :math:`K(1 - e^{-M})`, so at most a fraction
:math:`K` per day is killed; it is computed as ``-expm1(-M)`` for accuracy at small :math:`M`.

Treatments are the inputs :math:`v_M` (chemotherapy), :math:`v_I` (IL-2) and :math:`v_L` (TIL
infusion), zero by default and switched on by schedules (e.g.
``Infusion.repeat("v_M", 1.0, 1.0, 10.0, 9)`` for one day of chemotherapy every ten days, nine times).

Variants ``patient9`` (default) and ``patient10`` hold the two fitted human patients; they differ in
:math:`d, l, s, k, m, q, p, \alpha, \beta` (models.md §4.3). Both have :math:`C^* = \alpha/\beta = 6.25\times10^{10}`
and a tumour-free NK level :math:`N^* = eC^*/f = 3.155\times10^5`. The default initial state
(:math:`N_0 = 3.155\times10^5`, :math:`L_0 = 100`, :math:`C_0 = 6.25\times10^{10}`, :math:`M_0 = I_0 = 0`) is
that of the reference runs in models.md §4.6, with :math:`T_0 = 2\times10^7` for patient 9 (above its
escape threshold) and :math:`T_0 = 10^7` for patient 10; the paper's own initial conditions are not
verified.

Sources and known discrepancies
-------------------------------
* The 2006 paper itself was not available in readable form. Equations and parameters come from two
  independent reimplementations that agree exactly: Mazen Alamir's Python (CNRS 2022) and a Polish
  MATLAB implementation (patient 10 only in the latter); models.md §4.1–4.3.
* Patient 9 has :math:`l = 2.09`; Alamir's code has 2.08, probably a typo.
* One Polish MATLAB file has :math:`g_I = 2\times10^2`, another :math:`2\times10^7`; we use
  :math:`2\times10^7`, which matches Alamir's code and Kirschner–Panetta.
* The BioModels encoding MODEL2001160002 (Chareyron & Alamir 2009, non-curated) has three errors and
  must not be used as a reference without fixing them: ``D = d + (L/T)^l/(s + (L/T)^l)`` instead of
  :math:`d\cdot\ldots`; the CD8 removal term ``q*L*T*u*N*L*L`` instead of :math:`qLT + uNL^2`; and
  :math:`K_N = 0`.
* Units of :math:`M` are not stated by the reimplementations; we write mg/L by analogy with de Pillis
  2008 (Table 1), where the kill coefficients are per mg/L.

Reference
---------
de Pillis LG, Gu W, Radunskaya AE. Mixed immunotherapy and chemotherapy of tumors: modeling,
applications and biological interpretations. *J Theor Biol* 238(4):841–862 (2006).
"""

from __future__ import annotations

import math

from oncoimmune.models._base import Model, Parameter, State, Variant

_SRC = "de Pillis 2006 via Alamir 2022 (Python) and Polish MATLAB reimplementations; models.md §4.2"
_P9 = "de Pillis 2006 patient 9 via Alamir 2022 and Polish MATLAB; models.md §4.3"
_P10 = "de Pillis 2006 patient 10 via Polish MATLAB; models.md §4.3"


def rhs(y, prm, dy):
    # The parameter vector is called prm because the model has a parameter named p.
    T, N, L, C, M, I = y
    # fmt: off
    (a, b, c, d, l, s, e, f, g, h, j, k, m, q, p, r1, r2, u, K_T, K_N, K_L, K_C,
     alpha, beta, gamma, p_I, g_I, mu_I, v_M, v_I, v_L) = prm
    # fmt: on
    # Ratio-dependent CD8 kill, overflow-safe form of d (L/T)^l / (s + (L/T)^l).
    if L <= 0.0:
        D = 0.0
    elif T <= 0.0:
        D = d
    else:
        D = d / (1.0 + s * math.exp(-l * (math.log(L) - math.log(T))))
    kill = -math.expm1(-M)  # 1 - exp(-M), accurate for small M
    T2 = T * T
    DT2 = (D * T) * (D * T)
    dy[0] = a * T * (1.0 - b * T) - c * N * T - D * T - K_T * kill * T
    dy[1] = e * C - f * N + g * T2 / (h + T2) * N - p * N * T - K_N * kill * N
    dy[2] = (
        -m * L
        + j * DT2 / (k + DT2) * L
        - q * L * T
        + (r1 * N + r2 * C) * T
        - u * N * L * L
        - K_L * kill * L
        + p_I * L * I / (g_I + I)
        + v_L
    )
    dy[3] = alpha - beta * C - K_C * kill * C
    dy[4] = -gamma * M + v_M
    dy[5] = -mu_I * I + v_I


MODEL = Model(
    name="de_pillis_2006",
    title="de Pillis–Gu–Radunskaya mixed immuno-chemotherapy model",
    citation=(
        "de Pillis LG, Gu W, Radunskaya AE. Mixed immunotherapy and chemotherapy of tumors: modeling, "
        "applications and biological interpretations. J Theor Biol 238(4):841-862 (2006). "
        "doi:10.1016/j.jtbi.2005.06.037"
    ),
    states=(
        State("T", "cells", "tumour cells"),
        State("N", "cells", "natural killer (NK) cells"),
        State("L", "cells", "tumour-specific CD8+ T cells"),
        State("C", "cells", "circulating lymphocytes"),
        State("M", "mg/L", "chemotherapy drug concentration (unit inferred, see notes)", log=False),
        State("I", "IU/L", "exogenous IL-2 concentration", log=False),
    ),
    parameters=(
        Parameter("a", 4.31e-1, "1/day", _SRC, (0.0, 10.0), "tumour growth rate"),
        Parameter("b", 1.02e-9, "1/cell", _SRC, (0.0, 1.0), "inverse tumour carrying capacity"),
        Parameter("c", 6.41e-11, "1/(cell*day)", _SRC, (0.0, 1.0), "NK kill rate of tumour cells"),
        Parameter(
            "d", 2.34, "1/day", _P9 + " (patient 10: 1.88)", (0.0, 100.0), "saturation level of CD8+ T-cell kill"
        ),
        Parameter(
            "l",
            2.09,
            "1",
            _P9 + " (patient 10: 1.81; Alamir's code has 2.08, probably a typo)",
            (0.0, 10.0),
            "exponent of the effector:target ratio in D",
        ),
        Parameter(
            "s",
            8.39e-2,
            "1",
            _P9 + " (patient 10: 5.12e-1)",
            (1e-12, 1e6),
            "steepness of the CD8+ kill (ratio (L/T)^l at half-maximal kill)",
        ),
        Parameter("e", 2.08e-7, "1/day", _SRC, (0.0, 1.0), "fraction of circulating lymphocytes becoming NK cells"),
        Parameter("f", 4.12e-2, "1/day", _SRC, (0.0, 10.0), "NK cell death rate"),
        Parameter("g", 1.25e-2, "1/day", _SRC, (0.0, 10.0), "maximal tumour-stimulated NK recruitment"),
        Parameter("h", 2.02e7, "cells^2", _SRC, (1e-12, 1e30), "half-saturation (squared) of NK recruitment"),
        Parameter("j", 2.49e-2, "1/day", _SRC, (0.0, 10.0), "maximal CD8+ recruitment by lysed tumour cells"),
        Parameter(
            "k",
            3.66e7,
            "cells^2",
            _P9 + " (patient 10: 5.66e7)",
            (1e-12, 1e30),
            "half-saturation (squared) of CD8+ recruitment",
        ),
        Parameter("m", 2.04e-1, "1/day", _P9 + " (patient 10: 9.12)", (0.0, 100.0), "CD8+ T-cell death rate"),
        Parameter(
            "q",
            1.42e-6,
            "1/(cell*day)",
            _P9 + " (patient 10: 1.59e-6)",
            (0.0, 1.0),
            "CD8+ inactivation by tumour cells",
        ),
        Parameter(
            "p", 3.42e-6, "1/(cell*day)", _P9 + " (patient 10: 3.59e-6)", (0.0, 1.0), "NK inactivation by tumour cells"
        ),
        Parameter("r1", 1.1e-7, "1/(cell*day)", _SRC, (0.0, 1.0), "CD8+ stimulation by NK-lysed tumour debris"),
        Parameter("r2", 6.5e-11, "1/(cell*day)", _SRC, (0.0, 1.0), "CD8+ stimulation by circulating lymphocytes"),
        Parameter("u", 3e-10, "1/(cell^2*day)", _SRC, (0.0, 1.0), "NK regulation of CD8+ T cells"),
        Parameter("K_T", 0.9, "1/day", _SRC, (0.0, 100.0), "maximal chemotherapy kill of tumour cells"),
        Parameter(
            "K_N",
            0.6,
            "1/day",
            _SRC + " (MODEL2001160002 wrongly has 0)",
            (0.0, 100.0),
            "maximal chemotherapy kill of NK cells",
        ),
        Parameter("K_L", 0.6, "1/day", _SRC, (0.0, 100.0), "maximal chemotherapy kill of CD8+ T cells"),
        Parameter("K_C", 0.6, "1/day", _SRC, (0.0, 100.0), "maximal chemotherapy kill of circulating lymphocytes"),
        Parameter(
            "alpha",
            7.5e8,
            "cells/day",
            _P9 + " (patient 10: 5e8)",
            (0.0, 1e15),
            "constant source of circulating lymphocytes",
        ),
        Parameter(
            "beta",
            1.2e-2,
            "1/day",
            _P9 + " (patient 10: 8e-3)",
            (0.0, 10.0),
            "natural death of circulating lymphocytes",
        ),
        Parameter("gamma", 0.9, "1/day", _SRC, (0.0, 100.0), "chemotherapy decay rate"),
        Parameter("p_I", 0.125, "1/day", _SRC, (0.0, 100.0), "maximal IL-2-driven CD8+ proliferation"),
        Parameter(
            "g_I",
            2e7,
            "IU/L",
            _SRC + " (one Polish MATLAB file has 2e2; 2e7 matches Alamir and KP)",
            (1e-12, 1e15),
            "half-saturation of IL-2-driven proliferation",
        ),
        Parameter("mu_I", 10.0, "1/day", _SRC, (0.0, 1e4), "IL-2 clearance rate"),
        Parameter(
            "v_M",
            0.0,
            "mg/(L*day)",
            "treatment input (models.md §4.4)",
            (0.0, 1e6),
            "chemotherapy dosing rate",
            input=True,
        ),
        Parameter(
            "v_I", 0.0, "IU/(L*day)", "treatment input (models.md §4.4)", (0.0, 1e15), "IL-2 dosing rate", input=True
        ),
        Parameter(
            "v_L",
            0.0,
            "cells/day",
            "treatment input (models.md §4.4)",
            (0.0, 1e15),
            "tumour-infiltrating lymphocyte (TIL) infusion rate",
            input=True,
        ),
    ),
    init={"T": 2e7, "N": 3.155e5, "L": 100.0, "C": 6.25e10, "M": 0.0, "I": 0.0},
    init_source=(
        "models.md §4.6 reference runs: N0 = eC*/f = 3.155e5, L0 = 100, C0 = alpha/beta = 6.25e10, M0 = I0 = 0; "
        "T0 = 2e7 (patient 9 treated scenario). The paper's own initial conditions are not verified."
    ),
    rhs=rhs,
    variants={
        "patient9": Variant(
            "Human patient 9 (de Pillis 2006 fit); T0 = 2e7, above its escape threshold (models.md §4.6)",
            {
                "d": 2.34,
                "l": 2.09,
                "s": 8.39e-2,
                "k": 3.66e7,
                "m": 2.04e-1,
                "q": 1.42e-6,
                "p": 3.42e-6,
                "alpha": 7.5e8,
                "beta": 1.2e-2,
            },
            init={"T": 2e7},
            source=_P9,
        ),
        "patient10": Variant(
            "Human patient 10 (de Pillis 2006 fit); T0 = 1e7, above its escape threshold (models.md §4.6)",
            {
                "d": 1.88,
                "l": 1.81,
                "s": 5.12e-1,
                "k": 5.66e7,
                "m": 9.12,
                "q": 1.59e-6,
                "p": 3.59e-6,
                "alpha": 5e8,
                "beta": 8e-3,
            },
            init={"T": 1e7},
            source=_P10,
        ),
    },
    default_variant="patient9",
    t_end=150.0,
    notes=(
        "Paper not available in readable form: equations and values from two agreeing reimplementations "
        "(Alamir 2022 Python, Polish MATLAB). Patient 9 l = 2.09 (Alamir's 2.08 is probably a typo). "
        "g_I = 2e7 (one MATLAB file has 2e2). MODEL2001160002 has D = d + ..., a product q*L*T*u*N*L*L "
        "instead of q*L*T + u*N*L^2, and K_N = 0: do not use it unfixed. The unit of M is inferred. "
        "Sub-cell tumour values (below ~1e-3 cells) depend on the solver."
    ),
)
