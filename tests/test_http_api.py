"""The HTTP side through FastAPI's test client and the official ``openai`` client, with the real bot.

Status codes, formats and guards are checked here, not answer quality, so the bot searches with the
stand-in embedding model (see conftest).
"""
from __future__ import annotations

import base64
import json

import openai
import pytest
from fastapi.testclient import TestClient

from web.app import create_app
from web.schemas import MODEL_ID

PORTAL = "http://portal.intranet.test"
EVIL = "http://evil.example"
CARD_QUESTION = "上半年生态环境做了什么"
ADMIN_TOKEN = "s3cret-admin"
LOCAL = "http://127.0.0.1"  # a host name the app answers to by default


@pytest.fixture(scope="module")
def report_bot(fake_report_bot):
    return fake_report_bot


@pytest.fixture(scope="module")
def report_settings(fake_report_settings):
    return fake_report_settings


@pytest.fixture(scope="module")
def client(report_bot, report_settings):
    """The whole app, chat pages included, with a portal origin allowed to frame and call it."""
    settings = report_settings.model_copy(update={"cors_origins": [PORTAL], "admin_token": ADMIN_TOKEN,
                                                  "frame_ancestors": ["'self'", PORTAL]})
    with TestClient(create_app(report_bot, settings), base_url=LOCAL) as test_client:
        yield test_client


@pytest.fixture
def admin_client(make_settings, fake_embeddings, tmp_path):
    """An API-only app on its own empty index and data folder, with an admin token."""
    from bot.chain import Bot
    from index.components import open_index

    settings = make_settings(admin_token=ADMIN_TOKEN)
    bot = Bot(settings, open_index(settings, embeddings=fake_embeddings))
    with TestClient(create_app(bot, settings, ui=False), base_url=LOCAL) as test_client:
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
    assert set(body) == {"answer", "refused", "question", "sources", "timings_ms", "suggestions"}
    expected = report_bot.ask(CARD_QUESTION).to_dict()
    assert body["answer"] == expected["answer"] and body["sources"] == expected["sources"]
    assert "（六）全力整治生态环境" in body["sources"][0]["section"]
    assert set(body["sources"][0]) == {"n", "doc", "title", "section", "text", "start", "end", "score"}


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
    assert response.status_code == 400 and response.json()["detail"].startswith("请求格式不正确")
    assert "question 缺少此项" in response.json()["detail"] and "history 应为列表" in response.json()["detail"]


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
    assert [p.suffix for p in (settings.index_dir / "removed").glob("parking.*")] == [".md"]
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
    with TestClient(create_app(report_bot, settings, ui=False), base_url=LOCAL) as client:
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
    with TestClient(create_app(report_bot, settings, ui=False), base_url=LOCAL) as client:
        assert client.get("/api/documents").status_code == 401
        assert client.get("/api/documents", headers={"X-Remote-User": "zhang.san"}).status_code == 200


def test_list_settings_read_comma_separated_or_json_environment_values(monkeypatch):
    from bot.settings import Settings

    monkeypatch.setenv("QA_CORS_ORIGINS", f"{PORTAL}, http://b.test")
    monkeypatch.setenv("QA_FRAME_ANCESTORS", f'["\'self\'", "{PORTAL}"]')
    settings = Settings()
    assert settings.cors_origins == [PORTAL, "http://b.test"] and settings.frame_ancestors == ["'self'", PORTAL]


# --- bad input, one error shape per API ---------------------------------------------------------
def completion_request(content, stream=False) -> dict:
    return {"model": MODEL_ID, "stream": stream, "messages": [{"role": "user", "content": content}]}


def assert_openai_error(response, status: int, text: str) -> None:
    error = response.json()["error"]
    assert response.status_code == status and text in error["message"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] is None
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")


LONE_SURROGATE = '"\\ud800"'  # valid JSON, but not text


