"""The calibration search behind ``oncoimmune calibrate PROBLEM.yaml``.

A calibration problem (YAML, validated; example ``examples/calibration/checkmate067.yaml``) names

* ``spec``: the trial spec to run (a shipped name such as ``checkmate067_like`` or a path);
* ``patients`` and ``seed``: the virtual trial every evaluation runs (common random numbers: the same
  patients, randomisation and death draws at every point, so differences come from the knobs only);
* ``start``: the starting calibration (``parameters``, ``plausible``, ``death_model``, ``new_lesions``,
  ``residual_mass``);
* ``base`` (optional): a calibration to build on (a shipped name such as ``checkmate067`` or a path): its
  parameters, plausible ranges and death model are the start, and ``start`` overrides them entry by
  entry, so a problem that fits one more mechanism on a calibrated population (high-dose IL-2 on the
  CheckMate 067 melanoma population) restates nothing; the result names its base in the provenance;
* ``targets``: published figures, each ``{arm, metric, value, tolerance, kind, source}`` with
  ``metric`` one of the summary's figures (``orr``, ``cr``, ``dcr``, ``median_pfs_months``,
  ``median_os_months``, ``os_rate.36``, ``pfs_rate.12``, ``trae_g3plus`` ...), ``kind`` ``absolute``
  (tolerance in the metric's unit) or ``relative`` (fraction of the value), and a ``weight`` (0: reported,
  not fitted);
* ``also`` (optional): more trials fitted jointly, each ``{spec, patients, seed, targets}``: every evaluation
  runs the candidate calibration on each of them too (their specs' own calibrations are replaced by it, as
  the main spec's is), and the loss adds their targets', so one population can be fitted to several trials
  of the same drugs (COMBI-d, BRIM-3 and COMBI-v); their rows in the result carry ``trial: SPEC``;
* ``stages``: a sequence of ``{free: {knob: {lower, upper, scale}}, targets: [metric names]}`` (a metric
  name selects that metric's targets in every trial of the problem); a knob
  is a dotted path into the calibration (``parameters.k_CT.median``, ``parameters.nu_CTLA4.value``,
  ``death_model.tumour.hazard_per_day``, ``new_lesions.rate_per_day``, ``residual_mass.share``), searched on a
  log or linear scale
  within its bounds.

Each stage minimises :math:`\\sum_i w_i ((s_i - t_i)/\\tau_i)^2` over its knobs with bounded
Nelder–Mead (scipy), starting from the previous stage's optimum; a target's :math:`\\tau_i` is its
tolerance, so a loss below the number of targets means every fitted figure is inside its tolerance on
average. The search is deterministic for a given problem. The result is a calibration file
(:mod:`oncoimmune.trial._calibration`) with the fitted values, each target with its simulated value and
whether it is inside the tolerance, and provenance (problem, evaluations, loss, version, date).

This is a search, not a test: the tests check that the shipped calibration reproduces the figures on
*other* patients (another seed, more of them).
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from oncoimmune._validate import read_yaml
from oncoimmune.errors import ValidationError
from oncoimmune.trial._spec import Target, evaluate_targets, metric_value

__all__ = ["CalibrationProblem", "Target", "calibrate", "evaluate_targets", "load_calibration_problem", "metric_value"]


_OPTION_MODELS = ("new_lesions", "residual_mass")
"""Calibration entries that are the options of a trial-level model (NewLesionModel, ResidualMassModel)."""


def _option_model(head: str) -> tuple[type, str]:
    """The trial-level model whose options calibration entry ``head`` holds, and its required option."""
    from oncoimmune.trial._lesions import NewLesionModel, ResidualMassModel

    return {"new_lesions": (NewLesionModel, "rate_per_day"), "residual_mass": (ResidualMassModel, "share")}[head]


def _options(head: str) -> list[str]:
    from dataclasses import fields

    return [f.name for f in fields(_option_model(head)[0])]


def _check_options(head: str, options: Any, field: str) -> None:
    """Raise a ValidationError naming ``field`` unless ``options`` are valid options of ``head``'s model (the
    required one may come from elsewhere: a base calibration, a knob)."""
    from oncoimmune.errors import OncoimmuneError

    model, required = _option_model(head)
    if not isinstance(options, Mapping):
        raise ValidationError(field, f"be a mapping of {model.__name__} options", options)
    try:
        model.from_mapping({required: 0.0, **options}, where=field)
    except OncoimmuneError as exc:
        raise ValidationError(field, f"hold valid {model.__name__} options ({exc})", dict(options)) from None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Knob(_Frozen):
    """A searched value: bounds and the scale of the search."""

    lower: float = Field(allow_inf_nan=False)
    upper: float = Field(allow_inf_nan=False)
    scale: Literal["log", "linear"] = "log"

    @model_validator(mode="after")
    def _bounds(self) -> Knob:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        if self.scale == "log" and self.lower <= 0:
            raise ValueError("a log-scale knob needs lower > 0")
        return self


class Stage(_Frozen):
    free: dict[str, Knob] = Field(min_length=1)
    targets: list[str] = Field(min_length=1, description="Metrics fitted in this stage (e.g. orr, os_rate.36)")
    max_evaluations: int = Field(default=80, ge=1, le=10_000)


class JointTrial(_Frozen):
    """A further trial of a calibration problem, fitted jointly with its main spec."""

    spec: str = Field(min_length=1)
    patients: int = Field(gt=0, le=100_000)
    seed: int = Field(ge=0)
    targets: list[Target] = Field(min_length=1)


class CalibrationProblem(_Frozen):
    """A calibration problem (see the module docstring)."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    spec: str = Field(min_length=1)
    patients: int = Field(gt=0, le=100_000)
    seed: int = Field(ge=0)
    start: dict[str, Any] = Field(default_factory=dict)
    base: str | None = Field(default=None, min_length=1, description="Calibration the start builds on")
    targets: list[Target] = Field(min_length=1)
    also: list[JointTrial] = Field(default_factory=list, description="More trials fitted jointly")
    stages: list[Stage] = Field(min_length=1)

    def record(self) -> dict[str, Any]:
        """The problem as the provenance records it (JSON types; no ``also`` key when no trial is joint, as
        written before joint problems existed, so older calibrations' records and digests still match)."""
        return self.model_dump(mode="json", exclude=None if self.also else {"also"})

    @model_validator(mode="after")
    def _consistent(self) -> CalibrationProblem:
        unknown = sorted(set(self.start) - {"parameters", "plausible", "death_model", *_OPTION_MODELS})
        if unknown:
            raise ValidationError(
                "start", "take parameters, plausible, death_model, new_lesions and residual_mass only", unknown
            )
        for head in _OPTION_MODELS:
            if head in self.start:
                _check_options(head, self.start[head], f"start.{head}")
        if self.base is not None:
            from oncoimmune.errors import OncoimmuneError
            from oncoimmune.trial._calibration import load_calibration

            try:
                load_calibration(self.base)
            except OncoimmuneError as exc:
                raise ValidationError("base", f"name a valid calibration ({exc})", self.base) from None
        names = [self.spec, *(a.spec for a in self.also)]
        for i, a in enumerate(self.also):
            if names.count(a.spec) > 1:
                raise ValidationError(f"also.{i}.spec", "name a trial spec not already in the problem", a.spec)
        metrics = {t.metric for t in self.targets} | {t.metric for a in self.also for t in a.targets}
        for i, st in enumerate(self.stages):
            missing = sorted(set(st.targets) - metrics)
            if missing:
                raise ValidationError(f"stages.{i}.targets", "name metrics that have a target", missing)
            for path in st.free:
                head = path.split(".", 1)[0]
                if not (
                    (head == "parameters" and path.count(".") == 2)
                    or (head in ("death_model", *_OPTION_MODELS) and "." in path)
                ):
                    raise ValidationError(
                        f"stages.{i}.free",
                        "name knobs as parameters.NAME.median|value|omega|fraction, death_model.PATH, "
                        "new_lesions.OPTION or residual_mass.OPTION",
                        path,
                    )
                if head in _OPTION_MODELS:
                    options = _options(head)
                    if path.split(".", 1)[1] not in options:
                        raise ValidationError(f"stages.{i}.free", f"name a {head} option, one of {options}", path)
                    kn = st.free[path]
                    for bound in (kn.lower, kn.upper):  # every point of the search must be a valid option
                        _check_options(head, {path.split(".", 1)[1]: bound}, f"stages.{i}.free.{path}")
                if head == "parameters" and path.endswith(".fraction"):
                    kn = st.free[path]
                    if kn.lower <= 0.0 or kn.upper > 1.0:
                        raise ValidationError(
                            f"stages.{i}.free.{path}", "search a fraction within (0, 1]", [kn.lower, kn.upper]
                        )
                if head == "parameters" and path.rsplit(".", 1)[1] not in ("median", "value", "omega", "fraction"):
                    raise ValidationError(
                        f"stages.{i}.free", "end parameter knobs in median, value, omega or fraction", path
                    )
        return self


