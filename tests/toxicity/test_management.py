"""Management rules of clinical.md §4.3 (ASCO/ESMO/SITC irAE rules; YESCARTA/KYMRIAH CRS rules)."""

import math

import numpy as np
import pytest
from toxicity_helpers import T, arm, simulated

from oncoimmune.toxicity import simulate_toxicity
from oncoimmune.toxicity._management import manage
from oncoimmune.toxicity._parameters import HOLD_LIMIT_DAYS, STEROIDS

ICI = frozenset({"anti-PD-1", "anti-CTLA-4"})
HIGH = STEROIDS["high"].value[0]
LOW = STEROIDS["low"].value[0]
HOLD_LIMIT = HOLD_LIMIT_DAYS.value


def _ep(term, grade, onset=30.0, resolution=45.0):
    return {"term": term, "grade": grade, "onset_day": onset, "resolution_day": resolution}


def _kinds(actions):
    return sorted((a["kind"], a["scope"], a["level"]) for a in actions)


def test_grade_3_colitis_holds_anti_pd1_and_stops_the_combination_with_anti_ctla4():
    # ASCO/ESMO colitis grade 3: hold, methylprednisolone 1-2 mg/kg; the OPDIVO + YERVOY label permanently
    # discontinues both antibodies at grade 3 colitis, while nivolumab alone is withheld
    acts = manage([_ep("diarrhoea_colitis", 3)], ICI)
    assert _kinds(acts) == [("discontinue", "all", None), ("steroid", "all", "high")]
    alone = manage([_ep("diarrhoea_colitis", 3)], frozenset({"anti-PD-1"}))
    assert _kinds(alone) == [("hold", "all", None), ("steroid", "all", "high")]
    hold = next(a for a in alone if a["kind"] == "hold")
    # resume when <= grade 1 and the steroid course has tapered (ASCO: prednisone <= 10 mg/day)
    assert hold["start"] == 30.0 and hold["stop"] == max(45.0, 30.0 + HIGH)


def test_grade_3_hepatitis_holds_and_stops_anti_ctla4_only():
    acts = manage([_ep("hepatitis", 3)], ICI)
    assert _kinds(acts) == [
        ("discontinue", "anti-CTLA-4", None),
        ("hold", "all", None),
        ("steroid", "all", "high"),
    ]


def test_a_hold_still_open_after_12_weeks_discontinues_on_a_checkpoint_antibody():
    # OPDIVO/YERVOY labels: persistent grade 2-3 reactions lasting 12 weeks or longer -> permanent stop
    acts = manage([_ep("hepatitis", 2, onset=30.0, resolution=30.0 + HOLD_LIMIT + 20.0)], frozenset({"anti-PD-1"}))
    hold = next(a for a in acts if a["kind"] == "hold")
    disc = [a for a in acts if a["kind"] == "discontinue"]
    assert hold["stop"] == 30.0 + HOLD_LIMIT
    assert len(disc) == 1 and disc[0]["start"] == 30.0 + HOLD_LIMIT and disc[0]["scope"] == "all"
    # one that resolves within the limit resumes; an endocrinopathy is the exception
    ok = manage([_ep("hepatitis", 2, onset=30.0, resolution=30.0 + HOLD_LIMIT - 1.0)], frozenset({"anti-PD-1"}))
    assert not [a for a in ok if a["kind"] == "discontinue"]
    thyroid = manage([_ep("hypothyroidism", 3, onset=30.0, resolution=400.0)], frozenset({"anti-PD-1"}))
    assert not [a for a in thyroid if a["kind"] == "discontinue"]
    # without a checkpoint antibody (chemotherapy, targeted therapy) the label rule does not apply
    tki = manage([_ep("hepatitis", 2, onset=30.0, resolution=400.0)], frozenset({"targeted"}))
    assert [a["kind"] for a in tki] == ["hold"] and tki[0]["stop"] == 400.0