@pytest.mark.parametrize("where", ["question", "history"])
def test_a_lone_surrogate_is_a_400_in_chinese_on_the_api(client, where):
    history = f'[{{"role": "user", "content": {LONE_SURROGATE}}}]' if where == "history" else "[]"
    question = LONE_SURROGATE if where == "question" else '"生态环境"'
    body = f'{{"question": {question}, "history": {history}}}'
    response = client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "无法识别的字符" in response.json()["detail"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_lone_surrogate_is_an_openai_400_on_v1(client, stream):
    body = json.dumps(completion_request("生态环境", stream), ensure_ascii=False).replace('"生态环境"', LONE_SURROGATE)
    response = client.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert_openai_error(response, 400, "无法识别的字符")


def test_invalid_utf8_is_a_400_in_chinese_on_both_apis(client):
    body = b'{"question": "\xff\xfe\xfd"}'
    response = client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json() == {"detail": "请求内容无法解析，请发送 UTF-8 编码的 JSON 或有效的表单"}
    response = client.post("/v1/chat/completions", content=b'{"messages": [{"role": "user", "content": "\xff"}]}',
                           headers={"Content-Type": "application/json"})
    assert_openai_error(response, 400, "请求内容无法解析")


def test_malformed_json_and_unknown_paths_answer_in_each_apis_shape(client):
    response = client.post("/api/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["detail"] == "请求格式不正确：请求体不是有效的 JSON"
    assert_openai_error(client.post("/v1/chat/completions", json={"messages": []}), 400, "messages 过短")
    assert_openai_error(client.get("/v1/no-such-thing"), 404, "没有这个接口")
    assert client.get("/api/no-such-thing").json() == {"detail": "没有这个接口"}


def test_a_text_field_where_a_file_belongs_is_a_chinese_400(admin_client):
    client, _ = admin_client
    response = client.post("/api/documents", files={"files": (None, "not a file")},
                           headers={"X-Admin-Token": ADMIN_TOKEN})
    assert response.status_code == 400 and response.json() == {"detail": "请求格式不正确：files.0 应为文件"}


def test_an_unexpected_failure_is_a_chinese_500_without_a_trace(report_bot):
    class Broken:
        settings, components = report_bot.settings, report_bot.components

        def ask(self, question, history):
            raise RuntimeError("index exploded at /srv/secret/path")

    with TestClient(create_app(Broken(), ui=False), base_url=LOCAL, raise_server_exceptions=False) as client:
        response = client.post("/api/ask", json={"question": CARD_QUESTION})
        assert response.status_code == 500 and response.json() == {"detail": "服务器内部错误，请稍后再试"}
        response = client.post("/v1/chat/completions", json=completion_request(CARD_QUESTION))
        assert_openai_error(response, 500, "服务器内部错误")
        assert "/srv/secret" not in response.text


def test_a_declared_body_over_the_cap_is_refused_before_it_is_read(client, report_settings):
    body = b'{"question": "' + b"a" * (report_settings.max_request_kb * 1024) + b'"}'
    response = client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json() == {"detail": "请求内容过大"}
    assert response.headers["connection"] == "close"
    response = client.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert_openai_error(response, 413, "请求内容过大")


def test_a_300_kb_history_is_cut_and_the_rewritten_question_obeys_the_cap(client, report_settings):
    topic = "生态环境" * 75_000
    history = [{"role": "user", "content": topic}, {"role": "assistant", "content": "好的"}]
    body = client.post("/api/ask", json={"question": "那下半年呢？", "history": history}).json()
    # the history keeps its most recent max_history_chars; the rewrite is cut to the question cap
    assert body["question"].startswith("下半年") and len(body["question"]) == report_settings.max_question_chars
    assert "（四）坚持绿色发展" in body["sources"][0]["section"]


# --- Host allow-list ------------------------------------------------------------------------------
@pytest.mark.parametrize("host, status", [("127.0.0.1", 200), ("localhost:7860", 200), ("[::1]:7860", 200),
                                          ("LOCALHOST.", 200), ("evil.example", 400), ("evil.example:7860", 400),
                                          ("127.0.0.1.evil.example", 400), ("", 400)])
def test_only_the_listen_host_and_loopback_names_are_answered(client, host, status):
    response = client.get("/healthz", headers={"Host": host})
    assert response.status_code == status
    if status == 400:
        assert response.json() == {"detail": "不允许的主机名"}


def test_a_rebound_name_cannot_reach_the_chat_either(client):
    headers = {"Host": "evil.example", "Origin": "http://evil.example"}
    response = client.post("/gradio_api/queue/join", json={"fn_index": 0, "data": []}, headers=headers)
    assert response.status_code == 400 and response.json() == {"detail": "不允许的主机名"}


def test_allowed_hosts_come_from_the_setting_or_the_listen_address(monkeypatch, report_settings):
    from web.security import HostAllowList, allowed_hosts
    from bot.settings import Settings

    assert allowed_hosts(report_settings) == ["127.0.0.1", "localhost", "::1"]
    assert allowed_hosts(report_settings.model_copy(update={"host": "0.0.0.0"})) == ["*"]
    monkeypatch.setenv("QA_ALLOWED_HOSTS", "qa.example.com:443, *.intranet.test")
    hosts = allowed_hosts(Settings())
    assert hosts == ["qa.example.com", "*.intranet.test"]
    guard = HostAllowList(None, hosts)
    assert guard.allows("qa.example.com") and guard.allows("bot.intranet.test:8080")
    assert not guard.allows("intranet.test.evil.example") and not guard.allows("localhost")


# --- admin token, session cookie, Gradio's upload and file routes -----------------------------------
def test_the_admin_token_is_kept_only_as_digests(tmp_path):
    from web.auth import AdminGate
    from bot.settings import Settings

    token_file = tmp_path / "admin-token"
    token_file.write_text("from-a-file\n")
    settings = Settings(admin_token_file=token_file, admin_token="ignored-when-a-file-is-set")
    gate = AdminGate(settings.admin_secret())
    assert gate.accepts("from-a-file") and not gate.accepts("ignored-when-a-file-is-set") and not gate.accepts("")
    assert all(b"from-a-file" not in value for value in vars(gate).values())
    assert gate.accepts_session(gate.session_cookie()) and not gate.accepts_session("9999999999.forged")
    token_file.write_text("  \n")
    with pytest.raises(ValueError):
        Settings(admin_token_file=token_file).admin_secret()


def upload_form(name="note.md", data=NOTE.encode()):
    return {"files": (name, data, "text/markdown")}


def test_gradio_upload_needs_the_admin_token_or_its_session(client):
    refused = client.post("/gradio_api/upload", files=upload_form())
    assert refused.status_code == 403 and refused.json() == {"detail": "管理口令不正确"}
    assert client.post("/embed/gradio_api/upload", files=upload_form()).status_code == 403
    assert client.post("/gradio_api/upload", files=upload_form(), headers={"X-Admin-Token": "nope"}).status_code == 403
    assert client.post("/gradio_api/upload", files=upload_form(), headers={"X-Admin-Token": ADMIN_TOKEN}).status_code == 200

    wrong = client.post("/api/admin/session", json={"token": "nope"})
    assert wrong.status_code == 403 and "qa_admin" not in client.cookies
    session = client.post("/api/admin/session", json={"token": ADMIN_TOKEN})
    cookie = session.headers["set-cookie"]
    assert session.status_code == 200 and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert ADMIN_TOKEN not in cookie
    try:
        uploaded = client.post("/gradio_api/upload", files=upload_form()).json()[0]
    finally:
        client.cookies.clear()
    assert uploaded.startswith(str(client.app.state.web_cache)) and uploaded.endswith("note.md")
    served = client.get(f"/gradio_api/file={uploaded}")
    assert served.status_code == 200 and served.text == NOTE


def test_gradio_refuses_uploads_over_the_size_cap_in_chinese(client, report_settings):
    big = b"x" * int(report_settings.max_upload_mb * 1024 * 1024 + 10)
    response = client.post("/gradio_api/upload", files=upload_form("big.txt", big), headers={"X-Admin-Token": ADMIN_TOKEN})
    assert response.status_code == 413
    assert response.json() == {"detail": f"文件过大，每个文件不超过 {report_settings.max_upload_mb:g} MB"}


@pytest.mark.parametrize("target", ["/etc/hostname", "/proc/self/environ", "tests/test_http_api.py", "https://example.com/x", "//example.com/x"])
@pytest.mark.parametrize("route", ["/gradio_api/file=", "/gradio_api/file/", "/embed/gradio_api/file="])
def test_gradio_file_routes_serve_nothing_outside_the_apps_cache(client, route, target):
    response = client.get(route + target)
    assert response.status_code == 403 and response.json() == {"detail": "不允许访问该文件"}


def test_a_path_that_leaves_the_cache_is_not_served(tmp_path):
    from web.security import GradioFiles

    cache = tmp_path / "web-cache"
    (cache / "abc").mkdir(parents=True)
    (cache / "abc" / "a.txt").write_text("a")
    (tmp_path / "secret.txt").write_text("s")
    (cache / "abc" / "link.txt").symlink_to(tmp_path / "secret.txt")
    files = GradioFiles(None, cache, 20)
    assert files.serves(str(cache / "abc" / "a.txt"))
    assert not files.serves(f"{cache}/abc/../../secret.txt") and not files.serves(str(cache / "abc" / "link.txt"))
    assert not files.serves(str(cache / "abc")) and not files.serves(str(cache / "missing.txt"))


def test_gradio_proxy_route_is_closed(client):
    assert client.get("/gradio_api/proxy=http://127.0.0.1:9/x").status_code == 403


def test_document_management_is_off_without_an_admin_token(report_bot, report_settings):
    with TestClient(create_app(report_bot, report_settings), base_url=LOCAL) as client:
        for response in (client.post("/gradio_api/upload", files=upload_form(), headers={"X-Admin-Token": ""}),
                         client.post("/api/documents", files=upload_form()),
                         client.delete("/api/documents/district-report-2022-h1.txt"),
                         client.post("/api/admin/session", json={"token": ""})):
            assert response.status_code == 403 and response.json()["detail"].startswith("文档管理未开启")
        labels = {c["props"].get("label") for c in client.get("/config").json()["components"]}
        assert "管理口令" not in labels and "删除文档" not in labels
        assert client.get("/api/documents").status_code == 200


def test_same_name_uploads_replace_only_when_asked(admin_client):
    client, settings = admin_client
    headers = {"X-Admin-Token": ADMIN_TOKEN}
    first = client.post("/api/documents", files=upload_form("parking.md"), headers=headers).json()["results"]
    assert first[0]["ok"]
    changed = NOTE.replace("三百个", "五百个").encode()
    again = client.post("/api/documents", files=upload_form("parking.md", changed), headers=headers).json()["results"]
    assert not again[0]["ok"] and (settings.data_dir / "parking.md").read_text() == NOTE
    replaced = client.post("/api/documents?replace=true", files=upload_form("parking.md", changed),
                           headers=headers).json()["results"]
    assert replaced[0]["ok"] and (settings.data_dir / "parking.md").read_bytes() == changed
    assert [p.read_text() for p in (settings.index_dir / "removed").glob("parking*")] == [NOTE]
    staging = settings.index_dir / "staging"
    assert staging.is_dir() and not list(staging.iterdir())  # temporary copies live here, and are gone
