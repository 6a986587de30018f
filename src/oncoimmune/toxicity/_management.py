"""Management of adverse events: dose holds, permanent discontinuation, corticosteroids, tocilizumab.

The rules (:data:`~oncoimmune.toxicity._parameters.MANAGEMENT`, clinical.md §4.3) are applied to
each patient's episodes in order of onset:

* **hold** the drugs in scope from onset until the episode is back to grade ≤ 1 *and* any
  corticosteroid course it started has tapered (ASCO: resume when ≤ G1 and prednisone ≤ 10 mg/d);
* **discontinue** permanently at onset (grade 4, except endocrinopathies; grade 3 pneumonitis;
  anti-CTLA-4 alone after grade 3 hepatitis; the whole regimen after grade 3 colitis while anti-CTLA-4
  is given, as the OPDIVO + YERVOY label does);
* for a patient on a checkpoint antibody, the label's further causes of permanent discontinuation
  (:data:`~oncoimmune.toxicity._parameters.CHECKPOINT_DISCONTINUATION`): a hold for an immune-related term
  (endocrinopathies excepted) still open :data:`~oncoimmune.toxicity._parameters.HOLD_LIMIT_DAYS` (12
  weeks) after its onset discontinues the held drugs on that day (unless treatment ended for another
  reason by then), and a second grade 3 episode of the
  same term treated with corticosteroids (a recurrence) discontinues them at its onset;
* under the first YERVOY label (``label="yervoy_2011"``, in force when CheckMate 067 enrolled), a grade ≥ 3
  episode of an organ term (:data:`~oncoimmune.toxicity._parameters.YERVOY_2011_SEVERE`: not rash, fatigue,
  nausea or hypothyroidism) while the anti-CTLA-4 course is given permanently stops the whole regimen
  (the current labels withhold for grade 3 and stop only for colitis);
* **reduce** the dose of the drugs in the hold's scope from onset on
  (:data:`~oncoimmune.toxicity._parameters.DOSE_REDUCTION`: 75 % after grade 4 neutropenia, at most
  twice; a third grade 4 episode discontinues them);
* **corticosteroids**: a course of the level the rule names, starting at onset, of the duration in
  :data:`~oncoimmune.toxicity._parameters.STEROIDS`; only for patients on a checkpoint antibody
  (CAR-T episodes always), since the IL-2 and interferon labels avoid steroids;
* **tocilizumab** for CRS of grade ≥ 2 (one dose at onset, as an action).

Nothing is held or stopped once everything is discontinued, and nothing is managed in a patient
who receives no drug. A drug class given as a finite course (``course``: ipilimumab's four doses) is on
treatment until the course's last dose, and every class until treatment ends for another reason than an
adverse event (``off_day``: progression, the maximum duration, the end of follow-up); an episode that
starts later holds, reduces or discontinues nothing of it. So on nivolumab + ipilimumab, grade 3 colitis in
the nivolumab phase is managed under nivolumab's rule (hold), not the combination's (stop everything), and
an event after progression is treated but stops nothing. A hold begun while doses remained still
discontinues at the 12-week limit, and a hold that covers the last dose of an ipilimumab course and lasts
beyond 16 weeks from its first dose discontinues ipilimumab on that day
(:data:`~oncoimmune.toxicity._parameters.COURSE_COMPLETION_DAYS`, the YERVOY label's failure to complete the
course within 16 weeks; the trial runner skips held doses rather than delaying them, so a hold that ends
before then costs the doses it covers but is not a discontinuation).

In a double-blind design the arms also receive matched placebo (``"placebo"`` among the classes,
:data:`~oncoimmune.toxicity.PLACEBO`), on treatment until ``off_day``: CheckMate 067's ipilimumab arm
went on with nivolumab-matched placebo every 2 weeks after the four doses, so an event after the fourth
dose holds the placebo and can discontinue study treatment, and stopping ipilimumab for grade 3
hepatitis leaves the placebo given (as nivolumab is on the combination).

The actions are records; applying them (re-simulating the exposure with the
held doses removed and the steroid damping on immune activation) is the trial runner's job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from oncoimmune.errors import ValidationError
from oncoimmune.toxicity._parameters import (
    CHECKPOINT_LABELS,
    COURSE_COMPLETION_DAYS,
    DOSE_REDUCTION,
    HOLD_LIMIT_DAYS,
    IMMUNE_RELATED_TERMS,
    MANAGEMENT,
    STEROIDS,
    YERVOY_2011_SEVERE,
)

__all__ = ["CHECKPOINT", "STEROID_DOSING", "feedback", "manage", "steroid_course"]

CHECKPOINT = frozenset({"anti-PD-1", "anti-PD-L1", "anti-CTLA-4"})


def _rule(term: str, grade: int) -> tuple[str, str | None, str]:
    rules = MANAGEMENT.get(term, {})
    if not rules:
        return ("continue", None, "all")
    if grade in rules:
        return rules[grade]
    below = [g for g in rules if g <= grade]
    if not below:
        return ("continue", None, "all")
    return rules[max(below)]


def manage(
    episodes: list[dict],
    classes: frozenset[str],
    course: Mapping[str, tuple[float, float]] | None = None,
    off_day: float = math.inf,
    label: str = "current",
) -> list[dict]:
    """Actions for one patient.

    Parameters
    ----------
    episodes:
        The patient's episodes (``term``, ``grade``, ``onset_day``, ``resolution_day``), any order.
    classes:
        The drug classes the patient receives; ``"placebo"``, a double-blind design's matched placebo,
        is on treatment until ``off_day`` and is held or stopped under the general rules like a drug
        (it keeps a patient whose ipilimumab course is over on study treatment).
    course:
        ``(first, last)`` dose days of each class given as a finite course (ipilimumab's four doses); a
        class not named is given until ``off_day``.
    off_day:
        Day treatment ends for reasons other than adverse events (progression, the maximum duration);
        default: never.
    label:
        Which checkpoint labels the discontinuation rules follow
        (:data:`~oncoimmune.toxicity._parameters.CHECKPOINT_LABELS`): ``"current"`` (default) or
        ``"yervoy_2011"``, which adds the first YERVOY label's rule: a grade >= 3 episode of a term of
        :data:`~oncoimmune.toxicity._parameters.YERVOY_2011_SEVERE` while the anti-CTLA-4 course is given
        permanently stops the whole regimen. Without ``course`` for anti-CTLA-4 the drug counts as given
        until ``off_day``, so the rule then applies throughout (pass the course, as the trial runner does).

    Returns
    -------
    list of dict
        Records with ``kind`` (``hold``, ``discontinue``, ``reduce``, ``steroid``, ``tocilizumab``),
        ``start``, ``stop`` (NaN: open), ``scope`` (``all``, ``anti-CTLA-4`` or ``cytotoxic``), ``level``
        (steroid level; for ``reduce`` the dose factor as text, e.g. ``"0.75"``), ``term`` and ``grade``
        of the episode that triggered it.
    """
    if label not in CHECKPOINT_LABELS:
        raise ValidationError("label", f"be one of {', '.join(CHECKPOINT_LABELS)}", label, "manage")
    actions: list[dict] = []
    systemic = classes - {"CAR-T"}
    if not classes:
        return actions
    stopped: set[str] = set()
    reductions: dict[tuple[str, frozenset[str]], int] = {}
    steroid_ok = bool(classes & CHECKPOINT)
    label_rules = steroid_ok  # the checkpoint labels' persistence and recurrence rules
    severe_treated: dict[str, int] = {}
    # (day, drugs, term, grade, course): discontinuations due on a later day, of holds that outlast the 12-week
    # limit or a course's completion deadline (`course`: the class whose deadline it is, on treatment then)
    pending: list[tuple[float, set[str], str, int, set[str]]] = []

    ends = {c: float(last) for c, (_, last) in (course or {}).items()}
    deadline = {  # for a course that fits its completion window (ipilimumab x4 in 16 weeks)
        c: float(first) + COURSE_COMPLETION_DAYS[c].value
        for c, (first, last) in (course or {}).items()
        if c in COURSE_COMPLETION_DAYS and float(last) - float(first) <= COURSE_COMPLETION_DAYS[c].value
    }

    def given(day: float) -> set[str]:
        # the classes not discontinued that are still on treatment on `day`
        return {c for c in systemic - stopped if day <= min(ends.get(c, math.inf), off_day)}

    def settle(until: float) -> None:
        # discontinuations of holds still open at the 12-week limit or at a course's completion deadline,
        # up to day `until` (in day order)
        pending.sort(key=lambda x: x[0])
        while pending and pending[0][0] <= until:
            day, drugs, term_, grade_, course_ = pending.pop(0)
            live_then = given(day) | (course_ - stopped)
            targets_then = drugs & live_then
            if targets_then:
                actions.append(_act("discontinue", day, math.nan, _scope(targets_then, live_then), None, term_, grade_))
                stopped.update(targets_then)

    for ep in sorted(episodes, key=lambda e: (e["onset_day"], e["term"])):
        term, grade, on = ep["term"], int(ep["grade"]), float(ep["onset_day"])
        if grade <= 0:
            continue
        settle(on)
        action, treat, scope = _rule(term, grade)
        cart = term in ("crs", "icans")
        steroid_end = on
        for item in (treat or "").split("+"):
            if not item:
                continue
            if item == "tocilizumab":
                actions.append(_act("tocilizumab", on, on, "all", "tocilizumab 8 mg/kg", term, grade))
            elif cart or steroid_ok:
                days = STEROIDS[item].value[0]
                steroid_end = on + days
                actions.append(_act("steroid", on, steroid_end, "all", item, term, grade))
        live = given(on)
        if not live:
            continue
        base_scope, _, stop_scope = scope.partition("+stop:")
        if stop_scope.startswith("all-with:"):
            # with that class in the live regimen, the whole regimen stops (OPDIVO + YERVOY colitis rule)
            if stop_scope.removeprefix("all-with:") in live:
                action, base_scope = "discontinue", "all"
            stop_scope = ""
        if label == "yervoy_2011" and grade >= 3 and term in YERVOY_2011_SEVERE.value and "anti-CTLA-4" in live:
            # the first YERVOY label: permanently discontinue for severe immune-mediated reactions
            action, base_scope, stop_scope = "discontinue", "all", ""
        if label_rules and grade == 3 and treat and term in IMMUNE_RELATED_TERMS:
            severe_treated[term] = severe_treated.get(term, 0) + 1
            if severe_treated[term] > 1:  # recurrent severe reaction needing immunosuppression
                action, base_scope = "discontinue", "all"
        if action == "discontinue":
            targets = live if base_scope == "all" else live & {base_scope}
            if targets:
                actions.append(_act("discontinue", on, math.nan, _scope(targets, live), None, term, grade))
                stopped |= targets
        elif action == "hold":
            targets = live if base_scope == "all" else live & {base_scope}
            if targets:
                res = ep.get("resolution_day", math.nan)
                stop = max(res, steroid_end) if not math.isnan(res) else math.nan
                limit = on + HOLD_LIMIT_DAYS.value
                if label_rules and term in IMMUNE_RELATED_TERMS and not stop <= limit:
                    # not back to grade <= 1 (or still on the steroid taper) 12 weeks on: permanent stop of
                    # the held drugs, a course that ended during the hold included (its doses were missed),
                    # unless treatment ended for another reason by then
                    pending.append((limit, set(targets), term, grade, set(targets) if limit <= off_day else set()))
                    stop = limit
                actions.append(_act("hold", on, stop, _scope(targets, live), None, term, grade))
                for c in targets & set(deadline):
                    # the hold covers the course's last dose past the day it could still be given late
                    if deadline[c] <= off_day and not stop <= deadline[c]:
                        pending.append((deadline[c], {c}, term, grade, {c}))
                lowest, factor, most = DOSE_REDUCTION.get(term, (math.inf, None, None))
                if grade >= lowest:
                    key = (term, frozenset(targets))
                    if reductions.get(key, 0) < most.value:
                        reductions[key] = reductions.get(key, 0) + 1
                        actions.append(
                            _act("reduce", on, math.nan, _scope(targets, live), repr(factor.value), term, grade)
                        )
                    else:  # one reduction too many: the drugs stop
                        actions.append(_act("discontinue", on, math.nan, _scope(targets, live), None, term, grade))
                        stopped |= targets
        if stop_scope and stop_scope in given(on):
            # on anti-CTLA-4 alone, stopping it stops the whole regimen
            scope_now = _scope({stop_scope}, given(on))
            actions.append(_act("discontinue", on, math.nan, scope_now, None, term, grade))
            stopped.add(stop_scope)
    settle(math.inf)
    return actions


def _scope(targets: set[str], live: set[str]) -> str:
    return "all" if targets == live else ",".join(sorted(targets))


def _act(kind, start, stop, scope, level, term, grade) -> dict:
    return {
        "kind": kind,
        "start": float(start),
        "stop": float(stop),
        "scope": scope,
        "level": level,
        "term": term,
        "grade": int(grade),
    }


# -- feeding the actions back into the exposure model -----------------------------------------

STEROID_DOSING: dict[str, tuple[str, float, str, float, str, str]] = {
    "low": (
        "prednisone",
        0.75,
        "mg/kg",
        1.0,
        "oral",
        "prednisone 0.5-1 mg/kg/d (ASCO grade 2, clinical.md §4.3, V): the middle of the range, daily by mouth",
    ),
    "high": (
        "prednisone",
        1.5,
        "mg/kg",
        1.0,
        "oral",
        "prednisone 1-2 mg/kg/d or IV methylprednisolone (ASCO grade 3, clinical.md §4.3, V): the middle of the "
        "range as oral prednisone (methylprednisolone 1 mg = prednisone 1.25 mg, the usual equivalence, R)",
    ),
    "dexamethasone": (
        "dexamethasone",
        10.0,
        "mg",
        0.25,
        "iv",
        "dexamethasone 10 mg IV q6h for CRS grade >= 3 and ICANS (YESCARTA label, clinical.md §4.3, R)",
    ),
}
"""Corticosteroid course of each management level: (drug, dose, unit, interval in days, route, source)."""

TAPER_STEP_DAYS = 7.0
"""A course of ``d`` days (:data:`~oncoimmune.toxicity._parameters.STEROIDS`) is given as a linear taper
in weekly steps: week *k* of *n* at ``(n - k)/n`` of the starting dose (ASCO: taper over at least 4-6
weeks, clinical.md §4.3; the weekly linear shape is U); a course of a week or less is not tapered."""


def steroid_course(start: float, stop: float, level: str) -> tuple:
    """The drug doses of one corticosteroid course, as :class:`~oncoimmune.treatments.DrugDose` values."""
    from oncoimmune.treatments._prescription import DrugDose

    drug, dose, unit, every, route, _ = STEROID_DOSING[level]
    days = max(stop - start, every)
    steps = max(1, math.ceil(days / TAPER_STEP_DAYS - 1e-9))
    out = []
    for k in range(steps):
        lo = start + k * TAPER_STEP_DAYS
        hi = min(stop, lo + TAPER_STEP_DAYS) if steps > 1 else start + days
        count = max(1, math.ceil((hi - lo) / every - 1e-9))
        out.append(
            DrugDose(drug, dose * (steps - k) / steps, unit, start=lo, interval_days=every, count=count, route=route)
        )
    return tuple(out)


def feedback(
    actions: list[dict],
    drug_class: dict[str, str | None],
    *,
    steroids: bool = True,
    never_held: frozenset[str] = frozenset(),
):
    """What one patient's management actions change in their treatment.

    Parameters
    ----------
    actions:
        The patient's records from :func:`manage` (``ToxicityResult.actions`` rows).
    drug_class:
        Each drug of the arm's regimen to its side-effect class (``None``: no class).
    steroids:
        Give the corticosteroid courses (``False`` where the exposure model has no corticosteroid slot).
    never_held:
        Drugs whose doses the rules do not hold or partly stop (the trial runner's choice: the
        lymphodepleting course before a CAR-T infusion, given in full; the cell product, a single
        infusion; high-dose IL-2, held dose by dose in the clinic, which episodes lasting until
        resolution do not describe). A discontinuation of everything is the caller's stop day.

    Returns
    -------
    withhold, steroid_doses
        ``withhold``: ``(start, stop, drugs, factor)`` windows in which the drugs' doses are multiplied by
        ``factor``: 0 for holds (until resolution to grade <= 1 and the end of the steroid taper; open:
        to the end) and permanent discontinuations of part of the regimen (stop = inf); the reduction
        factor from a ``reduce`` action on (stop = inf). A permanent discontinuation of everything is
        left to the caller's stop day. ``steroid_doses``: the DrugDose values of the
        corticosteroid courses, in onset order.
    """
    systemic = {d for d, c in drug_class.items() if c != "CAR-T" and d not in never_held}
    withhold: list[tuple[float, float, frozenset[str]]] = []
    doses: list = []
    for a in sorted(actions, key=lambda a: (a["start"], a["kind"])):
        kind, scope = a["kind"], a["scope"]
        if kind in ("hold", "discontinue", "reduce"):
            if kind == "discontinue" and scope == "all":
                continue
            classes = set(scope.split(","))
            drugs = frozenset(systemic if scope == "all" else {d for d in systemic if drug_class[d] in classes})
            stop = math.inf if kind != "hold" or math.isnan(a["stop"]) else a["stop"]
            factor = float(a["level"]) if kind == "reduce" else 0.0
            if drugs:
                withhold.append((a["start"], stop, drugs, factor))
        elif kind == "steroid" and steroids:
            doses.extend(steroid_course(a["start"], a["stop"], a["level"]))
    return tuple(withhold), tuple(doses)
