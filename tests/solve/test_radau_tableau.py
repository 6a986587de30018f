"""The five-stage Radau IIA (order 9) constants of the kernel, derived again from their definitions.

The kernel hard-codes them (so that every machine compiles the same numbers); this test derives each
from the method's definition (Hairer & Wanner, *Solving ODEs II*, Sect. IV.5 and IV.8) and checks the
hard-coded values, so a mistyped digit or a wrong eigenvector convention cannot pass silently.
"""

import numpy as np
from numpy.polynomial import legendre as L
from numpy.polynomial import polynomial as P

from oncoimmune.solve import _kernel as K

S = 5


def _nodes():
    # Radau right nodes: roots of P_s(2x - 1) - P_{s-1}(2x - 1), the last one at 1
    coef = np.zeros(S + 1)
    coef[S], coef[S - 1] = 1.0, -1.0
    return np.sort((L.legroots(coef).real + 1.0) / 2.0)


def _matrix_a(c):
    # collocation: a_ij = integral from 0 to c_i of the Lagrange polynomial of node j
    a = np.empty((S, S))
    for j in range(S):
        lj = P.polyfromroots(np.delete(c, j))
        lj = lj / P.polyval(c[j], lj)
        ij = P.polyint(lj)
        a[:, j] = P.polyval(c, ij) - P.polyval(0.0, ij)
    return a


def test_nodes_and_order_conditions():
    c = _nodes()
    np.testing.assert_allclose(K.R9_C, c, rtol=0, atol=1e-15)
    a = _matrix_a(K.R9_C)
    b = a[-1]
    # B(2s - 1): the quadrature is exact for polynomials up to degree 2s - 2 = 8
    for k in range(1, 2 * S):
        assert abs(b @ K.R9_C ** (k - 1) - 1.0 / k) < 1e-13
    # C(s): stage order s
    for k in range(1, S + 1):
        np.testing.assert_allclose(a @ K.R9_C ** (k - 1), K.R9_C**k / k, atol=1e-13)


def test_transformation_block_diagonalises_a_inverse():
    ainv = np.linalg.inv(_matrix_a(K.R9_C))
    lam = K.R9_TI @ ainv @ K.R9_T
    want = np.zeros((S, S))
    want[0, 0] = K.R9_GAMMA
    for m in range(2):
        i = 1 + 2 * m
        al, be = K.R9_ALPHA[m], K.R9_BETA[m]
        want[i : i + 2, i : i + 2] = [[al, -be], [be, al]]
    np.testing.assert_allclose(lam, want, atol=1e-10)
    np.testing.assert_allclose(K.R9_TI @ K.R9_T, np.eye(S), atol=1e-12)
    ev = np.linalg.eigvals(ainv)
    assert np.min(np.abs(ev - K.R9_GAMMA)) < 1e-10
    for m in range(2):
        assert np.min(np.abs(ev - complex(K.R9_ALPHA[m], K.R9_BETA[m]))) < 1e-10


def test_error_estimate_weights_give_an_embedded_order_s_formula():
    # y_hat - y = gamma0 h f0 + sum_i e_i Z_i with gamma0 = 1 / gamma; the embedded quadrature on
    # the nodes (0, c) with weight gamma0 at 0 is exact up to degree s - 1; DD = gamma * e.
    a = _matrix_a(K.R9_C)
    g0 = 1.0 / K.R9_GAMMA
    m = np.array([K.R9_C**k for k in range(S)])
    rhs = np.array([1.0 / (k + 1) - (g0 if k == 0 else 0.0) for k in range(S)])
    bhat = np.linalg.solve(m, rhs)
    e = np.linalg.inv(a).T @ (bhat - a[-1])
    np.testing.assert_allclose(K.R9_DD, K.R9_GAMMA * e, rtol=1e-10)


def test_dense_output_coefficients_are_the_lagrange_basis():
    nodes = np.concatenate([[0.0], K.R9_C])
    x = np.linspace(-0.2, 2.5, 11)
    for j in range(S):
        others = np.delete(nodes, j + 1)
        want = np.prod([(x - o) / (K.R9_C[j] - o) for o in others], axis=0)
        got = sum(K.R9_LCOEF[j, d] * x ** (d + 1) for d in range(S))
        np.testing.assert_allclose(got, want, atol=1e-11)
