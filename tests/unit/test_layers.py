"""The house's layers and rooms, read from the source with `ast` (docs/architecture.md draws them).

    ui/          the shell: window, command line, bootstrap, benchmarks     (imported by nobody)
    audio/  vision/   engines, devices and their stages                 (peers: never each other)
    assistant/   the kernel: events, stages, ports, errors, config, pipeline, model store
    resources/   data files

Every import in the product, at module level, inside a function, under `if TYPE_CHECKING:` or
through `importlib.import_module("...")`, must point down this list (or stay inside its own
folder). No two files may import each other through any chain, and no two rooms (the
sub-packages: `audio.asr`, `vision.answer`, `ui.window`...) either, so every arrow between rooms
runs one way. Only `ui.window` imports Qt, and only the bench command (`ui.cli.bench`) imports
the benchmarks (`ui.bench`), which import nothing of the command line.

Each rule is a function over an import graph; the tests run it on the product's graph and on a
small broken tree built in a temporary folder, where it must report the break.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from tests.support import ROOT

RANK = {"resources": 0, "assistant": 1, "audio": 2, "vision": 2, "ui": 3}
QT = ("PySide6", "shiboken6")
QT_HOME = "ui.window"
BENCH, BENCH_COMMAND = "ui.bench", "ui.cli.bench"

Graph = dict[str, set[str]]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(root: Path, tops=tuple(RANK)) -> dict[str, Path]:
    out = {}
    for top in tops:
        for path in sorted((root / top).rglob("*.py")):
            out[_module_name(path, root)] = path
    return out


def _dynamic_target(node: ast.Call) -> str | None:
    """`importlib.import_module("a.b")` or `import_module(f"a.b.{x}")`: the module, or for an
    f-string the package its constant part names."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name != "import_module" or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return str(arg.values[0].value).rstrip(".") or None
    return None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The product modules (or outside top-level names) that `name` imports, resolved to the
    most specific module that exists: `from assistant import events` -> `assistant.events`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
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
        elif isinstance(node, ast.Call) and (target := _dynamic_target(node)):
            found.add(target)
    return found


def graph_of(root: Path, tops=tuple(RANK)) -> Graph:
    modules = modules_under(root, tops)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def graph() -> Graph:
    return graph_of(ROOT)


def room(module: str, edges: Graph) -> str:
    """The room a module lives in: its second-level package (`vision.answer` for
    `vision.answer.vlm.engine`, and for `vision.answer` itself), or its top-level folder for a
    module at a folder's root (`ui.bootstrap` lives in `ui`)."""
    parts = module.split(".")
    if len(parts) > 2:
        return ".".join(parts[:2])
    is_package = any(other.startswith(module + ".") for other in edges)
    return module if len(parts) == 2 and is_package else parts[0]


# --------------------------------------------------------------------------- the rules


def upward_arrows(edges: Graph) -> list[str]:
    wrong = []
    for name, targets in edges.items():
        here = name.split(".")[0]
        for target in targets:
            there = target.split(".")[0]
            if there in RANK and there != here and RANK[there] >= RANK[here]:
                wrong.append(f"{name} -> {target}")
    return sorted(wrong)


