r"""io_qsp: an integrated immuno-oncology QSP model in which every therapy class acts through its mechanism.

One virtual patient: a solid (or haematological) tumour of drug-sensitive and drug-resistant cancer
cells, the immune cells that decide its fate, and the pharmacokinetics of every drug class of the
library, so that checkpoint antibodies, a tumour-targeting antibody, immunoglobulin, cytokines, a
vaccine, CAR-T cells, chemotherapy and targeted therapy can be compared and combined on the same
patient. Time is in days, cells are counts (blood counts per µL where stated), antibody and small-
molecule amounts in mg, cytokine amounts in IU.

The structure is a reduction of the Johns Hopkins (Popel lab) QSP-IO family (pharmacology.md §6:
Jafarnejad 2019, Wang 2019–2021; code in ``popellab/qspio`` and ``HanwenWang95/QSPIO-TNBC``) to one
tumour compartment and lumped priming, with the APC module of the personalised melanoma model of Tsur
et al. (models.md §6.3), the CAR-T cellular kinetics of Stein 2019 (pharmacology.md §4.3) and the
lymphodepletion niche of Gattinoni 2005. Every parameter lists its source and its pharmacology.md
flag: **V** (value seen in the source), **R** (recalled, verify), **U** (uncertain or chosen here
where no source gives a value; these are the calibration targets of the virtual-trial layer), **C**
(computed from V values).

Tumour
------
With :math:`C = C_s + C_r + C_e` viable cancer cells and logistic growth :math:`g = k_g (1 - C/K_C)`,

.. math::

    \dot C_s &= g C_s (1 - E_{TKI})(1 - E_{IFN}) (1 - \mu_r) - (\kappa + k_{apo} E_{TKI}) C_s \\
    \dot C_r &= g C_r (1 - E^{r}_{TKI})(1 - E_{IFN}) + \mu_r g C_s (1 - E_{TKI})(1 - E_{IFN})
               - (\kappa - (1 - s_{T,r}) \kappa_T - (1 - s_r) E^{T}_{chemo} + k_{apo} E^{r}_{TKI}) C_r \\
    \dot C_e &= g C_e (1 - E_{TKI})(1 - E_{IFN}) - (\kappa - \kappa_T + k_{apo} E_{TKI}) C_e \\
    \dot D &= (\kappa - d_C)(C_s + C_r) - (1 - s_{T,r}) \kappa_T C_r - (1 - s_r) E^{T}_{chemo} C_r
             + (\kappa - d_C - \kappa_T)\, C_e
             + f_{D,apo}\, k_{apo} (E_{TKI} (C_s + C_e) + E^{r}_{TKI} C_r) - k_{clear} D

:math:`C_e` are cells that escape T-cell recognition (antigen-presentation or interferon-signalling
loss, the acquired resistance of Zaretsky 2016), present before treatment as a fraction
:math:`f_{e0}`; they are killed by NK cells, CAR-T cells and drugs only. :math:`D` is the killed,
non-viable mass still in the lesions (the dead cells of the QSP-IO tumour volume), cleared at
:math:`k_{clear}`: imaging measures :math:`C + D`, so lesions shrink as fast as the killed mass
clears, and a residual mass without viable tumour reads as a partial response. Of the cells that
targeted therapy drives into apoptosis, a share :math:`f_{D,apo}` (``f_D_apo``, default 1) joins
that mass; the rest is removed by phagocytes within the day (efferocytosis), so that a lesion can
shrink under a kinase inhibitor faster than the killed mass of an immune response clears.

where the per-cell kill :math:`\kappa = d_C + \kappa_T + \kappa_{CAR} + \kappa_{NK} + E^{T}_{chemo}`
sums the T-cell kill (Popel form, suppressed by the PD-1 axis)
:math:`\kappa_T = (k_{CT} + k_{CT,CTLA4} O_{CTLA4}) T_E / (K_{TC} C + T_E + K_{TR} R)\,(1 - H_{PD1})`
(:math:`k_{CT,CTLA4}`, default 0: the kill of the new clones that CTLA-4 blockade primes, Kvistborg 2014), the CAR-T kill
:math:`\kappa_{CAR} = k_{CAR}\, a_{CAR} E_{CAR} / (K_{CAR} C + E_{CAR})`, NK kill and ADCC
:math:`\kappa_{NK} = (k_{NK} + k_{ADCC}\, a_{mAb}\, O_{mAb} K_{ADCC}/(K_{ADCC} + C)) N / N_{ref}`, and the cytotoxic kill
:math:`E^{T}_{chemo} = \sum_i E^{T}_{max,i} c_i/(EC_{50,i} + c_i)`. Targeted therapy inhibits the
growth of sensitive cells, :math:`E_{TKI} = 1 - \prod_i (1 - I_{max,i} c_i/(IC_{50,i} + c_i))`
(Bliss independence for a doublet), and induces apoptosis :math:`k_{apo} E_{TKI}`; resistant cells
arise by mutation at :math:`\mu_r` per division and pre-exist as a fraction :math:`f_{r0}` of
the tumour (:func:`initial_state`). They keep a share :math:`S_{r,i}` (``Sr``, per drug, 0 by default) of each
drug's inhibition, :math:`E^{r}_{TKI} = 1 - \prod_i (1 - S_{r,i} I_{max,i} c_i/(IC_{50,i} + c_i))`: a BRAF
inhibitor's resistant subclone, which mostly reactivates MAPK signalling upstream of MEK, stays partly
sensitive to a MEK inhibitor, the rationale of the BRAF/MEK doublet. They feel the cytotoxic kill at a
relative sensitivity :math:`s_r` (``s_chemo_r``: 1 by default, resistance to targeted therapy only; 0 for
a multidrug-resistant subclone, Goldie–Coldman), and the T-cell kill at :math:`s_{T,r}` (``s_T_r``: 1 by
default; 0 for a subclone whose resistance to MAPK inhibition comes with immune evasion, as in half of
the melanomas progressing on it, Hugo 2015). Interferon-α is antiproliferative,
:math:`E_{IFN} = I_{IFN}\, c_{IFN}/(EC_{50,IFN} + c_{IFN})`.

PD-1 axis
---------
PD-L1 expression (tumour proportion score, ``pdl1`` ∈ [0, 1]) engages PD-1 unless an antibody
occupies either partner: :math:`x = (p_{L1} + p_{TME} + p_{CTLA4} O_{CTLA4}) (1 - O_{PD1})(1 - O_{PDL1}) / P_{50}`, where
:math:`p_{TME}` is PD-L1 on infiltrating immune and myeloid cells, which the tumour proportion score does not count,
and :math:`p_{CTLA4}` (``pdl1_CTLA4``, default 0) PD-L1 induced during CTLA-4 blockade, in proportion to its
occupancy (adaptive resistance, Gao 2017), :math:`H_{PD1} = x^{n}/(1 + x^{n})`. Receptor occupancy in the tumour is
:math:`O = c_T/(c_T + K_D)` with :math:`c_T = \gamma_T\, (A_1/V_1)\, 1000/MW` nM. With
``pdl1 = pdl1_tme = pdl1_CTLA4 = 0`` there is nothing to block, so checkpoint antibodies change nothing.

Priming, effectors, Tregs
-------------------------
Mature APCs follow Tsur et al.: :math:`\dot A = \alpha_A\, C/(C + b_A)\,(1 + a_{IFN} E'_{IFN}) -
\mu_A A`. Tumour-specific effector CD8 T cells are primed at

.. math::

    P = n_{ref} (t_{mb}/t_{ref})\, s_{naive}\, \frac{A + \eta_V m_V V}{A + \eta_V m_V V + K_{APC}}\,
        2^{N_{gen}}\, F_{CTLA4}\, \frac{L}{L_{ss}}, \qquad
    F_{CTLA4} = \left(\frac{1 - \phi (1 - O_{CTLA4})}{1 - \phi}\right)^{\nu}

(clones ∝ TMB; naive supply per clone from thymic output over TCR diversity; burst of
:math:`N_{gen}` divisions; CTLA-4 blockade lifts the CD28 co-stimulation that CTLA-4 competes for;
lymphodepletion lowers the naive pool :math:`L`). Then

.. math::

    \dot T_E &= P + k_{pro} H^{E}_{IL2} T_E - d_E (1 + \epsilon_{PD1} H_{PD1}) T_E
               - k_{TR} T_E R/(T_E + R) - E^{L}_{chemo} T_E \\
    \dot R &= \rho_R P / F_{CTLA4} + k_{pro} H^{R}_{IL2} R - d_R R
             - k_{ADCC,R}\, H_{CTLA4} (N/N_{ref}) R - E^{L}_{chemo} R

with IL-2 drives :math:`H^{X}_{IL2} = c_{IL2}/(c_{IL2} + EC^{X}_{50})` (the Treg EC50 is the effector
one, 0.32 nM, which reproduces high-dose IL-2 in melanoma; the 100× lower value of the high-affinity
CD25 receptor, which the Popel-lab sources also encode, makes Tregs outgrow effectors and is
selectable) and CTLA-4 ADCC depletion of Tregs
:math:`H_{CTLA4} = b^2/(b^2 + b_{50}^2)`, :math:`b = 5000\, O_{CTLA4}` bound CTLA-4 per Treg.

NK cells, lymphocytes, CAR-T, vaccine
-------------------------------------
:math:`\dot N = d_N (N_{ss} - N) + k_{pro} H^{NK}_{IL2} N - E^{L}_{chemo} N` (blood NK, cells/µL);
:math:`\dot L = (s_L + k_L L)(1 - L/L_{ss}) - E^{L}_{chemo} L` (blood lymphocytes, cells/µL). CAR-T effectors
expand on antigen inside the homeostatic niche that lymphodepletion opens (the cytokine sink of
endogenous lymphocytes, Gattinoni 2005):

.. math::

    \dot E_{CAR} &= \rho_{CAR} S\, \frac{K_{\gamma c}}{K_{\gamma c} + L + E_{CAR}/\kappa} E_{CAR} + \theta S M_{CAR}
                    - (\alpha_{CAR} + k_{EM} + k_{EX} S + E^{L}_{chemo}) E_{CAR} \\
    \dot M_{CAR} &= k_{EM} E_{CAR} - \theta S M_{CAR} - \beta_{CAR} M_{CAR}, \qquad
    \dot X_{CAR} = k_{EX} S E_{CAR} - d_X X_{CAR}

with antigen stimulation :math:`S = a_{CAR} C/(a_{CAR} C + K_{Ag})` and :math:`\kappa` total-body
CAR-T cells per cell/µL of blood, so that CAR-T cells fill the niche they expand in (as the
normal and CAR T cells of Kimmel 2021 share one). Expansion stops when the CAR-T cells fill the
niche (about 9 days after infusion, the Tmax of Stein 2019); contraction follows when antigen is
cleared or lymphocytes recover; there is no expansion without lymphodepletion. Vaccine-loaded
APCs (sipuleucel-T cells or a DC vaccine) decay at :math:`d_V` and prime like endogenous mature
APCs with efficiency :math:`\eta_V` and antigen match :math:`m_V`. The kill denominators carry
one extra cell (:math:`K_{TC} C + T_E + K_{TR} R + 1`) so that they stay defined once the tumour
and the killers are all gone.

Pharmacokinetics
----------------
Each antibody slot (``PD1``, ``PDL1``, ``CTLA4``, ``mAb``) is a linear two-compartment model
(amounts ``Ab_X_1``/``Ab_X_2`` in mg; clearances multiplied by :math:`1 + E_{FcRn}` while IVIG
saturates FcRn); IVIG is one compartment; IL-2 two compartments in IU; interferon-α a depot and a
central compartment in IU; two cytotoxic slots (``ch1``, ``ch2``) are two-compartment in mg;
two targeted-therapy slots (``tk1``, ``tk2``) have an oral depot, a central and a peripheral
compartment; two corticosteroid slots (``CS1``, ``CS2``: prednisone, dexamethasone) an oral depot
and a central compartment.

Corticosteroids
---------------
Glucocorticoids inhibit T-cell activation, IL-2 production and proliferation; regulatory T cells
are relatively spared. With plasma concentrations :math:`c_1, c_2` of the two slots,

.. math::

    f_{CS} = \prod_{i=1,2} \Bigl(1 - I_{\max,i}\, \frac{c_i}{IC_{50,i} + c_i}\Bigr)

multiplies effector priming and IL-2-driven effector proliferation (the simple Imax model of
prednisolone's inhibition of whole-blood lymphocyte proliferation, Magee MH et al., Br J Clin
Pharmacol 2002;53:474). Effector killing is not damped, nor is CAR-T expansion: the tisagenlecleucel
cellular-kinetic analysis of Stein AM et al. (CPT:PSP 2019;8:285, Table 1) reports a corticosteroid
co-medication factor of 1.0 (pharmacology.md §4.3), in ZUMA-1 neither glucocorticoids nor
tocilizumab was associated with lower expansion or response (Neelapu SS et al., NEJM
2017;377:2531, R), and the ASTCT grades of CRS and ICANS are read from that expansion. The trial layer gives these drugs as the management of immune-related adverse events
(:mod:`oncoimmune.toxicity`), so that steroids feed back on efficacy.
Doses enter as boluses or zero-order infusions into the first state of a slot; the drug library
fills each slot's parameters from the drug's population-PK model and its ``qsp`` section
(:mod:`oncoimmune.treatments`), so that the same model runs nivolumab or pembrolizumab,
docetaxel or pemetrexed. Time-varying clearance of the antibody popPK models and third
compartments are not carried into the slots (documented simplification; the stand-alone PK models
keep them).

Outputs for the side-effect layer are computed by :func:`outputs` (receptor occupancies, cytokine
concentrations, CAR-T expansion, cytotoxic exposure and an immune-activation index). Three
accumulator states (``X_chemo``, ``X_IL2``, ``X_IFN``) integrate the drives of the drugs cleared
within hours, so that their cumulative exposure is exact whatever the output grid.

Patients
--------
:func:`patient` maps covariates to parameters. The measured sum of diameters gives the lesion
size (viable and non-viable at their untreated quasi-steady ratio) and the growth-rate covariate is
the *net* growth of the untreated tumour: :func:`baseline` solves for the intrinsic :math:`k_g` that
gives this net growth against the patient's own immune kill, so that every enrolled virtual patient
is progressing before treatment, and a therapy is judged by how far it moves that balance.

Limits
------
Defaults give plausible human-scale dynamics, not a calibrated population: values flagged U are
what the virtual-trial layer calibrates. The model has one tumour compartment (no lymph node or
blood T-cell trafficking), no PD-L2, no myeloid suppression, and no B-cell antigen sink for CD19
CAR-T. Outputs are for research and education, never a prescription.
"""

