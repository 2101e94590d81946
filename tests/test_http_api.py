"""The HTTP side through FastAPI's test client and the official ``openai`` client, with the real bot."""
from __future__ import annotations

import base64

import openai
import pytest
from fastapi.testclient import TestClient

from bot.web import MODEL_ID, create_app

PORTAL = "http://portal.intranet.test"
EVIL = "http://evil.example"
CARD_QUESTION = "上半年生态环境做了什么"
ADMIN_TOKEN = "s3cret-admin"


@pytest.fixture(scope="module")
def client(report_bot, report_settings):
    """The whole app, chat pages included, with a portal origin allowed to frame and call it."""
    settings = report_settings.model_copy(update={"cors_origins": [PORTAL],
                                                  "frame_ancestors": ["'self'", PORTAL]})
    with TestClient(create_app(report_bot, settings)) as test_client:
        yield test_client


@pytest.fixture
def admin_client(make_settings, embeddings, tmp_path):
    """An API-only app on its own empty index and data folder, with an admin token."""
    from bot.chain import Bot
    from index.components import open_index

    settings = make_settings(admin_token=ADMIN_TOKEN)
    bot = Bot(settings, open_index(settings, embeddings=embeddings))
    with TestClient(create_app(bot, settings, ui=False)) as test_client:
        yield test_client, settings


def openai_client(http_client, api_key="unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{http_client.base_url}/v1", api_key=api_key, http_client=http_client)


# --- asking --------------------------------------------------------------------------------
def test_healthz_answers_with_the_index_size(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "chunks": 53}


def test_ask_returns_the_same_json_as_the_cli(client, report_bot):
    response = client.post("/api/ask", json={"question": CARD_QUESTION})
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"answer", "refused", "question", "sources", "timings_ms"}
    expected = report_bot.ask(CARD_QUESTION).to_dict()
    assert body["answer"] == expected["answer"] and body["sources"] == expected["sources"]
    assert "（六）全力整治生态环境" in body["sources"][0]["section"]
    assert set(body["sources"][0]) == {"n", "doc", "section", "text", "start", "end", "score"}


def test_ask_resolves_a_follow_up_from_the_history(client):
    first = client.post("/api/ask", json={"question": CARD_QUESTION}).json()
    history = [{"role": "user", "content": CARD_QUESTION}, {"role": "assistant", "content": first["answer"]}]
    body = client.post("/api/ask", json={"question": "那下半年呢？", "history": history}).json()
    assert "下半年" in body["question"] and "（四）坚持绿色发展" in body["sources"][0]["section"]


@pytest.mark.parametrize("question, message", [("", "请输入问题。"), ("问" * 501, "问题太长了"),
                                               ("生态\x00环境", "控制字符")])
def test_ask_rejects_bad_input_with_a_chinese_message(client, question, message):
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 400 and message in response.json()["detail"]


def test_a_malformed_request_gets_a_chinese_message(client):
    response = client.post("/api/ask", json={"history": "oops"})
    assert response.status_code == 422 and response.json()["detail"].startswith("请求格式不正确")


def test_the_openai_client_gets_an_answer_with_references(client):
    completion = openai_client(client).chat.completions.create(
        model=MODEL_ID, messages=[{"role": "system", "content": "ignored"}, {"role": "user", "content": CARD_QUESTION}])
    assert completion.choices[0].finish_reason == "stop"
    assert "全力整治生态环境" in completion.choices[0].message.content
    references = completion.model_extra["references"]
    assert references[0]["n"] == 1 and "（六）全力整治生态环境" in references[0]["section"]


