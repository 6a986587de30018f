r"""Prescriptions: drug regimens as clinics write them, and their per-patient administrations.

A :class:`DrugDose` is one line of a prescription: a library drug, a dose in one of that drug's
dose units, and a schedule. :func:`parse_regimen` (also :meth:`Regimen.parse
<oncoimmune.treatments.Regimen.parse>`) reads the text a clinic writes,

    ``nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w``

into an immutable :class:`~oncoimmune.treatments.Regimen` of drug doses, and
:meth:`DrugDose.administrations` turns each dose into the :class:`Administration` list of one
patient (absolute amounts from the covariates: weight, body-surface area, Calvert). The text is
tokenised and matched against the grammar below; nothing in it is evaluated.

Grammar
-------
Words are case-insensitive; ``[...]`` is optional, ``|`` separates alternatives::

    regimen   := phase (("then" | "followed by") phase | "repeat" [count] ["after" GAP]) ...
    phase     := ["after" GAP] item "+" item ... ["after" GAP] [rest]
    item      := DRUG DOSE modifier*  |  DOSE modifier*   (drug of the previous one-drug phase)
    DOSE      := NUMBER [QUALIFIER ...] UNIT | "AUC" NUMBER    QUALIFIER: CAR+, CD54+, viable, T (cells only)
    modifier  := interval | count | cycle-days | on-off | days-a-week | "once" | "loading"
               | "over" N ("min" | "h") | ROUTE | ("from" | "on") "day" N | "continuously"
               | "max" NUMBER [UNIT]                  a cap on the amount (absolute unit)
    interval  := "q" N ("h" | "d" | "w")              q8h, q2d, q3w  (also "qd", "qw")
               | "daily" | "once daily" | "bid" | "twice daily" | "tid" | "qid" | "weekly"
               | "tiw" (days 1, 3, 5 of each week)
               | "every" [N | "other"] ("hour" | "day" | "week")[s]
               | interval count interval              daily x5 q28d: 5 daily doses each 28 days
    count     := "x" N ["doses" | "cycles"]           x4 (doses, or cycles for a cycled schedule)
               | ("x" | "for") N ("days" | "weeks" | "hours")   a duration (see below)
    cycle-days:= "d" LIST | "day"[s] LIST             d1-5, d1,8,15, days 1, 8 and 15 (day 1 = first)
               | "days" A "to" B                      with a cycle: days A-B of it; without: daily
                                                      on calendar days A..B (e.g. days -5 to -3)
    on-off    := N ("days" | "weeks") "on" N ("days" | "weeks") "off"
    days-a-week := N "days a week" | N "days per week" | N "days/week"
    ROUTE     := "iv" | "sc" | "im" | "po" | "oral" | "intralesional"
    GAP       := N ("days" | "weeks" | "hours")
    rest      := GAP ["of"] "rest" | "rest" GAP      (before the next phase)

``DRUG`` is a library name or brand name, case-insensitive, with spaces, hyphens or underscores
between words (``interferon alfa-2b`` is ``interferon_alfa_2b``); aliases such as ``axi-cel``
only where the drug file lists them among its names. ``NUMBER`` is a decimal, ``2e6``,
``2x10^6``, ``600,000`` or ``50 million``. ``UNIT`` is any unit :func:`oncoimmune.units.normalise_unit` accepts
and the drug file lists in ``dose_units`` (``mg``, ``mg/kg``, ``mg/m2``, ``IU/kg``,
``cells/kg``...).

Meaning
-------
* **Clock.** Day 0 is the first administration of the regimen; every time is in days on that
  clock (``from day 84`` is day 84 of the regimen). Cycle days (``d1-5``) follow the clinic and
  count from 1: ``d1`` is the first day of each cycle.
* **Schedules.** No schedule is a single dose. An interval without a count is *open-ended*
  (``pembrolizumab 200 mg q3w``): it continues until the horizon ``t_end`` given when it is
  materialised. ``xN`` counts doses (``q3w x4``: days 0, 21, 42, 63) or, for a cycled schedule
  (``d1-5 q3w``, ``4 weeks on 2 weeks off``, ``5 days a week``), cycles. A duration
  (``x4 weeks``, ``for 5 days``) is turned into the number of doses (or cycles) that start
  within it, ``ceil(duration / cycle length)``. ``d1-5 q3w`` gives a dose on each of days 1-5 of
  21-day cycles; ``daily 4 weeks on 2 weeks off`` doses daily for 28 days of each 42-day cycle;
  ``5 days a week`` is ``daily 5 days on 2 days off``.
* **Groups.** ``+`` joins drugs given in the same phase. A schedule written after the last item
  of a group applies to every item of the group that has none of its own
  (``nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4`` gives both drugs q3w x4); ``once`` marks an
  item as a single dose so that it does not inherit. Infusion times and routes are per item.
  After ``then``, the drug name may be left out when the previous phase has one drug.
* **Phases.** ``then`` starts the next phase when the previous one ends, plus any gap written as
  ``after N days`` (at the end of the phase or right after ``then``) or as a rest at the end of the
  previous phase (``9 days rest``). A phase ends at the end of its latest item: the start of its
  last dose (or cycle) plus its interval (or cycle length), rounded up to whole days from the item's
  start when sub-daily dosing leaves a fraction (a treatment day is used in full: ``q8h x14``
  ends on day 5, not 4.67); a single dose ends on its own day. ``then`` after an open-ended phase
  is an error (it never ends). ``repeat [xN]`` is a phase that gives the previous phase's drugs
  and doses again (with count N): the label's ``aldesleukin 600,000 IU/kg q8h x14, 9 days rest,
  repeat x14`` gives doses on days 0-4.33 and 14-18.33 (the label's days 1-5 and 15-19).
  CheckMate 067, ``nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg
  q2w``: combination on days 0, 21, 42, 63; the phase ends on day 84, nivolumab q2w from day 84.
  A single dose marked ``loading`` ends one interval of the next phase later:
  ``trastuzumab 8 mg/kg loading then 6 mg/kg q3w`` gives 8 mg/kg on day 0 and 6 mg/kg from day 21
  (the label's reading).
  The CAR-T example ``fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 daily x3 then
  axicabtagene ciloleucel 2e6 cells/kg after 2 days`` gives lymphodepletion on days 0, 1, 2 (the
  clinic's days -5, -4, -3) and the cells on day 5 (the clinic's day 0).
* **One dose.** A dose range (``0.2-5.0e6 cells/kg``) is an error: one dose must be chosen.
* **Caps.** ``max 2e8 cells`` (or ``(max 2e8)``, in the drug's amount unit) caps the absolute
  amount of each administration: axi-cel ``2e6 cells/kg max 2e8 cells`` gives 2e8 cells to a
  120 kg patient. Qualifiers of a cell dose are ignored: ``2e6 CAR+ cells/kg``.
* **Absolute starts.** ``from day N`` (``on day N`` for a single dose) starts one item at day N of
  the regimen, whatever its phase; it lets any set of drug doses be written as text.
* **Infusions and routes.** Each dose uses the drug's usual route and, for an intravenous drug, its
  standard infusion duration (``infusion.minutes`` of the drug file) unless ``over N min`` or a
  route is written. The usual route is the route of the drug's popPK model (``pk.route``);
  without one, intravenous for a drug file with an infusion duration, oral for a targeted therapy
  without one, and intravenous (as a bolus) otherwise. The longer
  first infusion some labels give (``infusion.first_minutes``) is not applied.

Every malformed string raises :class:`~oncoimmune.errors.ValidationError` on the field
``regimen`` naming the rule and the offending token, e.g. ``The 'regimen' parameter of
Regimen.parse must have a dose unit after '3' (one of mg, mg/kg). Got 'nivolumab 3 q2w'.``; an
unknown drug raises :class:`~oncoimmune.errors.UnknownNameError` listing the library and the
closest names.

A parsed regimen renders back to a canonical text (:attr:`Regimen.text
<oncoimmune.treatments.Regimen.text>`) that parses to the same doses.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from oncoimmune._validate import finite_number
from oncoimmune.errors import UnknownNameError, ValidationError, _show
from oncoimmune.treatments._covariates import Covariates
from oncoimmune.treatments._drugs import Drug, drug_library, get_drug
from oncoimmune.units import DOSE_UNITS, normalise_unit, to_amount

if TYPE_CHECKING:
    from oncoimmune.treatments._doses import Regimen

__all__ = [
    "ROUTES",
    "Administration",
    "DrugDose",
    "drug_dose_from_dict",
    "parse_regimen",
    "regimen_administrations",
    "render_regimen",
    "resolve_drug",
]

ROUTES = ("iv", "sc", "im", "oral", "intralesional")
"""Routes of administration a :class:`DrugDose` may name."""

_ROUTE_WORDS = {
    "iv": "iv",
    "i.v.": "iv",
    "intravenous": "iv",
    "intravenously": "iv",
    "sc": "sc",
    "s.c.": "sc",
    "subcut": "sc",
    "subcutaneous": "sc",
    "subcutaneously": "sc",
    "im": "im",
    "i.m.": "im",
    "intramuscular": "im",
    "intramuscularly": "im",
    "po": "oral",
    "p.o.": "oral",
    "oral": "oral",
    "orally": "oral",
    "intralesional": "intralesional",
    "intralesionally": "intralesional",
}

_EPS = 1e-9  # days; tolerance of the horizon cut (floating sums of intervals)


# -- drug names ------------------------------------------------------------------------------


def _norm_name(s: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", s.lower()).split())


@lru_cache(maxsize=4)
def _index_for(names: tuple[str, ...]) -> dict[str, str]:
    idx: dict[str, str] = {}
    lib = drug_library()
    for n in names:
        d = lib[n]
        aliases = getattr(d, "aliases", ()) or ()
        for written in (d.name, *d.brand_names, *aliases):
            idx.setdefault(_norm_name(written), d.name)
    return idx


def _name_index() -> dict[str, str]:
    """Normalised name, brand name or listed alias -> library name."""
    return _index_for(tuple(sorted(drug_library())))


def _unknown_drug(name: str, where: str, field_name: str = "drug", context: str = "") -> UnknownNameError:
    idx = _name_index()
    close = difflib.get_close_matches(_norm_name(name), list(idx), n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(idx[c] for c in close))
    exc = UnknownNameError(field_name, name, sorted(drug_library()), where)
    extra = ""
    if suggestions:
        extra += " Did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
    if context:
        extra += f" (in {context!r})"
    if extra:
        exc.args = (exc.args[0] + extra,)
    return exc


def resolve_drug(name: str | Drug, where: str = "DrugDose", field_name: str = "drug") -> Drug:
    """The library drug called ``name`` (name, brand name or listed alias; case, spaces, hyphens and
    underscores do not matter). Unknown names raise :class:`UnknownNameError` with close matches."""
    if isinstance(name, Drug):
        name = name.name
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(field_name, "be the name of a library drug", name, where)
    hit = _name_index().get(_norm_name(name))
    if hit is None:
        raise _unknown_drug(name, where, field_name)
    return get_drug(hit)


def _usual_route(drug: Drug) -> str:
    # The route of the drug's popPK model (pk.route) where the file has one; else inferred.
    declared = getattr(getattr(drug, "pk", None), "route", None) or getattr(drug, "route", None)
    if isinstance(declared, str) and declared.strip().lower() in _ROUTE_WORDS:
        return _ROUTE_WORDS[declared.strip().lower()]
    if drug.infusion is not None:
        return "iv"
    if drug.drug_class == "targeted_therapy":
        return "oral"
    return "iv"


def _default_minutes(drug: Drug, route: str) -> float:
    if route == "iv" and drug.infusion is not None:
        return float(drug.infusion.minutes.value)
    return 0.0


# -- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Administration:
    """One administration of a drug to one patient.

    Attributes
    ----------
    drug:
        Library name of the drug.
    time_days:
        Start of the administration, days since the regimen began.
    amount:
        Absolute amount given, in ``amount_unit`` (the drug's amount unit: mg, IU or cells).
    amount_unit:
        Unit of ``amount``.
    duration_days:
        Infusion duration in days; 0 for a bolus, an injection or an oral dose.
    formula:
        How the amount was obtained from the dose as written, e.g.
        ``"1000 mg/m2 x BSA 1.8447 m2 (Mosteller)"``.
    route:
        ``iv``, ``sc``, ``im``, ``oral`` or ``intralesional``.
    """

    drug: str
    time_days: float
    amount: float
    amount_unit: str
    duration_days: float
    formula: str
    route: str = ""

    @property
    def rate_per_day(self) -> float | None:
        """Zero-order input rate (amount per day) of an infusion; ``None`` for a bolus or oral dose."""
        return self.amount / self.duration_days if self.duration_days > 0 else None


@dataclass(frozen=True)
class DrugDose:
    """A library drug, a dose as written and a schedule: one line of a prescription (immutable).

    Parameters
    ----------
    drug:
        Library name, brand name or listed alias (stored as the library name).
    dose:
        The number written before the unit; finite and > 0 (an AUC target lies in (0, 10]).
    unit:
        One of the drug's ``dose_units`` (``mg``, ``mg/kg``, ``mg/m2``, ``AUC``, ``IU/kg``...).
    start:
        Day of the first administration (regimen clock, day 0 = start of the regimen), >= 0.
    interval_days:
        Days between administrations (``q3w`` = 21, ``daily`` = 1, ``bid`` = 0.5, ``q8h`` = 1/3);
        with ``cycle_days`` it is the cycle length. ``None``: a single dose.
    count:
        Number of administrations, or of cycles for a cycled schedule; ``None`` with an interval:
        open-ended (cut at the horizon when materialised); ``None`` without: a single dose.
    days_on, days_off:
        An on/off cycle: administrations every ``interval_days`` during ``days_on`` days, then
        none for ``days_off`` days (sunitinib ``daily 4 weeks on 2 weeks off``: 1, 28, 14).
    cycle_days:
        Days of each cycle of length ``interval_days`` on which one dose is given, counted from 1
        as clinics do (dacarbazine ``d1-5 q3w``: ``(1, 2, 3, 4, 5)``, 21).
    infusion_minutes:
        Infusion duration; ``None``: the drug's standard duration for route ``iv``, 0 otherwise.
    route:
        ``iv``, ``sc``, ``im``, ``oral`` or ``intralesional``; ``None``: the drug's usual route.
    max_amount:
        Cap on the absolute amount of one administration, in the drug's amount unit (axi-cel
        2e6 cells/kg, at most 2e8 cells); ``None``: no cap.

    Examples
    --------
    >>> d = DrugDose("nivolumab", 1, "mg/kg", interval_days=21, count=4)
    >>> d.times()
    (0.0, 21.0, 42.0, 63.0)
    >>> d.end, d.text
    (84.0, 'nivolumab 1 mg/kg q3w x4')
    """

    drug: str
    dose: float
    unit: str
    start: float = 0.0
    interval_days: float | None = None
    count: int | None = None
    days_on: float | None = None
    days_off: float | None = None
    cycle_days: tuple[int, ...] | None = None
    infusion_minutes: float | None = None
    route: str | None = None
    max_amount: float | None = None

    def __post_init__(self) -> None:
        where = "DrugDose"
        drug = resolve_drug(self.drug, where)
        dose = finite_number("dose", self.dose, where)
        if dose <= 0:
            raise ValidationError("dose", "be > 0", self.dose, where)
        allowed = list(drug.dose_units)
        try:
            unit: str | None = normalise_unit(self.unit, where)
        except ValidationError:
            unit = None
        if unit not in allowed:
            raise ValidationError("unit", f"be one of {', '.join(allowed)} for {drug.name}", self.unit, where)
        if unit == "AUC" and dose > 10:
            # the bound of Covariates.calvert_dose: AUC targets in practice are 4-7 mg/mL*min
            raise ValidationError("dose", "lie in (0, 10] for an AUC target (mg/mL*min)", self.dose, where)
        start = finite_number("start", self.start, where)
        if start < 0:
            raise ValidationError("start", "be >= 0 (days)", self.start, where)

        interval: float | None = None
        if self.interval_days is not None:
            interval = finite_number("interval_days", self.interval_days, where)
            if interval <= 0:
                raise ValidationError("interval_days", "be > 0 (days)", self.interval_days, where)
        count = self.count
        if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1):
            raise ValidationError("count", "be an integer >= 1 (or None: open-ended)", self.count, where)
        count = None if count is None else int(count)

        on = off = None
        if (self.days_on is None) != (self.days_off is None):
            missing, given = ("days_off", "days_on") if self.days_off is None else ("days_on", "days_off")
            raise ValidationError(missing, f"be given with {given} (an on/off cycle)", None, where)
        if self.days_on is not None:
            on = finite_number("days_on", self.days_on, where)
            off = finite_number("days_off", self.days_off, where)
            if on <= 0:
                raise ValidationError("days_on", "be > 0 (days)", self.days_on, where)
            if off < 0:
                raise ValidationError("days_off", "be >= 0 (days)", self.days_off, where)
        cdays = _cycle_days(self.cycle_days, where)
        if cdays is not None and on is not None:
            raise ValidationError("cycle_days", "not be combined with days_on/days_off", list(cdays), where)
        if interval is None:
            if count not in (None, 1):
                raise ValidationError("count", "be 1 without interval_days (a single dose)", count, where)
            if on is not None:
                raise ValidationError("interval_days", "be given with days_on/days_off", None, where)
            if cdays is not None:
                raise ValidationError("interval_days", "be given (the cycle length) with cycle_days", None, where)
            count = 1
        if cdays is not None:
            if cdays[-1] - 1 >= interval:  # type: ignore[operator]
                raise ValidationError(
                    "cycle_days",
                    f"lie within the cycle of {interval:g} days (day 1 to {interval:g})",
                    list(cdays),
                    where,
                )
            if cdays == (1,):
                cdays = None  # "d1 q3w" is "q3w"

        route = self.route
        if route is None:
            route = _usual_route(drug)
        elif not isinstance(route, str) or route.strip().lower() not in _ROUTE_WORDS:
            raise ValidationError("route", f"be one of {', '.join(ROUTES)}", route, where)
        else:
            route = _ROUTE_WORDS[route.strip().lower()]
        if self.infusion_minutes is None:
            minutes = _default_minutes(drug, route)
        else:
            minutes = finite_number("infusion_minutes", self.infusion_minutes, where)
            if minutes < 0:
                raise ValidationError("infusion_minutes", "be >= 0", self.infusion_minutes, where)
            if minutes > 0 and route != "iv":
                raise ValidationError(
                    "infusion_minutes", f"be 0 for route {route} (only iv is infused)", minutes, where
                )

        cap = None
        if self.max_amount is not None:
            cap = finite_number("max_amount", self.max_amount, where)
            if cap <= 0:
                raise ValidationError("max_amount", f"be > 0 ({drug.amount_unit})", self.max_amount, where)
        for name, value in (
            ("max_amount", cap),
            ("drug", drug.name),
            ("dose", dose),
            ("unit", unit),
            ("start", start),
            ("interval_days", interval),
            ("count", count),
            ("days_on", on),
            ("days_off", off),
            ("cycle_days", cdays),
            ("infusion_minutes", minutes),
            ("route", route),
        ):
            object.__setattr__(self, name, value)

        spacing = self._min_spacing()
        if spacing is not None and minutes / 1440.0 > spacing + _EPS:
            raise ValidationError(
                "infusion_minutes",
                f"end before the next administration ({spacing * 1440:g} min later)",
                minutes,
                where,
            )

    # -- schedule -------------------------------------------------------------------------------
    @property
    def open_ended(self) -> bool:
        """Whether the schedule has no count (it continues until the horizon)."""
        return self.interval_days is not None and self.count is None

    @property
    def cycle_length(self) -> float | None:
        """Days of one repeat: the interval, or ``days_on + days_off``; ``None`` for a single dose."""
        if self.interval_days is None:
            return None
        if self.days_on is not None:
            return self.days_on + self.days_off  # type: ignore[operator]
        return self.interval_days

    @property
    def end(self) -> float | None:
        """Day the schedule ends: start of the last dose or cycle + its interval or cycle length,
        rounded up to a whole number of days from the start when sub-daily dosing leaves a fraction
        (q8h x14: day 5, not 4.67); the dose day for a single dose; ``None`` if open-ended.
        ``then`` starts the next phase here."""
        if self.interval_days is None:
            return self.start
        if self.count is None:
            return None
        span = self.count * self.cycle_length  # type: ignore[operator]
        if abs(span - round(span)) > _EPS:
            # sub-daily dosing occupies whole treatment days: aldesleukin q8h x14 (4.67 days) ends on day 5,
            # so "9 days rest" restarts on day 14, the label's days 1-5 and 15-19
            span = float(math.ceil(span - _EPS))
        return self.start + span

    def _offsets(self) -> tuple[float, ...]:
        """Administration offsets within one cycle (days)."""
        if self.cycle_days is not None:
            return tuple(float(d - 1) for d in self.cycle_days)
        if self.days_on is not None:
            n = max(1, math.ceil(self.days_on / self.interval_days - _EPS))  # type: ignore[operator]
            return tuple(j * self.interval_days for j in range(n))  # type: ignore[operator]
        return (0.0,)

    def _min_spacing(self) -> float | None:
        offs = self._offsets()
        gaps = [b - a for a, b in itertools.pairwise(offs)]
        if self.interval_days is not None and self.count != 1:
            length = self.cycle_length
            gaps.append(length - (offs[-1] - offs[0]))  # type: ignore[operator]
        return min(gaps) if gaps else None

    def times(self, t_end: float | None = None) -> tuple[float, ...]:
        """Days of every administration, cut at ``t_end`` (kept if <= t_end); an open-ended schedule
        needs ``t_end``."""
        where = f"DrugDose {self.text!r}"
        if t_end is None:
            if self.open_ended:
                raise ValidationError("t_end", "be given to cut the open-ended schedule (no count)", None, where)
            horizon = math.inf
        else:
            horizon = finite_number("t_end", t_end, where)
        if self.interval_days is None:
            return (self.start,) if self.start <= horizon + _EPS else ()
        offs = self._offsets()
        length = self.cycle_length
        out: list[float] = []
        c = 0
        while self.count is None or c < self.count:
            base = c * length  # type: ignore[operator]
            if self.start + base > horizon + _EPS:
                break
            out.extend(t for t in (self.start + (base + o) for o in offs) if t <= horizon + _EPS)
            c += 1
        return tuple(out)

    def administrations(
        self, covariates: Covariates | None, t_end: float | None = None, *, bsa_formula: str = "mosteller"
    ) -> tuple[Administration, ...]:
        """This dose for one patient: one :class:`Administration` per dosing time up to ``t_end``.

        The absolute amount is :meth:`Drug.dose_amount <oncoimmune.treatments.Drug.dose_amount>`:
        flat, × weight (``/kg``), × body-surface area (``/m2``, formula ``bsa_formula``, Mosteller
        by default) or Calvert ``AUC × (GFR + 25)`` with the Cockcroft–Gault creatinine clearance.
        A dose that needs a covariate the patient lacks (serum creatinine for an AUC dose, any
        covariates for a weight- or BSA-based dose) raises a ValidationError naming it.
        """
        where = f"DrugDose {self.text!r}"
        if covariates is not None and not isinstance(covariates, Covariates):
            raise ValidationError("covariates", "be a Covariates value (or None for flat doses)", covariates, where)
        times = self.times(t_end)
        if not times:
            return ()
        drug = get_drug(self.drug)
        try:
            amount = drug.dose_amount(self.dose, self.unit, covariates, bsa_formula=bsa_formula)
        except UnknownNameError:
            raise
        except ValidationError as exc:
            raise ValidationError(exc.field, exc.rule, exc.value, f"{where} for this patient") from None
        if self.max_amount is not None and amount.value > self.max_amount:
            amount = amount._replace(
                value=self.max_amount, formula=f"{amount.formula}, capped at {_num(self.max_amount)} {amount.unit}"
            )
        duration = self.infusion_minutes / 1440.0  # type: ignore[operator]
        return tuple(
            Administration(self.drug, t, amount.value, amount.unit, duration, amount.formula, self.route or "")
            for t in times
        )

    # -- text and dict ------------------------------------------------------------------------
    @property
    def text(self) -> str:
        """Canonical text of this dose alone (parses back to an equal dose)."""
        return _item_text(self, from_day=self.start != 0)

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """The YAML form ``{drug: {name, dose, unit, [start, every, count, ...]}}`` (defaults left out)."""
        drug = get_drug(self.drug)
        spec: dict[str, Any] = {"name": self.drug, "dose": self.dose, "unit": self.unit}
        if self.start:
            spec["start"] = self.start
        if self.interval_days is not None:
            spec["every"] = self.interval_days
            if self.count is not None:
                spec["count"] = self.count
        if self.cycle_days is not None:
            spec["cycle_days"] = list(self.cycle_days)
        if self.days_on is not None:
            spec["days_on"] = self.days_on
            spec["days_off"] = self.days_off
        if self.route != _usual_route(drug):
            spec["route"] = self.route
        if self.infusion_minutes != _default_minutes(drug, self.route or ""):
            spec["infusion_minutes"] = self.infusion_minutes
        if self.max_amount is not None:
            spec["max_amount"] = self.max_amount
        return {"drug": spec}


def _cycle_days(value: Any, where: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError("cycle_days", "be a list of cycle days (1 = first day of the cycle)", value, where)
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValidationError("cycle_days", "contain integers >= 1 (1 = first day of the cycle)", v, where)
        out.append(int(v))
    if not out:
        raise ValidationError("cycle_days", "contain at least one day", value, where)
    if len(set(out)) != len(out):
        raise ValidationError("cycle_days", "not repeat a day", list(value), where)
    return tuple(sorted(out))


# -- materialisation of a whole regimen ------------------------------------------------------


def regimen_administrations(
    regimen: Regimen, covariates: Covariates | None, t_end: float | None = None, *, bsa_formula: str = "mosteller"
) -> tuple[Administration, ...]:
    """Every administration of the drug doses of ``regimen`` for one patient, sorted by time
    (administrations at the same time keep the regimen's order). Bolus and Infusion entries are
    model inputs already and are not listed."""
    out: list[Administration] = []
    for d in regimen.doses:
        if isinstance(d, DrugDose):
            out.extend(d.administrations(covariates, t_end, bsa_formula=bsa_formula))
    return tuple(sorted(out, key=lambda a: a.time_days))


# -- YAML / dict -----------------------------------------------------------------------------

_DICT_KEYS = {
    "name",
    "dose",
    "unit",
    "start",
    "every",
    "count",
    "cycle_days",
    "days_on",
    "days_off",
    "infusion_minutes",
    "route",
    "max_amount",
}
_FIELD_TO_KEY = {"drug": "name", "interval_days": "every"}


def drug_dose_from_dict(spec: Mapping[str, Any], where: str) -> DrugDose:
    """A :class:`DrugDose` from its YAML mapping ``{name, dose, unit, every, count, start, cycle_days,
    days_on, days_off, infusion_minutes, route}``; errors name the key and ``where``."""
    extra = sorted(str(k) for k in spec if k not in _DICT_KEYS)
    if extra:
        raise ValidationError(extra[0], f"be one of the known keys {sorted(_DICT_KEYS)}", "(unknown key)", where)
    for key in ("name", "dose", "unit"):
        if key not in spec:
            raise ValidationError(key, "be given", None, where)
    if "count" in spec and "every" not in spec and spec["count"] != 1:
        raise ValidationError("every", "be given with a count other than 1", None, where)
    try:
        return DrugDose(
            spec["name"],
            spec["dose"],
            spec["unit"],
            start=spec.get("start", 0.0),
            interval_days=spec.get("every"),
            count=spec.get("count"),
            days_on=spec.get("days_on"),
            days_off=spec.get("days_off"),
            cycle_days=spec.get("cycle_days"),
            infusion_minutes=spec.get("infusion_minutes"),
            route=spec.get("route"),
            max_amount=spec.get("max_amount"),
        )
    except UnknownNameError as exc:
        if exc.field == "drug":
            raise _unknown_drug(str(spec["name"]), where, "name") from None
        raise
    except ValidationError as exc:
        raise ValidationError(_FIELD_TO_KEY.get(exc.field, exc.field), exc.rule, exc.value, where) from None


# -- rendering -------------------------------------------------------------------------------


def _num(x: float) -> str:
    """Shortest text that reads back as exactly ``x`` (``2e6``, ``600000``, ``37.5``)."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e16:
        s = str(int(x))
        stripped = s.rstrip("0")
        if len(s) - len(stripped) >= 6:  # 2000000 -> 2e6
            return f"{stripped}e{len(s) - len(stripped)}"
        return s
    s = f"{x:g}"
    if float(s) != x:
        s = repr(x)
    return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", s)


def _interval_text(x: float) -> str:
    if x == 1:
        return "daily"
    if x == 0.5:
        return "bid"
    if x == 7:
        return "weekly"
    hours = round(x * 24)
    if x < 1 and hours > 0 and hours / 24 == x:
        return f"q{hours}h"
    weeks = round(x / 7)
    if weeks > 0 and weeks * 7 == x:
        return f"q{weeks}w"
    if x.is_integer():
        return f"q{int(x)}d"
    if hours > 0 and hours / 24 == x:
        return f"q{hours}h"
    return f"q{_num(x)}d"


def _span_text(x: float) -> str:
    if x > 0 and (x / 7).is_integer() and (x / 7) * 7 == x:
        w = x / 7
        return f"{_num(w)} week" + ("" if w == 1 else "s")
    return f"{_num(x)} day" + ("" if x == 1 else "s")


def _days_list(days: Sequence[int]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] == days[j] + 1:
            j += 1
        parts.append(str(days[i]) if j == i else (f"{days[i]},{days[j]}" if j == i + 1 else f"{days[i]}-{days[j]}"))
        i = j + 1
    return ",".join(parts)


def _schedule_key(d: DrugDose) -> tuple[Any, ...]:
    return (d.interval_days, d.count, d.days_on, d.days_off, d.cycle_days)


def _schedule_text(d: DrugDose) -> str:
    if d.interval_days is None:
        return ""
    if d.cycle_days is not None:
        s = f"d{_days_list(d.cycle_days)} {_interval_text(d.interval_days)}"
    elif d.days_on is not None:
        on, off = d.days_on, d.days_off
        if d.interval_days == 1 and on + off == 7 and off > 0 and on.is_integer():  # type: ignore[operator]
            s = f"{int(on)} days a week"
        else:
            s = f"{_interval_text(d.interval_days)} {_span_text(on)} on {_span_text(off)} off"  # type: ignore[arg-type]
    else:
        s = _interval_text(d.interval_days)
    if d.count is not None:
        s += f" x{d.count}"
    return s


def _head_text(d: DrugDose) -> str:
    """Drug, dose, and route / infusion time where they differ from the drug's usual ones."""
    drug = get_drug(d.drug)
    dose = f"AUC {_num(d.dose)}" if d.unit == "AUC" else f"{_num(d.dose)} {d.unit}"
    s = f"{d.drug.replace('_', ' ')} {dose}"
    if d.max_amount is not None:
        s += f" max {_num(d.max_amount)} {drug.amount_unit}"
    if d.route != _usual_route(drug):
        s += f" {d.route}"
    m = d.infusion_minutes
    if m != _default_minutes(drug, d.route or ""):
        hours = m / 60  # type: ignore[operator]
        s += f" over {_num(hours)} h" if m >= 120 and hours.is_integer() else f" over {_num(m)} min"  # type: ignore[arg-type]
    return s


def _item_text(d: DrugDose, *, schedule: bool = True, once: bool = False, from_day: bool = False) -> str:
    s = _head_text(d)
    if schedule:
        sched = _schedule_text(d)
        if sched:
            s += " " + sched
        elif once:
            s += " once"
    if from_day:
        s += f" {'from' if d.interval_days is not None else 'on'} day {_num(d.start)}"
    return s


def render_regimen(doses: Sequence[DrugDose]) -> str:
    """Canonical text of a sequence of drug doses, in their order (see the module docstring).

    Doses that start together form a phase joined by ``+`` (a schedule shared by all of them is
    written once, after the last); a dose starting when the current phase ends (plus a gap) opens
    a ``then`` phase; any other start is written ``from day N``.
    """
    phases: list[dict[str, Any]] = []
    for d in doses:
        if not isinstance(d, DrugDose):
            raise ValidationError(
                "doses", "contain only drug doses (DrugDose) to be written as text", d, "Regimen.text"
            )
        if not phases:
            phases.append({"start": 0.0, "gap": 0.0, "items": [d]})
            continue
        cur = phases[-1]
        ends = [x.end for x in cur["items"]]
        end = None if any(e is None for e in ends) else max(ends)  # type: ignore[type-var]
        if d.start == cur["start"]:
            cur["items"].append(d)
        elif end is not None and d.start >= end and end + float(_num(d.start - end)) == d.start:
            phases.append({"start": d.start, "gap": d.start - end, "items": [d]})
        else:
            cur["items"].append(d)
    out = []
    for p in phases:
        items: list[DrugDose] = p["items"]
        shared = (
            len(items) > 1
            and items[0].interval_days is not None
            and all(x.start == p["start"] and _schedule_key(x) == _schedule_key(items[0]) for x in items)
        )
        if shared:
            text = " + ".join(_item_text(x, schedule=False) for x in items) + " " + _schedule_text(items[-1])
        else:
            last_has = items[-1].interval_days is not None
            parts = [
                _item_text(x, once=(k < len(items) - 1 and last_has), from_day=x.start != p["start"])
                for k, x in enumerate(items)
            ]
            text = " + ".join(parts)
        if p["gap"] > 0:
            g = p["gap"]
            text += f" after {_num(g)} day" + ("" if g == 1 else "s")
        out.append(text)
    return " then ".join(out)


# -- parsing ---------------------------------------------------------------------------------

_NUM_RE = re.compile(
    r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?|[+-]?(?:nan|inf(?:inity)?)", re.IGNORECASE
)
_GLUED_RE = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Zµμ%].*)")
_Q_RE = re.compile(r"q((?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)?(h|hr|hrs|hours?|d|days?|w|wk|wks|weeks?)")
_COUNT_RE = re.compile(r"x((?:\d+(?:\.\d*)?|\.\d+))?([a-z]*)")
_DAYLIST = r"\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*"
_CYCLE_RE = re.compile(rf"d(?:ays?)?({_DAYLIST})")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")