from __future__ import annotations

import math

import numpy as np

from oncoimmune.errors import ValidationError
from oncoimmune.models._base import DoseSlot, Model, Parameter, State
from oncoimmune.models.pk_two_compartment import MODEL as _PK2

_P6 = "pharmacology.md §6"
_TSUR = "Tsur N et al. 2019 personalised melanoma model (J Transl Med 2019, doi 10.1186/s12967-019-2081-2, Table 1; models.md §6.3 MODEL1911150001), V"
_POP = "Popel-lab QSP-IO (popellab/qspio, HanwenWang95/QSPIO-TNBC)"
_STEIN = "Stein AM et al., CPT:PSP 2019;8:285, Table 1 (tisagenlecleucel; pharmacology.md §4.3), V"
_U = "U (chosen here; calibration target of the virtual-trial layer)"


def _pk2(variant: str, name: str) -> float:
    return float(_PK2.parameter_values(variant)[_PK2.parameter_index(name)])


def _pk2_source(variant: str) -> str:
    return _PK2.variants[variant].source


# -- right-hand side ---------------------------------------------------------------------------


def rhs(y, p, dy):
    (
        Cs,
        Cr,
        A,
        V,
        TE,
        R,
        N,
        L,
        CAR_E,
        CAR_M,
        CAR_X,
        Ab_PD1_1,
        Ab_PD1_2,
        Ab_PDL1_1,
        Ab_PDL1_2,
        Ab_CTLA4_1,
        Ab_CTLA4_2,
        Ab_mAb_1,
        Ab_mAb_2,
        IVIG,
        IL2_1,
        IL2_2,
        IFN_0,
        IFN_1,
        ch1_1,
        ch1_2,
        ch2_1,
        ch2_2,
        tk1_0,
        tk1_1,
        tk1_2,
        tk2_0,
        tk2_1,
        tk2_2,
        X_chemo,  # noqa: RUF059 (accumulators: read by outputs only)
        X_IL2,  # noqa: RUF059
        X_IFN,  # noqa: RUF059
        Ce,
        D,
        CS1_0,
        CS1_1,
        CS2_0,
        CS2_1,
    ) = y
    (
        kg,
        K_C,
        d_C,
        mu_r,
        k_CT,
        K_TC,
        K_TR,
        pdl1,
        P50_PD1,
        n_PD1,
        gamma_T,
        tmb,
        tmb_ref,
        n_ref,
        s_naive,
        N_gen,
        K_APC,
        alpha_A,
        b_A,
        mu_A,
        phi_CTLA4,
        d_E,
        eps_PD1,
        k_pro,
        k_TR,
        rho_R,
        d_R,
        k_ADCC_R,
        CTLA4_per_Treg,
        CTLA4_50,
        EC50_IL2_E,
        EC50_IL2_R,
        EC50_IL2_NK,
        nM_per_IU_IL2,
        N_ss,
        N_ref,
        d_N,
        k_NK,
        k_ADCC,
        K_ADCC,
        a_mAb,
        L_ss,
        s_L,
        k_L,
        rho_CAR,
        K_gc,
        kappa_CAR,
        K_Ag,
        a_CAR,
        alpha_CAR,
        k_EM,
        beta_CAR,
        theta_CAR,
        k_EX,
        d_X,
        k_CAR,
        K_CAR,
        d_V,
        eta_V,
        m_V,
        CL_PD1,
        V1_PD1,
        Q_PD1,
        V2_PD1,
        KD_PD1,
        MW_PD1,
        CL_PDL1,
        V1_PDL1,
        Q_PDL1,
        V2_PDL1,
        KD_PDL1,
        MW_PDL1,
        CL_CTLA4,
        V1_CTLA4,
        Q_CTLA4,
        V2_CTLA4,
        KD_CTLA4,
        MW_CTLA4,
        CL_mAb,
        V1_mAb,
        Q_mAb,
        V2_mAb,
        KD_mAb,
        MW_mAb,
        CL_IVIG,
        V_IVIG,
        Emax_FcRn,
        EC50_FcRn,
        CL_IL2,
        V1_IL2,
        Q_IL2,
        V2_IL2,
        ka_IFN,
        F_IFN,
        CL_IFN,
        V_IFN,
        EC50_IFN,
        I_IFN,
        a_IFN,
        CL_ch1,
        V1_ch1,
        Q_ch1,
        V2_ch1,
        EC50_ch1,
        EmaxT_ch1,
        EmaxL_ch1,
        CL_ch2,
        V1_ch2,
        Q_ch2,
        V2_ch2,
        EC50_ch2,
        EmaxT_ch2,
        EmaxL_ch2,
        ka_tk1,
        F_tk1,
        CL_tk1,
        V1_tk1,
        Q_tk1,
        V2_tk1,
        IC50_tk1,
        Imax_tk1,
        Sr_tk1,
        ka_tk2,
        F_tk2,
        CL_tk2,
        V1_tk2,
        Q_tk2,
        V2_tk2,
        IC50_tk2,
        Imax_tk2,
        Sr_tk2,
        k_apo,
        n_lesions,  # noqa: RUF059 (read by outputs only)
        f_r0,  # noqa: RUF059 (read by initial_state only)
        cells_per_cm3,  # noqa: RUF059 (read by outputs only)
        pdl1_tme,
        nu_CTLA4,
        k_clear,
        f_e0,  # noqa: RUF059 (read by initial_state only)
        s_chemo_r,
        ka_CS1,
        F_CS1,
        CL_CS1,
        V1_CS1,
        IC50_CS1,
        Imax_CS1,
        ka_CS2,
        F_CS2,
        CL_CS2,
        V1_CS2,
        IC50_CS2,
        Imax_CS2,
        k_CT_CTLA4,
        f_D_apo,
        s_T_r,
        pdl1_CTLA4,
    ) = p

    # -- exposures ------------------------------------------------------------------------
    c_IVIG = IVIG / V_IVIG
    fcrn = 1.0 + Emax_FcRn * c_IVIG / (EC50_FcRn + c_IVIG)
    o_PD1 = gamma_T * Ab_PD1_1 / V1_PD1 * 1000.0 / MW_PD1
    o_PD1 = o_PD1 / (o_PD1 + KD_PD1)
    o_PDL1 = gamma_T * Ab_PDL1_1 / V1_PDL1 * 1000.0 / MW_PDL1
    o_PDL1 = o_PDL1 / (o_PDL1 + KD_PDL1)
    o_CTLA4 = gamma_T * Ab_CTLA4_1 / V1_CTLA4 * 1000.0 / MW_CTLA4
    o_CTLA4 = o_CTLA4 / (o_CTLA4 + KD_CTLA4)
    o_mAb = gamma_T * Ab_mAb_1 / V1_mAb * 1000.0 / MW_mAb
    o_mAb = o_mAb / (o_mAb + KD_mAb)
    c_IL2 = nM_per_IU_IL2 * IL2_1 / (1000.0 * V1_IL2)
    c_IFN = IFN_1 / (1000.0 * V_IFN)
    e_IFN = c_IFN / (EC50_IFN + c_IFN)
    c1 = ch1_1 / V1_ch1
    c2 = ch2_1 / V1_ch2
    h1 = c1 / (EC50_ch1 + c1)
    h2 = c2 / (EC50_ch2 + c2)
    chemo_T = EmaxT_ch1 * h1 + EmaxT_ch2 * h2
    chemo_L = EmaxL_ch1 * h1 + EmaxL_ch2 * h2
    k1 = tk1_1 / V1_tk1
    k2 = tk2_1 / V1_tk2
    e1 = Imax_tk1 * k1 / (IC50_tk1 + k1)
    e2 = Imax_tk2 * k2 / (IC50_tk2 + k2)
    e_TKI = 1.0 - (1.0 - e1) * (1.0 - e2)
    e_r = 1.0 - (1.0 - Sr_tk1 * e1) * (1.0 - Sr_tk2 * e2)
    s1 = CS1_1 / V1_CS1
    s2 = CS2_1 / V1_CS2
    f_cs = (1.0 - Imax_CS1 * s1 / (IC50_CS1 + s1)) * (1.0 - Imax_CS2 * s2 / (IC50_CS2 + s2))  # steroid damping

    # -- tumour ---------------------------------------------------------------------------
    C = Cs + Cr + Ce
    g = kg * (1.0 - C / K_C)
    s_PDL1 = pdl1 + pdl1_tme + pdl1_CTLA4 * o_CTLA4
    # the guard keeps the generated Jacobian finite where there is no PD-L1 (d(b**n)/db is n b**n / b there)
    x = (s_PDL1 * (1.0 - o_PD1) * (1.0 - o_PDL1) / P50_PD1) ** n_PD1 if s_PDL1 > 0.0 else 0.0
    H_PD1 = x / (1.0 + x)
    kill_T = (k_CT + k_CT_CTLA4 * o_CTLA4) * TE / (K_TC * C + TE + K_TR * R + 1.0) * (1.0 - H_PD1)
    kill_CAR = k_CAR * a_CAR * CAR_E / (K_CAR * C + CAR_E + 1.0)
    kill_NK = (k_NK + k_ADCC * a_mAb * o_mAb * K_ADCC / (K_ADCC + C)) * N / N_ref
    kill_x = kill_CAR + kill_NK + chemo_T  # kill that does not need T-cell recognition
    kill = d_C + kill_T + kill_x
    apo = k_apo * e_TKI
    ifn = 1.0 - I_IFN * e_IFN
    grow_s = g * Cs * (1.0 - e_TKI) * ifn
    dy[0] = grow_s * (1.0 - mu_r) - (kill + apo) * Cs
    chemo_r = (1.0 - s_chemo_r) * chemo_T  # cytotoxic kill the resistant subclone escapes
    dy[1] = g * Cr * ifn * (1.0 - e_r) + mu_r * grow_s - (kill - (1.0 - s_T_r) * kill_T - chemo_r + k_apo * e_r) * Cr

    # -- priming, effectors, Tregs --------------------------------------------------------
    dy[2] = alpha_A * C / (C + b_A) * (1.0 + a_IFN * e_IFN) - mu_A * A
    dy[3] = -d_V * V
    apc = A + eta_V * m_V * V
    f_ctla4 = ((1.0 - phi_CTLA4 * (1.0 - o_CTLA4)) / (1.0 - phi_CTLA4)) ** nu_CTLA4
    prime = n_ref * tmb / tmb_ref * s_naive * apc / (apc + K_APC) * 2.0**N_gen * L / L_ss
    il2_E = c_IL2 / (c_IL2 + EC50_IL2_E)
    il2_R = c_IL2 / (c_IL2 + EC50_IL2_R)
    il2_N = c_IL2 / (c_IL2 + EC50_IL2_NK)
    dy[4] = (
        prime * f_ctla4 * f_cs
        + k_pro * il2_E * f_cs * TE
        - d_E * (1.0 + eps_PD1 * H_PD1) * TE
        - k_TR * TE * R / (TE + R + 1.0)
        - chemo_L * TE
    )
    b = CTLA4_per_Treg * o_CTLA4
    H_CTLA4 = b * b / (b * b + CTLA4_50 * CTLA4_50)
    dy[5] = rho_R * prime + k_pro * il2_R * R - d_R * R - k_ADCC_R * H_CTLA4 * N / N_ref * R - chemo_L * R

    # -- NK cells and blood lymphocytes ---------------------------------------------------
    dy[6] = d_N * (N_ss - N) + k_pro * il2_N * N - chemo_L * N
    dy[7] = (s_L + k_L * L) * (1.0 - L / L_ss) - chemo_L * L

    # -- CAR-T ----------------------------------------------------------------------------
    S = a_CAR * C / (a_CAR * C + K_Ag)
    dy[8] = (
        rho_CAR * S * K_gc / (K_gc + L + CAR_E / kappa_CAR) * CAR_E
        + theta_CAR * S * CAR_M
        - (alpha_CAR + k_EM + k_EX * S + chemo_L) * CAR_E
    )
    dy[9] = k_EM * CAR_E - theta_CAR * S * CAR_M - beta_CAR * CAR_M
    dy[10] = k_EX * S * CAR_E - d_X * CAR_X

    # -- pharmacokinetics -----------------------------------------------------------------
    dy[11] = -fcrn * CL_PD1 * Ab_PD1_1 / V1_PD1 - Q_PD1 * Ab_PD1_1 / V1_PD1 + Q_PD1 * Ab_PD1_2 / V2_PD1
    dy[12] = Q_PD1 * Ab_PD1_1 / V1_PD1 - Q_PD1 * Ab_PD1_2 / V2_PD1
    dy[13] = -fcrn * CL_PDL1 * Ab_PDL1_1 / V1_PDL1 - Q_PDL1 * Ab_PDL1_1 / V1_PDL1 + Q_PDL1 * Ab_PDL1_2 / V2_PDL1
    dy[14] = Q_PDL1 * Ab_PDL1_1 / V1_PDL1 - Q_PDL1 * Ab_PDL1_2 / V2_PDL1
    dy[15] = (
        -fcrn * CL_CTLA4 * Ab_CTLA4_1 / V1_CTLA4 - Q_CTLA4 * Ab_CTLA4_1 / V1_CTLA4 + Q_CTLA4 * Ab_CTLA4_2 / V2_CTLA4
    )
    dy[16] = Q_CTLA4 * Ab_CTLA4_1 / V1_CTLA4 - Q_CTLA4 * Ab_CTLA4_2 / V2_CTLA4
    dy[17] = -fcrn * CL_mAb * Ab_mAb_1 / V1_mAb - Q_mAb * Ab_mAb_1 / V1_mAb + Q_mAb * Ab_mAb_2 / V2_mAb
    dy[18] = Q_mAb * Ab_mAb_1 / V1_mAb - Q_mAb * Ab_mAb_2 / V2_mAb
    dy[19] = -CL_IVIG * c_IVIG
    dy[20] = -CL_IL2 * IL2_1 / V1_IL2 - Q_IL2 * IL2_1 / V1_IL2 + Q_IL2 * IL2_2 / V2_IL2
    dy[21] = Q_IL2 * IL2_1 / V1_IL2 - Q_IL2 * IL2_2 / V2_IL2
    dy[22] = -ka_IFN * IFN_0
    dy[23] = F_IFN * ka_IFN * IFN_0 - CL_IFN * IFN_1 / V_IFN
    dy[24] = -CL_ch1 * c1 - Q_ch1 * c1 + Q_ch1 * ch1_2 / V2_ch1
    dy[25] = Q_ch1 * c1 - Q_ch1 * ch1_2 / V2_ch1
    dy[26] = -CL_ch2 * c2 - Q_ch2 * c2 + Q_ch2 * ch2_2 / V2_ch2
    dy[27] = Q_ch2 * c2 - Q_ch2 * ch2_2 / V2_ch2
    dy[28] = -ka_tk1 * tk1_0
    dy[29] = F_tk1 * ka_tk1 * tk1_0 - CL_tk1 * k1 - Q_tk1 * k1 + Q_tk1 * tk1_2 / V2_tk1
    dy[30] = Q_tk1 * k1 - Q_tk1 * tk1_2 / V2_tk1
    dy[31] = -ka_tk2 * tk2_0
    dy[32] = F_tk2 * ka_tk2 * tk2_0 - CL_tk2 * k2 - Q_tk2 * k2 + Q_tk2 * tk2_2 / V2_tk2
    dy[33] = Q_tk2 * k2 - Q_tk2 * tk2_2 / V2_tk2

    # -- exposure accumulators (for the side-effect layer: short-lived drugs escape coarse output grids)
    dy[34] = chemo_L
    dy[35] = il2_E
    dy[36] = e_IFN

    # -- immune-escape cancer cells and the non-viable mass of the lesions ----------------
    dy[37] = g * Ce * (1.0 - e_TKI) * ifn - (d_C + kill_x + apo) * Ce
    dy[38] = (
        kill_T * (Cs + s_T_r * Cr)
        + kill_x * (Cs + Cr + Ce)
        - chemo_r * Cr
        + f_D_apo * (apo * (Cs + Ce) + k_apo * e_r * Cr)
        - k_clear * D
    )

    # -- corticosteroids (one-compartment oral PK per slot) ---------------------------------
    dy[39] = -ka_CS1 * CS1_0
    dy[40] = F_CS1 * ka_CS1 * CS1_0 - CL_CS1 * s1
    dy[41] = -ka_CS2 * CS2_0
    dy[42] = F_CS2 * ka_CS2 * CS2_0 - CL_CS2 * s2


