"""Run a virtual clinical trial: population → randomisation → simulation → response, survival, tables.

:func:`run_trial` carries out a :class:`~oncoimmune.trial.TrialSpec`:

1. **Enrol.** ``spec.patients`` virtual patients of the tumour type are drawn
   (:func:`oncoimmune.population.sample_population`, seed ``spec.seed``); patient *i* is the same
   whatever the trial size.
2. **Randomise.** Permuted blocks of size ``sum(ratio)``, each block shuffled by its own seeded
   stream, so the allocation of patient *i* does not depend on the number of patients or workers.
3. **Treat.** Each arm's regimen is routed into the model for each patient
   (:func:`oncoimmune.simulate_treatment`) and integrated in chunks (bounded memory), with
   outputs every ``spec.output_every_days`` and at every scan day up to the longest follow-up.
   Dosing stops at progression and after ``treatment.max_months``; the side-effect layer's
   management (:mod:`oncoimmune.toxicity`) stops it at a permanent discontinuation, skips the
   doses held for an adverse event and gives the corticosteroid courses that treat it. Later
   passes re-simulate the patients whose treatment changed until it is consistent with their
   own progression and adverse events (:data:`MAX_MANAGEMENT_PASSES`).
4. **Read.** Scans (RECIST 1.1 or iRECIST, :func:`~oncoimmune.trial.assess_response`), deaths from
   tumour burden and background mortality (:func:`~oncoimmune.trial.draw_death_times`),
   follow-up with uniform accrual, PFS and OS (:func:`~oncoimmune.trial.survival_endpoints`), and
   per-arm summaries (Kaplan–Meier medians, landmark rates, hazard ratios, log-rank).

The result holds one row per patient and a JSON-ready summary; :meth:`TrialResult.write` writes
``patients.parquet`` and ``summary.json`` atomically. A patient whose simulation fails keeps a
status and is censored where its trajectory stops; the trial carries on. Research and education
software: a virtual trial is not evidence about real patients.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncoimmune.errors import ValidationError
from oncoimmune.population._parameters import PARAMETER_PREFIX
from oncoimmune.trial._spec import TrialSpec

__all__ = ["CHUNK_PATIENTS", "TrialResult", "run_trial"]

AE_FOLLOW_UP_DAYS = 100.0
"""Adverse events are collected up to this many days after the last dose (CheckMate and KEYNOTE
protocols report AEs to 100 days after the last dose for serious events and 30 days for others, R;
oncoimmune.toxicity's background symptoms accrue only inside this window)."""

MAX_MANAGEMENT_PASSES = 8
"""Most simulations of one patient: a first pass, then re-simulations while the treatment changes
(stop at progression, permanent discontinuation, held doses, corticosteroid courses). Patients still
changing after it are counted in the summary's provenance (``management.unsettled``)."""

CHUNK_PATIENTS = 1000
"""Patients integrated per engine call (memory stays bounded whatever the trial size)."""

_OUTPUT_KEYS = ("sld_mm", "tumour_cells")
_TOXICITY_KEYS = (
    "occupancy_PD1",
    "occupancy_PDL1",
    "conc_CTLA4",
    "conc_IL2_nM",
    "conc_IFN_IU_per_mL",
    "cytotoxic_kill_lymphocytes",
    "targeted_effect",
    "car_t_per_uL",
    "cumulative_cytotoxic",
    "cumulative_IL-2",
    "cumulative_IFN-alpha",
)
"""Model outputs the side-effect layer reads (oncoimmune.toxicity)."""


@dataclass(frozen=True)
class TrialResult:
    """A finished virtual trial.

    Attributes
    ----------
    spec:
        The spec that was run (with any command-line overrides).
    patients:
        One row per patient: ``patient_id``, ``arm``, the covariates, ``best_overall_response``,
        ``best_percent_change``, ``pfs_days``, ``pfs_event``, ``os_days``, ``os_event``,
        ``cancer_death``, ``solver_status``, and with side effects on, ``car_t_peak_per_uL`` and the
        adverse-event columns.
    summary:
        ``{"arms": {ARM: {...}}, "provenance": {...}}`` (rates as fractions 0–1, times in months).
    trajectories:
        Per arm, the simulated times and sums of diameters of the analysed patients (for waterfall and
        spider plots).
    """

    spec: TrialSpec
    patients: pd.DataFrame
    summary: dict[str, Any]
    trajectories: dict[str, dict[str, np.ndarray]]

    def write(self, out: str | Path, *, report: bool = True) -> list[Path]:
        """Write ``patients.parquet``, ``summary.json`` and (``report=True``) ``report.html`` with its
        figures (:func:`oncoimmune.trial.write_report`) into directory ``out``, each atomically."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, writer in (
            ("patients.parquet", lambda p: self.patients.to_parquet(p, index=False)),
            ("summary.json", lambda p: p.write_text(json.dumps(self.summary, indent=2, allow_nan=False) + "\n")),
        ):
            target = out / name
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
            os.close(fd)
            try:
                writer(Path(tmp))
                os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            written.append(target)
        if report:
            from oncoimmune.trial._report import write_report

            written += write_report(self, out)
        return written


def _allocate(n: int, ratios: list[int], seed: int) -> np.ndarray:
    """Arm index per patient by permuted blocks; block b is shuffled by its own seeded stream."""
    from oncoimmune.trial._survival import patient_generators

    labels = np.repeat(np.arange(len(ratios)), ratios)
    size = labels.size
    n_blocks = -(-n // size)
    gens = patient_generators(seed, np.arange(n_blocks), "randomisation")
    return np.concatenate([g.permutation(labels) for g in gens])[:n]


def _json_number(x: Any) -> Any:
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items() if k != "km"}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return _json_number(obj)


@dataclass
class _ArmRun:
    """One arm's simulation state: outputs of every patient, re-simulated in place in later passes."""

    spec: TrialSpec
    model: Any
    arm: Any
    idx: np.ndarray
    sub: pd.DataFrame
    covs: list[Any]
    grid: np.ndarray
    scan_days: np.ndarray
    scan_pos: np.ndarray
    criteria: Any
    death_model: Any
    follow: np.ndarray
    workers: int | None
    progress: Callable[[str, int, int], None] | None
    params: list[dict[str, float]] | None = None
    new_lesions: Any = None
    residual: Any = None
    withhold: list[tuple] = field(default_factory=list)
    extra: list[Any] = field(default_factory=list)
    outs: dict[str, np.ndarray] = field(default_factory=dict)
    status: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    done: int = 0
    total: int = 0

    def simulate(self, stop_days: np.ndarray, rows: np.ndarray) -> None:
        """(Re-)simulate ``rows`` of the arm with dosing up to ``stop_days``, in bounded chunks."""
        from oncoimmune.treatments._doses import Regimen
        from oncoimmune.treatments._plan import simulate_treatment

        keys = self.keys
        if not self.outs:
            self.outs = {key: np.full((self.idx.size, self.sim_grid.size), np.nan) for key in keys}
            self.status = np.zeros(self.idx.size, dtype=np.int8)
        regimen = Regimen(()) if self.arm.untreated else Regimen.parse(self.arm.regimen)
        if not self.withhold:
            self.withhold = [()] * self.idx.size
            self.extra = [None] * self.idx.size
        self.total += rows.size
        for lo in range(0, rows.size, CHUNK_PATIENTS):
            chunk = rows[lo : lo + CHUNK_PATIENTS]
            res = simulate_treatment(
                self.model,
                regimen,
                [self.covs[i] for i in chunk],
                self.sim_grid,
                workers=self.workers,
                dose_until=stop_days[chunk],
                params=None if self.params is None else [self.params[i] for i in chunk],
                withhold=[self.withhold[i] for i in chunk],
                extra_doses=[self.extra[i] for i in chunk],
                oral_input=self.spec.treatment.oral_input,
                **self.solver_options,
            )
            out = res.outputs()
            for key in keys:
                self.outs[key][chunk] = out[key]
            self.status[chunk] = res.result.status
            self.done += chunk.size
            if self.progress is not None:
                self.progress(self.arm.name, self.done, self.total)

    @property
    def keys(self) -> tuple[str, ...]:
        return _OUTPUT_KEYS + (_TOXICITY_KEYS if self.spec.toxicity.enabled else ())

    def toxicity(self, regimen_classes: tuple[str, ...], stop_days: np.ndarray, on_until: np.ndarray) -> Any:
        """Side effects of the current trajectories (oncoimmune.toxicity), with management if the spec asks.

        Background (placebo-rate) symptoms are collected from the first dose to
        :data:`AE_FOLLOW_UP_DAYS` after each patient's last dose (dosing stopped at ``stop_days``), as
        trials collect adverse events; drug-driven events follow the exposures, which end with the drug.
        ``on_until`` is the day each patient's treatment ends for reasons other than adverse events
        (progression, the maximum duration, the end of follow-up): a drug class is on treatment until the
        earlier of that day and its course's last dose (ipilimumab's fourth), and an adverse event that
        starts later holds or discontinues nothing of it (:func:`oncoimmune.toxicity.manage`).
        """
        from oncoimmune.toxicity import simulate_toxicity

        bad = self.status != 0
        outs = {k: np.where(bad[:, None], 0.0, self.outs[k]) for k in _TOXICITY_KEYS}
        end = float(self.grid[-1])
        days, checkpoint_days = self.study_days
        last = np.array([days[days <= s].max() if np.any(days <= s) else 0.0 for s in stop_days])
        window = np.stack([np.zeros(self.idx.size), np.minimum(last + AE_FOLLOW_UP_DAYS, end)], axis=1)
        return simulate_toxicity(
            outs,
            self.sim_grid,
            seed=self.spec.seed,
            drug_classes=list(regimen_classes),
            management=self.spec.toxicity.management,
            patient_ids=self.idx,
            window=window,
            treatment_end=last,
            rechallenge_days=checkpoint_days,
            course=self.finite_courses,
            off_treatment_day=on_until,
            checkpoint_label=self.spec.toxicity.checkpoint_label,
        )

    @cached_property
    def study_days(self) -> tuple[np.ndarray, np.ndarray]:
        """Planned days of study treatment (every dose and matched-placebo infusion) and of checkpoint doses,
        sorted; empty for an untreated arm. The same for every patient and pass."""
        from oncoimmune.toxicity._management import CHECKPOINT

        if self.arm.untreated or self.idx.size == 0:
            return np.zeros(0), np.zeros(0)
        adms = self.administrations()
        days = {a.time_days for a in adms}
        if self.arm.placebo_every_weeks:  # matched placebo infusions keep the patient on study treatment
            days |= set(np.arange(0.0, float(self.grid[-1]) + 1e-9, 7.0 * self.arm.placebo_every_weeks).tolist())
        checkpoint = {a.time_days for a in adms if self.drug_class.get(a.drug) in CHECKPOINT}
        return np.array(sorted(days)), np.array(sorted(checkpoint))

    @cached_property
    def finite_courses(self) -> dict[str, tuple[float, float]]:
        """``(first, last)`` dose days of each drug class of the arm given as a finite course: one whose
        doses end before the end of the grid and before the maximum duration (ipilimumab's four doses);
        its last dose ends its treatment (:func:`oncoimmune.toxicity.manage`). A conditioning course
        before a CAR-T infusion lasts until the infusion: an adverse event before it still stops the
        regimen, and the cells are not given. The same for every patient and pass."""
        from oncoimmune.treatments._doses import Regimen

        if self.arm.untreated or self.idx.size == 0:
            return {}
        cap = min(float(self.grid[-1]), (self.spec.treatment.max_months or np.inf) * 365.25 / 12.0)
        later = Regimen.parse(self.arm.regimen).administrations(self.covs[0], float(self.grid[-1]) + 365.0)
        cart = [a.time_days for a in later if self.drug_class.get(a.drug) == "CAR-T"]
        course: dict[str, tuple[float, float]] = {}
        for c in {self.drug_class.get(a.drug) for a in self.administrations()} - {None, "CAR-T"}:
            d = [a.time_days for a in later if self.drug_class.get(a.drug) == c]
            if max(d) < cap:
                course[c] = (min(d), max([*d, *cart]))
        return course

    @cached_property
    def sim_grid(self) -> np.ndarray:
        """The output grid of the simulation: the trial grid plus a point :data:`PRE_DOSE_DAYS` before
        each planned administration of the arm's drugs.

        The side-effect layer interpolates exposures between output points; with a point just before
        each dose that may be held or stopped, the exposures before a held or stopped dose do not
        depend on whether it is given, so the onset of an adverse event (and the management it starts)
        depends on the past only, which the later passes rely on. Drugs the management never holds
        (:attr:`never_held`) are included: a permanent discontinuation still stops their remaining
        doses (the later doses of an IL-2 course). Daily and twice-daily tablets get their points
        too: without them a hold starting between two output points changed the exposure at the
        next point, and with it the onset that started the hold, and a third of the patients of a
        two-year BRAF/MEK arm did not settle in eight passes (with them all settle, in fewer passes,
        for a grid of about 1,500 points).
        """
        if self.arm.untreated or self.idx.size == 0:
            return self.grid
        adms = self.administrations()
        pre = np.array(sorted({a.time_days for a in adms}), dtype=float) - PRE_DOSE_DAYS
        return np.union1d(self.grid, pre[(pre > self.grid[0]) & (pre < self.grid[-1])])

    @cached_property
    def drug_class(self) -> dict[str, str | None]:
        """Each drug of the arm's regimen to its side-effect class (``None``: none)."""
        return {} if self.arm.untreated else _drug_classes(self.arm.regimen)

    @cached_property
    def never_held(self) -> frozenset[str]:
        """Drugs of the arm whose doses the management does not hold (:func:`_never_held`)."""
        return frozenset() if self.arm.untreated else _never_held(self.drug_class)

    @cached_property
    def solver_options(self) -> dict[str, Any]:
        """Absolute tolerances and step budget of the arm, the same for every patient and pass (so a
        patient's result does not depend on which patients are simulated with it): the arm's regimen
        and, in a model with corticosteroid slots, the largest course of each corticosteroid."""
        from oncoimmune.toxicity._management import steroid_course
        from oncoimmune.treatments._doses import Regimen
        from oncoimmune.treatments._plan import STEPS_PER_ADMINISTRATION, _dose_scaled_atol

        doses = () if self.arm.untreated else Regimen.parse(self.arm.regimen).doses
        if any(slot.group == "corticosteroid" for slot in self.model.dose_slots):
            doses += steroid_course(0.0, 42.0, "high") + steroid_course(0.0, 7.0, "dexamethasone")
        atol, n_events = _dose_scaled_atol(self.model, Regimen(doses), float(self.grid[-1]))
        return {"atol": atol, "max_steps": max(100_000, STEPS_PER_ADMINISTRATION * n_events)}

    @cached_property
    def base_pos(self) -> np.ndarray:
        """Positions of the trial grid in :attr:`sim_grid`."""
        return np.searchsorted(self.sim_grid, self.grid)

    def administrations(self) -> tuple[Any, ...]:
        """The arm's administrations up to the end of the grid. Their days do not depend on the patient
        (doses per kg or m2 change amounts only), so the first patient's serve the arm."""
        from oncoimmune.treatments._doses import Regimen

        return Regimen.parse(self.arm.regimen).administrations(self.covs[0], float(self.grid[-1]))

    def analysed(self, stop_days: np.ndarray, death_days: np.ndarray) -> np.ndarray:
        """Patients the arm's figures count (``spec.analysis``): all, or those given a first dose (of
        ``treated_with``) on or before their last dosing day and before death."""
        if self.spec.analysis.population == "randomised":
            return np.ones(self.idx.size, dtype=bool)
        from oncoimmune.treatments._prescription import resolve_drug

        want = self.spec.analysis.treated_with
        drug = None if want is None else resolve_drug(want).name
        first = min((a.time_days for a in self.administrations() if drug in (None, a.drug)), default=np.inf)
        return (first <= stop_days) & (first < death_days)

    def measured_sld(self) -> np.ndarray:
        """Sums of diameters as imaging reads them on the base grid: the model's ``sld_mm`` with the
        residual mass of :class:`oncoimmune.trial.ResidualMassModel` added when the trial has one."""
        sld = self.outs["sld_mm"][:, self.base_pos]
        if self.residual is None:
            return sld
        return self.residual.apply(self.grid, sld, seed=self.spec.seed, patient_index=self.idx)

    def read(self) -> tuple[np.ndarray, Any, Any]:
        """Failed patients, death draws and the response reading of the current trajectories."""
        from oncoimmune.solve._status import Status
        from oncoimmune.trial._lesions import draw_new_lesion_days
        from oncoimmune.trial._recist import assess_response
        from oncoimmune.trial._survival import draw_death_times

        bad = self.status != int(Status.OK)
        at = self.base_pos
        cells = np.where(bad[:, None], np.nan, self.outs["tumour_cells"][:, at])  # failed: censored, not evaluable
        sld = np.where(bad[:, None], np.nan, self.measured_sld())
        seed = self.spec.seed
        deaths = draw_death_times(
            self.grid,
            cells,
            age_years=self.sub["age_years"].to_numpy(float),
            sex=self.sub["sex"].to_numpy(str),
            seed=seed,
            model=self.death_model,
            patient_index=self.idx,
        )
        new_days, new_mm = None, 10.0
        if self.new_lesions is not None:
            new_days = draw_new_lesion_days(self.grid, cells, seed=seed, model=self.new_lesions, patient_index=self.idx)
            new_mm = self.new_lesions.lesion_mm
        resp = assess_response(
            sld[:, self.scan_pos],
            self.scan_days,
            n_lesions=self.sub["n_lesions"].to_numpy(int),
            criteria=self.criteria,
            seed=seed,
            patient_index=self.idx,
            off_study_day=np.minimum(deaths.day, self.follow),
            new_lesion_days=new_days,
            new_lesion_mm=new_mm,
        )
        return bad, deaths, resp


def _drug_classes(regimen: str) -> dict[str, str | None]:
    """Each drug of a regimen to its side-effect class (``None`` for a drug without one)."""
    from oncoimmune.toxicity import drug_classes_of
    from oncoimmune.treatments._doses import Regimen
    from oncoimmune.treatments._prescription import DrugDose

    out: dict[str, str | None] = {}
    for d in Regimen.parse(regimen).doses:
        if isinstance(d, DrugDose) and d.drug not in out:
            classes = drug_classes_of(Regimen((d,)))
            out[d.drug] = classes[0] if classes else None
    return out


PRE_DOSE_DAYS = 1e-6
"""How long before each planned dose the simulation reports the state (see ``_ArmRun.sim_grid``)."""

SAME_DAY_TOLERANCE = 1e-6
"""Days within which two stop, hold or steroid times are the same treatment. Adding a dose at an
onset day changes the solver's steps before it by round-off, which moves the onset in its last bits;
without a tolerance the iteration could chase that noise."""


def _close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= SAME_DAY_TOLERANCE


def _same_treatment(a: tuple, b: tuple) -> bool:
    """Whether two (stop day, withhold windows, extra doses) describe the same treatment."""
    (stop_a, w_a, x_a), (stop_b, w_b, x_b) = a, b
    if not _close(stop_a, stop_b) or len(w_a) != len(w_b) or (x_a is None) != (x_b is None):
        return False
    for (lo_a, hi_a, d_a, f_a), (lo_b, hi_b, d_b, f_b) in zip(w_a, w_b, strict=True):
        if d_a != d_b or f_a != f_b or not _close(lo_a, lo_b) or not _close(hi_a, hi_b):
            return False
    if x_a is None:
        return True
    if len(x_a.doses) != len(x_b.doses):
        return False
    return all(
        _close(p.start, q.start) and dataclasses.replace(p, start=q.start) == q
        for p, q in zip(x_a.doses, x_b.doses, strict=True)
    )


def _never_held(classes: dict[str, str | None]) -> frozenset[str]:
    """Drugs of a regimen (its ``drug -> side-effect class`` map) whose doses the management does not
    hold (a permanent discontinuation still stops them): CAR-T products and their lymphodepletion, and
    high-dose IL-2.

    IL-2 is held dose by dose in the clinic: a dose is skipped for a toxicity that resolves within
    hours of stopping the drug, and patients receive about 20-24 of the 28 doses of a course
    (aldesleukin.yaml, R). The side-effect layer's hold lasts until the episode resolves, with
    durations of weeks fitted to checkpoint-inhibitor irAEs, which would cancel the rest of a course;
    the per-dose holds are not modelled, and the Atkins 1999 spec gives every dose.
    """
    from oncoimmune.treatments import get_drug

    return frozenset(
        d for d, c in classes.items() if get_drug(d).drug_class in ("car_t", "lymphodepletion") or c == "IL-2"
    )


def _managed_treatment(
    tox: Any, drug_class: dict[str, str | None], steroids: bool, never_held: frozenset[str]
) -> tuple[list, list]:
    """Per patient, the withheld- and reduced-dose windows and the corticosteroid doses of its management
    actions (:func:`oncoimmune.toxicity._management.feedback`); ``None`` where no steroid is given."""
    from oncoimmune.toxicity._management import feedback
    from oncoimmune.treatments._doses import Regimen

    actions = tox.actions
    by_patient: dict[int, list[dict]] = {}
    for rec in actions.to_dict("records"):
        by_patient.setdefault(int(rec["patient"]), []).append(rec)
    withhold: list[tuple] = []
    extra: list[Any] = []
    for i in range(tox.n_patients):
        w, doses = feedback(by_patient.get(i, []), drug_class, steroids=steroids, never_held=never_held)
        withhold.append(w)
        extra.append(Regimen(doses) if doses else None)
    return withhold, extra


def _toxicity_columns(tox: Any) -> pd.DataFrame:
    """Per-patient side-effect columns: worst CTCAE/ASTCT grade per term (``ae_<term>_grade``, 0 = none),
    first onset day, dose holds (count and days), corticosteroid days and discontinuation."""
    from oncoimmune.toxicity import ALL_TERMS

    t = tox.patients_table()
    cols = {f"ae_{term}_grade": t[f"worst_grade_{term}"].to_numpy(int) for term in ALL_TERMS}
    cols.update({f"ae_{term}_onset_day": t[f"onset_day_{term}"].to_numpy(float) for term in ALL_TERMS})
    hold_days = np.zeros(tox.n_patients)
    for i in range(tox.n_patients):
        hold_days[i] = sum(b - a for a, b in tox.intervals("hold", i))
    cols["n_dose_holds"] = t["n_holds"].to_numpy(int)
    cols["n_dose_reductions"] = t["n_reductions"].to_numpy(int)
    cols["dose_hold_days"] = hold_days
    cols["steroid_days"] = t["steroid_days"].to_numpy(float)
    cols["discontinued"] = np.isfinite(t["discontinuation_day"].to_numpy(float))
    cols["discontinuation_day"] = t["discontinuation_day"].to_numpy(float)
    cols["partial_discontinuation_day"] = t["partial_discontinuation_day"].to_numpy(float)
    return pd.DataFrame(cols)


def run_trial(
    spec: TrialSpec,
    *,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrialResult:
    """Run ``spec`` (steps in the module docstring).

    Parameters
    ----------
    spec:
        A validated :class:`~oncoimmune.trial.TrialSpec` (:func:`~oncoimmune.trial.load_trial_spec`).
    workers:
        Threads of the engine (results do not depend on it).
    progress:
        Optional ``progress(arm, done, total)`` callback after each chunk.
    """
    from oncoimmune.models._base import get_model
    from oncoimmune.population import COLUMNS, sample_population, to_covariates
    from oncoimmune.population._parameters import draw_plausible
    from oncoimmune.solve._status import Status
    from oncoimmune.toxicity import PLACEBO, drug_classes_of
    from oncoimmune.trial._calibration import resolve_new_lesions, resolve_population, resolve_residual_mass
    from oncoimmune.trial._endpoints import duration_of_response, evaluate_comparisons
    from oncoimmune.trial._lesions import NewLesionModel, ResidualMassModel
    from oncoimmune.trial._recist import MeasurementNoise, ResponseCriteria
    from oncoimmune.trial._survival import (
        DeathModel,
        SurvivalData,
        administrative_follow_up,
        summarise_survival,
        survival_endpoints,
    )

    if not isinstance(spec, TrialSpec):
        raise ValidationError("spec", "be a TrialSpec (load it with load_trial_spec)", spec, "run_trial")
    model = get_model(spec.model)
    n, seed = spec.patients, spec.seed
    dists, plausible, death_options, calibration = resolve_population(spec)
    drawn = None
    vpop_record = None
    if spec.population.vpop is not None:
        # Enrol from a virtual-population table: patient i is a VP of the table (oncoimmune.population._enrol)
        from oncoimmune.population._enrol import enrol_rows
        from oncoimmune.trial._spec import read_spec_vpop

        table = read_spec_vpop(spec)
        vp = enrol_rows(table, n, seed, spec.population.vpop.sampling)
        frame = table.covariates.iloc[vp].reset_index(drop=True)
        if "patient_id" in frame:
            frame = frame.rename(columns={"patient_id": "vpop_patient_id"})
        frame.insert(0, "patient_id", np.arange(n))
        frame.insert(1, "vpop_row", vp)
        if "tumour_type" not in frame:  # the trial's (popPK models read it, e.g. pembrolizumab in NSCLC)
            frame["tumour_type"] = spec.population.tumour_type
        keep = ["patient_id", "vpop_row", "vpop_patient_id", *(c for c in COLUMNS if c != "patient_id")]
        frame = frame[[c for c in keep if c in frame.columns]]
        vpop_record = table.provenance(vp, spec.population.vpop.weight, spec.population.vpop.sampling)
        if table.parameters is not None:
            drawn = table.parameters.iloc[vp].reset_index(drop=True)
            frame = pd.concat([frame, drawn.add_prefix(PARAMETER_PREFIX)], axis=1)
            frame["plausibility_redraws"] = 0 if table.redraws is None else table.redraws[vp]
            frame["plausible"] = True if table.plausible is None else table.plausible[vp]
    else:
        frame = sample_population(
            spec.population.tumour_type, n, seed, overrides=dict(spec.population.overrides) or None
        ).reset_index(drop=True)
    if dists and drawn is None:
        drawn, redraws, is_plausible = draw_plausible(model, to_covariates(frame), dists, seed, plausible)
        frame = pd.concat([frame, drawn.add_prefix(PARAMETER_PREFIX)], axis=1)
        frame["plausibility_redraws"] = redraws
        frame["plausible"] = is_plausible
    arm_of = _allocate(n, [a.ratio for a in spec.arms], seed)
    accrual = spec.follow_up.accrual_months * 365.25 / 12.0
    horizon = spec.follow_up_days + accrual
    schedule = spec.scans.schedule(horizon)
    scan_days = schedule.array[schedule.array <= horizon]
    grid = np.union1d(np.arange(0.0, horizon + 1e-9, spec.output_every_days), np.append(scan_days, horizon))
    scan_pos = np.searchsorted(grid, scan_days)
    noise = spec.response.measurement_noise
    criteria = ResponseCriteria(
        criteria=spec.response.criteria,
        confirm=spec.response.confirm,
        min_sd_weeks=spec.response.min_sd_weeks,
        noise=None if noise is None else MeasurementNoise(sd_mm=noise.sd_mm, cv=noise.cv),
    )
    death_model = DeathModel.from_mapping(death_options) if death_options else DeathModel()
    new_lesion_options = resolve_new_lesions(spec, calibration)
    new_lesions = NewLesionModel.from_mapping(new_lesion_options)
    residual = ResidualMassModel.from_mapping(resolve_residual_mass(spec, calibration))

    steroid_slot = any(slot.group == "corticosteroid" for slot in model.dose_slots)
    unsettled: dict[str, int] = {}
    responders: dict[str, tuple[int, int]] = {}
    rows: list[pd.DataFrame] = []
    pfs: dict[str, SurvivalData] = {}
    os_: dict[str, SurvivalData] = {}
    arm_summary: dict[str, dict[str, Any]] = {}
    trajectories: dict[str, dict[str, np.ndarray]] = {}
    for k, arm in enumerate(spec.arms):
        idx = np.flatnonzero(arm_of == k)
        sub = frame.iloc[idx].reset_index(drop=True)
        run = _ArmRun(
            spec=spec,
            model=model,
            arm=arm,
            idx=idx,
            sub=sub,
            covs=to_covariates(sub),
            grid=grid,
            scan_days=scan_days,
            scan_pos=scan_pos,
            criteria=criteria,
            death_model=death_model,
            follow=administrative_follow_up(
                idx.size, min_follow_up_days=spec.follow_up_days, accrual_days=accrual, seed=seed, patient_index=idx
            ),
            workers=workers,
            progress=progress,
            params=None if drawn is None else drawn.iloc[idx].to_dict("records"),
            new_lesions=new_lesions,
            residual=residual,
        )
        max_days = spec.treatment.max_months * 365.25 / 12.0 if spec.treatment.max_months else horizon

        def on_until(resp: Any, n: int = idx.size, cap: float = min(max_days, horizon)) -> np.ndarray:
            # the day dosing ends for reasons other than adverse events: progression (when the spec stops
            # there), the maximum duration, the end of follow-up
            days = np.full(n, cap)
            if spec.treatment.stop_at_progression:
                days = np.minimum(days, np.where(np.isfinite(resp.progression_day), resp.progression_day, np.inf))
            return days

        stop = np.full(idx.size, min(max_days, horizon))
        run.simulate(stop, np.arange(idx.size))
        failed, deaths, resp = run.read()
        classes = () if arm.untreated else drug_classes_of(arm.regimen)
        if arm.placebo_every_weeks:
            classes = (*classes, PLACEBO)
        tox = run.toxicity(classes, stop, on_until(resp)) if spec.toxicity.enabled else None
        passes = np.ones(idx.size, dtype=np.int8)
        if not arm.untreated:
            # Later passes: dosing stops at progression (when the spec says so) and at a permanent
            # discontinuation for toxicity; doses held for an adverse event are skipped and the
            # corticosteroid courses that manage it are given (spec.toxicity.feedback). Progression
            # and adverse events are causal (the events before a day depend only on the trajectory
            # before it, with thresholds fixed by the seed), so re-simulating the patients whose
            # treatment changed moves the first disagreement later at each pass: the iteration
            # reaches a treatment consistent with its own outcomes.
            for attempt in range(MAX_MANAGEMENT_PASSES):
                new_stop = on_until(resp)
                withhold, extra = list(run.withhold), list(run.extra)
                if tox is not None:
                    disc = tox.discontinuation_day()
                    new_stop = np.minimum(new_stop, np.where(np.isfinite(disc), disc, np.inf))
                    if spec.toxicity.feedback:
                        withhold, extra = _managed_treatment(tox, run.drug_class, steroid_slot, run.never_held)
                same = [
                    _same_treatment((stop[i], run.withhold[i], run.extra[i]), (new_stop[i], withhold[i], extra[i]))
                    for i in range(idx.size)
                ]
                changed = ~np.array(same, dtype=bool) & ~failed
                again = np.flatnonzero(changed)
                if not again.size:
                    break
                if attempt == MAX_MANAGEMENT_PASSES - 1:
                    unsettled[arm.name] = int(again.size)
                    break
                stop, run.withhold, run.extra = new_stop, withhold, extra
                run.simulate(stop, again)
                passes[again] += 1
                failed, deaths, resp = run.read()
                tox = run.toxicity(classes, stop, on_until(resp)) if spec.toxicity.enabled else None
        outs, status = run.outs, run.status
        ends = survival_endpoints(
            progression_day=resp.progression_day,
            death_day=deaths.day,
            follow_up_days=run.follow,
            observed_until_day=deaths.observed_until_day,
            cancer_death=deaths.cancer_death,
            scan_days=scan_days,
            evaluable=resp.evaluable,
        )
        analysed = run.analysed(stop, deaths.day)
        pfs[arm.name] = SurvivalData(ends.pfs.durations[analysed], ends.pfs.event_observed[analysed], label=arm.name)
        os_[arm.name] = SurvivalData(ends.os.durations[analysed], ends.os.event_observed[analysed], label=arm.name)
        table = sub.copy()
        table.insert(1, "arm", arm.name)
        table["best_overall_response"] = resp.best_overall_response
        table["best_percent_change"] = resp.best_percent_change
        table["response_day"] = resp.response_day
        table["progression_day"] = resp.progression_day
        table["progression_by"] = resp.progression_by.astype(str)
        table["new_lesion_day"] = resp.new_lesion_day
        table["pseudoprogression"] = resp.pseudoprogression
        table["pfs_days"] = ends.pfs.durations
        table["pfs_event"] = ends.pfs.event_observed
        table["os_days"] = ends.os.durations
        table["os_event"] = ends.os.event_observed
        table["cancer_death"] = ends.cancer_death
        table["solver_status"] = [Status(int(s)).name.lower() for s in status]
        table["treatment_stop_day"] = np.where(arm.untreated, np.nan, stop)
        table["simulation_passes"] = passes
        table["analysed"] = analysed
        if "car_t_per_uL" in outs:
            # CAR-T cellular kinetics: the highest blood count on the output grid (0 without CAR-T cells)
            car = outs["car_t_per_uL"]
            table["car_t_peak_per_uL"] = np.where(failed, np.nan, np.where(np.isfinite(car), car, 0.0).max(axis=1))
        if tox is not None:
            table = pd.concat([table, _toxicity_columns(tox)], axis=1)
        rows.append(table)
        rates = resp.rates(analysed)
        responded = analysed & resp.objective_response
        responders[arm.name] = (int(responded.sum()), int(analysed.sum()))
        dor = duration_of_response(resp.response_day, ends.pfs.durations, ends.pfs.event_observed, responded)
        progressed = analysed & resp.progression
        by_new_only = progressed & (resp.progression_by == "new lesion")
        arm_summary[arm.name] = {
            "n": int(analysed.sum()),
            "n_randomised": int(idx.size),
            "regimen": arm.treatment_text,
            "orr": rates["orr"],
            "cr": rates["cr"],
            "dcr": rates["dcr"],
            "failed_simulations": int(failed.sum()),
            # share of the progression events declared on new lesions while the target sum had not progressed
            "progression_new_lesions_only": float(by_new_only.sum() / progressed.sum()) if progressed.any() else None,
            **dor,
        }
        if tox is not None:
            arm_summary[arm.name].update(tox.summary(analysed))
        trajectories[arm.name] = {
            "t": grid,
            "sld_mm": run.measured_sld()[analysed],
            "best_percent_change": resp.best_percent_change[analysed],
        }

    landmarks = {float(t.metric.split(".")[1]) for t in spec.targets if t.metric.startswith(("pfs_rate.", "os_rate."))}
    months = sorted(set(spec.endpoints.landmarks_months) | landmarks)
    s_pfs = summarise_survival(pfs, rates_months=months)
    s_os = summarise_survival(os_, rates_months=months)
    for name, arm in arm_summary.items():
        arm["median_pfs_months"] = s_pfs[name]["median_months"]
        arm["median_pfs_ci_months"] = s_pfs[name]["median_ci_months"]
        arm["median_os_months"] = s_os[name]["median_months"]
        arm["median_os_ci_months"] = s_os[name]["median_ci_months"]
        arm["pfs_hr_vs"] = {o: v["hr"] for o, v in s_pfs[name]["hr_vs"].items()}
        arm["os_hr_vs"] = {o: v["hr"] for o, v in s_os[name]["hr_vs"].items()}
        arm["pfs_hr_ci_vs"] = {o: [v["ci_lower"], v["ci_upper"]] for o, v in s_pfs[name]["hr_vs"].items()}
        arm["os_hr_ci_vs"] = {o: [v["ci_lower"], v["ci_upper"]] for o, v in s_os[name]["hr_vs"].items()}
        arm["pfs_logrank_p_vs"] = s_pfs[name]["logrank_p_vs"]
        arm["os_logrank_p_vs"] = s_os[name]["logrank_p_vs"]
        arm["pfs_rate"] = s_pfs[name]["rate"]
        arm["os_rate"] = s_os[name]["rate"]

    from oncoimmune import __version__
    from oncoimmune.trial._spec import evaluate_targets

    summary = {
        "arms": arm_summary,
        "endpoints": evaluate_comparisons(spec.endpoints, pfs=s_pfs, os=s_os, responders=responders),
        "targets": evaluate_targets(_clean({"arms": arm_summary}), list(spec.targets)),
        "provenance": {
            "oncoimmune": __version__,
            "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "spec": spec.model_dump(mode="json"),
            "model": model.name,
            "seed": seed,
            "patients": n,
            "calibration": None
            if calibration is None
            else {"name": calibration.name, "provenance": calibration.provenance},
            # with a VPop table that gives the parameters, neither the distributions nor the ranges were used
            "parameters": {"from_vpop_table": list(drawn.columns)}
            if vpop_record is not None and vpop_record["parameters"] is not None
            else {k: v.model_dump(exclude_none=True) for k, v in dists.items()},
            "plausible": {}
            if vpop_record is not None and vpop_record["parameters"] is not None
            else {k: v.model_dump(exclude_none=True) for k, v in plausible.items()},
            "implausible_patients": int((~frame["plausible"]).sum()) if "plausible" in frame else 0,
            "vpop": vpop_record,
            "death_model": death_options,
            "new_lesions": None if new_lesions is None else dataclasses.asdict(new_lesions),
            "residual_mass": None if residual is None else dataclasses.asdict(residual),
            "scan_days": scan_days.tolist(),
            "notes": [
                "Research and education software: a virtual trial is not evidence about real patients.",
                "Dosing stops at RECIST progression when treatment.stop_at_progression is true (default), and after "
                "treatment.max_months if given.",
                "Side effects (oncoimmune.toxicity): permanent discontinuation stops dosing; with "
                "toxicity.feedback (default) held doses are skipped and the corticosteroid courses are given "
                "(prednisone, dexamethasone), damping T-cell priming and proliferation in models with a corticosteroid "
                "slot. The adverse-event hazards are not damped a second time: they are calibrated to trial tables "
                "in which steroids were given.",
            ],
            "management": {
                "feedback": bool(spec.toxicity.enabled and spec.toxicity.management and spec.toxicity.feedback),
                "corticosteroids_modelled": steroid_slot,
                "checkpoint_label": spec.toxicity.checkpoint_label,
                "max_passes": MAX_MANAGEMENT_PASSES,
                "unsettled": unsettled,
            },
        },
    }
    patients = pd.concat(rows).sort_values("patient_id", kind="stable").reset_index(drop=True)
    return TrialResult(spec, patients, _clean(summary), trajectories)
