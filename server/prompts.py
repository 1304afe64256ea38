"""User-facing texts and prompts, read from files in prompts/ with their variables checked."""

from pathlib import Path
from string import Template

from server.errors import SummitError


class PromptError(SummitError):
    """A prompt file is missing or its variables do not match what the code supplies."""


class PromptLibrary:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._cache: dict[str, Template] = {}

    def names(self) -> list[str]:
        return sorted(p.stem for p in self._folder.glob("*.txt"))

    def variables(self, name: str) -> set[str]:
        return set(self._template(name).get_identifiers())

    def render(self, name: str, **variables: object) -> str:
        template = self._template(name)
        expected = set(template.get_identifiers())
        missing, unexpected = expected - variables.keys(), variables.keys() - expected
        if missing or unexpected:
            raise PromptError(
                f"Prompt {name!r} expects {sorted(expected)}; missing {sorted(missing)}, "
                f"unexpected {sorted(unexpected)}."
            )
        return template.substitute({k: str(v) for k, v in variables.items()}).strip()

    def _template(self, name: str) -> Template:
        if name not in self._cache:
            path = self._folder / f"{name}.txt"
            try:
                self._cache[name] = Template(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise PromptError(f"Missing prompt file {path}.") from exc
        return self._cache[name]