CELLS_PER_CM3 = 1e9
"""Cancer cells per cm³ of tumour (classic 10⁹; 10⁸ argued for epithelial tumours, population.md §3.1)."""


# -- parameters ------------------------------------------------------------------------------

_POS = (0.0, 1e15)
_FRAC = (0.0, 1.0)


def _par(name: str, value: float, unit: str, source: str, description: str, bounds=_POS) -> Parameter:
    return Parameter(name, value, unit, source, bounds, description)


def _ab_slot(slot: str, variant: str, kd: float, kd_source: str, mw: float, mw_source: str, what: str):
    src = f"typical patient of the pk_two_compartment '{variant}' variant: {_pk2_source(variant)}"
    return (
        _par(f"CL_{slot}", _pk2(variant, "CL0"), "L/day", src, f"{what}: linear clearance (baseline, time-invariant)"),
        _par(f"V1_{slot}", _pk2(variant, "V1"), "L", src, f"{what}: central volume", (1e-3, 1e3)),
        _par(f"Q_{slot}", _pk2(variant, "Q"), "L/day", src, f"{what}: inter-compartmental clearance"),
        _par(f"V2_{slot}", _pk2(variant, "V2"), "L", src, f"{what}: peripheral volume", (1e-3, 1e3)),
        _par(f"KD_{slot}", kd, "nM", kd_source, f"{what}: dissociation constant for receptor occupancy", (1e-6, 1e6)),
        _par(f"MW_{slot}", mw, "kDa", mw_source, f"{what}: molecular weight (mg/L to nM)", (1.0, 1e4)),
    )


