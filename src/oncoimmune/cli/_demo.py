"""``oncoimmune demo``: the demonstration runs, on embedded defaults (what ``make demo`` runs).

The runs are declared as data in :data:`DEMO_RUNS`; every number comes from the reference notes
(``/work/shared/reference/models.md``, section given per run), and the work is done by
:func:`oncoimmune.simulate` and :func:`oncoimmune.plot.plot_result`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oncoimmune.errors import ValidationError
from oncoimmune.treatments._doses import Infusion, Regimen

__all__ = ["DEMO_RUNS", "DemoRun", "run_demo"]


@dataclass(frozen=True)
class DemoRun:
    """One demonstration: a model, its settings, and one or more treatment arms.

    Attributes
    ----------
    key:
        Stem of the output files (``KEY.csv`` for one arm, ``KEY_ARM.csv`` for several; ``KEY.png``).
    title:
        What is simulated, in words.
    model, variant, params, init, t_end:
        Arguments of :func:`oncoimmune.simulate`.
    arms:
        Regimens by arm label (``"untreated"`` is the empty regimen).
    reference:
        Where the settings (and the expected behaviour) are documented.
    """

    key: str
    title: str
    model: str
    variant: str | None
    params: Mapping[str, float]
    init: Mapping[str, float]
    t_end: float
    arms: Mapping[str, Regimen] = field(default_factory=lambda: {"untreated": Regimen()})
    reference: str = ""


DEMO_RUNS: tuple[DemoRun, ...] = (
    DemoRun(
        key="kirschner_panetta_1998",
        title="Kirschner–Panetta 1998, antigenicity c = 0.035, untreated, from (E, T, IL) = (0, 1, 0)",
        model="kirschner_panetta_1998",
        variant=None,
        params={"c": 0.035},
        init={},
        t_end=500.0,
        reference="models.md §1.7 (damped oscillation; T(500) = 30044.3 cells)",
    ),
    DemoRun(
        key="de_pillis_2006_patient9",
        title="de Pillis 2006, patient 9, T(0) = 2e7 cells: chemotherapy versus untreated",
        model="de_pillis_2006",
        variant="patient9",
        params={},
        init={"T": 2e7, "N": 3.155e5, "L": 100.0, "C": 6.25e10},
        t_end=150.0,
        arms={
            "untreated": Regimen(),
            "chemotherapy": Regimen(
                (Infusion.repeat("v_M", 1.0, 1.0, 10.0, 9),),
                name="chemotherapy v_M = 1 for 1 day every 10 days, 9 cycles",
            ),
        },
        reference="models.md §4.6 (untreated escapes to ~9.8e8 cells; chemotherapy clears by day 20)",
    ),
)


def _arm_file(run: DemoRun, arm: str, out: Path) -> Path:
    return out / (f"{run.key}.csv" if len(run.arms) == 1 else f"{run.key}_{arm}.csv")


def run_demo(out: Path, console: Any, runs: tuple[DemoRun, ...] = DEMO_RUNS) -> dict[str, dict[str, Any]]:
    """Run the demonstrations, write ``.csv`` tables and ``.png`` plots into ``out``, print a summary.

    A run whose model is not registered in this installation is skipped with a warning on stderr.

    Returns
    -------
    dict
        Results by run key, then arm label (for tests and scripts).
    """
    from rich.table import Table
    from rich.text import Text

    from oncoimmune.models._base import registry
    from oncoimmune.plot import DISCLAIMER, plot_result
    from oncoimmune.solve._simulate import simulate

    if out.exists() and not out.is_dir():
        raise ValidationError("--out", "be a directory", str(out))
    out.mkdir(parents=True, exist_ok=True)
    available = registry()
    results: dict[str, dict[str, Any]] = {}
    written: list[Path] = []
    summary = Table(title="Final tumour size", title_justify="left")
    for col in ("run", "arm", "days", "final T", "status"):
        summary.add_column(col, no_wrap=col in ("run", "arm"), overflow="fold")
    console.print(Text("oncoimmune demo: what is simulated", style="bold"))

    for run in runs:
        if run.model not in available:
            sys.stderr.write(f"warning: model {run.model} is not registered in this installation; {run.key} skipped\n")
            continue
        model = available[run.model]
        console.print(Text(f"  {run.key}: {run.title}"))
        for arm, regimen in run.arms.items():
            console.print(Text(f"      {arm}: {regimen.name or 'no treatment'}"))
        arms = {}
        for arm, regimen in run.arms.items():
            res = simulate(
                model,
                regimen=regimen,
                variant=run.variant,
                params=dict(run.params),
                init=dict(run.init),
                t_end=run.t_end,
            )
            arms[arm] = res
            path = _arm_file(run, arm, out)
            res.save(path)
            written.append(path)
            counts = ", ".join(f"{k}: {v}" for k, v in res.status_counts().items())
            summary.add_row(Text(run.key), Text(arm), Text(f"{run.t_end:g}"), Text(_final_tumour(res)), Text(counts))
        figure = out / f"{run.key}.png"
        plot_result(arms if len(arms) > 1 else next(iter(arms.values())), figure, model)
        written.append(figure)
        results[run.key] = arms

    console.print(summary)
    if "io_qsp" in available:
        results["io_qsp_compare"] = _compare_demo(out, console, written)
        results["trial"] = _trial_demo(out, console, written)
    console.print(Text("Outputs:", style="bold"))
    for p in written:
        console.print(Text(f"  {p}"))
    console.print(Text(f"{DISCLAIMER}. {_TONE}", style="dim"))
    return results


DEMO_PATIENT = {
    "weight_kg": 70.0,
    "height_cm": 175.0,
    "age_years": 60.0,
    "sex": "male",
    "serum_creatinine": 1.0,
    "pdl1": 0.6,
    "tmb": 12.0,
    "tumour_burden_mm": 74.0,
    "n_lesions": 2,
}
"""The demo's virtual patient: NSCLC pooled median burden over 2 lesions (population.md §1.7), PD-L1 60 %, TMB 12."""

