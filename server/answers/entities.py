"""Named entities of sentences, looked up on disk before the tagger is asked.

Loading spaCy costs a fresh process about a second, most of a cold `summit ask`; the
entities of a sentence never change for one tagger version. So the entities answers find
are kept beside the sentence vectors (server/storage/sentence_vectors.py), and a process whose
candidate sentences were tagged before, by any process, never loads spaCy.
"""

import logging
from collections.abc import Callable

from server.answers.kinds import Entity, EntityTagger, entity_tagger, tagger_id, tagger_installed
from server.errors import StoreUnavailableError
from server.storage.sentence_vectors import SentenceVectorStore

_LOG = logging.getLogger(__name__)


class StoredEntities:
    """EntityTagger.entities, from the disk when it has them, else from the tagger (and
    then kept on disk)."""

    def __init__(
        self,
        stored: SentenceVectorStore | None,
        tagger: Callable[[], EntityTagger | None] = entity_tagger,
    ) -> None:
        self._stored = stored
        self._tagger = tagger
        self._unloadable = False

    def if_installed(self) -> "StoredEntities | None":
        """Itself when the tagger is installed and loads (answers then use entities), else
        None: answers are then decided by the weights fitted without entities."""
        return self if tagger_installed() and not self._unloadable else None

    def entities(self, sentences: list[str]) -> list[tuple[Entity, ...]]:
        found = self._from_disk(sentences)
        missing = [s for s in dict.fromkeys(sentences) if s not in found]
        tagger = self._tagger() if missing else None
        self._unloadable = self._unloadable or bool(missing and tagger is None)
        if tagger is not None:
            tagged = dict(zip(missing, tagger.entities(missing), strict=True))
            found.update(tagged)
            self._keep(tagged)
        return [found.get(s, ()) for s in sentences]

    def _from_disk(self, sentences: list[str]) -> dict[str, tuple[Entity, ...]]:
        if self._stored is None:
            return {}
        rows = self._stored.get_entities(sentences, tagger_id())
        return {s: tuple(Entity(text, label) for text, label in row) for s, row in rows.items()}

    def _keep(self, tagged: dict[str, tuple[Entity, ...]]) -> None:
        if self._stored is None:
            return
        rows = {s: [(e.text, e.label) for e in entities] for s, entities in tagged.items()}
        try:
            self._stored.put_entities(rows, tagger_id())
        except StoreUnavailableError as exc:  # a cache: the answer goes on without it
            _LOG.warning("%s", exc)
