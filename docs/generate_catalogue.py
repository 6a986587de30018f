"""Write docs/models.md from the model registry (run by `make docs`)."""

from pathlib import Path

from oncoimmune.catalogue import render_catalogue

if __name__ == "__main__":
    path = Path(__file__).with_name("models.md")
    path.write_text(render_catalogue(), encoding="utf-8")
    print(f"wrote {path}")