_HOURS = {"h", "hr", "hrs", "hour", "hours"}
_DAYS = {"d", "day", "days"}
_WEEKS = {"w", "wk", "wks", "week", "weeks"}
_MINUTES = {"min", "mins", "minute", "minutes"}
_MULTIPLIERS = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_POSITIVE = "\x00pos\x00"
_CELL_WORDS = {"viable", "t", "car-positive", "autologous", "activated", "nucleated"}
"""Qualifiers of a cell dose ignored before a cells unit (with any ``XYZ+`` marker: ``CAR+``)."""
_FREQ = {
    "daily": 1.0,
    "qd": 1.0,
    "od": 1.0,
    "bid": 0.5,
    "b.i.d.": 0.5,
    "tid": 1 / 3,
    "t.i.d.": 1 / 3,
    "qid": 0.25,
    "q.i.d.": 0.25,
    "weekly": 7.0,
}
_EXPECTED = (
    "expected a schedule such as q3w x4, d1-5 q3w, daily, bid, '4 weeks on 2 weeks off', "
    "'5 days a week', 'over 30 min', a route, 'from day N', 'after N days', '+' or 'then'"
)


def _span_unit(word: str) -> float | None:
    """Days per unit word (hours, days, weeks), or None."""
    if word in _HOURS:
        return 1 / 24
    if word in _DAYS:
        return 1.0
    if word in _WEEKS:
        return 7.0
    return None