def test_an_earlier_episode_is_managed_before_a_pending_12_week_discontinuation():
    # the discontinuation at day onset + 12 weeks does not reach back: an episode in between is still held
    eps = [
        _ep("arthralgia", 2, onset=10.0, resolution=10.0 + HOLD_LIMIT + 50.0),
        _ep("rash_pruritus", 3, onset=40.0, resolution=60.0),
    ]
    acts = manage(eps, frozenset({"anti-PD-1"}))
    assert [(a["kind"], a["term"], a["start"]) for a in acts if a["kind"] in ("hold", "discontinue")] == [
        ("hold", "arthralgia", 10.0),
        ("hold", "rash_pruritus", 40.0),
        ("discontinue", "arthralgia", 10.0 + HOLD_LIMIT),
    ]


def test_a_recurrent_grade_3_reaction_treated_with_steroids_discontinues():
    eps = [_ep("rash_pruritus", 3, onset=30.0, resolution=50.0), _ep("rash_pruritus", 3, onset=120.0, resolution=140.0)]
    acts = manage(eps, frozenset({"anti-PD-1"}))
    disc = [a for a in acts if a["kind"] == "discontinue"]
    assert len(disc) == 1 and disc[0]["start"] == 120.0 and disc[0]["scope"] == "all"


def test_stopping_anti_ctla4_alone_is_a_discontinuation_of_ipilimumab_monotherapy():
    # the colitis rule stops anti-CTLA-4; on ipilimumab alone that is the whole regimen, which the
    # trial counts as discontinued (CheckMate 067 ipilimumab arm: 15 % discontinued for irAEs)
    acts = manage([_ep("diarrhoea_colitis", 3)], frozenset({"anti-CTLA-4"}))
    assert ("discontinue", "all", None) in _kinds(acts)


def test_grade_2_diarrhoea_holds_with_low_dose_steroids_and_resumes():
    # ASCO grade 2: hold, prednisone 0.5-1 mg/kg; resume at <= grade 1
    acts = manage([_ep("diarrhoea_colitis", 2, resolution=80.0)], ICI)
    assert _kinds(acts) == [("hold", "all", None), ("steroid", "all", "low")]
    hold = next(a for a in acts if a["kind"] == "hold")
    assert hold["stop"] == 80.0  # resolution after the 4-week course
    assert next(a for a in acts if a["kind"] == "steroid")["stop"] == 30.0 + LOW


def test_grade_4_discontinues_permanently():
    # ASCO: grade 4 -> permanent discontinuation
    for term in ("hepatitis", "diarrhoea_colitis", "pneumonitis", "other"):
        acts = manage([_ep(term, 4)], ICI)
        disc = [a for a in acts if a["kind"] == "discontinue"]
        assert disc and disc[0]["scope"] == "all" and math.isnan(disc[0]["stop"]), term
        assert not [a for a in acts if a["kind"] == "hold"], term


def test_grade_3_pneumonitis_discontinues_and_grade_1_holds():
    # clinical.md §4.3 pneumonitis: G1 hold (ASCO), G3-4 permanently discontinue
    assert [a["kind"] for a in manage([_ep("pneumonitis", 3)], ICI) if a["kind"] != "steroid"] == ["discontinue"]
    assert [a["kind"] for a in manage([_ep("pneumonitis", 1, resolution=30.0)], ICI)] == ["hold"]


def test_endocrinopathy_is_the_exception_to_grade_4_discontinuation():
    # ASCO: grade 4 -> discontinue, except endocrinopathies controlled by hormone replacement
    acts = manage([_ep("hypothyroidism", 4)], ICI)
    assert [a["kind"] for a in acts] == ["hold"]
    assert manage([_ep("hypothyroidism", 2)], ICI) == []  # levothyroxine, continue


def test_grade_2_rash_continues_and_grade_3_holds():
    # SITC rash: grade 1-2 continue (topical), grade 3 hold + prednisone 0.5-1 mg/kg
    assert manage([_ep("rash_pruritus", 2)], ICI) == []
    assert _kinds(manage([_ep("rash_pruritus", 3)], ICI)) == [("hold", "all", None), ("steroid", "all", "low")]


