"""kill -9 during an upload: no temporary copy is left in the temp folder; the next start empties staging."""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.conftest import REPORT
from tests.security.conftest import ADMIN_TOKEN, launch_app

pytestmark = pytest.mark.slow

TEMP_PATTERNS = ("http-upload-*", "upload-*")


def big_report() -> bytes:
    """The bundled report four times over, each copy under another year, so embedding takes a while."""
    text = REPORT.read_text(encoding="utf-8")
    return "\n".join(text.replace("2022", year) for year in ("2018", "2019", "2020", "2021")).encode()


def temporary_copies(app) -> list:
    return [p for pattern in TEMP_PATTERNS for p in app.tmp_dir.rglob(pattern)]


def staged_files(app) -> list:
    staging = app.index_dir / "staging"
    return [p for p in staging.rglob("*") if p.is_file()] if staging.is_dir() else []


def _upload_in_background(app) -> threading.Thread:
    def post():
        try:
            httpx.post(f"{app.url}/api/documents", headers={"X-Admin-Token": ADMIN_TOKEN}, timeout=300,
                       files={"files": ("big-report.txt", big_report(), "text/plain")})
        except httpx.HTTPError:
            pass  # the server is killed mid-request

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def _wait_for_a_copy(app, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if staged_files(app) or temporary_copies(app):
            return True
        time.sleep(0.02)
    return False


def test_kill_9_during_an_upload_leaves_no_temporary_copies(tmp_path, built_index):
    with launch_app(tmp_path, built_index=built_index) as app:
        upload = _upload_in_background(app)
        assert _wait_for_a_copy(app), "the upload never reached a temporary copy"
        time.sleep(0.3)
        app.process.kill()
        app.process.wait(timeout=30)
        upload.join(timeout=30)
        assert temporary_copies(app) == []
    with launch_app(tmp_path) as restarted:  # same folders: the index and staging of the killed app
        assert staged_files(restarted) == [] and temporary_copies(restarted) == []
        assert restarted.alive()
