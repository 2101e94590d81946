"""``python app.py`` for real: it builds the missing index with progress, then gradio_client chats with it;
raw HTTP shows what Gradio's own routes refuse."""
from __future__ import annotations

import json
import re
import shutil
import socket
import sys
import uuid

import httpx
import pytest

from tests.conftest import REPORT, ROOT, free_port, running_server

pytestmark = pytest.mark.slow
TOKEN = "token-from-a-file"


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    folder = tmp_path_factory.mktemp("launched-app")
    port = free_port()
    log_path = folder / "app.log"
    token_file = folder / "admin-token"
    token_file.write_text(TOKEN + "\n")
    data = folder / "data"  # one report: building the whole bundled library would take minutes here
    data.mkdir()
    shutil.copy(REPORT, data)
    command = ["env", f"QA_INDEX_DIR={folder / 'index'}", f"QA_DATA_DIR={data}",
               f"QA_ADMIN_TOKEN_FILE={token_file}", "QA_MAX_UPLOAD_MB=1",
               sys.executable, str(ROOT / "app.py"), "--port", str(port)]
    with running_server(command, f"http://127.0.0.1:{port}/healthz", timeout=180, log_path=log_path):
        yield f"http://127.0.0.1:{port}/", log_path


@pytest.fixture(scope="module")
def client(launched):
    from gradio_client import Client

    return Client(launched[0], verbose=False)


def chat(client, question, messages, docs=()):
    _, messages = client.predict(question, messages, list(docs), api_name="/chat")
    return messages


def text_of(message) -> str:
    return "".join(part["text"] for part in message["content"])


def test_app_py_builds_the_missing_index_with_progress_then_serves(launched):
    log = launched[1].read_text()
    done = re.findall(r"正在建立索引：(\d+)/(\d+) 段文字", log)
    assert done and done[-1][0] == done[-1][1] and int(done[-1][1]) > 53  # chunks, sentences and titles
    assert "准备就绪" in log
    assert log.index("正在建立索引") < log.index("准备就绪") < log.index("Uvicorn running")
    assert "只接受这些主机名的请求：127.0.0.1, localhost, ::1（用 QA_ALLOWED_HOSTS 修改）" in log
    assert TOKEN not in log


def test_gradio_client_asks_and_gets_the_answer_with_sources(client):
    user, answer = chat(client, "上半年生态环境做了什么", [])
    assert text_of(user) == "上半年生态环境做了什么"
    text = text_of(answer)
    assert "（六）全力整治生态环境" in text and "\n\n**来源**\n\\[1\\] [" in text
    assert "(reports/district-report-2022-h1.txt?at=" in text  # each source links to the report viewer


def test_gradio_client_follows_up_on_the_conversation(client):
    messages = chat(client, "上半年生态环境做了什么", [])
    messages = chat(client, "那下半年呢？", messages, ["district-report-2022-h1.txt"])
    assert len(messages) == 4
    follow_up = text_of(messages[-1])
    assert follow_up.startswith("（已按“") and "下半年" in follow_up.split("\n")[0]
    assert "（四）坚持绿色发展" in follow_up


# --- what Gradio's routes refuse ------------------------------------------------------------------
def event_of(base: str, *, api_name: str | None = None, input_label: str | None = None) -> tuple[int, int]:
    """(fn_index, trigger id) of the page's event with that API name or with an input of that label."""
    config = httpx.get(base + "config").json()
    labels = {c["id"]: c["props"].get("label") for c in config["components"]}
    for dependency in config["dependencies"]:
        if (api_name and dependency.get("api_name") == api_name) or \
                (input_label and any(labels.get(i) == input_label for i in dependency["inputs"])):
            return dependency["id"], dependency["targets"][0][0]
    raise LookupError(api_name or input_label)


def run_event(base: str, event: tuple[int, int], data: list) -> dict:
    """Send an event through Gradio's queue, as the page does, and return its completion message."""
    session = uuid.uuid4().hex
    fn_index, trigger = event
    joined = httpx.post(base + "gradio_api/queue/join",
                        json={"fn_index": fn_index, "trigger_id": trigger, "session_hash": session, "data": data})
    assert joined.status_code == 200
    with httpx.stream("GET", base + f"gradio_api/queue/data?session_hash={session}", timeout=60) as stream:
        for line in stream.iter_lines():
            message = json.loads(line[6:]) if line.startswith("data: ") else {}
            if message.get("msg") == "process_completed":
                return message
    raise AssertionError("the event did not complete")


