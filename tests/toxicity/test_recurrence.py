"""Recurrence of held immune-related adverse events when the checkpoint antibodies are resumed."""

import math

import numpy as np
import pandas as pd
import pytest
from toxicity_helpers import SEED, T, arm, binomial_tol, simulated

from oncoimmune.errors import ValidationError
from oncoimmune.toxicity import simulate_toxicity
from oncoimmune.toxicity._parameters import IMMUNE_RELATED_TERMS, RECURRENCE, TERMS

RECUR = "recurrence on rechallenge"


def _first_resumed_holds(res) -> pd.DataFrame:
    """Per patient and immune-related term, the first hold of a drug-caused episode after which the drugs
    were given again (continuous exposure: the day every hold covering that day has ended), with that day."""
    ep, act = res.episodes, res.actions
    first_ep = ep[ep["detail"] != RECUR]
    drug = first_ep[first_ep["cause"] != "background"][["patient", "term", "onset_day"]]
    all_holds = act[act["kind"] == "hold"]
    spans = {p: list(zip(g["start"], g["stop"].fillna(np.inf), strict=True)) for p, g in all_holds.groupby("patient")}
    holds = all_holds[all_holds["term"].isin(IMMUNE_RELATED_TERMS) & np.isfinite(all_holds["stop"])]
    holds = holds.merge(drug, left_on=["patient", "term", "start"], right_on=["patient", "term", "onset_day"])
    resume = []
    for p, stop in zip(holds["patient"], holds["stop"], strict=True):
        r, moved = stop, True
        while moved:
            moved = False
            for lo, hi in spans[p]:
                if lo <= r < hi:
                    r, moved = hi, True
        resume.append(r)
    holds = holds.assign(resume=resume)
    stop_all = res.discontinuation_day()
    holds = holds[holds["resume"].to_numpy() < np.nan_to_num(stop_all[holds["patient"].to_numpy()], nan=np.inf)]
    holds = holds[holds["resume"] <= T[-1]]
    return holds.sort_values("start").drop_duplicates(["patient", "term"])


def test_held_irae_recur_at_the_published_rate_when_resumed():
    # Dolladille 2020: the same irAE recurred in 28.8 % of rechallenges. Over a 365-day window a
    # recurrence is seen only if it starts before the window closes: expected share
    # 0.288 x P(exponential delay with mean tau <= 365 - resumption day)
    res = simulated("nivolumab+ipilimumab")
    holds = _first_resumed_holds(res)
    assert len(holds) > 1000
    rec = res.episodes[res.episodes["detail"] == RECUR]
    seen = holds.merge(rec[["patient", "term"]], on=["patient", "term"], how="left", indicator=True)
    recurred = (seen["_merge"] == "both").to_numpy()
    tau = holds["term"].map(lambda k: TERMS[k].tau.value).to_numpy()
    expected = RECURRENCE.value * -np.expm1(-(T[-1] - holds["resume"].to_numpy()) / tau)
    assert abs(recurred.mean() - expected.mean()) <= binomial_tol(expected.mean(), len(holds))


def test_a_recurrence_follows_its_resumed_hold_with_the_first_events_cause():
    res = simulated("nivolumab+ipilimumab")
    holds = _first_resumed_holds(res).set_index(["patient", "term"])
    rec = res.episodes[res.episodes["detail"] == RECUR]
    assert len(rec) > 100
    first = res.episodes[res.episodes["detail"] != RECUR]
    for p, term, onset, cause, grade in rec[["patient", "term", "onset_day", "cause", "grade"]].itertuples(False):
        hold = holds.loc[(p, term)]
        assert onset > hold["resume"] >= hold["stop"]
        mine = first[(first["patient"] == p) & (first["term"] == term) & (first["onset_day"] == hold["start"])]
        assert (mine["cause"] == cause).all() and cause != "background"
        assert 1 <= grade <= TERMS[term].max_grade
    # one recurrence per patient and term, none of an endocrinopathy
    assert not rec.duplicated(["patient", "term"]).any()
    assert not (rec["term"] == "hypothyroidism").any()


def _hold(term, start, stop, scope="all"):
    return {"kind": "hold", "start": start, "stop": stop, "scope": scope, "level": None, "term": term, "grade": 2}


def _recur(eps, acts, end=400.0, dose_days=None, checkpoint=frozenset()):
    from oncoimmune.toxicity._simulate import _grade_tables, _recurrences

    tables = {k: _grade_tables(k) for k in TERMS}
    u = np.zeros(4 * len(TERMS))  # every draw recurs, after the shortest delay
    return _recurrences(eps, acts, end, 365.0, u, tables, dose_days, checkpoint)


def _case(term, cause, onset=30.0):
    return {"row": 0, "term": term, "grade": 2, "onset_day": onset, "cause": cause, "resolution_day": 50.0}


def test_only_checkpoint_caused_events_recur_on_rechallenge():
    acts = [_hold("hepatitis", 30.0, 50.0)]
    assert len(_recur([_case("hepatitis", "anti-PD-1")], acts)) == 1
    assert len(_recur([_case("hepatitis", "PD-(L)1 x CTLA-4")], acts)) == 1
    for cause in ("background", "cytotoxic", "targeted", "IL-2"):
        assert _recur([_case("hepatitis", cause)], acts) == [], cause


