"""Which sqlglot build a bench run uses: the compiled extension (``sqlglot[c]``) or pure Python.

``sqlglotc`` lays mypyc-compiled modules (``parser.cpython-311-….so``) beside sqlglot's own
``.py`` files, and Python's import system prefers an extension module to a source file of
the same name. ``use_pure_python()`` puts a finder first on ``sys.meta_path`` that loads
``sqlglot`` and its submodules from their ``.py`` files only, so one venv can run both
builds and their answers can be compared (``dbt_edges.py --pure-python``,
``sql_goldens.py --pure-python``, tests/test_sqlglot_compiled.py). It must run before
anything imports sqlglot.
"""

from __future__ import annotations

import importlib.machinery
import sys
from importlib.machinery import ModuleSpec


class _SourceOnly:
    """A meta path finder that finds sqlglot's modules among source files only."""

    def find_spec(self, name: str, path=None, target=None) -> ModuleSpec | None:
        if name != "sqlglot" and not name.startswith("sqlglot."):
            return None
        loaders = (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
        for entry in path if path is not None else sys.path:
            spec = importlib.machinery.FileFinder(entry or ".", loaders).find_spec(name, target)
            if spec is not None:
                return spec
        return None


def use_pure_python() -> None:
    """Import sqlglot from its ``.py`` files from now on, even where ``sqlglotc`` is installed."""
    if any(name == "sqlglot" or name.startswith("sqlglot.") for name in sys.modules):
        raise RuntimeError("sqlglot is already imported: choose the build before importing it")
    sys.meta_path.insert(0, _SourceOnly())


def describe() -> str:
    """``sqlglot 30.30.0, compiled`` or ``…, pure Python``: the build this process runs."""
    import sqlglot
    from sqlglot.tokens import SQLGLOTC_INSTALLED

    return f"sqlglot {sqlglot.__version__}, {'compiled' if SQLGLOTC_INSTALLED else 'pure Python'}"
