"""Published tumour–immune models, one module per paper.

Each module defines ``MODEL`` (a :class:`~oncoimmune.models.Model`); :func:`registry` finds them.
See ``docs/models.md`` (generated from this registry) for the catalogue.
"""

from oncoimmune.models._base import DoseSlot, Model, Parameter, State, Variant, get_model, registry

__all__ = ["DoseSlot", "Model", "Parameter", "State", "Variant", "get_model", "registry"]
