"""Markdown tables of the population data for docs/population.md (kept in step by a test).

Regenerate the block between the markers with::

    .venv/bin/python -m oncoimmune.population._docs docs/population.md
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from oncoimmune.population import correlation_matrix, describe, tumour_types
from oncoimmune.population._distributions import load_tumour_type

BEGIN = "<!-- BEGIN GENERATED: population tables (python -m oncoimmune.population._docs docs/population.md) -->"
END = "<!-- END GENERATED: population tables -->"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(v: float) -> str:
    if isinstance(v, float) and math.isnan(v):
        return ""
    return f"{v:.4g}"


def render_tables() -> str:
    """One section per tumour type: its distributions with sources, then its latent correlations."""
    out: list[str] = []
    for name in tumour_types():
        tt = load_tumour_type(name)
        out.append(f"### `{name}`: {tt.title}\n")
        out.append(f"{tt.setting} Aliases: {', '.join(f'`{a}`' for a in tt.aliases) or 'none'}.\n")
        out.append("| covariate | distribution | parameter | value | unit | flag | source and note |")
        out.append("|---|---|---|---|---|---|---|")
        d = describe(name)
        for row in d.itertuples(index=False):
            if row.distribution == "latent correlation":
                continue
            src = row.source if not row.note else f"{row.source}. {row.note}"
            out.append(
                f"| {_cell(row.covariate)} | {_cell(row.distribution)} | {_cell(row.parameter)} | "
                f"{_value(row.value)} | {_cell(row.unit)} | {row.flag} | {_cell(src)} |"
            )
        out.append("")
        out.append("Latent correlations (edges of the correlation tree; other pairs are products along paths):\n")
        out.append("| pair | rho | flag | source | conversion |")
        out.append("|---|---|---|---|---|")
        for row in d[d.distribution == "latent correlation"].itertuples(index=False):
            out.append(
                f"| {_cell(row.covariate)} | {row.value:.3f} | {row.flag} | {_cell(row.source)} | {_cell(row.note)} |"
            )
        out.append("")
        R = correlation_matrix(name)
        cols = list(R.columns)
        out.append("<details><summary>Full latent correlation matrix</summary>\n")
        out.append("| | " + " | ".join(f"`{c}`" for c in cols) + " |")
        out.append("|---|" + "---|" * len(cols))
        for r in cols:
            out.append(f"| `{r}` | " + " | ".join(f"{R.loc[r, c]:.3f}" for c in cols) + " |")
        out.append("\n</details>\n")
    return "\n".join(out).rstrip() + "\n"


def update(path: Path) -> bool:
    """Rewrite the generated block of ``path``; True if the file changed."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n\n{render_tables()}\n{END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def generated_block(text: str) -> str:
    """The text between the markers, as :func:`update` writes it."""
    _, rest = text.split(BEGIN, 1)
    block, _ = rest.split(END, 1)
    return block


if __name__ == "__main__":  # pragma: no cover
    changed = update(Path(sys.argv[1]))
    print("updated" if changed else "up to date", sys.argv[1])
