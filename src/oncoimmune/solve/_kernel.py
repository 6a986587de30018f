"""Batched stiff integrators in mixed log/linear coordinates: Radau IIA (orders 5 and 9) and Rodas4.

This file is a template as well as a module. :mod:`oncoimmune.solve._compile` copies it into a
per-model module in the cache directory, replacing the line marked ``@@RHS_IMPORT@@`` by an
import of that model's right-hand side, the block between the ``@@JAC`` markers by the model's
generated analytic Jacobian, and the ``@@METHOD@@`` line by the chosen method, so that numba
compiles (and caches on disk) one kernel per model and method with the right-hand side inlined.
Imported as itself it binds a placeholder model.

Methods
-------
``radau5`` (default): the 3-stage Radau IIA collocation method of order 5, implemented after
Hairer & Wanner's RADAU5 (*Solving ODEs II*, 2nd ed., Sect. IV.8): simplified Newton iterations
on the transformed stage equations (one real and one complex LU per step), extrapolated starting
values from the collocation polynomial of the previous step, the embedded error estimate
``(I/(h*gamma0) - J)^-1 (f0 + sum_i d_i Z_i / h)`` (refined once after a rejected or first step),
and the predictive (Gustafsson) step-size controller.

``radau9``: the 5-stage Radau IIA method of order 9 (stage order 5), the same algorithm with five
stages as in Hairer & Wanner's variable-order RADAU (J. Comput. Appl. Math. 111:93-111, 1999): one
real and two complex LUs per step, an embedded order-5 error estimate filtered as above, the
controller with exponent 1/6, and dense output from the step's collocation polynomial (degree 5).
Fewer, longer steps: it pays on long smooth runs at tight tolerances.

``rodas4``: a 6-stage, stiffly accurate Rosenbrock method of order 4 with an embedded order-3
solution (Sect. IV.7; coefficients of ``rodas.f``, METH = 1): one LU of ``I/(h*gamma) - J`` and
six right-hand-side evaluations and solves per step, controller
``h_new = h * min(6, max(0.2, 0.9 * err**-1/4))``. Kept as an independent cross-check.

Both use one Jacobian per step: analytic (generated from the model by
:mod:`oncoimmune.solve._symbolic`) where possible, else forward differences.

Coordinates and positivity
--------------------------
A state flagged ``log`` is integrated as ``z = ln y`` while positive, so kill terms that drive
populations to 1e-300 never make them negative. Its error weight is ``rtol (1 + y_ext / y)`` on
``z``: relative accuracy down to the state's extinction threshold ``y_ext`` (see ``_weight``).
Other states are integrated as they are and clipped at zero after every accepted step (all model
states are non-negative).
A positive log-eligible state starts in log mode; one that starts at zero (or is set to zero)
is integrated linearly while it grows (``ln y`` of a state rising from zero has a ``1/t``
singularity) and switches to log mode once it declines above ``1e4 * atol``. A state keeps its
mode across restarts while it stays positive.

Extinction: a log-mode population below its threshold after an accepted step is set to exactly
zero and continues in linear mode (a population of exactly zero stays zero unless a source feeds
it); interpolated outputs below the threshold are reported as zero. A population fed from zero by
a source is integrated linearly while it grows and is not extinguished there (it switches to log
mode, and so becomes subject to the rule, once it declines above ``1e4 * atol``).

Events
------
Integration restarts at every event time: a bolus adds an amount to a state, and a zero-order
input sets a parameter to (the patient's base value + input) or a rate into a state until the
next event. Outputs at an event time report the state *after* the events at that time
(right-continuous trajectories). Output between step ends uses cubic Hermite interpolation in
the integration coordinates (``radau5``, ``rodas4``) or the collocation polynomial (``radau9``).
"""

import math

import numpy as np
from numba import njit, prange

from oncoimmune.solve._placeholder import rhs as _model_rhs  # @@RHS_IMPORT@@

rhs = njit(inline="always", error_model="numpy")(_model_rhs)

# @@JAC_BEGIN@@ (replaced by the model's generated analytic Jacobian when there is one)
HAS_JAC = False


def _model_jac(y, p, J):
    J[0, 0] = 0.0


# @@JAC_END@@
jac_y = njit(inline="always", error_model="numpy")(_model_jac)

# @@METHOD@@ (replaced by the chosen method in generated kernels)
METHOD = 0

M_RADAU5 = 0
M_RODAS4 = 1
M_RADAU9 = 2

# Event operations (keep in sync with oncoimmune.treatments._doses).
OP_ADD_STATE = 0
OP_SET_PARAM = 1
OP_SET_RATE = 2

# Status codes (keep in sync with oncoimmune.solve.Status).
ST_OK = 0
ST_MAX_STEPS = 1
ST_NONFINITE = 2
ST_STEP_UNDERFLOW = 3
ST_SINGULAR = 4

# Rodas4 coefficients (Hairer & Wanner rodas.f, METH = 1).
GAMMA = 0.25
A21 = 1.544
A31 = 0.9466785280815826
A32 = 0.2557011698983284
A41 = 3.314825187068521
A42 = 2.896124015972201
A43 = 0.9986419139977817
A51 = 1.221224509226641
A52 = 6.019134481288629
A53 = 12.53708332932087
A54 = -0.6878860361058950
C21 = -5.6688
C31 = -2.430093356833875
C32 = -0.2063599157091915
C41 = -0.1073529058151375
C42 = -9.594562251023355
C43 = -20.47028614809616
C51 = 7.496443313967647
C52 = -10.24680431464352
C53 = -33.99990352819905
C54 = 11.70890893206160
C61 = 8.083246795921522
C62 = -7.981132988064893
C63 = -31.52159432874371
C64 = 16.31930543123136
C65 = -6.058818238834054

