"""Builds through an embeddings server: parallel requests in order, retries, and resuming after kill -9.

A build of several reports is killed mid-way; a reader then sees only whole reports, and the next
``python -m index build`` finishes the job without sending the server any passage twice (what was
embedded before the kill comes from the cache) and leaves the same index a clean build makes.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from index.embeddings import EmbeddingServiceError, OpenAICompatibleEmbeddings
from tests.conftest import REPORT, ROOT
from tests.embedding_server import EmbeddingServer, vector

pytestmark = pytest.mark.slow

BATCH, CONCURRENCY = 8, 4
DOCS = ("a-2019.txt", "b-2020.txt", "c-2021.txt")


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    with EmbeddingServer() as running:
        yield running


# --- parallel requests, order, retries ----------------------------------------------------------

def same_vectors(got: list[list[float]], expected: list[list[float]]) -> bool:
    return np.asarray(got).shape == np.asarray(expected).shape and np.allclose(got, expected, atol=1e-6)


def client(server: EmbeddingServer, **options) -> OpenAICompatibleEmbeddings:
    return OpenAICompatibleEmbeddings(server.url, "hash-model", **{"batch_size": 4, "backoff": 0.01, **options})


def test_batches_go_out_in_parallel_and_come_back_in_order(server):
    server.delay = 0.2
    texts = [f"第{i}项工作稳步推进。" for i in range(40)]

    vectors = client(server, concurrency=4).embed_documents(texts)

    assert same_vectors(vectors, [vector(t) for t in texts])  # answers came back out of order
    assert 1 < server.max_in_flight <= 4


def test_with_concurrency_one_the_server_sees_one_request_at_a_time(server):
    server.delay = 0.05
    texts = [f"第{i}项工作稳步推进。" for i in range(12)]

    assert same_vectors(client(server, concurrency=1).embed_documents(texts), [vector(t) for t in texts])
    assert server.max_in_flight == 1


def test_a_failing_batch_is_tried_again_then_fails_with_a_clear_error(server):
    server.fail_next(2)
    assert same_vectors(client(server, retries=2).embed_documents(["生态环境"]), [vector("生态环境")])
    assert server.failed == 2

    server.fail_next(3)
    with pytest.raises(EmbeddingServiceError, match=f"{server.url} failed a batch of 1 texts 3 times"):
        client(server, retries=2).embed_documents(["民生实事"])


def test_a_refused_batch_is_not_tried_again(server):
    server.fail_next(1, status=400)

    with pytest.raises(EmbeddingServiceError, match="refused a batch of 1 texts: 400"):
        client(server, retries=2).embed_documents(["城市更新"])
    assert server.failed == 1 and server.answered == {}


def test_an_index_build_sends_parallel_requests_and_stores_each_text_with_its_own_vector(tmp_path, server):
    from index.components import open_index
    from index.settings import IndexSettings

    server.delay = 0.05
    data = write_reports(tmp_path / "data", DOCS[:1])
    index = open_index(IndexSettings(index_dir=tmp_path / "index", embedding_provider="openai",
                                     embedding_base_url=server.url, embedding_batch_size=BATCH,
                                     embedding_concurrency=CONCURRENCY))

    report = index.indexer.build([data])

    assert [r.status for r in report.results] == ["added"]
    assert server.max_in_flight > 1
    stored = index.store.embeddings_of(DOCS[0])
    chunks = index.indexer.prepare([data]).documents[0].doc.chunks
    assert len(stored) == len(chunks)
    assert same_vectors([stored[c.id] for c in chunks], [vector(c.embed_text) for c in chunks])


# --- kill -9 mid-build, then resume -------------------------------------------------------------

def write_reports(folder: Path, names=DOCS) -> Path:
    """The bundled report under other years, each sentence marked with its report so none is shared."""
    folder.mkdir(parents=True, exist_ok=True)
    text = REPORT.read_text(encoding="utf-8")
    for name in names:
        year = name.split("-")[1][:4]
        (folder / name).write_text(text.replace("2022", year).replace("。", f"（{name[0]}）。"), "utf-8")
    return folder


def environment(tmp_path: Path, server: EmbeddingServer, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_INDEX_DIR=str(tmp_path / name), QA_DATA_DIR=str(tmp_path / "data"),
               QA_EMBEDDING_PROVIDER="openai", QA_EMBEDDING_BASE_URL=server.url,
               QA_EMBEDDING_BATCH_SIZE=str(BATCH), QA_EMBEDDING_CONCURRENCY=str(CONCURRENCY),
               HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


def run_index(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


_PROBE = """
import json, sys, chromadb
from chromadb.config import Settings
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
chunks = client.get_collection("reports").get(include=["metadatas"])["metadatas"]
live = client.get_collection("reports-manifest").get(include=[])["ids"]
ids = {}
for m in chunks:
    ids.setdefault(m["doc_id"], []).append(m["chunk_id"])
