"""Reading a JSON-lines file of the user's, with errors that name the file and line."""

import json
from collections.abc import Iterator
from pathlib import Path

from server.errors import SummitError


def json_objects(path: Path, what: str, kind: str) -> Iterator[tuple[int, dict[str, object]]]:
    """Each line's JSON object with its line number; blank lines are skipped. A file that
    cannot be read is a SummitError naming `what` ("question set"), a line that is not a
    JSON object one naming the `kind` of record it should be ("question")."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SummitError(f"Cannot read the {what} {path}.") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SummitError(f"{path}:{number}: not a JSON record.") from exc
        if not isinstance(record, dict):
            raise SummitError(f"{path}:{number}: not a {kind} record.")
        yield number, record