# Radau IIA (order 5) constants, as in Hairer & Wanner's RADAU5: nodes, error-estimate weights,
# the eigenvalues of A^-1 (gamma0 = U1, alpha +- i beta) and the transformation T (TI = T^-1).
SQ6 = math.sqrt(6.0)
RC1 = (4.0 - SQ6) / 10.0
RC2 = (4.0 + SQ6) / 10.0
RC1M1 = RC1 - 1.0
RC2M1 = RC2 - 1.0
RC1MC2 = RC1 - RC2
DD1 = -(13.0 + 7.0 * SQ6) / 3.0
DD2 = (-13.0 + 7.0 * SQ6) / 3.0
DD3 = -1.0 / 3.0
U1 = 3.6378342527444962
ALPH = 2.6810828736277523
BETA = 3.0504301992474105
T11 = 9.1232394870892942792e-02
T12 = -0.14125529502095420843
T13 = -3.0029194105147424492e-02
T21 = 0.24171793270710701896
T22 = 0.20412935229379993199
T23 = 0.38294211275726193779
T31 = 0.96604818261509293619
TI11 = 4.3255798900631553510
TI12 = 0.33919925181580986954
TI13 = 0.54177053993587487119
TI21 = -4.1787185915519047273
TI22 = -0.32768282076106238708
TI23 = 0.47662355450055045196
TI31 = -0.50287263494578687595
TI32 = 2.5719269498556054292
TI33 = -0.59603920482822492497
NIT = 7  # Newton iterations per step at most
SAFE = 0.9

# Radau IIA (order 9, five stages), as in Hairer & Wanner's RADAU: nodes R9_C, the real eigenvalue
# R9_GAMMA and the complex pairs R9_ALPHA +- i R9_BETA of A^-1, the transformation R9_T (R9_TI =
# R9_T^-1, so that R9_TI A^-1 R9_T is block diagonal with blocks [[alpha, -beta], [beta, alpha]]),
# the error-estimate weights R9_DD (an embedded order-5 formula with gamma0 = 1 / R9_GAMMA, scaled
# by R9_GAMMA) and R9_LCOEF, the monomial coefficients (x^1 .. x^5) of the Lagrange basis polynomial of
# each stage on the nodes (0, c1, ..., c5), which give the collocation polynomial of a step.
# Derived and checked by tests/solve/test_radau_tableau.py.
R9_S = 5
R9_NIT = 7
R9_C = np.array((0.05710419611451767, 0.27684301363812347, 0.583590432368917, 0.8602401356562194, 1.0))
R9_GAMMA = 6.286704751729255
R9_ALPHA = np.array((3.655694325463603, 5.700953298671763))
R9_BETA = np.array((6.543736899360124, 3.2102656003085466))
R9_DD = np.array(
    (-27.780933944064625, 3.6414784980491643, -1.252547721168998, 0.5920031671845695, -0.20000000000003293)
)
R9_T = np.array(
    [
        (0.012517586220501711, 0.008540546173129757, -0.03975386148245715, -0.010417478092524192, -0.01272390806905865),
        (
            0.0014916701518936425,
            -0.041837694342678235,
            0.07866056394572453,
            -0.006959948612560975,
            0.022424596625284187,
        ),
        (0.07298187638808791, 0.19224022092404583, -0.08564108631246037, 0.017605332156907412, 0.07423899116929966),
        (0.3800914400035679, -0.3151147483471888, -0.38920437270087704, 0.36992382532789114, 0.1812244242150822),
        (0.9219789736812104, -0.833870952857232, -0.0, 0.9075632048996077, -0.0),
    ]
)
R9_TI = np.array(
    [
        (30.041567721544254, 13.86510785627144, 3.4800027747952216, -1.032008797825238, 0.8043030450739801),
        (-6.4088890727312835, -5.508784725045842, 3.6412832381981945, -1.259979360872808, 0.3271232927944306),
        (-4.494771996311307, 4.778875823278564, 1.2524907337633666, -1.4200021766925857, 0.5395532349642052),
        (-36.40724969361632, -19.14682457954646, -0.18966068955286416, -0.10927038188324499, 0.5853345673010946),
        (-9.48853361769814, 10.687951381415335, 2.109746879732488, 2.6650397383093805, -1.1541493554172395),
    ]
)
R9_LCOEF = np.array(
    [
        (27.78093394406465, -208.02785730090153, 524.1878839694925, -543.8283560361332, 199.88739542347767),
        (-3.6414784980492145, 77.88337605511788, -264.89491356822646, 317.67586907995286, -127.02285306879506),
        (1.2525477211691154, -29.167414317829632, 137.90290440413455, -202.09087094360717, 92.10283313613313),
        (-0.5920031671845422, 14.111895563613192, -72.39587480540023, 123.04335789978715, -64.16737549081559),
        (0.1999999999999996, -4.799999999999991, 25.19999999999997, -44.799999999999955, 25.199999999999985),
    ]
)

LOG_FLOOR = -708.0  # exp(-708) is the smallest normal double's order of magnitude


@njit(cache=True, inline="always", error_model="numpy")
def _fz(z, mask, p, rate, y, dy, out):
    """Right-hand side in integration coordinates: out = dz/dt."""
    n = z.shape[0]
    for k in range(n):
        if mask[k]:
            zk = z[k]
            if zk < LOG_FLOOR:
                zk = LOG_FLOOR
            y[k] = math.exp(zk)
        else:
            y[k] = z[k]
    rhs(y, p, dy)
    for k in range(n):
        f = dy[k] + rate[k]
        if mask[k]:
            out[k] = f / y[k]
        else:
            out[k] = f


@njit(cache=True, inline="always", error_model="numpy")
def _lu(a, piv):
    """In-place LU factorisation with partial pivoting (real or complex). False if singular."""
    n = a.shape[0]
    for k in range(n):
        m = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            v = abs(a[i, k])
            if v > big:
                big = v
                m = i
        piv[k] = m
        if big == 0.0 or not math.isfinite(big):
            return False
        if m != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[m, j]
                a[m, j] = tmp
        inv = 1.0 / a[k, k]
        for i in range(k + 1, n):
            a[i, k] *= inv
            lik = a[i, k]
            if lik != 0.0:
                for j in range(k + 1, n):
                    a[i, j] -= lik * a[k, j]
    return True


