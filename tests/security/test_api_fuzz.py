"""Property-based fuzzing of the question/history API, in-process around the real app and the real bot.

Any question (surrogates, control characters, huge), any history shape (wrong roles, parts, file parts,
nested junk) and any bytes: never a 500, always the API's own JSON error with a Chinese message, a capped
question when answered, and an index no request changes. What is checked is the API's handling, not
what the answers say, so the bot searches with the stand-in embedding model (see tests/conftest.py).
"""
from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from web.app import create_app

CHINESE = re.compile(r"[\u4e00-\u9fff]")
FUZZ = settings(max_examples=100, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- strategies -------------------------------------------------------------------------------------------
characters = st.characters() | st.characters(categories=["Cs"]) | st.characters(categories=["Cc"])
texts = st.text(characters, max_size=40)
huge_texts = st.builds(lambda unit, times: unit * times, st.text(characters, min_size=1, max_size=4),
                       st.integers(200, 60_000))
asked = st.sampled_from(["上半年生态环境做了什么？", "那下半年呢？", "具体说说第二点", ""])
questions = asked | st.builds(lambda question, tail: question + tail, asked, texts) | texts | huge_texts
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                    max_leaves=10)
roles = st.sampled_from(["user", "assistant", "system", "tool", "developer", "", "USER", "助手"]) | junk
parts = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": questions}),
    st.fixed_dictionaries({"type": st.just("file"),
                           "file": st.fixed_dictionaries({"path": st.sampled_from(["/etc/hostname",
                                                                                    "/proc/self/environ"]),
                                                          "meta": st.just({"_type": "gradio.FileData"})})}),
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.just({"url": "http://evil.example/x.png"})}),
    st.dictionaries(texts, junk, max_size=3))
contents = questions | st.lists(parts, max_size=4) | junk
messages = st.fixed_dictionaries({"role": roles, "content": contents}) | junk
histories = (st.lists(messages, max_size=8)
             | st.builds(lambda message, times: [message] * times, messages, st.integers(0, 300)) | junk)


def _ask_bodies():
    shaped = st.fixed_dictionaries({"question": questions}, optional={"history": histories})
    return shaped | st.dictionaries(texts, junk, max_size=4) | junk


def _completion_bodies():
    conversation = st.builds(lambda history, last: history + [last], st.lists(messages, max_size=6),
                             st.fixed_dictionaries({"role": st.just("user"), "content": contents}))
    shaped = st.fixed_dictionaries({"messages": conversation | histories},
                                   optional={"model": st.just("report-qa") | junk, "stream": st.booleans() | junk,
                                             "temperature": scalars})
    return shaped | junk


def encoded(body) -> bytes:
    return json.dumps(body, ensure_ascii=True).encode()  # lone surrogates travel as \udXXX escapes


def _corrupted(data: bytes, at: int, garbage: bytes) -> bytes:
    at %= len(data) + 1
    return data[:at] + garbage + data[at + len(garbage):]


raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(_corrupted, st.builds(encoded, _ask_bodies()), st.integers(0, 10_000),
              st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\x00", b"\\ud800", b"\"", b"{", b"\xc3"])))


# --- the app --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report_bot(fake_report_bot):
    return fake_report_bot


@pytest.fixture(scope="module")
def report_settings(fake_report_settings):
    return fake_report_settings


@pytest.fixture(scope="module")
def api(report_bot, report_settings):
    app = create_app(report_bot, report_settings, ui=False)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield client, report_bot


def index_state(bot) -> tuple[int, object]:
    store = bot.components.store
    return store.count(), store.revision()


def assert_fails_safely(response, *, openai: bool, cap: int) -> None:
    text = response.text
    assert response.status_code in (200, 400, 413), (response.status_code, text[:300])
    assert "Traceback" not in text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        assert response.status_code == 200 and text.rstrip().endswith("data: [DONE]"), text[-300:]
        return
    body = response.json()
    if response.status_code == 200:
        assert len(body["question"]) <= cap
    elif openai:
        error = body["error"]
        assert CHINESE.search(error["message"]) and error["type"] == "invalid_request_error", body
    else:
        assert isinstance(body["detail"], str) and CHINESE.search(body["detail"]), body


def post(client, path: str, data: bytes):
    return client.post(path, content=data, headers={"Content-Type": "application/json"})


# --- properties ---------------------------------------------------------------------------------------------
@FUZZ
@given(body=_ask_bodies())
@example(body={"question": "\ud800"})
@example(body={"question": "上半年生态\udfff环境做了什么？", "history": [{"role": "user", "content": "\ud800"}]})
def test_api_ask_answers_or_refuses_any_json_body(api, body):
    client, bot = api
    before = index_state(bot)
    response = post(client, "/api/ask", encoded(body))
    assert_fails_safely(response, openai=False, cap=bot.settings.max_question_chars)
    assert index_state(bot) == before


@FUZZ
@given(body=_completion_bodies())
@example(body={"messages": [{"role": "user", "content": "\ud800"}]})
@example(body={"stream": True, "messages": [{"role": "user", "content": [{"type": "text", "text": "\ud800"}]}]})
def test_v1_chat_completions_answers_or_refuses_any_json_body(api, body):
    client, bot = api
    before = index_state(bot)
    response = post(client, "/v1/chat/completions", encoded(body))
    assert_fails_safely(response, openai=True, cap=bot.settings.max_question_chars)
    assert index_state(bot) == before


@FUZZ
@given(path=st.sampled_from(["/api/ask", "/v1/chat/completions"]), data=raw_bodies)
def test_any_bytes_get_the_apis_own_error(api, path, data):
    client, bot = api
    before = index_state(bot)
    response = post(client, path, data)
    assert_fails_safely(response, openai=path.startswith("/v1"), cap=bot.settings.max_question_chars)
    assert index_state(bot) == before
