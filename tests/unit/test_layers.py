"""The house's layers, read from the source with `ast` (docs/architecture.md draws them).

    ui/          the shell: window, command line, bootstrap, benchmarks     (imported by nobody)
    audio/  vision/   engines, devices and their stages                 (peers: never each other)
    assistant/   the kernel: events, stages, ports, errors, config, pipeline, model store
    resources/   data files

Every import in the product, at module level or inside a function, must point down this list
(or stay inside its own folder), no two files may import each other through any chain, and
only the shell may import Qt. `if TYPE_CHECKING:` imports are annotations, not imports, and
are skipped.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RANK = {"resources": 0, "assistant": 1, "audio": 2, "vision": 2, "ui": 3}
QT = ("PySide6", "shiboken6")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    out = {}
    for top in RANK:
        for path in sorted((ROOT / top).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    return skip


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The product modules (or outside top-level names) that `name` imports, resolved to the
    most specific module that exists: `from assistant import events` -> `assistant.events`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return found


def graph() -> dict[str, set[str]]:
    modules = product_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_imports_point_down_between_top_level_folders():
    wrong = []
    for name, targets in graph().items():
        here = name.split(".")[0]
        for target in targets:
            there = target.split(".")[0]
            if there in RANK and there != here and RANK[there] >= RANK[here]:
                wrong.append(f"{name} -> {target}")
    assert not wrong, "imports that run up or sideways between folders:\n" + "\n".join(wrong)


def test_no_import_circles_between_files():
    edges = graph()
    # Tarjan's strongly connected components: any component of two or more files is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not circles, f"files that import each other: {circles}"


def test_only_the_shell_imports_qt():
    wrong = [f"{name} -> {t}" for name, targets in graph().items() if not name.startswith("ui")
             for t in targets if t.split(".")[0] in QT]
    assert not wrong, wrong


def test_the_walker_sees_function_level_and_relative_imports(tmp_path):
    """The checks above would pass on an empty graph; this one proves the walker reads what
    it must (a lazy import inside a function is still an import)."""
    edges = graph()
    assert "assistant.stage" in edges["audio.capture_stage"]
    assert any(t.startswith("audio.") for t in edges["ui.bootstrap"])  # lazy, inside bootstrap()
    assert "ui.bench" not in {t.split(".")[0] for t in edges["assistant.pipeline"]}
