r"""Stein et al. (2019): cellular kinetics of tisagenlecleucel (CAR-T) — expansion, contraction, persistence.

The population cellular-kinetic model of tisagenlecleucel in 90 paediatric and young-adult
patients with relapsed/refractory B-ALL (ELIANA and ENSIGN), fitted to CAR transgene levels
measured by qPCR in blood (copies/µg genomic DNA). The measured level follows Stein's analytic
model (pharmacology.md §4.3):

.. math::

    C(t) = \begin{cases} R_0\, e^{\rho t} & t < T_{max} \\
           C_{max}\left[(1 - F_B)\, e^{-\alpha (t - T_{max})} + F_B\, e^{-\beta (t - T_{max})}\right]
           & t \ge T_{max} \end{cases}
    \qquad \rho = \frac{\ln(\mathrm{foldx})}{T_{max}}, \quad R_0 = \frac{C_{max}}{\mathrm{foldx}}

It is written here as an ODE with two cell pools, effector-like :math:`E` and memory-like
:math:`M`, and a clock :math:`\tau` (days since the infusion) so that the right-hand side does
not depend on time explicitly:

.. math::

    \frac{dE}{dt} = \begin{cases} \rho\,E & \tau < T_{max} \\ -\alpha\,E & \tau \ge T_{max} \end{cases} \qquad
    \frac{dM}{dt} = \begin{cases} \rho\,M & \tau < T_{max} \\ -\beta\,M & \tau \ge T_{max} \end{cases}
    \qquad \frac{d\tau}{dt} = 1

with :math:`E(0) = (1 - F_B) R_0`, :math:`M(0) = F_B R_0`, :math:`\tau(0) = 0`, so that
:math:`C = E + M` equals the analytic model exactly: both pools expand together until
:math:`T_{max}` (:math:`E + M = C_{max}` there), then the effector-like pool contracts at
:math:`\alpha` and the memory-like pool persists, declining at :math:`\beta`.

Relation to Stein 2019 Figure 2. The paper's compartmental form has all cells in :math:`E`
until :math:`T_{max}`, then transfers effectors into memory at :math:`k = F_B(\alpha - \beta)`.
It has the same :math:`C(t)`; only the partition differs (there :math:`E = C_{max}e^{-\alpha s}`
and :math:`M = F_B C_{max}(e^{-\beta s} - e^{-\alpha s})`, :math:`s = t - T_{max}`; here :math:`E`
is smaller and :math:`M` larger by :math:`F_B C_{max} e^{-\alpha s}`, i.e. 0.79 % of
:math:`E`). The parallel form is used because it keeps both pools positive for any
:math:`\alpha, \beta` (Figure 2 needs :math:`\alpha > \beta`) and lets both be integrated in
log space across the switch at :math:`T_{max}`.

Notes for use
-------------
* :math:`C_{max}` and :math:`F_B` are levels, not rates: they enter only through the initial
  conditions (:func:`initial_state`), so they are not model parameters. The defaults (and the
  variant ``tisagenlecleucel_b_all``) start from the typical :math:`R_0 = 24000/3900 = 6.1538`
  copies/µg split with :math:`F_B = 0.0079`. A patient with another ``Cmax`` or ``FB`` (or a
  ``foldx`` that should keep ``Cmax``) needs ``init.E`` and ``init.M`` from
  :func:`initial_state`; changing ``foldx`` alone keeps :math:`R_0` and so scales
  :math:`C_{max} = R_0 \cdot \mathrm{foldx}`.
* The infused dose does not enter: Stein 2019 retained no covariate (dose per kg, lymphodepletion,
  tocilizumab or corticosteroid use, prior transplant ... were tested on Cmax and not retained).
* Not included: inter-individual variability (Table 1: :math:`\omega^2` foldx 2.4, Tmax 0.38,
  Cmax 0.65, alpha 0.91, FB 0.80, beta 0.86 on the log scale), the residual error (0.56, additive
  on the log scale), and the co-medication factors F_toci 1.2 and F_ster 1.0 (Table 1; the
  parameter they multiply is not stated in the notes — flag U; the nlmixr2lib transcription reads
  them as multipliers of rho and omits them because the paper found no effect).
* The model describes paediatric B-ALL; expansion in adult DLBCL (JULIET) is lower
  (Awasthi 2020, pharmacology.md §4.3), so the typical values are not a DLBCL model.
"""

from __future__ import annotations

import math

from oncoimmune._validate import finite_number
from oncoimmune.errors import ValidationError
from oncoimmune.models._base import Model, Parameter, State, Variant

_T1 = (
    "Stein AM et al., CPT Pharmacometrics Syst Pharmacol 2019;8:285, Table 1 (transcribed in "
    "nlmixr2/nlmixr2lib Stein_2019_Tisagenlecleucel.R); pharmacology.md §4.3, V"
)

FOLDX = 3900.0
"""Typical fold expansion from baseline to Cmax (Stein 2019 Table 1, V)."""
TMAX = 9.3
"""Typical time of maximal expansion, days (Stein 2019 Table 1, V)."""
CMAX = 24000.0
"""Typical maximal transgene level, copies/µg genomic DNA (Stein 2019 Table 1, V)."""
FB = 0.0079
"""Typical fraction of the peak entering the slow (memory-like) phase (Stein 2019 Table 1, V)."""


