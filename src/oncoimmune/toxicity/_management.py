"""Management of adverse events: dose holds, permanent discontinuation, corticosteroids, tocilizumab.

The rules (:data:`~oncoimmune.toxicity._parameters.MANAGEMENT`, clinical.md §4.3) are applied to
each patient's episodes in order of onset:

* **hold** the drugs in scope from onset until the episode is back to grade ≤ 1 *and* any
  corticosteroid course it started has tapered (ASCO: resume when ≤ G1 and prednisone ≤ 10 mg/d);
* **discontinue** permanently at onset (grade 4, except endocrinopathies; grade 3 pneumonitis;
  anti-CTLA-4 alone after grade 3 colitis or hepatitis);
* **corticosteroids**: a course of the level the rule names, starting at onset, of the duration in
  :data:`~oncoimmune.toxicity._parameters.STEROIDS`; only for patients on a checkpoint antibody
  (CAR-T episodes always), since the IL-2 and interferon labels avoid steroids;
* **tocilizumab** for CRS of grade ≥ 2 (one dose at onset, as an action).

Nothing is held or stopped once everything is discontinued, and nothing is managed in a patient
who receives no drug. The actions are records; applying them (re-simulating the exposure with the
held doses removed and the steroid damping on immune activation) is the trial runner's job.
"""

from __future__ import annotations

import math

from oncoimmune.toxicity._parameters import MANAGEMENT, STEROIDS

__all__ = ["CHECKPOINT", "manage"]

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


def manage(episodes: list[dict], classes: frozenset[str]) -> list[dict]:
    """Actions for one patient.

    Parameters
    ----------
    episodes:
        The patient's episodes (``term``, ``grade``, ``onset_day``, ``resolution_day``), any order.
    classes:
        The drug classes the patient receives.

    Returns
    -------
    list of dict
        Records with ``kind`` (``hold``, ``discontinue``, ``steroid``, ``tocilizumab``), ``start``,
        ``stop`` (NaN: open), ``scope`` (``all``, ``anti-CTLA-4`` or ``cytotoxic``), ``level`` (steroid
        level), ``term`` and ``grade`` of the episode that triggered it.
    """
    actions: list[dict] = []
    systemic = classes - {"CAR-T"}
    if not classes:
        return actions
    stopped: set[str] = set()
    steroid_ok = bool(classes & CHECKPOINT)
    for ep in sorted(episodes, key=lambda e: (e["onset_day"], e["term"])):
        term, grade, on = ep["term"], int(ep["grade"]), float(ep["onset_day"])
        if grade <= 0:
            continue
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
        live = systemic - stopped
        if not live:
            continue
        base_scope, _, stop_scope = scope.partition("+stop:")
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
                actions.append(_act("hold", on, stop, _scope(targets, live), None, term, grade))
        if stop_scope and stop_scope in (systemic - stopped):
            actions.append(_act("discontinue", on, math.nan, stop_scope, None, term, grade))
            stopped.add(stop_scope)
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