def test_crs_tocilizumab_from_grade_2_and_dexamethasone_from_grade_3():
    # YESCARTA/KYMRIAH labels: tocilizumab 8 mg/kg for CRS grade 2; tocilizumab + corticosteroids for grade 3
    cart = frozenset({"cytotoxic", "CAR-T"})
    assert manage([_ep("crs", 1)], cart) == []
    assert _kinds(manage([_ep("crs", 2)], cart)) == [("tocilizumab", "all", "tocilizumab 8 mg/kg")]
    assert _kinds(manage([_ep("crs", 3)], cart)) == [
        ("steroid", "all", "dexamethasone"),
        ("tocilizumab", "all", "tocilizumab 8 mg/kg"),
    ]


def test_no_corticosteroids_without_a_checkpoint_antibody():
    # the IL-2 label avoids steroids; the dose is still held
    acts = manage([_ep("diarrhoea_colitis", 3)], frozenset({"IL-2"}))
    assert [a["kind"] for a in acts] == ["hold"]


def test_nothing_is_held_after_everything_is_stopped_and_nothing_without_a_drug():
    acts = manage([_ep("hepatitis", 4, onset=20.0), _ep("diarrhoea_colitis", 3, onset=40.0)], ICI)
    assert [a["kind"] for a in acts if a["kind"] in ("hold", "discontinue")] == ["discontinue"]
    assert manage([_ep("fatigue", 3)], frozenset()) == []


def test_neutropenia_delays_only_chemotherapy():
    # a cycle waits for neutrophil recovery (carboplatin label); the checkpoint antibody continues
    acts = manage([_ep("neutropenia", 3)], frozenset({"cytotoxic", "anti-PD-1"}))
    assert _kinds(acts) == [("hold", "cytotoxic", None)]


def test_grade_4_neutropenia_also_reduces_the_next_cytotoxic_doses():
    # pemetrexed and carboplatin labels: nadir ANC < 500/mm3 -> 75 % of the previous dose
    acts = manage([_ep("neutropenia", 4)], frozenset({"cytotoxic", "anti-PD-1"}))
    assert _kinds(acts) == [("hold", "cytotoxic", None), ("reduce", "cytotoxic", "0.75")]
    reduce = next(a for a in acts if a["kind"] == "reduce")
    assert reduce["start"] == 30.0 and math.isnan(reduce["stop"])
    # pemetrexed label: after two reductions a further grade 3-4 episode stops the drug
    eps = [_ep("neutropenia", 4, onset=30.0 + 40.0 * k, resolution=40.0 + 40.0 * k) for k in range(3)]
    acts = manage(eps, frozenset({"cytotoxic", "anti-PD-1"}))
    assert [a["kind"] for a in acts if a["kind"] != "hold"] == ["reduce", "reduce", "discontinue"]
    assert acts[-1]["scope"] == "cytotoxic" and acts[-1]["start"] == 110.0
    # and nothing of the stopped drugs is held or reduced afterwards
    assert (
        manage([*eps, _ep("neutropenia", 4, onset=150.0, resolution=160.0)], frozenset({"cytotoxic"}))[-1]["kind"]
        == "discontinue"
    )


def test_simulated_combination_arm_applies_the_rules():
    res = simulated("nivolumab+ipilimumab")
    ep, act = res.episodes, res.actions
    stop_all = res.discontinuation_day()
    # every grade 3 colitis (before everything is stopped) starts a hold and a high-dose course at its onset
    g3 = ep[(ep["term"] == "diarrhoea_colitis") & (ep["grade"] == 3)]
    assert len(g3) > 100
    for p, on in zip(g3["patient"], g3["onset_day"], strict=True):
        mine = act[(act["patient"] == p) & (act["start"] == on)]
        assert ((mine["kind"] == "steroid") & (mine["level"] == "high")).any()
        if not on >= stop_all[p]:
            assert (mine["kind"] == "hold").any()
    # every grade 4 non-endocrine event discontinues everything by its onset
    g4 = ep[(ep["grade"] == 4) & (ep["term"] != "hypothyroidism")]
    assert len(g4) > 10
    assert (stop_all[g4["patient"].to_numpy()] <= g4["onset_day"].to_numpy()).all()
    # CheckMate 067 combination: discontinuation for irAEs 36 % (CMAJ table, V), within the 5 points for
    # AE rates on this reference arm (a year of treatment, nobody progressing): the guideline and label rules,
    # with the recurrences of held events on resumption
    stopped = act[act["kind"] == "discontinue"]["patient"].nunique() / res.n_patients
    assert abs(stopped - 0.36) <= 0.05
    assert res.discontinuation_rate() == pytest.approx(stopped)


