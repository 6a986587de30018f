r"""Linear two-compartment antibody PK with time-varying clearance (and optional target-mediated terms).

The standard model of every antibody popPK analysis in pharmacology.md ("Conventions used
throughout"), with amounts :math:`A_1` (central, mg) and :math:`A_2` (peripheral, mg) and
concentration :math:`C = A_1 / V_1` (mg/L = µg/mL):

.. math::

    \frac{dA_1}{dt} &= R_{in}(t) - \frac{CL(\tau)}{V_1} A_1 - \frac{Q}{V_1} A_1 + \frac{Q}{V_2} A_2
                      - \frac{V_{max}\, C}{K_m + C} \\
    \frac{dA_2}{dt} &= \frac{Q}{V_1} A_1 - \frac{Q}{V_2} A_2 \\
    \frac{d\tau}{dt} &= 1 \\
    CL(\tau) &= CL_0 \exp\!\left(E_{max} \frac{\tau^\gamma}{T_{50}^\gamma + \tau^\gamma}\right)
               + CL_T\, e^{-k_{des} \tau}

* ``tau`` is a clock (days since the first dose; start it at 0 on the first dose day) so that the
  right-hand side stays time-independent, as the model contract requires.
* The sigmoid factor is the time-varying clearance of the nivolumab, pembrolizumab, ipilimumab
  and atezolizumab models (``Emax < 0``: CL falls); ``Emax = 0`` gives a constant clearance.
* :math:`CL_T e^{-k_{des}\tau}` is the decaying target-mediated clearance of the rituximab model
  of Rozman 2017 (antigen sink cleared as B cells are depleted); ``CL_T = 0`` removes it.
* :math:`V_{max} C/(K_m + C)` is the parallel Michaelis–Menten elimination of the trastuzumab
  model of Quartino 2019; ``Vmax = 0`` removes it.
* :math:`R_{in}` (mg/day) is not a parameter: an :class:`~oncoimmune.treatments.Infusion` into
  state ``A1`` supplies it (e.g. 240 mg over 30 min = 11 520 mg/day for 1/48 day).

Parameter defaults are the nivolumab typical values (Bajaj 2017, reference white female, 80 kg);
each variant is the typical patient of one antibody's published popPK model. Individual values
(weight, albumin, sex ... effects) are computed by the drug layer
(:meth:`oncoimmune.treatments.Drug.pk_patient`), which passes them as per-patient parameters.
"""

from __future__ import annotations

import math

from oncoimmune.models._base import Model, Parameter, State, Variant

_BAJAJ = "Bajaj G et al., CPT:PSP 2017;6:58, Table 1 (via nlmixr2lib Bajaj_2017_nivolumab.R); pharmacology.md §1.1, V"
_BOUNDS_CL = (1e-4, 100.0)
_BOUNDS_V = (0.1, 200.0)


def rhs(y, p, dy):
    A1, A2, tau = y
    CL0, V1, Q, V2, Emax, T50, gamma, CLT, kdes, Vmax, Km = p
    if tau > 0.0:
        r = (tau / T50) ** gamma
        h = r / (1.0 + r)
    else:
        h = 0.0
    C = A1 / V1
    CL = CL0 * math.exp(Emax * h) + CLT * math.exp(-kdes * tau)
    dy[0] = -CL * C - Q * C + Q * A2 / V2 - Vmax * C / (Km + C)
    dy[1] = Q * C - Q * A2 / V2
    dy[2] = 1.0


def _v(description: str, source: str, **values: float) -> Variant:
    return Variant(description, values, source=source)


