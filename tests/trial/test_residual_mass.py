"""Residual mass: a share of the volume a lesion loses stays visible (oncoimmune.trial.ResidualMassModel).

The rule is the class docstring: on the sum of diameters, V = SLD^3 (equal spheres, population.md §3.2); each
decrease of V leaves `share` of the lost volume as residue, which clears at `clearance_per_day`.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from test_trial_run import BASE

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.trial import ResidualMassModel, load_calibration, run_trial, trial_spec_from_dict

GRID = np.arange(0.0, 365.0, 7.0)


def _cleared(n=1, start=60.0, weeks=8):
    """Lesions that shrink linearly to nothing in `weeks` weeks and stay cleared."""
    row = np.concatenate([np.linspace(start, 0.0, weeks + 1), np.zeros(GRID.size - weeks - 1)])
    return np.tile(row, (n, 1))


def test_a_cleared_tumour_keeps_the_share_of_its_volume_and_a_growing_one_is_unchanged():
    # every decrease leaves share x the lost volume: a tumour cleared from 60 mm keeps share x 60^3 in volume,
    # i.e. a sum of 60 x share^(1/3) mm (0.05 -> 22.1 mm, a 63 % fall: a partial response, not a complete one)
    model = ResidualMassModel(share=0.05)
    out = model.apply(GRID, _cleared(), seed=1, patient_index=[0])
    assert out[0, -1] == pytest.approx(60.0 * 0.05 ** (1 / 3), rel=1e-12)
    assert out[0, 0] == 60.0 and (np.diff(out[0]) <= 1e-12).all()  # still shrinking, only less
    growing = np.linspace(40.0, 90.0, GRID.size)[None, :]
    assert np.array_equal(model.apply(GRID, growing, seed=1, patient_index=[0]), growing)
    # share 0 (or no model) changes nothing
    assert np.allclose(ResidualMassModel(share=0.0).apply(GRID, _cleared(), seed=1, patient_index=[0]), _cleared())


def test_the_residue_clears_at_its_rate_and_regrowth_adds_to_it():
    k = 0.01
    out = ResidualMassModel(share=0.1, clearance_per_day=k).apply(GRID, _cleared(), seed=1, patient_index=[0])
    # after the last decrease (day 56) the residual volume falls as exp(-k t)
    v = out[0] ** 3
    after = GRID >= 56.0
    assert np.allclose(v[after], v[after][0] * np.exp(-k * (GRID[after] - 56.0)), rtol=1e-10)
    # a tumour that shrinks then regrows: the residue stays under the regrowing lesion
    sld = np.concatenate([np.linspace(60.0, 30.0, 10), np.linspace(30.0, 70.0, GRID.size - 10)])[None, :]
    kept = ResidualMassModel(share=0.2).apply(GRID, sld, seed=1, patient_index=[0])
    residue = 0.2 * (60.0**3 - 30.0**3)
    assert kept[0, -1] == pytest.approx((70.0**3 + residue) ** (1 / 3), rel=1e-12)


def test_the_residue_hides_part_of_a_regrowth_and_a_gap_adds_none():
    # it raises the nadir: 50 -> 10 -> 20 mm reads 19.3 -> 24.2 mm with share 0.05 (+25 %, +4.9 mm: not yet
    # RECIST progression, which needs +5 mm too); without it +100 %, +10 mm
    t = np.array([0.0, 7.0, 14.0])
    out = ResidualMassModel(share=0.05).apply(t, np.array([[50.0, 10.0, 20.0]]), seed=1, patient_index=[0])
    residue = 0.05 * (50.0**3 - 10.0**3)
    assert out[0] == pytest.approx([50.0, (1e3 + residue) ** (1 / 3), (8e3 + residue) ** (1 / 3)], rel=1e-12)
    assert 0 < out[0, 2] - out[0, 1] < 5.0
    # a missing value stays missing and the decrease across it adds no residue
    gap = ResidualMassModel(share=0.05).apply(t, np.array([[50.0, np.nan, 10.0]]), seed=1, patient_index=[0])
    assert np.isnan(gap[0, 1]) and gap[0, 2] == pytest.approx(10.0)
    with pytest.raises(ValidationError) as err:
        ResidualMassModel(share=0.05).apply(np.array([0.0, 7.0, 7.0]), np.ones((1, 3)), seed=1, patient_index=[0])
    assert err.value.field == "t_days"


def test_patient_shares_follow_the_mixture_and_the_log_normal():
    n = 20000
    model = ResidualMassModel(share=0.05, omega=0.8, fraction=0.4)
    s = model.shares(7, np.arange(n))
    # binomial SE of the fraction: sqrt(0.24 / 20000) = 0.0035
    assert abs((s > 0).mean() - 0.4) < 4 * math.sqrt(0.24 / n)
    logs = np.log(s[s > 0])
    # median 0.05 and SD 0.8 of the log (about 8,000 draws: SE 0.009 and 0.006)
    assert abs(np.median(logs) - math.log(0.05)) < 0.05 and abs(logs.std() - 0.8) < 0.03
    assert s.max() <= 1.0
    # a patient's share depends on the seed and its own index only (not the chunk it is computed in)
    assert np.array_equal(model.shares(7, np.arange(100, 200)), s[100:200])
    assert not np.array_equal(model.shares(8, np.arange(n)), s)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"share": -0.1}, "share"),
        ({"share": 1.5}, "share"),
        ({"share": float("nan")}, "share"),
        ({"share": 0.1, "fraction": 2.0}, "fraction"),
        ({"share": 0.1, "omega": -1.0}, "omega"),
        ({"share": 0.1, "clearance_per_day": 3.0}, "clearance_per_day"),
        ({"share": True}, "share"),
        ({"omega": 1.0}, "share"),
    ],
)
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ValidationError) as err:
        ResidualMassModel.from_mapping(options)
    assert err.value.field == field


def test_unknown_options_and_bad_specs_are_refused():
    with pytest.raises(UnknownNameError):
        ResidualMassModel.from_mapping({"share": 0.1, "scar": 1})
    assert ResidualMassModel.from_mapping({}) is None
    data = json.loads(json.dumps(BASE))
    data["residual_mass"] = {"share": 2.0}
    with pytest.raises(ValidationError) as err:
        trial_spec_from_dict(data)
    assert "share" in str(err.value)


@pytest.fixture(scope="module")
def paired():
    def trial(**extra):
        data = json.loads(json.dumps(BASE))
        data.update({"patients": 60, "seed": 5, "follow_up": {"months": 18}, **extra})
        data["arms"] = [{"name": "pembrolizumab", "regimen": "pembrolizumab 200 mg q3w"}]
        return run_trial(trial_spec_from_dict(data))

    return trial(), trial(residual_mass={"share": 0.05})


def test_in_a_trial_complete_responses_become_partial_and_nothing_else_moves_earlier(paired):
    off, on = (r.patients.sort_values("patient_id").reset_index(drop=True) for r in paired)
    assert np.array_equal(off["patient_id"], on["patient_id"])
    # the same patients: every complete responder without residue is a responder with it, none complete
    # (a 5 % residue keeps a 37 % sum; a lesion of at least 13.5 mm is still seen)
    cr = off["best_overall_response"] == "CR"
    assert cr.sum() >= 3
    assert on.loc[cr, "best_overall_response"].isin(["PR"]).all()
    # a lesion read larger can only shrink less: the best change is never deeper, and survival is the model's
    a, b = on["best_percent_change"].to_numpy(float), off["best_percent_change"].to_numpy(float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    seen = ~np.isnan(a)
    assert (a[seen] >= b[seen] - 1e-9).all() and (a[seen] > b[seen] + 1.0).sum() >= cr.sum()
    assert np.allclose(on["os_days"], off["os_days"])
    assert paired[1].summary["provenance"]["residual_mass"]["share"] == 0.05
    assert paired[0].summary["provenance"]["residual_mass"] is None
    # the trajectories the report draws are the measured ones: the complete responders' lesions reach 0 mm
    # without the residue and stay visible with it
    rows = [r.patients.reset_index(drop=True) for r in paired]
    with_, without = (r.trajectories["pembrolizumab"]["sld_mm"] for r in (paired[1], paired[0]))
    was_cr = (rows[0]["best_overall_response"] == "CR").to_numpy()
    assert np.array_equal(rows[0]["patient_id"], rows[1]["patient_id"])
    assert (np.nanmin(without[was_cr], axis=1) < 5.0).all() and (np.nanmin(with_[was_cr], axis=1) > 5.0).all()


def test_a_calibration_carries_it_and_the_spec_overrides_it(tmp_path):
    cal = yaml.safe_load(open(load_calibration("checkmate067").path))
    cal["residual_mass"] = {"share": 0.04, "fraction": 0.5}
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(cal))
    assert load_calibration(str(path)).residual_mass == {"share": 0.04, "fraction": 0.5}
    cal["residual_mass"] = {"share": -1}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cal))
    with pytest.raises(ValidationError) as err:
        load_calibration(str(bad))
    assert err.value.field == "share"
    from oncoimmune.trial._calibration import resolve_residual_mass

    data = {
        "name": "t",
        "population": {"tumour_type": "melanoma"},
        "calibration": str(path),
        "patients": 4,
        "seed": 1,
        "arms": [{"name": "n", "regimen": "nivolumab 3 mg/kg q2w"}],
        "scans": {"every_weeks": 9},
        "follow_up": {"months": 12},
        "residual_mass": {"fraction": 1.0},
    }
    spec = trial_spec_from_dict(data)
    assert resolve_residual_mass(spec, load_calibration(str(path))) == {"share": 0.04, "fraction": 1.0}
