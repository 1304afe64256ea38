"""What pyproject.toml declares is what the code uses: every declared distribution is
imported somewhere in ingest/, server/, tests/ or tools/, or is on the short list of those used
another way, each with its reason."""

import ast
import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = ("ingest", "server", "tests", "tools")

# Declared, yet no import statement names them.
USED_WITHOUT_IMPORT = {
    "onnx": "torch.onnx.export needs it (server/storage/onnx_export.py)",
    "lxml-html-clean": "trafilatura needs it and lxml no longer bundles it",
    "ruff": "the lint command",
    "mypy": "the type-check command",
    "types-pyyaml": "stubs mypy reads",
    "fakellm": "a command tests/test_e2e_fakellm.py starts",
    "python-multipart": "FastAPI reads multipart forms with it (POST /documents)",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    names = (re.match(r"[A-Za-z0-9._-]+", spec) for spec in specs)
    return {canonical(name.group()) for name in names if name}


def imported_modules() -> set[str]:
    """Top-level names of every absolute import, function-level ones included."""
    modules: set[str] = set()
    for folder in SOURCE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    return modules


def imported_distributions() -> set[str]:
    owners = packages_distributions()
    return {canonical(dist) for module in imported_modules() for dist in owners.get(module, [])}


def test_every_declared_dependency_is_imported_or_has_a_stated_use() -> None:
    unused = declared() - imported_distributions() - USED_WITHOUT_IMPORT.keys()
    assert not unused, f"declared in pyproject.toml, never imported: {sorted(unused)}"


def test_the_dependencies_used_without_an_import_are_still_declared() -> None:
    assert USED_WITHOUT_IMPORT.keys() <= declared()
