"""Test configuration: compiled kernels go to a cache inside the checkout unless told otherwise."""

import os
from pathlib import Path

os.environ.setdefault("ONCOIMMUNE_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".oncoimmune-cache"))

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