def load_calibration_problem(path: str | Path) -> CalibrationProblem:
    """Read and validate a calibration problem (safe YAML); errors name the field."""
    p = Path(path)
    data = read_yaml(p, "calibration problem")
    if not isinstance(data, Mapping):
        raise ValidationError("problem", "be a mapping (name, spec, patients, seed, targets, stages)", data, p.name)
    try:
        return CalibrationProblem.model_validate(dict(data))
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ValidationError):
            raise ValidationError(inner.field, inner.rule, inner.value, p.name) from None
        field = ".".join(str(x) for x in err["loc"]) or "problem"
        rule = err["msg"].removeprefix("Value error, ")
        value = None if err["type"] == "missing" else err.get("input")
        rule = "be given" if err["type"] == "missing" else "be valid: " + rule
        raise ValidationError(field, rule, value, p.name) from None


def _set_path(d: dict[str, Any], path: str, value: float) -> None:
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value


def _get_path(d: Mapping[str, Any], path: str) -> Any:
    for k in path.split("."):
        if not isinstance(d, Mapping) or k not in d:
            return None
        d = d[k]
    return d


@dataclass
class _Evaluation:
    stage: int
    values: dict[str, float]
    loss: float
    figures: dict[str, float]


def _loss(summary: Mapping[str, Any], targets: list[Target]) -> tuple[float, dict[str, float]]:
    total = 0.0
    figures = {}
    for t in targets:
        s = metric_value(summary, t.arm, t.metric, t.versus)
        figures[t.key] = s
        if t.weight == 0:
            continue
        if not math.isfinite(s):
            # a figure the trial cannot give (a median not reached, a rate beyond follow-up): far off target
            s = 10.0 * t.value + 10.0 * t.scale
        total += t.weight * ((s - t.value) / t.scale) ** 2
    return total, figures