PARAMETERS = (
    # tumour
    _par(
        "kg",
        0.007,
        "1/day",
        f"{_P6}.6 k_C_growth, NSCLC (Usuda 1994 via popellab/SPQSP_IO); population.md §1.8 Popel NSCLC virtual-patient median, V",
        "intrinsic growth rate of cancer cells (plausible ranges belong to the virtual populations)",
        (0.0, 100.0),
    ),
    _par(
        "K_C",
        4.2e12,
        "cells",
        "population.md §3.1: QSP-IO carrying capacity (pi/6)(20 cm)^3 x 1e9 cells/mL (popellab/qspio), C",
        "carrying capacity of the tumour",
        (1.0, 1e15),
    ),
    _par(
        "d_C",
        1e-4,
        "1/day",
        f"{_P6}.6 k_C_death (Palsson 2013), V",
        "intrinsic death rate of cancer cells",
        (0.0, 10.0),
    ),
    _par(
        "mu_r",
        1e-7,
        "1/division",
        "Bozic I et al., eLife 2013;2:e00747 (1e-9 per bp per division x ~100 resistance sites), R",
        "probability that a division of a sensitive cell gives a targeted-therapy-resistant cell",
        _FRAC,
    ),
    _par(
        "k_CT",
        0.9,
        "1/day",
        f"{_P6}.6 k_C_Tcell (Robertson-Tessi 2012), V",
        "maximal kill rate of cancer cells by effector T cells",
        (0.0, 100.0),
    ),
    _par(
        "K_TC",
        1.2,
        "1",
        f"{_P6}.6 K_T_C (Robertson-Tessi 2012), V",
        "cancer:effector ratio constant of T-cell kill",
        (1e-6, 1e6),
    ),
    _par(
        "K_TR",
        11.0,
        "1",
        f"{_P6}.5 K_T_Treg (Robertson-Tessi 2012), V",
        "weight of Tregs in the T-cell kill denominator",
        (0.0, 1e6),
    ),
    _par(
        "pdl1",
        0.5,
        "1",
        "patient covariate: PD-L1 tumour proportion score as a fraction (population.md §1.6; default 50 %, U)",
        "PD-L1 expression of the tumour (TPS, 0-1)",
        _FRAC,
    ),
    _par(
        "P50_PD1",
        0.1,
        "1",
        f"{_U}; plays the role of PD1_50 (Jafarnejad 2019, {_P6}.3) on the TPS scale",
        "PD-L1 engagement giving half-maximal suppression of killing",
        (1e-6, 1e3),
    ),
    _par(
        "n_PD1",
        2.0,
        "1",
        f"{_P6}.3 Hill n_PD1 (estimated in {_POP}), V",
        "Hill coefficient of PD-1 suppression",
        (0.5, 10.0),
    ),
    _par(
        "gamma_T",
        0.522,
        "1",
        f"{_P6}.2 gamma_T, all antibodies (Wang 2019), V",
        "tumour interstitial/plasma antibody concentration ratio",
        (0.0, 1.0),
    ),
    # priming
    _par(
        "tmb",
        8.0,
        "mut/Mb",
        "patient covariate: tumour mutational burden (population.md §1.6; default = tmb_ref)",
        "tumour mutational burden",
        (0.0, 1e4),
    ),
    _par(
        "tmb_ref",
        8.0,
        "mut/Mb",
        "population.md §1.6 NSCLC median panel TMB 6-8 mut/Mb (U), the tumour type of n_ref",
        "TMB at which the tumour has n_ref antigen-specific clones",
        (1e-3, 1e4),
    ),
    _par(
        "n_ref",
        92.0,
        "clones",
        f"{_P6}.4 tumour-specific CD8 clones, NSCLC (Forde 2018 via {_POP}), V",
        "tumour-specific CD8 clones at tmb_ref (clones scale with TMB, U)",
        (0.0, 1e6),
    ),
    _par(
        "s_naive",
        31.5,
        "cells/(clone*day)",
        f"C: thymic CD8 output 3.5e7 cells/day (Bains 2009) / TCR diversity 1.11e6 (Robins 2009), {_P6}.4 V",
        "naive precursors per clone entering priming per day",
    ),
    _par(
        "N_gen",
        15.0,
        "generations",
        f"U within {_P6}.4 Marchingo 2014 (N0 2 + N_costim 3 + N_IL2 11 = up to 16 divisions, V): 15 puts "
        "the TMB 12 / PD-L1 60 % patient near the response threshold of anti-PD-1",
        "divisions of a primed CD8 T cell (burst 2^N_gen)",
        (0.0, 30.0),
    ),
    _par(
        "K_APC",
        5026.0,
        "cells",
        f"{_U}; set to alpha_A/mu_A, the saturated APC level",
        "mature APCs for half-maximal priming",
        (1e-6, 1e15),
    ),
    _par("alpha_A", 1161.0, "cells/day", _TSUR, "APC activation at saturating tumour antigen"),
    _par("b_A", 37040.0, "cells", _TSUR, "cancer cells for half-maximal APC activation", (1e-6, 1e15)),
    _par("mu_A", 0.231, "1/day", _TSUR, "mature APC death", (0.0, 100.0)),
    _par(
        "phi_CTLA4",
        0.7,
        "1",
        f"{_P6}.3 CD28_CD8X_50: 70 % co-stimulation inhibition at baseline CTLA-4 (Parry 2005, estimated in {_POP}), V",
        "fraction of CD28 co-stimulation blocked by CTLA-4 without antibody",
        (0.0, 0.99),
    ),
    _par("d_E", 0.1777, "1/day", _TSUR + " (mu_eff)", "effector CD8 T-cell death", (0.0, 100.0)),
    _par(
        "eps_PD1",
        0.111,
        "1",
        "C from Tsur 2019 Table 1: pembrolizumab multiplies effector loss by 0.9 (b_pem), i.e. 1/(1 + eps) = 0.9 at full engagement, V",
        "extra effector loss (exhaustion) at full PD-1 engagement",
        (0.0, 100.0),
    ),
    _par(
        "k_pro",
        1.0,
        "1/day",
        f"{_P6}.4 activated T proliferation (Marchingo 2014), V",
        "maximal IL-2-driven proliferation of T and NK cells",
        (0.0, 100.0),
    ),
    _par(
        "k_TR",
        0.1,
        "1/day",
        f"{_P6}.5 k_Treg (estimated in {_POP}), V",
        "Treg-mediated suppression of effector T cells",
        (0.0, 100.0),
    ),
    _par(
        "rho_R",
        5.0 / 23.0,
        "1",
        f"C: {_P6}.4 maximal activation rates by mAPC, CD4 (Treg) 5/day vs CD8 23/day (Robertson-Tessi 2012; De Boer & Perelson 1995), V",
        "Treg priming relative to effector priming",
        (0.0, 100.0),
    ),
    _par("d_R", 0.1777, "1/day", f"{_U}; taken equal to d_E", "Treg death", (0.0, 100.0)),
    _par(
        "k_ADCC_R",
        0.1,
        "1/day",
        f"{_P6}.5 k_CTLA4_ADCC (Richards 2008), V; 0.289 fitted in SPQSP_IO_TNBC",
        "maximal anti-CTLA-4 ADCC depletion of Tregs (at baseline NK)",
        (0.0, 100.0),
    ),
    _par("CTLA4_per_Treg", 5000.0, "molecules", f"{_P6}.5 (Jansson 2005), V", "CTLA-4 molecules per Treg"),
    _par(
        "CTLA4_50",
        1000.0,
        "molecules",
        f"{_P6}.5 Treg_CTLA4_50 (estimated in {_POP}), V",
        "bound CTLA-4 per Treg for half-maximal depletion",
        (1e-6, 1e15),
    ),
    _par(
        "EC50_IL2_E",
        0.32,
        "nM",
        f"{_P6}.7 (Marchingo 2014), V",
        "IL-2 for half-maximal effector proliferation",
        (1e-9, 1e6),
    ),
    _par(
        "EC50_IL2_R",
        0.32,
        "nM",
        f"{_P6}.5: the value encoded in the TNBC file of {_POP}, U; 0.0032 (Wang & Smith 1987, the popellab/qspio "
        "value) is the other encoded one, closer to the high-affinity CD25 receptor; 0.32 reproduces Atkins 1999 "
        "high-dose IL-2 ORR 16 % and CR 6 % (clinical.md §1.4), 0.0032 gives 1-2 % (docs/trials.md)",
        "IL-2 for half-maximal Treg proliferation",
        (1e-9, 1e6),
    ),
    _par(
        "EC50_IL2_NK",
        1.0,
        "nM",
        "pharmacology.md §3.1: intermediate-affinity IL-2Rbetagamma about 1 nM, R",
        "IL-2 for half-maximal NK proliferation",
        (1e-9, 1e6),
    ),
    _par(
        "nM_per_IU_IL2",
        3.99e-3,
        "nM/(IU/mL)",
        "C: 16.4 MIU/mg (Proleukin label, pharmacology.md §3.1, C) and 15.3 kDa (R)",
        "IL-2 molar concentration per IU/mL",
        (1e-9, 1.0),
    ),
    # NK cells and lymphocytes
    _par(
        "N_ss",
        250.0,
        "cells/uL",
        "normal adult blood NK count 90-600 cells/uL (reference ranges), R",
        "baseline blood NK cells",
        (1e-6, 1e6),
    ),
    _par(
        "N_ref",
        250.0,
        "cells/uL",
        "normal adult blood NK count (as N_ss), R; the NK level at which k_NK, k_ADCC and k_ADCC_R apply",
        "reference NK count of the NK-dependent kill rates",
        (1e-6, 1e6),
    ),
    _par(
        "d_N",
        0.07,
        "1/day",
        "NK half-life about 10 days (Zhang Y et al., J Immunol 2007;178:4297), R",
        "NK turnover",
        (0.0, 100.0),
    ),
    _par("k_NK", 0.001, "1/day", _U, "innate NK kill of cancer cells at baseline NK", (0.0, 100.0)),
    _par(
        "k_ADCC",
        0.1,
        "1/day",
        f"{_U}; the Treg ADCC rate of Richards 2008 ({_P6}.5) applied to antibody-coated cancer cells",
        "maximal ADCC kill at full target occupancy and baseline NK",
        (0.0, 100.0),
    ),
    _par(
        "K_ADCC",
        1e10,
        "cells",
        f"{_U}; NK cells have a finite killing capacity, so the ADCC rate per cancer cell falls as the antibody-coated "
        "target pool grows (about 10 cm3 of tumour halves it)",
        "cancer cells at which the ADCC rate per cell is halved",
        (1e-6, 1e15),
    ),
    _par(
        "a_mAb",
        1.0,
        "1",
        "patient covariate: fraction of cancer cells bearing the tumour-targeting antibody's antigen (CD20, HER2); default 1",
        "target-antigen expression for ADCC",
        _FRAC,
    ),
    _par(
        "L_ss",
        1500.0,
        "cells/uL",
        "normal adult absolute lymphocyte count 1000-4800 cells/uL, R",
        "baseline blood lymphocytes",
        (1e-6, 1e6),
    ),
    _par(
        "s_L",
        1.0,
        "cells/(uL*day)",
        f"{_U}; lymphocyte output independent of the blood count (thymus, marrow) that restarts recovery from deep lymphopenia",
        "lymphocyte supply",
        (0.0, 1e6),
    ),
    _par(
        "k_L",
        0.05,
        "1/day",
        f"{_U}; homeostatic expansion in lymphopenia: blood lymphocytes recover from about 6 cells/uL after "
        "fludarabine/cyclophosphamide over 1-3 months",
        "homeostatic lymphocyte proliferation rate (logistic towards L_ss)",
        (0.0, 100.0),
    ),
    _par(
        "rho_CAR",
        0.889,
        "1/day",
        f"C: ln(foldx 3900)/Tmax 9.3 d, {_STEIN}",
        "maximal antigen-driven CAR-T expansion rate",
        (0.0, 100.0),
    ),
    _par(
        "K_gc",
        50.0,
        "cells/uL",
        f"{_U}: lymphocyte-equivalent count halving the homeostatic (IL-7/IL-15) niche for CAR-T cells (Gattinoni L et "
        "al., J Exp Med 2005;202:907, R); with it a 2e6 cells/kg dose after fludarabine/cyclophosphamide peaks about "
        "9 days after infusion (Stein 2019 Tmax 9.3 days) and no expansion occurs without lymphodepletion",
        "niche constant of CAR-T expansion (endogenous lymphocytes and CAR-T cells compete, as in Kimmel 2021)",
        (1e-6, 1e6),
    ),
    _par(
        "kappa_CAR",
        5e8,
        "cells/(cells/uL)",
        "C: total-body cells per blood cell/uL, the factor between Kimmel 2021 Table 1 (cells) and BIOMD0000001041 "
        "(cells/uL), models.md §8.2",
        "CAR-T cells in the body per CAR-T cell/uL of blood",
        (1.0, 1e15),
    ),
    _par("K_Ag", 1e8, "cells", _U, "antigen-bearing cells for half-maximal CAR-T stimulation", (1e-6, 1e15)),
    _par(
        "a_CAR",
        1.0,
        "1",
        "patient covariate: fraction of cancer cells bearing the CAR antigen (CD19); default 1",
        "CAR target-antigen expression",
        _FRAC,
    ),
    _par(
        "alpha_CAR", 0.16, "1/day", f"{_STEIN} (alpha, rapid contraction)", "CAR-T effector contraction", (0.0, 100.0)
    ),
    _par(
        "k_EM",
        0.0013,
        "1/day",
        f"C: alpha x FB/(1 - FB) with FB = 0.0079, {_STEIN}",
        "effector to memory CAR-T differentiation",
        (0.0, 100.0),
    ),
    _par(
        "beta_CAR", 0.0032, "1/day", f"{_STEIN} (beta, slow persistence decline)", "memory CAR-T decline", (0.0, 100.0)
    ),
    _par("theta_CAR", 0.01, "1/day", _U, "re-activation of memory CAR-T on antigen", (0.0, 100.0)),
    _par(
        "k_EX",
        0.05,
        "1/day",
        f"{_U}; exhaustion under chronic antigen (order of the T-cell exhaustion rate 0.1/day, {_P6}.4)",
        "CAR-T exhaustion at saturating antigen",
        (0.0, 100.0),
    ),
    _par("d_X", 0.1, "1/day", _U, "death of exhausted CAR-T cells", (0.0, 100.0)),
    _par("k_CAR", 0.9, "1/day", f"{_U}; equal to k_CT", "maximal CAR-T kill rate per cancer cell", (0.0, 100.0)),
    _par(
        "K_CAR",
        0.05,
        "1",
        f"{_U}; about 18 kills per CAR-T per day at excess antigen, the order implied by Mueller-Schoell 2021 Vmax5 (pharmacology.md §4.3)",
        "cancer:CAR-T ratio constant of CAR-T kill",
        (1e-9, 1e6),
    ),
    # vaccine
    _par("d_V", 0.231, "1/day", f"{_U}; equal to the APC death rate mu_A", "loss of vaccine-loaded APCs", (0.0, 100.0)),
    _par(
        "eta_V",
        1e-3,
        "1",
        f"{_U}; a few per cent of injected DCs reach lymph nodes (de Vries IJ et al., Cancer Res 2005;65:5525, R) and potency is lower than endogenous mature APCs",
        "priming efficiency of a vaccine APC relative to an endogenous mature APC",
        _FRAC,
    ),
    _par(
        "m_V",
        1.0,
        "1",
        "patient covariate: match between vaccine antigen and tumour (e.g. PAP for sipuleucel-T in prostate cancer); default 1",
        "vaccine antigen match",
        _FRAC,
    ),
    # antibody slots
    *_ab_slot(
        "PD1",
        "nivolumab",
        2.6,
        "nivolumab KD (Wang 2014 as encoded in popellab/qspio; pharmacology.md §6.3), V",
        143.6,
        "nivolumab (HanwenWang95/QSPIO-TNBC schedule_dosing.m), V",
        "anti-PD-1 slot",
    ),
    *_ab_slot(
        "PDL1",
        "atezolizumab",
        0.4,
        "atezolizumab KD (Wang 2014 as encoded in HanwenWang95/QSPIO-TNBC), V",
        145.0,
        "atezolizumab, pharmacology.md §1.3, R",
        "anti-PD-L1 slot",
    ),
    *_ab_slot(
        "CTLA4",
        "ipilimumab",
        18.2,
        "ipilimumab KD (Wang 2014), pharmacology.md §6.3, V",
        148.6,
        "ipilimumab (HanwenWang95/QSPIO-TNBC), V",
        "anti-CTLA-4 slot",
    ),
    *_ab_slot(
        "mAb",
        "rituximab",
        8.0,
        "rituximab KD, original Rituxan monograph (pharmacology.md §2.1), V",
        145.0,
        "rituximab, pharmacology.md §2.1, V",
        "tumour-targeting antibody slot (ADCC)",
    ),
    _par(
        "CL_IVIG",
        0.162,
        "L/day",
        "C: ln 2 x V_IVIG / 30 days (infused IgG t1/2 25-35 days, pharmacology.md §2.3), R",
        "IVIG clearance",
    ),
    _par(
        "V_IVIG",
        7.0,
        "L",
        "IgG distribution volume about 0.1 L/kg (plasma IgG doubles to triples after 2 g/kg, pharmacology.md §2.3), R",
        "IVIG distribution volume",
        (1e-3, 1e3),
    ),
    _par(
        "Emax_FcRn",
        1.0,
        "1",
        f"{_U}; FcRn saturation accelerates IgG catabolism (Hansen & Balthasar 2002, pharmacology.md §2.3, R)",
        "maximal relative rise of antibody clearance with IVIG",
        (0.0, 100.0),
    ),
    _par(
        "EC50_FcRn",
        10000.0,
        "mg/L",
        "endogenous plasma IgG 7-16 g/L (StatPearls, pharmacology.md §2.3), V; used as the IVIG level doubling total IgG, U",
        "IVIG concentration for half of Emax_FcRn",
        (1e-6, 1e9),
    ),
    # cytokines
    _par(
        "CL_IL2",
        172.8,
        "L/day",
        "aldesleukin typical patient of pk_compartmental (Konrad 1990 clearance 120 mL/min; label 13/85-min phases), C",
        "aldesleukin clearance",
    ),
    _par(
        "V1_IL2",
        2.76923,
        "L",
        "aldesleukin typical patient of pk_compartmental (Konrad 1990 clearance 120 mL/min; label 13/85-min phases), C",
        "aldesleukin central volume",
        (1e-3, 1e3),
    ),
    _par(
        "Q_IL2",
        32.3263,
        "L/day",
        "aldesleukin typical patient of pk_compartmental (Konrad 1990 clearance 120 mL/min; label 13/85-min phases), C",
        "aldesleukin inter-compartmental clearance",
    ),
    _par(
        "V2_IL2",
        2.23732,
        "L",
        "aldesleukin typical patient of pk_compartmental (Konrad 1990 clearance 120 mL/min; label 13/85-min phases), C",
        "aldesleukin peripheral volume",
        (1e-3, 1e3),
    ),
    _par(
        "ka_IFN",
        4.0,
        "1/day",
        "C: subcutaneous peak 3-12 h (Intron A label, pharmacology.md §3.2), V",
        "interferon-alpha SC absorption rate",
    ),
    _par(
        "F_IFN",
        0.9,
        "1",
        "Intron A label SC bioavailability about 90 % (pharmacology.md §3.2), R",
        "interferon-alpha SC bioavailability",
        _FRAC,
    ),
    _par(
        "CL_IFN",
        250.0,
        "L/day",
        "C: t1/2 about 2 h (Intron A label, pharmacology.md §3.2, V) with V_IFN",
        "interferon-alpha clearance",
    ),
    _par(
        "V_IFN",
        30.0,
        "L",
        "interferon-alpha distribution volume about 0.4 L/kg, R",
        "interferon-alpha volume",
        (1e-3, 1e3),
    ),
    _par(
        "EC50_IFN",
        10.0,
        "IU/mL",
        f"{_U}; in-vitro antiproliferative IC50 of IFN-alpha on melanoma lines spans 10-1000 IU/mL, R",
        "IFN-alpha for half-maximal effect",
        (1e-6, 1e9),
    ),
    _par("I_IFN", 0.5, "1", _U, "maximal antiproliferative effect of IFN-alpha", _FRAC),
    _par(
        "a_IFN",
        1.0,
        "1",
        f"{_U}; IFN-alpha matures dendritic cells and up-regulates MHC-I (pharmacology.md §3.2, V qualitative)",
        "maximal rise of APC activation with IFN-alpha",
        (0.0, 100.0),
    ),
)

