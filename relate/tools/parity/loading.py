"""Import the release's ``relate/*.py`` from a local checkout without touching ``sys.path``.

The release's package is also called ``relate``, so putting the checkout on ``sys.path`` would
collide with this package. Its ``relate/`` folder is loaded instead as a package under a
private alias (``_relate_release_<hash>``); the alias is removed from ``sys.modules``
afterwards (the module objects stay reachable through :class:`ReleaseModules`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from relate.errors import DataError
from relate.tools.parity.constants import (
    RELEASE_ATTRIBUTES,
    RELEASE_EVALUATE_SCRIPT,
    RELEASE_MODULES,
    RELEASE_URL,
)


@dataclass(frozen=True)
class ReleaseModules:
    """The release's modules, loaded from ``path``; ``commit`` is its git HEAD or 'unknown'."""

    path: Path
    commit: str
    modules: Mapping[str, ModuleType]

    def __getattr__(self, name: str) -> ModuleType:
        try:
            return self.modules[name]
        except KeyError:
            raise AttributeError(name) from None


def _release_commit(path: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out or "unknown"


def load_release(path: str | Path) -> ReleaseModules:
    """Import the release's ``relate/*.py`` from a checkout at ``path``.

    Raises:
        DataError: ``path`` is not a checkout of the release (a file is missing, or a module
            lacks a class/function the comparison needs), or importing it fails (the message
            names a missing third-party package).
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DataError(
            path, f"not a checkout of the RELATE release ({RELEASE_URL}): no such directory"
        )
    package = path / "relate"
    required = [package / "__init__.py"] + [package / f"{m}.py" for m in RELEASE_MODULES]
    required.append(path / RELEASE_EVALUATE_SCRIPT)
    missing = [str(p.relative_to(path)) for p in required if not p.is_file()]
    if missing:
        raise DataError(
            path,
            f"not a checkout of the RELATE release ({RELEASE_URL}): missing {', '.join(missing)}",
        )
    alias = "_relate_release_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    path_before = list(sys.path)
    modules: dict[str, ModuleType] = {}
    try:
        spec = importlib.util.spec_from_file_location(
            alias, package / "__init__.py", submodule_search_locations=[str(package)]
        )
        if spec is None or spec.loader is None:
            raise DataError(path, "cannot load relate/__init__.py as a package")
        root = importlib.util.module_from_spec(spec)
        sys.modules[alias] = root
        spec.loader.exec_module(root)
        for name in RELEASE_MODULES:
            modules[name] = importlib.import_module(f"{alias}.{name}")
    except ModuleNotFoundError as error:
        raise DataError(
            path,
            f"importing the release needs the package {error.name!r}, which is not "
            f"installed in this environment ({error})",
        ) from None
    except DataError:
        raise
    except Exception as error:  # a broken checkout: syntax errors, failing top-level code
        raise DataError(
            path,
            f"importing the release failed: {type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}",
        ) from None
    finally:
        for key in [k for k in sys.modules if k == alias or k.startswith(alias + ".")]:
            del sys.modules[key]
        sys.path[:] = path_before
    for module, names in RELEASE_ATTRIBUTES.items():
        absent = [n for n in names if not hasattr(modules[module], n)]
        if absent:
            raise DataError(
                path,
                f"not a checkout of the RELATE release ({RELEASE_URL}): "
                f"relate/{module}.py has no {', '.join(absent)}",
            )
    return ReleaseModules(path, _release_commit(path), modules)
