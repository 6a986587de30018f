"""Recurrence of held immune-related adverse events when the checkpoint antibodies are resumed."""

import math

import numpy as np
import pandas as pd
import pytest
from toxicity_helpers import SEED, T, arm, binomial_tol, simulated

from oncoimmune.errors import ValidationError
from oncoimmune.toxicity import simulate_toxicity
from oncoimmune.toxicity._parameters import IMMUNE_RELATED_TERMS, RECURRENCE, TERMS

RECUR = "recurrence on resumption"


def _first_resumed_holds(res) -> pd.DataFrame:
    """Per patient and immune-related term, the first hold whose drug-related episode was resumed."""
    ep, act = res.episodes, res.actions
    first_ep = ep[ep["detail"] != RECUR]
    drug = first_ep[first_ep["cause"] != "background"][["patient", "term", "onset_day"]]
    holds = act[(act["kind"] == "hold") & act["term"].isin(IMMUNE_RELATED_TERMS) & np.isfinite(act["stop"])]
    holds = holds.merge(drug, left_on=["patient", "term", "start"], right_on=["patient", "term", "onset_day"])
    stop_all = res.discontinuation_day()
    holds = holds[~(holds["stop"].to_numpy() >= stop_all[holds["patient"].to_numpy()])]
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
    expected = RECURRENCE.value * -np.expm1(-(T[-1] - holds["stop"].to_numpy()) / tau)
    assert abs(recurred.mean() - expected.mean()) <= binomial_tol(expected.mean(), len(holds))


def test_a_recurrence_follows_its_resumed_hold_with_the_first_events_cause():
    res = simulated("nivolumab+ipilimumab")
    holds = _first_resumed_holds(res).set_index(["patient", "term"])
    rec = res.episodes[res.episodes["detail"] == RECUR]
    assert len(rec) > 100
    first = res.episodes[res.episodes["detail"] != RECUR]
    for p, term, onset, cause, grade in rec[["patient", "term", "onset_day", "cause", "grade"]].itertuples(False):
        hold = holds.loc[(p, term)]
        assert onset > hold["stop"]
        mine = first[(first["patient"] == p) & (first["term"] == term) & (first["onset_day"] == hold["start"])]
        assert (mine["cause"] == cause).all() and cause != "background"
        assert 1 <= grade <= TERMS[term].max_grade
    # one recurrence per patient and term, none of an endocrinopathy
    assert not rec.duplicated(["patient", "term"]).any()
    assert not (rec["term"] == "hypothyroidism").any()


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


def test_recurrences_do_not_depend_on_chunking():
    out = arm("nivolumab+ipilimumab", 600)
    a = simulate_toxicity(out, T, seed=SEED, chunk_size=600)
    b = simulate_toxicity(out, T, seed=SEED, chunk_size=97)
    pd.testing.assert_frame_equal(a.episodes, b.episodes)
    pd.testing.assert_frame_equal(a.actions, b.actions)
    assert (a.episodes["detail"] == RECUR).any() and math.isfinite(a.discontinuation_rate())


def test_a_bad_treatment_end_is_refused_naming_the_field():
    out = arm("nivolumab+ipilimumab", 10)
    for bad in ([1.0, 2.0], float("nan"), np.full(10, np.inf)):
        with pytest.raises(ValidationError, match="treatment_end"):
            simulate_toxicity(out, T, seed=SEED, treatment_end=bad)
