"""Simulation results: trajectories or streamed reductions, a status per patient, provenance."""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oncoimmune.errors import UnknownNameError, ValidationError
from oncoimmune.solve._status import Status

__all__ = ["Final", "Max", "Min", "Reduction", "SimulationResult", "TimeBelow"]


@dataclass(frozen=True)
class Reduction(ABC):
    """A per-patient summary computed chunk by chunk, so that memory stays bounded.

    Reductions are evaluated on the output grid (``times``): ask for a finer grid for a finer
    minimum or time below a threshold.
    """

    state: str

    @abstractmethod
    def compute(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Reduce trajectories ``x`` (patients, times) on the grid ``t`` to one value per patient."""


@dataclass(frozen=True)
class Final(Reduction):
    """Value of ``state`` at the last output time."""

    def compute(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        return x[:, -1].copy()


@dataclass(frozen=True)
class Min(Reduction):
    """Minimum of ``state`` over the output grid (NaN for a failed patient)."""

    def compute(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.min(x, axis=1)


@dataclass(frozen=True)
class Max(Reduction):
    """Maximum of ``state`` over the output grid (NaN for a failed patient)."""

    def compute(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.max(x, axis=1)


@dataclass(frozen=True)
class TimeBelow(Reduction):
    """Days spent with ``state < threshold``, with crossings located by linear interpolation."""

    threshold: float = 1.0

    def compute(self, t: np.ndarray, x: np.ndarray) -> np.ndarray:
        a, b = x[:, :-1], x[:, 1:]
        dt = np.diff(t)[None, :]
        below_a, below_b = a < self.threshold, b < self.threshold
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            frac = np.where(
                below_a & below_b,
                1.0,
                np.where(
                    below_a ^ below_b,
                    np.where(below_a, (self.threshold - a) / (b - a), (b - self.threshold) / (b - a)),
                    0.0,
                ),
            )
        out = np.sum(frac * dt, axis=1)
        out[np.isnan(x).any(axis=1)] = np.nan
        return out


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """What :func:`oncoimmune.simulate` returns.

    Attributes
    ----------
    t:
        Output times (days), shape ``(T,)``.
    y:
        States at the output times, shape ``(patients, T, states)``; ``None`` when only
        reductions were requested. After a patient's failure time the values are NaN.
    state_names, state_units:
        Names and units of the states, in the order of the last axis of ``y``.
    patient_ids:
        One id per patient.
    status:
        :class:`~oncoimmune.Status` code per patient (``int8``).
    n_steps, n_rejected, n_rhs:
        Accepted steps, rejected steps and right-hand-side evaluations per patient.
    reductions:
        Requested reductions by name, each shape ``(patients,)``.
    provenance:
        Package and solver versions, model, variant, parameters, regimen and tolerances.
    """

    model: str
    t: np.ndarray
    y: np.ndarray | None
    state_names: tuple[str, ...]
    state_units: tuple[str, ...]
    patient_ids: np.ndarray
    status: np.ndarray
    n_steps: np.ndarray
    n_rejected: np.ndarray
    n_rhs: np.ndarray
    reductions: Mapping[str, np.ndarray] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_patients(self) -> int:
        return int(self.status.shape[0])

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the patients that integrated to the end."""
        return self.status == Status.OK

    @property
    def statuses(self) -> list[Status]:
        return [Status(int(s)) for s in self.status]

    def status_counts(self) -> dict[str, int]:
        """Number of patients per status label, e.g. ``{"ok": 998, "max_steps": 2}``."""
        values, counts = np.unique(self.status, return_counts=True)
        return {Status(int(v)).label: int(c) for v, c in zip(values, counts, strict=True)}

    def __getitem__(self, state: str) -> np.ndarray:
        """Trajectories of one state, shape ``(patients, T)``."""
        if self.y is None:
            raise ValidationError("state", "be read from a result that kept trajectories (reduce=None)", state)
        if state not in self.state_names:
            raise UnknownNameError("state", state, self.state_names, f"result of {self.model}")
        return self.y[:, :, self.state_names.index(state)]

    def to_frame(self):
        """Tidy table: ``patient_id``, ``time``, one column per state, ``status``."""
        import pandas as pd

        if self.y is None:
            data = {"patient_id": self.patient_ids, **{k: v for k, v in self.reductions.items()}}
            data["status"] = [Status(int(s)).label for s in self.status]
            return pd.DataFrame(data)
        n_p, n_t, _ = self.y.shape
        data: dict[str, Any] = {
            "patient_id": np.repeat(self.patient_ids, n_t),
            "time": np.tile(self.t, n_p),
        }
        for k, name in enumerate(self.state_names):
            data[name] = self.y[:, :, k].reshape(-1)
        labels = np.array([Status(int(s)).label for s in self.status], dtype=object)
        data["status"] = np.repeat(labels, n_t)
        return pd.DataFrame(data)

    # -- save / load ------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the tidy table to ``.csv`` or ``.parquet`` (provenance in the Parquet metadata
        and in a ``.provenance.json`` file beside a CSV). Written to a temporary file first, so
        an interrupted write leaves nothing half-written."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise ValidationError("out", "end in .csv or .parquet", str(path))
        frame = self.to_frame()
        meta = json.dumps(self._meta(), default=_json_default)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            if suffix == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"oncoimmune": meta.encode()})
                pq.write_table(table, tmp)
            else:
                frame.to_csv(tmp, index=False, float_format="%.17g")
                prov = path.with_name(path.name + ".provenance.json")
                prov.write_text(meta, encoding="utf-8")
            tmp.replace(path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    def _meta(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "state_names": list(self.state_names),
            "state_units": list(self.state_units),
            "n_steps": self.n_steps.tolist(),
            "n_rejected": self.n_rejected.tolist(),
            "n_rhs": self.n_rhs.tolist(),
            "provenance": self.provenance,
        }

    @classmethod
    def load(cls, path: str | Path) -> SimulationResult:
        """Read a result written by :meth:`save` (trajectory tables only)."""
        import pandas as pd

        path = Path(path)
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            meta = json.loads(table.schema.metadata[b"oncoimmune"])
            frame = table.to_pandas()
        else:
            frame = pd.read_csv(path, float_precision="round_trip")  # exact 17-digit round trip
            meta = json.loads(path.with_name(path.name + ".provenance.json").read_text(encoding="utf-8"))
        names = tuple(meta["state_names"])
        ids = pd.unique(frame["patient_id"])
        n_p = len(ids)
        t = frame["time"].to_numpy()[: len(frame) // n_p]
        y = np.stack([frame[s].to_numpy(dtype=float).reshape(n_p, -1) for s in names], axis=-1)
        labels = frame["status"].to_numpy().reshape(n_p, -1)[:, 0]
        status = np.array([Status[str(lbl).upper()] for lbl in labels], dtype=np.int8)
        return cls(
            model=meta["model"],
            t=t,
            y=y,
            state_names=names,
            state_units=tuple(meta["state_units"]),
            patient_ids=np.asarray(ids),
            status=status,
            n_steps=np.array(meta["n_steps"]),
            n_rejected=np.array(meta["n_rejected"]),
            n_rhs=np.array(meta["n_rhs"]),
            provenance=meta["provenance"],
        )

    def __repr__(self) -> str:
        shape = "reductions only" if self.y is None else f"{len(self.t)} times"
        return f"<SimulationResult {self.model}: {self.n_patients} patients, {shape}, {self.status_counts()}>"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
