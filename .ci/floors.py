"""Print the floor of every runtime dependency as a pip pin (``duckdb==2.0.1`` …), one a line.

The floors live in one place, pyproject.toml's ``[project].dependencies``; this reads them
with the same code that checks them at runtime (lineagectl.common.versions), so the CI
floors profile installs exactly what the package declares. Runs before any install:
it needs only the standard library and the checkout.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from lineagectl.common.versions import requirements

missing = [r.package for r in requirements() if r.floor is None]
if missing:
    sys.exit(f"no floor (>=) declared for: {', '.join(missing)}")
print("\n".join(f"{r.package}=={r.floor}" for r in requirements()))