_SLOT = "empty-slot default: the drug library fills it from the drug's popPK model and qsp section; no effect while the slot's Emax/Imax is 0"


def _chemo_slot(slot: str):
    return (
        _par(f"CL_{slot}", 50.0, "L/day", _SLOT, f"cytotoxic slot {slot}: clearance"),
        _par(f"V1_{slot}", 10.0, "L", _SLOT, f"cytotoxic slot {slot}: central volume", (1e-3, 1e4)),
        _par(
            f"Q_{slot}",
            0.0,
            "L/day",
            _SLOT,
            f"cytotoxic slot {slot}: inter-compartmental clearance (0: one compartment)",
        ),
        _par(f"V2_{slot}", 10.0, "L", _SLOT, f"cytotoxic slot {slot}: peripheral volume", (1e-3, 1e4)),
        _par(
            f"EC50_{slot}",
            1.0,
            "mg/L",
            _SLOT,
            f"cytotoxic slot {slot}: concentration of half-maximal kill",
            (1e-9, 1e9),
        ),
        _par(
            f"EmaxT_{slot}",
            0.0,
            "1/day",
            _SLOT,
            f"cytotoxic slot {slot}: maximal kill rate of cancer cells",
            (0.0, 100.0),
        ),
        _par(
            f"EmaxL_{slot}",
            0.0,
            "1/day",
            _SLOT,
            f"cytotoxic slot {slot}: maximal kill rate of lymphocytes, NK, T and CAR-T cells",
            (0.0, 100.0),
        ),
    )


def _tki_slot(slot: str):
    return (
        _par(f"ka_{slot}", 10.0, "1/day", _SLOT, f"targeted slot {slot}: oral absorption rate"),
        _par(f"F_{slot}", 1.0, "1", _SLOT, f"targeted slot {slot}: bioavailability", _FRAC),
        _par(f"CL_{slot}", 100.0, "L/day", _SLOT, f"targeted slot {slot}: apparent clearance"),
        _par(f"V1_{slot}", 100.0, "L", _SLOT, f"targeted slot {slot}: apparent central volume", (1e-3, 1e5)),
        _par(
            f"Q_{slot}",
            0.0,
            "L/day",
            _SLOT,
            f"targeted slot {slot}: inter-compartmental clearance (0: one compartment)",
        ),
        _par(f"V2_{slot}", 100.0, "L", _SLOT, f"targeted slot {slot}: apparent peripheral volume", (1e-3, 1e5)),
        _par(
            f"IC50_{slot}",
            1.0,
            "mg/L",
            _SLOT,
            f"targeted slot {slot}: concentration of half-maximal growth inhibition",
            (1e-9, 1e9),
        ),
        _par(f"Imax_{slot}", 0.0, "1", _SLOT, f"targeted slot {slot}: maximal growth inhibition", _FRAC),
        _par(
            f"Sr_{slot}",
            0.0,
            "1",
            _SLOT,
            f"targeted slot {slot}: share of its inhibition kept on the resistant subclone",
            _FRAC,
        ),
    )


def _steroid_slot(slot: str):
    return (
        _par(f"ka_{slot}", 24.0, "1/day", _SLOT, f"corticosteroid slot {slot}: oral absorption rate"),
        _par(f"F_{slot}", 1.0, "1", _SLOT, f"corticosteroid slot {slot}: bioavailability", _FRAC),
        _par(f"CL_{slot}", 100.0, "L/day", _SLOT, f"corticosteroid slot {slot}: clearance"),
        _par(f"V1_{slot}", 50.0, "L", _SLOT, f"corticosteroid slot {slot}: volume of distribution", (1e-3, 1e5)),
        _par(
            f"IC50_{slot}",
            1.0,
            "mg/L",
            _SLOT,
            f"corticosteroid slot {slot}: plasma concentration of half-maximal inhibition of T-cell priming and "
            "proliferation",
            (1e-12, 1e9),
        ),
        _par(
            f"Imax_{slot}",
            0.0,
            "1",
            _SLOT,
            f"corticosteroid slot {slot}: maximal inhibition of T-cell priming and proliferation",
            _FRAC,
        ),
    )


