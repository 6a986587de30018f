"""Treatments: doses, schedules and regimens (immutable values, loadable from YAML)."""

from oncoimmune.treatments._doses import Bolus, EventTable, Infusion, Regimen, cycles, every

__all__ = ["Bolus", "EventTable", "Infusion", "Regimen", "cycles", "every"]
