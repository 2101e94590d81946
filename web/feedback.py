"""👍/👎 on answers, kept in one SQLite file (``QA_FEEDBACK_DB``, by default ``<index_dir>/feedback.sqlite3``).

Each call opens its own connection in WAL mode with a busy timeout, so the chat's worker threads and
several app processes can write to the same file at once. Texts are cut to fixed caps, so one client
cannot grow the file without bound. The CSV export is for Excel: UTF-8 with a BOM (Chinese opens
correctly), and a cell starting like a formula is prefixed with ``'`` so Excel never evaluates it.
"""
from __future__ import annotations

import csv
import io
import json
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from bot.types import InputError

RATINGS = ("up", "down")
RATING_ZH = {"up": "👍 有用", "down": "👎 没用"}
MAX_QUESTION_CHARS = 2000
MAX_ANSWER_CHARS = 20000
MAX_COMMENT_CHARS = 1000
MAX_SOURCES = 20
MAX_DOCS = 50
MAX_FIELD_CHARS = 300  # one doc id, or one string in a source (title, section)
# The parts of a source worth keeping: which passage it was, not its text (the answer quotes that).
SOURCE_KEYS = ("n", "doc", "title", "section", "start", "end")
CSV_COLUMNS = ("编号", "时间（UTC）", "评价", "问题", "回答", "意见", "来源", "报告")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    sources TEXT NOT NULL DEFAULT '[]',
    docs TEXT NOT NULL DEFAULT '[]'
)
"""


class FeedbackError(InputError):
    """Feedback that cannot be stored (a ValueError; the API answers 400 with ``message_zh``)."""


def _text(value, cap: int, name_zh: str) -> str:
    if not isinstance(value, str):
        raise FeedbackError(f"{name_zh}应为文字")
    return value.strip()[:cap]


def _source(item) -> dict:
    if not isinstance(item, dict):
        raise FeedbackError("来源应为对象列表")
    kept = {}
    for key in SOURCE_KEYS:
        value = item.get(key)
        if isinstance(value, str):
            kept[key] = value[:MAX_FIELD_CHARS]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            kept[key] = value
    return kept


def clean_sources(sources: Iterable) -> list[dict]:
    return [_source(item) for item in list(sources or [])[:MAX_SOURCES]]


def clean_docs(docs: Iterable) -> list[str]:
    return [_text(doc, MAX_FIELD_CHARS, "报告编号") for doc in list(docs or [])[:MAX_DOCS]]


def excel_safe(value) -> str:
    """A cell Excel shows as text: a leading ``=``, ``+``, ``-`` or ``@`` would make it a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class FeedbackStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection, connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30)
        connection.row_factory = sqlite3.Row
        return connection

    def add(self, question: str, answer: str, rating: str, comment: str = "",
            sources: Iterable[dict] = (), docs: Iterable[str] = ()) -> int:
        """Store one rating of one answer; returns its id. Raises FeedbackError (a ValueError) on bad input."""
        if rating not in RATINGS:
            raise FeedbackError("评价只能是 up 或 down")
        question = _text(question, MAX_QUESTION_CHARS, "问题")
        if not question:
            raise FeedbackError("问题不能为空")
        row = (datetime.now(timezone.utc).isoformat(timespec="seconds"), question,
               _text(answer, MAX_ANSWER_CHARS, "回答"), rating, _text(comment or "", MAX_COMMENT_CHARS, "意见"),
               json.dumps(clean_sources(sources), ensure_ascii=False),
               json.dumps(clean_docs(docs), ensure_ascii=False))
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO feedback (created_at, question, answer, rating, comment, sources, docs) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            return int(cursor.lastrowid)

    def list(self, limit: int = 50, offset: int = 0) -> list[dict]:
        """The most recent feedback first."""
        with closing(self._connect()) as connection:
            rows = connection.execute("SELECT * FROM feedback ORDER BY id DESC LIMIT ? OFFSET ?",
                                      (max(0, int(limit)), max(0, int(offset)))).fetchall()
        return [_item(row) for row in rows]

    def counts(self) -> dict[str, int]:
        with closing(self._connect()) as connection:
            rows = dict(connection.execute("SELECT rating, COUNT(*) FROM feedback GROUP BY rating").fetchall())
        return {"total": sum(rows.values()), "up": rows.get("up", 0), "down": rows.get("down", 0)}

    def to_csv(self) -> str:
        """Every row, oldest first, as CSV text starting with a BOM."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        with closing(self._connect()) as connection:
            for row in connection.execute("SELECT * FROM feedback ORDER BY id"):
                writer.writerow([excel_safe(cell) for cell in _csv_row(_item(row))])
        return "\ufeff" + out.getvalue()


def _item(row: sqlite3.Row) -> dict:
    item = dict(row)
    item["sources"] = json.loads(item["sources"])
    item["docs"] = json.loads(item["docs"])
    return item


def source_label(source: dict) -> str:
    """"[1] 丽水市2024年政府工作报告 · 一、…": how a source reads in the export and the admin page."""
    name = source.get("title") or source.get("doc") or ""
    section = source.get("section") or ""
    number = f"[{source['n']}] " if "n" in source else ""
    return f"{number}{name}{' · ' + section if section else ''}"


def _csv_row(item: dict) -> list:
    return [item["id"], item["created_at"], RATING_ZH[item["rating"]], item["question"], item["answer"],
            item["comment"], "\n".join(source_label(s) for s in item["sources"]), "、".join(item["docs"])]
