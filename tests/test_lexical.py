import os
import threading
import time
from pathlib import Path

import pytest

from server.storage import lexical
from server.storage.lexical import LexicalIndex, build_from_records

RECORDS = [("a", "The summit was held in Nara."), ("b", "Defense cooperation was agreed.")]


def _index(version: str) -> LexicalIndex:
    return build_from_records(RECORDS, version)


def test_a_saved_index_loads_with_its_version_and_searches(tmp_path: Path) -> None:
    _index("v1").save(tmp_path / "idx")
    loaded = LexicalIndex.load(tmp_path / "idx")
    assert loaded is not None and loaded.version == "v1"
    assert [chunk_id for chunk_id, _ in loaded.search("Nara summit", 2)] == ["a"]


def test_a_loaded_index_maps_its_scores_and_searches_after_they_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running server holds the index it loaded while ingests save newer ones and remove
    the old: its mapped files must stay readable."""
    _index("v1").save(tmp_path / "idx")
    loaded = LexicalIndex.load(tmp_path / "idx")
    assert loaded is not None
    monkeypatch.setattr(lexical, "LEFTOVER_AGE_S", -1)
    _index("v2").save(tmp_path / "idx")
    _index("v3").save(tmp_path / "idx")  # removes v1's folder
    assert len(os.listdir(tmp_path)) == 2
    assert [chunk_id for chunk_id, _ in loaded.search("defense cooperation", 2)] == ["b"]
    mapped = Path(f"/proc/{os.getpid()}/maps").read_text()
    assert "data.csc.index.npy (deleted)" in mapped


def test_saving_again_replaces_the_index_and_retires_the_old_one_for_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _index("v1").save(tmp_path / "idx")
    first = (tmp_path / "idx").resolve()
    _index("v2").save(tmp_path / "idx")
    loaded = LexicalIndex.load(tmp_path / "idx")
    assert loaded is not None and loaded.version == "v2"
    assert first.exists()  # a reader may still be loading it
    monkeypatch.setattr(lexical, "LEFTOVER_AGE_S", -1)
    _index("v3").save(tmp_path / "idx")
    assert sorted(os.listdir(tmp_path)) == sorted(["idx", (tmp_path / "idx").resolve().name])


def test_an_index_in_a_plain_folder_of_an_earlier_version_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "manifest.json").write_text("{}")
    _index("v2").save(tmp_path / "idx")
    loaded = LexicalIndex.load(tmp_path / "idx")
    assert loaded is not None and loaded.version == "v2"


def test_leftovers_of_killed_saves_go_once_old_and_young_ones_stay(tmp_path: Path) -> None:
    old, young = tmp_path / ".idx~killed", tmp_path / ".idx~saving"
    for folder in (old, young):
        folder.mkdir()
        (folder / "manifest.json").write_text("{}")
    past = time.time() - lexical.LEFTOVER_AGE_S - 60
    os.utime(old, (past, past))
    _index("v1").save(tmp_path / "idx")
    assert not old.exists()
    assert young.exists()  # another process may still be writing it


def test_an_old_save_of_one_collection_never_removes_another_collections_index(
    tmp_path: Path,
) -> None:
    _index("other").save(tmp_path / "idx-v2")  # a collection whose name extends "idx"
    live = (tmp_path / "idx-v2").resolve()
    past = time.time() - lexical.LEFTOVER_AGE_S - 60
    os.utime(live, (past, past))
    _index("v1").save(tmp_path / "idx")
    loaded = LexicalIndex.load(tmp_path / "idx-v2")
    assert live.exists() and loaded is not None and loaded.version == "other"


def test_saves_and_loads_at_once_never_fail_nor_mix_two_indexes(tmp_path: Path) -> None:
    folder, failures = tmp_path / "idx", []
    _index("v0").save(folder)

    def save(version: str) -> None:
        try:
            for _ in range(20):
                _index(version).save(folder)
        except Exception as exc:  # any failure of a save is what this test looks for
            failures.append(repr(exc))

    def load() -> None:
        for _ in range(60):
            index = LexicalIndex.load(folder)
            if index is None or index.version not in {"v0", "v1", "v2"}:
                failures.append(f"load gave {index}")

    threads = [threading.Thread(target=save, args=(v,)) for v in ("v1", "v2")]
    threads.append(threading.Thread(target=load))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".link")] == []


def test_term_sets_are_what_analyze_gives_and_recent_texts_are_not_analysed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = ["The leaders met in Nara.", "Talks on defense.", "The leaders met in Nara."]
    calls: list[list[str]] = []
    analyze = lexical.analyze

    def counted(batch: list[str]) -> list[list[str]]:
        calls.append(batch)
        return analyze(batch)

    monkeypatch.setattr(lexical, "analyze", counted)
    cache = lexical._TermSets(capacity=2)
    assert cache.of(texts) == [frozenset(analyze([t])[0]) for t in texts]
    assert calls == [texts[:2]]  # one call, each text once
    cache.of(["Talks on defense.", "A third text."])  # keeps two: Nara's goes
    cache.of(["The leaders met in Nara.", "Talks on defense."])
    assert calls[1:] == [["A third text."], ["The leaders met in Nara."]]