@njit(cache=True, inline="always", error_model="numpy")
def _solve(a, piv, b):
    """Solve a x = b in place given the factorisation from _lu."""
    n = a.shape[0]
    for k in range(n):
        m = piv[k]
        if m != k:
            tmp = b[k]
            b[k] = b[m]
            b[m] = tmp
    for i in range(n):
        s = b[i]
        for j in range(i):
            s -= a[i, j] * b[j]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= a[i, j] * b[j]
        b[i] = s / a[i, i]


@njit(cache=True, inline="always", error_model="numpy")
def _to_state(z, mask, ystate):
    for k in range(z.shape[0]):
        ystate[k] = math.exp(z[k]) if mask[k] else z[k]


@njit(cache=True, inline="always", error_model="numpy")
def _choose_coordinates(ystate, eligible, mask, z, first):
    """(Re)map states to integration coordinates at a (re)start.

    At the first start every positive log-eligible state goes to log mode. At later restarts a
    state keeps its mode while positive (a linear-mode state switches once it declines).
    """
    for k in range(ystate.shape[0]):
        v = ystate[k]
        if v < 0.0:
            v = 0.0
        if eligible[k] and v > 0.0 and (first or mask[k]):
            mask[k] = True
            z[k] = math.log(v)
        else:
            mask[k] = False
            z[k] = v


@njit(cache=True, inline="always", error_model="numpy")
def _hermite(t0, h, z0, z1, f0, f1, t, mask, log_ext, out):
    """Cubic Hermite interpolation at t in [t0, t0 + h], mapped back to states.

    A log-mode value below its extinction threshold is reported as zero (the rule applies from the
    moment the population crosses the threshold, not only at step ends).
    """
    s = (t - t0) / h
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    for k in range(z0.shape[0]):
        v = h00 * z0[k] + h10 * h * f0[k] + h01 * z1[k] + h11 * h * f1[k]
        if mask[k]:
            out[k] = math.exp(v) if v >= log_ext[k] else 0.0
        else:
            out[k] = v if v > 0.0 else 0.0


@njit(cache=True, inline="always", error_model="numpy")
def _apply_event(op, idx, val, p0, p, rate, ystate):
    """Bolus: add to a state. Input: parameter = base + val, or rate into a state = val."""
    if op == OP_ADD_STATE:
        ystate[idx] += val
    elif op == OP_SET_PARAM:
        p[idx] = p0[idx] + val
    else:
        rate[idx] = val


@njit(cache=True, inline="always", error_model="numpy")
def _all_finite(v):
    for k in range(v.shape[0]):
        if not math.isfinite(v[k]):
            return False
    return True


@njit(cache=True, inline="always", error_model="numpy")
def _jacobian(z, f0, mask, p, rate, ybuf, dybuf, zp, fp, jac):
    """Jacobian of dz/dt at z (f0 = dz/dt there). Returns the right-hand-side evaluations used.

    Analytic: dF/dy mapped to integration coordinates. With s_j = y_j (log) or 1,
    dz_k'/dz_j = dF_k/dy_j * s_j / y_k - [k == j] F_k / y_k for a log-mode row k.
    """
    n = z.shape[0]
    if HAS_JAC:
        for k in range(n):
            if mask[k]:
                zk = z[k] if z[k] > LOG_FLOOR else LOG_FLOOR
                ybuf[k] = math.exp(zk)
            else:
                ybuf[k] = z[k]
        jac_y(ybuf, p, jac)
        for k in range(n):
            for j in range(n):
                v = jac[k, j]
                if mask[j]:
                    v *= ybuf[j]
                if mask[k]:
                    v /= ybuf[k]
                jac[k, j] = v
            if mask[k]:
                jac[k, k] -= f0[k]
        return 1
    for j in range(n):
        for k in range(n):
            zp[k] = z[k]
        dz = 1.4901161193847656e-08 * max(abs(z[j]), 1.0)
        zp[j] = z[j] + dz
        dz = zp[j] - z[j]
        _fz(zp, mask, p, rate, ybuf, dybuf, fp)
        for k in range(n):
            jac[k, j] = (fp[k] - f0[k]) / dz
    return n


@njit(cache=True, inline="always", error_model="numpy")
def _weight(zk, logmode, rtol, atolk, log_extk):
    """Error weight of one component in its own coordinates.

    Linear mode: ``atol + rtol |y|``. Log mode: ``rtol (1 + y_ext / y)`` on ``z = ln y``, i.e.
    relative accuracy down to the extinction threshold ``y_ext``. Not ``atol / y``: a population
    that dips far below ``atol`` and regrows (Kirschner-Panetta limit cycles reach 1e-4 ... 1e-14
    cells) carries any error in the depth of its dip, multiplied, into every later value.
    """
    if logmode:
        d = log_extk - zk
        if d < -37.0:
            # exp(d) < 2**-53: 1 + exp(d) rounds to exactly 1, so skip the exponential
            return rtol
        return rtol * (1.0 + math.exp(min(d, 700.0)))
    return atolk + rtol * abs(zk)


@njit(cache=True, inline="always", error_model="numpy")
def _scale(z, mask, rtol, atol, log_ext, sc):
    for k in range(z.shape[0]):
        sc[k] = _weight(z[k], mask[k], rtol, atol[k], log_ext[k])


