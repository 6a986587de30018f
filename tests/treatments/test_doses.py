"""Doses, schedules and regimens: immutable values, exact event tables, YAML, clear errors."""

import dataclasses

import numpy as np
import pytest

import oncoimmune as oi
from oncoimmune import Bolus, Infusion, Regimen, cycles, every, get_model

KP = get_model("kirschner_panetta_1998")


def test_every_and_cycles():
    assert every(21, 4) == (0.0, 21.0, 42.0, 63.0)
    assert every(7, 2, start=3) == (3.0, 10.0)
    # 4 weeks on / 2 weeks off, three cycles
    assert cycles(28, 14, 3) == ((0.0, 28.0), (42.0, 70.0), (84.0, 112.0))


def test_values_are_immutable_and_hashable():
    b = Bolus("E", 1e4, (0, 7))
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.amount = 5  # type: ignore[misc]
    r = Regimen((b,), name="x")
    assert hash(r) == hash(Regimen((Bolus("E", 1e4, (0.0, 7.0)),), name="x"))
    assert r == Regimen((Bolus("E", 10000.0, [7, 0]),), name="x")  # times are sorted


def test_event_table_for_bolus_and_overlapping_inputs():
    r = Regimen(
        (
            Bolus("E", 5.0, (1.0, 3.0)),
            Infusion("s1", 100.0, ((0.0, 2.0),)),
            Infusion("s1", 50.0, ((1.0, 4.0),)),
            Infusion("T", 2.0, ((2.0, 3.0),)),
        )
    )
    ev = r.events(KP)
    rows = list(zip(ev.t.tolist(), ev.op.tolist(), ev.idx.tolist(), ev.val.tolist(), strict=True))
    s1 = KP.parameter_index("s1")
    e, t = KP.state_index("E"), KP.state_index("T")
    assert rows == [
        (0.0, 1, s1, 100.0),
        (1.0, 1, s1, 150.0),  # overlap adds up
        (1.0, 0, e, 5.0),
        (2.0, 2, t, 2.0),
        (2.0, 1, s1, 50.0),
        (3.0, 2, t, 0.0),
        (3.0, 0, e, 5.0),
        (4.0, 1, s1, 0.0),
    ]


def test_regimen_addition_concatenates():
    a = Regimen((Bolus("E", 1.0, (0,)),), name="a")
    b = Regimen((Infusion("s2", 1.0, ((0, 1),)),), name="b")
    assert (a + b).doses == a.doses + b.doses
    assert (a + b).name == "a + b"


YAML = """
name: ACI + IL-2
doses:
  - bolus: {target: E, amount: 1e4, every: 7, count: 3}
  - bolus: {target: T, amount: 10, at: [5]}
  - infusion: {target: s1, rate: 550, duration: 2, every: 10, count: 2, start: 1}
  - infusion: {target: s2, rate: 5e6, cycles: {days_on: 28, days_off: 14, count: 2}}
  - infusion: {target: s2, rate: 1e5, intervals: [[0, 5], [10, 15]]}
  - infusion: {target: IL, rate: 3, start: 2, duration: 1}
"""


def test_yaml_round_trip(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(YAML)
    r = Regimen.from_yaml(path)
    assert r.name == "ACI + IL-2"
    assert r.doses[0] == Bolus("E", 1e4, (0.0, 7.0, 14.0))
    assert r.doses[2] == Infusion("s1", 550.0, ((1.0, 3.0), (11.0, 13.0)))
    assert r.doses[3] == Infusion("s2", 5e6, ((0.0, 28.0), (42.0, 70.0)))
    assert r.doses[5] == Infusion("IL", 3.0, ((2.0, 3.0),))
    again = tmp_path / "again.yaml"
    again.write_text(r.to_yaml())
    assert Regimen.from_yaml(again) == r


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Bolus("E", -5, (0,)), "The 'amount' parameter of Bolus must be > 0. Got -5."),
        (lambda: Bolus("E", float("nan"), (0,)), "'amount' parameter of Bolus must be a finite number"),
        (lambda: Bolus("E", 1, (-1,)), r"'times' parameter of Bolus must be >= 0 \(days\). Got -1."),
        (lambda: Bolus("E", 1, ()), "'times' parameter of Bolus must contain at least one day"),
        (lambda: Infusion("s1", 0, ((0, 1),)), "'rate' parameter of Infusion must be > 0. Got 0."),
        (lambda: Infusion("s1", 1, ((3, 1),)), r"'stop' parameter of Infusion must be > start \(3\). Got 1."),
        (lambda: every(0, 3), "'every' parameter of schedule must be > 0"),
        (lambda: every(7, 0), "'count' parameter of schedule must be an integer >= 1. Got 0."),
        (lambda: cycles(0, 14, 2), "'on_days' parameter of cycles must be > 0"),
    ],
)
def test_bad_doses_are_named(make, match):
    with pytest.raises(oi.ValidationError, match=match):
        make()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("doses: []", "'doses' parameter of r.yaml must be a non-empty list"),
        ("doses:\n  - pill: {target: E}", "'doses' parameter of r.yaml doses\\[0\\] must use the keys"),
        ("doses:\n  - bolus: {target: E, at: [1]}", "'amount' parameter of r.yaml doses\\[0\\] must be given"),
        (
            "doses:\n  - bolus: {target: E, amount: -3, at: [1]}",
            "'amount' parameter of r.yaml doses\\[0\\] must be > 0",
        ),
        (
            "doses:\n  - bolus: {target: E, amount: 3, at: [1], colour: red}",
            "'colour' parameter of r.yaml doses\\[0\\]",
        ),
        ("doses:\n  - infusion: {target: s1, rate: 1, duration: 2, every: 7}", "'count' parameter"),
        ("doses: [unclosed", "'regimen' parameter must be valid YAML"),
        ("- just a list", "'regimen' parameter of r.yaml must be a mapping"),
    ],
)
def test_bad_yaml_is_named(tmp_path, text, match):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(oi.ValidationError, match=match):
        Regimen.from_yaml(path)


def test_unknown_target_lists_states_and_inputs():
    with pytest.raises(oi.UnknownNameError, match=r"must be one of \[E, IL, T\]"):
        Regimen((Bolus("X", 1.0, (0,)),)).events(KP)
    # an infusion may target a state or an *input* parameter, not any parameter
    with pytest.raises(oi.UnknownNameError, match="s1, s2"):
        Regimen((Infusion("mu2", 1.0, ((0, 1),)),)).events(KP)


def test_dose_after_last_output_changes_nothing():
    t = np.linspace(0, 10, 11)
    a = oi.simulate(KP, times=t)
    b = oi.simulate(KP, regimen=Regimen((Bolus("E", 1e6, (20.0,)),)), times=t)
    assert np.array_equal(a.y, b.y)
