"""Imports run one way: features <- serving (the packaged-model contract) <- training. Checked on
the source, every import included (module-level and inside functions), so a cycle or a wrong-way
arrow cannot hide in a function body."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("features", "serving", "training")
# what each package may import from the others
ALLOWED = {"features": set(), "serving": {"features"}, "training": {"features", "serving"}}


@functools.cache
def project_imports() -> dict[str, frozenset[str]]:
    """module name -> the project modules it imports anywhere in its body."""
    graph = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            module = f"{package}.{path.stem}"
            found = set()
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                else:
                    continue
                found |= {n for n in names if n.split(".")[0] in PACKAGES and n.count(".") == 1}
            graph[module] = frozenset(found - {module})
    return graph


def test_the_scan_sees_the_packages():
    graph = project_imports()
    assert {"features.cli", "serving.predictor", "training.run.train", "training.imr"} <= set(graph)
    assert "serving.scorers" in graph["serving.predictor"] or "serving.scorers" in set().union(*graph.values())


def test_imports_run_one_way():
    wrong = [
        f"{module} imports {target}"
        for module, targets in project_imports().items()
        for target in targets
        if target.split(".")[0] != module.split(".")[0] and target.split(".")[0] not in ALLOWED[module.split(".")[0]]
    ]
    assert wrong == []


def test_no_import_cycles():
    modules = project_imports()
    graph = {m: {t for t in targets if t in modules} for m, targets in modules.items()}
    assert sum(map(len, graph.values())) > 50  # the edges are really there
    cycles = []

    def visit(node, path, on_path, done):
        on_path.add(node)
        path.append(node)
        for nxt in sorted(graph[node]):
            if nxt in on_path:
                cycles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif nxt not in done:
                visit(nxt, path, on_path, done)
        path.pop()
        on_path.discard(node)
        done.add(node)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [], set(), done)
    assert cycles == []


def test_the_dispatcher_sees_every_package():
    sees_all = [
        m
        for m, targets in project_imports().items()
        if {t.split(".")[0] for t in targets} | {m.split(".")[0]} == set(PACKAGES)
    ]
    assert "training.imr" in sees_all