def circles(edges: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components of two or more nodes: each one is a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def room_graph(edges: Graph) -> Graph:
    rooms: Graph = {}
    for name, targets in edges.items():
        here = room(name, edges)
        rooms.setdefault(here, set())
        for target in targets:
            if target in edges and room(target, edges) != here:
                rooms[here].add(room(target, edges))
    return rooms


def qt_outside_the_window(edges: Graph) -> list[str]:
    return sorted(f"{name} -> {t}" for name, targets in edges.items()
                  if not (name == QT_HOME or name.startswith(QT_HOME + "."))
                  for t in targets if t.split(".")[0] in QT)


def bench_imported_outside_its_command(edges: Graph) -> list[str]:
    def is_bench(module: str) -> bool:
        return module == BENCH or module.startswith(BENCH + ".")

    wrong = [f"{name} -> {t}" for name, targets in edges.items()
             if not is_bench(name) and name != BENCH_COMMAND
             for t in targets if is_bench(t)]
    wrong += [f"{name} -> {t}" for name, targets in edges.items() if is_bench(name)
              for t in targets if t == "ui.cli" or t.startswith("ui.cli.")]
    return sorted(wrong)


# --------------------------------------------------------------------------- on the product


def test_imports_point_down_between_top_level_folders():
    wrong = upward_arrows(graph())
    assert not wrong, "imports that run up or sideways between folders:\n" + "\n".join(wrong)


def test_no_import_circles_between_files():
    found = circles(graph())
    assert not found, f"files that import each other: {found}"


def test_no_import_circles_between_rooms():
    found = circles(room_graph(graph()))
    assert not found, f"rooms that import each other: {found}"


def test_only_the_window_imports_qt():
    wrong = qt_outside_the_window(graph())
    assert not wrong, wrong


def test_only_the_bench_command_imports_the_benchmarks():
    wrong = bench_imported_outside_its_command(graph())
    assert not wrong, wrong


def test_every_room_says_what_it_holds():
    """Each package's `__init__` opens with a docstring: the room's contract."""
    bare = [name for name, path in modules_under(ROOT).items() if path.name == "__init__.py"
            and not (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()
            and name not in ("resources.prompts",)]
    assert not bare, f"packages without a docstring: {bare}"


# --------------------------------------------------------------------------- the rules can fail


def _tree(tmp_path: Path, files: dict[str, str]) -> Graph:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    for top in RANK:
        (tmp_path / top).mkdir(exist_ok=True)
    return graph_of(tmp_path)


def test_the_walker_sees_every_kind_of_import(tmp_path):
    """Lazy, relative, TYPE_CHECKING and importlib imports are all arrows."""
    edges = _tree(tmp_path, {
        "assistant/__init__.py": "",
        "assistant/store.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from assistant.checks import Check
            """,
        "assistant/checks.py": "from . import store\n",
        "ui/__init__.py": "",
        "ui/cli/__init__.py": "",
        "ui/cli/bench.py": """
            import importlib
            def run(name):
                return importlib.import_module(f"ui.bench.{name}")
            """,
        "ui/bench/__init__.py": "",
        "ui/bench/asr.py": "def main():\n    from ui.cli.common import load\n",
    })
    assert "assistant.checks" in edges["assistant.store"]   # TYPE_CHECKING counts
    assert "assistant.store" in edges["assistant.checks"]   # relative
    assert "ui.bench" in edges["ui.cli.bench"]              # importlib, f-string
    assert "ui.cli.common" in edges["ui.bench.asr"]         # inside a function
    # ...and on the product: a lazy import inside bootstrap() is still an arrow.
    product = graph()
    assert "assistant.stage" in product["audio.capture.stage"]
    assert any(t.startswith("audio.") for t in product["ui.bootstrap"])
    assert BENCH in product[BENCH_COMMAND]


def test_the_rules_report_a_broken_tree(tmp_path):
    edges = _tree(tmp_path, {
        "assistant/__init__.py": "",
        "assistant/store.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from assistant.checks import Check
            """,
        "assistant/checks.py": "from assistant import store\nimport audio.asr.engine\n",
        "audio/__init__.py": "", "audio/asr/__init__.py": "",
        "audio/asr/engine.py": "from audio.tts import speak\nfrom PySide6 import QtCore\n",
        "audio/tts/__init__.py": "",
        "audio/tts/speak.py": "from audio.asr import engine\n",
        "ui/__init__.py": "", "ui/window/__init__.py": "",
        "ui/window/app.py": "from PySide6 import QtWidgets\nfrom ui.bench import e2e\n",
        "ui/cli/__init__.py": "",
        "ui/cli/bench.py": "import importlib\nimportlib.import_module('ui.bench.e2e')\n",
        "ui/bench/__init__.py": "",
        "ui/bench/e2e.py": "from ui.cli import common\n",
        "ui/cli/common.py": "",
    })
    assert upward_arrows(edges) == ["assistant.checks -> audio.asr.engine"]
    assert ["assistant.checks", "assistant.store"] in circles(edges)
    room_circles = circles(room_graph(edges))
    assert ["audio.asr", "audio.tts"] in room_circles
    assert ["ui.bench", "ui.cli"] in room_circles
    assert qt_outside_the_window(edges) == ["audio.asr.engine -> PySide6"]
    assert bench_imported_outside_its_command(edges) == ["ui.bench.e2e -> ui.cli.common",
                                                         "ui.window.app -> ui.bench.e2e"]
