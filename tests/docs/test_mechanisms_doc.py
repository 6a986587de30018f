"""docs/mechanisms.md: regenerated from io_qsp, its signature numbers agree with the mechanism tests.

The page is written by docs/generate_mechanisms.py (``make mechanisms``). These tests run the
generator into a temporary directory and check that

- every therapy class has its section and its figure (a valid PNG of a sensible size);
- every signature claim in the page (a row whose *expected* column is filled) points in the
  direction that tests/reference/test_io_qsp_mechanisms.py asserts on the model, with the same
  thresholds (those tests are the source of each relation below), and no row makes a claim that
  this file does not check;
- the committed docs/mechanisms.md is the regenerated page: same text and structure, and the same
  numbers within a relative tolerance of 1e-3 (the last printed digit may differ between machines).

The first run compiles the io_qsp kernel (minutes; cached afterwards in ONCOIMMUNE_CACHE_DIR).
"""

from __future__ import annotations

import math
import re
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "generate_mechanisms.py"
FIGURES = Path("figures") / "mechanisms"

CLASSES = (
    "checkpoint_pd1_axis",
    "anti_ctla4",
    "nivolumab_ipilimumab",
    "il2",
    "interferon_alpha",
    "vaccine",
    "car_t",
    "chemotherapy",
    "targeted_therapy",
    "adcc",
    "ivig",
)
"""Therapy classes the page must cover (the brief: checkpoint blockade, anti-CTLA-4, nivolumab +
ipilimumab, IL-2, interferon-alpha, vaccine, CAR-T, chemotherapy, targeted therapy, ADCC, IVIG)."""

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROUNDING = 1e-5
"""Relative rounding of a ratio printed with five significant digits (at most 5e-6), rounded up."""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mechanisms")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,  # kernel compilation on a loaded 2-core machine, then about 15 s of simulation
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out


# -- parsing -------------------------------------------------------------------------------------


def split_sections(text: str) -> dict[str, str]:
    """Class slug to the text of its section (``## Title (`slug`)`` up to the next ``## ``)."""
    out: dict[str, str] = {}
    parts = re.split(r"^## ", text, flags=re.M)
    for part in parts[1:]:
        heading = part.splitlines()[0]
        m = re.search(r"\(`([a-z0-9_]+)`\)\s*$", heading)
        if m:
            out[m.group(1)] = part
    return out


def cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def number(text: str) -> float | None:
    """A table cell as a number: '-' is None, '< 1 cell' (an eradicated tumour) is 0."""
    if text == "-":
        return None
    if text == "< 1 cell":
        return 0.0
    if text == "not reached":
        return math.nan
    return float(text)


def signature(section: str) -> dict[tuple[str, str], dict[str, str]]:
    """Rows of the section's signature table, keyed by (quantity, comparison)."""
    lines = section.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| quantity | value | comparison"))
    header = cells(lines[start])
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for ln in lines[start + 2 :]:
        if not ln.startswith("|"):
            break
        row = dict(zip(header, cells(ln), strict=True))
        key = (row["quantity"], row["comparison"])
        assert key not in rows, f"duplicate signature row {key}"
        rows[key] = row
    return rows


# -- the relations of tests/reference/test_io_qsp_mechanisms.py ---------------------------------


def ratio_below(k: float) -> Callable[[dict[str, str]], bool]:
    return lambda row: number(row["ratio"]) < k


def ratio_above(k: float) -> Callable[[dict[str, str]], bool]:
    return lambda row: number(row["ratio"]) > k


def ratio_one(rtol: float) -> Callable[[dict[str, str]], bool]:
    return lambda row: abs(number(row["ratio"]) - 1.0) <= rtol + ROUNDING


def value_below(k: float) -> Callable[[dict[str, str]], bool]:
    def check(row: dict[str, str]) -> bool:
        v = row["value"]
        if v.startswith("<"):
            return float(v[1:]) <= k
        return number(v) < k

    return check


def value_above(k: float) -> Callable[[dict[str, str]], bool]:
    return lambda row: number(row["value"]) > k


def _peak_day(row: dict[str, str]) -> bool:
    infusion = number(row["comparison value"])
    return infusion < number(row["value"]) <= infusion + 14


def _inside(row: dict[str, str]) -> bool:
    return 0 < number(row["value"]) < number(row["comparison value"])


