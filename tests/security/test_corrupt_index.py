"""A corrupt index: ``python app.py`` stops at once with one Chinese line and the repair command, no traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, free_port
from tests.security.conftest import app_environment, has_chinese, prepare_folder

pytestmark = pytest.mark.slow

REPAIR = "python -m index rebuild"


@pytest.mark.parametrize("garbage", [b"this is not a database\n" * 4096,
                                     b"SQLite format 3\x00" + b"\xde\xad\xbe\xef" * 4096],
                         ids=["garbage", "garbage-after-header"])
def test_app_py_explains_a_corrupt_index_in_one_line(tmp_path, garbage):
    prepare_folder(tmp_path, None)
    sqlite = tmp_path / "index" / "chroma" / "chroma.sqlite3"
    sqlite.parent.mkdir(parents=True)
    sqlite.write_bytes(garbage)
    result = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=ROOT, capture_output=True, text=True,
                            env=app_environment(tmp_path, free_port(), None, None), timeout=180)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    explained = [line for line in result.stderr.splitlines() if REPAIR in line]
    assert len(explained) == 1 and has_chinese(explained[0]), result.stderr[-2000:]
    assert sqlite.read_bytes() == garbage  # the broken store is left for the repair, not overwritten
