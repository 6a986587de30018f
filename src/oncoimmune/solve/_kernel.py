"""Batched stiff integrator: Rodas4 (Hairer & Wanner) in mixed log/linear coordinates.

This file is a template as well as a module. :mod:`oncoimmune.solve._compile` copies it into a
per-model module in the cache directory, replacing the one line marked ``@@RHS_IMPORT@@`` by an
import of that model's right-hand side, so that numba compiles (and caches on disk) one kernel
per model with the right-hand side inlined. Imported as itself it binds a placeholder model.

Method
------
Rodas4 is a 6-stage, stiffly accurate Rosenbrock method of order 4 with an embedded order-3
solution (Hairer & Wanner, *Solving ODEs II*, 2nd ed., Sect. IV.7; coefficients of ``rodas.f``,
METH = 1). Per step: one Jacobian (analytic, generated from the model by
:mod:`oncoimmune.solve._symbolic`, or forward differences where the right-hand side uses
constructs the generator does not model), one LU factorisation of
``I/(h*gamma) - J`` with partial pivoting, six right-hand-side evaluations and six solves.
The step size follows the standard controller ``h_new = h * min(6, max(0.2, 0.9 * err**-1/4))``.

Coordinates and positivity
--------------------------
A state flagged ``log`` is integrated as ``z = ln y`` while positive, so kill terms that drive
populations to 1e-300 keep exact relative accuracy and never go negative (the error weight of
such a state is ``rtol`` on ``z``, i.e. a relative error on ``y``). Other states are integrated
as they are and clipped at zero after every accepted step (all model states are non-negative).
A positive log-eligible state starts in log mode; one that starts at zero (or is set to zero)
is integrated linearly while it grows (``ln y`` of a state rising from zero has a ``1/t``
singularity) and switches to log mode once it declines above ``1e4 * atol``. A state keeps its
mode across restarts while it stays positive.

Extinction: a log-mode state below its threshold after an accepted step is set to exactly zero
and continues in linear mode (a population of exactly zero stays zero unless a source feeds it);
interpolated outputs below the threshold are reported as zero.

Events
------
Integration restarts at every event time: a bolus adds an amount to a state, and a zero-order
input sets a parameter to (the patient's base value + input) or a rate into a state until the
next event. Outputs at an event
time report the state *after* the events at that time (right-continuous trajectories). Output
between step ends uses cubic Hermite interpolation in the integration coordinates.
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

# Event operations (keep in sync with oncoimmune.solve._events).
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
    """In-place LU factorisation with partial pivoting. Returns False if singular."""
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
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    k5 = np.empty(n)
    k6 = np.empty(n)
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
    eps_fd = 1.4901161193847656e-08
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
                s = rtol if mask[k] else atol[k] + rtol * abs(z[k])
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
            if HAS_JAC:
                # Analytic dF/dy mapped to integration coordinates: with s_j = y_j (log) or 1,
                # dz_k'/dz_j = dF_k/dy_j * s_j / y_k - [k == j] F_k / y_k for a log-mode row k.
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
                stats[2] += 1
            else:
                # Forward differences in integration coordinates.
                for j in range(n):
                    for k in range(n):
                        zp[k] = z[k]
                    dz = eps_fd * max(abs(z[j]), 1.0)
                    zp[j] = z[j] + dz
                    dz = zp[j] - z[j]
                    _fz(zp, mask, p, rate, ybuf, dybuf, fp)
                    for k in range(n):
                        jac[k, j] = (fp[k] - f0[k]) / dz
                stats[2] += n
            fac = 1.0 / (h * GAMMA)
            for i in range(n):
                for j in range(n):
                    e[i, j] = -jac[i, j]
                e[i, i] += fac
            ok = _lu(e, piv)
            if not ok:
                stats[1] += 1
                h *= 0.25
                if h < hmin:
                    return ST_SINGULAR
                continue
            ih = 1.0 / h
            # stage 1
            for k in range(n):
                k1[k] = f0[k]
            _solve(e, piv, k1)
            # stage 2
            for k in range(n):
                u[k] = z[k] + A21 * k1[k]
            _fz(u, mask, p, rate, ybuf, dybuf, fu)
            for k in range(n):
                k2[k] = fu[k] + C21 * ih * k1[k]
            _solve(e, piv, k2)
            # stage 3
            for k in range(n):
                u[k] = z[k] + A31 * k1[k] + A32 * k2[k]
            _fz(u, mask, p, rate, ybuf, dybuf, fu)
            for k in range(n):
                k3[k] = fu[k] + ih * (C31 * k1[k] + C32 * k2[k])
            _solve(e, piv, k3)
            # stage 4
            for k in range(n):
                u[k] = z[k] + A41 * k1[k] + A42 * k2[k] + A43 * k3[k]
            _fz(u, mask, p, rate, ybuf, dybuf, fu)
            for k in range(n):
                k4[k] = fu[k] + ih * (C41 * k1[k] + C42 * k2[k] + C43 * k3[k])
            _solve(e, piv, k4)
            # stage 5
            for k in range(n):
                u[k] = z[k] + A51 * k1[k] + A52 * k2[k] + A53 * k3[k] + A54 * k4[k]
            _fz(u, mask, p, rate, ybuf, dybuf, fu)
            for k in range(n):
                k5[k] = fu[k] + ih * (C51 * k1[k] + C52 * k2[k] + C53 * k3[k] + C54 * k4[k])
            _solve(e, piv, k5)
            # stage 6 (embedded solution u + k5; error estimate k6)
            for k in range(n):
                u[k] = u[k] + k5[k]
            _fz(u, mask, p, rate, ybuf, dybuf, fu)
            for k in range(n):
                k6[k] = fu[k] + ih * (C61 * k1[k] + C62 * k2[k] + C63 * k3[k] + C64 * k4[k] + C65 * k5[k])
            _solve(e, piv, k6)
            stats[2] += 5
            err = 0.0
            for k in range(n):
                znew[k] = u[k] + k6[k]
                if mask[k]:
                    sc[k] = rtol
                else:
                    sc[k] = atol[k] + rtol * max(abs(z[k]), abs(znew[k]))
                err += (k6[k] / sc[k]) ** 2
            err = math.sqrt(err / n)
            if not math.isfinite(err):
                stats[1] += 1
                h *= 0.2
                if h < hmin:
                    return ST_NONFINITE
                continue
            if err > 1.0:
                stats[1] += 1
                h = h * max(0.2, 0.9 * err**-0.25)
                if h < hmin:
                    return ST_STEP_UNDERFLOW
                continue
            # accepted
            t_new = tb if last else t + h
            _fz(znew, mask, p, rate, ybuf, dybuf, f1)
            stats[2] += 1
            if not _all_finite(f1):
                stats[1] += 1
                h *= 0.2
                if h < hmin:
                    return ST_NONFINITE
                continue
            stats[0] += 1
            hstep = t_new - t
            while jo < n_out and t_out[jo] < t_new:
                _hermite(t, hstep, z, znew, f0, f1, t_out[jo], mask, log_ext, out[jo])
                jo += 1
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
            for k in range(n):
                f0[k] = f1[k]
            t = t_new
            if last:
                h = h_prop
            else:
                h = h * min(6.0, max(0.2, 0.9 * err**-0.25)) if err > 0.0 else 6.0 * h
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
    """
    n_pat = y0.shape[0]
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
