"""Count the project's modules and import edges, read from the source.

An edge is "module A imports project module B" anywhere in A's body (module level or inside a
function), counted once per pair; an import of a package counts as an edge to its __init__, and
``from package import submodule`` as an edge to the submodule. Prints one JSON object.

    python tools/import_graph.py [--edges]
"""

from __future__ import annotations

import argparse
import ast
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("features", "serving", "training", "research")


def modules() -> dict[str, Path]:
    """dotted module name -> source file, for every module under the project packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """the project modules that the file at path imports, resolved to the deepest known module."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
    return targets


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, set(found)) - {name} for name, path in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", action="store_true", help="also list every edge")
    args = parser.parse_args()
    edges = graph()
    top = Counter(m.split(".")[0] for m in edges)
    training_top = [m for m in edges if m.startswith("training.") and m.count(".") == 1 and m != "training"]
    training_top = [m for m in training_top if not (ROOT / m.replace(".", "/") / "__init__.py").exists()]
    figures = {
        "modules": len(edges),
        "modules_by_package": dict(sorted(top.items())),
        "training_top_level_modules": len(training_top),
        "import_edges": sum(map(len, edges.values())),
        "import_edges_within_training": sum(
            1 for m, ts in edges.items() if m.startswith("training") for t in ts if t.startswith("training")
        ),
    }
    if args.edges:
        figures["edges"] = {m: sorted(ts) for m, ts in sorted(edges.items())}
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