EXPECTED: dict[tuple[str, str, str], Callable[[dict[str, str]], bool]] = {
    # test_pd1_axis_blockade_raises_kill_only_where_pdl1_is_expressed
    ("checkpoint_pd1_axis", "SLD at day 182 (mm), pembrolizumab, PD-L1 60 %", "untreated, PD-L1 60 %"): ratio_below(
        0.8
    ),
    ("checkpoint_pd1_axis", "SLD at day 182 (mm), atezolizumab, PD-L1 60 %", "untreated, PD-L1 60 %"): ratio_below(0.8),
    ("checkpoint_pd1_axis", "SLD at day 182 (mm), pembrolizumab, PD-L1 0 %", "untreated, PD-L1 0 %"): ratio_one(1e-5),
    ("checkpoint_pd1_axis", "SLD at day 182 (mm), atezolizumab, PD-L1 0 %", "untreated, PD-L1 0 %"): ratio_one(1e-5),
    (
        "checkpoint_pd1_axis",
        "largest relative SLD difference over days 0-365, pembrolizumab vs untreated, PD-L1 0 %",
        "-",
    ): value_below(1e-5),
    (
        "checkpoint_pd1_axis",
        "largest relative SLD difference over days 0-365, atezolizumab vs untreated, PD-L1 0 %",
        "-",
    ): value_below(1e-5),
    # test_anti_pd1_occupancy_is_near_saturating_at_trough
    (
        "checkpoint_pd1_axis",
        "tumour PD-1 occupancy, lowest trough (days 13, 27, ..., 181), nivolumab 3 mg/kg q2w",
        "-",
    ): value_above(0.9),
    # test_anti_ctla4_lowers_tregs_and_raises_priming, test_treg_adcc_by_anti_ctla4_needs_nk_cells
    ("anti_ctla4", "regulatory T cells at day 28 (cells)", "untreated"): ratio_below(0.8),
    ("anti_ctla4", "effector CD8 T cells at day 28 (cells)", "untreated"): ratio_above(1.5),
    (
        "anti_ctla4",
        "regulatory T cells at day 28 (cells), ipilimumab, NK-depleted",
        "ipilimumab, NK cells at baseline",
    ): ratio_above(1.2),
    # test_high_dose_il2_raises_effectors_and_tregs
    ("il2", "effector CD8 T cells, highest over days 0-9 (cells)", "untreated"): ratio_above(2.0),
    ("il2", "regulatory T cells, highest over days 0-9 (cells)", "untreated"): ratio_above(2.0),
    ("il2", "blood NK cells, highest over days 0-9 (cells/uL)", "untreated"): ratio_above(2.0),
    # test_interferon_alpha_slows_growth
    ("interferon_alpha", "SLD at day 28 (mm)", "untreated"): ratio_below(1.0),
    (
        "interferon_alpha",
        "SLD at day 28 (mm), no T-cell or NK kill",
        "untreated, no T-cell or NK kill",
    ): ratio_below(1.0),
    # test_vaccine_raises_primed_effectors
    ("vaccine", "effector CD8 T cells at day 42 (cells)", "untreated"): ratio_above(1.3),
    ("vaccine", "effector CD8 T cells at day 42 (cells), no antigen match", "untreated"): ratio_one(1e-5),
    # test_car_t_expands_then_contracts..., test_car_t_needs_lymphodepletion_to_expand,
    # test_lymphodepletion_lowers_blood_lymphocytes
    ("car_t", "day of the CAR-T peak, with lymphodepletion", "infusion day"): _peak_day,
    ("car_t", "CAR-T cells at the peak (cells)", "at infusion"): ratio_above(10.0),
    ("car_t", "CAR-T cells 60 days after infusion (cells)", "at the peak"): ratio_below(0.2),
    (
        "car_t",
        "CAR-T cells, highest over days 0-365, without lymphodepletion",
        "at infusion (day 0)",
    ): ratio_below(1.5),
    ("car_t", "blood lymphocytes, lowest over days 0-9 (cells/uL)", "day 0"): ratio_below(0.1),
    # test_chemotherapy_lowers_lymphocytes_as_well_as_tumour
    **{
        key: check
        for name in ("docetaxel", "carboplatin + pemetrexed")
        for key, check in (
            (("chemotherapy", f"SLD at day 42 (mm), {name}", "untreated"), ratio_below(1.0)),
            (
                ("chemotherapy", f"blood lymphocytes, lowest over days 0-41 (cells/uL), {name}", "untreated, day 0"),
                ratio_below(0.9),
            ),
            (
                ("chemotherapy", f"blood NK cells, lowest over days 0-41 (cells/uL), {name}", "untreated, day 0"),
                ratio_below(0.9),
            ),
        )
    },
    # test_targeted_therapy_slows_growth_then_resistance_emerges
    ("targeted_therapy", "SLD at the nadir (mm)", "baseline"): ratio_below(0.7),
    ("targeted_therapy", "day of the nadir", "last output day"): _inside,
    ("targeted_therapy", "SLD at day 728 (mm)", "at the nadir"): ratio_above(1.2),
    ("targeted_therapy", "resistant fraction Cr/(Cs + Cr) at day 0", "-"): value_below(0.01),
    ("targeted_therapy", "resistant fraction Cr/(Cs + Cr) at day 728", "-"): value_above(0.9),
    # test_adcc_needs_nk_cells_and_target_antigen
    ("adcc", "viable cancer cells at day 56", "untreated"): ratio_below(0.343),
    ("adcc", "SLD at day 56 (mm)", "untreated"): ratio_below(0.8),
    ("adcc", "SLD at day 56 (mm), NK-depleted", "untreated, NK-depleted"): ratio_one(1e-3),
    ("adcc", "SLD at day 56 (mm), antigen-negative tumour", "untreated"): ratio_one(1e-5),
    # test_ivig_lowers_therapeutic_antibody_exposure_through_fcrn
    ("ivig", "plasma nivolumab at day 14 (mg/L), with IVIG", "nivolumab alone"): ratio_below(0.9),
}


