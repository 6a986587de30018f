"""What might each therapy do for one patient profile? A virtual-trial answer with its uncertainty.

``oncoimmune predict PROFILE.yaml`` takes one patient profile — a tumour type and what is known of
the patient (biomarkers such as PD-L1 and TMB, burden, age, sex, body size) — and samples the
uncertainty around it: the unknown covariates are drawn from the tumour type's population
*conditioned* on the known ones (:func:`oncoimmune.population.sample_population` with overrides),
so every virtual patient is compatible with the profile. Each therapy option is then given to
``samples`` such patients (the same patients for every option) through the virtual-trial
machinery (:func:`oncoimmune.trial.run_trial`, side effects on), and the report gives, per option:

* the probability of an objective response (RECIST 1.1 CR or PR);
* the probability of a grade ≥ 3 adverse event, and of fatigue, joint pain (arthralgia) and
  digestive troubles (diarrhoea/colitis or nausea/vomiting) of any grade;
* the median PFS (months).

Probabilities carry 95 % Wilson intervals (sampling uncertainty of the virtual cohort); the
median PFS its Kaplan–Meier 95 % interval. The virtual patients are those of the tumour type's
calibration where one exists (:data:`~oncoimmune.trial._calibration.DEFAULT_CALIBRATIONS`: melanoma
uses the CheckMate 067 calibration, and its BRAF/MEK option the COMBI-d/BRIM-3/COMBI-v one built on it; large B-cell
lymphoma the ZUMA-1 one, NSCLC the KEYNOTE-024 one); renal cell carcinoma runs on the model defaults,
which are not calibrated. The uncertainty of the
model itself is not in these intervals, and the report says so.

Research and education software. This is not a prediction for a real person and never a
treatment recommendation: decisions belong with the patient and their doctor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from oncoimmune._validate import read_yaml
from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.trial._endpoints import wilson_interval

__all__ = ["DEFAULT_THERAPIES", "Prediction", "predict", "read_profile"]

DEFAULT_THERAPIES: dict[str, dict[str, str]] = {
    "melanoma": {
        "nivolumab + ipilimumab": "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w",
        "pembrolizumab": "pembrolizumab 200 mg q3w",
        "high-dose IL-2": "aldesleukin 600000 IU/kg q8h x14",
        "dacarbazine": "dacarbazine 1000 mg/m2 q3w",
    },
    "nsclc": {
        "pembrolizumab": "pembrolizumab 200 mg q3w",
        "carboplatin + pemetrexed": "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4 then pemetrexed 500 mg/m2 q3w",
        "docetaxel": "docetaxel 75 mg/m2 q3w",
    },
    "rcc": {
        "nivolumab + ipilimumab": "nivolumab 3 mg/kg + ipilimumab 1 mg/kg q3w x4 then nivolumab 240 mg q2w",
        "sunitinib": "sunitinib 50 mg daily 4 weeks on 2 weeks off",
    },
    "lbcl": {
        "axicabtagene ciloleucel": (
            "fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2 daily x3 then axicabtagene ciloleucel 2e6 cells/kg"
            " after 2 days"
        ),
        "rituximab": "rituximab 375 mg/m2 q1w x4",
    },
}
"""Therapy options considered by default for each tumour type (regimens of the drug library)."""

BRAF_OPTIONS = {"dabrafenib + trametinib": "dabrafenib 150 mg bid + trametinib 2 mg daily"}
"""Added for a melanoma profile with ``braf_v600: true`` (targeted therapy needs the mutation)."""

BRAF_CALIBRATION = "braf_mek"
"""The calibration of the :data:`BRAF_OPTIONS` (BRAF/MEK inhibition fitted jointly to COMBI-d, BRIM-3 and
COMBI-v on the melanoma population of ``checkmate067``); their oral doses are spread over the dosing
interval (``treatment.oral_input: continuous``), as in those trials' validation."""

_PROFILE_KEYS = {
    "tumour_type",
    "braf_v600",
    "sex",
    "age_years",
    "weight_kg",
    "height_cm",
    "serum_creatinine",
    "ecog",
    "ldh_u_per_l",
    "tumour_burden_mm",
    "n_lesions",
    "pdl1",
    "tmb",
    "msi_high",
    "growth_rate",
    "car_antigen",
}

DISCLAIMER_TEXT = (
    "Research and education software: these are properties of a model and its virtual patients, not a prediction "
    "for a real person and never a treatment recommendation. Every decision belongs with the patient and their doctor."
)


def read_profile(path: str | Path) -> dict[str, Any]:
    """Read a patient profile from YAML (safe loader) and check its keys."""
    p = Path(path)
    data = read_yaml(p, "profile")
    return check_profile(data, where=p.name)


def check_profile(data: Any, where: str = "profile") -> dict[str, Any]:
    """Validate a profile mapping: a known tumour type and known covariate keys."""
    from oncoimmune.population import tumour_types

    if not isinstance(data, Mapping):
        raise ValidationError("profile", "be a mapping with tumour_type and known covariates", data, where)
    extra = sorted(str(k) for k in data if k not in _PROFILE_KEYS)
    if extra:
        raise UnknownNameError("profile key", extra[0], sorted(_PROFILE_KEYS), where)
    if "tumour_type" not in data:
        raise ValidationError("tumour_type", "be given", None, where)
    if data["tumour_type"] not in tumour_types():
        raise UnknownNameError("tumour_type", data["tumour_type"], list(tumour_types()), where)
    if "braf_v600" in data and not isinstance(data["braf_v600"], bool):
        raise ValidationError("braf_v600", "be true or false", data["braf_v600"], where)
    return dict(data)