sentences = client.get_collection("reports-sentences").count()
print(json.dumps({"stored": len(chunks), "live": sorted(live), "ids": {d: sorted(v) for d, v in ids.items()},
                  "sentences": sentences}))
"""


def probe(index_dir: Path) -> dict:
    """What the collections hold, hidden records included, read without opening (and tidying) the index."""
    result = subprocess.run([sys.executable, "-c", _PROBE, str(index_dir / "chroma")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def cached_texts(index_dir: Path) -> int:
    with sqlite3.connect(index_dir / "embeddings.sqlite3", timeout=30) as db:
        return db.execute("SELECT count(*) FROM vectors").fetchone()[0]


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def listed(output: str) -> dict[str, int]:
    """``python -m index list``: document → chunks."""
    return {line.split()[0]: int(line.rsplit(None, 2)[-2]) for line in output.splitlines()
            if line and not line.startswith(" ") and line.endswith(" chunks") and "document(s)" not in line}


def test_a_build_killed_mid_way_resumes_without_embedding_anything_twice(tmp_path, server):
    write_reports(tmp_path / "data")
    with EmbeddingServer() as clean_server:  # the same build, never interrupted
        clean = run_index("build", env=environment(tmp_path, clean_server, "clean"))
        assert clean.returncode == 0, clean.stderr
        requests_in_all, texts_in_all = clean_server.passages, set(clean_server.answered)
    clean_index = probe(tmp_path / "clean")
    chunks_of = {doc: len(ids) for doc, ids in clean_index["ids"].items()}
    env = environment(tmp_path, server, "index")

    server.stall_after(requests_in_all // 2)  # half-way: inside the second report
    build = subprocess.Popen([sys.executable, "-m", "index", "build"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server.wait_for_stall()
        # every batch the server answered has reached the cache (requests still held have not)
        wait_until(lambda: cached_texts(tmp_path / "index") == len(server.answered))
    finally:
        build.kill()
        build.wait(timeout=30)
    assert build.returncode == -9
    server.drop_held()
    embedded_before = len(server.answered)

    # a reader sees whole reports only, though more was written
    seen = probe(tmp_path / "index")
    assert 1 <= len(seen["live"]) < len(DOCS)
    assert seen["stored"] > sum(chunks_of[doc] for doc in seen["live"])
    listing = run_index("list", env=env)
    assert listing.returncode == 0, listing.stderr
    assert listed(listing.stdout) == {doc: chunks_of[doc] for doc in seen["live"]}

    server.stall_after(None)
    resumed = run_index("build", env=env)

    assert resumed.returncode == 0, resumed.stderr
    assert max(server.answered.values()) == 1  # no passage sent twice
    assert set(server.answered) == texts_in_all  # and all of them once: the clean build's texts
    assert f"embedded {len(texts_in_all) - embedded_before} texts fresh" in resumed.stdout
    for doc in DOCS:
        status = "unchanged" if doc in seen["live"] else "added"
        assert f"{status:<9} {doc}: {chunks_of[doc]} chunks" in resumed.stdout
    final = probe(tmp_path / "index")
    assert final["ids"] == clean_index["ids"]  # the same chunks per report as a clean build
    assert final["live"] == sorted(DOCS)
    assert final["stored"] == clean_index["stored"] and final["sentences"] == clean_index["sentences"]
