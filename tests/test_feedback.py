"""👍/👎 feedback: the SQLite store (caps, CSV for Excel, two processes writing at once) and its HTTP side
(anyone may send, only an admin may read; Chinese 400s and 403s)."""
from __future__ import annotations

import csv
import io
import multiprocessing
import sqlite3

import pytest
from fastapi.testclient import TestClient

from web.feedback import MAX_COMMENT_CHARS, MAX_QUESTION_CHARS, MAX_SOURCES, FeedbackStore

QUESTION = "上半年生态环境做了什么？"
ANSWER = "根据《丽水市2024年政府工作报告》：全力整治生态环境[1]。"
SOURCE = {"n": 1, "doc": "lishui-2024", "title": "丽水市2024年政府工作报告", "section": "一、工作回顾",
          "text": "很长的原文……", "start": 10, "end": 90, "score": 0.8}
ADMIN_TOKEN = "s3cret-admin"
LOCAL = "http://127.0.0.1"


@pytest.fixture
def store(tmp_path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "feedback.sqlite3")


# --- the store --------------------------------------------------------------------------------
def test_add_list_and_count(store):
    first = store.add(QUESTION, ANSWER, "up", "很有用", [SOURCE], ["lishui-2024"])
    second = store.add("那下半年呢？", "下半年……", "down")
    assert second > first
    newest, oldest = store.list()
    assert newest["id"] == second and newest["rating"] == "down" and newest["sources"] == []
    assert oldest["question"] == QUESTION and oldest["comment"] == "很有用" and oldest["docs"] == ["lishui-2024"]
    # Only which passage it was is kept, not its text.
    assert oldest["sources"] == [{k: SOURCE[k] for k in ("n", "doc", "title", "section", "start", "end")}]
    assert [item["id"] for item in store.list(limit=1, offset=1)] == [first]
    assert store.counts() == {"total": 2, "up": 1, "down": 1}


@pytest.mark.parametrize("kwargs, message", [
    ({"rating": "meh"}, "评价只能是 up 或 down"),
    ({"rating": "UP"}, "评价只能是 up 或 down"),
    ({"question": "   "}, "问题不能为空"),
    ({"question": 5}, "问题应为文字"),
    ({"comment": ["x"]}, "意见应为文字"),
    ({"sources": ["x"]}, "来源应为对象列表"),
    ({"docs": [3]}, "报告编号应为文字"),
])
def test_bad_input_is_a_value_error_with_a_chinese_reason(store, kwargs, message):
    values = {"question": QUESTION, "answer": ANSWER, "rating": "up", **kwargs}
    with pytest.raises(ValueError) as error:
        store.add(**values)
    assert error.value.message_zh == message
    assert store.counts()["total"] == 0


def test_texts_and_lists_are_capped(store):
    store.add("问" * (MAX_QUESTION_CHARS + 50), ANSWER, "down", "意" * 5000, [SOURCE] * 100, ["d"] * 500)
    item = store.list()[0]
    assert len(item["question"]) == MAX_QUESTION_CHARS and len(item["comment"]) == MAX_COMMENT_CHARS
    assert len(item["sources"]) == MAX_SOURCES and len(item["docs"]) == 50


def test_the_csv_opens_in_excel_with_chinese_and_no_formulas(store):
    store.add(QUESTION, ANSWER, "up", "好", [SOURCE], ["lishui-2024"])
    store.add("=HYPERLINK(\"http://evil\")", "-1+2", "down", "@SUM(A1)")
    text = store.to_csv()
    assert text.startswith("\ufeff编号,")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["编号", "时间（UTC）", "评价", "问题", "回答", "意见", "来源", "报告"]
    assert rows[1][2:] == ["👍 有用", QUESTION, ANSWER, "好", "[1] 丽水市2024年政府工作报告 · 一、工作回顾", "lishui-2024"]
    assert rows[2][3:6] == ["'=HYPERLINK(\"http://evil\")", "'-1+2", "'@SUM(A1)"]
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")


def _add_many(path: str, label: str, count: int) -> None:
    store = FeedbackStore(path)
    for i in range(count):
        store.add(f"{label} 的第 {i} 个问题", "回答", "up" if i % 2 else "down")


def test_two_processes_write_to_one_file(tmp_path):
    path = str(tmp_path / "shared.sqlite3")
    FeedbackStore(path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_many, args=(path, label, 40)) for label in ("甲", "乙")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    store = FeedbackStore(path)
    assert store.counts() == {"total": 80, "up": 40, "down": 40}
    assert len({item["id"] for item in store.list(limit=100)}) == 80
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_store_path_is_a_setting(make_settings, monkeypatch, tmp_path):
    settings = make_settings()
    assert settings.feedback_path() == settings.index_dir / "feedback.sqlite3"
    monkeypatch.setenv("QA_FEEDBACK_DB", str(tmp_path / "elsewhere" / "votes.db"))
    from bot.settings import Settings

    assert Settings().feedback_path() == tmp_path / "elsewhere" / "votes.db"


# --- over HTTP --------------------------------------------------------------------------------
def _client(make_settings, fake_embeddings, **overrides):
    from bot.chain import Bot
    from index.components import open_index
    from web.app import create_app

    settings = make_settings(**overrides)
    bot = Bot(settings, open_index(settings, embeddings=fake_embeddings))
    return TestClient(create_app(bot, settings, ui=False), base_url=LOCAL), settings


