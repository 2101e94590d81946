"""kill -9 while a document's chunks are being written: afterwards the document is absent or complete.

The embedding provider is ``openai`` pointed at a small embeddings server in this test: deterministic
vectors from a hash of each text, and, when told to, it stalls every passage request after the first
few. The indexer has then stored some batches of a document and waits on the next one; that is when
the process is killed.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.conftest import REPORT, ROOT, free_port

pytestmark = pytest.mark.slow

ADMIN_TOKEN = "crash-test-admin-token"
BATCH = 8
WRITTEN_BATCHES = 4  # passage requests answered before the server stalls
DOC = "big-report.txt"


class EmbeddingServer:
    """POST /v1/embeddings with hash-based vectors; ``stall_after(n)`` lets n more passage requests through."""

    def __init__(self) -> None:
        self.passages = 0
        self._allowed: int | None = None
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def stall_after(self, n: int | None) -> None:
        with self._lock:
            self._allowed = None if n is None else self.passages + n
            self._lock.notify_all()

    def wait_for_stall(self, timeout: float = 180.0) -> None:
        """Until a passage request is held back: the batches before it are embedded (and stored)."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._allowed is not None and self.passages > self._allowed, timeout):
                raise AssertionError(f"the indexer made only {self.passages} passage requests")

    def _admit(self, input_type: str) -> None:
        with self._lock:
            if input_type != "passage":
                return
            self.passages += 1
            self._lock.notify_all()
            self._lock.wait_for(lambda: self._allowed is None or self.passages <= self._allowed)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server._admit(request.get("input_type", ""))
                data = [{"object": "embedding", "index": i, "embedding": vector(text)}
                        for i, text in enumerate(request["input"])]
                body = json.dumps({"object": "list", "data": data, "model": request["model"],
                                   "usage": {"prompt_tokens": 0, "total_tokens": 0}}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client was killed while this request was held

            def log_message(self, *args) -> None:
                pass

        return Handler

    def __enter__(self) -> "EmbeddingServer":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stall_after(None)
        self._server.shutdown()
        self._server.server_close()


def vector(text: str, dims: int = 32) -> list[float]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    values = [b - 127.5 for b in digest[:dims]]
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


@pytest.fixture
def embedding_server() -> Iterator[EmbeddingServer]:
    with EmbeddingServer() as server:
        yield server


def big_report() -> str:
    """The bundled report four times over, each copy under another year: a few hundred chunks."""
    text = REPORT.read_text(encoding="utf-8")
    return "\n".join(text.replace("2022", year) for year in ("2018", "2019", "2020", "2021"))


def expected_chunks(path: Path) -> int:
    from index.chunking import chunk_document
    from index.loaders import load_document

    return len(chunk_document(load_document(path, 50 * 1024 * 1024), path.name, 320).chunks)


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

    embedding_server.stall_after(None)
    rebuilt = run_index("build", env=env)

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"added     {DOC}: {total} chunks, {total} embedded" in rebuilt.stdout
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
