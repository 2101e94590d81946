"""kill -9 while a document's chunks are being written: afterwards the document is absent or complete.

The embedding provider is ``openai`` pointed at a small embeddings server in this test: deterministic
vectors from a hash of each text, and, when told to, it stalls every passage request after the first
few. The indexer has then stored some batches of a document and waits on the next one; that is when
the process is killed.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.conftest import REPORT, ROOT, free_port
from tests.embedding_server import EmbeddingServer

pytestmark = pytest.mark.slow

ADMIN_TOKEN = "crash-test-admin-token"
BATCH = 8
WRITTEN_BATCHES = 4  # passage requests answered before the server stalls
DOC = "big-report.txt"


@pytest.fixture
def embedding_server() -> Iterator[EmbeddingServer]:
    with EmbeddingServer() as server:
        yield server


def big_report() -> str:
    """The bundled report four times over, each copy under another year: a few hundred chunks."""
    text = REPORT.read_text(encoding="utf-8")
    return "\n".join(text.replace("2022", year) for year in ("2018", "2019", "2020", "2021"))


def chunked(path: Path):
    from index.chunking import chunk_document
    from index.loaders import load_document

    return chunk_document(load_document(path, 50 * 1024 * 1024), path.name, 320)


def expected_chunks(path: Path) -> int:
    return len(chunked(path).chunks)


def expected_texts(path: Path) -> int:
    """Chunks, sentences and section titles: every text the document needs a vector for."""
    from index.pipeline import sentence_records, texts_needed

    doc = chunked(path)
    return texts_needed(doc, sentence_records(doc))


def environment(tmp_path: Path, server: EmbeddingServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_INDEX_DIR=str(tmp_path / "index"), QA_DATA_DIR=str(tmp_path / "data"),
               QA_EMBEDDING_PROVIDER="openai", QA_EMBEDDING_BASE_URL=server.url,
               QA_EMBEDDING_BATCH_SIZE=str(BATCH), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", **extra)
    return env


def run_index(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def stored_chunks(index_dir: Path) -> int:
    """Every chunk in the collection, hidden ones included, read without opening (and tidying) the index."""
    code = ("import chromadb, sys; from chromadb.config import Settings; "
            "c = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False)); "
            "print(c.get_collection('reports').count())")
    result = subprocess.run([sys.executable, "-c", code, str(index_dir / "chroma")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return int(result.stdout.strip())


def staged_files(index_dir: Path) -> list[Path]:
    staging = index_dir / "staging"
    return [p for p in staging.rglob("*")] if staging.is_dir() else []


def kill_9(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(timeout=30)
    assert process.returncode == -9


# --- python -m index build ---------------------------------------------------------------------------

def test_kill_9_during_a_cli_build_leaves_the_document_absent_and_the_next_build_indexes_it_fully(
        tmp_path, embedding_server):
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / DOC
    path.write_text(big_report(), "utf-8")
    total = expected_chunks(path)
    env = environment(tmp_path, embedding_server)
    embedding_server.stall_after(WRITTEN_BATCHES)

    build = subprocess.Popen([sys.executable, "-m", "index", "build"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        embedding_server.wait_for_stall()
    finally:
        kill_9(build)

    assert stored_chunks(tmp_path / "index") == WRITTEN_BATCHES * BATCH < total  # really half-written
    listing = run_index("list", env=env)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.strip() == "index is empty"
    assert stored_chunks(tmp_path / "index") == 0  # rolled back on open

    embedding_server.drop_held()
    embedding_server.stall_after(None)
    rebuilt = run_index("build", env=env)

    assert rebuilt.returncode == 0, rebuilt.stderr
    cached = WRITTEN_BATCHES * BATCH  # embedded before the kill: taken from the cache, not sent again
    texts = expected_texts(path)
    assert f"added     {DOC}: {total} chunks, {texts - cached} embedded, {cached} reused" in rebuilt.stdout
    assert f"embedded {texts - cached} texts fresh, {cached} from the cache" in rebuilt.stdout
    assert not any(n > 1 for n in embedding_server.answered.values())
    assert f"1 document(s), {total} chunks" in run_index("list", env=env).stdout
    assert stored_chunks(tmp_path / "index") == total
    assert staged_files(tmp_path / "index") == []


# --- an upload through the web app -------------------------------------------------------------------

@contextmanager
def running_app(tmp_path: Path, env: dict[str, str], log_name: str) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / log_name, "wb") as log:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, (tmp_path / log_name).read_text()[-3000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "app.py did not start"
            time.sleep(0.3)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def post_document(url: str, content: bytes, timeout: float = 300) -> httpx.Response:
    return httpx.post(f"{url}/api/documents", headers={"X-Admin-Token": ADMIN_TOKEN}, timeout=timeout,
                      files={"files": (DOC, content, "text/plain")})


def documents(url: str) -> dict[str, int]:
    response = httpx.get(f"{url}/api/documents", timeout=60)
    assert response.status_code == 200, response.text
    return {d["doc_id"]: d["chunks"] for d in response.json()}


def test_kill_9_during_a_web_upload_leaves_the_document_absent_and_a_re_upload_indexes_it_fully(
        tmp_path, embedding_server):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "culture.md").write_text("一、文旅工作\n（一）特色文旅方兴未艾。打造特色民宿和农家乐。\n", "utf-8")
    content = big_report().encode("utf-8")
    (tmp_path / DOC).write_bytes(content)
    total = expected_chunks(tmp_path / DOC)
    env = environment(tmp_path, embedding_server, QA_ADMIN_TOKEN=ADMIN_TOKEN)

    with running_app(tmp_path, env, "first.log") as (url, app):
        assert documents(url) == {"culture.md": 1}
        embedding_server.stall_after(WRITTEN_BATCHES)
        upload = threading.Thread(target=lambda: _ignore_errors(post_document, url, content), daemon=True)
        upload.start()
        try:
            embedding_server.wait_for_stall()
        finally:
            kill_9(app)
    assert stored_chunks(tmp_path / "index") == 1 + WRITTEN_BATCHES * BATCH

    embedding_server.drop_held()
    embedding_server.stall_after(None)
    with running_app(tmp_path, env, "second.log") as (url, _):
        assert documents(url) == {"culture.md": 1}  # absent, not half
        assert staged_files(tmp_path / "index") == []
        assert stored_chunks(tmp_path / "index") == 1

        response = post_document(url, content)

        assert response.status_code == 200, response.text
        assert response.json()["results"] == [{"name": DOC, "ok": True, "message": f"已导入“{DOC}”：{total} 个片段"}]
        assert documents(url) == {"culture.md": 1, DOC: total}
        assert (tmp_path / "data" / DOC).read_bytes() == content
    assert staged_files(tmp_path / "index") == []


def _ignore_errors(function, *args) -> None:
    try:
        function(*args)
    except httpx.HTTPError:
        pass  # the server is killed mid-request