@pytest.fixture
def client(make_settings, fake_embeddings):
    test_client, settings = _client(make_settings, fake_embeddings, admin_token=ADMIN_TOKEN)
    with test_client:
        yield test_client, settings


def test_a_rating_lands_in_sqlite(client):
    http, settings = client
    sent = http.post("/api/feedback", json={"question": QUESTION, "answer": ANSWER, "rating": "up",
                                            "comment": "清楚", "sources": [SOURCE], "docs": ["lishui-2024"]})
    assert sent.status_code == 200 and sent.json()["ok"] is True
    with sqlite3.connect(settings.index_dir / "feedback.sqlite3") as connection:
        row = connection.execute("SELECT id, question, rating, comment FROM feedback").fetchone()
    assert row == (sent.json()["id"], QUESTION, "up", "清楚")


@pytest.mark.parametrize("body, detail", [
    ({"question": QUESTION, "answer": ANSWER, "rating": "maybe"}, "rating 取值不受支持"),
    ({"question": QUESTION, "rating": "up"}, "answer 缺少此项"),
    ({"question": QUESTION, "answer": ANSWER, "rating": "up", "sources": "x"}, "sources 应为列表"),
    ({"question": QUESTION, "answer": ANSWER, "rating": "up", "extra": 1}, "extra 不支持此项"),
    ({"question": " ", "answer": ANSWER, "rating": "down"}, "问题不能为空"),
])
def test_bad_feedback_is_a_400_in_chinese(client, body, detail):
    http, _ = client
    response = http.post("/api/feedback", json=body)
    assert response.status_code == 400 and detail in response.json()["detail"]


def test_feedback_obeys_the_body_cap_and_the_origin_check(make_settings, fake_embeddings):
    http, _ = _client(make_settings, fake_embeddings, max_request_kb=4)
    with http:
        big = http.post("/api/feedback", json={"question": QUESTION, "answer": "长" * 5000, "rating": "up"})
        assert big.status_code == 413
        elsewhere = http.post("/api/feedback", json={"question": QUESTION, "answer": ANSWER, "rating": "up"},
                              headers={"Origin": "http://evil.example"})
        assert elsewhere.status_code == 403


@pytest.mark.parametrize("path", ["/api/feedback", "/api/feedback.csv"])
def test_reading_feedback_needs_the_admin_token(client, path):
    http, _ = client
    http.post("/api/feedback", json={"question": QUESTION, "answer": ANSWER, "rating": "down"})
    assert http.get(path).status_code == 403
    wrong = http.get(path, headers={"X-Admin-Token": "guess"})
    assert wrong.status_code == 403 and wrong.json()["detail"] == "查看反馈需要管理口令"
    assert http.get(path, headers={"X-Admin-Token": ADMIN_TOKEN}).status_code == 200


def test_the_admin_reads_json_pages_and_the_csv(client):
    http, _ = client
    for rating in ("up", "down", "up"):
        http.post("/api/feedback", json={"question": QUESTION, "answer": ANSWER, "rating": rating})
    admin = {"X-Admin-Token": ADMIN_TOKEN}
    page = http.get("/api/feedback", params={"limit": 2, "offset": 1}, headers=admin).json()
    assert (page["total"], page["up"], page["down"]) == (3, 2, 1)
    assert [item["rating"] for item in page["items"]] == ["down", "up"]
    exported = http.get("/api/feedback.csv", headers=admin)
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.content.startswith(b"\xef\xbb\xbf") and QUESTION in exported.content.decode("utf-8-sig")


def test_the_admin_page_needs_the_session_and_escapes_what_people_wrote(client):
    http, _ = client
    http.post("/api/feedback", json={"question": "<script>alert(1)</script>生态", "answer": ANSWER,
                                     "rating": "down", "comment": "<b>差</b>"})
    refused = http.get("/admin/feedback")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert "查看反馈需要管理口令" in refused.text and 'id="token"' in refused.text
    assert http.post("/api/admin/session", json={"token": ADMIN_TOKEN}).status_code == 200
    shown = http.get("/admin/feedback")
    assert shown.status_code == 200 and '<html lang="zh-CN">' in shown.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;生态" in shown.text and "<script>alert" not in shown.text
    assert "&lt;b&gt;差&lt;/b&gt;" in shown.text and "👎 没用" in shown.text
    assert 'href="../api/feedback.csv"' in shown.text and "共 1 条反馈" in shown.text


def test_without_an_admin_token_nobody_reads_feedback(make_settings, fake_embeddings):
    http, _ = _client(make_settings, fake_embeddings)
    with http:
        sent = http.post("/api/feedback", json={"question": QUESTION, "answer": ANSWER, "rating": "up"})
        assert sent.status_code == 200
        listing = http.get("/api/feedback", headers={"X-Admin-Token": "anything"})
        assert listing.status_code == 403 and "QA_ADMIN_TOKEN" in listing.json()["detail"]
        page = http.get("/admin/feedback")
        assert page.status_code == 403 and "QA_ADMIN_TOKEN" in page.text and 'id="token"' not in page.text