PARAMETERS = (
    *PARAMETERS,
    *_chemo_slot("ch1"),
    *_chemo_slot("ch2"),
    *_tki_slot("tk1"),
    *_tki_slot("tk2"),
    _par(
        "k_apo",
        0.02,
        "1/day",
        f"{_U}; tumour half-life about 5 weeks on BRAF/MEK inhibition (order of the TGI shrinkage rates, population.md §1.8)",
        "apoptosis of sensitive cells at full targeted-therapy effect (of resistant ones at their share Sr of it)",
        (0.0, 100.0),
    ),
    _par(
        "n_lesions",
        1.0,
        "lesions",
        "patient covariate: number of equal spherical target lesions (population.md §3.3); read only by outputs",
        "target lesions sharing the tumour (for the sum of diameters)",
        (1.0, 10.0),
    ),
    _par(
        "f_r0",
        1e-3,
        "1",
        "U: chosen so that, at the default intrinsic growth rate (before growth_rate became the net growth of "
        "the untreated tumour), dabrafenib + trametinib progressed after about 11 months (COMBI-d median PFS 11.0 "
        "months, clinical.md, R); with the melanoma population the COMBI-d spec no longer reproduces it "
        "(docs/validation.md), a calibration target; resistant subclones pre-exist before BRAF/MEK or EGFR "
        "therapy (Diaz LA et al., Nature 2012;486:537, R). The Luria-Delbruck expectation mu_r ln C (about 2.5e-6) "
        "ignores non-genetic and multi-pathway resistance.",
        "fraction of cancer cells resistant to targeted therapy before treatment; read only by initial_state",
        (0.0, 1.0),
    ),
    _par(
        "cells_per_cm3",
        CELLS_PER_CM3,
        "cells/cm3",
        "classic 1e9 cells/cm3 (Del Monte U, Cell Cycle 2009;8:505; 1e8 argued for epithelial tumours), population.md §3.1, V",
        "cancer-cell density converting cells to volume; read only by outputs and patient()",
        (1e6, 1e10),
    ),
    _par(
        "pdl1_tme",
        0.0,
        "1",
        "U: PD-L1 on tumour-infiltrating immune and myeloid cells, which the tumour proportion score does not "
        "count (adaptive, IFN-gamma-induced expression; the immune-cell score of SP142 and the combined positive "
        "score exist for this reason, R). Anti-PD-1 benefits patients with PD-L1-negative melanoma (CheckMate 067 "
        "nivolumab ORR 41 % at tumour PD-L1 < 5 % vs 58 % at >= 5 %, Larkin 2015, R). Default 0 (tumour PD-L1 only); "
        "a patient-level parameter of the virtual populations",
        "PD-L1 engagement from non-tumour cells, on the TPS scale (added to pdl1 in the PD-1 axis)",
        (0.0, 10.0),
    ),
    _par(
        "nu_CTLA4",
        1.0,
        "1",
        "U: how priming scales with the CD28 co-stimulation that CTLA-4 blockade frees (1 = proportional, the "
        "reading of the Popel-lab CD28/CTLA-4 competition; a calibration target of the virtual-trial layer)",
        "exponent of the co-stimulation factor of priming, F_CTLA4 = ((1 - phi (1 - O))/(1 - phi))^nu",
        (0.0, 5.0),
    ),
    _par(
        "k_clear",
        0.1,
        "1/day",
        "popellab/qspio k_cell_clear 0.1/day, dead-cell clearance from the tumour compartment ('estimated', "
        "V code; population.md §3.1 QSP-IO tumour volume counts dead cells C_x). Residual masses after "
        "immunotherapy can persist for months without viable tumour, so virtual populations draw slower values "
        "(U)",
        "clearance of non-viable (killed) cells from the lesions",
        (1e-6, 100.0),
    ),
    _par(
        "f_e0",
        0.0,
        "1",
        "U: cancer cells that escape T-cell recognition (antigen-presentation or interferon-signalling loss: "
        "B2M, JAK1/2; Zaretsky JM et al., NEJM 2016;375:819, acquired resistance to anti-PD-1, R) before "
        "treatment; default 0, a patient-level parameter of the virtual populations",
        "fraction of cancer cells escaping T-cell killing before treatment; read only by initial_state",
        _FRAC,
    ),
    _par(
        "s_chemo_r",
        1.0,
        "1",
        "U: default 1, the resistant subclone resists targeted therapy only; 0 makes it multidrug-resistant, "
        "resistance to cytotoxic drugs pre-existing by spontaneous mutation as in the Goldie-Coldman hypothesis "
        "(Goldie JH, Coldman AJ, Cancer Treat Rep 1979;63:1727, R); a choice of each tumour type's calibration",
        "cytotoxic kill of the resistant subclone Cr relative to sensitive cells",
        (0.0, 1.0),
    ),
    *_steroid_slot("CS1"),
    *_steroid_slot("CS2"),
    _par(
        "k_CT_CTLA4",
        0.0,
        "1/day",
        "U: T-cell kill that CTLA-4 blockade adds by priming new tumour-specific clones. Anti-CTLA-4 broadens the "
        "melanoma-reactive CD8 T-cell response (new reactivities in 40 patients, P = 0.0009) without boosting the "
        "pre-existing ones (P = 0.74): Kvistborg P et al., Sci Transl Med 2014;6:254ra128 (abstract, V). The new "
        "clones recognise other antigens, so a patient's gain need not follow their pre-existing kill k_CT: the "
        "combination's benefit in CheckMate 067 is that of independent drug action (Palmer AC et al., Clin Cancer "
        "Res 2022;28:368, abstract, V). The form (additive, proportional to occupancy) is chosen here; default 0 "
        "(CTLA-4 blockade acts through priming and Treg depletion only), a patient-level parameter of the virtual "
        "populations",
        "maximal T-cell kill rate per cancer cell added at full CTLA-4 occupancy (k_CT + k_CT_CTLA4 O_CTLA4)",
        (0.0, 1000.0),
    ),
    _par(
        "f_D_apo",
        1.0,
        "1",
        "U: default 1, every cell killed by targeted-therapy apoptosis stays in the lesion as non-viable mass "
        "cleared at k_clear, as the immune-killed mass is. Apoptotic cells are removed by phagocytes in a rapid, "
        "efficient, high-capacity process (Elliott MR, Ravichandran KS, The dynamics of apoptotic cell clearance, "
        "Dev Cell 2016;38:147, abstract V, venue R), so a share below 1 is fitted where a targeted therapy's "
        "shrinkage is a target (the combi_d calibration)",
        "share of the cells killed by targeted-therapy apoptosis (k_apo E_TKI; k_apo E_r on the resistant "
        "subclone) that join the non-viable mass D; the rest is cleared at once",
        (0.0, 1.0),
    ),
    _par(
        "s_T_r",
        1.0,
        "1",
        "U: default 1, the subclone resistant to targeted therapy is as visible to T cells as the sensitive cells. "
        "Melanomas progressing on MAPK inhibitors showed CD8 T-cell deficiency or exhaustion and loss of antigen "
        "presentation in half of the cases (Hugo W et al., Cell 2015;162:1271, abstract V), and relapses after "
        "targeted therapy are cross-resistant to immunotherapy through a cancer-cell-instructed immunosuppressive "
        "microenvironment driven by the reactivated MAPK pathway (Haas L et al., Nat Cancer 2021;2:693, abstract "
        "V): 0 for such a subclone; a two-component mixture over patients (share carrying 0) in the combi_d "
        "calibration",
        "T-cell kill of the targeted-therapy-resistant subclone Cr relative to sensitive cells",
        (0.0, 1.0),
    ),
    _par(
        "pdl1_CTLA4",
        0.0,
        "1",
        "U: PD-L1 induced during CTLA-4 blockade (adaptive resistance). In prostate cancer, ipilimumab-treated "
        "tumours carried more PD-L1 and VISTA on macrophage subsets than untreated ones (Gao J et al., Nat Med "
        "2017;23:551, abstract, V); PD-L1 in melanoma follows the interferon-gamma of infiltrating CD8 T cells "
        "(Spranger S et al., Sci Transl Med 2013;5:200ra116, R). Taken here as PD-L1 on infiltrating cells (the "
        "scale of pdl1_tme) added in proportion to CTLA-4 occupancy, a stand-in for the induction by the response "
        "the blockade starts (not a function of the effector cells): it suppresses all T-cell kill, pre-existing "
        "and newly primed clones alike, and raises effector exhaustion (eps_PD1) unless PD-1 or PD-L1 is blocked "
        "too, so that ipilimumab's gain depends on PD-1 blockade. Its transfer from prostate cancer to melanoma "
        "and the form are chosen here; default 0",
        "PD-L1 added at full CTLA-4 occupancy",
        (0.0, 10.0),
    ),
)

STATES = (
    State("Cs", "cells", "cancer cells sensitive to targeted therapy"),
    State("Cr", "cells", "cancer cells resistant to targeted therapy (and to cytotoxic drugs as s_chemo_r sets)"),
    State("A", "cells", "mature antigen-presenting cells carrying tumour antigen"),
    State("V", "cells", "vaccine-loaded APCs (sipuleucel-T or dendritic-cell vaccine cells)"),
    State("TE", "cells", "tumour-specific effector CD8 T cells in the tumour"),
    State("R", "cells", "regulatory T cells in the tumour"),
    State("N", "cells/uL", "blood NK cells"),
    State("L", "cells/uL", "blood lymphocytes (absolute lymphocyte count)"),
    State("CAR_E", "cells", "CAR-T effector cells"),
    State("CAR_M", "cells", "CAR-T memory cells"),
    State("CAR_X", "cells", "exhausted CAR-T cells"),
    State("Ab_PD1_1", "mg", "anti-PD-1 antibody, central", log=False),
    State("Ab_PD1_2", "mg", "anti-PD-1 antibody, peripheral", log=False),
    State("Ab_PDL1_1", "mg", "anti-PD-L1 antibody, central", log=False),
    State("Ab_PDL1_2", "mg", "anti-PD-L1 antibody, peripheral", log=False),
    State("Ab_CTLA4_1", "mg", "anti-CTLA-4 antibody, central", log=False),
    State("Ab_CTLA4_2", "mg", "anti-CTLA-4 antibody, peripheral", log=False),
    State("Ab_mAb_1", "mg", "tumour-targeting antibody, central", log=False),
    State("Ab_mAb_2", "mg", "tumour-targeting antibody, peripheral", log=False),
    State("IVIG", "mg", "intravenous immunoglobulin", log=False),
    State("IL2_1", "IU", "aldesleukin, central", log=False),
    State("IL2_2", "IU", "aldesleukin, peripheral", log=False),
    State("IFN_0", "IU", "interferon-alpha, subcutaneous depot", log=False),
    State("IFN_1", "IU", "interferon-alpha, central", log=False),
    State("ch1_1", "mg", "cytotoxic slot 1, central", log=False),
    State("ch1_2", "mg", "cytotoxic slot 1, peripheral", log=False),
    State("ch2_1", "mg", "cytotoxic slot 2, central", log=False),
    State("ch2_2", "mg", "cytotoxic slot 2, peripheral", log=False),
    State("tk1_0", "mg", "targeted slot 1, oral depot", log=False),
    State("tk1_1", "mg", "targeted slot 1, central", log=False),
    State("tk1_2", "mg", "targeted slot 1, peripheral", log=False),
    State("tk2_0", "mg", "targeted slot 2, oral depot", log=False),
    State("tk2_1", "mg", "targeted slot 2, central", log=False),
    State("tk2_2", "mg", "targeted slot 2, peripheral", log=False),
    State("X_chemo", "day", "cumulative cytotoxic lymphocyte kill, integral of E_chemo^L dt (driver-days)", log=False),
    State("X_IL2", "day", "cumulative IL-2 effector drive, integral of c/(c + EC50_IL2_E) dt (driver-days)", log=False),
    State("X_IFN", "day", "cumulative IFN-alpha drive, integral of c/(c + EC50_IFN) dt (driver-days)", log=False),
    State("Ce", "cells", "cancer cells escaping T-cell recognition (killed by NK cells, CAR-T and drugs only)"),
    State("D", "cells", "non-viable (killed) cancer cells still in the lesions, cleared at k_clear"),
    State("CS1_0", "mg", "corticosteroid slot 1, oral depot", log=False),
    State("CS1_1", "mg", "corticosteroid slot 1, central", log=False),
    State("CS2_0", "mg", "corticosteroid slot 2, oral depot", log=False),
    State("CS2_1", "mg", "corticosteroid slot 2, central", log=False),
)

