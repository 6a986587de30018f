"""Doses, schedules and regimens on the classic models: immutable values, loadable from YAML.

Two kinds of dose act on a model:

* :class:`Bolus` adds an amount to a state at given days (an injection of cells, a drug bolus).
* :class:`Infusion` is a zero-order input over intervals: either a rate into a state
  (``target`` is a state; ``rate`` in state units per day) or a time-varying input parameter
  switched on over the intervals (``target`` is an input parameter such as ``v_M``, ``v_I``,
  ``v_L``, ``v_S``, ``s1``, ``s2``; the parameter becomes the patient's base value plus
  ``rate``). Overlapping infusions of one target add up.

Repeating schedules are built with :func:`every` (``every(21, 4)`` = days 0, 21, 42, 63) and
:func:`cycles` (``cycles(28, 14, 5)`` = 4 weeks on / 2 weeks off, five cycles).

A :class:`Regimen` is a named tuple of doses. :meth:`Regimen.events` turns it into the event
table the engine integrates exactly (it restarts at every event instead of taking tiny steps).

A regimen may also hold :class:`~oncoimmune.treatments.DrugDose` values, prescriptions of library
drugs as clinics write them (:meth:`Regimen.parse`, grammar in
:mod:`oncoimmune.treatments._prescription`). They are per-patient: :meth:`Regimen.administrations`
turns them into absolute amounts and times for one patient's covariates, which are then routed
into model states; :meth:`Regimen.events` refuses unresolved drug doses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oncoimmune._validate import finite_number, read_yaml
from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.models._base import Model
from oncoimmune.treatments._covariates import Covariates
from oncoimmune.treatments._prescription import (
    Administration,
    DrugDose,
    drug_dose_from_dict,
    parse_regimen,
    regimen_administrations,
    render_regimen,
)

__all__ = ["Bolus", "EventTable", "Infusion", "Regimen", "cycles", "every"]

OP_ADD_STATE = 0
OP_SET_PARAM = 1
OP_SET_RATE = 2


_finite = finite_number


def every(interval: float, count: int, start: float = 0.0) -> tuple[float, ...]:
    """Days of a repeating schedule: ``start, start + interval, ...`` (``count`` of them)."""
    interval = _finite("every", interval, "schedule")
    start = _finite("start", start, "schedule")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValidationError("count", "be an integer >= 1", count, "schedule")
    if interval <= 0 and count > 1:
        raise ValidationError("every", "be > 0 (days between doses)", interval, "schedule")
    return tuple(start + k * interval for k in range(int(count)))


def cycles(on_days: float, off_days: float, n_cycles: int, start: float = 0.0) -> tuple[tuple[float, float], ...]:
    """Intervals of an on/off cycle, e.g. ``cycles(28, 14, 5)`` for 4 weeks on, 2 weeks off, ×5."""
    on = _finite("on_days", on_days, "cycles")
    off = _finite("off_days", off_days, "cycles")
    if on <= 0:
        raise ValidationError("on_days", "be > 0", on_days, "cycles")
    if off < 0:
        raise ValidationError("off_days", "be >= 0", off_days, "cycles")
    return tuple((s, s + on) for s in every(on + off, n_cycles, start))


@dataclass(frozen=True)
class Bolus:
    """An amount added to a state at each of ``times`` (days).

    Parameters
    ----------
    target:
        State name (e.g. ``"E"`` for effector cells, ``"M"`` for a chemotherapy drug).
    amount:
        Amount added, in the state's unit; must be > 0.
    times:
        Days of administration, each finite and >= 0.
    """

    target: str
    amount: float
    times: tuple[float, ...]

    def __post_init__(self) -> None:
        where = "Bolus"
        if not isinstance(self.target, str) or not self.target:
            raise ValidationError("target", "be a state name", self.target, where)
        amount = _finite("amount", self.amount, where)
        if amount <= 0:
            raise ValidationError("amount", "be > 0", self.amount, where)
        times = _times(self.times, where)
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "times", times)

    def to_dict(self) -> dict[str, Any]:
        return {"bolus": {"target": self.target, "amount": self.amount, "at": list(self.times)}}


@dataclass(frozen=True)
class Infusion:
    """A zero-order input over intervals ``[start, stop)`` (days).

    Parameters
    ----------
    target:
        A state (the rate flows into it, in state units per day) or an input parameter (its value
        becomes the patient's base value plus ``rate`` over each interval).
    rate:
        Input rate or parameter increment; must be > 0.
    intervals:
        ``(start, stop)`` pairs with ``0 <= start < stop``.
    """

    target: str
    rate: float
    intervals: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        where = "Infusion"
        if not isinstance(self.target, str) or not self.target:
            raise ValidationError("target", "be a state or input-parameter name", self.target, where)
        rate = _finite("rate", self.rate, where)
        if rate <= 0:
            raise ValidationError("rate", "be > 0", self.rate, where)
        if isinstance(self.intervals, (str, bytes)) or not isinstance(self.intervals, Iterable):
            raise ValidationError("intervals", "be a list of [start, stop] pairs", self.intervals, where)
        out = []
        for iv in self.intervals:
            if isinstance(iv, (str, bytes)) or not isinstance(iv, Sequence) or len(iv) != 2:
                raise ValidationError("intervals", "contain [start, stop] pairs", iv, where)
            a = _finite("start", iv[0], where)
            b = _finite("stop", iv[1], where)
            if a < 0:
                raise ValidationError("start", "be >= 0 (days)", iv[0], where)
            if b <= a:
                raise ValidationError("stop", f"be > start ({a:g})", iv[1], where)
            out.append((a, b))
        if not out:
            raise ValidationError("intervals", "contain at least one [start, stop] pair", self.intervals, where)
        object.__setattr__(self, "rate", rate)
        object.__setattr__(self, "intervals", tuple(sorted(out)))

    @classmethod
    def repeat(
        cls, target: str, rate: float, duration: float, every_days: float, count: int, start: float = 0.0
    ) -> Infusion:
        """``duration`` days of input every ``every_days`` days, ``count`` times."""
        d = _finite("duration", duration, "Infusion")
        if d <= 0:
            raise ValidationError("duration", "be > 0", duration, "Infusion")
        return cls(target, rate, tuple((s, s + d) for s in every(every_days, count, start)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "infusion": {"target": self.target, "rate": self.rate, "intervals": [list(iv) for iv in self.intervals]}
        }


def _times(times: Any, where: str) -> tuple[float, ...]:
    if isinstance(times, (int, float, np.integer, np.floating)) and not isinstance(times, bool):
        times = (times,)
    if isinstance(times, (str, bytes)) or not isinstance(times, Iterable):
        raise ValidationError("times", "be a list of days", times, where)
    out = []
    for t in times:
        v = _finite("times", t, where)
        if v < 0:
            raise ValidationError("times", "be >= 0 (days)", t, where)
        out.append(v)
    if not out:
        raise ValidationError("times", "contain at least one day", times, where)
    return tuple(sorted(out))


Dose = Bolus | Infusion


@dataclass(frozen=True)
class EventTable:
    """Events for the engine, sorted by time: ``op`` is add-to-state, set-parameter or set-rate."""

    t: np.ndarray
    op: np.ndarray
    idx: np.ndarray
    val: np.ndarray

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(frozen=True)
class Regimen:
    """An immutable treatment plan: a tuple of doses with a name.

    Examples
    --------
    >>> r = Regimen((Bolus("E", 1e4, every(7, 4)),), name="weekly effector cells")
    >>> r.doses[0].times
    (0.0, 7.0, 14.0, 21.0)
    """

    doses: tuple[Bolus | Infusion | DrugDose, ...] = ()
    name: str = ""
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        doses = tuple(self.doses)
        for d in doses:
            if not isinstance(d, (Bolus, Infusion, DrugDose)):
                raise ValidationError("doses", "contain Bolus, Infusion or DrugDose values", d, "Regimen")
        object.__setattr__(self, "doses", doses)

    # -- prescriptions as clinics write them -------------------------------------------------
    @classmethod
    def parse(cls, text: str, *, name: str | None = None) -> Regimen:
        """A regimen of drug doses from the text a clinic writes, e.g.
        ``Regimen.parse("nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w")``.

        The grammar is in :mod:`oncoimmune.treatments._prescription` and ``docs/regimens.md``;
        ``name`` defaults to the text as written.
        """
        return parse_regimen(text, name=name, where="Regimen.parse")

    @property
    def text(self) -> str:
        """Canonical text of a regimen of drug doses; it parses back to the same doses."""
        return render_regimen(self.doses)  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self.doses and all(isinstance(d, DrugDose) for d in self.doses):
            return self.text
        return self.name or repr(self)

    def administrations(
        self, covariates: Covariates | None, t_end: float | None = None, *, bsa_formula: str = "mosteller"
    ) -> tuple[Administration, ...]:
        """Every administration of the regimen's drug doses for one patient, sorted by time.

        ``covariates`` (:class:`~oncoimmune.treatments.Covariates`) turn doses per kg, per m² and
        AUC targets into amounts; ``t_end`` (days) cuts open-ended schedules (and any dose after
        it). Bolus and Infusion entries are model inputs already and are not listed.
        """
        return regimen_administrations(self, covariates, t_end, bsa_formula=bsa_formula)

    def __add__(self, other: Regimen) -> Regimen:
        if not isinstance(other, Regimen):
            return NotImplemented
        name = " + ".join(n for n in (self.name, other.name) if n)
        return Regimen(self.doses + other.doses, name=name)

    # -- engine events ----------------------------------------------------------------------
    def events(self, model: Model) -> EventTable:
        """Compile the doses into the sorted event table for ``model``.

        Raises :class:`~oncoimmune.errors.UnknownNameError` for a target that is neither a state
        nor an input parameter of the model.
        """
        unresolved = [d for d in self.doses if isinstance(d, DrugDose)]
        if unresolved:
            raise ValidationError(
                "doses",
                "hold only model inputs (Bolus, Infusion); drug doses are per-patient prescriptions: turn them "
                "into amounts with Regimen.administrations(covariates, t_end) and route those into model states",
                unresolved[0].text,
                f"Regimen.events on model {model.name}",
            )
        rows: list[tuple[float, int, int, float]] = []
        inputs = [p.name for p in model.parameters if p.input]
        rate_targets: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
        for d in self.doses:
            if isinstance(d, Bolus):
                if d.target not in model.state_names:
                    raise UnknownNameError("target", d.target, model.state_names, f"Bolus on model {model.name}")
                k = model.state_index(d.target)
                rows.extend((t, OP_ADD_STATE, k, d.amount) for t in d.times)
            else:
                if d.target in model.state_names:
                    key = (OP_SET_RATE, model.state_index(d.target))
                elif d.target in inputs:
                    key = (OP_SET_PARAM, model.parameter_index(d.target))
                else:
                    raise UnknownNameError(
                        "target", d.target, [*model.state_names, *inputs], f"Infusion on model {model.name}"
                    )
                rate_targets.setdefault(key, []).extend((a, b, d.rate) for a, b in d.intervals)
        for (op, k), ivs in rate_targets.items():
            # Piecewise-constant total of overlapping intervals: one absolute set per change.
            points = sorted({x for a, b, _ in ivs for x in (a, b)})
            level = 0.0
            for x in points:
                total = math.fsum(r for a, b, r in ivs if a <= x < b)
                if total != level:
                    rows.append((x, op, k, total))
                    level = total
        # Stable order: by time, then inputs before boluses (both commute).
        rows.sort(key=lambda r: (r[0], -r[1]))
        if not rows:
            return EventTable(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        t, op, idx, val = zip(*rows, strict=True)
        return EventTable(np.array(t, float), np.array(op, np.int64), np.array(idx, np.int64), np.array(val, float))

    # -- YAML / dict ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "doses": [d.to_dict() for d in self.doses]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "regimen") -> Regimen:
        """Build a regimen from a mapping (the YAML form; see ``docs/regimens.md``).

        Each entry of ``doses`` is ``{bolus: {...}}``, ``{infusion: {...}}`` or ``{drug: {...}}``
        (a :class:`~oncoimmune.treatments.DrugDose`); a ``text:`` key holds a regimen as clinics
        write it (:meth:`parse`), whose doses come before those of ``doses``::

            name: chemo every 10 days + IL-2
            doses:
              - bolus: {target: M, amount: 5, at: [0, 10, 20]}
              - bolus: {target: E, amount: 1e4, every: 7, count: 4, start: 0}
              - infusion: {target: v_M, rate: 5, duration: 1, every: 10, count: 9}
              - infusion: {target: v_S, rate: 0.8374, cycles: {days_on: 28, days_off: 14, count: 5}}
              - infusion: {target: s2, rate: 1e5, intervals: [[0, 5], [10, 15]]}
              - drug: {name: nivolumab, dose: 3, unit: mg/kg, every: 14, count: 4}

            text: nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w
        """
        if not isinstance(data, Mapping):
            raise ValidationError("regimen", "be a mapping with 'doses'", data, where)
        _only(data, {"name", "doses", "description", "text"}, where)
        doses: list[Bolus | Infusion | DrugDose] = []
        if "text" in data:
            if not isinstance(data["text"], str):
                raise ValidationError("text", "be a regimen written as text", data["text"], where)
            doses.extend(parse_regimen(data["text"], where=f"{where} text").doses)
        doses_raw = data.get("doses")
        if doses and doses_raw is None:
            doses_raw = []
        elif not isinstance(doses_raw, list) or not doses_raw:
            raise ValidationError("doses", "be a non-empty list", doses_raw, where)
        for i, entry in enumerate(doses_raw):
            w = f"{where} doses[{i}]"
            if not isinstance(entry, Mapping) or len(entry) != 1:
                raise ValidationError(
                    "doses", "contain entries {bolus: {...}}, {infusion: {...}} or {drug: {...}}", entry, w
                )
            ((kind, spec),) = entry.items()
            if not isinstance(spec, Mapping):
                raise ValidationError(str(kind), "be a mapping", spec, w)
            if kind == "bolus":
                doses.append(_bolus_from(spec, w))
            elif kind == "infusion":
                doses.append(_infusion_from(spec, w))
            elif kind == "drug":
                doses.append(drug_dose_from_dict(spec, w))
            else:
                raise ValidationError("doses", "use the keys 'bolus', 'infusion' or 'drug'", kind, w)
        name = data.get("name", data.get("text", "").strip() if isinstance(data.get("text"), str) else "")
        if not isinstance(name, str):
            raise ValidationError("name", "be a string", name, where)
        return cls(tuple(doses), name=name, description=str(data.get("description", "")))

    @classmethod
    def from_yaml(cls, path: str | Path) -> Regimen:
        """Load a regimen from a YAML file (safe loader; nothing in it is executed)."""
        p = Path(path)
        data = read_yaml(p, "regimen")
        return cls.from_dict(data, where=p.name)

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _only(spec: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = {str(k) for k in spec if k not in allowed}
    if extra:
        raise ValidationError(sorted(extra)[0], f"be one of the known keys {sorted(allowed)}", "(unknown key)", where)


def _need(spec: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in spec:
        raise ValidationError(key, "be given", None, where)
    return spec[key]


def _bolus_from(spec: Mapping[str, Any], where: str) -> Bolus:
    _only(spec, {"target", "amount", "at", "every", "count", "start"}, where)
    target, amount = _need(spec, "target", where), _need(spec, "amount", where)
    if "at" in spec and ("every" in spec or "count" in spec):
        raise ValidationError("at", "not be combined with every/count", spec["at"], where)
    if "at" in spec:
        times = spec["at"]
    elif "every" in spec or "count" in spec:
        times = every(_need(spec, "every", where), _need(spec, "count", where), spec.get("start", 0.0))
    else:
        raise ValidationError("at", "be given (or every + count)", None, where)
    try:
        return Bolus(target, amount, times)
    except ValidationError as exc:
        raise ValidationError(exc.field, exc.rule, exc.value, where) from None


def _infusion_from(spec: Mapping[str, Any], where: str) -> Infusion:
    _only(spec, {"target", "rate", "intervals", "start", "duration", "every", "count", "cycles"}, where)
    target, rate = _need(spec, "target", where), _need(spec, "rate", where)
    try:
        if "intervals" in spec:
            return Infusion(target, rate, spec["intervals"])
        if "cycles" in spec:
            c = spec["cycles"]
            if not isinstance(c, Mapping):
                raise ValidationError("cycles", "be a mapping {days_on, days_off, count}", c, where)
            # (not 'on'/'off': YAML 1.1 reads those keys as booleans)
            _only(c, {"days_on", "days_off", "count", "start"}, where + " cycles")
            ivs = cycles(
                _need(c, "days_on", where), _need(c, "days_off", where), _need(c, "count", where), c.get("start", 0.0)
            )
            return Infusion(target, rate, ivs)
        duration = _need(spec, "duration", where)
        if "every" in spec or "count" in spec:
            return Infusion.repeat(
                target, rate, duration, _need(spec, "every", where), _need(spec, "count", where), spec.get("start", 0.0)
            )
        start = _finite("start", spec.get("start", 0.0), where)
        return Infusion(target, rate, ((start, start + _finite("duration", duration, where)),))
    except ValidationError as exc:
        if exc.where == where:
            raise
        raise ValidationError(exc.field, exc.rule, exc.value, where) from None