def test_management_off_gives_no_actions_and_damping_follows_steroids():
    out = arm("nivolumab+ipilimumab", 400)
    off = simulate_toxicity(out, T, seed=6, management=False)
    assert off.actions.empty
    # nothing is stopped without management: the discontinuation rate is not known, not 0
    assert np.isnan(off.discontinuation_rate()) and np.isnan(off.summary()["ae_discontinuation"])
    assert np.all(off.immune_damping() == 1.0)
    on = simulate_toxicity(out, T, seed=6)
    damp = on.immune_damping()
    ster = on.actions[on.actions["kind"] == "steroid"].iloc[0]
    inside = (T >= ster["start"]) & (T < ster["stop"])
    assert np.all(damp[ster["patient"], inside] <= STEROIDS[ster["level"]].value[1])
    assert on.intervals("steroid", int(ster["patient"]))


def test_a_course_that_is_over_is_neither_held_nor_discontinued():
    # ipilimumab alone, four doses (the last on day 63): grade 4 colitis on day 80 is treated (steroids) but
    # there is nothing left to stop, so no discontinuation is recorded; on day 50 the day-63 dose remains
    ipi = frozenset({"anti-CTLA-4"})
    course = {"anti-CTLA-4": (0.0, 63.0)}
    late = manage([_ep("diarrhoea_colitis", 4, onset=80.0, resolution=95.0)], ipi, course)
    assert _kinds(late) == [("steroid", "all", "high")]
    early = manage([_ep("diarrhoea_colitis", 4, onset=50.0, resolution=65.0)], ipi, course)
    assert ("discontinue", "all", None) in _kinds(early)
    # without the course the drug counts as given throughout, as before
    assert ("discontinue", "all", None) in _kinds(manage([_ep("diarrhoea_colitis", 4, onset=80.0)], ipi))


def test_colitis_in_the_nivolumab_phase_of_the_combination_holds_nivolumab():
    # the OPDIVO + YERVOY rule (grade 3 colitis stops both) applies while ipilimumab is given; after its fourth
    # dose the patient is on nivolumab alone, whose label withholds it
    course = {"anti-CTLA-4": (0.0, 63.0)}
    induction = manage([_ep("diarrhoea_colitis", 3, onset=40.0, resolution=55.0)], ICI, course)
    assert _kinds(induction) == [("discontinue", "all", None), ("steroid", "all", "high")]
    maintenance = manage([_ep("diarrhoea_colitis", 3, onset=120.0, resolution=135.0)], ICI, course)
    assert _kinds(maintenance) == [("hold", "all", None), ("steroid", "all", "high")]
    # after treatment ended for progression (day 150) a later event is treated but stops nothing
    after = manage([_ep("hepatitis", 4, onset=200.0, resolution=230.0)], ICI, course, off_day=150.0)
    assert [a["kind"] for a in after] == ["steroid"]


