"""The ``oncoimmune`` command (a thin adapter over the Python API)."""


def main() -> None:  # replaced by the typer application
    raise SystemExit("the oncoimmune CLI is being built")