MODEL = Model(
    name="pk_two_compartment",
    title="Two-compartment antibody PK with time-varying clearance",
    citation=(
        "Standard linear two-compartment popPK model of therapeutic antibodies, in the form of "
        "Bajaj G et al., CPT Pharmacometrics Syst Pharmacol 2017;6:58-66 (time-varying CL); "
        "target-mediated terms of Rozman S et al., Br J Clin Pharmacol 2017;83:1782 and "
        "Quartino AL et al., Cancer Chemother Pharmacol 2019;83:329."
    ),
    states=(
        State("A1", "mg", "antibody amount in the central compartment (C = A1/V1)", log=False),
        State("A2", "mg", "antibody amount in the peripheral compartment", log=False),
        State("tau", "day", "clock: days since the first dose (d tau/dt = 1)", log=False),
    ),
    parameters=(
        Parameter("CL0", 0.2256, "L/day", _BAJAJ + " (9.4 mL/h)", _BOUNDS_CL, "baseline linear clearance"),
        Parameter("V1", 3.63, "L", _BAJAJ, _BOUNDS_V, "central volume"),
        Parameter("Q", 0.770, "L/day", _BAJAJ + " (32.1 mL/h)", _BOUNDS_CL, "inter-compartmental clearance"),
        Parameter("V2", 2.78, "L", _BAJAJ, _BOUNDS_V, "peripheral volume"),
        Parameter("Emax", -0.295, "1", _BAJAJ, (-5.0, 5.0), "maximal log-change of CL over time (< 0: CL falls)"),
        Parameter("T50", 58.75, "day", _BAJAJ + " (1410 h)", (1e-3, 1e4), "time to half the CL change"),
        Parameter("gamma", 3.15, "1", _BAJAJ, (1.0, 50.0), "Hill coefficient of the CL change over time"),
        Parameter(
            "CLT",
            0.0,
            "L/day",
            "Rozman 2017 Table 2 (CL2, target-mediated); 0 for antibodies without an antigen sink",
            (0.0, 100.0),
            "initial target-mediated clearance, decaying as exp(-kdes*tau)",
        ),
        Parameter(
            "kdes",
            0.0,
            "1/day",
            "Rozman 2017 Table 2 (kdes); 0 where CLT = 0",
            (0.0, 100.0),
            "decay rate of the target-mediated clearance",
        ),
        Parameter(
            "Vmax",
            0.0,
            "mg/day",
            "Quartino 2019 Table 1 (Vmax); 0 for linear models",
            (0.0, 1e4),
            "maximal rate of parallel Michaelis-Menten elimination",
        ),
        Parameter(
            "Km",
            1.0,
            "mg/L",
            "Quartino 2019 Table 1 (Km); placeholder 1 where Vmax = 0 (no effect)",
            (1e-6, 1e6),
            "concentration of half-maximal nonlinear elimination",
        ),
    ),
    init={"A1": 0.0, "A2": 0.0, "tau": 0.0},
    init_source="no antibody before the first dose; clock at 0 on the first dose day",
    rhs=rhs,
    variants={
        "nivolumab": _v(
            "Nivolumab, Bajaj 2017 (label model): white female, 80 kg, eGFR 90, ECOG 0, non-Asian",
            _BAJAJ,
            CL0=0.2256,
            V1=3.63,
            Q=0.770,
            V2=2.78,
            Emax=-0.295,
            T50=58.75,
            gamma=3.15,
        ),
        "pembrolizumab": _v(
            "Pembrolizumab, Ahamadi 2017 (time-invariant CL): male, 76.8 kg, albumin 39.6 g/L, SLD 89.6 mm, "
            "eGFR 88.47, melanoma, ECOG 0, ipilimumab-naive",
            "Ahamadi M et al., CPT:PSP 2017;6:49, Table 3 (via nlmixr2lib Ahamadi_2017_pembrolizumab.R); "
            "pharmacology.md §1.2, V",
            CL0=0.22,
            V1=3.48,
            Q=0.795,
            V2=4.06,
            Emax=0.0,
        ),
        "atezolizumab": _v(
            "Atezolizumab, Stroh 2017 (label model, time-invariant CL): male, 77 kg, albumin 40 g/L, "
            "tumour burden 63 mm, ADA-negative",
            "Stroh M et al., Clin Pharmacol Ther 2017;102:305, as reprinted in Chan P et al., CPT:PSP 2025;14:726, "
            "Table 2 (via nlmixr2lib Chan_2025_atezolizumab.R); pharmacology.md §1.3, V",
            CL0=0.200,
            V1=3.28,
            Q=0.546,
            V2=3.63,
            Emax=0.0,
        ),
        "ipilimumab": _v(
            "Ipilimumab, Feng 2014 (label model, monotherapy, time-invariant CL): 80 kg, LDH 206 IU/L",
            "Feng Y et al., Br J Clin Pharmacol 2014;78:106, Table 2 (via nlmixr2lib); pharmacology.md §1.4, V",
            CL0=0.360,
            V1=4.15,
            Q=0.986,
            V2=3.11,
            Emax=0.0,
        ),
        "rituximab": _v(
            "Rituximab, Rozman 2017 (DLBCL, R-CHOP-21): male, 70 kg, 60 years, non-progressor; "
            "CL = CL1 + CL2*exp(-kdes*t)",
            "Rozman S et al., Br J Clin Pharmacol 2017;83:1782, Table 2 (via nlmixr2lib Rozman_2017_rituximab.R); "
            "pharmacology.md §2.1, V",
            CL0=0.252,
            V1=4.62,
            Q=1.02,
            V2=8.61,
            Emax=0.0,
            CLT=0.278,
            kdes=0.143,
        ),
        "trastuzumab": _v(
            "Trastuzumab, Quartino 2019 (label model, linear + Michaelis-Menten): breast cancer, 66 kg, "
            "AST 24 IU/L, albumin 4 g/dL, no liver metastases",
            "Quartino AL et al., Cancer Chemother Pharmacol 2019;83:329, Table 1 (via nlmixr2lib); "
            "pharmacology.md §2.2, V",
            CL0=0.127,
            V1=2.62,
            Q=0.544,
            V2=2.97,
            Emax=0.0,
            Vmax=8.81,
            Km=8.92,
        ),
        "trastuzumab_bruno_2005": _v(
            "Trastuzumab, Bruno 2005 (first popPK, linear): 70 kg, HER2 ECD 8.23 ng/mL, < 4 metastatic sites; "
            "Q = K12*V1 = 0.164*2.95 L/day, V2 = Q/K21 = 0.484/0.101 L",
            "Bruno R et al., Cancer Chemother Pharmacol 2005;56:361, Table 3 (via nlmixr2lib); "
            "pharmacology.md §2.2, V (Q, V2 derived from K12, K21 in the notes)",
            CL0=0.225,
            V1=2.95,
            Q=0.484,
            V2=4.79,
            Emax=0.0,
        ),
    },
    t_end=84.0,
    notes=(
        "Concentration C = A1/V1 in mg/L (= ug/mL). Start tau at 0 on the first dose (the engine does this "
        "when the regimen's first dose is at day 0). Covariate effects are applied by the drug layer. The "
        "rituximab variant's typical values do not include the 82.2 % lower kdes of patients who later "
        "progressed (a covariate of the drug file)."
    ),
)