def _span(n: float, word: str) -> float:
    # q8h is 8/24 (not 8 * (1/24)) so that it is exactly the float 'tid' gives.
    if word in _HOURS:
        return n / 24
    if word in _WEEKS:
        return n * 7
    return n


def _glued_word(rest: str) -> bool:
    """Whether text glued to a number is a unit or a time word (``200mg``, ``30min``, ``4weeks``)."""
    w = rest.lower()
    if w in _HOURS or w in _DAYS or w in _WEEKS or w in _MINUTES or w in _MULTIPLIERS:
        return True
    try:
        normalise_unit(rest)
    except ValidationError:
        return False
    return True


def _is_number(tok: str) -> bool:
    return _NUM_RE.fullmatch(tok) is not None


def _number(tok: str) -> float:
    return float(tok.replace(",", ""))


@dataclass
class _Schedule:
    interval: float | None = None
    interval_tok: str = ""
    count: int | None = None
    duration: float | None = None
    count_tok: str = ""
    cycle_days: tuple[int, ...] | None = None
    cycle_tok: str = ""
    days_on: float | None = None
    days_off: float | None = None
    per_week: bool = False
    onoff_tok: str = ""
    calendar: tuple[int, int] | None = None
    calendar_tok: str = ""

    @property
    def given(self) -> bool:
        return any(
            v is not None
            for v in (self.interval, self.count, self.duration, self.cycle_days, self.days_on, self.calendar)
        )


