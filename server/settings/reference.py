"""docs/configuration.md, written from the settings' own fields and descriptions, so the
reference cannot drift from the code (tests/test_settings.py fails when it is stale).

    python -m server.settings.reference > docs/configuration.md
"""

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from server.settings import Settings
from server.settings.group import environment_variable

HEADER = """# Configuration

Every setting, by group. Each is read from its environment variable or from a `.env` file in
the working folder; the command line's `--store`, `--host` and `--port` win over both.
Generated from the settings' descriptions (`server/settings/`) by
`python -m server.settings.reference > docs/configuration.md`; a test fails when this page
and the code differ.

One variable is not a setting: `SUMMIT_DEBUG=1` makes the command line print the traceback
of an unexpected failure (it is read where the settings themselves may be what failed).
"""


def markdown() -> str:
    sections = [HEADER]
    for name, field in Settings.model_fields.items():
        group = field.annotation
        assert isinstance(group, type) and issubclass(group, BaseSettings)
        sections.append(_section(name, group))
    return "\n".join(sections)


def _section(name: str, group: type[BaseSettings]) -> str:
    lines = [f"## {name}: {group.__doc__ or ''}".rstrip(), ""]
    lines += ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for field_name, field in group.model_fields.items():
        variable = environment_variable(field_name, field)
        lines.append(f"| `{variable}` | {_default(field)} | {_cell(field.description or '')} |")
    return "\n".join(lines) + "\n"


def _default(field: FieldInfo) -> str:
    """The default as a reader would set it; defaults that depend on the machine (folders
    under the user's data or cache directory) are described, not printed."""
    if field.default_factory is not None:
        extra = field.json_schema_extra
        shown = extra.get("shown_default") if isinstance(extra, dict) else None
        return str(shown) if shown else "(none)"
    value = field.default
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`" if value != "" else "(empty)"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    print(markdown(), end="")
