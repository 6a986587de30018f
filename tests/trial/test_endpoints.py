"""A trial spec's endpoints (issue 4): the comparisons a protocol declares, tested as published trials test
them, with intervals checked against published worked examples, and the duration of response."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from test_trial_run import BASE

from oncoimmune.errors import ValidationError
from oncoimmune.trial import SurvivalData, run_trial, summarise_survival, trial_spec_from_dict
from oncoimmune.trial._endpoints import comparison_text, evaluate_comparisons, newcombe_interval
from oncoimmune.trial._spec import EndpointsSpec


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ],
)
def test_the_orr_difference_interval_is_newcombes_method_10(counts, expected):
    # Newcombe, Stat Med 1998;17:873, Table II, method 10 (hybrid score), to the 4 decimals printed
    lo, hi = newcombe_interval(*counts)
    assert (round(lo, 4), round(hi, 4)) == expected


def _exponential(n, rate, seed, follow=400.0):
    rng = np.random.default_rng(seed)
    t = rng.exponential(1 / rate, n)
    return SurvivalData(np.minimum(t, follow), t <= follow)


def _ends(**kw):
    return EndpointsSpec.model_validate(kw)


def test_a_time_to_event_comparison_recovers_the_hazard_ratio_and_tests_it_in_the_right_direction():
    data = summarise_survival({"new": _exponential(3000, 0.005, 1), "old": _exponential(3000, 0.01, 2)})
    comp = [{"endpoint": "pfs", "experimental": "new", "control": "old"}]
    two = evaluate_comparisons(_ends(primary=comp), pfs=data, os=data, responders={})["primary"][0]
    assert two["estimate"]["hr"] == pytest.approx(0.5, abs=0.04)
    lo, hi = two["estimate"]["ci"]
    assert lo < two["estimate"]["hr"] < hi and hi < 1 and two["met"] and two["p_value"] < 1e-10
    # the wrong way round: a significant harm is not met
    back = [{"endpoint": "pfs", "experimental": "old", "control": "new"}]
    harm = evaluate_comparisons(_ends(primary=back), pfs=data, os=data, responders={})["primary"][0]
    assert harm["estimate"]["hr"] > 1 and harm["p_value"] < 1e-10 and not harm["met"]
    # one-sided: half the two-sided p in favour, its complement against; the interval at 1 - 2 alpha
    near = summarise_survival({"new": _exponential(200, 0.009, 3), "old": _exponential(200, 0.01, 4)})
    r2 = evaluate_comparisons(_ends(primary=comp), pfs=near, os=near, responders={})["primary"][0]
    r1 = evaluate_comparisons(_ends(primary=comp, sided=1, alpha=0.025), pfs=near, os=near, responders={})["primary"][0]
    assert r2["estimate"]["hr"] < 1
    assert r1["p_value"] == pytest.approx(r2["p_value"] / 2)
    assert r1["estimate"]["ci_level"] == pytest.approx(0.95) and r1["estimate"]["ci"] == pytest.approx(
        r2["estimate"]["ci"]
    )
    r1b = evaluate_comparisons(
        _ends(primary=[{"endpoint": "os", "experimental": "old", "control": "new"}], sided=1),
        pfs=near,
        os=near,
        responders={},
    )["primary"][0]
    assert r1b["p_value"] == pytest.approx(1 - r2["p_value"] / 2)
    # CheckMate 067 tested PFS at 0.005: its intervals are 99.5 % ones
    split = evaluate_comparisons(_ends(primary=[{**comp[0], "alpha": 0.005}]), pfs=data, os=data, responders={})[
        "primary"
    ][0]
    assert split["estimate"]["ci_level"] == pytest.approx(0.995) and "(99.5 % CI " in comparison_text(split)


def test_response_rates_are_tested_by_fisher_and_a_single_arm_by_the_exact_binomial():
    responders = {"a": (30, 60), "b": (15, 60)}
    ends = _ends(
        primary=[{"endpoint": "orr", "experimental": "a", "control": "b"}],
        secondary=[{"endpoint": "orr", "experimental": "a", "null_rate": 0.2, "alpha": 0.01}],
    )
    out = evaluate_comparisons(ends, pfs={}, os={}, responders=responders)
    diff = out["primary"][0]
    assert diff["estimate"]["difference"] == pytest.approx(0.25)
    assert diff["estimate"]["ci"] == pytest.approx(newcombe_interval(30, 60, 15, 60))
    from scipy.stats import fisher_exact

    assert diff["p_value"] == pytest.approx(fisher_exact([[30, 30], [15, 45]]).pvalue) and diff["met"]
    single = out["secondary"][0]
    assert single["alpha"] == 0.01 and single["met"]  # 50 % of 60 against 20 %
    # Clopper-Pearson at the test's level (99 %): the Beta quantiles that define it
    from scipy.stats import beta

    assert single["estimate"]["ci_level"] == pytest.approx(0.99)
    assert single["estimate"]["ci"] == pytest.approx([beta.ppf(0.005, 30, 31), beta.ppf(0.995, 31, 30)])
    at_95 = evaluate_comparisons(
        _ends(primary=[{"endpoint": "orr", "experimental": "a", "null_rate": 0.2}]),
        pfs={},
        os={},
        responders=responders,
    )["primary"][0]
    assert at_95["estimate"]["ci"] == pytest.approx([0.3681, 0.6319], abs=1e-4)  # 30/60, the textbook value
    line = comparison_text(single)
    assert "null rate 20 %" in line and "met" in line and "alpha 0.01" in line


@pytest.mark.parametrize(
    ("endpoints", "field"),
    [
        (
            {"primary": [{"endpoint": "pfs", "experimental": "pembrolizumab", "control": "placebo"}]},
            "endpoints.primary[0].control",
        ),
        (
            {"secondary": [{"endpoint": "os", "experimental": "chemo", "control": "control"}]},
            "endpoints.secondary[0].experimental",
        ),
        ({"primary": [{"endpoint": "pfs", "experimental": "control", "control": "control"}]}, "endpoints.primary[0]"),
        ({"primary": [{"endpoint": "os", "experimental": "control"}]}, "endpoints.primary[0]"),
        (
            {"primary": [{"endpoint": "orr", "experimental": "control", "control": "pembrolizumab", "null_rate": 0.2}]},
            "endpoints.primary[0]",
        ),
        (
            {"primary": [{"endpoint": "dfs", "experimental": "pembrolizumab", "control": "control"}]},
            "endpoints.primary[0].endpoint",
        ),
        ({"alpha": 0.7}, "endpoints.alpha"),
        ({"sided": 3}, "endpoints.sided"),
        ({"landmarks_months": [6, -1]}, "endpoints.landmarks_months"),
    ],
)
def test_bad_endpoints_name_the_field(endpoints, field):
    data = json.loads(json.dumps(BASE))
    data["endpoints"] = endpoints
    with pytest.raises(ValidationError) as err:
        trial_spec_from_dict(data)
    assert err.value.field == field


@pytest.fixture(scope="module")
def trial():
    data = json.loads(json.dumps(BASE))
    data.update(patients=90, seed=4)
    data["arms"] = [
        *data["arms"],
        {"name": "chemotherapy", "regimen": "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4"},
    ]
    data["endpoints"] = {
        "primary": [{"endpoint": "pfs", "experimental": "pembrolizumab", "control": "control"}],
        "secondary": [{"endpoint": "orr", "experimental": "pembrolizumab", "control": "control"}],
        "landmarks_months": [3, 6],
    }
    data["targets"] = [
        {"arm": "chemotherapy", "metric": "median_dor_months", "value": 6.0, "tolerance": 0.5, "kind": "relative"}
    ]
    return run_trial(trial_spec_from_dict(data))


def test_a_trial_reports_its_comparisons_from_its_own_patients(trial):
    ends = trial.summary["endpoints"]
    pfs = ends["primary"][0]
    arms = trial.summary["arms"]
    assert pfs["estimate"]["hr"] == pytest.approx(arms["pembrolizumab"]["pfs_hr_vs"]["control"])
    assert pfs["p_value"] == pytest.approx(arms["pembrolizumab"]["pfs_logrank_p_vs"]["control"])
    orr = ends["secondary"][0]
    assert orr["estimate"]["rates"] == pytest.approx([arms["pembrolizumab"]["orr"], arms["control"]["orr"]])
    assert set(arms["pembrolizumab"]["os_rate"]) == {"3", "6"}  # the spec's landmarks


def test_the_duration_of_response_is_the_kaplan_meier_of_the_responders(trial):
    p = trial.patients
    finite = 0
    for arm, s in trial.summary["arms"].items():
        r = p[(p["arm"] == arm) & p["best_overall_response"].isin(["CR", "PR"]) & p["analysed"]]
        assert s["responders"] == len(r)
        if not len(r):
            assert s["median_dor_months"] is None
            continue
        km = KaplanMeierFitter().fit((r["pfs_days"] - r["response_day"]) / (365.25 / 12), r["pfs_event"])
        if np.isfinite(km.median_survival_time_):
            finite += 1
            assert s["median_dor_months"] == pytest.approx(km.median_survival_time_)
            lo, hi = s["median_dor_ci_months"]
            assert lo <= s["median_dor_months"] <= hi
        else:
            assert s["median_dor_months"] is None
    assert finite >= 1  # the chemotherapy responders relapse within the year: a median is reached
    assert trial.summary["arms"]["control"]["responders"] == 0
    row = trial.summary["targets"][0]  # a published DoR can be a target: read from the arm's summary
    assert row["metric"] == "median_dor_months" and row["simulated"] is not None
    assert row["simulated"] == pytest.approx(trial.summary["arms"]["chemotherapy"]["median_dor_months"])


def test_the_command_line_and_the_report_state_each_verdict(run_cli, tmp_path):
    import yaml

    data = json.loads(json.dumps(BASE))
    data["endpoints"] = {
        "primary": [{"endpoint": "os", "experimental": "pembrolizumab", "control": "control", "label": "co-primary"}]
    }
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(data))
    r = run_cli("trial", tmp_path / "t.yaml", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "Primary endpoint: OS [co-primary], pembrolizumab vs control: HR" in r.output
    page = (tmp_path / "out" / "report.html").read_text()
    assert '<ul id="endpoints">' in page and "log-rank" in page


def test_the_duration_of_response_runs_from_the_first_response_to_progression_or_death():
    from oncoimmune.trial._endpoints import duration_of_response

    # four responders: durations 100, 50, 100 (censored), 200 days; a non-responder is left out
    out = duration_of_response(
        response_day=np.array([10.0, 20.0, 30.0, 40.0, np.nan]),
        pfs_days=np.array([110.0, 70.0, 130.0, 240.0, 60.0]),
        pfs_event=np.array([True, True, False, True, True]),
        responded=np.array([True, True, True, True, False]),
    )
    # KM: 3/4 after day 50, x 2/3 at day 100 (the censored one still at risk) = 0.5: the median is day 100
    assert out["responders"] == 4
    assert out["median_dor_months"] == pytest.approx(100 / (365.25 / 12))


def test_the_report_shows_the_specs_landmarks_and_the_duration_of_response(trial, tmp_path):
    trial.write(tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "OS at 3 months" in page and "OS at 6 months" in page and "OS at 12 months" not in page
    assert "Median duration of response" in page and "no responder" in page  # the control arm


def test_the_single_arm_test_agrees_with_its_interval_and_the_one_sided_tests_are_the_tail_probabilities():
    from scipy.stats import binom, fisher_exact

    two = _ends(primary=[{"endpoint": "orr", "experimental": "a", "null_rate": 0.2}])
    row = evaluate_comparisons(two, pfs={}, os={}, responders={"a": (5, 10)})["primary"][0]
    lo, hi = row["estimate"]["ci"]
    assert lo < 0.2 < hi and not row["met"]  # 5/10: the 95 % interval holds 20 %, so the test cannot reject
    assert row["p_value"] == pytest.approx(2 * binom.sf(4, 10, 0.2))
    one = _ends(primary=[{"endpoint": "orr", "experimental": "a", "null_rate": 0.2}], sided=1, alpha=0.025)
    row = evaluate_comparisons(one, pfs={}, os={}, responders={"a": (82, 101)})["primary"][0]  # ZUMA-1's 82 %
    assert row["p_value"] == pytest.approx(binom.sf(81, 101, 0.2)) and row["met"]
    assert "vs null rate 20 %" in comparison_text(row) and "one-sided" in comparison_text(row)
    fisher = _ends(primary=[{"endpoint": "orr", "experimental": "a", "control": "b"}], sided=1, alpha=0.025)
    row = evaluate_comparisons(fisher, pfs={}, os={}, responders={"a": (20, 50), "b": (12, 50)})["primary"][0]
    assert row["p_value"] == pytest.approx(fisher_exact([[20, 30], [12, 38]], alternative="greater").pvalue)


def test_comparisons_without_events_or_patients_are_not_estimable_and_not_met():
    quiet = summarise_survival(
        {
            "a": SurvivalData(np.full(5, 100.0), np.zeros(5, bool)),
            "b": SurvivalData(np.full(5, 100.0), np.zeros(5, bool)),
        }
    )
    ends = _ends(
        primary=[{"endpoint": "os", "experimental": "a", "control": "b"}],
        secondary=[{"endpoint": "orr", "experimental": "a", "control": "b"}],
    )
    out = evaluate_comparisons(ends, pfs=quiet, os=quiet, responders={"a": (0, 0), "b": (1, 5)})
    assert out["primary"][0]["estimate"]["hr"] is None and not out["primary"][0]["met"]
    assert out["secondary"][0]["estimate"] is None and not out["secondary"][0]["met"]
    assert "not estimable" in comparison_text(out["primary"][0]) and "not estimable" in comparison_text(
        out["secondary"][0]
    )


def test_under_irecist_the_duration_of_response_counts_the_immune_responses():
    data = json.loads(json.dumps(BASE))
    data.update(
        patients=40,
        seed=8,
        arms=[{"name": "chemotherapy", "regimen": "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4"}],
        response={"criteria": "irecist"},
    )
    result = run_trial(trial_spec_from_dict(data))
    p = result.patients
    r = p[p["best_overall_response"].isin(["CR", "PR", "iCR", "iPR"]) & p["analysed"]]
    s = result.summary["arms"]["chemotherapy"]
    assert s["responders"] == len(r) > 0 and s["orr"] == pytest.approx(len(r) / p["analysed"].sum())
    km = KaplanMeierFitter().fit((r["pfs_days"] - r["response_day"]) / (365.25 / 12), r["pfs_event"])
    assert np.isfinite(km.median_survival_time_)
    assert s["median_dor_months"] == pytest.approx(km.median_survival_time_)