def test_the_openai_client_streams_deltas_then_references(client, report_bot):
    stream = openai_client(client).chat.completions.create(
        model=MODEL_ID, stream=True, messages=[{"role": "user", "content": CARD_QUESTION}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert text == report_bot.ask(CARD_QUESTION).answer == chunks[-1].model_extra["answer"]
    assert chunks[-1].model_extra["references"][0]["n"] == 1


def test_the_openai_stream_is_server_sent_events_ending_with_done(client):
    with client.stream("POST", "/v1/chat/completions",
                       json={"model": MODEL_ID, "stream": True,
                             "messages": [{"role": "user", "content": [{"type": "text", "text": CARD_QUESTION}]}]}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-accel-buffering"] == "no"
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"


def test_the_openai_client_sees_bad_input_as_a_400_in_chinese(client):
    api = openai_client(client)
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "问" * 501}])
    assert "问题太长了" in str(caught.value)
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model=MODEL_ID, stream=True,
                                    messages=[{"role": "assistant", "content": "你好"}])
    assert "最后一条消息" in str(caught.value)


def test_models_lists_the_bot(client):
    assert [m.id for m in openai_client(client).models.list()] == [MODEL_ID]


def test_openapi_docs_are_served_without_a_cdn(client):
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/api/ask", "/v1/chat/completions"}
    page = client.get("/docs").text
    assert "/static-offline-docs/swagger-ui-bundle.js" in page and "cdn." not in page
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


# --- pages and security ------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/embed/", "/healthz", "/config", "/gradio.js"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "img-src 'self' data: blob:" in csp and f"frame-ancestors 'self' {PORTAL}" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_cors_answers_only_the_allowed_origin(client):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/api/ask", headers={"Origin": PORTAL, **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == PORTAL
    refused = client.options("/api/ask", headers={"Origin": EVIL, **preflight})
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    for path in ("/healthz", "/config", "/gradio_api/info"):  # Gradio's own routes echo nothing either
        assert "access-control-allow-origin" not in client.get(path, headers={"Origin": EVIL}).headers
    assert client.get("/config", headers={"Origin": PORTAL}).headers["access-control-allow-origin"] == PORTAL


def test_a_write_from_a_foreign_origin_is_refused(client):
    response = client.post("/api/ask", json={"question": CARD_QUESTION}, headers={"Origin": EVIL})
    assert response.status_code == 403
    assert client.post("/api/ask", json={"question": CARD_QUESTION}, headers={"Origin": PORTAL}).status_code == 200


def test_monitoring_is_off_and_analytics_disabled(client):
    assert client.get("/monitoring").status_code == 403
    assert client.get("/config").json()["analytics_enabled"] is False


def test_both_chat_pages_serve_several_people_at_once(client, report_settings):
    from starlette.routing import Mount

    pages = [route.app.get_blocks() for route in client.app.routes if isinstance(route, Mount)
             and hasattr(route.app, "get_blocks")]
    assert len(pages) == 2 and report_settings.concurrency > 1
    assert all(page._queue.default_concurrency_limit == report_settings.concurrency for page in pages)


def test_the_web_component_script_and_its_assets_come_from_the_app(client):
    script = client.get("/gradio.js")
    assert script.headers["content-type"].startswith("text/javascript")
    asset = script.text.split('"./', 1)[1].split('"', 1)[0]
    assert client.get(f"/{asset}").status_code == 200


def test_the_embed_page_is_a_separate_compact_app(client):
    assert client.get("/embed", follow_redirects=False).headers["location"] == "/embed/"
    config = client.get("/embed/config").json()
    labels = {c["props"].get("label") for c in config["components"]}
    assert config["fill_height"] is True and "删除文档" not in labels
    assert "删除文档" in {c["props"].get("label") for c in client.get("/config").json()["components"]}


# --- documents and the admin token ---------------------------------------------------------
NOTE = "一、2022年上半年工作\n（一）建设智慧停车。全区新建智慧停车泊位三百个，覆盖老城区主要街道。\n"


