"""Calibrations: population parameter distributions and a death model fitted to a published trial.

A calibration is a YAML file (shipped ones in ``CALIBRATION_DIR``; ``oncoimmune calibrate`` writes
new ones) with

* ``parameters``: ``{name: {median, omega} | {value}}``, the model parameters that vary between
  virtual patients beyond their covariates (:class:`~oncoimmune.population.ParameterDistribution`),
  each with unit, source and flag;
* ``plausible``: ``{name: {lower, upper}}``, ranges of the resulting parameters outside which a
  patient's varying parameters are redrawn (:func:`~oncoimmune.population.draw_plausible`);
* ``death_model``: options of :class:`~oncoimmune.trial.DeathModel`;
* ``new_lesions`` (optional): options of :class:`~oncoimmune.trial.NewLesionModel`;
* ``residual_mass`` (optional): options of :class:`~oncoimmune.trial.ResidualMassModel`;
* ``targets``: the published figures it was fitted to, with their tolerances;
* ``provenance``: the command, seed, number of patients, loss, package version and date.

A trial spec names one with ``calibration:``; the spec's own ``population.parameters`` and
``death_model``, ``new_lesions`` and ``residual_mass`` entries override the calibration's, key by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oncoimmune._validate import read_yaml
from oncoimmune.errors import UnknownNameError, ValidationError

__all__ = [
    "CALIBRATION_DIR",
    "DEFAULT_CALIBRATIONS",
    "Calibration",
    "calibrations",
    "load_calibration",
    "resolve_new_lesions",
    "resolve_population",
    "resolve_residual_mass",
]

CALIBRATION_DIR = Path(__file__).resolve().parent / "calibrations"
"""Calibrations shipped with the package."""

DEFAULT_CALIBRATIONS: dict[str, str] = {"melanoma": "checkmate067", "lbcl": "zuma1", "nsclc": "keynote024"}
"""The calibration ``oncoimmune predict`` uses for a tumour type (others run on the model defaults)."""

_KEYS = (
    "name",
    "description",
    "model",
    "tumour_type",
    "parameters",
    "plausible",
    "death_model",
    "new_lesions",
    "residual_mass",
    "targets",
    "provenance",
)


@dataclass(frozen=True)
class Calibration:
    """A loaded calibration (see the module docstring)."""

    name: str
    model: str
    tumour_type: str | None
    parameters: dict[str, Any]
    death_model: dict[str, Any]
    plausible: dict[str, Any] = field(default_factory=dict)
    new_lesions: dict[str, Any] = field(default_factory=dict)
    residual_mass: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    path: Path | None = None


def calibrations() -> list[str]:
    """Names of the shipped calibrations."""
    return sorted(p.stem for p in CALIBRATION_DIR.glob("*.yaml"))


def _deep_update(base: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in new.items():
        out[k] = _deep_update(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def load_calibration(name_or_path: str | Path) -> Calibration:
    """A shipped calibration by name (``checkmate067``) or a calibration YAML by path, validated."""
    from oncoimmune.models._base import get_model
    from oncoimmune.population._parameters import check_parameter_set, check_plausible_ranges
    from oncoimmune.trial._lesions import NewLesionModel, ResidualMassModel
    from oncoimmune.trial._survival import DeathModel

    text = str(name_or_path)
    shipped = CALIBRATION_DIR / f"{text}.yaml"
    if shipped.is_file():
        path = shipped
    elif text.endswith((".yaml", ".yml")) and Path(text).is_file():
        path = Path(text)
    else:
        raise UnknownNameError("calibration", text, [*calibrations(), "a path to a calibration .yaml"])
    data = read_yaml(path, "calibration")
    where = path.name
    if not isinstance(data, Mapping):
        raise ValidationError("calibration", "be a mapping with parameters and death_model", data, where)
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ValidationError(unknown[0], f"be one of {list(_KEYS)}", data[unknown[0]], where)
    model = get_model(data.get("model", "io_qsp"))
    params = check_parameter_set(model, data.get("parameters") or {}, "parameters")
    plausible = check_plausible_ranges(model, data.get("plausible") or {}, "plausible")
    death = dict(data.get("death_model") or {})
    DeathModel.from_mapping(death, where=f"{where} death_model")
    new_lesions = data.get("new_lesions") or {}
    if not isinstance(new_lesions, Mapping):
        raise ValidationError("new_lesions", "be a mapping of NewLesionModel options", new_lesions, where)
    NewLesionModel.from_mapping(new_lesions, where=f"{where} new_lesions")
    residual = data.get("residual_mass") or {}
    if not isinstance(residual, Mapping):
        raise ValidationError("residual_mass", "be a mapping of ResidualMassModel options", residual, where)
    ResidualMassModel.from_mapping(residual, where=f"{where} residual_mass")
    return Calibration(
        name=str(data.get("name", path.stem)),
        model=model.name,
        tumour_type=data.get("tumour_type"),
        parameters=params,
        plausible=plausible,
        death_model=death,
        new_lesions=dict(new_lesions),
        residual_mass=dict(residual),
        targets=list(data.get("targets") or []),
        provenance=dict(data.get("provenance") or {}),
        description=str(data.get("description", "")),
        path=path,
    )


def check_calibration_fits(
    cal: Calibration, tumour_type: str, model: str, field: str, value: str, where: str | None = None
) -> None:
    """Raise a ValidationError naming ``field`` (given as ``value``) unless ``cal`` is of ``tumour_type`` (or of
    none) and of ``model``."""
    if cal.tumour_type and cal.tumour_type != tumour_type:
        raise ValidationError(
            field,
            f"be a calibration of {tumour_type} (population.tumour_type), not of {cal.tumour_type}",
            value,
            where,
        )
    if cal.model != model:
        raise ValidationError(field, f"be a calibration of model {model}", value, where)


def resolve_population(spec: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Calibration | None]:
    """Effective ``(parameter distributions, plausible ranges, death-model options, calibration)`` of a
    trial spec: the calibration's, overridden key by key by the spec's ``population.parameters``,
    ``population.plausible`` and ``death_model``."""
    from oncoimmune.models._base import get_model
    from oncoimmune.population._parameters import check_parameter_set, check_plausible_ranges

    model = get_model(spec.model)
    cal = load_calibration(spec.calibration) if spec.calibration else None
    params = dict(cal.parameters) if cal else {}
    params.update(spec.population.parameters)
    params = check_parameter_set(model, params, "population.parameters")
    plausible = dict(cal.plausible) if cal else {}
    plausible.update(spec.population.plausible)
    plausible = check_plausible_ranges(model, plausible, "population.plausible")
    death = _deep_update(cal.death_model if cal else {}, spec.death_model)
    return params, plausible, death, cal


def resolve_new_lesions(spec: Any, cal: Calibration | None) -> dict[str, Any]:
    """Effective new-lesion options of a trial spec: its calibration's ``new_lesions`` (``cal``, as
    :func:`resolve_population` loaded it) overridden key by key by the spec's (an empty mapping: no new
    lesions)."""
    return _deep_update(cal.new_lesions if cal else {}, spec.new_lesions)


def resolve_residual_mass(spec: Any, cal: Calibration | None) -> dict[str, Any]:
    """Effective residual-mass options of a trial spec: its calibration's ``residual_mass`` overridden key by
    key by the spec's (an empty mapping: no residual mass)."""
    return _deep_update(cal.residual_mass if cal else {}, spec.residual_mass)