_PNAMES = tuple(p.name for p in PARAMETERS)
_SNAMES = tuple(s.name for s in STATES)


def tumour_cells(sld_mm: float, n_lesions: int = 1, cells_per_cm3: float = CELLS_PER_CM3) -> float:
    """Cancer cells in ``n_lesions`` equal spheres whose diameters sum to ``sld_mm`` (population.md §3.3)."""
    d_cm = sld_mm / 10.0 / n_lesions
    return n_lesions * math.pi / 6.0 * d_cm**3 * cells_per_cm3


def sum_of_diameters(cells, n_lesions: int = 1, cells_per_cm3: float = CELLS_PER_CM3):
    """Inverse of :func:`tumour_cells`: SLD in mm of ``n_lesions`` equal spheres holding ``cells``."""
    v = np.asarray(cells, dtype=float) / cells_per_cm3 / n_lesions
    return 10.0 * n_lesions * np.cbrt(6.0 * v / math.pi)


def _untreated(q: dict[str, float], C: float) -> tuple[float, float, float, float, float]:
    """APCs, effector T cells, Tregs and the per-cell T-cell and NK kill rates of an untreated tumour of
    ``C`` viable cancer cells at immune quasi-steady state (no drug, lymphocytes and NK cells at baseline)."""
    A = q["alpha_A"] / q["mu_A"] * C / (C + q["b_A"])
    x = ((q["pdl1"] + q["pdl1_tme"]) / q["P50_PD1"]) ** q["n_PD1"]
    H = x / (1.0 + x)
    prime = q["n_ref"] * q["tmb"] / q["tmb_ref"] * q["s_naive"] * A / (A + q["K_APC"]) * 2.0 ** q["N_gen"]
    R = q["rho_R"] * prime / q["d_R"]
    TE = prime / (q["d_E"] * (1.0 + q["eps_PD1"] * H))
    for _ in range(100):  # Treg suppression k_TR TE R/(TE + R + 1): fixed point of the TE balance
        new = prime / (q["d_E"] * (1.0 + q["eps_PD1"] * H) + q["k_TR"] * R / (TE + R + 1.0))
        done = abs(new - TE) <= 1e-15 * abs(new)
        TE = new
        if done:
            break
    kill_T = q["k_CT"] * TE / (q["K_TC"] * C + TE + q["K_TR"] * R + 1.0) * (1.0 - H)
    kill_NK = q["k_NK"] * q["N_ss"] / q["N_ref"]
    return A, TE, R, kill_T, kill_NK


def _nonviable_ratio(q: dict[str, float], kill_T: float, kill_NK: float, net_growth: float) -> float:
    """Quasi-steady non-viable/viable ratio of a tumour growing at ``net_growth`` per day: the killed cells
    (T-cell kill of the recognisable fraction, NK kill of all) accumulate and clear at ``k_clear``."""
    flux = (1.0 - q["f_e0"]) * kill_T + kill_NK
    return flux / max(q["k_clear"] + net_growth, 0.1 * q["k_clear"])


def initial_state(
    params: dict[str, float], cancer_cells: float, resistant_fraction: float | None = None
) -> dict[str, float]:
    """Pre-treatment state of a patient with ``cancer_cells`` viable cancer cells.

    Immune populations start at their quasi-steady state for that tumour without drugs
    (APCs, effector and regulatory T cells, NK cells and lymphocytes at baseline), and the
    non-viable mass ``D`` at its quasi-steady ratio to the viable cells for the tumour's untreated
    growth rate, so that a simulation starts from a patient, not from a transient. The
    targeted-therapy-resistant fraction defaults to the parameter ``f_r0``, the immune-escape fraction is
    ``f_e0``. :func:`baseline` starts instead from the measured lesion size and growth rate.
    """
    q = dict(zip(_PNAMES, (p.value for p in PARAMETERS), strict=True))
    q.update(params)
    C = float(cancer_cells)
    f_r = q["f_r0"] if resistant_fraction is None else float(resistant_fraction)
    f_e = q["f_e0"]
    if f_r + f_e > 1.0:
        raise ValidationError("f_r0 + f_e0", "be <= 1 (fractions of the same cancer cells)", f_r + f_e, "io_qsp")
    A, TE, R, kill_T, kill_NK = _untreated(q, C)
    net = q["kg"] * (1.0 - C / q["K_C"]) - q["d_C"] - kill_NK - (1.0 - f_e) * kill_T
    init = dict.fromkeys(_SNAMES, 0.0)
    init.update(
        Cs=C * (1.0 - f_r - f_e),
        Cr=C * f_r,
        Ce=C * f_e,
        D=C * _nonviable_ratio(q, kill_T, kill_NK, net),
        A=A,
        TE=TE,
        R=R,
        N=q["N_ss"],
        L=q["L_ss"],
    )
    return init


GROWTH_HEADROOM = 0.05
"""Least logistic headroom :math:`1 - C/K_C` of a patient: :func:`baseline` raises the carrying capacity
of a patient whose viable burden is at or beyond 95 % of ``K_C`` (a sum of diameters over many lesions
can exceed what one tumour compartment holds) to :math:`C/0.95`, so that the untreated tumour still
grows at the patient's net rate."""


