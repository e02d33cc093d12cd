"""The tree is the architecture: `bench/` is four stages over a core, and imports point one way.

core <- data <- train <- runs <- report <- the command line (`bench/cli/`). A module may import
its own stage and those below it, never one above; no two modules import each other, directly
or round a longer loop; method plug-ins (`methods/`) use the training API and what is below it.
Imports inside functions count as much as those at the top: a lazy import is still a
dependency. Registries find their instances by package name (`Registry(discover=...)`), which
is not an import of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("core", "data", "train", "runs", "report")  # bottom to top
TOP = len(LAYERS)  # bench/cli/, bench/__main__.py and the plug-in API's old import path
MAX_LINES = 400
MAX_FUNCTION = 60  # body lines (docstring and signature aside)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    files = [*REPO.glob("bench/**/*.py"), *REPO.glob("methods/*.py")]
    return {module_name(p): p for p in files}


def imports(path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `path` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from bench.runs import grid` imports bench.runs.grid; `from x import name`, x
            found |= {
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            }
    return {m for m in found if m in known and m != name}


def layer(module: str) -> int:
    parts = module.split(".")
    if parts[0] == "methods":
        return LAYERS.index("train")  # plug-ins sit on the training API
    if len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return TOP


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, set(known)) for name, path in known.items()}


def upward(edges: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{a} imports {b} ({LAYERS[layer(b)] if layer(b) < TOP else 'the command line'} is above "
        f"{LAYERS[layer(a)]})"
        for a, deps in edges.items()
        for b in deps
        if layer(b) > layer(a)
    )


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One loop per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_imports_point_down_the_stages() -> None:
    assert upward(graph()) == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_every_module_is_in_a_stage() -> None:
    """Only the command line and the plug-in API's old import paths live in bench/ itself."""
    loose = sorted(
        n for n in modules() if n.startswith("bench.") and layer(n) == TOP and n.count(".") == 1
    )
    assert loose == ["bench.__main__", "bench.cli", "bench.method"]


@pytest.mark.parametrize("stage", LAYERS)
def test_each_stage_says_what_it_owns(stage: str) -> None:
    doc = ast.get_docstring(ast.parse((REPO / "bench" / stage / "__init__.py").read_text()))
    assert doc and "may import" in doc.lower(), (
        f"bench/{stage}/__init__.py: say what it owns and may import"
    )


def test_no_module_past_400_lines() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in modules().values()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def long_functions() -> list[str]:
    """Functions whose body runs past MAX_FUNCTION lines and whose docstring does not say
    why ("Long on purpose: ...")."""
    out = []
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            doc = ast.get_docstring(node) or ""
            body = node.body[1:] if doc and len(node.body) > 1 else node.body
            lines = node.end_lineno - body[0].lineno + 1
            if lines > MAX_FUNCTION and "Long on purpose" not in doc:
                out.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_functions_are_short_or_say_why() -> None:
    assert long_functions() == []


def test_the_checks_catch_what_they_forbid() -> None:
    """An upward import and a loop, planted in a copy of the graph, are reported."""
    edges = graph()
    planted = {k: set(v) for k, v in edges.items()}
    planted["bench.data.task"].add("bench.runs.plan")
    assert upward(planted) == [
        "bench.data.task imports bench.runs.plan (runs is above data)",
    ]
    planted["bench.runs.records"].add("bench.runs.grid")  # grid -> ... -> records -> grid
    assert any("bench.runs.records" in loop for loop in cycles(planted))
