r"""Barros et al. (2021), CARTmath: effector and memory CAR-T cells against a haematological tumour.

Three populations in an immunodeficient mouse: effector CAR-T cells :math:`C_T`, memory CAR-T cells
:math:`C_M` and tumour cells :math:`T` (paper Eqs. 1–3):

.. math::

    \frac{dC_T}{dt} &= \phi C_T - \rho C_T + \theta T C_M - \alpha T C_T \\
    \frac{dC_M}{dt} &= \epsilon C_T - \theta T C_M - \mu C_M \\
    \frac{dT}{dt}   &= r T (1 - bT) - \gamma C_T T

:math:`\phi` is effector expansion, :math:`\rho = \eta + \epsilon` the loss of effectors by death
(:math:`\eta`) and differentiation into memory (:math:`\epsilon`), :math:`\theta` the re-activation of
memory cells on contact with tumour, :math:`\alpha` the tumour-induced inhibition of effectors
(positive: inhibition prevails; the paper allows negative values for tumour-stimulated expansion),
:math:`\mu` memory death, :math:`r` and :math:`1/b` the tumour growth rate and carrying capacity and
:math:`\gamma` the CAR-T kill rate. The paper imposes :math:`\phi < \rho` (effectors vanish without
tumour) and :math:`\epsilon - \rho + \phi > 0` (expansion exceeds natural death). The authors' R code
writes the first equation as :math:`(\phi - \rho - \mu_T) C_T + \ldots` with separate differentiation and
death rates; it is the same model with :math:`\rho_{\text{paper}} = \rho + \mu_T`.

CAR-T doses are instantaneous additions to :math:`C_T` (``Bolus("CT", 2e6, 42)``); a tumour
re-challenge is a bolus on :math:`T`. Initial conditions: :math:`C_T(0) = C_M(0) = 0` and :math:`T(0)` the
number of injected tumour cells. The published extinction rule (any population below
:math:`10^{-6}` cells is set to zero; paper section 2.5 and ``rk4.R``) is the model's default
extinction threshold.

Steady states (paper section 2.3): with :math:`p = (\rho - \phi)/r`, :math:`q = \theta/(br)`,
:math:`s = \alpha/(br)`, :math:`u = \epsilon/r`, :math:`w = \mu/r`, :math:`\vartheta = u - p`, the
coexistence equilibria have :math:`X` solving
:math:`qs X^2 + (q\vartheta - 2qs - sw) X + (pw - q\vartheta + qs + sw) = 0`, :math:`Z = 1 - X`,
:math:`Y = uX/(qZ + w)`, and :math:`(C_T, C_M, T) = (Xr/\gamma, Yr/\gamma, Z/b)`. For HDLM-2 (region
:math:`R_3`, bistable) the small-tumour root has :math:`Z = bT \approx 1.5\times10^{-9}`; in double
precision the discriminant of the quadratic in :math:`X` cancels in its first twelve digits, so
:math:`X` carries an absolute error near :math:`10^{-11}` and :math:`Z = 1 - X` a relative error of a
few per cent. Solving the same quadratic for :math:`Z` (substituting :math:`X = 1 - Z`:
:math:`qsZ^2 + (sw - q\vartheta)Z + pw = 0`) gives
:math:`P_2 = (1.52052\times10^4, 263.37, 1.44252\times10^6)` and
:math:`P_3 = (1.52052\times10^4, 1.97519\times10^5, 1091.2)`, where the right-hand side vanishes to
1e-12 relative. The paper prints :math:`P_2 = (1.5205\times10^4, 2.63\times10^2, 1.442522\times10^6)`
and :math:`P_3 = (1.5205\times10^4, 1.97519\times10^5, 1.089\times10^3)`, within 0.2 %; the
"reproduced" :math:`P_3 = (1.52052\times10^4, 1.9391\times10^5, 1127.0)` of the project's reference
notes (3–4 % off) is an artefact of that cancellation.

Variants
--------
``hdlm2`` (default)
    CAR-T 123 against the HDLM-2 Hodgkin-lymphoma line (Ruella et al.), :math:`T(0) = 2\times10^6`,
    BIOMD0000001019. Protocol: :math:`2\times10^6` CAR-T cells at day 42, re-challenge with
    :math:`10^6` tumour cells at day 250, follow-up to day 500.
``raji``
    CAR-T 19 against the RAJI B-cell lymphoma line (Ninomiya et al.), :math:`T(0) = 3\times10^6`,
    BIOMD0000001020 (:math:`b = 0`: exponential growth). Protocol: :math:`10^7` CAR-T cells at day 7.
``raji_ido``, ``raji_ido_1mt``
    RAJI expressing IDO, treated with CAR-T 19 alone (:math:`\alpha = 1.461699\times10^{-8}`) or with
    the IDO inhibitor 1-methyl-tryptophan (:math:`\alpha = 1.26166\times10^{-8}`); all other values as
    ``raji``.

Known discrepancies
-------------------
* The paper gives the CAR-T dose at day 42; the SBML BIOMD0000001019 event fires at :math:`t \ge 45`.
* The SBML events *assign* :math:`C_T := 2\times10^6` and :math:`T := 10^6` instead of adding them; this
  is the same as a bolus only while the population is zero.
* The SBML names differ from the paper's symbols: ``pi`` is :math:`\rho`, ``rho`` is :math:`r` and
  ``beta`` is :math:`b`.
* The paper's steady-state formula prints :math:`\vartheta` as "r" in the quadratic's coefficients.
* Outcome classes of the paper: complete response if :math:`T \le 8\times10^5` cells (detection limit),
  non-response if :math:`T > 10^{10}` (lethal burden), partial response in between. One BLI unit is
  taken as one cell.

Reference
---------
Barros LRC, Paixão EA, Valli AMP, Naozuka GT, Fassoni AC, Almeida RC. CARTmath—a mathematical model
of CAR-T immunotherapy in preclinical studies of hematological cancers. *Cancers* 13(12):2941 (2021).
"""