def initial_state(cmax: float = CMAX, foldx: float = FOLDX, fb: float = FB) -> dict[str, float]:
    r"""Initial conditions for a patient: :math:`E(0) = (1 - F_B) R_0`, :math:`M(0) = F_B R_0`.

    :math:`R_0 = C_{max}/\mathrm{foldx}` is the baseline transgene level just after the
    infusion (Stein 2019 Figure 2 initial conditions), in copies/µg genomic DNA.

    Parameters
    ----------
    cmax:
        Maximal transgene level, copies/µg (> 0); typical 24,000.
    foldx:
        Fold expansion from baseline (> 1); typical 3900.
    fb:
        Fraction of the peak entering the slow phase, in [0, 1]; typical 0.0079.

    Returns
    -------
    dict
        ``{"E": ..., "M": ..., "tau": 0.0}``, usable as ``init=`` of
        :func:`~oncoimmune.simulate` or as ``init.E`` / ``init.M`` columns of a patient table.
    """
    where = "stein_2019_car_t_kinetics.initial_state"
    c = finite_number("cmax", cmax, where)
    f = finite_number("foldx", foldx, where)
    b = finite_number("fb", fb, where)
    if c <= 0:
        raise ValidationError("cmax", "be > 0 (copies/ug)", cmax, where)
    if f <= 1:
        raise ValidationError("foldx", "be > 1", foldx, where)
    if not 0.0 <= b <= 1.0:
        raise ValidationError("fb", "lie in [0, 1]", fb, where)
    r0 = c / f
    return {"E": (1.0 - b) * r0, "M": b * r0, "tau": 0.0}


def rhs(y, p, dy):
    E, M, tau = y
    foldx, Tmax, alpha, beta = p
    if tau < Tmax:
        rho = math.log(foldx) / Tmax
        dy[0] = rho * E
        dy[1] = rho * M
    else:
        dy[0] = -alpha * E
        dy[1] = -beta * M
    dy[2] = 1.0


_INIT = initial_state()

MODEL = Model(
    name="stein_2019_car_t_kinetics",
    title="Stein 2019 tisagenlecleucel cellular kinetics (expansion, biphasic contraction, persistence)",
    citation=(
        "Stein AM, Grupp SA, Levine JE, et al. Tisagenlecleucel model-based cellular kinetic analysis of "
        "chimeric antigen receptor-T cells. CPT Pharmacometrics Syst Pharmacol 2019;8(5):285-295. "
        "doi:10.1002/psp4.12388"
    ),
    states=(
        State(
            "E",
            "copies/ug",
            "effector-like CAR-T transgene level in blood (copies per ug genomic DNA): expands at rho until "
            "Tmax, then contracts at alpha",
        ),
        State(
            "M",
            "copies/ug",
            "memory-like CAR-T transgene level: expands at rho until Tmax, then declines slowly at beta; "
            "measured C = E + M",
        ),
        State("tau", "day", "clock: days since the CAR-T infusion (d tau/dt = 1)", log=False),
    ),
    parameters=(
        Parameter(
            "foldx",
            FOLDX,
            "1",
            _T1 + "; expansion rate rho = ln(foldx)/Tmax = 0.889 /day, doubling time 0.78 day (Stein 2019 "
            "Figure 2 definitions; Discussion)",
            (1.0 + 1e-9, 1e9),
            "fold expansion from the baseline level R0 to Cmax",
        ),
        Parameter("Tmax", TMAX, "day", _T1, (1e-3, 1e3), "time of maximal expansion (end of the expansion phase)"),
        Parameter(
            "alpha",
            0.16,
            "1/day",
            _T1 + " (half-life 4.3 days)",
            (0.0, 100.0),
            "rate of the rapid contraction of effector-like cells",
        ),
        Parameter(
            "beta",
            0.0032,
            "1/day",
            _T1 + " (half-life 217 days; the paper quotes about 220 days, extrapolated beyond 1 year of data)",
            (0.0, 100.0),
            "rate of the slow decline of memory-like persistence",
        ),
    ),
    init=_INIT,
    init_source=(
        "E(0) = (1 - FB) R0 and M(0) = FB R0 with R0 = Cmax/foldx = 24000/3900 = 6.1538 copies/ug (Stein 2019 "
        "Figure 2 initial conditions; Table 1 typical Cmax 24,000 copies/ug, foldx 3900, FB 0.0079; V); clock "
        "at 0 on the infusion day"
    ),
    rhs=rhs,
    variants={
        "tisagenlecleucel_b_all": Variant(
            "Tisagenlecleucel, paediatric/young-adult r/r B-ALL (ELIANA + ENSIGN, n = 90; median 39 kg, "
            "3-25 years): typical individual, no covariates retained",
            {"foldx": FOLDX, "Tmax": TMAX, "alpha": 0.16, "beta": 0.0032},
            init=_INIT,
            source=_T1,
        ),
    },
    t_end=365.0,
    notes=(
        "Measured transgene level C = E + M (copies/ug genomic DNA), equal to Stein's analytic model. Cmax "
        "and FB (0.0079) enter only through the initial conditions (initial_state(Cmax, foldx, FB) for other "
        "patients). The infused dose does not enter (no "
        "covariate retained in Stein 2019). Parallel-pool realisation of Stein Figure 2 (same C(t), slightly "
        "different E/M partition). Inter-individual variability, residual error and the co-medication factors "
        "(F_toci 1.2, F_ster 1.0; flag U) are not included."
    ),
)