@dataclass
class _Item:
    drug: Drug
    dose: float
    unit: str
    text: str
    schedule: _Schedule = field(default_factory=_Schedule)
    minutes: float | None = None
    route: str | None = None
    start: float | None = None
    gap: float | None = None
    rest: float | None = None
    loading: bool = False
    max_amount: float | None = None


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where

    def fail(self, rule: str) -> NoReturn:
        raise ValidationError("regimen", rule, self.text, self.where)

    # -- tokens -----------------------------------------------------------------------------
    def tokens(self) -> list[str]:
        s = self.text.strip().translate(_SUPERSCRIPT)
        s = s.replace("\u2013", "-").replace("\u2014", "-").replace("\u2212", "-").replace("²", "2")
        s = re.sub(r"(\d(?:\.\d+)?)\s*[x×*]\s*10\s*\^?\s*([+-]?\d+)", r"\1e\2", s)  # 2x10^6 -> 2e6
        s = s.replace("×", " x ")
        s = re.sub(r"(?i)\bauc\s*=?\s*", "AUC ", s)
        s = s.replace("(", " ").replace(")", " ")
        # "CAR+ cells", "CD54+ viable T cells": a marker qualifying cells, not a '+' between drugs
        s = re.sub(r"(?i)(?<=[a-z0-9])\+(?=\s+(?:[a-z][\w\-]*\s+){0,3}cells?\b)", _POSITIVE, s)
        s = re.sub(r"(?<![0-9][eE])\+", " + ", s)
        s = s.replace(_POSITIVE, "+")
        s = s.rstrip(". ")
        out: list[str] = []
        for raw in s.split():
            tok = raw.rstrip(",;")
            if not tok:
                continue
            m = _GLUED_RE.fullmatch(tok)
            if m and not _is_number(tok) and _glued_word(m.group(2)):
                out.extend(m.groups())  # 200mg, 30min, 5days; not the 2b of alfa-2b
            else:
                out.append(tok)
        return out

    # -- regimen ----------------------------------------------------------------------------
    def regimen(self) -> list[DrugDose]:
        if not isinstance(self.text, str):
            raise ValidationError("regimen", "be a string such as 'pembrolizumab 200 mg q3w'", self.text, self.where)
        toks = self.tokens()
        if not toks:
            self.fail("be a non-empty regimen such as 'pembrolizumab 200 mg q3w'")
        # phases, each with the word that opened it ("" for the first)
        phases: list[tuple[str, list[str]]] = [("", [])]
        i = 0
        while i < len(toks):
            low = toks[i].lower()
            followed = low == "followed" and i + 1 < len(toks) and toks[i + 1].lower() == "by"
            if low in ("then", "repeat") or followed:
                word = "followed by" if followed else low
                if not phases[-1][1] and (word != "repeat" or phases[-1][0] != "then"):
                    self.fail(f"start with a drug, not '{word}'" if len(phases) == 1 else f"have a drug after '{word}'")
                if word == "repeat" and phases[-1][0] == "then" and not phases[-1][1]:
                    phases.pop()  # "then repeat x14"
                phases.append(("repeat" if word == "repeat" else "then", []))
                i += 2 if followed else 1
                continue
            phases[-1][1].append(toks[i])
            i += 1
        if not phases[-1][1] and phases[-1][0] != "repeat":
            self.fail("have a drug after 'then'")

        doses: list[DrugDose] = []
        prev_end: float | None = 0.0
        open_item = ""
        previous: list[_Item] = []
        rest: float | None = None  # "9 days rest" written at the end of the previous phase
        loading_at: float | None = None  # start of a loading phase: the next one starts an interval later
        for p, (word, ptoks) in enumerate(phases):
            if p > 0 and prev_end is None:
                self.fail(
                    f"not continue with '{word}' after the open-ended '{open_item}' (it never ends: give it a count "
                    "such as x4, or start the next drug with 'from day N')"
                )
            if word == "repeat":
                parsed, gap = self.repeat(previous, ptoks)
            else:
                gap, j = None, 0
                if ptoks[0].lower() == "after":
                    gap, j = self.gap(ptoks, 0)
                items = self.split_items(ptoks[j:])
                default = previous[0].drug if len(previous) == 1 else None
                parsed = [self.item(t, default if k == 0 else None) for k, t in enumerate(items)]
                for k, it in enumerate(parsed):
                    if it.gap is None:
                        continue
                    if k != len(parsed) - 1:
                        self.fail(
                            f"have 'after N days' at the end of the phase or right after 'then', not in '{it.text}'"
                        )
                    if gap is not None:
                        self.fail(f"have one gap ('after ...') per phase in '{' '.join(ptoks)}'")
                    gap = it.gap
                shared = parsed[-1].schedule
                for it in parsed[:-1]:
                    if not it.schedule.given:
                        it.schedule = shared
            if rest is not None:
                if gap is not None:
                    self.fail("have either a rest at the end of a phase or 'after N days' in the next one, not both")
                gap = rest
            rests = [it.rest for it in parsed if it.rest is not None]
            if len(rests) > 1:
                self.fail(f"have one rest per phase in '{' '.join(ptoks)}'")
            rest = rests[0] if rests else None
            if rest is not None and p == len(phases) - 1:
                self.fail("have a phase after the rest ('... then ...' or '... repeat x14')")
            phase_start = prev_end + (gap or 0.0)  # type: ignore[operator]
            if loading_at is not None:
                length = self.phase_interval(parsed[0])
                if length is None:
                    self.fail(f"have a schedule (e.g. q3w) after the loading dose, in '{parsed[0].text}'")
                phase_start = loading_at + length + (gap or 0.0)
            loads = [it.loading for it in parsed]
            if any(loads) and not all(loads):
                self.fail(f"have loading doses alone in their phase, not in '{' '.join(ptoks)}'")
            loading_at = phase_start if all(loads) else None
            ends: list[float | None] = []
            for it in parsed:
                d = self.build(it, phase_start)
                doses.append(d)
                ends.append(d.end)
                if d.end is None:
                    open_item = it.text
            prev_end = None if any(e is None for e in ends) else max(ends)  # type: ignore[type-var]
            previous = parsed
        return doses

    def repeat(self, previous: list[_Item], toks: list[str]) -> tuple[list[_Item], float | None]:
        """The phase ``repeat [xN] [after N days]``: the previous phase's drugs and doses again."""
        if any(it.start is not None for it in previous):
            self.fail("not 'repeat' a phase that has 'from day N' starts")
        probe = _Item(previous[-1].drug, previous[-1].dose, previous[-1].unit, "repeat " + " ".join(toks))
        self.modifiers(toks, [t.lower() for t in toks], 0, probe)
        s = probe.schedule
        if any(v is not None for v in (s.interval, s.cycle_days, s.days_on)) or probe.minutes or probe.route:
            self.fail(f"have only a count and a gap after 'repeat' (e.g. 'repeat x14'), not '{probe.text}'")
        out = []
        for it in previous:
            sched = it.schedule
            if s.count is not None or s.duration is not None:
                sched = replace(sched, count=s.count, duration=s.duration, count_tok=s.count_tok)
            out.append(replace(it, schedule=sched, gap=None, rest=probe.rest, loading=False))
        return out, probe.gap

    def phase_interval(self, it: _Item) -> float | None:
        """Cycle length of an item's schedule as written (None for a single dose)."""
        s = it.schedule
        interval = s.interval if s.interval is not None else (1.0 if s.per_week else None)
        if interval is None:
            return None
        return (s.days_on + s.days_off) if s.days_on is not None else interval  # type: ignore[operator]

    def split_items(self, toks: list[str]) -> list[list[str]]:
        items: list[list[str]] = [[]]
        for t in toks:
            if t == "+":
                if not items[-1]:
                    self.fail(f"have a drug before '{t}'" if len(items) == 1 else f"have a drug after '{t}'")
                items.append([])
            else:
                items[-1].append(t)
        if not items[-1]:
            self.fail(f"have a drug after '{toks[-1]}'" if toks else "have a drug in every phase")
        return items

    def gap(self, toks: list[str], i: int) -> tuple[float, int]:
        """Parse ``after N days|weeks|hours`` at toks[i]; returns (days, next index)."""
        n_tok = toks[i + 1] if i + 1 < len(toks) else ""
        u_tok = toks[i + 2].lower() if i + 2 < len(toks) else ""
        if not _is_number(n_tok) or _span_unit(u_tok) is None:
            self.fail(f"have a gap such as 'after 2 days' or 'after 1 week' at 'after {n_tok} {u_tok}'".rstrip())
        n = _number(n_tok)
        if not math.isfinite(n) or n < 0:
            self.fail(f"have a gap >= 0 after 'after', not '{n_tok}'")
        return _span(n, u_tok), i + 3

    # -- item -------------------------------------------------------------------------------
    def item(self, toks: list[str], default: Drug | None = None) -> _Item:
        idx = _name_index()
        text = " ".join(toks)
        low = [t.lower() for t in toks]
        maxw = max(len(k.split()) for k in idx)
        drug = None
        i = 0
        for k in range(min(maxw, len(toks)), 0, -1):
            hit = idx.get(_norm_name(" ".join(toks[:k])))
            if hit is not None:
                drug, i = get_drug(hit), k
                break
        if drug is None and default is not None and (_is_number(toks[0]) or low[0] == "auc"):
            drug = default  # "trastuzumab 8 mg/kg loading then 6 mg/kg q3w"
        if drug is None:
            j = 0
            while j < len(toks) and not _is_number(toks[j]) and low[j] != "auc":
                j += 1
            if j == 0:
                self.fail(f"have a drug name before '{toks[0]}' in '{text}'")
            raise _unknown_drug(" ".join(toks[:j]), self.where, "drug", self.text)
        name_text = " ".join(toks[:i]) or drug.name
        units = ", ".join(drug.dose_units)

        # dose
        if i >= len(toks):
            self.fail(f"have a dose after '{name_text}' (a number and a unit: {units})")
        if low[i] == "auc":
            if i + 1 >= len(toks) or not _is_number(toks[i + 1]):
                self.fail("have a number after 'AUC' (the target in mg/mL*min, e.g. 'AUC 5')")
            dose_tok, unit_tok, unit = toks[i + 1], "AUC", "AUC"
            self.check_dose(dose_tok, name_text)
            i += 2
        elif _is_number(toks[i]):
            dose_tok = toks[i]
            self.check_dose(dose_tok, name_text)
            i += 1
            if i < len(toks) and low[i] in _MULTIPLIERS:  # "50 million cells"
                dose_tok = f"{dose_tok} {toks[i]}"
                i += 1
            unit = ""
            unit_tok = ""
            k = i
            while k < len(toks) and (toks[k].endswith("+") or low[k] in _CELL_WORDS):
                k += 1  # "2e6 CAR+ viable T cells/kg"
            if k > i:
                qualifier = " ".join(toks[i:k])
                try:
                    cells = k < len(toks) and DOSE_UNITS[normalise_unit(toks[k])].kind == "cells"
                except ValidationError:
                    cells = False
                if not cells:
                    self.fail(f"have a cells unit after the qualifier '{qualifier}' (e.g. '2e6 CAR+ cells/kg')")
                i = k
            for w in (3, 2, 1):
                if i + w <= len(toks) and (w == 1 or "/" in "".join(toks[i + 1 : i + w]) or toks[i].endswith("/")):
                    cand = "".join(toks[i : i + w])
                    try:
                        unit = normalise_unit(cand, self.where)
                    except ValidationError:
                        continue
                    unit_tok = " ".join(toks[i : i + w])
                    i += w
                    break
            if not unit:
                got = f", not '{toks[i]}'" if i < len(toks) else ""
                self.fail(f"have a dose unit after '{dose_tok}' (one of {units}){got}")
        elif (rng := toks[i].split("-", 1)) and len(rng) == 2 and all(_is_number(x) for x in rng):
            self.fail(f"have one dose after '{name_text}', not the range '{toks[i]}' (choose the dose to simulate)")
        else:
            self.fail(f"have a dose after '{name_text}' (a number and a unit: {units}), not '{toks[i]}'")
        if unit not in drug.dose_units:
            self.fail(f"have a dose unit of {drug.name} after '{dose_tok}' (one of {units}), not '{unit_tok}'")
        dose = _number(dose_tok.split()[0]) * (_MULTIPLIERS[dose_tok.split()[1].lower()] if " " in dose_tok else 1.0)
        item = _Item(drug, dose, unit, text)
        self.modifiers(toks, low, i, item)
        return item

    def check_dose(self, tok: str, name_text: str) -> None:
        v = _number(tok)
        if not math.isfinite(v):
            self.fail(f"have a finite dose > 0 after '{name_text}', not '{tok}'")
        if v <= 0:
            self.fail(f"have a dose > 0 after '{name_text}', not '{tok}'")

    def modifiers(self, toks: list[str], low: list[str], i: int, item: _Item) -> None:
        s = item.schedule
        n = len(toks)

        def word(k: int) -> str:
            return low[k] if k < n else ""

        def set_interval(value: float, tok: str) -> None:
            if s.interval is not None:
                inner = s.count * s.interval if s.count is not None else s.duration
                if inner is not None and s.cycle_days is None and s.days_on is None and value >= inner:
                    # "daily x5 q28d": five daily doses at the start of each 28-day cycle
                    s.days_on, s.days_off = inner, value - inner
                    s.onoff_tok = f"{s.interval_tok} {s.count_tok} {tok}"
                    s.count, s.duration, s.count_tok = None, None, ""
                    return
                self.fail(f"have one interval in '{item.text}', not both '{s.interval_tok}' and '{tok}'")
            s.interval, s.interval_tok = value, tok

        def set_count(count: int | None, duration: float | None, tok: str) -> None:
            if s.count is not None or s.duration is not None:
                self.fail(f"have one count in '{item.text}', not both '{s.count_tok}' and '{tok}'")
            s.count, s.duration, s.count_tok = count, duration, tok

        def count_value(num: str, tok: str) -> float:
            if not _is_number(num):
                self.fail(f"have a number after '{tok}' in '{item.text}'")
            v = _number(num)
            if not math.isfinite(v) or v <= 0:
                self.fail(f"have a count or duration > 0 in '{item.text}', not '{tok}'")
            return v

        def integer_count(v: float, tok: str) -> int:
            if not float(v).is_integer() or v < 1:
                self.fail(f"have a whole number of doses or cycles (>= 1), not '{tok}'")
            return int(v)

        while i < n:
            t, w = toks[i], low[i]
            if (m := _Q_RE.fullmatch(w)) is not None:
                value = _span(float(m.group(1)) if m.group(1) else 1.0, m.group(2))
                if value <= 0:
                    self.fail(f"have an interval > 0, not '{t}'")
                set_interval(value, t)
                i += 1
            elif w in _FREQ:
                set_interval(_FREQ[w], t)
                i += 1
            elif w == "tiw":
                set_interval(7.0, t)
                self.set_cycle_days(s, (1, 3, 5), t, item)
                i += 1
            elif w in ("once", "twice", "three", "four") and word(i + 1) in ("daily", "weekly", "a", "per", "times"):
                times_per = {"once": 1, "twice": 2, "three": 3, "four": 4}[w]
                k = i + 1
                if word(k) == "times":
                    k += 1
                if word(k) in ("a", "per"):
                    k += 1
                    unit = {"day": "daily", "week": "weekly"}.get(word(k), "")
                else:
                    unit = word(k)
                if unit == "daily":
                    set_interval(1.0 / times_per, " ".join(toks[i : k + 1]))
                elif unit == "weekly" and times_per == 1:
                    set_interval(7.0, " ".join(toks[i : k + 1]))
                else:
                    self.fail(
                        f"use an interval such as q3w, q2d, q8h, daily, bid, tid or weekly, not '{t} {toks[i + 1]}'"
                    )
                i = k + 1
            elif w == "once":
                set_count(1, None, t)
                i += 1
            elif w in ("loading", "load"):
                if item.loading:
                    self.fail(f"have one 'loading' in '{item.text}'")
                item.loading = True
                set_count(1, None, t)
                i += 1
                if word(i) == "dose":
                    i += 1
            elif w == "every":
                k = i + 1
                if word(k) == "other":
                    mult, k = 2.0, k + 1
                elif _is_number(word(k)):
                    mult, k = _number(word(k)), k + 1
                else:
                    mult = 1.0
                if _span_unit(word(k)) is None or not math.isfinite(mult) or mult <= 0:
                    self.fail(f"have 'every N days|weeks|hours' in '{item.text}', not '{' '.join(toks[i : k + 1])}'")
                set_interval(_span(mult, word(k)), " ".join(toks[i : k + 1]))
                i = k + 1
            elif w.startswith("q") and re.fullmatch(r"q[\d.]*[a-z]*", w):
                self.fail(f"use an interval such as q3w, q2d, q8h, daily, bid, tid or weekly, not '{t}'")
            elif (m := _COUNT_RE.fullmatch(w)) is not None and (m.group(1) or w == "x"):
                k = i + 1
                if m.group(1):
                    v, unit = count_value(m.group(1), t), m.group(2)
                else:
                    v = count_value(word(k), f"{t} {toks[k] if k < n else ''}".strip())
                    k += 1
                    unit = ""
                day_range = word(k) in _DAYS and word(k + 2) == "to"  # "x3 days -5 to -3"
                if (
                    not unit
                    and not day_range
                    and word(k) in (*_HOURS, *_DAYS, *_WEEKS, "doses", "dose", "cycles", "cycle", "times")
                ):
                    unit, k = word(k), k + 1
                tok = " ".join(toks[i:k])
                if unit in ("", "doses", "dose", "cycles", "cycle", "times"):
                    set_count(integer_count(v, tok), None, tok)
                elif _span_unit(unit) is not None:
                    set_count(None, _span(v, unit), tok)
                else:
                    self.fail(f"have a count such as x4, x6 cycles or x4 weeks, not '{tok}'")
                i = k
            elif w == "for":
                v = count_value(word(i + 1), " ".join(toks[i : i + 2]))
                unit = word(i + 2)
                tok = " ".join(toks[i : i + 3])
                if unit in ("doses", "dose", "cycles", "cycle"):
                    set_count(integer_count(v, tok), None, tok)
                elif _span_unit(unit) is not None:
                    set_count(None, _span(v, unit), tok)
                else:
                    self.fail(f"have 'for N days|weeks|doses|cycles', not '{tok}'")
                i += 3
            elif (
                w in ("d", "day", "days")
                and re.fullmatch(r"[+-]?\d+", word(i + 1))
                and word(i + 2) == "to"
                and re.fullmatch(r"[+-]?\d+", word(i + 3))
            ):
                # "days -5 to -3": days on the clinic's calendar (CAR-T day 0 = infusion)
                a, b = int(word(i + 1)), int(word(i + 3))
                tok = " ".join(toks[i : i + 4])
                if b < a:
                    self.fail(f"have days that increase in '{tok}'")
                if s.calendar is not None:
                    self.fail(f"have one day range in '{item.text}'")
                s.calendar, s.calendar_tok = (a, b), tok
                i += 4
            elif (m := _CYCLE_RE.fullmatch(w)) is not None or (
                w in ("d", "day", "days") and re.fullmatch(_DAYLIST, word(i + 1))
            ):
                # d1-5 | days 1-5 | days 1, 8 and 15 | d1 and d15
                parts = [m.group(1)] if m is not None else [word(i + 1)]
                k = i + (1 if m is not None else 2)
                while True:
                    nxt = word(k + 1) if word(k) == "and" else word(k)
                    nxt = nxt[1:] if nxt.startswith("d") and re.fullmatch(rf"d{_DAYLIST}", nxt) else nxt
                    if not re.fullmatch(_DAYLIST, nxt):
                        break
                    parts.append(nxt)
                    k += 2 if word(k) == "and" else 1
                tok = " ".join(toks[i:k])
                self.set_cycle_days(s, self.day_list(",".join(parts), tok), tok, item)
                i = k
            elif _is_number(w):
                i = self.on_off(toks, low, i, item)
            elif w == "over":
                num, unit = word(i + 1), word(i + 2)
                if not _is_number(num) or not (unit in _MINUTES or unit in _HOURS):
                    self.fail(f"have an infusion time such as 'over 30 min' or 'over 1 h' in '{item.text}'")
                v = _number(num)
                if not math.isfinite(v) or v <= 0:
                    self.fail(f"have an infusion time > 0 after 'over', not '{toks[i + 1]}'")
                if item.minutes is not None:
                    self.fail(f"have one infusion time in '{item.text}'")
                item.minutes = v * 60 if unit in _HOURS else v
                i += 3
            elif w == "after":
                gap, i = self.gap(toks, i)
                item.gap = gap
            elif w in ("from", "on", "starting", "start", "beginning"):
                k = i + 1
                if word(k) == "on":
                    k += 1
                day_tok = word(k)
                if day_tok == "day" and _is_number(word(k + 1)):
                    v, k = _number(word(k + 1)), k + 2
                elif (m2 := re.fullmatch(r"day(\d+(?:\.\d*)?)", day_tok)) is not None:
                    v, k = float(m2.group(1)), k + 1
                else:
                    self.fail(f"have 'from day N' (days since the regimen began) in '{item.text}', not '{t}'")
                if not math.isfinite(v) or v < 0:
                    self.fail(f"have a start day >= 0 in '{item.text}'")
                if item.start is not None:
                    self.fail(f"have one start day in '{item.text}'")
                item.start = v
                i = k
            elif w in _ROUTE_WORDS:
                if item.route is not None:
                    self.fail(f"have one route in '{item.text}'")
                item.route = _ROUTE_WORDS[w]
                i += 1
            elif w in ("max", "maximum"):
                i = self.max_amount(toks, low, i + 1, item)
            elif w == "rest":
                # "rest 9 days": a rest after this phase, before the next one
                n_tok, u_tok = word(i + 1), word(i + 2)
                if not _is_number(n_tok) or _span_unit(u_tok) is None:
                    self.fail(f"have a rest such as 'rest 9 days' or '9 days rest' in '{item.text}'")
                self.set_rest(item, _number(n_tok), u_tok)
                i += 3
            elif w in ("continuous", "continuously"):
                i += 1
            else:
                done = " ".join(toks[:i])
                self.fail(f"not contain '{t}' after '{done}' ({_EXPECTED})")

    def max_amount(self, toks: list[str], low: list[str], i: int, item: _Item) -> int:
        """``max N [UNIT]`` at toks[i:]: a cap on the absolute amount (``2e6 cells/kg max 2e8 cells``)."""
        drug = item.drug
        if i >= len(toks) or not _is_number(toks[i]):
            self.fail(f"have a number after 'max' in '{item.text}' (e.g. 'max 2e8 cells')")
        v, tok = _number(toks[i]), toks[i]
        i += 1
        if i < len(toks) and low[i] in _MULTIPLIERS:
            v, tok, i = v * _MULTIPLIERS[low[i]], f"{tok} {toks[i]}", i + 1
        unit = drug.amount_unit
        if i < len(toks):
            try:
                u = normalise_unit(toks[i])
            except ValidationError:
                u = ""
            if u:
                if DOSE_UNITS[u].per is not None or DOSE_UNITS[u].kind == "auc":
                    self.fail(f"have an absolute amount after 'max' (e.g. 'max 2 mg'), not '{tok} {toks[i]}'")
                unit, tok, i = u, f"{tok} {toks[i]}", i + 1
        if not math.isfinite(v) or v <= 0:
            self.fail(f"have a maximum > 0 after 'max', not '{tok}'")
        if item.max_amount is not None:
            self.fail(f"have one maximum in '{item.text}'")
        try:
            item.max_amount = to_amount(v, unit, None, amount_unit=drug.amount_unit, where=self.where).value
        except ValidationError:
            self.fail(f"have a maximum in {drug.amount_unit} (the amount unit of {drug.name}), not '{tok}'")
        return i

    def set_rest(self, item: _Item, n: float, unit: str) -> None:
        if not math.isfinite(n) or n < 0:
            self.fail(f"have a rest >= 0 days in '{item.text}'")
        if item.rest is not None:
            self.fail(f"have one rest in '{item.text}'")
        item.rest = _span(n, unit)

    def day_list(self, text: str, tok: str) -> tuple[int, ...]:
        days: list[int] = []
        for part in text.split(","):
            a, _, b = part.partition("-")
            lo, hi = int(a), int(b) if b else int(a)
            if lo < 1:
                self.fail(f"count cycle days from 1 (d1 = first day of the cycle), not '{tok}'")
            if hi < lo:
                self.fail(f"have cycle-day ranges that increase, not '{tok}'")
            days.extend(range(lo, hi + 1))
        if len(set(days)) != len(days):
            self.fail(f"not repeat a cycle day in '{tok}'")
        return tuple(sorted(days))

    def set_cycle_days(self, s: _Schedule, days: tuple[int, ...], tok: str, item: _Item) -> None:
        if s.cycle_days is not None or s.days_on is not None:
            self.fail(f"have one cycle pattern in '{item.text}', not also '{tok}'")
        s.cycle_days, s.cycle_tok = days, tok

    def on_off(self, toks: list[str], low: list[str], i: int, item: _Item) -> int:
        """``N weeks on M weeks off`` or ``N days a week`` starting at toks[i]."""
        s = item.schedule
        n = len(toks)

        def word(k: int) -> str:
            return low[k] if k < n else ""

        v = _number(toks[i])
        unit = word(i + 1)
        if _span_unit(unit) is not None and (word(i + 2) == "rest" or (word(i + 2) == "of" and word(i + 3) == "rest")):
            self.set_rest(item, v, unit)  # "9 days rest", "9 days of rest"
            return i + (3 if word(i + 2) == "rest" else 4)
        per_week_glued = unit in ("days/week", "days/wk", "d/wk", "d/week", "days/w")
        if per_week_glued or (unit in _DAYS and word(i + 2) in ("a", "per") and word(i + 3) in ("week", "wk")):
            k = i + 2 if per_week_glued else i + 4
            tok = " ".join(toks[i:k])
            if not (v.is_integer() and 1 <= v <= 7):
                self.fail(f"have 1 to 7 days a week, not '{tok}'")
            if s.cycle_days is not None or s.days_on is not None:
                self.fail(f"have one cycle pattern in '{item.text}', not also '{tok}'")
            s.days_on, s.days_off, s.per_week, s.onoff_tok = v, 7.0 - v, True, tok
            return k
        if _span_unit(unit) is not None and word(i + 2) == "on":
            k = i + 3
            if word(k) in ("/", "-"):
                k += 1
            if _is_number(word(k)) and _span_unit(word(k + 1)) is not None and word(k + 2) == "off":
                tok = " ".join(toks[i : k + 3])
                on, off = _span(v, unit), _span(_number(word(k)), word(k + 1))
                if not (math.isfinite(on) and on > 0 and math.isfinite(off) and off >= 0):
                    self.fail(f"have days on > 0 and days off >= 0, not '{tok}'")
                if s.cycle_days is not None or s.days_on is not None:
                    self.fail(f"have one cycle pattern in '{item.text}', not also '{tok}'")
                s.days_on, s.days_off, s.onoff_tok = on, off, tok
                return k + 3
        done = " ".join(toks[:i])
        self.fail(
            f"not contain the number '{toks[i]}' after '{done}' (a cycle is written '4 weeks on 2 weeks off' "
            "or '5 days a week')"
        )

    # -- build ------------------------------------------------------------------------------
    def build(self, it: _Item, phase_start: float) -> DrugDose:
        s = it.schedule
        interval = s.interval
        if s.per_week and interval is None:
            interval = 1.0
        count = s.count
        cycle_days = s.cycle_days
        calendar_count = None
        if s.calendar is not None:
            a, b = s.calendar
            if interval is not None and interval != 1 and s.days_on is None:
                # "days 1 to 5 q3w": days of each cycle
                if a < 1:
                    self.fail(f"count cycle days from 1 (d1 = first day of the cycle), not '{s.calendar_tok}'")
                if cycle_days is not None:
                    self.fail(f"have one cycle pattern in '{it.text}', not also '{s.calendar_tok}'")
                cycle_days = tuple(range(a, b + 1))
            else:
                # "daily x3 (days -5 to -3)": daily doses on these calendar days, the first at the phase start
                n = b - a + 1
                written = count if s.duration is None else math.ceil(s.duration - _EPS)
                if cycle_days is not None or s.days_on is not None or written not in (None, n):
                    self.fail(f"have {n} daily doses for '{s.calendar_tok}' in '{it.text}'")
                interval, calendar_count = 1.0, n
        if interval is None:
            if s.cycle_days is not None:
                self.fail(f"have a cycle length (e.g. q3w) for '{s.cycle_tok}' in '{it.text}'")
            if s.days_on is not None:
                self.fail(f"have a dosing frequency (e.g. daily) for '{s.onoff_tok}' in '{it.text}'")
            if s.duration is not None or count not in (None, 1):
                self.fail(f"have an interval (e.g. q3w or daily) for the count '{s.count_tok}' in '{it.text}'")
            count = None
        elif s.duration is not None:
            length = (s.days_on + s.days_off) if s.days_on is not None else interval  # type: ignore[operator]
            count = max(1, math.ceil(s.duration / length - _EPS))
        if calendar_count is not None:
            count = calendar_count
        start = it.start if it.start is not None else phase_start
        try:
            return DrugDose(
                it.drug.name,
                it.dose,
                it.unit,
                start=start,
                interval_days=interval,
                count=count,
                days_on=s.days_on,
                days_off=s.days_off,
                cycle_days=cycle_days,
                infusion_minutes=it.minutes,
                route=it.route,
                max_amount=it.max_amount,
            )
        except ValidationError as exc:
            self.fail(f"give a valid '{it.text}': its {exc.field} must {exc.rule} (got {_show(exc.value)})")


def parse_regimen(text: str, *, name: str | None = None, where: str = "parse_regimen") -> Regimen:
    """Parse a regimen written as clinics write it (grammar in the module docstring).

    Parameters
    ----------
    text:
        E.g. ``"nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w"``.
    name:
        Name of the regimen; default: ``text`` as written (the source text is kept).
    where:
        Where the text comes from, for error messages.

    Returns
    -------
    Regimen
        Its doses are :class:`DrugDose` values in the order written; ``Regimen.text`` is the
        canonical text, which parses back to the same doses.
    """
    from oncoimmune.treatments._doses import Regimen

    doses = _Parser(text, where).regimen()
    return Regimen(tuple(doses), name=text.strip() if name is None else name)
