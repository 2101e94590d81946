"""The 文档 tab: the indexed reports with their outlines, and, with an admin token, upload and delete."""
from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

import gradio as gr

from index.section_path import SectionPath
from index.store import IndexBusyError
from web.documents import Library, ProgressLine

DOCUMENTS_OFF_ZH = ("网页上的文档管理未开启（服务器没有设置管理口令）。需要增删报告时，请在服务器上运行 "
                    "<code>python -m index build</code> 或 <code>python -m index remove 文件名</code>，"
                    "或设置 <code>QA_ADMIN_TOKEN</code>（或 <code>QA_ADMIN_TOKEN_FILE</code>）后重启服务。"
                    "浏览文档和问答不受影响。")
UPLOAD_TYPES = [".txt", ".md", ".docx", ".pdf"]


def uploaded_here(path, upload_root: Path | None) -> bool:
    """A file inside this app's upload cache: the only files an import may read."""
    if upload_root is None or not isinstance(path, (str, Path)):
        return False
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return resolved.is_file() and resolved.is_relative_to(Path(upload_root).resolve())


def _identity(doc: dict) -> str:
    """"丽水市 · 2024年 · 文件 lishui-2024.txt · 120 个片段": what the listing says under a title."""
    parts = [str(doc[k]) for k in ("place",) if doc.get(k)]
    if doc.get("year"):
        parts.append(f"{doc['year']}年")
    parts += [f"文件 {doc['doc_id']}", f"{doc['chunks']} 个片段"]
    return " · ".join(html.escape(p) for p in parts)