def test_an_ipilimumab_course_not_completed_within_16_weeks_is_discontinued():
    # YERVOY label: failure to complete the course within 16 weeks of the first dose. A grade 2 hepatitis from
    # day 50 to day 130 holds the fourth dose (day 63) past day 112: ipilimumab stops on day 112
    ipi = frozenset({"anti-CTLA-4"})
    course = {"anti-CTLA-4": (0.0, 63.0)}
    long = manage([_ep("hepatitis", 2, onset=50.0, resolution=130.0)], ipi, course)
    disc = [a for a in long if a["kind"] == "discontinue"]
    assert [(a["start"], a["scope"]) for a in disc] == [(112.0, "all")]
    # on the combination only ipilimumab stops (a partial discontinuation); nivolumab resumes after the hold
    combo = manage([_ep("hepatitis", 2, onset=50.0, resolution=130.0)], ICI, course)
    assert [(a["start"], a["scope"]) for a in combo if a["kind"] == "discontinue"] == [(112.0, "anti-CTLA-4")]
    # a hold that ends by day 112 costs the doses it covers (skipped) but is not a discontinuation
    short = manage([_ep("hepatitis", 2, onset=50.0, resolution=100.0)], ipi, course)
    assert [a["stop"] for a in short if a["kind"] == "hold"] == [100.0]
    assert not [a for a in short if a["kind"] == "discontinue"]
    # a hold on the combination still open 12 weeks after its onset then stops nivolumab, the rest of the regimen
    longer = manage([_ep("hepatitis", 2, onset=50.0, resolution=200.0)], ICI, course)
    stops = [(a["start"], a["scope"]) for a in longer if a["kind"] == "discontinue"]
    assert stops == [(112.0, "anti-CTLA-4"), (50.0 + HOLD_LIMIT, "all")]
    # as does one that starts in the nivolumab phase: what remains of the regimen stops
    phase2 = manage([_ep("hepatitis", 2, onset=120.0, resolution=300.0)], ICI, course)
    assert [(a["start"], a["scope"]) for a in phase2 if a["kind"] == "discontinue"] == [(120.0 + HOLD_LIMIT, "all")]
    # nor is a course cut by progression before day 112
    cut = manage([_ep("hepatitis", 2, onset=50.0, resolution=130.0)], ipi, course, off_day=90.0)
    assert not [a for a in cut if a["kind"] == "discontinue"]


def test_a_hold_begun_while_doses_remained_still_discontinues_at_12_weeks():
    # nivolumab continues (no course end): the label's 12-week rule applies as before
    acts = manage(
        [_ep("hepatitis", 2, onset=50.0, resolution=50.0 + HOLD_LIMIT + 30.0)],
        frozenset({"anti-PD-1"}),
        off_day=300.0,
    )
    disc = [a for a in acts if a["kind"] == "discontinue"]
    assert len(disc) == 1 and disc[0]["start"] == 50.0 + HOLD_LIMIT
    # an ipilimumab course that ended during the hold (day 63) is discontinued at the limit (day 104, before the
    # 16-week deadline): the held doses were missed
    ipi = manage(
        [_ep("hepatitis", 2, onset=20.0, resolution=200.0)], frozenset({"anti-CTLA-4"}), {"anti-CTLA-4": (0.0, 63.0)}
    )
    assert [(a["start"], a["scope"]) for a in ipi if a["kind"] == "discontinue"] == [(20.0 + HOLD_LIMIT, "all")]
    # but not when treatment had ended for progression before the limit
    gone = manage(
        [_ep("hepatitis", 2, onset=50.0, resolution=50.0 + HOLD_LIMIT + 30.0)], frozenset({"anti-PD-1"}), off_day=100.0
    )
    assert not [a for a in gone if a["kind"] == "discontinue"]


def test_the_16_week_rule_is_for_a_course_that_fits_in_16_weeks():
    # ipilimumab 10 mg/kg q3w x4 then every 12 weeks (adjuvant, last dose on day 1092): a hold from day 500 to
    # day 530 is neither late for the course nor a discontinuation
    acts = manage(
        [_ep("hepatitis", 2, onset=500.0, resolution=530.0)], frozenset({"anti-CTLA-4"}), {"anti-CTLA-4": (0.0, 1092.0)}
    )
    assert [a["kind"] for a in acts if a["kind"] != "steroid"] == ["hold"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"course": {"anti-PD-2": (0.0, 63.0)}}, "course"),
        ({"course": {"anti-CTLA-4": (0.0, float("nan"))}}, "course.anti-CTLA-4"),
        ({"course": {"anti-CTLA-4": (63.0, 0.0)}}, "course.anti-CTLA-4"),
        ({"course": {"anti-CTLA-4": 63.0}}, "course.anti-CTLA-4"),
        ({"course": [(0.0, 63.0)]}, "course"),
        ({"off_treatment_day": [100.0, float("nan"), 100.0]}, "off_treatment_day"),
    ],
)
def test_course_and_off_treatment_day_are_checked(kwargs, field):
    from oncoimmune.errors import ValidationError

    out = arm("ipilimumab", 3)
    with pytest.raises(ValidationError) as err:
        simulate_toxicity(out, T, seed=1, **kwargs)
    assert err.value.field == field


