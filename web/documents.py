"""The indexed documents as people manage them from the web: list, import uploads, remove, sample questions.

The data folder stays the source of truth: an imported file is copied into it (so a later
``python -m index build`` keeps it), and a removed or replaced document's file is moved out of it into
``<index_dir>/removed/`` under a timestamped name (so a later build does not bring it back, and nothing
is ever overwritten there). Uploads are read and chunked before the write lock is taken; the name
check, the index write and the file moves happen under it, so a concurrent ``index build --prune``
never sees an indexed document whose file has not arrived yet.
"""
from __future__ import annotations

import filecmp
import logging
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from index.embeddings import EmbeddingServiceError
from index.periods import example_question, period_of
from index.section_path import SectionPath
from index.store import IndexBusyError, staging_tempdir, write_lock

log = logging.getLogger(__name__)

_NUMBERING = re.compile(r"^(?:[（(][^）)]{1,4}[）)]|[一二三四五六七八九十百\d]{1,3}[、.．]|[一二三四五六七八九十]{1,3}是)\s*")
REPLACE_HINT = "已有同名文档“{}”；如需替换，请勾选“替换同名文档”"


class ProgressLine:
    """The indexer's progress (texts done, texts in all, document) as one Chinese line with the time left:
    "正在导入 X：已处理 120/480 段（约 30 秒）". The rate is measured from the first report on, so texts
    re-used at the start (cache, previous version) do not make the estimate look better than it is."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._start: tuple[float, int] | None = None

    def __call__(self, done: int, total: int, doc_id: str) -> str:
        now = self._clock()
        if self._start is None:
            self._start = (now, done)
        left = self._time_left(now, done, total)
        return f"正在导入 {doc_id}：已处理 {done}/{total} 段" + (f"（{left}）" if left else "")

    def _time_left(self, now: float, done: int, total: int) -> str:
        if done >= total:
            return ""
        started, done_then = self._start
        if done <= done_then or now - started < 0.5:
            return "正在估算剩余时间"
        seconds = (total - done) * (now - started) / (done - done_then)
        return f"约 {max(1, round(seconds))} 秒" if seconds < 90 else f"约 {round(seconds / 60)} 分钟"


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

    # --- writing -------------------------------------------------------------------
    def add(self, uploads: Iterable[tuple[str, Path]], progress: Callable[[int, int, str], None] | None = None,
            replace: bool = False) -> list[ImportOutcome]:
        """Index uploaded files (original name, temporary path); every problem becomes a Chinese message.

        ``progress(done, total, doc_id)`` counts the texts to embed (chunks, sentences, section titles).

        A name that an indexed document or a data file already has is refused unless ``replace``.
        Outcomes come in upload order. Type, size and content are checked by the loader.
        """
        uploads = [(safe_name(raw), str(raw), Path(path)) for raw, path in uploads]
        refused = self._refusals([name for name, _, _ in uploads], replace)
        outcomes: dict[str, ImportOutcome] = {}
        with staging_tempdir(self.settings.index_dir, "upload") as folder:
            staged: dict[Path, str] = {}
            for name, raw, path in uploads:
                if name in refused:
                    outcomes.setdefault(name or raw, ImportOutcome(name or raw, False, refused[name]))
                    continue
                target = Path(folder) / name
                try:
                    shutil.copyfile(path, target)
                except OSError:
                    outcomes[name] = ImportOutcome(name, False, f"“{name}”无法读取")
                    continue
                staged[target] = name
            if staged:
                outcomes.update(self._index_staged(staged, progress, replace))
        return [outcomes[name or raw] for name, raw, _ in uploads if (name or raw) in outcomes]

    def _index_staged(self, staged: dict[Path, str], progress, replace: bool) -> dict[str, ImportOutcome]:
        indexer = self.components.indexer
        prepared = indexer.prepare(list(staged), doc_ids=staged)
        try:
            with write_lock(self.settings.index_dir):
                # Checked again under the lock: another upload may have taken a name since.
                late = self._refusals(list(staged.values()), replace)
                prepared.documents = [d for d in prepared.documents if d.doc.doc_id not in late]
                report = indexer.write(prepared, progress=progress)
                outcomes = {name: ImportOutcome(name, False, message) for name, message in late.items()}
                for result in report.results:
                    outcomes[result.doc_id] = self._keep(result)
        except (IndexBusyError, EmbeddingServiceError) as exc:  # nothing became visible; cached vectors stay
            log.warning("import of %s stopped: %s", ", ".join(staged.values()), exc)
            return {name: ImportOutcome(name, False, exc.message_zh) for name in staged.values()}
        return outcomes

    def _keep(self, result) -> ImportOutcome:
        """Put an indexed upload into the data folder (the file it replaces goes to removed/)."""
        if result.status == "failed":
            return ImportOutcome(result.doc_id, False, result.error_zh or "文件无法导入")
        target = self.settings.data_dir / result.doc_id
        existing = self._data_files(result.doc_id)
        if existing != [target] or not filecmp.cmp(result.path, target, shallow=False):
            for path in existing:
                self._archive(path)
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(result.path, target)
        return ImportOutcome(result.doc_id, True, _imported_message(result))

    def remove(self, doc_id: str) -> tuple[bool, str]:
        """(done, Chinese message); raises IndexBusyError while another writer holds the index."""
        with write_lock(self.settings.index_dir):
            removed = self.components.indexer.drop(doc_id)
            if removed:
                for path in self._data_files(doc_id):
                    self._archive(path)
        if not removed:
            return False, f"索引中没有文档“{doc_id}”"
        return True, f"已删除文档“{doc_id}”（{removed} 个片段）"

    def _refusals(self, names: list[str], replace: bool) -> dict[str, str]:
        """Names that cannot be imported as asked, with the reason: invalid, twice in one batch, or taken."""
        counts = Counter(names)
        taken = set(self.components.store.manifest()) | {p.name for p in self._data_files()}
        refused = {}
        for name in names:
            if not name:
                refused[name] = "文件名无效"
            elif counts[name] > 1:
                refused[name] = f"本次上传中有 {counts[name]} 个文件都叫“{name}”，请改名后再上传"
            elif name in taken and not replace:
                refused[name] = REPLACE_HINT.format(name)
        return refused

    def _data_files(self, name: str | None = None) -> list[Path]:
        data_dir = self.settings.data_dir
        if not data_dir.is_dir():
            return []
        return sorted(p for p in data_dir.rglob("*") if p.is_file() and (name is None or p.name == name))

    def _archive(self, path: Path) -> Path:
        """Move a data file to ``<index_dir>/removed/<stem>.<time><suffix>``, never over an existing file."""
        archive = self.settings.index_dir / "removed"
        archive.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = archive / f"{path.stem}.{stamp}{path.suffix}"
        n = 1
        while target.exists():
            n += 1
            target = archive / f"{path.stem}.{stamp}-{n}{path.suffix}"
        shutil.move(str(path), target)
        log.info("moved %s to %s", path, target)
        return target


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
    paths = [SectionPath.parse(s["path"]) for d in documents for s in d["sections"]]
    depth = 2 if any(len(p.parts) >= 2 for p in paths) else 1
    topics: dict[str, list[str]] = {}
    for path in paths:
        if len(path.parts) != depth:
            continue
        topic = topic_of(path.title)
        period = period_of(path.part) or period_of(path.title)
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
                questions.append(example_question(period, items[i]))
    return questions[:limit]
