r"""Kirschner & Panetta (1998): effector cells, tumour cells and IL-2.

.. math::

    \frac{dE}{dt} &= cT - \mu_2 E + \frac{p_1 E I_L}{g_1 + I_L} + s_1 \\
    \frac{dT}{dt} &= r_2 T (1 - bT) - \frac{a E T}{g_2 + T} \\
    \frac{dI_L}{dt} &= \frac{p_2 E T}{g_3 + T} - \mu_3 I_L + s_2

Two versions of the IL-2 activation term exist and both are selectable:

* ``default`` (paper form): :math:`p_1 E I_L / (g_1 + I_L)`, as restated by Sarv Ahrabi 2018 Eq. (1).
* ``sbml``: the curated BioModels file BIOMD0000000732 passes ``g1`` where the function expects
  ``g1_IL``, so the term becomes :math:`p_1 E I_L / g_1`. The switch parameter ``sbml_form``
  (0 or 1) selects it. The difference is tiny because :math:`I_L \ll g_1`
  (T(150) = 618.37 vs 618.35 from (0, 1, 0), c = 0.035; models.md §1.6).

Treatments: ``s1`` (adoptive cellular immunotherapy, cells/day) and ``s2`` (IL-2 input) are
inputs that schedules switch on and off. Analytic results reproduced in the tests: the ACI
threshold :math:`s_{1,cr} = r_2 g_2 \mu_2 / a = 540`, the IL-2-alone threshold
:math:`s_2 > \mu_3 \mu_2 g_1 / (p_1 - \mu_2) = 6.349\times10^7`, the Hopf point
:math:`c_H \approx 0.032464` (models.md §1.5, §1.7).

Unit of :math:`I_L`: the paper leaves IL-2 in unnamed concentration units ("volume" for
g1, g2, g3 in Sarv Ahrabi 2018); we write ``IL2 units``.
"""

from __future__ import annotations

from oncoimmune.models._base import Model, Parameter, State, Variant

_TABLE = "Kirschner & Panetta 1998 Table 1 (as restated by Sarv Ahrabi 2018 and BIOMD0000000732)"


def rhs(y, p, dy):
    E, T, IL = y
    c, mu2, p1, g1, g2, r2, b, a, mu3, p2, g3, s1, s2, sbml_form = p
    activation = p1 * E * IL / (g1 + IL * (1.0 - sbml_form))
    dy[0] = c * T - mu2 * E + activation + s1
    dy[1] = r2 * T * (1.0 - b * T) - a * E * T / (g2 + T)
    dy[2] = p2 * E * T / (g3 + T) - mu3 * IL + s2


MODEL = Model(
    name="kirschner_panetta_1998",
    title="Kirschner–Panetta tumour–effector–IL-2 model",
    citation=(
        "Kirschner D, Panetta JC. Modeling immunotherapy of the tumor-immune interaction. "
        "J Math Biol 37(3):235-252 (1998). PMID 9785481."
    ),
    states=(
        State("E", "cells", "activated effector cells"),
        State("T", "cells", "tumour cells"),
        State("IL", "IL2 units", "IL-2 concentration in the tumour-site compartment", log=False),
    ),
    parameters=(
        Parameter(
            "c",
            0.035,
            "1/day",
            _TABLE + " (varied 0-0.05); BIOMD0000000732 uses 0.035",
            (0.0, 1.0),
            "antigenicity: tumour stimulation of effectors",
        ),
        Parameter("mu2", 0.03, "1/day", _TABLE, (0.0, 10.0), "effector death rate"),
        Parameter("p1", 0.1245, "1/day", _TABLE, (0.0, 10.0), "maximal IL-2-driven effector proliferation"),
        Parameter(
            "g1",
            2e7,
            "IL2 units",
            _TABLE + " (MODEL1006230038 and CellML have the typo 2e-7)",
            (1e-12, 1e15),
            "half-saturation of IL-2 effect on effectors",
        ),
        Parameter("g2", 1e5, "cells", _TABLE, (1e-12, 1e15), "half-saturation of tumour kill"),
        Parameter("r2", 0.18, "1/day", _TABLE, (0.0, 10.0), "tumour growth rate"),
        Parameter("b", 1e-9, "1/cell", _TABLE, (0.0, 1.0), "inverse carrying capacity"),
        Parameter("a", 1.0, "1/day", _TABLE, (0.0, 100.0), "maximal kill rate"),
        Parameter("mu3", 10.0, "1/day", _TABLE + " (IL-2 half-life about 1.7 h)", (0.0, 1e4), "IL-2 clearance"),
        Parameter("p2", 5.0, "IL2 units/(cell*day)", _TABLE, (0.0, 1e4), "IL-2 production"),
        Parameter("g3", 1e3, "cells", _TABLE, (1e-12, 1e15), "half-saturation of IL-2 production"),
        Parameter(
            "s1",
            0.0,
            "cells/day",
            _TABLE + " (treatment input, >= 0)",
            (0.0, 1e15),
            "adoptive cellular immunotherapy (ACI/LAK/TIL) input",
            input=True,
        ),
        Parameter(
            "s2", 0.0, "IL2 units/day", _TABLE + " (treatment input, >= 0)", (0.0, 1e15), "IL-2 input", input=True
        ),
        Parameter(
            "sbml_form",
            0.0,
            "1",
            "switch: 1 selects the BIOMD0000000732 activation term p1*E*IL/g1",
            (0.0, 1.0),
            "0 = paper form p1*E*IL/(g1+IL); 1 = curated-SBML form p1*E*IL/g1",
        ),
    ),
    init={"E": 0.0, "T": 1.0, "IL": 0.0},
    init_source="BIOMD0000000732 initial conditions (E, T, I_L) = (0, 1, 0), simulated 200 days",
    rhs=rhs,
    variants={
        "sbml": Variant(
            "Curated BioModels encoding BIOMD0000000732: activation term p1*E*IL/g1 (see module notes)",
            {"sbml_form": 1.0},
            source="BIOMD0000000732 (sys-bio/temp-biomodels final/BIOMD0000000732)",
        ),
    },
    t_end=500.0,
    notes=(
        "BIOMD0000000732 divides the activation term by g1 only (variant 'sbml'); MODEL1006230038 and "
        "the CellML export use g1 = 2e-7, a typo for 2e7. The published ACI threshold s1 > 540 holds only "
        "locally: with c = 0 and T(0) = 1e5, s1 = 1000 does not clear the tumour."
    ),
)
