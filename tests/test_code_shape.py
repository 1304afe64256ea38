"""Small enough to read: no module of the project over 300 lines, no function over 40
(docs/architecture.md, "How the code is laid out"). Read from the source, so a growing
module is split when it grows, not when someone notices."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "ingest")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 40


def sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_no_module_is_over_300_lines() -> None:
    lengths = {
        p.relative_to(ROOT): len(p.read_text(encoding="utf-8").splitlines()) for p in sources()
    }
    assert len(lengths) > 20  # the rule reads the project, not an empty folder
    assert {path: n for path, n in lengths.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_is_over_40_lines() -> None:
    long = {}
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}