def test_matched_placebo_keeps_an_ipilimumab_arm_on_study_treatment():
    # CheckMate 067's ipilimumab arm went on with nivolumab-matched placebo after the fourth dose (day 63) until
    # progression: an event after day 63 now holds the placebo, and one still open 12 weeks on stops study treatment
    course = {"anti-CTLA-4": (0.0, 63.0)}
    blinded = frozenset({"anti-CTLA-4", "placebo"})
    ep = [_ep("hepatitis", 3, onset=80.0, resolution=80.0 + HOLD_LIMIT + 20.0)]
    assert [a["kind"] for a in manage(ep, frozenset({"anti-CTLA-4"}), course)] == ["steroid"]
    acts = manage(ep, blinded, course, off_day=400.0)
    assert [(a["kind"], a["scope"]) for a in acts if a["kind"] != "steroid"] == [
        ("hold", "all"),
        ("discontinue", "all"),
    ]
    assert [a["start"] for a in acts if a["kind"] == "discontinue"] == [80.0 + HOLD_LIMIT]
    # grade 3 colitis after the course is managed as in the nivolumab phase of the combination (held), and while
    # ipilimumab is given it stops everything, placebo included (the combination's rule)
    late = manage([_ep("diarrhoea_colitis", 3, onset=120.0, resolution=135.0)], blinded, course, off_day=400.0)
    assert _kinds(late) == [("hold", "all", None), ("steroid", "all", "high")]
    early = manage([_ep("diarrhoea_colitis", 3, onset=40.0, resolution=55.0)], blinded, course, off_day=400.0)
    assert _kinds(early) == [("discontinue", "all", None), ("steroid", "all", "high")]
    # grade 3 hepatitis during the course stops ipilimumab only: the placebo goes on (a partial discontinuation)
    hep = manage([_ep("hepatitis", 3, onset=40.0, resolution=55.0)], blinded, course, off_day=400.0)
    assert [(a["kind"], a["scope"]) for a in hep if a["kind"] == "discontinue"] == [("discontinue", "anti-CTLA-4")]
    # after progression nothing is stopped, placebo or not
    gone = manage(ep, blinded, course, off_day=70.0)
    assert [a["kind"] for a in gone] == ["steroid"]


def test_simulate_toxicity_accepts_placebo_and_rejects_unknown_classes():
    from oncoimmune.errors import UnknownNameError

    # 2,000 patients of an ipilimumab arm, the course ending on day 63: the placebo adds no drive (the first
    # events are the same) but keeps later events managed, so more patients stop study treatment
    out = arm("ipilimumab", 2000)
    kw = {"seed": 1, "course": {"anti-CTLA-4": (0.0, 63.0)}, "off_treatment_day": 400.0}
    alone = simulate_toxicity(out, T, drug_classes=["anti-CTLA-4"], **kw)
    blinded = simulate_toxicity(out, T, drug_classes=["anti-CTLA-4", "placebo"], **kw)
    assert (
        alone.episodes.groupby(["patient", "term"])
        .onset_day.min()
        .equals(blinded.episodes.groupby(["patient", "term"]).onset_day.min())
    )
    assert blinded.discontinuation_rate() > alone.discontinuation_rate()
    with pytest.raises(UnknownNameError) as err:
        simulate_toxicity(out, T, seed=1, drug_classes=["anti-CTLA-4", "placebos"])
    assert err.value.field == "drug_classes"
    # a placebo is matched to a drug: alone it is refused (nothing would be managed without a drug)
    from oncoimmune.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        simulate_toxicity(out, T, seed=1, drug_classes=["placebo"])
    assert err.value.field == "drug_classes"