DEMO_REGIMENS = (
    "none",
    "pembrolizumab 200 mg q3w",
    "nivolumab 1 mg/kg + ipilimumab 3 mg/kg q3w x4 then nivolumab 3 mg/kg q2w",
    "docetaxel 75 mg/m2 q3w x6",
    "carboplatin AUC 5 + pemetrexed 500 mg/m2 q3w x4 then pemetrexed 500 mg/m2 q3w",
)
"""Regimens the demo compares on :data:`DEMO_PATIENT` with io_qsp (docs/mechanisms.md)."""

DEMO_TRIAL_PATIENTS = 300
"""Patients of the demo's CheckMate 067-like trial (the shipped spec has the real trial's 945)."""


def _compare_demo(out: Path, console: Any, written: list[Path]) -> dict[str, Any]:
    """Immunotherapy, combination and chemotherapy on one virtual patient (io_qsp), one figure."""
    import numpy as np
    from rich.text import Text

    from oncoimmune.plot import plot_treatments
    from oncoimmune.treatments._covariates import Covariates
    from oncoimmune.treatments._plan import simulate_treatment

    console.print(Text("  io_qsp: five regimens on one virtual patient (PD-L1 60 %, TMB 12, 74 mm over 2 lesions)"))
    patient = Covariates(**DEMO_PATIENT)
    t = np.arange(0.0, 366.0)
    arms = {}
    for text in DEMO_REGIMENS:
        regimen = Regimen() if text == "none" else Regimen.parse(text)
        arms[text] = simulate_treatment("io_qsp", regimen, patient, t)
    figure = out / "io_qsp_compare.png"
    plot_treatments(arms, figure, title="io_qsp: five regimens on the same virtual patient")
    written.append(figure)
    return arms


def _trial_demo(out: Path, console: Any, written: list[Path]) -> Any:
    """The shipped CheckMate 067-like spec with DEMO_TRIAL_PATIENTS patients: tables and report."""
    from rich.text import Text

    from oncoimmune.trial._run import run_trial
    from oncoimmune.trial._spec import SPEC_DIR, load_trial_spec

    spec = load_trial_spec(SPEC_DIR / "checkmate067_like.yaml").with_overrides(patients=DEMO_TRIAL_PATIENTS)
    console.print(
        Text(
            f"  trial: {spec.name}, {spec.patients} virtual patients, {len(spec.arms)} arms "
            f"(calibration '{spec.calibration}'; published vs simulated in the report and docs/validation.md)"
        )
    )
    result = run_trial(spec)
    written.extend(result.write(out / "trial"))
    from oncoimmune.cli._app import _print_endpoints, _trial_table

    console.print(_trial_table(result))
    _print_endpoints(result, console)
    console.print(Text(f"  trial report: {out / 'trial' / 'report.html'}", style="bold"))
    return result


def _final_tumour(res: Any) -> str:
    if "T" not in res.state_names:
        return "-"
    final = float(res["T"][0, -1])
    if final < 1.0:
        # below one cell the model's number has no biological meaning (models.md §12)
        return f"< 1 cell (model value {final:.1e})"
    return f"{final:.4g} cells"


_TONE = (
    "These are model trajectories, not predictions for any person. Immunotherapy helps some patients and not "
    "others, and has side effects; every treatment decision belongs with the patient and their doctor."
)