from __future__ import annotations

from oncoimmune.models._base import Model, Parameter, State, Variant

_T2 = "Barros 2021 Table 2"
_HD = "Barros 2021 Table 2 (HDLM-2 + CAR-T 123); BIOMD0000001019 parameter"
_RJ = "Barros 2021 Table 2 (RAJI + CAR-T 19); BIOMD0000001020"


def rhs(y, prm, dy):
    CT, CM, T = y
    phi, rho, epsilon, theta, alpha, mu, r, b, gamma = prm
    dy[0] = (phi - rho) * CT + theta * T * CM - alpha * T * CT
    dy[1] = epsilon * CT - theta * T * CM - mu * CM
    dy[2] = r * T * (1.0 - b * T) - gamma * CT * T


_RAJI = {
    "phi": 0.83,
    "rho": 0.8300536,
    "epsilon": 1.59795,
    "theta": 2.3e-4,
    "alpha": 1.248506e-8,
    "mu": 6.89e-7,
    "r": 0.5071721,
    "b": 0.0,
    "gamma": 3.365388e-8,
}

MODEL = Model(
    name="barros_2021_cartmath",
    title="CARTmath: effector and memory CAR-T cells against a haematological tumour",
    citation=(
        "Barros LRC, Paixão EA, Valli AMP, Naozuka GT, Fassoni AC, Almeida RC. CARTmath - a mathematical model "
        "of CAR-T immunotherapy in preclinical studies of hematological cancers. Cancers 13(12):2941 (2021). "
        "doi:10.3390/cancers13122941"
    ),
    states=(
        State("CT", "cells", "effector CAR-T cells"),
        State("CM", "cells", "memory CAR-T cells"),
        State("T", "cells", "tumour cells (one bioluminescence unit taken as one cell)"),
    ),
    parameters=(
        Parameter("phi", 0.265, "1/day", f"{_HD} 'phi'", (0.0, 100.0), "effector CAR-T expansion rate"),
        Parameter(
            "rho",
            0.35,
            "1/day",
            f"{_HD} 'pi'",
            (0.0, 100.0),
            "effector loss rate, rho = eta (death) + epsilon (memory formation)",
        ),
        Parameter(
            "epsilon",
            0.15,
            "1/day",
            f"{_HD} 'epsilon'",
            (0.0, 100.0),
            "differentiation of effector into memory CAR-T cells",
        ),
        Parameter(
            "theta",
            6e-6,
            "1/(cell*day)",
            f"{_HD} 'theta'",
            (0.0, 1.0),
            "tumour-driven re-activation of memory into effector CAR-T cells",
        ),
        Parameter(
            "alpha",
            4.5e-8,
            "1/(cell*day)",
            f"{_HD} 'alpha'",
            (-1.0, 1.0),
            "tumour-induced inhibition of effector CAR-T cells (negative: stimulation)",
        ),
        Parameter("mu", 0.005, "1/day", f"{_HD} 'mu'", (0.0, 100.0), "memory CAR-T death rate"),
        Parameter("r", 0.05650026, "1/day", f"{_HD} 'rho'", (0.0, 100.0), "tumour growth rate"),
        Parameter(
            "b",
            1.404029e-12,
            "1/cell",
            f"{_HD} 'beta'",
            (0.0, 1.0),
            "inverse tumour carrying capacity (0: exponential growth)",
        ),
        Parameter(
            "gamma", 3.715843e-6, "1/(cell*day)", f"{_HD} 'gamma'", (0.0, 1.0), "CAR-T kill rate of tumour cells"
        ),
    ),
    init={"CT": 0.0, "CM": 0.0, "T": 2e6},
    init_source="Barros 2021 section 3.1 (HDLM-2: 2e6 injected tumour cells; CT(0) = CM(0) = 0); BIOMD0000001019",
    rhs=rhs,
    variants={
        "hdlm2": Variant(
            "HDLM-2 Hodgkin lymphoma + CAR-T 123 (Ruella et al.); T(0) = 2e6; CAR-T 2e6 at day 42 "
            "(SBML: t >= 45), re-challenge 1e6 at day 250",
            {
                "phi": 0.265,
                "rho": 0.35,
                "epsilon": 0.15,
                "theta": 6e-6,
                "alpha": 4.5e-8,
                "mu": 0.005,
                "r": 0.05650026,
                "b": 1.404029e-12,
                "gamma": 3.715843e-6,
            },
            init={"T": 2e6},
            source=_T2 + " (HDLM-2); BIOMD0000001019",
        ),
        "raji": Variant(
            "RAJI B-cell lymphoma + CAR-T 19 (Ninomiya et al.); T(0) = 3e6; CAR-T 1e7 at day 7",
            _RAJI,
            init={"T": 3e6},
            source=_RJ,
        ),
        "raji_ido": Variant(
            "RAJI-IDO+ treated with CAR-T 19 alone: alpha = 1.461699e-8, otherwise as 'raji'",
            {**_RAJI, "alpha": 1.461699e-8},
            init={"T": 3e6},
            source="Barros 2021 section 3.2 (RAJI-IDO+, CAR-T 19); BIOMD0000001020 scenario",
        ),
        "raji_ido_1mt": Variant(
            "RAJI-IDO+ treated with CAR-T 19 + 1-methyl-tryptophan: alpha = 1.26166e-8, otherwise as 'raji'",
            {**_RAJI, "alpha": 1.26166e-8},
            init={"T": 3e6},
            source="Barros 2021 section 3.2 (RAJI-IDO+, CAR-T 19 + 1-MT); BIOMD0000001020 scenario",
        ),
    },
    default_variant="hdlm2",
    extinction={"CT": 1e-6, "CM": 1e-6, "T": 1e-6},
    t_end=500.0,
    notes=(
        "Extinction rule of the paper (any population below 1e-6 cells set to 0) is the default. CAR-T dose at "
        "day 42 in the paper, t >= 45 in BIOMD0000001019, whose events also assign (CT := 2e6, T := 1e6) "
        "rather than add. SBML 'pi' = rho, 'rho' = r, 'beta' = b. HDLM-2 equilibria: P2 = (1.52052e4, 263.37, "
        "1.44252e6), P3 = (1.52052e4, 1.97519e5, 1091.2) when the quadratic is solved for Z = bT (the paper's "
        "values agree to 0.2 %; Z = 1 - X from the X-form loses digits and gives P3 T ~ 1.1e3 +- 3 %)."
    ),
)
