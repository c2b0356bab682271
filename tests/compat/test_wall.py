"""One wall for private APIs: no private attribute of Optuna, Keras, KerasTuner, TensorFlow
or optuna-dashboard is touched outside ``compat/``."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("search", "spaces", "storage", "benchmarks")
LIBRARIES = ("optuna", "optuna_dashboard", "optuna_integration", "keras", "keras_tuner",
             "kerastuner", "tensorflow", "tf_keras")
# Modules private by their place, not their name.
PRIVATE_MODULES = ("keras.src", "keras_tuner.src", "tensorflow.python")
# Files whose private accesses other changes are still moving into compat/.
ALLOWED: tuple[str, ...] = ()  # files still moving their private accesses into compat/
ATTRIBUTE_CALLS = ("getattr", "setattr", "hasattr", "delattr")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_module(module: str) -> bool:
    parts = module.split(".")
    return parts[0] in LIBRARIES and (
        any(_private(p) for p in parts)
        or any(module == m or module.startswith(m + ".") for m in PRIVATE_MODULES))


def private_accesses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of every private access: ``x._name`` (x not self or cls), a string
    ``"_name"`` given to getattr and its kin, an import of a library's private module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append((node.lineno, f"{ast.unparse(node.value)}.{node.attr}"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ATTRIBUTE_CALLS and len(node.args) > 1
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and _private(node.args[1].value)):
            found.append((node.lineno, f"{node.func.id}(..., {node.args[1].value!r})"))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names
                      if _private_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(_private_module(m) for m in modules):
                found.append((node.lineno, f"from {node.module} import ..."))
    return found


def test_the_wall_finds_what_it_looks_for():
    code = ("import tensorflow.python.framework.ops\nfrom optuna_dashboard import _app\n"
            "from keras_tuner.src.engine import trial\nx = trial._trial_id\n"
            "getattr(storage, '_backend')\nself._ok = cls._ok = obj.__class__\n"
            "from spaces._base import SpecBase\n")
    assert [line for line, _ in private_accesses(ast.parse(code))] == [1, 2, 3, 4, 5]


def test_no_private_api_outside_compat():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(ALLOWED):
                continue
            found += [f"{relative}:{line}: {what}"
                      for line, what in private_accesses(ast.parse(path.read_text()))]
    assert not found, ("private APIs outside compat/ (move each into a function of "
                       "compat/<library>.py, with the version checked and a test):\n"
                       + "\n".join(found))
