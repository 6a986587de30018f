"""The model catalogue, rendered from the registry so that it cannot drift from the code."""

from __future__ import annotations

import math

from oncoimmune.models import Model, registry

__all__ = ["render_catalogue"]


def _num(x: float) -> str:
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.6g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _model_section(m: Model) -> str:
    out = [f"## `{m.name}` — {m.title}", "", f"*{_cell(m.citation)}*", ""]
    out += ["| state | unit | meaning | integrated in log space |", "|---|---|---|---|"]
    for s in m.states:
        out.append(f"| `{s.name}` | {_cell(s.unit)} | {_cell(s.description)} | {'yes' if s.log else 'no'} |")
    out += [
        "",
        f"Default initial values: {', '.join(f'{k} = {_num(v)}' for k, v in m.init.items())} ({_cell(m.init_source)}).",
        "",
    ]
    out += ["| parameter | default | unit | bounds | source | meaning |", "|---|---|---|---|---|---|"]
    for p in m.parameters:
        kind = " (input)" if p.input else ""
        out.append(
            f"| `{p.name}`{kind} | {_num(p.value)} | {_cell(p.unit)} | [{_num(p.bounds[0])}, {_num(p.bounds[1])}] "
            f"| {_cell(p.source)} | {_cell(p.description)} |"
        )
    if m.variants:
        out += ["", "| variant | changes | source | description |", "|---|---|---|---|"]
        for name, v in m.variants.items():
            changes = ", ".join(
                [f"{k} = {_num(x)}" for k, x in v.parameters.items()]
                + [f"{k}(0) = {_num(x)}" for k, x in v.init.items()]
            )
            default = " (default)" if name == m.default_variant else ""
            out.append(f"| `{name}`{default} | {changes} | {_cell(v.source)} | {_cell(v.description)} |")
    if m.extinction:
        out += [
            "",
            "Published extinction rule: "
            + ", ".join(f"{k} < {_num(v)} set to 0" for k, v in m.extinction.items())
            + ".",
        ]
    if m.notes:
        out += ["", f"Notes: {m.notes}"]
    return "\n".join(out) + "\n"


def render_catalogue() -> str:
    """Markdown for ``docs/models.md``."""
    models = registry()
    head = [
        "# Model catalogue",
        "",
        "Generated from the model registry by `python docs/generate_catalogue.py` (`make docs`);",
        "a test fails if this file differs from what the code declares. Do not edit by hand.",
        "",
        "| model | states | citation |",
        "|---|---|---|",
    ]
    for m in models.values():
        head.append(f"| [`{m.name}`](#{m.name}) | {', '.join(m.state_names)} | {_cell(m.citation)} |")
    return "\n".join(head) + "\n\n" + "\n".join(_model_section(m) for m in models.values())
