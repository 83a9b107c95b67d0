"""What the import contracts (pyproject's [tool.importlinter], checked by `lint-imports` in `make test`)
cannot see: the size of product functions, the one place that opens the tracking store, and which
packages a wheel installs."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("features", "serving", "training")
MAX_FUNCTION_LINES = 80


def product_sources() -> dict[str, ast.Module]:
    """dotted module name -> its parsed source, for every product module."""
    found = {}
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = ast.parse(path.read_text(), str(path))
    return found


def function_lengths() -> dict[str, int]:
    """`module.function` (nested ones as `module.outer.inner`, methods as `module.Class.method`) -> its
    lines, from `def` to its last line."""
    lengths = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}.{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lengths[name] = child.end_lineno - child.lineno + 1
                visit(child, name)
            else:
                visit(child, prefix)

    for module, tree in product_sources().items():
        visit(tree, module)
    return lengths


def test_the_scan_sees_every_room():
    lengths = function_lengths()
    assert "training.families.transformer.fit" in lengths and "serving.scorers.load_scorer" in lengths
    assert "training.families.packaging.PackagedModel.finish" in lengths
    assert len(lengths) > 500


def test_no_product_function_is_over_80_lines():
    over = {name: n for name, n in function_lengths().items() if n > MAX_FUNCTION_LINES}
    assert over == {}, f"over {MAX_FUNCTION_LINES} lines, split by what each part does: {over}"


STORE_SETTERS = {"set_tracking_uri", "set_registry_uri", "set_experiment"}


def test_only_serving_store_points_mlflow_at_a_store():
    """One function opens the tracking store (serving.store.open_store); everything else calls it."""
    calls = sorted(
        f"{module}:{node.lineno} {node.func.attr}"
        for module, tree in product_sources().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STORE_SETTERS
    )
    assert calls and all(call.startswith("serving.store:") for call in calls), calls
    assert {call.split()[1] for call in calls} == STORE_SETTERS


@pytest.fixture(scope="module")
def setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_the_wheel_finds_every_product_package_and_no_study(setuptools_config):
    from setuptools import find_packages

    found = set(find_packages(str(ROOT), **setuptools_config["packages"]["find"]))
    expected = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for package in PRODUCT
        for path in (ROOT / package).rglob("__init__.py")
    }
    assert found == expected
    assert {"training.families.transformer", "training.run", "serving"} <= found
    assert not any(name.split(".")[0] in {"research", "tests", "benchmarks", "tools"} for name in found)


def test_every_product_folder_with_modules_is_a_package():
    """A folder of modules without __init__.py would be left out of the wheel by find_packages."""
    missing = sorted(
        str(folder.relative_to(ROOT))
        for package in PRODUCT
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]
        if "__pycache__" not in folder.parts and any(folder.glob("*.py")) and not (folder / "__init__.py").exists()
    )
    assert missing == []


def test_the_page_ships_as_package_data(setuptools_config):
    assert "page.html" in setuptools_config["package-data"]["serving"]
    assert (ROOT / "serving" / "page.html").is_file()