def test_documents_need_the_admin_token_to_change(admin_client, tmp_path):
    client, settings = admin_client
    upload = {"files": ("parking.md", NOTE.encode(), "text/markdown")}
    assert client.post("/api/documents", files=upload).status_code == 403
    assert client.post("/api/documents", files=upload, headers={"X-Admin-Token": "wrong"}).status_code == 403

    response = client.post("/api/documents", files=upload, headers={"X-Admin-Token": ADMIN_TOKEN})
    assert response.json()["results"] == [{"name": "parking.md", "ok": True, "message": "已导入“parking.md”：1 个片段"}]
    assert (settings.data_dir / "parking.md").read_text() == NOTE
    assert [d["doc_id"] for d in client.get("/api/documents").json()] == ["parking.md"]
    answer = client.post("/api/ask", json={"question": "智慧停车泊位建了多少"}).json()
    assert "三百个" in answer["answer"] and answer["sources"][0]["doc"] == "parking.md"

    assert client.delete("/api/documents/parking.md").status_code == 403
    removed = client.delete("/api/documents/parking.md", headers={"X-Admin-Token": ADMIN_TOKEN})
    assert removed.json() == {"ok": True, "message": "已删除文档“parking.md”（1 个片段）"}
    assert client.get("/api/documents").json() == []
    assert not (settings.data_dir / "parking.md").exists()
    assert (settings.index_dir / "removed" / "parking.md").exists()
    assert client.delete("/api/documents/parking.md", headers={"X-Admin-Token": ADMIN_TOKEN}).status_code == 404


def test_uploads_are_checked_for_type_size_and_name(admin_client):
    client, settings = admin_client
    headers = {"X-Admin-Token": ADMIN_TOKEN}
    big = b"x" * int(settings.max_upload_mb * 1024 * 1024 + 1)
    files = [("files", ("tool.exe", b"MZ", "application/octet-stream")), ("files", ("big.txt", big, "text/plain")),
             ("files", ("../../.hidden.txt", b"a", "text/plain")), ("files", ("empty.txt", b"", "text/plain"))]
    results = client.post("/api/documents", files=files, headers=headers).json()["results"]
    messages = [r["message"] for r in results]
    assert not any(r["ok"] for r in results)
    assert "不支持" in messages[0] and "过大" in messages[1] and messages[2] == "文件名无效" and "空的" in messages[3]
    assert client.get("/api/documents").json() == [] and not list(settings.data_dir.glob("*"))


# --- optional login ----------------------------------------------------------------------------
def test_the_app_password_guards_everything_but_healthz(report_bot, report_settings):
    settings = report_settings.model_copy(update={"app_password": "pw", "app_user": "staff"})
    with TestClient(create_app(report_bot, settings, ui=False)) as client:
        assert client.get("/healthz").status_code == 200
        denied = client.post("/api/ask", json={"question": CARD_QUESTION})
        assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic")
        basic = {"Authorization": "Basic " + base64.b64encode(b"staff:pw").decode()}
        assert client.post("/api/ask", json={"question": CARD_QUESTION}, headers=basic).status_code == 200
        wrong = {"Authorization": "Basic " + base64.b64encode(b"staff:nope").decode()}
        assert client.get("/api/documents", headers=wrong).status_code == 401
        assert openai_client(client, api_key="pw").models.list().data[0].id == MODEL_ID
        with pytest.raises(openai.AuthenticationError):
            openai_client(client, api_key="nope").models.list()


def test_a_trusted_proxy_user_header_admits_the_request(report_bot, report_settings):
    settings = report_settings.model_copy(update={"proxy_user_header": "X-Remote-User"})
    with TestClient(create_app(report_bot, settings, ui=False)) as client:
        assert client.get("/api/documents").status_code == 401
        assert client.get("/api/documents", headers={"X-Remote-User": "zhang.san"}).status_code == 200


def test_list_settings_read_comma_separated_or_json_environment_values(monkeypatch):
    from bot.settings import Settings

    monkeypatch.setenv("QA_CORS_ORIGINS", f"{PORTAL}, http://b.test")
    monkeypatch.setenv("QA_FRAME_ANCESTORS", f'["\'self\'", "{PORTAL}"]')
    settings = Settings()
    assert settings.cors_origins == [PORTAL, "http://b.test"] and settings.frame_ancestors == ["'self'", PORTAL]
