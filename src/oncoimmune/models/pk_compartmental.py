r"""General mammillary small-molecule PK: depot, central and up to two peripheral compartments.

The structural model of the popPK analyses of chemotherapy and oral targeted drugs in
pharmacology.md §5, with amounts (in the drug's amount unit, mg for every drug in the library)
in the depot :math:`A_d`, the central compartment :math:`A_1` and two peripheral compartments
:math:`A_2, A_3`, and the central concentration :math:`C = A_1/V_1` (mg/L = µg/mL):

.. math::

    \frac{dA_d}{dt} &= -k_a A_d \\
    \frac{dA_1}{dt} &= F k_a A_d - CL(\tau)\, C - \frac{V_{max} C}{K_m + C}
                       - Q_2 \left(C - \frac{A_2}{V_2}\right) - Q_3 \left(C - \frac{A_3}{V_3}\right)
                       - \frac{V_{mT} C}{K_{mT} + C} + k_{T21} A_2 \\
    \frac{dA_2}{dt} &= Q_2 \left(C - \frac{A_2}{V_2}\right) + \frac{V_{mT} C}{K_{mT} + C} - k_{T21} A_2 \\
    \frac{dA_3}{dt} &= Q_3 \left(C - \frac{A_3}{V_3}\right) \\
    \frac{d\tau}{dt} &= 1 \\
    CL(\tau) &= CL \left(1 + E_{ind}\,(1 - e^{-k_{ind} \tau})\right)

* **Routes.** An oral or subcutaneous dose is a bolus into the depot ``Ad``; a fraction
  :math:`F` of what leaves the depot reaches the central compartment (the rest is lost:
  unabsorbed or first-pass), which is the same as a dose of :math:`F \cdot` dose entering
  the depot. An intravenous infusion or bolus goes into ``A1`` directly and is not scaled by
  :math:`F`. Oral popPK models estimated as *apparent* parameters (CL/F, V/F) are encoded with
  ``F = 1``; their absolute bioavailability is recorded as data in the drug file.
* **Peripheral compartments.** ``Q2 = 0`` (``Q3 = 0``) switches peripheral compartment 2 (3)
  off; its volume then has no effect. One-, two- and three-compartment models are the same
  equations.
* **Saturable terms.** :math:`V_{max} C/(K_m + C)` is Michaelis–Menten elimination from the
  central compartment (``Vmax = 0`` removes it). :math:`V_{mT} C/(K_{mT} + C)` with first-order
  return :math:`k_{T21} A_2` is the saturable distribution into peripheral compartment 2 of the
  paclitaxel models of Henningsson 2001 / Joerger 2012 / Crombag 2019 (``VmT = 0``,
  ``kT21 = 0`` remove it).
* **Time-varying clearance.** ``tau`` is a clock (days since the first dose; it starts at 0
  on the first dose day). :math:`E_{ind} > 0` with rate :math:`k_{ind}` gives a clearance that
  rises from ``CL`` to ``CL·(1 + Eind)`` (CYP3A4 autoinduction, e.g. dabrafenib); ``Eind = 0``
  gives a constant clearance. This is a function of time on treatment, not of exposure: it is
  exact only for uninterrupted dosing.
* **Absorption lag.** A lag time (dabrafenib, trametinib) is not part of the equations: the
  drug layer (:meth:`oncoimmune.treatments.Drug.simulate_pk`) delays each oral dose by it.

Parameter defaults are the trametinib typical patient of Balakirouchenane 2020 (oral,
two-compartment, apparent parameters); each variant is the typical patient of one drug's
published popPK model (per-hour values × 24 → per day; µmol → mg by the molecular weight).
Individual values (body size, sex, age, renal function) are computed by the drug layer
(:meth:`oncoimmune.treatments.Drug.pk_patient`) and passed as per-patient parameters.
"""

from __future__ import annotations

import math

from oncoimmune.models._base import Model, Parameter, State, Variant

