"""The real app for attack replays: ``python app.py`` in a subprocess on 127.0.0.1, over real HTTP.

Each app gets its own folder: an index copied from one built once per session, a data folder with a
copy of the bundled report, and a private ``TMPDIR``, so every file the app leaves behind can be told
apart from other processes' files.
"""
from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import REPORT, ROOT, free_port

ADMIN_TOKEN = "security-test-admin-token-7c1f"
MAX_QUESTION_CHARS = 500
MB = 1024 * 1024
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def has_chinese(text: object) -> bool:
    return isinstance(text, str) and bool(_CHINESE.search(text))


# --- raw HTTP: bodies streamed from a generator, stopping as soon as the server answers ----------------
@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes sent before the server answered or closed

    def json(self):
        return json.loads(self.body)


def raw_request(base_url: str, method: str, path: str, headers: dict[str, str], chunks: Iterable[bytes],
                *, chunked: bool, timeout: float = 120.0) -> RawResponse:
    """Send a request whose body comes from ``chunks``; stop sending once a response is readable."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        head = {"Host": parts.netloc, "Connection": "close", **headers}
        if chunked:
            head["Transfer-Encoding"] = "chunked"
        lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in head.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        sent = _send_body(sock, chunks, chunked)
        return _read_response(sock, sent)


def _send_body(sock: socket.socket, chunks: Iterable[bytes], chunked: bool) -> int:
    sent = 0
    sock.settimeout(10)  # a server that neither reads nor answers ends the upload, not the test run
    try:
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                return sent
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    return sent


def _read_response(sock: socket.socket, sent: int) -> RawResponse:
    sock.settimeout(120)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        raise AssertionError(f"no HTTP response after sending {sent} bytes")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return RawResponse(int(status_line.split()[1]), headers, body, sent)


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


# --- the running app ------------------------------------------------------------------------------
@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen
    folder: Path
    token: str | None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def index_dir(self) -> Path:
        return self.folder / "index"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def tmp_dir(self) -> Path:
        return self.folder / "tmp"

    @property
    def log_path(self) -> Path:
        return self.folder / "app.log"

    def memory_kb(self, field_name: str) -> int:
        """VmRSS (now) or VmHWM (peak) of the server process, in kB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
        raise KeyError(field_name)

    def reset_peak_memory(self) -> None:
        """Start VmHWM afresh from the current RSS (Linux: write 5 to clear_refs)."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def tree_rss_kb(self) -> int:
        """Resident memory of the server and all its child processes (loaders may run in a child)."""
        return sum(_rss_kb(pid) for pid in _process_tree(self.pid))

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 60), **kwargs)

    def documents(self) -> list[dict]:
        with self.client() as http:
            response = http.get("/api/documents")
        assert response.status_code == 200, response.text
        return response.json()

    def raw(self, method: str, path: str, headers: dict[str, str], chunks: Iterable[bytes], *,
            chunked: bool) -> RawResponse:
        return raw_request(self.url, method, path, headers, chunks, chunked=chunked)

    def alive(self) -> bool:
        with self.client(timeout=30) as http:
            return http.get("/healthz").status_code == 200


def _process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
    return pids


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def app_environment(folder: Path, port: int, token: str | None, extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update({"QA_INDEX_DIR": str(folder / "index"), "QA_DATA_DIR": str(folder / "data"),
                "QA_PORT": str(port), "QA_HOST": "127.0.0.1", "QA_MAX_QUESTION_CHARS": str(MAX_QUESTION_CHARS),
                "TMPDIR": str(folder / "tmp"), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    if token:
        env["QA_ADMIN_TOKEN"] = token
    env.update(extra or {})
    return env


def prepare_folder(folder: Path, built_index: Path | None) -> None:
    """A data folder with the bundled report, a private tmp, and (when given) a copy of a built index."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    shutil.copyfile(REPORT, folder / "data" / REPORT.name)
    if built_index is not None and not (folder / "index").exists():
        shutil.copytree(built_index, folder / "index")


@contextmanager
def launch_app(folder: Path, *, built_index: Path | None = None, token: str | None = ADMIN_TOKEN,
               env: dict[str, str] | None = None, timeout: float = 240.0) -> Iterator[RunningApp]:
    """``python app.py`` on a free port; yields once /healthz answers, terminates it afterwards."""
    prepare_folder(folder, built_index)
    port = free_port()
    full_env = app_environment(folder, port, token, env)
    with open(folder / "app.log", "ab") as log:
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=full_env,
                                   stdout=log, stderr=subprocess.STDOUT)
    app = RunningApp(f"http://127.0.0.1:{port}", process, folder, token, full_env)
    try:
        _wait_until_healthy(app, timeout)
        yield app
    finally:
        stop(process)


def _wait_until_healthy(app: RunningApp, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"app.py exited with {app.process.returncode}:\n{app.log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{app.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"app.py did not answer /healthz within {timeout:.0f}s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def built_index(tmp_path_factory) -> Path:
    """The bundled report indexed once by ``python -m index build``; apps start from copies of it."""
    folder = tmp_path_factory.mktemp("built-index")
    prepare_folder(folder, None)
    env = app_environment(folder, 0, None, None)
    result = subprocess.run([sys.executable, "-m", "index", "build"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "index"


@pytest.fixture(scope="session")
def start_app(tmp_path_factory, built_index):
    """Start another app: ``with start_app("name", env={...}, token=...) as app``."""
    def start(name: str, **kwargs):
        kwargs.setdefault("built_index", built_index)
        return launch_app(tmp_path_factory.mktemp(name), **kwargs)

    return start


@pytest.fixture(scope="session")
def app(start_app) -> Iterator[RunningApp]:
    """The app with an admin token, shared by the replay tests; warmed up with one question."""
    with start_app("app") as running:
        with running.client() as http:
            assert http.post("/api/ask", json={"question": "上半年生态环境做了什么？"}).status_code == 200
        yield running