def documents_html(documents: list[dict]) -> str:
    """The listing: one collapsible block per report, its sections and chunk counts inside."""
    if not documents:
        return '<p class="qa-docs-empty">索引中还没有文档。</p>'
    total = sum(d["chunks"] for d in documents)
    blocks = [f"<p>共 {len(documents)} 份报告，{total} 个片段。</p>"]
    for doc in documents:
        rows = "".join(f"<tr><td>{html.escape(SectionPath.parse(s['path']).label())}</td><td>{s['chunks']}</td></tr>"
                       for s in doc["sections"])
        blocks.append(
            f'<details class="qa-doc"><summary><strong>{html.escape(doc.get("title") or doc["doc_id"])}</strong>'
            f'<span class="qa-doc-meta">{_identity(doc)}</span></summary>'
            f'<p><a href="reports/{quote(doc["doc_id"], safe="")}" target="_blank" rel="noopener">查看全文</a></p>'
            f'<table><thead><tr><th scope="col">章节</th><th scope="col">片段数</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></details>")
    return "".join(blocks)


def _outcomes_text(outcomes) -> str:
    return "\n".join(("" if o.ok else "未完成：") + o.message_zh for o in outcomes)


def _choices(documents: list[dict]) -> list[tuple[str, str]]:
    """The delete list names a report by its title and file."""
    return [(f"{d.get('title') or d['doc_id']}（{d['doc_id']}）", d["doc_id"]) for d in documents]


class DocumentsTab:
    """The tab's handlers. The listing, the chat's examples and its report picker follow every change;
    a change needs the admin token typed on the page."""

    def __init__(self, library: Library, gate, upload_root: Path | None, report_choices):
        self.library, self.gate, self.upload_root = library, gate, upload_root
        self.report_choices = report_choices

    def listing(self):
        examples = [{"text": q} for q in self.library.example_questions()]
        return (documents_html(self.library.documents()), gr.update(examples=examples),
                gr.update(choices=self.report_choices()))

    def refresh(self):
        """The listing, then the delete choices."""
        return self.listing() + (gr.update(choices=_choices(self.library.documents()), value=None),)

    def upload(self, files, token, replace, progress=gr.Progress()):
        if not self.gate.accepts(token):
            return ("未完成：管理口令不正确，无法导入。",) + self.refresh()
        if not files:
            return ("请先选择要上传的文件。",) + self.refresh()
        if not all(uploaded_here(f, self.upload_root) for f in files):
            return ("未完成：只能导入通过本页上传的文件。",) + self.refresh()
        progress(0, desc="正在导入……")
        line = ProgressLine()

        def report(done: int, total: int, doc_id: str) -> None:
            progress((done, total), desc=line(done, total, doc_id), unit="段")

        outcomes = self.library.add([(Path(f).name, Path(f)) for f in files], progress=report, replace=bool(replace))
        return (_outcomes_text(outcomes),) + self.refresh()

    def check_token(self, token):
        """The upload button works only with the right token; the note beside the field says so."""
        ok = self.gate.accepts(token)
        note = "" if not token else ("✓ 口令正确，可以上传和删除。" if ok else "口令不正确。")
        return gr.update(interactive=ok), note

    @staticmethod
    def ask_to_remove(doc_id):
        if not doc_id:
            return "请先选择要删除的文档。", gr.update(visible=False)
        return "", gr.update(visible=True)

    def remove(self, doc_id, token):
        if not self.gate.accepts(token):
            return ("未完成：管理口令不正确，无法删除。", gr.update(visible=False)) + self.refresh()
        try:
            ok, message = self.library.remove(doc_id)
        except IndexBusyError as exc:
            ok, message = False, exc.message_zh
        return (("" if ok else "未完成：") + message, gr.update(visible=False)) + self.refresh()


def documents_tab(library: Library, settings, gate, upload_root: Path | None, chatbot, report_picker,
                  report_choices) -> None:
    """The tab: the listing for everyone, upload and delete only with an admin token configured."""
    handlers = DocumentsTab(library, gate, upload_root, report_choices)
    with gr.Tab("文档", elem_id="qa-documents-tab") as tab:
        managed = gate is not None and gate.enabled
        if not managed:
            gr.HTML(f'<p role="note">{DOCUMENTS_OFF_ZH}</p>', elem_id="qa-documents-off", padding=False)
        listing = gr.HTML(elem_id="qa-documents", padding=False)
        listed = [listing, chatbot, report_picker]
        if not managed:
            tab.select(handlers.listing, None, listed, api_visibility="private", queue=False)
            return
        _admin_controls(tab, handlers, settings, listed)


def _admin_controls(tab, handlers: DocumentsTab, settings, listed: list) -> None:
    with gr.Column(elem_id="qa-admin", variant="panel"):
        with gr.Row(equal_height=False):
            # Typing the token also opens an admin session (an HttpOnly cookie): Gradio's upload route,
            # which the upload button calls before the import runs, accepts nothing without it.
            token = gr.Textbox(label="管理口令", type="password", placeholder="上传和删除文档需要管理口令",
                               elem_id="qa-admin-token", scale=3)
            token_status = gr.Markdown("", elem_id="qa-admin-token-status")
        with gr.Row(equal_height=False, elem_id="qa-upload-row"):
            files = gr.UploadButton("选择文件并导入", file_count="multiple", file_types=UPLOAD_TYPES, type="filepath",
                                    variant="primary", elem_id="qa-upload", scale=0, min_width=150, interactive=False)
            upload_status = gr.Textbox(label="导入结果", interactive=False, elem_id="qa-upload-status", lines=1,
                                       max_lines=6, scale=3,
                                       placeholder=f"txt、md、docx、pdf，每个不超过 {settings.max_upload_mb:g} MB")
            replace = gr.Checkbox(label="替换同名文档", value=False, elem_id="qa-replace", scale=1, min_width=120)
    with gr.Column(elem_id="qa-remove-box", variant="panel"):
        with gr.Row(equal_height=False, elem_id="qa-remove-row"):
            doc_choice = gr.Dropdown(label="删除文档", choices=[], value=None, scale=3, elem_id="qa-remove-choice")
            remove_btn = gr.Button("删除", variant="stop", scale=0, min_width=80, elem_id="qa-remove")
            remove_status = gr.Textbox(label="删除结果", interactive=False, elem_id="qa-remove-status", lines=1,
                                       scale=2)
        with gr.Row(visible=False, elem_id="qa-remove-confirm", equal_height=True) as confirm:
            gr.Markdown("确定删除这份文档吗？它的文件会移到索引目录的 removed/ 下，问答中不再引用。")
            confirm_btn = gr.Button("确认删除", variant="stop", scale=0, min_width=100, elem_id="qa-remove-yes")
            cancel_btn = gr.Button("取消", scale=0, min_width=80, elem_id="qa-remove-no")
    _wire_admin(tab, handlers, listed + [doc_choice], token, token_status, files, upload_status, replace,
                (doc_choice, remove_btn, remove_status, confirm, confirm_btn, cancel_btn))


def _wire_admin(tab, handlers: DocumentsTab, listed, token, token_status, files, upload_status, replace,
                removal) -> None:
    doc_choice, remove_btn, remove_status, confirm, confirm_btn, cancel_btn = removal
    private = dict(api_visibility="private")
    token.change(handlers.check_token, [token], [files, token_status], js=_SESSION_JS, queue=False, **private)
    tab.select(handlers.refresh, None, listed, queue=False, **private)
    writes = dict(concurrency_limit=1, concurrency_id="index-write", **private)
    files.upload(handlers.upload, [files, token, replace], [upload_status] + listed, **writes)
    remove_btn.click(handlers.ask_to_remove, [doc_choice], [remove_status, confirm], queue=False, **private)
    cancel_btn.click(lambda: ("", gr.update(visible=False)), None, [remove_status, confirm], queue=False, **private)
    confirm_btn.click(handlers.remove, [doc_choice, token], [remove_status, confirm] + listed, **writes)


# The admin session endpoint sits next to the page, under the same root path as the page itself.
# Awaited, so the upload button is enabled only once the session cookie is set.
_SESSION_JS = """
async (token) => {
  const root = (window.gradio_config && window.gradio_config.root) || location.href;
  const url = new URL("api/admin/session", root.endsWith("/") ? root : root + "/");
  try {
    await fetch(url, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json"},
                      body: JSON.stringify({token: token || ""})});
  } catch (e) { /* the check below says what is wrong */ }
  return [token];
}
"""