def test_the_2011_yervoy_label_stops_the_regimen_for_a_severe_organ_reaction_during_the_course():
    # first YERVOY label (2011): permanently discontinue for severe immune-mediated reactions; withhold for
    # moderate ones and symptomatic endocrinopathy; rash only when complicated (SJS/TEN, ulceration)
    course = {"anti-CTLA-4": (0.0, 63.0)}
    for term in ("other", "arthralgia", "hepatitis"):
        now = manage([_ep(term, 3)], ICI, course)
        then = manage([_ep(term, 3)], ICI, course, label="yervoy_2011")
        assert ("hold", "all", None) in _kinds(now) and ("discontinue", "all", None) not in _kinds(now)
        assert [(a["kind"], a["scope"], a["start"]) for a in then if a["kind"] != "steroid"] == [
            ("discontinue", "all", 30.0)
        ]
        # the high-dose course the label asks for comes with it
        assert ("steroid", "all", "high") in _kinds(then)
    # not for grade 3 rash, hypothyroidism or fatigue, nor after the fourth dose (the nivolumab phase), nor
    # without anti-CTLA-4 in the regimen
    for term in ("rash_pruritus", "hypothyroidism", "fatigue"):
        assert _kinds(manage([_ep(term, 3)], ICI, course, label="yervoy_2011")) == _kinds(
            manage([_ep(term, 3)], ICI, course)
        )
    late = [_ep("other", 3, onset=80.0, resolution=95.0)]
    assert _kinds(manage(late, ICI, course, label="yervoy_2011")) == _kinds(manage(late, ICI, course))
    pd1 = frozenset({"anti-PD-1"})
    assert _kinds(manage([_ep("other", 3)], pd1, label="yervoy_2011")) == [
        ("hold", "all", None),
        ("steroid", "all", "high"),
    ]
    # grade 2 is withheld under both labels
    assert ("discontinue", "all", None) not in _kinds(manage([_ep("other", 2)], ICI, course, label="yervoy_2011"))


def test_the_checkpoint_label_is_checked_and_changes_only_the_management():
    from oncoimmune.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        manage([_ep("other", 3)], ICI, label="yervoy")
    assert err.value.field == "label"
    out = arm("nivolumab+ipilimumab", 2000)
    kw = {"seed": 3, "course": {"anti-CTLA-4": (0.0, 63.0)}}
    now = simulate_toxicity(out, T, **kw)
    then = simulate_toxicity(out, T, checkpoint_label="yervoy_2011", **kw)
    assert then.provenance["checkpoint_label"] == "yervoy_2011" and now.provenance["checkpoint_label"] == "current"
    # the same first events (the drive is untouched); more patients stop, each extra stop on the onset day of a
    # grade >= 3 organ event during the ipilimumab course
    first = ["patient", "term"]
    assert now.episodes.groupby(first).onset_day.min().equals(then.episodes.groupby(first).onset_day.min())
    assert then.discontinuation_rate() > now.discontinuation_rate() + 0.05
    d_now, d_then = (np.where(np.isnan(d), np.inf, d) for d in (now.discontinuation_day(), then.discontinuation_day()))
    assert not (d_then > d_now).any()  # the 2011 rule only adds stops, or brings them earlier
    ep = then.episodes
    severe = ep[
        (ep["grade"] >= 3) & ep["term"].isin(["arthralgia", "diarrhoea_colitis", "hepatitis", "pneumonitis", "other"])
    ]
    extra = np.flatnonzero(d_then < d_now)
    assert np.isinf(d_now[extra]).sum() >= 50  # patients who stop only under the 2011 label are among them
    for p in extra:
        mine = severe[(severe["patient"] == p) & (severe["onset_day"] <= 63.0)]
        assert d_then[p] in set(mine["onset_day"])
    with pytest.raises(ValidationError) as err:
        simulate_toxicity(out, T, checkpoint_label="2011", **kw)
    assert err.value.field == "checkpoint_label"
