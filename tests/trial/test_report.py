"""The trial report (``report.html`` and ``figures/*.png``): what a reader of the page relies on.

Two results are reported: a tiny real trial (8 NSCLC patients, pembrolizumab vs none, 6 months;
one module-scoped run) and a synthetic :class:`~oncoimmune.trial.TrialResult` built by hand for the
edge cases a small run does not reach: an arm where nobody progresses or dies (medians "not
reached"), an arm larger than the spider and swimmer caps, an arm name with HTML-special
characters, and adverse-event and management columns with grades chosen so the expected counts
and rates can be read off by hand. The checks: the page is self-contained and parses, one embedded
PNG per figure identical to its ``figures/`` copy, the summary and AE numbers as formatted, user
text escaped, the disclaimers, pyplot left alone, and all-or-nothing writing.
"""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from oncoimmune.plot import DISCLAIMER
from oncoimmune.trial import TrialResult, _report, run_trial, trial_spec_from_dict
from oncoimmune.trial._report import FIGURES, MAX_SPIDER_LINES, MAX_SWIMMER_PATIENTS, MAX_WATERFALL_BARS, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NASTY = "<b>A&B</b>"

TINY = {
    "name": "tiny report trial",
    "population": {"tumour_type": "nsclc", "overrides": {"pdl1": 0.6}},
    "patients": 8,
    "seed": 5,
    "arms": [
        {"name": "pembrolizumab", "regimen": "pembrolizumab 200 mg q3w"},
        {"name": "control", "regimen": "none"},
    ],
    "scans": {"every_weeks": 6},
    "follow_up": {"months": 6},
    "toxicity": {"enabled": False},  # the AE section is checked on the hand-built result below
}


# -- parsing helpers ---------------------------------------------------------------------------