@njit(cache=True, inline="always", error_model="numpy")
def _rodas4_attempt(z, f0, jac, h, mask, p, rate, ybuf, dybuf, e, piv, u, fu, ks, znew, sc, rtol, atol, log_ext):
    """One Rodas4 step attempt from z. Returns (code, err, rhs evaluations); code 0 = computed,
    2 = singular matrix. znew receives the order-4 solution."""
    n = z.shape[0]
    fac = 1.0 / (h * GAMMA)
    for i in range(n):
        for j in range(n):
            e[i, j] = -jac[i, j]
        e[i, i] += fac
    if not _lu(e, piv):
        return 2, 0.0, 0
    ih = 1.0 / h
    k1 = ks[0]
    k2 = ks[1]
    k3 = ks[2]
    k4 = ks[3]
    k5 = ks[4]
    k6 = ks[5]
    for k in range(n):
        k1[k] = f0[k]
    _solve(e, piv, k1)
    for k in range(n):
        u[k] = z[k] + A21 * k1[k]
    _fz(u, mask, p, rate, ybuf, dybuf, fu)
    for k in range(n):
        k2[k] = fu[k] + C21 * ih * k1[k]
    _solve(e, piv, k2)
    for k in range(n):
        u[k] = z[k] + A31 * k1[k] + A32 * k2[k]
    _fz(u, mask, p, rate, ybuf, dybuf, fu)
    for k in range(n):
        k3[k] = fu[k] + ih * (C31 * k1[k] + C32 * k2[k])
    _solve(e, piv, k3)
    for k in range(n):
        u[k] = z[k] + A41 * k1[k] + A42 * k2[k] + A43 * k3[k]
    _fz(u, mask, p, rate, ybuf, dybuf, fu)
    for k in range(n):
        k4[k] = fu[k] + ih * (C41 * k1[k] + C42 * k2[k] + C43 * k3[k])
    _solve(e, piv, k4)
    for k in range(n):
        u[k] = z[k] + A51 * k1[k] + A52 * k2[k] + A53 * k3[k] + A54 * k4[k]
    _fz(u, mask, p, rate, ybuf, dybuf, fu)
    for k in range(n):
        k5[k] = fu[k] + ih * (C51 * k1[k] + C52 * k2[k] + C53 * k3[k] + C54 * k4[k])
    _solve(e, piv, k5)
    # embedded solution u + k5 (order 3); the difference k6 is the error estimate
    for k in range(n):
        u[k] = u[k] + k5[k]
    _fz(u, mask, p, rate, ybuf, dybuf, fu)
    for k in range(n):
        k6[k] = fu[k] + ih * (C61 * k1[k] + C62 * k2[k] + C63 * k3[k] + C64 * k4[k] + C65 * k5[k])
    _solve(e, piv, k6)
    err = 0.0
    for k in range(n):
        znew[k] = u[k] + k6[k]
        s = _weight(max(z[k], znew[k]), mask[k], rtol, atol[k], log_ext[k]) if mask[k] else sc[k]
        if not mask[k]:
            s = max(s, atol[k] + rtol * abs(znew[k]))
        err += (k6[k] / s) ** 2
    return 0, math.sqrt(err / n), 5


@njit(cache=True, inline="always", error_model="numpy")
def _radau_step_factor(err, newt, nit, expo, first, hacc, h, erracc):
    """RADAU's step-size factor after a computed step: the classical controller err**-expo
    (expo = 1 / (order of the error estimate + 1)), damped by the Newton iterations taken, and
    after an accepted step the predictive (Gustafsson) controller where it asks for a smaller step."""
    fac = min(SAFE, SAFE * (1.0 + 2.0 * nit) / (newt + 2.0 * nit))
    quot = max(0.125, min(5.0, err**expo / fac))
    if err < 1.0 and not first and hacc > 0.0:
        facgus = (hacc / h) * (err * err / erracc) ** expo / SAFE
        facgus = max(0.125, min(5.0, facgus))
        quot = max(quot, facgus)
    return 1.0 / quot


@njit(cache=True, inline="always", error_model="numpy")
def _stage_f(z, zz, ns, mask, p, rate, ybuf, dybuf, u, fu, ff):
    """ff[i] = f(z + zz[i]) for the ns stages of a Radau IIA step."""
    n = z.shape[0]
    for i in range(ns):
        for k in range(n):
            u[k] = z[k] + zz[i, k]
        _fz(u, mask, p, rate, ybuf, dybuf, fu)
        for k in range(n):
            ff[i, k] = fu[k]


@njit(cache=True, inline="always", error_model="numpy")
def _newton_tolerance(rtol):
    """RADAU5's stopping tolerance of the Newton iterations, in units of the error weights."""
    return max(10.0 * 2.220446049250313e-16 / rtol, min(0.03, math.sqrt(rtol)))


@njit(cache=True, inline="always", error_model="numpy")
def _newton_rate(newt, nit, dyno, dynold, thqold, faccon, fnewt):
    """RADAU's convergence monitor after Newton iteration ``newt`` (> 1) of at most ``nit``.

    Returns (diverging, h factor, thqold, faccon): diverging when the contraction rate theta is
    >= 0.99 (retry with h / 2) or when the predicted error after the remaining iterations stays
    above ``fnewt`` (retry with a step that should converge).
    """
    thq = dyno / dynold
    theta = thq if newt == 2 else math.sqrt(thq * thqold)
    thqold = thq
    if theta < 0.99:
        faccon = theta / (1.0 - theta)
        dyth = faccon * dyno * theta ** (nit - 1 - newt) / fnewt
        if dyth >= 1.0:
            qnewt = max(1.0e-4, min(20.0, dyth))
            return True, 0.8 * qnewt ** (-1.0 / (4.0 + nit - 1 - newt)), thqold, faccon
        return False, 1.0, thqold, faccon
    return True, 0.5, thqold, faccon


@njit(cache=True, inline="always", error_model="numpy")
def _radau_error(z, e1, piv1, ff, sc, refine, mask, p, rate, ybuf, dybuf, u, fu):
    """Radau IIA error estimate from ff[1] = sum_i d_i Z_i / h and ff[2] = ff[1] + f0.

    Solves (I/(h gamma0) - J) err = ff[2] in place; after a rejected or first step an estimate
    >= 1 is refined once with f at z + err (Hairer & Wanner IV.8). Returns (scaled error norm,
    extra right-hand-side evaluations).
    """
    n = z.shape[0]
    row2 = ff[2]
    _solve(e1, piv1, row2)
    err = 0.0
    for k in range(n):
        err += (ff[2, k] / sc[k]) ** 2
    err = max(math.sqrt(err / n), 1e-10)
    if err >= 1.0 and refine:
        for k in range(n):
            u[k] = z[k] + ff[2, k]
        _fz(u, mask, p, rate, ybuf, dybuf, fu)
        for k in range(n):
            ff[2, k] = fu[k] + ff[1, k]
        _solve(e1, piv1, row2)
        err = 0.0
        for k in range(n):
            err += (ff[2, k] / sc[k]) ** 2
        return max(math.sqrt(err / n), 1e-10), 1
    return err, 0