def cached_files(launched) -> list[str]:
    return [p.name for p in (launched[1].parent / "index" / "web-cache").rglob("*") if p.is_file()]


@pytest.mark.parametrize("path", ["/etc/hostname", "/proc/self/environ"])
def test_the_issues_file_read_through_the_chat_history_fails_safely(launched, path):
    base = launched[0]
    history = [{"role": "user", "content": [{"type": "file", "file": {"path": path, "meta": {"_type": "gradio.FileData"}}}]}]
    done = run_event(base, event_of(base, api_name="chat"), ["上半年生态环境做了什么？", history, []])
    assert done["success"] is False and done["output"]["error"] == "只能发送文字，不能附带文件。"
    assert "file=" not in json.dumps(done) and path.rsplit("/", 1)[-1] not in cached_files(launched)
    response = httpx.get(base + f"gradio_api/file={path}")
    assert response.status_code == 403 and response.json() == {"detail": "不允许访问该文件"}
    assert TOKEN not in response.text


def test_the_documents_tab_imports_no_file_named_by_a_server_path(launched):
    base = launched[0]
    files = [{"path": str(REPORT), "orig_name": "x.txt", "meta": {"_type": "gradio.FileData"}}]
    done = run_event(base, event_of(base, input_label="替换同名文档"), [files, TOKEN, True])
    assert done["success"] is False and done["output"]["error"] == "只能导入通过本页上传的文件。"


def test_gradio_upload_needs_the_token_and_keeps_to_the_size_cap(launched):
    base, note = launched[0], {"files": ("note.md", "一、上半年\n（一）停车。".encode(), "text/markdown")}
    refused = httpx.post(base + "gradio_api/upload", files=note)
    assert refused.status_code == 403 and refused.json() == {"detail": "管理口令不正确"}
    accepted = httpx.post(base + "gradio_api/upload", files=note, headers={"X-Admin-Token": TOKEN})
    assert accepted.status_code == 200 and httpx.get(base + f"gradio_api/file={accepted.json()[0]}").status_code == 200
    big = {"files": ("big.txt", b"x" * (1024 * 1024 + 100), "text/plain")}
    too_big = httpx.post(base + "gradio_api/upload", files=big, headers={"X-Admin-Token": TOKEN})
    assert too_big.status_code == 413 and too_big.json() == {"detail": "文件过大，每个文件不超过 1 MB"}


def raw_chunked_post(base: str, path: str, limit: int = 200 * 1024 * 1024) -> bytes:
    """POST a chunked body of up to ``limit`` bytes, stop as soon as the server answers, return the answer."""
    host, port = httpx.URL(base).host, httpx.URL(base).port
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk, sent = b'{"question": "' + b"a" * 65536, 0
        sock.setblocking(False)
        try:
            while sent < limit:
                try:
                    sock.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                except BlockingIOError:
                    pass
                try:
                    first = sock.recv(65536)
                    break
                except BlockingIOError:
                    continue
        except OSError:
            first = b""
        sock.setblocking(True)
        answer = first
        try:
            while part := sock.recv(65536):
                answer += part
        except OSError:
            pass
    assert sent < limit, "the server read the whole body"
    return answer


@pytest.mark.parametrize("path", ["/api/ask", "/v1/chat/completions", "/gradio_api/queue/join"])
def test_a_chunked_body_over_the_cap_gets_413_before_it_is_all_read(launched, path):
    answer = raw_chunked_post(launched[0], path)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"connection: close" in head.lower()
    assert "请求内容过大" in body.decode()
    assert httpx.get(launched[0] + "healthz").status_code == 200


def test_a_foreign_host_and_origin_are_refused(launched):
    headers = {"Host": "rebound.example", "Origin": "http://rebound.example"}
    response = httpx.post(launched[0] + "gradio_api/queue/join", json={"data": []}, headers=headers)
    assert response.status_code == 400 and response.json() == {"detail": "不允许的主机名"}
