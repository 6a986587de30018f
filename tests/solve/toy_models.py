"""Small models with closed-form solutions, used to test the engine itself."""

from oncoimmune.models import Model, Parameter, State


def decay_logistic_rhs(y, p, dy):
    A, B = y
    k, r, K, u = p
    dy[0] = -k * A + u
    dy[1] = r * B * (1.0 - B / K)


DECAY_LOGISTIC = Model(
    name="toy_decay_logistic",
    title="first-order decay and logistic growth (analytic test model)",
    citation="closed-form test problem",
    states=(State("A", "mg", "decaying amount", log=False), State("B", "cells", "logistic population")),
    parameters=(
        Parameter("k", 0.5, "1/day", "test value", (0.0, 1e6)),
        Parameter("r", 0.3, "1/day", "test value", (0.0, 10.0)),
        Parameter("K", 1e9, "cells", "test value", (1.0, 1e15)),
        Parameter("u", 0.0, "mg/day", "test input", (0.0, 1e9), input=True),
    ),
    init={"A": 10.0, "B": 1e3},
    init_source="test values",
    rhs=decay_logistic_rhs,
    t_end=30.0,
)


def blowup_rhs(y, p, dy):
    (Y,) = y
    (q,) = p
    dy[0] = q * Y * Y


BLOWUP = Model(
    name="toy_blowup",
    title="y' = q y^2, finite-time blow-up at t = 1/(q y0)",
    citation="closed-form test problem",
    states=(State("Y", "1", "blowing-up quantity"),),
    parameters=(Parameter("q", 1.0, "1/day", "test value", (0.0, 10.0)),),
    init={"Y": 0.1},
    init_source="test value",
    rhs=blowup_rhs,
    t_end=2.0,
)


def kill_rhs(y, p, dy):
    (X,) = y
    (kill,) = p
    dy[0] = -kill * X


KILL = Model(
    name="toy_kill",
    title="x' = -kill x: a population killed towards 1e-300",
    citation="closed-form test problem",
    states=(State("X", "cells", "population under first-order kill"),),
    parameters=(Parameter("kill", 100.0, "1/day", "test value", (0.0, 1e4)),),
    init={"X": 1e6},
    init_source="test value",
    rhs=kill_rhs,
    t_end=10.0,
)


def oscillator_rhs(y, p, dy):
    X, Y = y
    w, c = p
    dy[0] = -w * (Y - c)
    dy[1] = w * (X - c)


OSCILLATOR = Model(
    name="toy_oscillator",
    title="a harmonic oscillator about (c, c): x = c + cos(w t), y = c + sin(w t)",
    citation="closed-form test problem",
    states=(State("X", "1", "first coordinate", log=False), State("Y", "1", "second coordinate", log=False)),
    parameters=(
        Parameter("w", 1.0, "1/day", "test value", (0.0, 100.0)),
        Parameter("c", 2.0, "1", "test value", (1.0, 1e3)),
    ),
    init={"X": 3.0, "Y": 2.0},
    init_source="test values",
    rhs=oscillator_rhs,
    t_end=60.0,
)
