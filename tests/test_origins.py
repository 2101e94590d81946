"""QA_CORS_ORIGINS and QA_FRAME_ANCESTORS: normalised to what browsers send, malformed values dropped
with a warning, and the app's headers and embedding check built from the cleaned lists."""
from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from web.origins import EmbedOrigins, valid_cors_origins, valid_frame_ancestors

PORTAL = "http://127.0.0.1:8899"
LOCAL = "http://127.0.0.1"


@pytest.mark.parametrize("written, read", [
    ("http://127.0.0.1:8899/", "http://127.0.0.1:8899"),
    ("  HTTPS://Portal.Example.GOV// ", "https://portal.example.gov"),
    ("https://portal.example.gov:443", "https://portal.example.gov"),
    ("http://portal.example.gov:80/", "http://portal.example.gov"),
    ("http://[::1]:8080/", "http://[::1]:8080"),
    ("https://门户.中国", "https://xn--zoup46i.xn--fiqs8s"),  # as a browser sends it
])
def test_cors_origins_are_read_as_browsers_send_them(written, read, caplog):
    with caplog.at_level(logging.WARNING, logger="web.origins"):
        assert valid_cors_origins([written]) == [read]
    assert "read as" in caplog.text


@pytest.mark.parametrize("written, reason", [
    ("portal.example.gov", "no scheme"),
    ("//portal.example.gov", "no scheme"),
    ("https://portal.example.gov/index.html", "no path"),
    ("https://portal.example.gov/?a=1", "no path"),
    ("https://user@portal.example.gov", "no path"),
    ("https://*.example.gov", "wildcard"),
    ("*", "list each portal origin"),
    ("ftp://portal.example.gov", "only http"),
    ("https://portal example.gov", "spaces"),
    ("https://portal.example.gov:80a", "invalid port"),
    ("", "empty"),
])
def test_malformed_cors_origins_are_dropped_with_a_warning(written, reason, caplog):
    with caplog.at_level(logging.WARNING, logger="web.origins"):
        assert valid_cors_origins([written, PORTAL]) == [PORTAL]
    assert f"ignoring {written!r}" in caplog.text and reason in caplog.text


def test_duplicates_collapse_once_normalised():
    assert valid_cors_origins([PORTAL, PORTAL + "/", PORTAL.upper()]) == [PORTAL]


@pytest.mark.parametrize("written, read", [
    (["'self'"], ["'self'"]),
    (["'SELF'", "self"], ["'self'"]),  # shells often drop the quotes
    (["none"], ["'none'"]),
    (["https://*.example.gov/"], ["https://*.example.gov"]),
    (["https://portal.example.gov:*"], ["https://portal.example.gov:*"]),
    (["HTTPS:"], ["https:"]),
    (["*"], ["*"]),
    (["'none'", PORTAL], [PORTAL]),  # browsers ignore 'none' next to anything else
])
def test_frame_ancestors_are_normalised(written, read):
    assert valid_frame_ancestors(written) == read


@pytest.mark.parametrize("written", [
    "portal.example.gov", "https://portal.example.gov/page", "'unsafe-inline'",
    "https://a.example.gov; script-src *", "https://portal.*.gov",
])
def test_malformed_frame_ancestors_are_dropped_with_a_warning(written, caplog):
    with caplog.at_level(logging.WARNING, logger="web.origins"):
        assert valid_frame_ancestors(["'self'", written]) == ["'self'"]
    assert "ignoring" in caplog.text


@pytest.mark.parametrize("ancestors, page, allowed", [
    (["'self'"], "http://127.0.0.1:7860", True),
    (["'self'"], PORTAL, False),
    ([PORTAL], PORTAL + "/", True),
    (["https://*.example.gov"], "https://portal.example.gov", True),
    (["https://*.example.gov"], "https://example.gov", False),
    (["https://*.example.gov"], "http://portal.example.gov", False),
    (["http://portal.example.gov"], "https://portal.example.gov", True),  # CSP lets http: sources match https
    (["https:"], "https://anything.example", True),
    (["https:"], "http://anything.example", False),
    (["https://portal.example.gov:*"], "https://portal.example.gov:8443", True),
    (["https://portal.example.gov"], "https://portal.example.gov:8443", False),
    (["*"], PORTAL, True),
    (["'none'"], "http://127.0.0.1:7860", False),
    ([PORTAL], "not an origin", False),
])
def test_the_embedding_check_matches_like_a_browser(ancestors, page, allowed):
    origins = EmbedOrigins(cors=(), frame_ancestors=tuple(valid_frame_ancestors(ancestors)))
    assert origins.allows_frame_in(page, "http://127.0.0.1:7860") is allowed


# --- the app reads the cleaned lists ---------------------------------------------------------
@pytest.fixture
def make_client(make_settings, fake_embeddings):
    """An API-only app on an empty index, with the given settings."""
    from bot.chain import Bot
    from index.components import open_index
    from web.app import create_app

    clients = []

    def make(**overrides) -> TestClient:
        settings = make_settings(**overrides)
        client = TestClient(create_app(Bot(settings, open_index(settings, embeddings=fake_embeddings)), settings,
                                       ui=False), base_url=LOCAL)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_a_trailing_slash_in_the_settings_no_longer_breaks_cors(make_client, caplog):
    with caplog.at_level(logging.WARNING, logger="web.origins"):
        client = make_client(cors_origins=[PORTAL + "/", "portal.example.gov"],
                             frame_ancestors=["self", PORTAL + "/"])
    assert "ignoring 'portal.example.gov': no scheme" in caplog.text
    preflight = client.options("/api/ask", headers={"Origin": PORTAL, "Access-Control-Request-Method": "POST",
                                                    "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == PORTAL
    asked = client.post("/api/ask", json={"question": "生态环境"}, headers={"Origin": PORTAL})
    assert asked.status_code == 200 and asked.headers["access-control-allow-origin"] == PORTAL
    assert f"frame-ancestors 'self' {PORTAL}" in asked.headers["content-security-policy"]
    refused = client.post("/api/ask", json={"question": "生态环境"}, headers={"Origin": "http://127.0.0.1:9999"})
    assert refused.status_code == 403


def test_the_embedding_check_says_what_this_page_may_do(make_client):
    client = make_client(cors_origins=[PORTAL], frame_ancestors=["'self'", PORTAL])
    allowed = client.get("/embed/ping", headers={"Origin": PORTAL})
    assert allowed.status_code == 200
    assert allowed.json() == {"origin": PORTAL, "frame_allowed": True, "cors_allowed": True}
    other = client.get("/embed/ping", headers={"Origin": "http://127.0.0.1:9999"})
    assert other.json() == {"origin": "http://127.0.0.1:9999", "frame_allowed": False, "cors_allowed": False}
    assert other.headers["access-control-allow-origin"] == "*"  # readable by the page that is refused
    by_query = client.get("/embed/ping", params={"origin": "http://127.0.0.1:7000"})
    assert by_query.json()["frame_allowed"] is False


def test_the_widget_script_is_served_by_the_app(make_client):
    response = make_client().get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "embed/ping" in response.text and "attachShadow" in response.text
