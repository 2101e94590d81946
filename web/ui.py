"""The chat page. ``chat_turn`` is a plain generator (testable without a server); ``build_ui`` wires it to Gradio.

Everything shown in the chat that came from a person or a document is escaped for Markdown, so a
question like ``<img src=x onerror=...>`` or ``![x](http://host/leak)`` is shown as text, never rendered.
The only markup is ours: ``<mark>`` around the sentences an answer quotes, bold source numbers.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Iterator

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no telemetry, no version check

import gradio as gr  # noqa: E402

from bot.messages import message_text, normalise_history  # noqa: E402
from bot.query import clean_text  # noqa: E402
from bot.types import Answer, Source  # noqa: E402
from index.errors import UserFacingError  # noqa: E402
from index.section_path import SectionPath  # noqa: E402
from index.store import IndexBusyError  # noqa: E402
from web.documents import Library  # noqa: E402

log = logging.getLogger(__name__)

TITLE = "工作报告问答"
FAILURE_ZH = "抱歉，回答这个问题时出了点问题，请稍后再试。"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~$:])")  # ":" too, so no URL is auto-linked
_MD_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#!|~$:])")
_WORDS = re.compile(r"[\W_]+")

CSS = """
.qa-answer mark, .message mark { background: #fff3b0; color: inherit; padding: 0 1px; border-radius: 2px; }
#qa-header h1 { margin: 0.2em 0 0; font-size: 1.6em; }
#qa-header p { margin: 0.2em 0 0.6em; color: var(--body-text-color-subdued); }
.qa-embed .gradio-container .main { padding: 4px 6px !important; }
.qa-embed footer { display: none !important; }
"""
# A CJK-first system font stack: the page works without any font download.
FONTS = ["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", "sans-serif"]


# --- text helpers ---------------------------------------------------------------------
def md_escape(text: str) -> str:
    """Make text render literally in Markdown (HTML and Markdown syntax alike); reversed by ``md_unescape``."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_unescape(text: str) -> str:
    text = _MD_ESCAPED.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def text_only(messages: list[dict] | None) -> list[dict]:
    """The chat rebuilt from its text alone: whatever else a client put in it (files, components) is
    neither read nor sent back."""
    shown = []
    for message in messages or []:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        item = {"role": message["role"], "content": clean_text(message_text(message.get("content")))}
        metadata = message.get("metadata")
        if isinstance(metadata, dict) and metadata.get("title"):
            item["metadata"] = {k: clean_text(str(metadata[k])) for k in ("title", "log", "status") if metadata.get(k)}
        shown.append(item)
    return shown


def to_history(messages: list[dict]) -> list[dict]:
    """The chat as the bot reads a history (every turn: the bot caps them), with our Markdown escaping undone."""
    messages = messages or []
    return [{**m, "content": md_unescape(m["content"])} for m in normalise_history(messages, len(messages))]


def highlight(text: str, cited: list[str]) -> str:
    """The passage escaped, with the sentences the answer quotes wrapped in <mark>."""
    spans: list[tuple[int, int]] = []
    for sentence in cited:
        at = text.find(sentence.strip()) if sentence.strip() else -1
        if at >= 0:
            spans.append((at, at + len(sentence.strip())))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(md_escape(text[pos:start]))
        out.append(f"<mark>{md_escape(text[start:end])}</mark>")
        pos = end
    out.append(md_escape(text[pos:]))
    return "".join(out)


def section_label(section: str) -> str:
    return SectionPath.parse(section).label()


def sources_markdown(sources: list[Source]) -> str:
    return "\n\n".join(f"**\\[{s.n}\\]** {md_escape(s.doc)} · {md_escape(section_label(s.section))}\n\n"
                       f"{highlight(s.text, s.cited)}" for s in sources)


def plain_text(answer: Answer) -> str:
    """What the copy button puts on the clipboard: the answer and where it comes from."""
    lines = [answer.answer]
    if answer.sources:
        lines += ["", "来源："] + [f"[{s.n}] {s.doc} · {section_label(s.section)}" for s in answer.sources]
    return "\n".join(lines)


def was_rewritten(asked: str, searched: str) -> bool:
    return _WORDS.sub("", asked) != _WORDS.sub("", searched)


def _assistant(text: str, **extra) -> dict:
    return {"role": "assistant", "content": text, **extra}


# --- the chat handler -----------------------------------------------------------------
def chat_turn(bot, message, messages: list[dict] | None) -> Iterator[tuple[list[dict], str]]:
    """One question in the chat: yields (chat messages, plain answer for copying) as the answer streams.

    The last yield holds the authoritative answer and, in a collapsible block, its numbered sources.
    Bad input becomes a friendly Chinese reply; other failures are logged, never shown as a trace.
    """
    question = message_text(message)
    messages = text_only(messages)
    if not question.strip():
        yield messages, ""
        return
    history = to_history(messages)
    cap = bot.settings.max_question_chars
    shown = clean_text(question if len(question) <= cap else question[:cap] + "……")
    turn = messages + [{"role": "user", "content": md_escape(shown)}]
    yield turn, ""
    streamed, answer = "", None
    try:
        for item in bot.stream(question, history):
            if isinstance(item, Answer):
                answer = item
            else:
                streamed += item
                yield turn + [_assistant(md_escape(streamed))], ""
    except UserFacingError as exc:
        yield turn + [_assistant(md_escape(exc.message_zh))], ""
        return
    except Exception:
        log.exception("chat turn failed")
        yield turn + [_assistant(FAILURE_ZH)], ""
        return
    if answer is None:
        yield turn + [_assistant(FAILURE_ZH)], ""
        return
    final = turn + [_assistant(md_escape(answer.answer))]
    rewritten = was_rewritten(question, answer.question)
    if answer.sources or rewritten:
        metadata = {"title": f"参考来源（{len(answer.sources)} 条）", "status": "done"}
        if rewritten:
            metadata["log"] = f"已按“{answer.question}”理解"
        final.append(_assistant(sources_markdown(answer.sources), metadata=metadata))
    yield final, plain_text(answer)


# --- the documents tab ------------------------------------------------------------------
def documents_markdown(documents: list[dict]) -> str:
    if not documents:
        return "索引中还没有文档。请在下方上传报告。"
    total = sum(d["chunks"] for d in documents)
    parts = [f"共 {len(documents)} 份文档，{total} 个片段。"]
    for doc in documents:
        rows = "\n".join(f"| {md_escape(section_label(s['path']))} | {s['chunks']} |"
                         for s in doc["sections"])
        parts.append(f"### {md_escape(doc['title'])}\n\n文件：{md_escape(doc['doc_id'])} · {doc['chunks']} 个片段\n\n"
                     f"| 章节 | 片段数 |\n| --- | ---: |\n{rows}")
    return "\n\n".join(parts)


def _outcomes_markdown(outcomes) -> str:
    return "\n".join(f"- {'' if o.ok else '**未完成**：'}{md_escape(o.message_zh)}" for o in outcomes)


# --- the page -------------------------------------------------------------------------
class TextOnlyBlocks(gr.Blocks):
    """Blocks that check every event's inputs before Gradio does anything with them. Gradio copies any
    file a payload names into its cache and serves it back (and a mounted app skips its path checks):
    here a file reference is refused, except in a file input naming a file uploaded to ``upload_root``."""

    upload_root: Path | None = None

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        for block, value in zip(block_fn.inputs, inputs):
            problem = refused_input(block, value, self.upload_root)
            if problem:
                raise gr.Error(problem, print_exception=False)
        return await super().preprocess_data(block_fn, inputs, state, explicit_call)


_REFERENCE_KEYS = {"path", "url", "file", "component", "meta"}


def _references(value) -> list[dict]:
    """The dicts in an event input that name a file or a component instead of holding text."""
    found, pending = [], [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if _REFERENCE_KEYS & item.keys():
                found.append(item)
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return found


def refused_input(block, value, upload_root: Path | None) -> str:
    """Why an event input is refused, "" when it is fine: only a file input may name files, and only
    files uploaded to this app."""
    references = _references(value)
    if not references:
        return ""
    if not isinstance(block, gr.File):
        return "只能发送文字，不能附带文件。"
    if all(uploaded_here(r.get("path"), upload_root) for r in references):
        return ""
    return "只能导入通过本页上传的文件。"


def build_ui(bot, library: Library, *, embed: bool = False, gate=None, upload_root: Path | None = None) -> gr.Blocks:
    """The full page (chat and documents tabs) or, with ``embed``, the compact chat for a 400x600 box.
    ``gate`` (web.security.AdminGate) turns document management on; ``upload_root`` is Gradio's upload cache."""
    settings = bot.settings
    with TextOnlyBlocks(title=TITLE, analytics_enabled=False, fill_height=embed, fill_width=embed,
                        delete_cache=(3600, 3600)) as demo:
        demo.upload_root = upload_root
        if not embed:
            gr.Markdown(f"# {TITLE}\n根据已收录的报告回答，每句话后的 [n] 对应下方“参考来源”中的原文。",
                        elem_id="qa-header")
        with (gr.Tab("问答") if not embed else gr.Column(scale=1)):
            chatbot = gr.Chatbot(
                label="对话", show_label=False, elem_id="qa-chat", elem_classes=["qa-answer"],
                # embed: a small base height that grows to fill the box (fill_height), scrolling inside
                height=320 if embed else 560, scale=1 if embed else None,
                placeholder=None if embed else "请输入问题，或点击下面的示例。",
                examples=_examples(library),
                buttons=[], feedback_options=None, sanitize_html=True, allow_tags=False,
                latex_delimiters=[], render_markdown=True, line_breaks=True, group_consecutive_messages=True,
            )
            with gr.Row(equal_height=True):
                question = gr.Textbox(label="问题", show_label=False,
                                      placeholder="输入问题，按回车发送" if embed else "输入问题，例如：上半年生态环境做了什么？",
                                      max_length=settings.max_question_chars, lines=1, max_lines=4,
                                      scale=5, min_width=160, submit_btn=False, elem_id="qa-question",
                                      autofocus=not embed)
                send = gr.Button("发送", variant="primary", scale=1, min_width=64, elem_id="qa-send")
            with gr.Row():
                clear = gr.Button("清空对话", size="sm", variant="secondary", elem_id="qa-clear")
                copy = gr.Button("复制回答", size="sm", variant="secondary", elem_id="qa-copy")
            last_answer = gr.Textbox(label="回答（纯文本）", visible="hidden", elem_id="qa-last-answer")

        def respond(message, messages):
            first = True
            for chat, plain in chat_turn(bot, message, messages):
                yield ("" if first else gr.skip()), chat, plain
                first = False

        def pick_example(evt: gr.SelectData):
            return evt.value["text"] if isinstance(evt.value, dict) else str(evt.value)

        chat_args = dict(fn=respond, inputs=[question, chatbot], outputs=[question, chatbot, last_answer],
                         show_progress="hidden")
        question.submit(api_name="chat", **chat_args)
        send.click(api_visibility="private", **chat_args)
        chatbot.example_select(pick_example, None, question, api_visibility="private").then(
            api_visibility="private", **chat_args)
        clear.click(lambda: ([], "", ""), None, [chatbot, question, last_answer], api_visibility="private",
                    queue=False)
        copy.click(None, [last_answer], None, js=_COPY_JS, api_visibility="private")
        chatbot.clear(lambda: "", None, last_answer, api_visibility="private", queue=False)

        if not embed:
            _documents_tab(library, settings, chatbot, gate, upload_root)
        # Examples are baked into the page config at startup; refresh them when documents changed since.
        demo.load(lambda: gr.update(examples=_examples(library)), None, chatbot, api_visibility="private",
                  queue=False)
    return demo


def _examples(library: Library) -> list[dict]:
    return [{"text": q} for q in library.example_questions()]


def uploaded_here(path, upload_root: Path | None) -> bool:
    """A file inside this app's upload cache: the only files an import may read."""
    if upload_root is None or not isinstance(path, (str, Path)):
        return False
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return resolved.is_file() and resolved.is_relative_to(Path(upload_root).resolve())


def _document_handlers(library: Library, gate, upload_root: Path | None):
    """refresh, upload and remove for the documents tab; changes need the admin token typed on the page."""
    def refresh():
        docs = library.documents()
        return (documents_markdown(docs),
                gr.update(choices=[(f"{d['title']}（{d['doc_id']}）", d["doc_id"]) for d in docs], value=None),
                gr.update(examples=_examples(library)))

    def upload(files, token, replace, progress=gr.Progress()):
        if not gate.accepts(token):
            return ("**未完成**：管理口令不正确，无法导入。", gr.skip()) + refresh()
        if not files:
            return ("请先选择要上传的文件。", gr.skip()) + refresh()
        if not all(uploaded_here(f, upload_root) for f in files):
            return ("**未完成**：只能导入通过本页上传的文件。", None) + refresh()
        progress(0, desc="正在导入……")

        def report(done: int, total: int, doc_id: str) -> None:
            progress((done, total), desc=f"正在向量化 {doc_id}", unit="片段")

        outcomes = library.add([(Path(f).name, Path(f)) for f in files], progress=report, replace=bool(replace))
        return (_outcomes_markdown(outcomes), None) + refresh()

    def remove(doc_id, token):
        if not gate.accepts(token):
            return ("**未完成**：管理口令不正确，无法删除。",) + refresh()
        if not doc_id:
            return ("请先选择要删除的文档。",) + refresh()
        try:
            ok, message = library.remove(doc_id)
        except IndexBusyError as exc:
            ok, message = False, exc.message_zh
        return (("" if ok else "**未完成**：") + md_escape(message),) + refresh()

    return refresh, upload, remove


def _listing_only(refresh):
    def listing():
        markdown, _, examples = refresh()
        return markdown, examples

    return listing


DOCUMENTS_OFF_ZH = ("文档管理未开启。服务器设置管理口令（QA_ADMIN_TOKEN_FILE 或 QA_ADMIN_TOKEN）后，"
                    "可以在这里上传和删除文档。")


def _documents_tab(library: Library, settings, chatbot, gate, upload_root: Path | None) -> None:
    refresh, upload, remove = _document_handlers(library, gate, upload_root)
    with gr.Tab("文档") as tab:
        listing = gr.Markdown(elem_id="qa-documents")
        if gate is None or not gate.enabled:
            gr.Markdown(DOCUMENTS_OFF_ZH, elem_id="qa-documents-off")
            tab.select(_listing_only(refresh), None, [listing, chatbot], api_visibility="private", queue=False)
            return
        with gr.Group():
            # Typing the token also opens an admin session (an HttpOnly cookie): Gradio's upload route,
            # which the file box calls before the import button, accepts nothing without it.
            token = gr.Textbox(label="管理口令", type="password", placeholder="上传和删除文档需要管理口令",
                               elem_id="qa-admin-token")
            files = gr.File(label=f"上传报告（txt、md、docx、pdf，每个不超过 {settings.max_upload_mb:g} MB）",
                            file_count="multiple", file_types=[".txt", ".md", ".docx", ".pdf"], type="filepath")
            replace = gr.Checkbox(label="替换同名文档", value=False, elem_id="qa-replace")
            upload_btn = gr.Button("导入", variant="primary")
        with gr.Row(equal_height=True):
            doc_choice = gr.Dropdown(label="删除文档", choices=[], value=None, scale=4)
            remove_btn = gr.Button("删除", variant="stop", scale=1)
        status = gr.Markdown()
        outputs = [status, listing, doc_choice, chatbot]
        token.change(None, [token], None, js=_SESSION_JS, api_visibility="private")
        tab.select(refresh, None, outputs[1:], api_visibility="private", queue=False)
        upload_btn.click(upload, [files, token, replace], [status, files] + outputs[1:], concurrency_limit=1,
                         concurrency_id="index-write", api_visibility="private")
        remove_btn.click(remove, [doc_choice, token], outputs, concurrency_limit=1, concurrency_id="index-write",
                         api_visibility="private")


# The admin session endpoint sits next to the page, under the same root path as the page itself.
_SESSION_JS = """
(token) => {
  const root = (window.gradio_config && window.gradio_config.root) || location.href;
  const url = new URL("api/admin/session", root.endsWith("/") ? root : root + "/");
  fetch(url, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
              body: JSON.stringify({token: token || ""})});
  return [];
}
"""


# Clipboard API needs a secure context (https or localhost); intranet http pages fall back to execCommand.
_COPY_JS = """
(text) => {
  if (!text) return [];
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text);
  } else {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  return [];
}
"""