# -- tests ---------------------------------------------------------------------------------------


def test_one_valid_png_figure_per_class(generated: Path):
    from PIL import Image

    for slug in CLASSES:
        path = generated / FIGURES / f"{slug}.png"
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC, slug
        width, height = struct.unpack(">II", data[16:24])  # IHDR chunk
        # A multi-panel figure: at least 800 x 500 pixels and not absurdly large; a figure with
        # curves, labels and legends compresses to tens of kB, a blank canvas to a few kB.
        assert 800 <= width <= 4000 and 500 <= height <= 4000, (slug, width, height)
        assert 20_000 < len(data) < 2_000_000, (slug, len(data))
        with Image.open(path) as im:
            im.verify()  # raises on a truncated or corrupt file
    assert not list((generated / FIGURES).glob(".*.tmp")), "temporary files left behind"


def test_page_has_a_section_and_a_figure_for_every_class(generated: Path):
    text = (generated / "mechanisms.md").read_text(encoding="utf-8")
    sections = split_sections(text)
    assert tuple(s for s in sections if s in CLASSES) == CLASSES
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert sorted(refs) == sorted((FIGURES / f"{s}.png").as_posix() for s in CLASSES)
    for slug in CLASSES:
        body = sections[slug]
        assert f"]({(FIGURES / f'{slug}.png').as_posix()})" in body
        assert "**Mechanism.**" in body and "**Signature**" in body and "`qsp.acts_on`" in body
        for ref in refs:
            assert (generated / ref).is_file()
    assert "not a prescription" in text and "not medical advice" in text


def test_every_signature_claim_agrees_with_the_mechanism_tests(generated: Path):
    sections = split_sections((generated / "mechanisms.md").read_text(encoding="utf-8"))
    claimed = set()
    for slug in CLASSES:
        for (quantity, comparison), row in signature(sections[slug]).items():
            key = (slug, quantity, comparison)
            if row["expected"] != "-":
                claimed.add(key)
                assert key in EXPECTED, f"the page claims {row['expected']!r} for {key}, which no test checks"
                assert row["holds"] == "yes", (key, row)
            if key in EXPECTED:
                assert EXPECTED[key](row), (key, row)
                if row["ratio"] != "-":  # the printed ratio is the ratio of the printed values
                    v, r = number(row["value"]), number(row["comparison value"])
                    assert number(row["ratio"]) == pytest.approx(v / r, rel=2e-4), (key, row)
    assert claimed == set(EXPECTED), f"missing from the page: {sorted(set(EXPECTED) - claimed)}"


NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def test_committed_page_matches_the_regenerated_one(generated: Path):
    committed = (ROOT / "docs" / "mechanisms.md").read_text(encoding="utf-8")
    fresh = (generated / "mechanisms.md").read_text(encoding="utf-8")
    stale = "docs/mechanisms.md is stale: run `make mechanisms`"
    assert list(split_sections(committed)) == list(split_sections(fresh)), stale
    assert re.findall(r"!\[[^\]]*\]\(([^)]+)\)", committed) == re.findall(r"!\[[^\]]*\]\(([^)]+)\)", fresh), stale
    for slug in CLASSES:
        assert (ROOT / "docs" / FIGURES / f"{slug}.png").is_file(), f"{stale} (figure {slug}.png missing)"
    # Same text once numbers are masked, and the same numbers within 1e-3.
    assert NUMBER.sub("#", committed) == NUMBER.sub("#", fresh), stale
    for a, b in zip(NUMBER.findall(committed), NUMBER.findall(fresh), strict=True):
        assert float(a) == pytest.approx(float(b), rel=1e-3, abs=1e-12), f"{stale}: {a} != {b}"