_BALA = (
    "Balakirouchenane D et al., Cancers 2020;12:931, Table 3 (trametinib, real-world popPK; "
    "via nlmixr2lib); pharmacology.md §5.8, V"
)
_BOUNDS_RATE = (0.0, 1e4)
_BOUNDS_CL = (0.0, 1e5)
_BOUNDS_V = (1e-3, 1e5)


def rhs(y, p, dy):
    Ad, A1, A2, A3, tau = y
    ka, F, CL, V1, Q2, V2, Q3, V3, Vmax, Km, VmT, KmT, kT21, Eind, kind = p
    C = A1 / V1
    CLt = CL * (1.0 + Eind * (1.0 - math.exp(-kind * tau)))
    absorb = ka * Ad
    to2 = Q2 * (C - A2 / V2) + VmT * C / (KmT + C) - kT21 * A2
    to3 = Q3 * (C - A3 / V3)
    dy[0] = -absorb
    dy[1] = F * absorb - CLt * C - Vmax * C / (Km + C) - to2 - to3
    dy[2] = to2
    dy[3] = to3
    dy[4] = 1.0


def _v(description: str, source: str, **values: float) -> Variant:
    return Variant(description, values, source=source)


# Values of the variants (per hour × 24 = per day). The "off" settings of the optional terms
# are the parameter defaults (Q3 = 0, Vmax = 0, VmT = 0, kT21 = 0, Eind = 0).
_PACLITAXEL_MW = 853.9  # g/mol = mg/mmol; pharmacology.md §5.4 (Janssen 2023 file), V
_UMOL = _PACLITAXEL_MW / 1000.0  # mg per µmol
_SUN_QH, _SUN_CLINT = 80.0, 35.7  # L/h: Yu 2015 hepatic blood flow (fixed) and CL/F (Table 2), V