def _based_on(cal: Any, start: Mapping[str, Any]) -> dict[str, Any]:
    """The start of a problem with a ``base``: the base calibration's entries, overridden by ``start``'s."""
    from oncoimmune.trial._calibration import _deep_update

    # the loaded calibration is validated; its entries are taken as written (no bounds filled in)
    raw = read_yaml(cal.path, "calibration") if cal.path is not None else {}
    out: dict[str, Any] = {
        "parameters": copy.deepcopy(dict(raw.get("parameters") or {})),
        "plausible": copy.deepcopy(dict(raw.get("plausible") or {})),
        "death_model": copy.deepcopy(dict(raw.get("death_model") or {})),
    }
    for key in _OPTION_MODELS:
        if raw.get(key):
            out[key] = copy.deepcopy(dict(raw[key]))
    for key, entries in start.items():
        if key in ("death_model", *_OPTION_MODELS):  # partial options override the base's entry by entry
            out[key] = _deep_update(out.get(key, {}), copy.deepcopy(entries))
        else:
            out[key].update(copy.deepcopy(entries))
    return out


def calibrate(
    problem: CalibrationProblem,
    *,
    workers: int | None = None,
    progress: Callable[[int, int, float, float], None] | None = None,
    journal: str | Path | None = None,
) -> dict[str, Any]:
    """Run the stages of ``problem``; return the calibration document (see the module docstring).

    ``journal`` (a path, optional): every evaluation is appended to it as one JSON line (the knob values,
    the loss and the fitted figures) as soon as it is computed. Run again with the same journal to resume
    a search that stopped (killed, out of time): the evaluations already in it are read back instead of
    re-run, and because the search is deterministic it follows the same path and goes on from where it
    stopped. A journal belongs to one problem (its ``problem_sha256``); what that digest does not cover is
    not checked (the trial specs and the base calibration the problem names, the code), so resume with the
    same files and the same oncoimmune version.
    """
    from scipy.optimize import minimize

    from oncoimmune import __version__
    from oncoimmune.trial._run import run_trial
    from oncoimmune.trial._spec import SPEC_DIR, read_spec_data, read_spec_vpop, trial_spec_from_dict

    def trial_base(name: str, patients: int, seed: int, targets: list[Target]) -> tuple[Any, dict[str, Any]]:
        spec_path = SPEC_DIR / f"{name}.yaml"
        spec_path = spec_path if spec_path.is_file() else Path(name)
        raw = read_spec_data(spec_path)
        if not isinstance(raw, Mapping):
            raise ValidationError("spec", "be a trial spec (a mapping)", raw, problem.name)
        # the spec's own calibration is what is being fitted: start from the problem's values instead
        spec = trial_spec_from_dict({k: v for k, v in raw.items() if k != "calibration"}, where=spec_path.name)
        d = spec.model_dump(mode="json")
        d["patients"] = patients
        d["seed"] = seed
        d["calibration"] = None
        # the trial computes the figures the problem fits (landmark rates at the months its targets name)
        d["targets"] = [t.model_dump(mode="json") for t in targets]
        return spec, d

    spec, base = trial_base(problem.spec, problem.patients, problem.seed, problem.targets)
    trials: list[tuple[str | None, dict[str, Any], list[Target]]] = [(None, base, problem.targets)]
    for i, a in enumerate(problem.also):
        other, d = trial_base(a.spec, a.patients, a.seed, a.targets)
        if (other.model, other.population.tumour_type) != (spec.model, spec.population.tumour_type):
            raise ValidationError(
                f"also.{i}.spec",
                f"run the main spec's model and tumour type ({spec.model}, {spec.population.tumour_type})",
                f"{a.spec}: {other.model}, {other.population.tumour_type}",
                problem.name,
            )
        trials.append((a.spec, d, a.targets))
    for label, d, _ in trials:
        # a spec's own new-lesion options apply over the calibration's (as they do when the fitted file is
        # used with that spec): a knob on one of them would move nothing
        for i, st in enumerate(problem.stages):
            for path in st.free:
                head, _, rest = path.partition(".")
                if head in _OPTION_MODELS and rest in (d.get(head) or {}):
                    raise ValidationError(
                        f"stages.{i}.free",
                        f"move a {head} option that the spec {label or problem.spec} does not set itself",
                        path,
                    )
        # a VP keeps the parameters its VPop table gives: a knob on one of them would move nothing
        if d["population"].get("vpop") is None:
            continue
        fixed = read_spec_vpop(trial_spec_from_dict(d, where="calibration")).parameters
        for i, st in enumerate(problem.stages):
            for path in st.free:
                head, _, rest = path.partition(".")
                if head == "parameters" and fixed is not None and rest.rsplit(".", 1)[0] in fixed.columns:
                    raise ValidationError(
                        f"stages.{i}.free",
                        f"move parameters that the VPop table of {label or problem.spec} does not fix "
                        "(its param_ columns are every enrolled patient's values)",
                        path,
                    )
    state: dict[str, Any] = copy.deepcopy(problem.start)
    if problem.base is not None:
        from oncoimmune.trial._calibration import check_calibration_fits, load_calibration

        base_cal = load_calibration(problem.base)
        check_calibration_fits(base_cal, spec.population.tumour_type, spec.model, "base", problem.base, problem.name)
        state = _based_on(base_cal, state)
    state.setdefault("parameters", {})
    state.setdefault("plausible", {})
    state.setdefault("death_model", {})
    history: list[_Evaluation] = []
    # the trials' summaries per calibration (what a stage scores them on differs: scores are per point)
    runs: dict[str, list[dict[str, Any]]] = {}
    scores: dict[str, tuple[float, dict[str, float]]] = {}
    digest = hashlib.sha256(json.dumps(problem.record(), sort_keys=True).encode()).hexdigest()
    if journal is not None:
        journal = Path(journal)
        scores = _open_journal(journal, digest, problem.name)  # evaluated by the run that wrote the journal

    def run_one(cal: Mapping[str, Any], trial: Mapping[str, Any]) -> dict[str, Any]:
        d = copy.deepcopy(dict(trial))
        d["population"]["parameters"] = cal["parameters"]
        d["population"]["plausible"] = cal["plausible"]
        d["death_model"] = cal["death_model"]
        for key in _OPTION_MODELS:  # the spec's own options win
            d[key] = {**cal.get(key, {}), **(trial.get(key) or {})}
        return run_trial(trial_spec_from_dict(d, where="calibration"), workers=workers).summary

    def run(cal: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The summaries of every trial of the problem, the main spec's first."""
        return [run_one(cal, d) for _, d, _ in trials]

    def joint_loss(summaries: list[dict[str, Any]], metrics: set[str] | None) -> tuple[float, dict[str, float]]:
        total, figures = 0.0, {}
        for (label, _, targets), summary in zip(trials, summaries, strict=True):
            chosen = [t for t in targets if metrics is None or t.metric in metrics]
            loss, figs = _loss(summary, chosen)
            total += loss
            figures.update({k if label is None else f"{label}/{k}": v for k, v in figs.items()})
        return total, figures

    total_evals = sum(st.max_evaluations for st in problem.stages)
    done = 0
    for k, stage in enumerate(problem.stages):
        metrics = set(stage.targets)
        names = list(stage.free)
        knobs = [stage.free[n] for n in names]

        def to_x(values: list[float], knobs: list[Knob] = knobs) -> np.ndarray:
            return np.array(
                [math.log(v) if kn.scale == "log" else v for v, kn in zip(values, knobs, strict=True)], dtype=float
            )

        def from_x(x: np.ndarray, knobs: list[Knob] = knobs) -> list[float]:
            out = []
            for xi, kn in zip(x, knobs, strict=True):
                v = math.exp(xi) if kn.scale == "log" else float(xi)
                out.append(float(min(max(v, kn.lower), kn.upper)))
            return out

        start = []
        for n, kn in zip(names, knobs, strict=True):
            v = _get_path(state, n)
            if v is None:
                v = math.sqrt(kn.lower * kn.upper) if kn.scale == "log" else 0.5 * (kn.lower + kn.upper)
            start.append(float(min(max(float(v), kn.lower), kn.upper)))

        def objective(x: np.ndarray, stage_index: int = k, names: list[str] = names, metrics: set = metrics) -> float:
            nonlocal done
            values = from_x(x)
            cal = copy.deepcopy(state)
            for n, v in zip(names, values, strict=True):
                _set_path(cal, n, float(f"{v:.6g}"))
            key = json.dumps(cal, sort_keys=True)
            point = hashlib.sha256(f"{stage_index}:{key}".encode()).hexdigest()
            if point not in scores:
                if key not in runs:  # a later stage can start on an earlier one's point: scored again, not run
                    runs[key] = run(cal)
                scores[point] = joint_loss(runs[key], metrics)
                if journal is not None:
                    loss, figures = scores[point]
                    line = {"point": point, "stage": stage_index, "values": dict(zip(names, values, strict=True))}
                    shown = {k: v if math.isfinite(v) else None for k, v in figures.items()}  # NaN: null
                    with open(journal, "a") as f:
                        f.write(json.dumps({**line, "loss": loss, "figures": shown}) + "\n")
            loss, figures = scores[point]
            history.append(_Evaluation(stage_index, dict(zip(names, values, strict=True)), loss, figures))
            done += 1
            if progress is not None:
                progress(done, total_evals, loss, min(e.loss for e in history if e.stage == stage_index))
            return loss

        x0 = to_x(start)
        lo = to_x([kn.lower for kn in knobs])
        hi = to_x([kn.upper for kn in knobs])
        step = np.where([kn.scale == "log" for kn in knobs], math.log(1.5), 0.1 * (hi - lo))
        simplex = np.vstack([x0] + [np.clip(x0 + np.eye(len(x0))[i] * step, lo, hi) for i in range(len(x0))])
        for i in range(1, len(simplex)):  # a vertex clipped onto x0 would make the simplex flat
            if np.allclose(simplex[i], x0):
                simplex[i] = np.clip(x0 - np.eye(len(x0))[i - 1] * step, lo, hi)
        res = minimize(
            objective,
            x0,
            method="Nelder-Mead",
            bounds=list(zip(lo, hi, strict=True)),
            options={"maxfev": stage.max_evaluations, "initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-3},
        )
        best = min((e for e in history if e.stage == k), key=lambda e: e.loss)
        for n, v in best.values.items():
            _set_path(state, n, float(f"{v:.6g}"))
        del res  # the optimum is read from the history (the best evaluation, rounded as evaluated)

    # the best evaluation's trials, already run (the state holds its values, rounded as evaluated)
    final = runs.get(json.dumps(state, sort_keys=True)) or run(state)
    rows = evaluate_targets(final[0], problem.targets)
    for (label, _, targets), summary in zip(trials[1:], final[1:], strict=True):
        rows += [{"trial": label, **row} for row in evaluate_targets(summary, targets)]
    loss, _ = joint_loss(final, None)
    return {
        "name": problem.name,
        "description": problem.description,
        "model": spec.model,
        "tumour_type": spec.population.tumour_type,
        "parameters": state["parameters"],
        "plausible": state["plausible"],
        "death_model": state["death_model"],
        # only when the problem has them, so a problem without new lesions still writes the same document
        **{key: state[key] for key in _OPTION_MODELS if state.get(key)},
        "targets": rows,
        "provenance": {
            "command": "oncoimmune calibrate PROBLEM.yaml --out FILE.yaml (problem below)",
            "problem": problem.record(),
            "problem_sha256": digest,
            "spec": problem.spec,
            "base": problem.base,
            "patients": problem.patients,
            "seed": problem.seed,
            **(
                {"also": [{"spec": a.spec, "patients": a.patients, "seed": a.seed} for a in problem.also]}
                if problem.also
                else {}
            ),
            "evaluations": len(history),
            "loss": round(float(loss), 6),
            "oncoimmune": __version__,
            "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "note": (
                "Fitted by bounded Nelder-Mead on one virtual trial (common random numbers). Research and "
                "education software: a calibrated virtual population reproduces published trial figures; it "
                "is not evidence about any real patient."
            ),
        },
    }


def _journal_header(problem_name: str, digest: str) -> str:
    from oncoimmune import __version__

    header = {"journal": "oncoimmune calibrate", "problem": problem_name, "problem_sha256": digest}
    return json.dumps({**header, "oncoimmune": __version__}) + "\n"


def _open_journal(path: Path, digest: str, name: str) -> dict[str, tuple[float, dict[str, float]]]:
    """The evaluations a journal holds, by point, after checking that it is this problem's journal; a new
    journal (no file, an empty one, or one whose header was being written when the search stopped) gets
    its header. A last line cut short (the search killed while writing it) is dropped, from the file too,
    once the header has been checked, so the resumed search appends whole lines."""
    header_text = _journal_header(name, digest)
    not_journal = ValidationError("journal", "be a journal written by `oncoimmune calibrate`", str(path), name)
    if path.exists() and not path.is_file():
        raise ValidationError("journal", "be a file", str(path), name)
    text = ""
    if path.exists():
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise not_journal from None
    if "\n" not in text and header_text.startswith(text):  # nothing yet, or a header cut short
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header_text)
        return {}
    lines = text.split("\n")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        header = {}
    if not isinstance(header, dict) or header.get("journal") != "oncoimmune calibrate":
        raise not_journal
    if header.get("problem_sha256") != digest:
        raise ValidationError(
            "journal",
            f"belong to this problem (problem_sha256 {digest[:12]}...; a journal resumes the search it was "
            "written by, and an edited problem is another search)",
            f"{path}: {header.get('problem')}, problem_sha256 {str(header.get('problem_sha256'))[:12]}...",
            name,
        )
    out: dict[str, tuple[float, dict[str, float]]] = {}
    for i, ln in enumerate(lines[1:-1], start=2):
        try:
            row = json.loads(ln)
            figures = {str(k): math.nan if v is None else float(v) for k, v in row["figures"].items()}
            out[str(row["point"])] = (float(row["loss"]), figures)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise ValidationError("journal", "hold one evaluation per line (JSON)", f"{path}, line {i}", name) from None
    if lines[-1]:  # no final newline: the last line was being written when the search stopped
        path.write_text(text[: len(text) - len(lines[-1])])
    return out


def write_calibration(doc: Mapping[str, Any], path: str | Path) -> Path:
    """Write a calibration document as YAML, atomically (no half-written file on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        Path(tmp).write_text(
            "# Written by `oncoimmune calibrate`; see provenance at the end.\n"
            + yaml.safe_dump(json.loads(json.dumps(doc)), sort_keys=False, allow_unicode=True, width=110)
        )
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