def test_the_rechallenge_waits_for_every_hold_and_for_the_next_dose():
    eps = [_case("rash_pruritus", "anti-PD-1", onset=20.0)]
    # another hold covers the end of this one: the drugs resume when both have ended
    acts = [_hold("rash_pruritus", 20.0, 25.0), _hold("arthralgia", 10.0, 60.0)]
    (rec,) = _recur(eps, acts)
    assert rec["onset_day"] == 60.0 and rec["detail"] == RECUR
    # with doses every 14 days the rechallenge is the first dose after day 60, and none after the last dose
    (rec,) = _recur(eps, acts, dose_days=np.arange(0.0, 400.0, 14.0))
    assert rec["onset_day"] == 70.0
    assert _recur(eps, acts, end=56.0, dose_days=np.arange(0.0, 400.0, 14.0)) == []
    # a hold that starts after this one ended and covers the next dose: the rechallenge is the dose after it
    later = [_hold("rash_pruritus", 20.0, 25.0), _hold("arthralgia", 27.0, 40.0)]
    (rec,) = _recur(eps, later, dose_days=np.arange(0.0, 400.0, 14.0))
    assert rec["onset_day"] == 42.0
    # a hold that never ends, or everything stopped before the rechallenge: no recurrence
    assert _recur(eps, [_hold("rash_pruritus", 20.0, 25.0), _hold("arthralgia", 10.0, math.nan)]) == []
    stopped = [*acts, {**_hold("other", 40.0, math.nan), "kind": "discontinue"}]
    assert _recur(eps, stopped) == []
    # a chemotherapy-only hold does not keep the checkpoint antibodies from resuming
    assert _recur(eps, [_hold("rash_pruritus", 20.0, 25.0), _hold("neutropenia", 10.0, 60.0, "cytotoxic")])[0][
        "onset_day"
    ] == pytest.approx(25.0)


def test_no_recurrence_without_a_rechallenge_or_without_management():
    out = arm("nivolumab+ipilimumab", 2000)
    ended = simulate_toxicity(out, T, seed=SEED, treatment_end=0.0)  # no dose after any resumption
    assert not (ended.episodes["detail"] == RECUR).any()
    unmanaged = simulate_toxicity(out, T, seed=SEED, management=False)
    assert not (unmanaged.episodes["detail"] == RECUR).any()
    managed = simulate_toxicity(out, T, seed=SEED)
    assert (managed.episodes["detail"] == RECUR).any()
    # the first events are the same whatever happens after them
    cols = ["patient", "term", "onset_day", "grade"]
    first = managed.episodes[managed.episodes["detail"] != RECUR][cols].reset_index(drop=True)
    assert first.equals(ended.episodes[cols].reset_index(drop=True))


def test_a_patients_recurrences_do_not_depend_on_the_other_patients():
    out = arm("nivolumab+ipilimumab", 600)
    whole = simulate_toxicity(out, T, seed=SEED, chunk_size=97)
    rec = whole.episodes[whole.episodes["detail"] == RECUR]
    assert len(rec) > 10
    # the same patients simulated alone, in another order, under their ids, get the same recurrences
    ids = np.array(sorted(set(rec["patient"]))[::-1])
    alone = simulate_toxicity({k: v[: len(ids)] for k, v in out.items()}, T, seed=SEED, patient_ids=ids)
    got = alone.episodes[alone.episodes["detail"] == RECUR].assign(patient=lambda d: ids[d["patient"]])
    cols = ["patient", "term", "onset_day", "grade", "cause", "resolution_day"]
    key = ["patient", "term"]
    pd.testing.assert_frame_equal(
        got[cols].sort_values(key).reset_index(drop=True), rec[cols].sort_values(key).reset_index(drop=True)
    )


def test_a_bad_treatment_end_is_refused_naming_the_field():
    out = arm("nivolumab+ipilimumab", 10)
    for bad in ([1.0, 2.0], float("nan"), np.full(10, np.inf)):
        with pytest.raises(ValidationError, match="treatment_end"):
            simulate_toxicity(out, T, seed=SEED, treatment_end=bad)


def test_no_rechallenge_once_every_checkpoint_drug_is_stopped_though_placebo_goes_on():
    # ipilimumab with matched placebo: grade 3 hepatitis on day 15 stops ipilimumab alone (the placebo goes on,
    # a partial discontinuation) and holds the placebo to day 30; ipilimumab's day-63 dose is not given, so
    # nothing is rechallenged. On the combination nivolumab is still given: its dose after the hold rechallenges
    from oncoimmune.toxicity._management import manage

    ep = {"row": 0, "term": "hepatitis", "grade": 3, "onset_day": 15.0, "cause": "anti-CTLA-4", "resolution_day": 30.0}
    course = {"anti-CTLA-4": (0.0, 63.0)}
    blinded = frozenset({"anti-CTLA-4", "placebo"})
    acts = manage([ep], blinded, course, off_day=400.0)
    assert [(a["kind"], a["scope"]) for a in acts if a["kind"] == "discontinue"] == [("discontinue", "anti-CTLA-4")]
    ipi_days = np.array([0.0, 21.0, 42.0, 63.0])
    assert _recur([ep], acts, dose_days=ipi_days, checkpoint=frozenset({"anti-CTLA-4"})) == []
    combo = frozenset({"anti-PD-1", "anti-CTLA-4"})
    acts = manage([ep], combo, course, off_day=400.0)
    nivo_days = np.arange(0.0, 400.0, 14.0)
    again = _recur([ep], acts, dose_days=nivo_days, checkpoint=combo)
    assert len(again) == 1 and again[0]["onset_day"] > 30.0
