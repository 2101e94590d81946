"""The keyword index in SQLite FTS5: kept across restarts, per document, in step with the manifest."""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.evidence import TermWeights
from bot.query import QuestionInfo
from bot.glossary import Glossary
from index.components import keywords_path, open_index
from index.keyword import KeywordTable, quoted
from index.generations import new_generation
from index.settings import IndexSettings
from index.store import REVISION_TTL, open_client
from tests.conftest import CULTURE, ECONOMY

PARKING = """一、城市管理
（一）停车难题逐步缓解。新建公共停车位*个，智慧停车平台上线运行。
"""


class CountingCollection:
    """The real Chroma collection, noting what each ``get`` asked for (where filter, or ids)."""

    def __init__(self, inner):
        self._inner = inner
        self.gets: list = []

    def get(self, *args, **kwargs):
        self.gets.append(kwargs.get("where") or kwargs.get("ids") or "everything")
        return self._inner.get(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def count_reads(components) -> CountingCollection:
    spy = CountingCollection(components.store._collection)
    components.store._collection = spy
    return spy


def rows(components, doc_id: str) -> list[tuple[int, str]]:
    """(rowid, generation) of the document's rows in the keyword file: equal lists mean untouched rows."""
    with sqlite3.connect(keywords_path(components.settings)) as db:
        return db.execute("SELECT rowid, generation FROM chunks WHERE doc_id=? ORDER BY rowid", (doc_id,)).fetchall()


def docs_found(components, query: str, k: int = 5) -> set[str]:
    return {c.meta.doc_id for c in components.keywords.search(query, k=k)}


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "economy.txt").write_text(ECONOMY, "utf-8")
    (folder / "culture.md").write_text(CULTURE, "utf-8")
    return folder


@pytest.fixture
def built(data, make_index):
    index = make_index()
    index.indexer.build([data])
    return index


def test_the_keyword_index_is_a_file_beside_the_store_that_a_reopened_index_uses_without_reading_chroma(built, make_index):
    listing = built.store.documents()
    assert keywords_path(built.settings).is_file()

    reopened = make_index()
    spy = count_reads(reopened)
    started = time.perf_counter()

    assert docs_found(reopened, "民宿 游客") == {"culture.md"}
    assert reopened.store.documents() == listing
    assert [c.meta.ordinal for c in reopened.keywords.chunks_of("economy.txt")] == [0, 1, 2, 3]
    assert spy.gets == []  # nothing read back from Chroma: no rebuild, no per-document fill
    assert time.perf_counter() - started < 2.0


def test_adding_a_document_writes_its_rows_alone_and_removing_it_deletes_them_alone(built, data):
    economy, culture = rows(built, "economy.txt"), rows(built, "culture.md")
    spy = count_reads(built)
    (data / "parking.md").write_text(PARKING, "utf-8")

    built.indexer.build([data / "parking.md"])

    assert rows(built, "economy.txt") == economy and rows(built, "culture.md") == culture
    assert len(rows(built, "parking.md")) == 1
    assert docs_found(built, "停车位") == {"parking.md"}
    assert [w for w in spy.gets if isinstance(w, dict) and "doc_id" in w] == [{"doc_id": "parking.md"}] * 2

    built.indexer.remove("culture.md")

    assert rows(built, "culture.md") == [] and rows(built, "economy.txt") == economy
    assert docs_found(built, "民宿") == set()
    assert [d["doc_id"] for d in built.store.documents()] == ["economy.txt", "parking.md"]


def test_a_changed_document_keeps_only_its_new_generation(built, data):
    (data / "culture.md").write_text(CULTURE.replace("民宿", "露营"), "utf-8")

    built.indexer.build([data])

    assert len({g for _, g in rows(built, "culture.md")}) == 1
    assert docs_found(built, "露营") == {"culture.md"} and docs_found(built, "民宿") == set()


def test_a_document_another_machine_indexed_into_the_shared_store_is_filled_in_on_the_next_search(
        data, make_index, fake_embeddings, tmp_path):
    writer = make_index()
    # A second machine: its own index folder (and keyword file), the same Chroma collection.
    reader = open_index(IndexSettings(index_dir=tmp_path / "other-machine", data_dir=data),
                        embeddings=fake_embeddings, client=open_client(writer.settings))
    assert reader.keywords.search("民宿", k=3) == []

    writer.indexer.build([data])
    time.sleep(REVISION_TTL)

    assert docs_found(reader, "民宿 游客") == {"culture.md"}
    assert [d["doc_id"] for d in reader.store.documents()] == ["culture.md", "economy.txt"]

    spy = count_reads(reader)
    (data / "parking.md").write_text(PARKING, "utf-8")
    writer.indexer.build([data / "parking.md"])
    time.sleep(REVISION_TTL)

    assert docs_found(reader, "停车位") == {"parking.md"}
    assert spy.gets == [{"doc_id": "parking.md"}]  # that document alone was read