def baseline(
    params: dict[str, float], lesion_cells: float, net_growth: float | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    r"""Parameters and pre-treatment state of a patient from what is measured: lesion size and growth.

    ``lesion_cells`` is the cell-equivalent size of the lesions (:func:`tumour_cells` of the sum of
    diameters), viable and non-viable together; it is split into viable cells :math:`C` and non-viable
    mass at the untreated quasi-steady ratio (fixed point in :math:`C`). With ``net_growth`` (the
    untreated tumour's net growth rate, 1/day, e.g. ``ln 2`` over the volume doubling time), the
    intrinsic growth rate is solved so that the untreated tumour grows at that rate against the
    immune kill of this patient:

    .. math::

        k_g = \frac{g_{net} + d_C + \kappa_{NK} + (1 - f_{e0})\,\kappa_T}{1 - C/K_C}

    so that stronger immune pressure (higher TMB, PD-L1, kill rate) means a faster-dividing tumour for the
    same observed growth, and treatment acts on the balance an enrolled patient actually has. A burden
    beyond 95 % of ``K_C`` raises this patient's ``K_C`` (:data:`GROWTH_HEADROOM`). Returns
    ``(solved parameters: "kg" when solved, "K_C" when raised; initial state)``.
    """
    q = dict(zip(_PNAMES, (p.value for p in PARAMETERS), strict=True))
    q.update(params)
    M = float(lesion_cells)
    C = M
    for _ in range(60):
        _, _, _, kill_T, kill_NK = _untreated(q, C)
        if net_growth is None:
            net = q["kg"] * (1.0 - C / q["K_C"]) - q["d_C"] - kill_NK - (1.0 - q["f_e0"]) * kill_T
        else:
            net = float(net_growth)
        new = M / (1.0 + _nonviable_ratio(q, kill_T, kill_NK, net))
        done = abs(new - C) <= 1e-13 * new
        C = new
        if done:
            break
    solved: dict[str, float] = {}
    if C > (1.0 - GROWTH_HEADROOM) * q["K_C"]:
        solved["K_C"] = C / (1.0 - GROWTH_HEADROOM)
    if net_growth is not None:
        _, _, _, kill_T, kill_NK = _untreated(q, C)
        head = 1.0 - C / solved.get("K_C", q["K_C"])
        solved["kg"] = (float(net_growth) + q["d_C"] + kill_NK + (1.0 - q["f_e0"]) * kill_T) / head
    return solved, initial_state({**q, **solved}, C)


_DEFAULT_INIT = initial_state({}, tumour_cells(50.0))


def outputs(y: np.ndarray, p: np.ndarray) -> dict[str, np.ndarray]:
    """Derived quantities for plots and the side-effect layer (vectorised).

    Parameters
    ----------
    y:
        States, shape ``(..., n_states)`` in declaration order (e.g. ``result.y``).
    p:
        Parameters, shape broadcastable to ``(..., n_parameters)`` (one row per patient:
        ``p[:, None, :]`` against ``result.y``).

    Returns
    -------
    dict
        ``tumour_cells`` (viable cancer cells, what the death model reads); ``lesion_cells`` (viable and
        non-viable, what imaging measures); ``sld_mm`` (of ``lesion_cells``, ``n_lesions`` equal spheres at
        ``cells_per_cm3``); receptor occupancies
        in the tumour ``occupancy_PD1``, ``occupancy_PDL1``, ``occupancy_CTLA4``, ``occupancy_mAb``
        (0–1); ``pd1_suppression`` (:math:`H_{PD1}`); plasma concentrations ``conc_*`` (antibodies
        and small molecules mg/L, ``conc_IL2_nM``, ``conc_IFN_IU_per_mL``); ``cytotoxic_kill_lymphocytes``
        (1/day); ``targeted_effect`` (0–1); ``steroid_damping`` (:math:`f_{CS}`, 1 without
        corticosteroids); ``car_t_total`` (cells) and ``car_t_per_uL`` (blood
        equivalent); the exact cumulative drives ``cumulative_cytotoxic``, ``cumulative_IL-2`` and
        ``cumulative_IFN-alpha`` (driver-days, from accumulator states, so that drugs cleared within
        hours are not missed by a coarse output grid); and ``immune_activation``, a
        dimensionless index in [0, 1) combining checkpoint blockade, IL-2 and IFN-α drive and CAR-T
        expansion: :math:`1 - (1 - B_{PD})(1 - O_{CTLA4})(1 - H^{E}_{IL2})(1 - E_{IFN})(1 - E_{CAR}/(E_{CAR} + 10^9))`
        with :math:`B_{PD} = 1 - (1 - O_{PD1})(1 - O_{PDL1})` (the 10⁹-cell scale is U). It is the
        exposure signal the adverse-event models read; it is not itself a toxicity grade.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    S = {n: y[..., i] for i, n in enumerate(_SNAMES)}
    P = {n: p[..., i] for i, n in enumerate(_PNAMES)}
    out: dict[str, np.ndarray] = {}
    C = S["Cs"] + S["Cr"] + S["Ce"]
    out["tumour_cells"] = C
    out["lesion_cells"] = C + S["D"]
    k = P["n_lesions"]
    out["sld_mm"] = 10.0 * k * np.cbrt(6.0 * out["lesion_cells"] / P["cells_per_cm3"] / k / math.pi)
    occ = {}
    for slot in ("PD1", "PDL1", "CTLA4", "mAb"):
        conc = S[f"Ab_{slot}_1"] / P[f"V1_{slot}"]
        out[f"conc_{slot}"] = conc
        ct = P["gamma_T"] * conc * 1000.0 / P[f"MW_{slot}"]
        occ[slot] = ct / (ct + P[f"KD_{slot}"])
        out[f"occupancy_{slot}"] = occ[slot]
    pdl1 = P["pdl1"] + P["pdl1_tme"] + P["pdl1_CTLA4"] * occ["CTLA4"]
    x = (pdl1 * (1.0 - occ["PD1"]) * (1.0 - occ["PDL1"]) / P["P50_PD1"]) ** P["n_PD1"]
    out["pd1_suppression"] = x / (1.0 + x)
    c_il2 = P["nM_per_IU_IL2"] * S["IL2_1"] / (1000.0 * P["V1_IL2"])
    out["conc_IL2_nM"] = c_il2
    c_ifn = S["IFN_1"] / (1000.0 * P["V_IFN"])
    out["conc_IFN_IU_per_mL"] = c_ifn
    e_ifn = c_ifn / (P["EC50_IFN"] + c_ifn)
    kill_l = 0.0
    for slot in ("ch1", "ch2"):
        c = S[f"{slot}_1"] / P[f"V1_{slot}"]
        out[f"conc_{slot}"] = c
        kill_l = kill_l + P[f"EmaxL_{slot}"] * c / (P[f"EC50_{slot}"] + c)
    out["cytotoxic_kill_lymphocytes"] = np.asarray(kill_l) * np.ones_like(C)
    keep = 1.0
    for slot in ("tk1", "tk2"):
        c = S[f"{slot}_1"] / P[f"V1_{slot}"]
        out[f"conc_{slot}"] = c
        keep = keep * (1.0 - P[f"Imax_{slot}"] * c / (P[f"IC50_{slot}"] + c))
    out["targeted_effect"] = 1.0 - keep
    out["cumulative_cytotoxic"] = S["X_chemo"]
    out["cumulative_IL-2"] = S["X_IL2"]
    out["cumulative_IFN-alpha"] = S["X_IFN"]
    keep = 1.0
    for slot in ("CS1", "CS2"):
        c = S[f"{slot}_1"] / P[f"V1_{slot}"]
        out[f"conc_{slot}"] = c
        keep = keep * (1.0 - P[f"Imax_{slot}"] * c / (P[f"IC50_{slot}"] + c))
    out["steroid_damping"] = np.asarray(keep) * np.ones_like(C)
    out["car_t_total"] = S["CAR_E"] + S["CAR_M"] + S["CAR_X"]
    out["car_t_per_uL"] = out["car_t_total"] / P["kappa_CAR"]
    il2_e = c_il2 / (c_il2 + P["EC50_IL2_E"])
    block_pd = 1.0 - (1.0 - occ["PD1"]) * (1.0 - occ["PDL1"])
    car = S["CAR_E"] / (S["CAR_E"] + 1e9)
    out["immune_activation"] = 1.0 - (1.0 - block_pd) * (1.0 - occ["CTLA4"]) * (1.0 - il2_e) * (1.0 - e_ifn) * (
        1.0 - car
    )
    return out


def _ab(name: str, description: str) -> DoseSlot:
    return DoseSlot(
        name,
        group=name,
        routes={"iv": f"Ab_{name}_1"},
        unit="mg",
        pk={"CL": f"CL_{name}", "V1": f"V1_{name}", "Q": f"Q_{name}", "V2": f"V2_{name}"},
        suffix=f"_{name}",
        description=description,
    )


DOSE_SLOTS = (
    _ab("PD1", "anti-PD-1 antibody (nivolumab, pembrolizumab)"),
    _ab("PDL1", "anti-PD-L1 antibody (atezolizumab)"),
    _ab("CTLA4", "anti-CTLA-4 antibody (ipilimumab)"),
    _ab("mAb", "tumour-targeting antibody acting through NK-cell ADCC (rituximab, trastuzumab)"),
    DoseSlot("IVIG", "IVIG", {"iv": "IVIG"}, "mg", {"CL": "CL_IVIG", "V1": "V_IVIG"}, "_IVIG", "immunoglobulin"),
    DoseSlot(
        "IL2",
        "IL2",
        {"iv": "IL2_1"},
        "IU",
        {"CL": "CL_IL2", "V1": "V1_IL2", "Q": "Q_IL2", "V2": "V2_IL2"},
        "_IL2",
        "interleukin-2 (aldesleukin)",
    ),
    DoseSlot(
        "IFN",
        "IFN",
        {"iv": "IFN_1", "sc": "IFN_0", "im": "IFN_0"},
        "IU",
        {"CL": "CL_IFN", "V1": "V_IFN", "ka": "ka_IFN", "F": "F_IFN"},
        "_IFN",
        "interferon alfa-2b",
    ),
    DoseSlot("vaccine", "vaccine", {"iv": "V", "sc": "V", "id": "V"}, "cells", {}, "", "vaccine-loaded APCs"),
    DoseSlot("CAR", "CAR", {"iv": "CAR_E"}, "cells", {}, "", "CAR-T cells (infused as effectors)"),
    *(
        DoseSlot(
            k,
            "cytotoxic",
            {"iv": f"{k}_1", "oral": f"{k}_1"},
            "mg",
            {"CL": f"CL_{k}", "V1": f"V1_{k}", "Q": f"Q_{k}", "V2": f"V2_{k}"},
            f"_{k}",
            f"cytotoxic drug slot {k[-1]} (chemotherapy, lymphodepletion)",
        )
        for k in ("ch1", "ch2")
    ),
    *(
        DoseSlot(
            k,
            "targeted",
            {"oral": f"{k}_0"},
            "mg",
            {"ka": f"ka_{k}", "F": f"F_{k}", "CL": f"CL_{k}", "V1": f"V1_{k}", "Q": f"Q_{k}", "V2": f"V2_{k}"},
            f"_{k}",
            f"targeted-therapy slot {k[-1]} (oral kinase inhibitors)",
        )
        for k in ("tk1", "tk2")
    ),
    *(
        DoseSlot(
            k,
            "corticosteroid",
            {"oral": f"{k}_0", "iv": f"{k}_1"},
            "mg",
            {"ka": f"ka_{k}", "F": f"F_{k}", "CL": f"CL_{k}", "V1": f"V1_{k}"},
            f"_{k}",
            f"corticosteroid slot {k[-1]} (prednisone, dexamethasone: damping of T-cell priming and proliferation)",
        )
        for k in ("CS1", "CS2")
    ),
)
"""Where the drug library's drugs enter the model (see :class:`~oncoimmune.models.DoseSlot`)."""

DEFAULT_SLD_MM = 50.0
"""Baseline sum of diameters when the patient gives none (RELATIVITY-047 melanoma median 54-59 mm, population.md §1.7)."""
DEFAULT_TMB_MSI = 40.0
"""TMB taken for an MSI-high tumour without a measured TMB (MSI-H component 30-100 mut/Mb, population.md §1.6; U)."""


def patient(covariates, overrides=None) -> tuple[dict[str, float], dict[str, float], tuple[str, ...]]:
    """Model parameters and initial state of one patient from :class:`~oncoimmune.treatments.Covariates`.

    Reads ``pdl1`` → ``pdl1``, ``tmb`` (or :data:`DEFAULT_TMB_MSI` if ``msi_high``) → ``tmb``,
    ``car_antigen`` → ``a_CAR``, ``target_antigen`` → ``a_mAb``, the baseline burden
    ``tumour_burden_mm`` over ``n_lesions`` equal spherical lesions → lesion cells
    (:func:`tumour_cells`), and ``growth_rate``, the net growth rate of the untreated tumour, → ``kg``
    solved by :func:`baseline` against this patient's immune kill; :func:`baseline` then builds the
    untreated quasi-steady state. ``overrides`` (a mapping of parameter values, e.g. a virtual
    patient's drawn ``k_CT`` or ``{"N_ss": 5}`` for an NK-depleted patient) apply before the solve; an
    override of ``kg`` itself is kept as given. Missing covariates keep the model defaults and are
    listed in ``assumed``; without ``growth_rate``, ``kg`` keeps its default *intrinsic* value, so a
    patient with strong immune kill (e.g. a calibrated population's ``k_CT``) may then regress untreated:
    give the growth rate whenever the kill parameters are not the defaults.
    """
    params: dict[str, float] = {}
    assumed: list[str] = []
    for cov, par in (("pdl1", "pdl1"), ("car_antigen", "a_CAR"), ("target_antigen", "a_mAb")):
        v = getattr(covariates, cov, None)
        if v is None:
            assumed.append(cov)
        else:
            params[par] = float(v)
    tmb = getattr(covariates, "tmb", None)
    if tmb is not None:
        params["tmb"] = float(tmb)
    elif getattr(covariates, "msi_high", None):
        params["tmb"] = DEFAULT_TMB_MSI
        assumed.append("tmb (MSI-high: 40 mut/Mb)")
    else:
        assumed.append("tmb")
    sld = getattr(covariates, "tumour_burden_mm", None)
    if sld is None:
        sld = DEFAULT_SLD_MM
        assumed.append("tumour_burden_mm")
    k = getattr(covariates, "n_lesions", None) or 1
    params["n_lesions"] = float(k)
    fixed = dict(overrides or {})
    growth = getattr(covariates, "growth_rate", None)
    if growth is None:
        assumed.append("growth_rate")
    if "kg" in fixed:
        growth = None
    solved, init = baseline({**params, **fixed}, tumour_cells(float(sld), int(k)), growth)
    params.update(solved)
    return params, init, tuple(assumed)


MODEL = Model(
    name="io_qsp",
    title="Integrated immuno-oncology QSP model: every therapy class through its mechanism",
    citation=(
        "oncoimmune reduction of the Popel-lab QSP-IO models (Jafarnejad M et al., AAPS J 2019;21:79; Wang H et al., "
        "J Immunother Cancer 2019 and later; code popellab/qspio, HanwenWang95/QSPIO-TNBC), with the APC module of "
        "Tsur N et al., J Transl Med 2019 (doi 10.1186/s12967-019-2081-2), the CAR-T kinetics of Stein AM et al., "
        "CPT:PSP 2019;8:285, and the drug PK of the oncoimmune drug library (pharmacology.md)."
    ),
    states=STATES,
    parameters=PARAMETERS,
    init=_DEFAULT_INIT,
    init_source=(
        "a 50 mm single lesion at 1e9 cells/cm3 (6.5e10 cancer cells; population.md §1.7, §3.2) with the immune "
        "populations at their untreated quasi-steady state (initial_state)"
    ),
    rhs=rhs,
    extinction={
        "Cs": 0.9,
        "Cr": 0.9,
        "Ce": 0.9,
        "D": 0.9,
        "CAR_E": 0.9,
        "CAR_M": 0.9,
        "CAR_X": 0.9,
        "V": 0.9,
        "A": 1e-12,
        "TE": 1e-12,
        "R": 1e-12,
    },
    t_end=365.0,
    dose_slots=DOSE_SLOTS,
    patient=patient,
    outputs=outputs,
    notes=(
        "Extinction: a population below 0.9 cells is set to zero (the popellab/qspio event for cancer cells, "
        "population.md §3.3); antigen-presenting, effector and regulatory T cells below 1e-12 cells (numerical "
        "zero, chosen here, U: after a cure they decay towards 1e-30 cells, and integrating such sub-cellular "
        "amounts in log space could stall the solver). Values flagged U are calibration targets of the "
        "virtual-trial layer."
    ),
)