MODEL = Model(
    name="pk_compartmental",
    title="General mammillary small-molecule PK (depot, central, two peripheral, saturable terms)",
    citation=(
        "Standard mammillary popPK model with first-order absorption (e.g. Gabrielsson J, Weiner D, "
        "Pharmacokinetic and Pharmacodynamic Data Analysis, 5th ed., 2016, ch. 2), with the saturable "
        "elimination and distribution of Henningsson A et al., J Clin Oncol 2001;19:4065 (paclitaxel) and "
        "the drug-specific models cited in each variant."
    ),
    states=(
        State("Ad", "mg", "amount in the absorption depot (oral/SC doses; drug amount unit)", log=False),
        State("A1", "mg", "amount in the central compartment (C = A1/V1; drug amount unit)", log=False),
        State("A2", "mg", "amount in peripheral compartment 2 (drug amount unit)", log=False),
        State("A3", "mg", "amount in peripheral compartment 3 (drug amount unit)", log=False),
        State("tau", "day", "clock: days since the first dose (d tau/dt = 1)", log=False),
    ),
    parameters=(
        Parameter("ka", 21.912, "1/day", _BALA + " (0.913 /h)", _BOUNDS_RATE, "first-order absorption rate"),
        Parameter(
            "F",
            1.0,
            "1",
            _BALA + " (apparent parameters CL/F, V/F: F = 1; absolute F 0.723, Leonowens 2014)",
            (0.0, 1.0),
            "fraction of what leaves the depot that reaches the central compartment",
        ),
        Parameter("CL", 139.92, "L/day", _BALA + " (CL/F 5.83 L/h)", _BOUNDS_CL, "linear clearance (at tau = 0)"),
        Parameter("V1", 61.9, "L", _BALA + " (V2/F)", _BOUNDS_V, "central volume"),
        Parameter("Q2", 1557.6, "L/day", _BALA + " (Q/F 64.9 L/h)", _BOUNDS_CL, "clearance to peripheral 2"),
        Parameter("V2", 417.0, "L", _BALA + " (V3/F)", _BOUNDS_V, "volume of peripheral 2"),
        Parameter(
            "Q3", 0.0, "L/day", "0: trametinib model is two-compartment", _BOUNDS_CL, "clearance to peripheral 3"
        ),
        Parameter("V3", 1.0, "L", "placeholder 1 where Q3 = 0 (no effect)", _BOUNDS_V, "volume of peripheral 3"),
        Parameter(
            "Vmax", 0.0, "mg/day", "0 for linear models", (0.0, 1e6), "maximal Michaelis-Menten elimination rate"
        ),
        Parameter(
            "Km",
            1.0,
            "mg/L",
            "placeholder 1 where Vmax = 0 (no effect)",
            (1e-9, 1e6),
            "concentration of half-maximal saturable elimination",
        ),
        Parameter(
            "VmT", 0.0, "mg/day", "0 without saturable distribution", (0.0, 1e7), "maximal saturable transport to 2"
        ),
        Parameter(
            "KmT",
            1.0,
            "mg/L",
            "placeholder 1 where VmT = 0 (no effect)",
            (1e-9, 1e6),
            "concentration of half-maximal saturable transport",
        ),
        Parameter(
            "kT21",
            0.0,
            "1/day",
            "0 without saturable distribution",
            _BOUNDS_RATE,
            "first-order return from peripheral 2 (saturable-distribution models)",
        ),
        Parameter(
            "Eind",
            0.0,
            "1",
            "0: no time-dependent clearance",
            (-0.99, 100.0),
            "maximal fractional change of CL with time on treatment (> 0: induction)",
        ),
        Parameter("kind", 0.0, "1/day", "0 where Eind = 0", _BOUNDS_RATE, "rate of the time-dependent change of CL"),
    ),
    init={"Ad": 0.0, "A1": 0.0, "A2": 0.0, "A3": 0.0, "tau": 0.0},
    init_source="no drug before the first dose; clock at 0 on the first dose day",
    rhs=rhs,
    variants={
        "trametinib": _v(
            "Trametinib, Balakirouchenane 2020 real-world popPK (oral, two-compartment, apparent parameters; "
            "lag 0.709 h applied by the drug layer); no covariates retained on the typical values",
            _BALA,
            ka=21.912,
            F=1.0,
            CL=139.92,
            V1=61.9,
            Q2=1557.6,
            V2=417.0,
        ),
        "dabrafenib": _v(
            "Dabrafenib (parent), Balakirouchenane 2020 real-world popPK at steady state (oral, two-compartment, "
            "apparent parameters; ka fixed; lag 0.499 h applied by the drug layer): man, 61.2 years",
            "Balakirouchenane D et al., Cancers 2020;12:931, Table 2 (via nlmixr2lib); pharmacology.md §5.7, V",
            ka=43.2,
            F=1.0,
            CL=463.2,
            V1=39.1,
            Q2=81.6,
            V2=18.7,
        ),
        "vemurafenib": _v(
            "Vemurafenib, one-compartment oral model from label-level apparent parameters: CL/F 1.35 L/h (median "
            "of a pooled popPK in 898 patients), V/F 91 L (Swiss Fachinformation); ka chosen so that the "
            "single-dose Tmax is 4 h (label median 3-4 h; no published ka in the notes: flag U)",
            "J Clin Pharmacol 2021;61:1243 (abstract; CL/F) and Swiss Fachinformation (V/F), pharmacology.md §5.6, "
            "V; ka flag U (computed from Tmax)",
            ka=26.13,
            F=1.0,
            CL=32.4,
            V1=91.0,
            Q2=0.0,
        ),
        "sunitinib": _v(
            "Sunitinib (parent), Yu 2015 semi-physiological model for a 70 kg patient, reduced exactly to "
            "mammillary form: the hepatic enzyme site in quasi-steady state, Cliv = (ka*Ad + Qh*C)/(Qh + CLint), "
            "gives hepatic availability F = Qh/(Qh + CLint) = 80/115.7 and systemic clearance "
            "CL = Qh*CLint/(Qh + CLint) = 24.68 L/h (CLint = the paper's CL/F 35.7 L/h, Qh 80 L/h fixed); "
            "one compartment Vc/F 1360 L, ka 0.34 /h; the active metabolite SU12662 is not in this model",
            "Yu H et al., Br J Clin Pharmacol 2015;79:809, Table 2 and Eqs 6-10 (via nlmixr2lib Yu_2015_sunitinib.R); "
            "pharmacology.md §5.9, V (F and CL computed here from CL/F and Qh, flag C)",
            ka=0.34 * 24.0,
            F=_SUN_QH / (_SUN_QH + _SUN_CLINT),
            CL=_SUN_QH * _SUN_CLINT / (_SUN_QH + _SUN_CLINT) * 24.0,
            V1=1360.0,
            Q2=0.0,
        ),
        "docetaxel": _v(
            "Docetaxel, Koolen 2010 three-compartment model as reprinted by Janssen 2023 (IV)",
            "Koolen SLW et al., Clin Cancer Res 2010, reprinted in Janssen A et al. 2023 Table 1 "
            "(nlmixr2lib Janssen_2023_docetaxel.R); pharmacology.md §5.2, V",
            CL=1058.4,
            V1=8.9,
            Q2=146.4,
            V2=7.3,
            Q3=345.6,
            V3=388.0,
        ),
        "carboplatin": _v(
            "Carboplatin (free), Ekhart 2009 two-compartment model, 240 patients with normal renal function "
            "(median CrCl 126 mL/min); Q = k12*V1 = 0.135*15.4 L/h, V2 = Q/k21 = 2.079/0.215 L",
            "Ekhart C et al., Cancer Chemother Pharmacol 2009;64:115 (via nlmixr2lib); pharmacology.md §5.3, V "
            "(Q, V2 derived from k12, k21)",
            CL=201.12,
            V1=15.4,
            Q2=49.896,
            V2=9.670,
        ),
        "pemetrexed": _v(
            "Pemetrexed, Cao 2022 two-compartment model (Chinese NSCLC patients, CrCl 93.6 mL/min)",
            "Cao P et al., Front Pharmacol 2022;13:954242 (via nlmixr2lib); pharmacology.md §5.5, V",
            CL=198.96,
            V1=18.9,
            Q2=2.4,
            V2=5.12,
        ),
        "paclitaxel": _v(
            "Paclitaxel, Crombag 2019 non-pregnant model as reprinted by Janssen 2023: saturable elimination "
            "(VM_EL 33.8 umol/h, KM_EL 0.44 umol/L), saturable distribution to peripheral 2 (VM_TR 177 umol/h, "
            "KM_TR 1.61 umol/L, return k21 1.21 /h), linear peripheral 3 (Q 16.8 L/h, V 268 L); V1 12 L; "
            "umol converted to mg with MW 853.9",
            "Crombag MBS et al. 2019, reprinted in Janssen A et al. 2023 Table 1 (nlmixr2lib "
            "Janssen_2023_paclitaxel.R); pharmacology.md §5.4, V",
            CL=0.0,
            V1=12.0,
            Q2=0.0,
            V2=1.0,
            Q3=403.2,
            V3=268.0,
            Vmax=33.8 * _UMOL * 24.0,
            Km=0.44 * _UMOL,
            VmT=177.0 * _UMOL * 24.0,
            KmT=1.61 * _UMOL,
            kT21=29.04,
        ),
        "dacarbazine": _v(
            "Dacarbazine, one-compartment IV model from a clinical PK study in melanoma/sarcoma patients "
            "(CL 15.4 mL/kg/min, Vd 0.632 L/kg) for a 70 kg patient",
            "Clinical PK study of DTIC and AIC, Cancer Chemother Pharmacol ~1982 (co-author Dammann A; abstract), "
            "pharmacology.md §5.1, V (bibliographic details R); 70 kg reference chosen here",
            CL=15.4e-3 * 1440.0 * 70.0,
            V1=0.632 * 70.0,
            Q2=0.0,
        ),
        # -- cytokines and lymphodepletion (drug library part 1; pharmacology.md §3, §4.4) --------------
        "aldesleukin": _v(
            "Aldesleukin (high-dose IL-2), two-compartment IV model built from the label half-lives 13 and 85 min "
            "(5-min infusion), the central volume dose/C0 = 1e6 U/m2 / 650 U/mL = 1.538 L/m2 x 1.8 m2 and the "
            "clearance 120 mL/min of Konrad 1990; micro-constants solved from alpha, beta, CL, V1 (k10 = CL/V1, "
            "k21 = alpha*beta/k10, k12 = alpha + beta - k10 - k21); amounts in IU, C in IU/L",
            "Proleukin label (13/85 min, pharmacology.md §3.1, V); Konrad MW et al., Cancer Res 1990;50:2009 "
            "(abstract: C0 650 U/mL after 1e6 U/m2, CL 120 mL/min; V, units possibly Cetus units, U); reference "
            "BSA 1.8 m2 = UK chemotherapy mean 1.79 m2 (Sacco 2010, pharmacology.md §0.2) chosen here (U); "
            "Q2, V2 computed (C)",
            CL=172.8,
            V1=2.76923,
            Q2=32.3263,
            V2=2.23732,
        ),
        "interferon_alfa_2b": _v(
            "Interferon alfa-2b, one-compartment model with first-order SC absorption from Radwanski 1987 "
            "(12 healthy men, 5 MIU/m2 SC): absorption half-life 5.5 h (ka 3.0246 /day), elimination half-life "
            "2.9 h; V/F = 28.19 L/m2 x 1.9 m2 = 53.56 L set so that the model Cmax after 5 MIU/m2 equals the "
            "observed mean 45.8 IU/mL (CL/F = k V/F = 12.80 L/h); F = 1 (apparent parameters; SC AUC exceeded "
            "IV AUC in the source); amounts in IU, C in IU/L",
            "Radwanski E et al., J Clin Pharmacol 1987;27:432 (abstract: t1/2 absorption 5.5 h, elimination "
            "2.9 h, Cmax 45.8 IU/mL at 8 h after 5 MIU/m2 SC; V); V/F and CL/F computed from them (C); reference "
            "BSA 1.9 m2 (healthy men, not reported in the abstract; UK men 1.91 m2, pharmacology.md §0.2) "
            "chosen here (U)",
            ka=3.02464,
            F=1.0,
            CL=307.252,
            V1=53.5619,
            Q2=0.0,
        ),
        "fludarabine": _v(
            "Fludarabine (F-ara-A), Varela-Gonzalez-Aller 2025 three-compartment model, axi-cel cohort: 70 kg, "
            "creatinine clearance 96 mL/min: CL = (4.4 non-renal + 1.7 renal) L/h = 6.1 L/h; V1 41.2, V2 14.5, "
            "V3 10.8 L; CLD2 4.8, CLD3 3.6 L/h; amounts in mg F-ara-A (0.78 x the fludarabine phosphate dose)",
            "Varela-Gonzalez-Aller J et al., Pharmaceutics 2025;17:1592, Table 2 (via nlmixr2lib "
            "VarelaGonzalezAller_2025_fludarabine.R); pharmacology.md §4.4, V",
            CL=146.4,
            V1=41.2,
            Q2=115.2,
            V2=14.5,
            Q3=86.4,
            V3=10.8,
        ),
        "fludarabine_tisa_cel": _v(
            "Fludarabine (F-ara-A), Varela-Gonzalez-Aller 2025, tisa-cel cohort: non-renal CL 3.9 instead of "
            "4.4 L/h, so CL = 5.6 L/h at 70 kg and creatinine clearance 96 mL/min; other parameters as axi-cel",
            "Varela-Gonzalez-Aller J et al., Pharmaceutics 2025;17:1592, Table 2 and Discussion (5.6 L/h); "
            "pharmacology.md §4.4, V",
            CL=134.4,
            V1=41.2,
            Q2=115.2,
            V2=14.5,
            Q3=86.4,
            V3=10.8,
        ),
        "cyclophosphamide": _v(
            "Cyclophosphamide, Ahmed 2020 one-compartment IV model (Ethiopian women with breast cancer, 30-min "
            "infusion): 600 mg/m2-based regimen (AC, AC-T), BSA 1.58 m2: CL 5.41 L/h, V 46.5 L (t1/2 5.96 h)",
            "Ahmed JH et al., Front Pharmacol 2020;11:406, Tables 3-4 (via nlmixr2lib Ahmed_2020_cyclophosphamide.R); "
            "pharmacology.md §4.4, V",
            CL=129.84,
            V1=46.5,
            Q2=0.0,
        ),
        # -- corticosteroids (one-compartment oral; per-kg values of the sources x 70 kg) -----------
        "prednisolone": _v(
            "Prednisolone formed from oral prednisone, one-compartment model for a 70 kg adult: systemic "
            "clearance 0.104 L/h/kg (7.28 L/h) and volume 0.588 L/kg (41.16 L) of IV prednisolone 16-64 mg in "
            "volunteers (t1/2 3.9 h from these means; reported mean t1/2 4.1 h; linear over the dose range); "
            "F = 0.8, the systemic availability of prednisolone from prednisone tablets (prednisolone itself is "
            "completely available orally, F 1.06); ka 1.676 /h chosen so that Tmax = ln(ka/ke)/(ka - ke) = 1.5 h "
            "(peak 1-2 h after an oral dose)",
            "Br J Clin Pharmacol 1980;10(5):503-8 (abstract: CL 0.104 L/h/kg, V 0.588 L/kg, t1/2 4.11 h, oral F "
            "1.063), V; F 0.8: Biopharm Drug Dispos 1980;1(5):247-58 (prednisolone from prednisone tablets "
            "0.77 and 0.80 vs IV prednisolone), V; ka computed from Tmax 1.5 h (MIMS: peak 1-2 h; prednisone "
            "tablet Tmax 1.23 h, J Allergy Clin Immunol 1982;70:243), C",
            ka=1.676 * 24.0,
            F=0.8,
            CL=0.104 * 70.0 * 24.0,
            V1=0.588 * 70.0,
            Q2=0.0,
        ),
        "dexamethasone": _v(
            "Dexamethasone, one-compartment model for a 70 kg adult: plasma clearance 245 mL/min (14.7 L/h; "
            "IV dexamethasone phosphate 8 mg in 12 healthy adults), volume 0.76 L/kg (53.2 L), so t1/2 2.5 h "
            "(label 2.4-3.5 h); oral F 0.83 (tablet vs IV); ka 0.9792 /h chosen so that "
            "Tmax = ln(ka/ke)/(ka - ke) = 1.8 h (label 1.6-2 h after 0.5-1.5 mg)",
            "Tsuei SE et al., J Pharmacokinet Biopharm 1979;7:249 (abstract: CL 247.5 and 242.9 mL/min in men "
            "and women), V; Millicorten Swiss Fachinformation (CL 245 mL/min, V 0.76 L/kg, F 83 %, Tmax "
            "1.6-2 h, t1/2 2.4-3.5 h), V; ka computed from Tmax 1.8 h, C",
            ka=0.9792 * 24.0,
            F=0.83,
            CL=0.245 * 60.0 * 24.0,
            V1=0.76 * 70.0,
            Q2=0.0,
        ),
    },
    t_end=28.0,
    notes=(
        "Concentration C = A1/V1 in the drug's amount unit per litre (mg/L = ug/mL). Start tau at 0 on the first "
        "dose. Oral apparent-parameter models use F = 1. Lag times are applied by the drug layer. Covariate "
        "effects are applied by the drug layer. Metabolites (hydroxy-dabrafenib, SU12662) are not modelled. The "
        "vemurafenib ka is computed from the label Tmax (flag U); the dacarbazine model is a one-compartment "
        "approximation of a reportedly biphasic disposition. The corticosteroid variants (prednisolone after "
        "oral prednisone, dexamethasone) are one-compartment models from per-kg values at 70 kg, with ka computed "
        "from the reported Tmax."
    ),
)