@njit(cache=True, inline="always", error_model="numpy")
def _radau5_attempt(
    z,
    f0,
    jac,
    h,
    hold,
    mask,
    p,
    rate,
    ybuf,
    dybuf,
    e1,
    piv1,
    e2,
    piv2,
    cb,
    u,
    fu,
    w,
    zz,
    ff,
    cont,
    have_cont,
    refine,
    znew,
    sc,
    rtol,
    faccon,
):
    """One Radau IIA step attempt from z.

    Returns (code, err, newton iterations, rhs evaluations, h factor, faccon); code 0 = computed,
    1 = Newton failure (retry with h * factor), 2 = singular matrices. On success zz[0..2] hold
    the stage increments Z_i and znew = z + Z_3.
    """
    n = z.shape[0]
    fac1 = U1 / h
    alphn = ALPH / h
    betan = BETA / h
    for i in range(n):
        for j in range(n):
            e1[i, j] = -jac[i, j]
            e2[i, j] = complex(-jac[i, j], 0.0)
        e1[i, i] += fac1
        e2[i, i] += complex(alphn, betan)
    if not _lu(e1, piv1) or not _lu(e2, piv2):
        return 2, 0.0, 0, 0, 0.5, faccon
    # starting values: the previous step's collocation polynomial, else zero
    if have_cont:
        c3q = h / hold
        c1q = RC1 * c3q
        c2q = RC2 * c3q
        for k in range(n):
            ak1 = cont[0, k]
            ak2 = cont[1, k]
            ak3 = cont[2, k]
            z1 = c1q * (ak1 + (c1q - RC2M1) * (ak2 + (c1q - RC1M1) * ak3))
            z2 = c2q * (ak1 + (c2q - RC2M1) * (ak2 + (c2q - RC1M1) * ak3))
            z3 = c3q * (ak1 + (c3q - RC2M1) * (ak2 + (c3q - RC1M1) * ak3))
            zz[0, k] = z1
            zz[1, k] = z2
            zz[2, k] = z3
            w[0, k] = TI11 * z1 + TI12 * z2 + TI13 * z3
            w[1, k] = TI21 * z1 + TI22 * z2 + TI23 * z3
            w[2, k] = TI31 * z1 + TI32 * z2 + TI33 * z3
    else:
        zz[:3] = 0.0
        w[:3] = 0.0
    fnewt = _newton_tolerance(rtol)
    faccon = max(faccon, 2.220446049250313e-16) ** 0.8
    thqold = 1.0
    dynold = 1.0
    newt = 0
    nfev = 0
    while True:
        if newt >= NIT:
            return 1, 0.0, newt, nfev, 0.5, faccon
        _stage_f(z, zz, 3, mask, p, rate, ybuf, dybuf, u, fu, ff)
        nfev += 3
        dyno = 0.0
        for k in range(n):
            a1 = TI11 * ff[0, k] + TI12 * ff[1, k] + TI13 * ff[2, k]
            a2 = TI21 * ff[0, k] + TI22 * ff[1, k] + TI23 * ff[2, k]
            a3 = TI31 * ff[0, k] + TI32 * ff[1, k] + TI33 * ff[2, k]
            ff[0, k] = a1 - fac1 * w[0, k]
            cb[k] = complex(a2 - alphn * w[1, k] + betan * w[2, k], a3 - betan * w[1, k] - alphn * w[2, k])
        row = ff[0]
        _solve(e1, piv1, row)
        _solve(e2, piv2, cb)
        for k in range(n):
            d1 = ff[0, k]
            d2 = cb[k].real
            d3 = cb[k].imag
            if not (math.isfinite(d1) and math.isfinite(d2) and math.isfinite(d3)):
                return 1, 0.0, newt, nfev, 0.25, faccon
            dyno += (d1 / sc[k]) ** 2 + (d2 / sc[k]) ** 2 + (d3 / sc[k]) ** 2
        newt += 1
        dyno = math.sqrt(dyno / (3 * n))
        if newt > 1 and newt < NIT:
            diverging, hfac, thqold, faccon = _newton_rate(newt, NIT, dyno, dynold, thqold, faccon, fnewt)
            if diverging:
                return 1, 0.0, newt, nfev, hfac, faccon
        dynold = max(dyno, 2.220446049250313e-16)
        for k in range(n):
            w[0, k] += ff[0, k]
            w[1, k] += cb[k].real
            w[2, k] += cb[k].imag
            zz[0, k] = T11 * w[0, k] + T12 * w[1, k] + T13 * w[2, k]
            zz[1, k] = T21 * w[0, k] + T22 * w[1, k] + T23 * w[2, k]
            zz[2, k] = T31 * w[0, k] + w[1, k]
        if faccon * dyno <= fnewt:
            break
    # error estimate
    for k in range(n):
        f2 = (DD1 * zz[0, k] + DD2 * zz[1, k] + DD3 * zz[2, k]) / h
        ff[1, k] = f2
        cont_k = f2 + f0[k]
        ff[2, k] = cont_k
    err, extra = _radau_error(z, e1, piv1, ff, sc, refine, mask, p, rate, ybuf, dybuf, u, fu)
    nfev += extra
    if not math.isfinite(err):
        return 1, 0.0, newt, nfev, 0.25, faccon
    for k in range(n):
        znew[k] = z[k] + zz[2, k]
    return 0, err, newt, nfev, 1.0, faccon


@njit(cache=True, inline="always", error_model="numpy")
def _poly9(cont9, k, x):
    """The collocation polynomial (increment over the step start) of component k at x = (t - t0) / h."""
    return x * (cont9[0, k] + x * (cont9[1, k] + x * (cont9[2, k] + x * (cont9[3, k] + x * cont9[4, k]))))


