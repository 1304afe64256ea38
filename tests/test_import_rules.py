"""The house's import rules, read from the source (README, "How the code is laid out").

- The base (server/base/) imports nothing of the project: both sides build on it.
- The read side and the storage never import the write side (ingest/): only the
  composition root (server/components/) wires the two, and the command line may name
  the ingest report it prints.
- Storage (server/storage/) imports neither side: only the base, the error vocabulary
  and itself.
- The core never imports a front door (the command line, HTTP, Slack).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOORS = ("server.cli", "server.httpapi", "server.slack")
COMPOSITION_ROOT = "server.components"


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


def test_the_base_imports_nothing_of_the_project() -> None:
    base = {m: imports for m, imports in modules("server").items() if is_in(m, "server.base")}
    assert base and all(imports == set() for imports in base.values()), base


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
