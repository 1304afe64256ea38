"""The house's import rules, read from the source (docs/architecture.md, "How the code is
laid out").

- Each package of the read side says in its docstring what it may import (a line
  "May import: a, b." or "May import: nothing else of the project."), and imports no more.
- The base (server/base/) imports nothing of the project: both sides build on it.
- The read side and the storage never import the write side (ingest/): only the
  composition root (server/components/) wires the two, and the command line may name
  the ingest report it prints.
- Storage (server/storage/) imports neither side: only the base, the error vocabulary
  and itself.
- The core never imports a front door (the command line, HTTP, Slack).
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOORS = ("server.cli", "server.httpapi", "server.slack")
COMPOSITION_ROOT = "server.components"
# The read side's packages, from the ground floor up: each declares what it may import.
READ_SIDE = (
    "server.settings",
    "server.base",
    "server.storage",
    "server.retrieval",
    "server.answers",
    "server.llm",
    "server.evaluation",
)


def modules(folder: str) -> dict[str, set[str]]:
    """Every module under `folder` with the project modules it imports (at any depth,
    including imports made inside functions and under TYPE_CHECKING)."""
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found[name] = imported_by(path)
    return found


def imported_by(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in ("server", "ingest")}


def is_in(module: str, places: tuple[str, ...] | str) -> bool:
    places = (places,) if isinstance(places, str) else places
    return any(module == p or module.startswith(p + ".") for p in places)


def declared_imports(package: str) -> tuple[str, ...]:
    """What the package's docstring says it may import, besides itself."""
    init = ROOT / package.replace(".", "/") / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    # The line runs to the end of the docstring: the rule is its last paragraph.
    declared = re.search(r"^May import: (.+)", docstring, re.MULTILINE | re.DOTALL)
    assert declared, f"{package}'s docstring has no 'May import:' line"
    allowed = " ".join(declared.group(1).split()).removesuffix(".")
    if allowed == "nothing else of the project":
        return ()
    return tuple(name.strip() for name in allowed.split(","))


@pytest.mark.parametrize("package", READ_SIDE)
def test_each_read_side_package_imports_only_what_its_docstring_allows(package: str) -> None:
    allowed = (package, *declared_imports(package))
    offenders = {
        module: sorted(i for i in imports if not is_in(i, allowed))
        for module, imports in modules("server").items()
        if is_in(module, package)
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_every_package_of_the_read_side_is_under_a_rule() -> None:
    """A new package beside the others must say what it may import."""
    packages = {
        p.parent.relative_to(ROOT).as_posix().replace("/", ".")
        for p in (ROOT / "server").glob("*/__init__.py")
    }
    unruled = packages - {*READ_SIDE, *DOORS, COMPOSITION_ROOT}
    assert unruled == set()


def test_the_floors_only_look_down() -> None:
    """No package may import one that stands above it in READ_SIDE."""
    for floor, package in enumerate(READ_SIDE):
        above = set(READ_SIDE[floor + 1 :])
        assert not above & set(declared_imports(package)), package


def test_the_base_imports_nothing_of_the_project() -> None:
    base = {m: imports for m, imports in modules("server").items() if is_in(m, "server.base")}
    outside = {
        m: {i for i in imports if not is_in(i, "server.base")} for m, imports in base.items()
    }
    assert base and all(imports == set() for imports in outside.values()), outside


def test_the_read_side_and_storage_never_import_the_write_side() -> None:
    offenders = {
        module: sorted(i for i in imports if is_in(i, "ingest"))
        for module, imports in modules("server").items()
        if not is_in(module, (*DOORS, COMPOSITION_ROOT))
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_storage_imports_neither_side() -> None:
    allowed = ("server.base", "server.errors", "server.storage")
    storage = {m: i for m, i in modules("server").items() if is_in(m, "server.storage")}
    offenders = {
        module: sorted(i for i in imports if not is_in(i, allowed))
        for module, imports in storage.items()
    }
    assert storage and {m: i for m, i in offenders.items() if i} == {}


def test_the_core_never_imports_a_front_door() -> None:
    core = {**modules("server"), **modules("ingest")}
    offenders = {
        module: sorted(i for i in imports if is_in(i, DOORS))
        for module, imports in core.items()
        if not is_in(module, DOORS)
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_the_rules_see_the_imports_they_judge() -> None:
    """A rule that read no import would pass on anything."""
    found = modules("server")
    assert "ingest.pipeline" in found["server.components"]
    assert "server.base.documents" in found["server.storage.store"]