@njit(cache=True, inline="always", error_model="numpy")
def _radau9_attempt(
    z,
    f0,
    jac,
    h,
    hold,
    mask,
    p,
    rate,
    ybuf,
    dybuf,
    e1,
    piv1,
    e2s,
    piv2s,
    cbs,
    u,
    fu,
    w,
    zz,
    ff,
    cont9,
    have_cont,
    refine,
    znew,
    sc,
    rtol,
    faccon,
):
    """One five-stage Radau IIA (order 9) step attempt from z; same contract as _radau5_attempt.

    On success zz[0..4] hold the stage increments Z_i and znew = z + Z_5; cont9 holds the previous
    accepted step's collocation polynomial (see _poly9), which gives the starting values.
    """
    n = z.shape[0]
    fac1 = R9_GAMMA / h
    for i in range(n):
        for j in range(n):
            e1[i, j] = -jac[i, j]
        e1[i, i] += fac1
    if not _lu(e1, piv1):
        return 2, 0.0, 0, 0, 0.5, faccon
    for m in range(2):
        e2 = e2s[m]
        for i in range(n):
            for j in range(n):
                e2[i, j] = complex(-jac[i, j], 0.0)
            e2[i, i] += complex(R9_ALPHA[m] / h, R9_BETA[m] / h)
        if not _lu(e2, piv2s[m]):
            return 2, 0.0, 0, 0, 0.5, faccon
    # starting values: the previous step's collocation polynomial, else zero
    if have_cont:
        ratio = h / hold
        for k in range(n):
            q1 = _poly9(cont9, k, 1.0)
            for i in range(R9_S):
                zz[i, k] = _poly9(cont9, k, 1.0 + R9_C[i] * ratio) - q1
        for i in range(R9_S):
            for k in range(n):
                acc = 0.0
                for j in range(R9_S):
                    acc += R9_TI[i, j] * zz[j, k]
                w[i, k] = acc
    else:
        zz[:R9_S] = 0.0
        w[:R9_S] = 0.0
    fnewt = _newton_tolerance(rtol)
    faccon = max(faccon, 2.220446049250313e-16) ** 0.8
    thqold = 1.0
    dynold = 1.0
    newt = 0
    nfev = 0
    while True:
        if newt >= R9_NIT:
            return 1, 0.0, newt, nfev, 0.5, faccon
        _stage_f(z, zz, R9_S, mask, p, rate, ybuf, dybuf, u, fu, ff)
        nfev += R9_S
        # transformed right-hand sides, in place of ff: row 0 real, rows (1, 2) and (3, 4) pairs
        for k in range(n):
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            a4 = 0.0
            for j in range(R9_S):
                fj = ff[j, k]
                a0 += R9_TI[0, j] * fj
                a1 += R9_TI[1, j] * fj
                a2 += R9_TI[2, j] * fj
                a3 += R9_TI[3, j] * fj
                a4 += R9_TI[4, j] * fj
            ff[0, k] = a0 - fac1 * w[0, k]
            al = R9_ALPHA[0] / h
            be = R9_BETA[0] / h
            cbs[0, k] = complex(a1 - al * w[1, k] + be * w[2, k], a2 - be * w[1, k] - al * w[2, k])
            al = R9_ALPHA[1] / h
            be = R9_BETA[1] / h
            cbs[1, k] = complex(a3 - al * w[3, k] + be * w[4, k], a4 - be * w[3, k] - al * w[4, k])
        row = ff[0]
        _solve(e1, piv1, row)
        _solve(e2s[0], piv2s[0], cbs[0])
        _solve(e2s[1], piv2s[1], cbs[1])
        dyno = 0.0
        for k in range(n):
            d0 = ff[0, k]
            d1 = cbs[0, k].real
            d2 = cbs[0, k].imag
            d3 = cbs[1, k].real
            d4 = cbs[1, k].imag
            if not (
                math.isfinite(d0)
                and math.isfinite(d1)
                and math.isfinite(d2)
                and math.isfinite(d3)
                and math.isfinite(d4)
            ):
                return 1, 0.0, newt, nfev, 0.25, faccon
            isc = 1.0 / sc[k]
            dyno += (d0 * isc) ** 2 + (d1 * isc) ** 2 + (d2 * isc) ** 2 + (d3 * isc) ** 2 + (d4 * isc) ** 2
        newt += 1
        dyno = math.sqrt(dyno / (R9_S * n))
        if newt > 1 and newt < R9_NIT:
            diverging, hfac, thqold, faccon = _newton_rate(newt, R9_NIT, dyno, dynold, thqold, faccon, fnewt)
            if diverging:
                return 1, 0.0, newt, nfev, hfac, faccon
        dynold = max(dyno, 2.220446049250313e-16)
        for k in range(n):
            w[0, k] += ff[0, k]
            w[1, k] += cbs[0, k].real
            w[2, k] += cbs[0, k].imag
            w[3, k] += cbs[1, k].real
            w[4, k] += cbs[1, k].imag
            for i in range(R9_S):
                acc = 0.0
                for j in range(R9_S):
                    acc += R9_T[i, j] * w[j, k]
                zz[i, k] = acc
        if faccon * dyno <= fnewt:
            break
    # error estimate (embedded order-5 formula, filtered by (I/(h gamma0) - J)^-1)
    for k in range(n):
        f2 = 0.0
        for j in range(R9_S):
            f2 += R9_DD[j] * zz[j, k]
        f2 /= h
        ff[1, k] = f2
        ff[2, k] = f2 + f0[k]
    err, extra = _radau_error(z, e1, piv1, ff, sc, refine, mask, p, rate, ybuf, dybuf, u, fu)
    nfev += extra
    if not math.isfinite(err):
        return 1, 0.0, newt, nfev, 0.25, faccon
    for k in range(n):
        znew[k] = z[k] + zz[R9_S - 1, k]
    return 0, err, newt, nfev, 1.0, faccon


