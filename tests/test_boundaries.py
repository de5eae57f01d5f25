"""Import boundaries, checked at run time in a fresh interpreter: the pure packages (the
classifier, the diagnosis, the review order) never load Flask, SQLAlchemy or the app, and importing
``diagnosis`` itself loads nothing heavy."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "sqlalchemy", "werkzeug", "jinja2",
       "diagnosis.app", "diagnosis.store.models", "diagnosis.extensions")
# Modules that build or fit models for the developer, importing training stacks on purpose.
HEAVY_TOOLS: set[str] = set()  # the model-building tools live in tools/, outside the package


def pure_modules() -> list[str]:
    names = ["diagnosis", "diagnosis.review", "diagnosis.vocabulary"]
    for package in ("nlp", "recommend"):
        names.append(f"diagnosis.{package}")
        for info in pkgutil.iter_modules([str(ROOT / "diagnosis" / package)]):
            name = f"diagnosis.{package}.{info.name}"
            if name not in HEAVY_TOOLS:
                names.append(name)
    return names


def loaded_after_import(module: str) -> list[str]:
    tops = [w for w in WEB if "." not in w]
    inner = [w for w in WEB if "." in w]
    code = (f"import importlib, json, sys; importlib.import_module({module!r}); "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {tops!r} or m in {inner!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("module", pure_modules())
def test_pure_module_loads_no_web_stack(module):
    assert loaded_after_import(module) == []


def test_the_app_factory_is_still_reachable_from_the_package():
    from diagnosis import ConfigurationError, create_app
    from diagnosis.app import create_app as factory

    assert create_app is factory and issubclass(ConfigurationError, RuntimeError)
    with pytest.raises(AttributeError):
        import diagnosis

        diagnosis.no_such_thing  # noqa: B018
