"""The indexed documents as people manage them from the web: list, import uploads, remove, sample questions.

The data folder stays the source of truth: an imported file is copied into it (so a later
``python -m index build`` keeps it), and a removed document's file is moved out of it into
``<index_dir>/removed/`` (so a later build does not bring it back).
"""
from __future__ import annotations

import logging
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from index.loaders import SUPPORTED_SUFFIXES
from index.outline import period_of
from index.store import IndexBusyError

log = logging.getLogger(__name__)

MB = 1024 * 1024
SECTION_SEPARATOR = " > "
_NUMBERING = re.compile(r"^(?:[（(][^）)]{1,4}[）)]|[一二三四五六七八九十百\d]{1,3}[、.．]|[一二三四五六七八九十]{1,3}是)\s*")
_QUESTION_BY_PERIOD = {"上半年": "上半年“{}”方面做了哪些工作？", "下半年": "下半年“{}”方面有什么计划？",
                       "全年": "全年“{}”方面有哪些安排？", "明年": "明年“{}”方面有什么计划？"}
_QUESTION_DEFAULT = "报告中关于“{}”讲了什么？"


@dataclass
class ImportOutcome:
    name: str
    ok: bool
    message_zh: str


class Library:
    def __init__(self, components, settings):
        self.components = components
        self.settings = settings
        self._examples: tuple[int, list[str]] | None = None

    # --- reading -------------------------------------------------------------------
    def documents(self) -> list[dict]:
        return self.components.store.documents()

    def example_questions(self, limit: int = 4) -> list[str]:
        """Questions built from the indexed outlines, so that each new report brings its own."""
        revision = self.components.store.revision()
        if self._examples is None or self._examples[0] != revision:
            self._examples = (revision, example_questions(self.documents(), limit))
        return self._examples[1]

    def authorised(self, token: str | None) -> bool:
        """Uploading and removing need the admin token when one is configured."""
        expected = self.settings.admin_token
        return not expected or secrets.compare_digest((token or "").encode(), expected.encode())

    # --- writing -------------------------------------------------------------------
    def add(self, uploads: Iterable[tuple[str, Path]],
            progress: Callable[[int, int, str], None] | None = None) -> list[ImportOutcome]:
        """Index uploaded files (original name, temporary path); every problem becomes a Chinese message."""
        outcomes: list[ImportOutcome] = []
        max_bytes = int(self.settings.max_upload_mb * MB)
        with tempfile.TemporaryDirectory(prefix="upload-") as staging:
            staged: dict[Path, str] = {}
            for raw_name, path in uploads:
                name = safe_name(raw_name)
                problem = self._check_upload(name, Path(path), max_bytes)
                if problem:
                    outcomes.append(ImportOutcome(name or str(raw_name), False, problem))
                    continue
                target = Path(staging) / name
                shutil.copyfile(path, target)
                staged[target] = name
            if not staged:
                return outcomes
            try:
                report = self.components.indexer.build(list(staged), progress=progress, doc_ids=staged)
            except IndexBusyError as exc:
                return outcomes + [ImportOutcome(n, False, exc.message_zh) for n in staged.values()]
            for result in report.results:
                if result.status == "failed":
                    outcomes.append(ImportOutcome(result.doc_id, False, result.error_zh or "文件无法导入"))
                    continue
                self.settings.data_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(result.path, self.settings.data_dir / result.doc_id)
                outcomes.append(ImportOutcome(result.doc_id, True, _imported_message(result)))
        return outcomes

    def remove(self, doc_id: str) -> tuple[bool, str]:
        try:
            removed = self.components.indexer.remove(doc_id)
        except IndexBusyError as exc:
            return False, exc.message_zh
        if not removed:
            return False, f"索引中没有文档“{doc_id}”"
        data_dir = self.settings.data_dir
        if data_dir.is_dir():
            archive = self.settings.index_dir / "removed"
            for path in [p for p in data_dir.rglob("*") if p.is_file() and p.name == doc_id]:
                archive.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), archive / path.name)
                log.info("moved %s to %s", path, archive)
        return True, f"已删除文档“{doc_id}”（{removed} 个片段）"

    def _check_upload(self, name: str, path: Path, max_bytes: int) -> str:
        if not name:
            return "文件名无效"
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            return f"“{name}”的类型（{suffix or '无扩展名'}）不支持，请上传 txt、md、docx 或 pdf 文件"
        try:
            size = path.stat().st_size
        except OSError:
            return f"“{name}”无法读取"
        if size > max_bytes:
            return f"“{name}”过大（{size / MB:.1f} MB），上限为 {self.settings.max_upload_mb:g} MB"
        return ""


def safe_name(raw: str) -> str:
    """The file part of an uploaded name, without folders, control characters or a leading dot."""
    name = str(raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if not name or name.startswith(".") or len(name.encode()) > 200:
        return ""
    return name


def _imported_message(result) -> str:
    if result.status == "unchanged":
        return f"“{result.doc_id}”内容没有变化（{result.chunks} 个片段）"
    verb = "已更新" if result.status == "updated" else "已导入"
    return f"{verb}“{result.doc_id}”：{result.chunks} 个片段"


def topic_of(title: str) -> str:
    """A section title without its number and after its first clause: "（四）坚持绿色发展，…" → "坚持绿色发展"."""
    text = _NUMBERING.sub("", title.strip())
    return re.split(r"[，。；：,;:]", text, maxsplit=1)[0].strip()


def _spread(items: list, k: int) -> list:
    """``k`` items evenly spaced over the list, each from the middle of its stretch."""
    return [items[int((i + 0.5) * len(items) / k)] for i in range(k)]


def example_questions(documents: list[dict], limit: int = 4) -> list[str]:
    """Questions about second-level sections, spread over the periods and across each period's sections."""
    paths = [s["path"].split(SECTION_SEPARATOR) for d in documents for s in d["sections"]]
    depth = 2 if any(len(p) >= 2 for p in paths) else 1
    topics: dict[str, list[str]] = {}
    for parts in paths:
        if len(parts) != depth:
            continue
        topic = topic_of(parts[-1])
        period = period_of(parts[0]) or period_of(parts[-1])
        if topic and topic not in topics.setdefault(period, []):
            topics[period].append(topic)
    if not topics:
        return []
    per_period = -(-limit // len(topics))
    picked = [_spread(items, min(per_period, len(items))) for items in topics.values()]
    questions = []
    for i in range(per_period):
        for period, items in zip(topics, picked):
            if i < len(items):
                questions.append(_QUESTION_BY_PERIOD.get(period, _QUESTION_DEFAULT).format(items[i]))
    return questions[:limit]