@njit(cache=True, inline="always", error_model="numpy")
def _colloc9(t0, h, z0, cont9, t, mask, log_ext, out):
    """Five-stage Radau IIA dense output: the step's collocation polynomial at t in [t0, t0 + h]."""
    x = (t - t0) / h
    for k in range(z0.shape[0]):
        v = z0[k] + _poly9(cont9, k, x)
        if mask[k]:
            out[k] = math.exp(v) if v >= log_ext[k] else 0.0
        else:
            out[k] = v if v > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def solve_one(
    y0,
    p0,
    ev_t,
    ev_op,
    ev_idx,
    ev_val,
    n_ev,
    t_out,
    t0,
    eligible,
    log_ext,
    rtol,
    atol,
    max_steps,
    h_init,
    out,
    stats,
):
    """Integrate one patient; write states at t_out into out[T, n]. Returns a status code.

    stats[0] = accepted steps, stats[1] = rejected steps, stats[2] = right-hand-side evaluations.
    """
    n = y0.shape[0]
    n_out = t_out.shape[0]
    p = p0.copy()
    rate = np.zeros(n)
    mask = np.zeros(n, dtype=np.bool_)
    z = np.empty(n)
    ystate = y0.copy()
    ybuf = np.empty(n)
    dybuf = np.empty(n)
    f0 = np.empty(n)
    f1 = np.empty(n)
    fu = np.empty(n)
    u = np.empty(n)
    zp = np.empty(n)
    fp = np.empty(n)
    jac = np.empty((n, n))
    e = np.empty((n, n))
    piv = np.zeros(n, dtype=np.int64)
    e2 = np.empty((n, n), dtype=np.complex128)
    piv2 = np.zeros(n, dtype=np.int64)
    cb = np.empty(n, dtype=np.complex128)
    ks = np.empty((6, n))
    w = np.empty((3, n))
    zz = np.empty((3, n))
    ff = np.empty((3, n))
    cont = np.zeros((3, n))
    # five-stage Radau IIA work arrays (unused by the other methods)
    w9 = np.empty((R9_S, n))
    zz9 = np.empty((R9_S, n))
    ff9 = np.empty((R9_S, n))
    cont9 = np.zeros((R9_S, n))
    e2s = np.empty((2, n, n), dtype=np.complex128)
    piv2s = np.zeros((2, n), dtype=np.int64)
    cbs = np.empty((2, n), dtype=np.complex128)
    znew = np.empty(n)
    sc = np.empty(n)
    log_switch = np.empty(n)
    for k in range(n):
        log_switch[k] = 1e4 * atol[k]
    for j in range(n_out):
        for k in range(n):
            out[j, k] = np.nan
    stats[0] = 0
    stats[1] = 0
    stats[2] = 0

    t = t0
    t_end = t_out[n_out - 1]
    ie = 0
    jo = 0
    # events at or before t0 (validated to be >= t0)
    while ie < n_ev and ev_t[ie] <= t:
        _apply_event(ev_op[ie], ev_idx[ie], ev_val[ie], p0, p, rate, ystate)
        ie += 1
    while jo < n_out and t_out[jo] <= t:
        for k in range(n):
            out[jo, k] = ystate[k] if ystate[k] > 0.0 else 0.0
        jo += 1
    if jo >= n_out:
        return ST_OK
    _choose_coordinates(ystate, eligible, mask, z, True)
    _fz(z, mask, p, rate, ybuf, dybuf, f0)
    stats[2] += 1
    if not _all_finite(f0):
        return ST_NONFINITE

    h = h_init
    # Radau controller memory
    have_cont = False
    hold = 1.0
    faccon = 1.0
    hacc = 0.0
    erracc = 1e-2
    first = True
    rejected = False
    while True:
        tb = t_end
        if ie < n_ev and ev_t[ie] < tb:
            tb = ev_t[ie]
        # ---- integrate [t, tb] -----------------------------------------------------------
        if h <= 0.0:
            # Hairer-style initial step from the scaled size of z and f.
            d0 = 0.0
            d1 = 0.0
            for k in range(n):
                s = _weight(z[k], mask[k], rtol, atol[k], log_ext[k])
                d0 += (z[k] / s) ** 2
                d1 += (f0[k] / s) ** 2
            d0 = math.sqrt(d0 / n)
            d1 = math.sqrt(d1 / n)
            if d0 < 1e-5 or d1 < 1e-5:
                h = 1e-6 * max(1.0, tb - t)
            else:
                h = 0.01 * d0 / d1
        hmin = 1e-14 * max(1.0, abs(t))
        while t < tb:
            if stats[0] + stats[1] >= max_steps:
                return ST_MAX_STEPS
            last = False
            h_prop = h
            if h >= tb - t or t + h >= tb - 1e-12 * max(1.0, abs(tb)):
                h = tb - t
                last = True
            if h < hmin and not last:
                return ST_STEP_UNDERFLOW
            stats[2] += _jacobian(z, f0, mask, p, rate, ybuf, dybuf, zp, fp, jac)
            _scale(z, mask, rtol, atol, log_ext, sc)
            if METHOD == M_RODAS4:
                code, err, nfev = _rodas4_attempt(
                    z, f0, jac, h, mask, p, rate, ybuf, dybuf, e, piv, u, fu, ks, znew, sc, rtol, atol, log_ext
                )
                stats[2] += nfev
                if code == 0 and math.isfinite(err):
                    hfac = min(6.0, max(0.2, 0.9 * err**-0.25)) if err > 0.0 else 6.0
                else:
                    hfac = 0.25
            elif METHOD == M_RADAU9:
                code, err, newt, nfev, hfac, faccon = _radau9_attempt(
                    z,
                    f0,
                    jac,
                    h,
                    hold,
                    mask,
                    p,
                    rate,
                    ybuf,
                    dybuf,
                    e,
                    piv,
                    e2s,
                    piv2s,
                    cbs,
                    u,
                    fu,
                    w9,
                    zz9,
                    ff9,
                    cont9,
                    have_cont,
                    first or rejected,
                    znew,
                    sc,
                    rtol,
                    faccon,
                )
                stats[2] += nfev
                if code == 0:
                    hfac = _radau_step_factor(err, newt, R9_NIT, 1.0 / 6.0, first, hacc, h, erracc)
            else:
                code, err, newt, nfev, hfac, faccon = _radau5_attempt(
                    z,
                    f0,
                    jac,
                    h,
                    hold,
                    mask,
                    p,
                    rate,
                    ybuf,
                    dybuf,
                    e,
                    piv,
                    e2,
                    piv2,
                    cb,
                    u,
                    fu,
                    w,
                    zz,
                    ff,
                    cont,
                    have_cont,
                    first or rejected,
                    znew,
                    sc,
                    rtol,
                    faccon,
                )
                stats[2] += nfev
                if code == 0:
                    hfac = _radau_step_factor(err, newt, NIT, 0.25, first, hacc, h, erracc)
            if code != 0 or not (err <= 1.0):
                stats[1] += 1
                rejected = True
                if code == 0 and first:
                    hfac = 0.1
                h = h * hfac
                if h < hmin:
                    if code == 2:
                        return ST_SINGULAR
                    return ST_NONFINITE if code == 1 else ST_STEP_UNDERFLOW
                continue
            # accepted
            t_new = tb if last else t + h
            _fz(znew, mask, p, rate, ybuf, dybuf, f1)
            stats[2] += 1
            if not _all_finite(f1):
                stats[1] += 1
                rejected = True
                h *= 0.2
                if h < hmin:
                    return ST_NONFINITE
                continue
            stats[0] += 1
            hstep = t_new - t
            if METHOD == M_RADAU9:
                # collocation polynomial of this step: dense output, and starting values of the next one
                for k in range(n):
                    for d in range(R9_S):
                        acc = 0.0
                        for j in range(R9_S):
                            acc += R9_LCOEF[j, d] * zz9[j, k]
                        cont9[d, k] = acc
                while jo < n_out and t_out[jo] < t_new:
                    _colloc9(t, hstep, z, cont9, t_out[jo], mask, log_ext, out[jo])
                    jo += 1
            else:
                while jo < n_out and t_out[jo] < t_new:
                    _hermite(t, hstep, z, znew, f0, f1, t_out[jo], mask, log_ext, out[jo])
                    jo += 1
            if METHOD == M_RADAU5:
                # collocation polynomial of this step: starting values of the next one
                for k in range(n):
                    c1 = (zz[1, k] - zz[2, k]) / RC2M1
                    ak = (zz[0, k] - zz[1, k]) / RC1MC2
                    acont3 = (ak - zz[0, k] / RC1) / RC2
                    c2 = (ak - c1) / RC1M1
                    cont[0, k] = c1
                    cont[1, k] = c2
                    cont[2, k] = c2 - acont3
            if METHOD == M_RADAU5 or METHOD == M_RADAU9:
                have_cont = True
                hold = hstep
                hacc = hstep
                erracc = max(1e-2, err)
            # positivity, extinction and coordinate switches
            changed = False
            for k in range(n):
                if mask[k]:
                    if znew[k] < log_ext[k]:
                        znew[k] = 0.0
                        mask[k] = False
                        changed = True
                else:
                    if znew[k] < 0.0:
                        znew[k] = 0.0
                        changed = True
                    elif eligible[k] and f1[k] < 0.0 and znew[k] > log_switch[k]:
                        # a declining population: follow it in log space from now on
                        znew[k] = math.log(znew[k])
                        mask[k] = True
                        changed = True
            for k in range(n):
                z[k] = znew[k]
            if changed:
                _fz(z, mask, p, rate, ybuf, dybuf, f1)
                stats[2] += 1
                have_cont = False
            for k in range(n):
                f0[k] = f1[k]
            t = t_new
            h_next = h * hfac
            if rejected:
                h_next = min(h_next, h)
            h = max(h_prop, h_next) if last else h_next
            first = False
            rejected = False
        # ---- at tb: events, then outputs at tb ----------------------------------------------
        _to_state(z, mask, ystate)
        had_event = False
        while ie < n_ev and ev_t[ie] <= tb:
            _apply_event(ev_op[ie], ev_idx[ie], ev_val[ie], p0, p, rate, ystate)
            ie += 1
            had_event = True
        while jo < n_out and t_out[jo] <= tb:
            for k in range(n):
                out[jo, k] = ystate[k] if ystate[k] > 0.0 else 0.0
            jo += 1
        if jo >= n_out or tb >= t_end:
            return ST_OK
        if had_event:
            _choose_coordinates(ystate, eligible, mask, z, False)
            _fz(z, mask, p, rate, ybuf, dybuf, f0)
            stats[2] += 1
            have_cont = False
            if not _all_finite(f0):
                return ST_NONFINITE


