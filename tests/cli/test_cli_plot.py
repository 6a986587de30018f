"""`--plot` and :func:`oncoimmune.plot.plot_result`: a real, non-blank figure is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

import oncoimmune
from oncoimmune.plot import plot_result

KP = "kirschner_panetta_1998"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_drawn_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 20_000  # three panels of curves, axes and text, not an empty canvas
    img = imread(path)
    assert img.ndim == 3 and img.shape[0] > 400 and img.shape[1] > 400
    rgb = img[..., :3]
    # Not blank: a visible share of pixels differ from the white background.
    non_white = np.mean(np.any(rgb < 0.9, axis=-1))
    assert non_white > 0.02, non_white


def test_simulate_plot_writes_a_png(run_cli, tmp_path):
    png = tmp_path / "kp.png"
    res = run_cli("simulate", KP, "--plot", png, "--out", tmp_path / "kp.csv")
    assert res.exit_code == 0, res.output
    _assert_drawn_png(png)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kp.csv", "kp.csv.provenance.json", "kp.png"]


def test_simulate_plot_many_patients(run_cli, tmp_path):
    patients = tmp_path / "p.csv"
    patients.write_text("c\n" + "\n".join(f"{c:.4f}" for c in np.linspace(0.02, 0.05, 12)) + "\n", encoding="utf-8")
    png = tmp_path / "many.png"
    res = run_cli("simulate", KP, "--patients", patients, "--t-end", "200", "--plot", png, "--out", tmp_path / "m.csv")
    assert res.exit_code == 0, res.output
    _assert_drawn_png(png)


def test_plot_result_overlays_arms_and_leaves_pyplot_alone(tmp_path):
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    untreated = oncoimmune.simulate(KP, t_end=100.0)
    treated = oncoimmune.simulate(KP, t_end=100.0, regimen=oncoimmune.Regimen((oncoimmune.Bolus("E", 1e4, (10.0,)),)))
    path = plot_result({"untreated": untreated, "effector bolus": treated}, tmp_path / "arms.png")
    assert path == tmp_path / "arms.png"
    _assert_drawn_png(path)
    assert plt.get_fignums() == open_before  # no pyplot figure left open


def test_plot_result_rejects_unknown_suffix_without_writing(tmp_path):
    result = oncoimmune.simulate(KP, times=[0.0, 1.0])
    with pytest.raises(oncoimmune.ValidationError, match="'plot'"):
        plot_result(result, tmp_path / "x.gif")
    assert list(tmp_path.iterdir()) == []
