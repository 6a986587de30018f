"""Models as data: states, parameters with units and sources, variants, and one right-hand side.

The model contract
------------------
A model is one module in :mod:`oncoimmune.models` that defines a module-level ``MODEL`` of type
:class:`Model`. The model declares

* its states (name, unit, meaning, whether the engine may integrate it in log space);
* its parameters (name, default, unit, bounds, source: paper and table or equation);
* named variants (parameter sets and initial conditions from the literature);
* one right-hand side ``rhs(y, p, dy)`` written for a *single* patient, in plain Python that
  numba can compile: it must start by unpacking ``y`` and ``p`` in declaration order
  (``E, T, IL = y`` then ``c, mu2, ... = p``) and write every ``dy[k]``. It must not depend on
  time: time-varying inputs (doses, infusions) are handled by the engine, which restarts the
  integration at every event.

Adding a model is adding one file; :func:`registry` discovers it and the contract tests in
``tests/models/test_contract.py`` check it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import pkgutil
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from oncoimmune.errors import ModelDefinitionError, UnknownNameError, ValidationError

__all__ = ["DoseSlot", "Model", "Parameter", "State", "Variant", "get_model", "registry"]


@dataclass(frozen=True)
class State:
    """One state variable of a model.

    Parameters
    ----------
    name:
        Identifier used in tables and on the command line (ASCII).
    unit:
        Unit of the state, e.g. ``"cells"``, ``"IU/L"``, ``"mg/L"``.
    description:
        What the state is.
    log:
        Whether the engine may integrate ``ln(state)`` while the state is positive. Set it for
        populations subject to kill terms (they fall to 1e-30 ... 1e-300 where a linear-space
        solver goes negative); leave it off for states that are often exactly zero and only
        decay, such as drug amounts (they are still kept non-negative).
    """

    name: str
    unit: str
    description: str
    log: bool = True


@dataclass(frozen=True)
class Parameter:
    """One model parameter with its unit, admissible range and source.

    Parameters
    ----------
    name:
        ASCII transliteration of the symbol in the source (``mu2``, ``p1``, ``K_T``).
    value:
        Default value.
    unit:
        Unit string (``"1/day"``, ``"cells"``, ``"1/(cell*day)"``, ``"1"`` for dimensionless).
    source:
        Where the value comes from: paper, table or equation, or SBML file.
    bounds:
        Closed interval of admissible values used to validate user input.
    description:
        Meaning of the parameter.
    input:
        ``True`` for treatment inputs (``s1``, ``v_M``...) that schedules switch on and off.
    """

    name: str
    value: float
    unit: str
    source: str
    bounds: tuple[float, float] = (0.0, math.inf)
    description: str = ""
    input: bool = False


@dataclass(frozen=True)
class Variant:
    """A named parameter set (and optionally initial conditions) from the literature."""

    description: str
    parameters: Mapping[str, float] = field(default_factory=dict)
    init: Mapping[str, float] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class DoseSlot:
    """Where a model receives one class of drug: the states doses enter and the slot's PK parameters.

    The drug library fills a slot from a drug's ``qsp`` section (:mod:`oncoimmune.treatments`):
    its population-PK parameters go to ``pk`` (canonical name ``CL``, ``V1``, ``Q``, ``V2``,
    ``ka`` or ``F`` to model parameter), its exposure–effect parameters to ``<name><suffix>``
    (``KD`` + ``_PD1`` = ``KD_PD1``), and each administration to ``routes[route]``.

    Parameters
    ----------
    name:
        Slot name (``"PD1"``, ``"ch1"``).
    group:
        Interchangeable slots share a group (``"cytotoxic"``: ``ch1``, ``ch2``); a drug file names
        the group and the first free slot of it is used.
    routes:
        Route (``"iv"``, ``"sc"``, ``"oral"``) to the state that receives the dose.
    unit:
        Amount unit of those states (``"mg"``, ``"IU"``, ``"cells"``).
    pk:
        Canonical PK parameter name to model parameter name.
    suffix:
        Suffix of the slot's exposure–effect parameters.
    description:
        What the slot represents.
    """

    name: str
    group: str
    routes: Mapping[str, str]
    unit: str
    pk: Mapping[str, str] = field(default_factory=dict)
    suffix: str = ""
    description: str = ""

    def __hash__(self) -> int:
        return hash((self.name, self.group))


@dataclass(frozen=True, eq=False)
class Model:
    """A published tumour–immune model declared as data.

    Parameters
    ----------
    name:
        Registry name, e.g. ``"kirschner_panetta_1998"``.
    title:
        Human-readable title.
    citation:
        Full reference of the source paper.
    states, parameters:
        Declarations, in the order the right-hand side unpacks them.
    init:
        Default initial conditions (state name to value) and ``init_source``, where they come from.
    rhs:
        ``rhs(y, p, dy)`` for one patient; see the module docstring.
    variants:
        Named parameter sets. ``default_variant`` (if not ``None``) is applied when the caller
        names none.
    extinction:
        Model-specific extinction thresholds (state name to threshold, in the state's unit)
        stated by the source, e.g. CARTmath sets any population below 1e-6 cells to zero.
    t_end:
        A sensible default simulation horizon in days.
    notes:
        Caveats and known discrepancies between sources.
    dose_slots:
        Where drugs of the library enter (:class:`DoseSlot`); empty for models dosed by state.
    patient:
        ``patient(covariates, overrides) -> (parameters, init, assumed)``: the model's reading of a patient's
        :class:`~oncoimmune.treatments.Covariates` (tumour biomarkers, burden), with the names of
        the covariates it had to assume; ``None`` if the model has no covariate model.
    outputs:
        ``outputs(y, p) -> {name: array}``: derived quantities (occupancies, concentrations,
        sum of diameters) from states ``y[..., n_states]`` and parameters ``p[..., n_parameters]``.
    """

    name: str
    title: str
    citation: str
    states: tuple[State, ...]
    parameters: tuple[Parameter, ...]
    init: Mapping[str, float]
    init_source: str
    rhs: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    variants: Mapping[str, Variant] = field(default_factory=dict)
    default_variant: str | None = None
    extinction: Mapping[str, float] = field(default_factory=dict)
    t_end: float = 100.0
    notes: str = ""
    dose_slots: tuple[DoseSlot, ...] = ()
    patient: Callable[[Any, Any], tuple[dict[str, float], dict[str, float], tuple[str, ...]]] | None = None
    outputs: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "variants", MappingProxyType(dict(self.variants)))
        object.__setattr__(self, "init", MappingProxyType(dict(self.init)))
        object.__setattr__(self, "extinction", MappingProxyType(dict(self.extinction)))
        object.__setattr__(self, "dose_slots", tuple(self.dose_slots))
        self._check_declaration()
        self._check_dose_slots()

    def _check_dose_slots(self) -> None:
        states = {s.name for s in self.states}
        params = {p.name for p in self.parameters}
        seen: set[str] = set()
        for slot in self.dose_slots:
            if slot.name in seen:
                raise ModelDefinitionError(f"model {self.name}: dose slot {slot.name!r} declared twice")
            seen.add(slot.name)
            for route, state in slot.routes.items():
                if state not in states:
                    raise ModelDefinitionError(
                        f"model {self.name}: dose slot {slot.name!r} routes {route!r} to unknown state {state!r}"
                    )
            for canonical, param in slot.pk.items():
                if param not in params:
                    raise ModelDefinitionError(
                        f"model {self.name}: dose slot {slot.name!r} maps {canonical!r} to unknown parameter {param!r}"
                    )

    def dose_slot(self, name: str) -> DoseSlot:
        """The dose slot called ``name`` (:class:`~oncoimmune.errors.UnknownNameError` otherwise)."""
        for slot in self.dose_slots:
            if slot.name == name:
                return slot
        raise UnknownNameError("slot", name, [s.name for s in self.dose_slots], f"model {self.name}")

    # -- declaration checks (the part of the contract that can be checked at import) --------
    def _check_declaration(self) -> None:
        where = f"model {self.name}"
        names = [s.name for s in self.states] + [p.name for p in self.parameters]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ModelDefinitionError(f"{where}: duplicate names {sorted(dup)}")
        for p in self.parameters:
            lo, hi = p.bounds
            if not (lo <= p.value <= hi):
                raise ModelDefinitionError(f"{where}: default {p.name}={p.value} outside bounds {p.bounds}")
            if not p.unit or not p.source:
                raise ModelDefinitionError(f"{where}: parameter {p.name} needs a unit and a source")
        for s in self.states:
            if not s.unit:
                raise ModelDefinitionError(f"{where}: state {s.name} needs a unit")
        if set(self.init) != set(self.state_names):
            raise ModelDefinitionError(f"{where}: init must give every state, got {sorted(self.init)}")
        for vname, var in self.variants.items():
            for k in var.parameters:
                if k not in self.parameter_names:
                    raise ModelDefinitionError(f"{where}: variant {vname} sets unknown parameter {k}")
            for k in var.init:
                if k not in self.state_names:
                    raise ModelDefinitionError(f"{where}: variant {vname} sets unknown state {k}")
        if self.default_variant is not None and self.default_variant not in self.variants:
            raise ModelDefinitionError(f"{where}: default_variant {self.default_variant} is not a variant")
        for k in self.extinction:
            if k not in self.state_names:
                raise ModelDefinitionError(f"{where}: extinction names unknown state {k}")
        self._check_rhs_unpacking()

    def _check_rhs_unpacking(self) -> None:
        """The rhs must unpack ``y`` and ``p`` in declaration order (guards against index slips)."""
        try:
            source = textwrap.dedent(inspect.getsource(self.rhs))
        except (OSError, TypeError):  # pragma: no cover - rhs defined where source is unavailable
            return
        fn = ast.parse(source).body[0]
        assert isinstance(fn, ast.FunctionDef)
        args = [a.arg for a in fn.args.args]
        if len(args) != 3:
            raise ModelDefinitionError(f"model {self.name}: rhs must take (y, p, dy), got {args}")
        unpacked: dict[str, list[str]] = {}
        for stmt in fn.body:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.value, ast.Name)
                and stmt.value.id in (args[0], args[1])
            ):
                tgt = stmt.targets[0]
                elts = tgt.elts if isinstance(tgt, ast.Tuple) else [tgt]
                unpacked[stmt.value.id] = [e.id if isinstance(e, ast.Name) else "?" for e in elts]
        want = {args[0]: list(self.state_names), args[1]: list(self.parameter_names)}
        for var, names in want.items():
            got = unpacked.get(var)
            if got is None:
                raise ModelDefinitionError(f"model {self.name}: rhs must unpack {var} as {', '.join(names)} = {var}")
            if [g.lower() for g in got] != [n.lower() for n in names]:
                raise ModelDefinitionError(
                    f"model {self.name}: rhs unpacks {var} as {got}, declaration order is {names}"
                )

    # -- convenience views ------------------------------------------------------------------
    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def n_states(self) -> int:
        return len(self.states)

    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    def state_index(self, name: str) -> int:
        try:
            return self.state_names.index(name)
        except ValueError:
            raise UnknownNameError("state", name, self.state_names, f"model {self.name}") from None

    def parameter_index(self, name: str) -> int:
        try:
            return self.parameter_names.index(name)
        except ValueError:
            raise UnknownNameError("parameter", name, self.parameter_names, f"model {self.name}") from None

    def parameter(self, name: str) -> Parameter:
        return self.parameters[self.parameter_index(name)]

    def _variant(self, variant: str | None) -> Variant | None:
        name = self.default_variant if variant is None else variant
        if name is None:
            return None
        if name == "default" and "default" not in self.variants:
            return None
        if name not in self.variants:
            raise UnknownNameError("variant", name, ["default", *self.variants], f"model {self.name}")
        return self.variants[name]

    def parameter_values(self, variant: str | None = None, **overrides: float) -> np.ndarray:
        """Parameter vector in declaration order, with a variant and overrides applied."""
        values = {p.name: p.value for p in self.parameters}
        var = self._variant(variant)
        if var is not None:
            values.update(var.parameters)
        for k, v in overrides.items():
            self.validate_parameter(k, v)
            values[k] = float(v)
        return np.array([values[n] for n in self.parameter_names], dtype=np.float64)

    def initial_values(self, variant: str | None = None, **overrides: float) -> np.ndarray:
        """Initial state vector in declaration order, with a variant and overrides applied."""
        values = dict(self.init)
        var = self._variant(variant)
        if var is not None:
            values.update(var.init)
        for k, v in overrides.items():
            self.validate_init(k, v)
            values[k] = float(v)
        return np.array([values[n] for n in self.state_names], dtype=np.float64)

    def validate_parameter(self, name: str, value: Any, where: str | None = None) -> float:
        par = self.parameter(name)
        v = _as_float(name, value, where)
        lo, hi = par.bounds
        if not (lo <= v <= hi):
            raise ValidationError(name, f"lie in [{lo:g}, {hi:g}] ({par.unit})", value, where)
        return v

    def validate_init(self, name: str, value: Any, where: str | None = None) -> float:
        self.state_index(name)
        v = _as_float(f"init.{name}", value, where)
        if v < 0 or math.isinf(v):
            raise ValidationError(f"init.{name}", "be finite and >= 0", value, where)
        return v

    def rhs_numpy(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Evaluate the right-hand side in plain Python (for tests and cross-checks)."""
        dy = np.zeros(self.n_states)
        self.rhs(np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64), dy)
        return dy

    def __repr__(self) -> str:
        return f"<Model {self.name}: {', '.join(self.state_names)}>"


def _as_float(name: str, value: Any, where: str | None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValidationError(name, "be a number", value, where) from None
    if math.isnan(v):
        raise ValidationError(name, "be a number (not NaN)", value, where)
    return v


_REGISTRY: dict[str, Model] | None = None


def registry() -> Mapping[str, Model]:
    """All models shipped in :mod:`oncoimmune.models`, by registry name.

    Discovery imports every public module of the package and collects its ``MODEL``.
    """
    global _REGISTRY
    if _REGISTRY is None:
        import oncoimmune.models as pkg

        found: dict[str, Model] = {}
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{pkg.__name__}.{info.name}")
            model = getattr(module, "MODEL", None)
            if isinstance(model, Model):
                if model.name in found:
                    raise ModelDefinitionError(f"two models are named {model.name}")
                found[model.name] = model
        _REGISTRY = dict(sorted(found.items()))
    return MappingProxyType(_REGISTRY)


def get_model(name: str | Model) -> Model:
    """Return a registered model by name (a :class:`Model` passes through)."""
    if isinstance(name, Model):
        return name
    models = registry()
    if name not in models:
        raise UnknownNameError("model", name, list(models))
    return models[name]