def test_hidden_generations_are_never_returned_and_readers_leave_them_for_the_writer(built, fake_embeddings):
    template = built.store.chunks_where({"doc_id": "economy.txt"})[0].meta
    hidden = replace(template, doc_id="economy.txt", ordinal=99, section_path="")
    text = "幽灵隧道神秘出现。"
    generation = new_generation()
    built.store.upsert(generation, ["ghost"], [text], [hidden], fake_embeddings.embed_documents([text]))
    built.store.bump_revision()  # readers look again, as after any other write
    listing = built.store.documents()

    assert built.keywords.search("幽灵 隧道", k=5) == []
    assert built.keywords.document_frequency(["隧道"]) == 0
    assert all(c.id != "ghost" for c in built.keywords.chunks_of("economy.txt"))
    assert [d["chunks"] for d in listing] == [1, 4]
    assert generation in {g for _, g in rows(built, "economy.txt")}  # a writer may be mid-document

    built.store.roll_back()  # what the next writer does under the lock

    assert generation not in {g for _, g in rows(built, "economy.txt")}
    assert built.store.documents() == listing


@pytest.mark.parametrize("question", [
    '民宿"', '"民宿" OR "游客"', "民宿*", "(民宿) AND (", "民宿 NEAR(游客)", '*"(^:-', "col:民宿", "",
    "NOT 民宿", "民宿 -游客 +农家乐",
])
def test_what_a_user_types_never_breaks_the_query(built, question):
    found = built.keywords.search(question, k=5)

    assert {c.meta.doc_id for c in found} <= {"culture.md"}
    assert built.keywords.document_frequency([question]) >= 0


def test_tokens_are_quoted_as_fts_strings():
    assert quoted('a"b') == '"a""b"'
    assert quoted("OR") == '"OR"'


def test_a_rare_term_weighs_more_than_a_common_one_and_an_absent_one_most(built):
    weights = TermWeights(built.keywords)

    assert weights.idf("上半年") < weights.idf("民宿") < weights.idf("隧道")
    assert built.keywords.document_frequency(["上半年"]) == 3  # the section path counts too
    assert built.keywords.size() == 5


def asked(*terms: str) -> QuestionInfo:
    return QuestionInfo(text="".join(terms), tokens=list(terms), terms=list(terms),
                        term_kinds={t: "n" for t in terms}, phase="", broad=False, asks_quantity=False,
                        asks_how=False)


def test_the_known_share_is_the_weight_of_the_question_terms_some_passage_holds(built):
    weights = TermWeights(built.keywords)

    assert weights.known_share(asked("民宿", "上半年")) == 1.0
    assert weights.known_share(asked("隧道", "缆车")) == 0.0
    mixed = weights.known_share(asked("民宿", "隧道"))
    # the absent word weighs more (its idf is the highest), so it holds more than half the weight
    assert 0.0 < mixed < 0.5
    assert weights.known_share(asked()) == 1.0


def test_keyword_ranks_count_in_the_fusion_by_the_weight_given(built, fake_embeddings):
    from bot.stages.retrieve import HybridSearch

    search = HybridSearch(built.store, built.keywords, fake_embeddings)
    full, half, none = ({h.chunk.id: h for h in search.search_with_baseline("民宿", keyword_weight=w)[0]}
                        for w in (1.0, 0.5, 0.0))
    matched = [chunk_id for chunk_id, hit in full.items() if hit.keyword > 0]

    assert matched
    for chunk_id in matched:
        keyword_part = full[chunk_id].score - none[chunk_id].score
        assert keyword_part > 0
        assert half[chunk_id].score - none[chunk_id].score == pytest.approx(keyword_part / 2)


def test_keyword_search_looks_for_the_keyword_query_when_given(built, fake_embeddings):
    from bot.stages.retrieve import HybridSearch

    search = HybridSearch(built.store, built.keywords, fake_embeddings)
    by_text = search.search_with_baseline("上半年民宿")[0]
    by_terms = search.search_with_baseline("上半年民宿", keyword_query="民宿")[0]

    assert any(h.keyword > 0 and "民宿" not in h.chunk.text for h in by_text)  # 上半年 alone matched
    assert all("民宿" in h.chunk.text for h in by_terms if h.keyword > 0)


def test_a_term_counts_the_chunks_of_its_glossary_variants_too(built):
    plain = TermWeights(built.keywords)
    with_glossary = TermWeights(built.keywords, Glossary.load("GDP 地区生产总值"))

    assert with_glossary.idf("地区生产总值") == plain.idf("gdp") < plain.idf("地区生产总值")


def test_term_statistics_follow_the_library(built, data):
    weights = TermWeights(built.keywords)
    before = weights.idf("停车位")
    (data / "parking.md").write_text(PARKING, "utf-8")

    built.indexer.build([data / "parking.md"])

    assert weights.idf("停车位") < before


def test_two_processes_filling_the_same_document_store_it_once(built):
    chunks = built.store.chunks_where({"doc_id": "economy.txt"})
    path, generation = keywords_path(built.settings), "filled-twice"
    tables = [KeywordTable(path, built.settings.collection, built.keywords.tokenizer) for _ in range(4)]
    threads = [threading.Thread(target=t.fill, args=("economy.txt", generation, chunks, len(chunks))) for t in tables]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert tables[0].held()[("economy.txt", generation)] == len(chunks)