@dataclass(frozen=True)
class Prediction:
    """Per-therapy probabilities and median PFS for one profile (``options``), with the trials behind them."""

    profile: dict[str, Any]
    samples: int
    seed: int
    options: dict[str, dict[str, Any]]
    trials: dict[str, Any]
    calibration: str | None = None

    def to_json(self) -> dict[str, Any]:
        def clean(x: Any) -> Any:
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if isinstance(x, float) and not math.isfinite(x):
                return None
            return x

        return clean(
            {
                "profile": self.profile,
                "samples_per_option": self.samples,
                "seed": self.seed,
                "options": self.options,
                "disclaimer": DISCLAIMER_TEXT,
                "calibration": self.calibration,
                "uncertainty": (
                    "95 % intervals over the virtual patients compatible with the profile (Wilson for probabilities, "
                    "Kaplan-Meier for the median PFS); the model's own parameter uncertainty is not included. "
                    + (
                        f"The virtual population is the '{self.calibration}' calibration (docs/validation.md)."
                        if self.calibration
                        else "No calibration exists for this tumour type yet: the model defaults are used."
                    )
                    + "".join(
                        f" Option '{name}' uses the '{o['calibration']}' calibration."
                        for name, o in self.options.items()
                        if o.get("calibration") != self.calibration
                    )
                ),
            }
        )


def predict(
    profile: Mapping[str, Any],
    *,
    therapies: Sequence[str] | None = None,
    samples: int = 100,
    seed: int = 0,
    follow_up_months: float = 24.0,
    workers: int | None = None,
) -> Prediction:
    """Give each therapy option to ``samples`` virtual patients compatible with ``profile``.

    Parameters
    ----------
    profile:
        ``tumour_type`` plus known covariates (:func:`check_profile`); ``braf_v600: true`` adds
        BRAF/MEK inhibition to the melanoma options.
    therapies:
        Option names of :data:`DEFAULT_THERAPIES` for the tumour type, or regimen texts; default: all
        the tumour type's options.
    samples:
        Virtual patients per option (the same patients for every option).
    seed:
        Seed of every draw.
    follow_up_months:
        Follow-up of the virtual cohort.
    """
    from oncoimmune.trial._calibration import DEFAULT_CALIBRATIONS
    from oncoimmune.trial._run import run_trial
    from oncoimmune.trial._spec import trial_spec_from_dict

    prof = check_profile(profile)
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValidationError("samples", "be an integer >= 1", samples, "predict")
    tt = prof["tumour_type"]
    options = dict(DEFAULT_THERAPIES[tt])
    if tt == "melanoma" and prof.get("braf_v600"):
        options.update(BRAF_OPTIONS)
    if therapies:
        chosen: dict[str, str] = {}
        for name in therapies:
            if name in options:
                chosen[name] = options[name]
            elif name in BRAF_OPTIONS:
                raise ValidationError("therapies", "include BRAF/MEK inhibition only with braf_v600: true", name)
            else:
                chosen[name] = name  # a regimen text; validated with the spec below
        options = chosen
    overrides = {k: v for k, v in prof.items() if k not in ("tumour_type", "braf_v600")}
    out: dict[str, dict[str, Any]] = {}
    trials: dict[str, Any] = {}
    for name, regimen in options.items():
        # One single-arm trial per option with the same seed and size: the population sampler is
        # prefix-stable, so every option is given to the same virtual patients (paired comparison).
        braf = tt == "melanoma" and name in BRAF_OPTIONS and regimen == BRAF_OPTIONS[name]
        calibration = BRAF_CALIBRATION if braf else DEFAULT_CALIBRATIONS.get(tt)
        spec = trial_spec_from_dict(
            {
                "name": f"predict: {tt} profile, {name}",
                "population": {"tumour_type": tt, "overrides": overrides},
                "calibration": calibration,
                "patients": int(samples),
                "seed": int(seed),
                "arms": [{"name": name, "regimen": regimen}],
                "scans": {"every_weeks": 8},
                "follow_up": {"months": follow_up_months},
                "treatment": {"oral_input": "continuous" if braf else "doses"},
            },
            where="predict",
        )
        result = run_trial(spec, workers=workers)
        trials[name] = result
        arm = result.patients
        n = len(arm)
        grades = arm.filter(regex=r"^ae_.*_grade$")

        def count(mask: Any) -> int:
            return int(np.asarray(mask, dtype=bool).sum())

        def prob(k: int, n: int = n) -> dict[str, Any]:
            lo, hi = wilson_interval(k, n)
            return {"p": k / n if n else math.nan, "ci95": [lo, hi]}

        s = result.summary["arms"][name]
        out[name] = {
            "regimen": regimen,
            "n": n,
            "objective_response": prob(count(arm["best_overall_response"].isin(["CR", "PR"]))),
            "grade3plus_adverse_event": prob(count(grades.max(axis=1) >= 3)),
            "fatigue": prob(count(arm["ae_fatigue_grade"] > 0)),
            "joint_pain": prob(count(arm["ae_arthralgia_grade"] > 0)),
            "digestive_troubles": prob(
                count((arm["ae_diarrhoea_colitis_grade"] > 0) | (arm["ae_nausea_vomiting_grade"] > 0))
            ),
            "median_pfs_months": s["median_pfs_months"],
            "median_pfs_ci95_months": s["median_pfs_ci_months"],
            "calibration": calibration,
        }
    return Prediction(prof, int(samples), int(seed), out, trials, DEFAULT_CALIBRATIONS.get(tt))
