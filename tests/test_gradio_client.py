"""``python app.py`` for real: it builds the missing index with progress, then gradio_client chats with it."""
from __future__ import annotations

import sys

import pytest

from tests.conftest import REPORT, ROOT, free_port, running_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    folder = tmp_path_factory.mktemp("launched-app")
    port = free_port()
    log_path = folder / "app.log"
    command = ["env", f"QA_INDEX_DIR={folder / 'index'}", f"QA_DATA_DIR={REPORT.parent}",
               sys.executable, str(ROOT / "app.py"), "--port", str(port)]
    with running_server(command, f"http://127.0.0.1:{port}/healthz", timeout=180, log_path=log_path):
        yield f"http://127.0.0.1:{port}/", log_path


@pytest.fixture(scope="module")
def client(launched):
    from gradio_client import Client

    return Client(launched[0], verbose=False)


def chat(client, question, messages):
    _, messages, copied = client.predict(question, messages, api_name="/chat")
    return messages, copied


def text_of(message) -> str:
    return "".join(part["text"] for part in message["content"])


def test_app_py_builds_the_missing_index_with_progress_then_serves(launched):
    log = launched[1].read_text()
    assert "正在建立索引：53/53 个片段" in log and "准备就绪" in log
    assert log.index("正在建立索引") < log.index("准备就绪") < log.index("Uvicorn running")


def test_gradio_client_asks_and_gets_the_answer_with_sources(client):
    messages, copied = chat(client, "上半年生态环境做了什么", [])
    user, answer, sources = messages
    assert text_of(user) == "上半年生态环境做了什么"
    assert "（六）全力整治生态环境" in text_of(answer)
    assert sources["metadata"]["title"].startswith("参考来源") and "<mark>" in text_of(sources)
    count = int(sources["metadata"]["title"].strip("参考来源（ 条）"))
    assert copied.splitlines()[-1].startswith(f"[{count}] district-report-2022-h1.txt · ")


def test_gradio_client_follows_up_on_the_conversation(client):
    messages, _ = chat(client, "上半年生态环境做了什么", [])
    messages, copied = chat(client, "那下半年呢？", messages)
    assert len(messages) == 6
    assert "（四）坚持绿色发展" in text_of(messages[-2])
    assert "下半年" in messages[-1]["metadata"]["log"]
    assert "[1] district-report-2022-h1.txt · 二、2022年下半年工作计划" in copied