@njit(cache=True, parallel=True, error_model="numpy")
def solve_batch(
    y0,
    params,
    ev_t,
    ev_op,
    ev_idx,
    ev_val,
    n_ev,
    t_out,
    t0,
    eligible,
    log_ext,
    ext,
    rtol,
    atol,
    max_steps,
    out,
    status,
    stats,
):
    """Integrate every patient of a batch in parallel (one patient per task).

    Shapes: y0[P, n], params[P, m], ev_*[P, E], n_ev[P], t_out[T], out[P, T, n], status[P],
    stats[P, 3]. Patients are independent, so results do not depend on the number of threads.
    Outputs of a log-eligible population below its extinction threshold ``ext`` are reported as
    zero whatever coordinates it was integrated in (a linear-mode state, e.g. one re-seeded by a
    tiny source after extinction, can sit at 1e-20 cells).
    """
    n_pat = y0.shape[0]
    n = y0.shape[1]
    n_t = t_out.shape[0]
    for i in prange(n_pat):
        status[i] = solve_one(
            y0[i],
            params[i],
            ev_t[i],
            ev_op[i],
            ev_idx[i],
            ev_val[i],
            n_ev[i],
            t_out,
            t0,
            eligible,
            log_ext,
            rtol,
            atol,
            max_steps,
            -1.0,
            out[i],
            stats[i],
        )
        oi = out[i]
        for j in range(n_t):
            for k in range(n):
                if eligible[k] and oi[j, k] < ext[k]:
                    oi[j, k] = 0.0
