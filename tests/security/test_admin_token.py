"""Document management: off without a token; with a token file the token is not in the process environment."""
from __future__ import annotations

import pytest

from tests.security.conftest import has_chinese

pytestmark = pytest.mark.slow

NOTE = "一、2022年上半年工作\n（一）建设智慧停车。全区新建智慧停车泊位三百个，覆盖老城区主要街道。\n"
TOKEN = "token-from-a-file-4b9e"


@pytest.fixture(scope="module")
def app_without_token(start_app):
    with start_app("no-token", token=None) as app:
        yield app


@pytest.fixture(scope="module")
def app_with_token_file(start_app, tmp_path_factory):
    token_file = tmp_path_factory.mktemp("secrets") / "admin-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    with start_app("token-file", token=None, env={"QA_ADMIN_TOKEN_FILE": str(token_file)}) as app:
        yield app, token_file


def test_without_a_token_no_one_can_change_documents(app_without_token):
    app = app_without_token
    before = app.documents()
    with app.client() as http:
        for headers in ({}, {"X-Admin-Token": ""}, {"X-Admin-Token": "anything"}):
            response = http.post("/api/documents", headers=headers,
                                 files={"files": ("parking.md", NOTE.encode(), "text/markdown")})
            assert response.status_code == 403 and has_chinese(response.json()["detail"]), response.text
            upload = http.post("/gradio_api/upload", headers=headers,
                               files={"files": ("parking.md", NOTE.encode(), "text/markdown")})
            assert upload.status_code == 403, upload.text
        assert http.delete("/api/documents/district-report-2022-h1.txt").status_code == 403
    assert app.documents() == before


def test_a_token_file_keeps_the_token_out_of_the_environment(app_with_token_file):
    app, token_file = app_with_token_file
    environ = open(f"/proc/{app.pid}/environ", "rb").read()
    assert TOKEN.encode() not in environ
    with app.client() as http:
        assert http.get(f"/gradio_api/file={token_file}").status_code in (403, 404)
        files = {"files": ("parking.md", NOTE.encode(), "text/markdown")}
        assert http.post("/api/documents", files=files, headers={"X-Admin-Token": "wrong"}).status_code == 403
        imported = http.post("/api/documents", files=files, headers={"X-Admin-Token": TOKEN})
        assert imported.status_code == 200 and imported.json()["results"][0]["ok"] is True, imported.text
        removed = http.delete("/api/documents/parking.md", headers={"X-Admin-Token": TOKEN})
        assert removed.status_code == 200