class Page(HTMLParser):
    """Collects images (with the id of the enclosing <figure>), tables (cell text), ids and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[tuple[str | None, dict[str, str | None]]] = []
        self.tables: list[dict] = []
        self.text: list[str] = []
        self.ids: dict[str, list[str]] = {}
        self.tags: list[str] = []
        self._figure: str | None = None
        self._cell: list[str] | None = None
        self._open_ids: list[tuple[str, str]] = []
        self._id_text: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "figure":
            self._figure = a.get("id")
        elif tag == "img":
            self.images.append((self._figure, a))
        elif tag == "table":
            self.tables.append({"class": a.get("class"), "rows": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []
        if "id" in a and tag not in ("img", "figure"):
            self._open_ids.append((tag, a["id"]))
            self._id_text[a["id"]] = []

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append("".join(self._cell))
            self._cell = None
        if self._open_ids and self._open_ids[-1][0] == tag:
            _, ident = self._open_ids.pop()
            self.ids[ident] = self._id_text[ident]

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        for _, ident in self._open_ids:
            self._id_text[ident].append(data)

    def table(self, cls: str) -> list[list[str]]:
        found = [t for t in self.tables if t["class"] == cls]
        assert len(found) == 1, f"expected one table of class {cls!r}, found {len(found)}"
        return found[0]["rows"]

    def row(self, cls: str, *first: str) -> dict[str, str]:
        """The row of table ``cls`` whose first cells are ``first``, as {header: cell}."""
        rows = self.table(cls)
        header = rows[0]
        hits = [r for r in rows[1:] if tuple(r[: len(first)]) == first]
        assert len(hits) == 1, f"no single row {first} in table {cls!r}: {rows}"
        return dict(zip(header, hits[0], strict=True))


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def png_ok(data: bytes) -> tuple[int, int]:
    """Assert ``data`` is a complete, decodable PNG; return its size in pixels."""
    assert data[:8] == PNG_SIGNATURE
    with Image.open(io.BytesIO(data)) as im:
        im.verify()
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.format == "PNG"
        return im.size


def no_temp_files(out: Path) -> bool:
    return not any(p.name.startswith(".") for p in out.rglob("*"))


# -- results -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> TrialResult:
    return run_trial(trial_spec_from_dict(TINY))


@pytest.fixture(scope="module")
def tiny_report(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_report")
    return out, write_report(tiny, out)


def synthetic(n_a: int = 10, n_b: int = 120, arms: tuple[str, ...] = (NASTY, "control")) -> TrialResult:
    """A hand-built result: arm ``NASTY`` never progresses or dies; the second arm is large.

    AE grades of the first arm (10 patients), chosen for hand-counting:
    colitis 0,0,1,2,3,0,0,0,0,4 -> G1 1, G2 1, G3 1, G4 1, any 40.0 %, >=3 20.0 %;
    fatigue 1,1,1,0,0,0,0,0,0,5 -> G1 3, G5 1, any 40.0 %, >=3 10.0 %;
    any term (worst of both) 1,1,1,2,3,0,0,0,0,5 -> G1 3, G2 1, G3 1, G5 1, any 60.0 %, >=3 20.0 %.
    Dose holds 0,0,7,14,21,0,... -> 3 patients held (30.0 %), median 14 days; 1 discontinued (10.0 %).
    """
    spec = trial_spec_from_dict(
        {
            "name": f"synthetic {NASTY} trial",
            "description": "Hand-built <script>alert(1)</script> result",
            "population": {"tumour_type": "nsclc"},
            "patients": n_a + n_b,
            "seed": 1,
            "arms": [
                {"name": arms[0], "regimen": "pembrolizumab 200 mg q3w"},
                *([{"name": arms[1], "regimen": "none"}] if len(arms) > 1 else []),
            ],
            "scans": {"every_weeks": 6},
            "follow_up": {"months": 6},
        }
    )
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 183.0, 7.0)
    sizes = (n_a, n_b)[: len(arms)]
    frames, traj = [], {}
    pid = 0
    for k, (arm, n) in enumerate(zip(arms, sizes, strict=True)):
        slope = rng.uniform(-0.004, 0.0005, n) if k == 0 else rng.uniform(-0.001, 0.01, n)
        sld = 50.0 * (1.0 + slope[:, None] * t[None, :])
        best = (100.0 * (sld / sld[:, :1] - 1.0))[:, 6:].min(axis=1)  # from day 42 on
        bor = np.where(best <= -30, "PR", np.where(best >= 20, "PD", "SD"))
        bor[0] = "NE"
        best[0] = np.nan
        frame = pd.DataFrame(
            {
                "patient_id": np.arange(pid, pid + n),
                "arm": arm,
                "best_overall_response": bor,
                "best_percent_change": best,
                "response_day": np.where(bor == "PR", 84.0, np.nan),
                "progression_day": np.where(bor == "PD", 42.0, np.nan) if k else np.nan,
                "pfs_days": 182.625 if k == 0 else rng.uniform(30, 182, n),
                "pfs_event": False if k == 0 else True,
                "os_days": 182.625 if k == 0 else rng.uniform(60, 182.625, n),
                "os_event": False if k == 0 else rng.uniform(size=n) < 0.5,
            }
        )
        if k == 0:
            frame["ae_colitis_grade"] = [0, 0, 1, 2, 3, 0, 0, 0, 0, 4][:n]
            frame["ae_fatigue_grade"] = [1, 1, 1, 0, 0, 0, 0, 0, 0, 5][:n]
            frame["dose_hold_days"] = [0, 0, 7, 14, 21, 0, 0, 0, 0, 0][:n]
            frame["discontinued"] = [False] * 9 + [True]
        else:
            frame["ae_colitis_grade"] = 0
            frame["ae_fatigue_grade"] = 0
            frame["dose_hold_days"] = 0
            frame["discontinued"] = False
        frames.append(frame)
        traj[arm] = {"t": t, "sld_mm": sld, "best_percent_change": best}
        pid += n
    summary = {
        "arms": {
            arms[0]: {
                "n": n_a,
                "regimen": "pembrolizumab 200 mg q3w",
                "orr": 0.3,
                "cr": 0.1,
                "dcr": 0.9,
                "median_pfs_months": None,
                "median_pfs_ci_months": [3.21, None],
                "median_os_months": None,
                "median_os_ci_months": [None, None],
                "os_rate": {"12": 0.9, "24": None, "36": None, "60": None},
                "pfs_hr_vs": {},
                "os_hr_vs": {},
            },
        },
        "provenance": {"oncoimmune": "test", "created": "2024-01-01T00:00:00Z", "note": NASTY},
    }
    if len(arms) > 1:
        summary["arms"][arms[1]] = {
            "n": n_b,
            "regimen": "none",
            "orr": 4 / 120,
            "cr": 0.0,
            "dcr": 0.5,
            "median_pfs_months": 2.46,
            "median_pfs_ci_months": [1.74, None],
            "median_os_months": 4.04,
            "median_os_ci_months": [3.1, 5.57],
            "os_rate": {"12": None, "24": None, "36": None, "60": None},
            "pfs_hr_vs": {arms[0]: 2.34},
            "pfs_hr_ci_vs": {arms[0]: [1.2, 4.56]},
            "os_hr_vs": {arms[0]: 1.5},
            "os_hr_ci_vs": {arms[0]: [0.72, 3.13]},
            "pfs_logrank_p_vs": {arms[0]: 0.0123},
            "os_logrank_p_vs": {arms[0]: 0.25},
        }
    return TrialResult(spec, pd.concat(frames, ignore_index=True), summary, traj)


@pytest.fixture(scope="module")
def synth_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic_report")
    result = synthetic()
    return result, out, write_report(result, out)


# -- the real trial ----------------------------------------------------------------------------


def test_report_files_and_one_valid_embedded_png_per_figure(tiny_report):
    out, written = tiny_report
    assert written == [out / "report.html", *(out / "figures" / f"{n}.png" for n in FIGURES)]
    page = parse(out / "report.html")
    assert [fig for fig, _ in page.images] == [f"fig-{n}" for n in FIGURES]
    for fig, attrs in page.images:
        src = attrs["src"]
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        w, h = png_ok(data)
        assert w > 300 and h > 150
        # the PNG copy is the same image as the embedded one
        assert (out / "figures" / f"{fig.removeprefix('fig-')}.png").read_bytes() == data
    assert no_temp_files(out)


def test_page_is_self_contained(tiny_report):
    out, _ = tiny_report
    raw = (out / "report.html").read_text(encoding="utf-8")
    page = parse(out / "report.html")
    assert "script" not in page.tags and "link" not in page.tags
    assert "href=" not in raw and 'src="http' not in raw and "url(" not in raw
    assert all(attrs["src"].startswith("data:") for _, attrs in page.images)


def test_summary_table_shows_the_summary_as_formatted(tiny, tiny_report):
    """Each arm's row carries the run's own summary figures (rates as % with 1 decimal, months 1 decimal)."""
    out, _ = tiny_report
    page = parse(out / "report.html")

    def pct(x):
        return "—" if x is None else f"{100 * x:.1f} %"

    def med(m, ci):
        def one(v):
            return "not reached" if v is None else f"{v:.1f}"

        return "not reached" if m is None and ci[0] is None else f"{one(m)} ({one(ci[0])}–{one(ci[1])})"

    for arm, s in tiny.summary["arms"].items():
        row = page.row("summary", arm)
        assert row["n"] == str(s["n"]) == str(int((tiny.patients["arm"] == arm).sum()))
        assert row["ORR"] == pct(s["orr"])
        assert row["CR"] == pct(s["cr"])
        assert row["DCR"] == pct(s["dcr"])
        assert row["Median PFS, months (95 % CI)"] == med(s["median_pfs_months"], s["median_pfs_ci_months"])
        assert row["Median OS, months (95 % CI)"] == med(s["median_os_months"], s["median_os_ci_months"])
        for m in ("12", "24", "36", "60"):
            assert row[f"OS at {m} months"] == pct(s["os_rate"][m])


def test_without_ae_columns_the_page_says_side_effects_were_not_simulated(tiny, tiny_report):
    out, _ = tiny_report
    assert not [c for c in tiny.patients.columns if c.startswith("ae_")]
    page = parse(out / "report.html")
    assert "Side effects were not simulated" in "".join(page.text)
    assert not [t for t in page.tables if t["class"] == "ae"]


def test_disclaimer_spec_and_provenance_on_the_page(tiny, tiny_report):
    out, _ = tiny_report
    page = parse(out / "report.html")
    disclaimer = "".join(page.ids["disclaimer"])
    assert "not medical advice" in disclaimer and "doctor" in disclaimer
    # the disclaimer comes before the results
    text = "".join(page.text)
    assert text.index("not medical advice") < text.index("Summary by arm")
    import yaml

    assert yaml.safe_load("".join(page.ids["spec"])) == tiny.spec.model_dump(mode="json")
    assert json.loads("".join(page.ids["provenance"])) == tiny.summary["provenance"]


def test_figures_carry_the_disclaimer_and_leave_pyplot_alone(tiny, monkeypatch):
    made = []
    original = _report._new_figure

    def recording(*args):
        fig = original(*args)
        made.append(fig)
        return fig

    monkeypatch.setattr(_report, "_new_figure", recording)
    figs = _report.report_figures(tiny)
    assert [f.name for f in figs] == list(FIGURES)
    assert len(made) == len(FIGURES)
    for fig in made:
        assert DISCLAIMER in [t.get_text() for t in fig.texts]
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


def test_km_figure_has_numbers_at_risk(tiny, monkeypatch):
    """Numbers at risk under the OS axis, per arm and tick: patients whose OS time exceeds the tick.

    lifelines' add_at_risk_counts counts at the end of each period (the KMunicate convention,
    Morris et al. BMJ Open 2019;9:e030215): at tick τ, the patients with duration > τ.
    """
    made = []
    original = _report._new_figure
    monkeypatch.setattr(_report, "_new_figure", lambda *a: made.append(original(*a)) or made[-1])
    _report._kaplan_meier(tiny, "os")
    (fig,) = made
    assert len(fig.axes) == 2  # the KM axis and lifelines' at-risk axis
    at_risk = fig.axes[1]
    ticks = at_risk.get_xticks()
    labels = [t.get_text() for t in at_risk.get_xticklabels()]
    assert labels[0].startswith("At risk")
    arms = [a.name for a in tiny.spec.arms]
    for tick, label in zip(ticks, labels, strict=True):
        lines = [ln for ln in label.split("\n") if ln.strip()]
        if label.startswith("At risk"):
            lines = lines[1:]
            assert [ln.split()[0] for ln in lines] == arms
        shown = [int(ln.split()[-1]) for ln in lines]
        months = tiny.patients["os_days"] / _report.DAYS_PER_MONTH
        expected = [int((months[tiny.patients["arm"] == arm] > tick).sum()) for arm in arms]
        assert shown == expected, (tick, label)
    assert len(ticks) >= 3  # 0, 3 and 6 months at least


# -- the synthetic result: edge cases ----------------------------------------------------------


def test_arm_names_and_spec_text_are_escaped(synth_report):
    _, out, _ = synth_report
    raw = (out / "report.html").read_text(encoding="utf-8")
    assert NASTY not in raw and "<script>" not in raw
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in raw
    page = parse(out / "report.html")
    assert "script" not in page.tags
    assert page.table("summary")[1][0] == NASTY  # read back as text, not markup
    assert NASTY in "".join(page.ids["spec"])


def test_arm_names_with_mathtext_and_format_characters_render(tmp_path):
    """'$' (matplotlib mathtext) and '{' (lifelines' str.format of at-risk labels) in an arm name."""
    name = "a $x$ $\\frac{ } arm"
    write_report(synthetic(arms=(name, "control")), tmp_path)
    page = parse(tmp_path / "report.html")
    assert page.table("summary")[1][0] == name
    assert len(page.images) == len(FIGURES)


def test_synthetic_summary_numbers_and_not_reached(synth_report):
    _, out, _ = synth_report
    page = parse(out / "report.html")
    a = page.row("summary", NASTY)
    assert (a["n"], a["ORR"], a["CR"], a["DCR"]) == ("10", "30.0 %", "10.0 %", "90.0 %")
    assert a["Median PFS, months (95 % CI)"] == "not reached (3.2–not reached)"
    assert a["Median OS, months (95 % CI)"] == "not reached"
    assert (a["OS at 12 months"], a["OS at 24 months"]) == ("90.0 %", "—")
    b = page.row("summary", "control")
    assert (b["n"], b["ORR"], b["CR"], b["DCR"]) == ("120", "3.3 %", "0.0 %", "50.0 %")
    assert b["Median PFS, months (95 % CI)"] == "2.5 (1.7–not reached)"
    assert b["Median OS, months (95 % CI)"] == "4.0 (3.1–5.6)"
    hr = page.row("hr", "control", "PFS")
    assert hr[f"Hazard ratio vs {NASTY} (95 % CI)"] == "2.34 (1.20–4.56)"
    assert hr["Log-rank p"] == "0.0123"
    assert page.row("hr", "control", "OS")[f"Hazard ratio vs {NASTY} (95 % CI)"] == "1.50 (0.72–3.13)"


def test_ae_table_counts_and_rates_by_grade(synth_report):
    """Counts and rates read off the hand-chosen grades in :func:`synthetic`'s docstring."""
    _, out, _ = synth_report
    page = parse(out / "report.html")
    grades = ("Grade 1", "Grade 2", "Grade 3", "Grade 4", "Grade 5", "Any grade", "Grade ≥3")

    def cells(term, arm):
        row = page.row("ae", term, arm)
        return tuple(row[g] for g in grades)

    assert cells("colitis", NASTY) == ("1", "1", "1", "1", "0", "40.0 %", "20.0 %")
    assert cells("fatigue", NASTY) == ("3", "0", "0", "0", "1", "40.0 %", "10.0 %")
    assert cells("any adverse event", NASTY) == ("3", "1", "1", "0", "1", "60.0 %", "20.0 %")
    assert cells("colitis", "control") == ("0", "0", "0", "0", "0", "0.0 %", "0.0 %")
    m = page.row("management", NASTY)
    assert m["Patients with a dose hold"] == "3 (30.0 %)"
    assert m["Median days held (if held)"] == "14"
    assert m["Permanent discontinuation"] == "1 (10.0 %)"
    assert "Side effects were not simulated" not in "".join(page.text)


def test_spider_and_swimmer_caps(monkeypatch):
    """120 patients in an arm: the spider draws 100 of them and the swimmer 40; 10 are all drawn."""
    result = synthetic()
    made = []
    original = _report._new_figure
    monkeypatch.setattr(_report, "_new_figure", lambda *a: made.append(original(*a)) or made[-1])
    spider = _report._spider(result)
    swimmer = _report._swimmer(result)
    spider_fig, swimmer_fig = made
    reference_lines = 3  # +20 %, −30 % and 0 %
    small, large = spider_fig.axes[:2]
    assert len(small.lines) - reference_lines == 10
    assert len(large.lines) - reference_lines == MAX_SPIDER_LINES
    assert f"{MAX_SPIDER_LINES} of 120 patients drawn" in spider.caption
    bars = [len(ax.patches) for ax in swimmer_fig.axes]
    assert bars == [10, MAX_SWIMMER_PATIENTS]
    assert f"{MAX_SWIMMER_PATIENTS} of 120 patients shown" in swimmer.caption


def test_waterfall_bars_sorted_and_capped_per_arm(monkeypatch):
    """Bars are the evaluable best changes sorted from worst to best; 1,200 patients -> 1,000 ranks
    evenly spaced, keeping both extremes (the NE patient is not drawn)."""
    result = synthetic(n_b=1200)
    made = []
    original = _report._new_figure
    monkeypatch.setattr(_report, "_new_figure", lambda *a: made.append(original(*a)) or made[-1])
    fig = _report._waterfall(result)
    small, large = made[0].axes[:2]
    for ax, arm in ((small, NASTY), (large, "control")):
        change = result.patients.loc[result.patients["arm"] == arm, "best_percent_change"].dropna().to_numpy()
        heights = np.array([p.get_height() for p in ax.patches])
        assert heights.size == min(change.size, MAX_WATERFALL_BARS)
        assert np.all(np.diff(heights) <= 0)
        assert heights[0] == pytest.approx(min(change.max(), _report.WATERFALL_CAP))
        assert heights[-1] == pytest.approx(change.min())
    assert f"{MAX_WATERFALL_BARS} of 1199 evaluable patients drawn" in fig.caption


def test_single_arm_has_no_forest_plot(tmp_path):
    result = synthetic(arms=("solo",))
    written = write_report(result, tmp_path)
    page = parse(tmp_path / "report.html")
    assert [fig for fig, _ in page.images] == [f"fig-{n}" for n in FIGURES if n != "forest"]
    assert len(written) == 1 + len(FIGURES) - 1
    assert "no hazard ratio" in "".join(page.text)


# -- all-or-nothing writing --------------------------------------------------------------------


def test_error_in_a_figure_writes_nothing(tmp_path, monkeypatch):
    def broken(result):
        raise RuntimeError("figure failed")

    monkeypatch.setitem(_report._FIGURE_FUNCTIONS, "spider", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(synthetic(), out)
    assert not (out / "report.html").exists()
    assert not (out / "figures").exists() or not any((out / "figures").iterdir())
    assert not out.exists() or no_temp_files(out)


def test_error_while_writing_leaves_no_report_and_no_temp_files(tmp_path, monkeypatch):
    import os

    real_replace = os.replace

    def failing(src, dst, *args, **kwargs):
        if Path(dst).name == "report.html":
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="No space left"):
        write_report(synthetic(), tmp_path)
    assert not (tmp_path / "report.html").exists()
    assert no_temp_files(tmp_path)


def test_existing_report_survives_a_failed_rewrite(tmp_path, monkeypatch):
    write_report(synthetic(), tmp_path)
    before = (tmp_path / "report.html").read_bytes()
    monkeypatch.setitem(_report._FIGURE_FUNCTIONS, "waterfall", lambda r: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(synthetic(), tmp_path)
    assert (tmp_path / "report.html").read_bytes() == before
    assert no_temp_files(tmp_path)


def test_rejects_what_is_not_a_trial_result(tmp_path):
    from oncoimmune.errors import ValidationError

    with pytest.raises(ValidationError, match="'result' parameter"):
        write_report({"arms": {}}, tmp_path)
    assert not (tmp_path / "report.html").exists()
