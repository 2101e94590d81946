"""The 文档 tab: the indexed reports with their outlines, and, with an admin token, upload and delete."""
from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from index.section_path import SectionPath
from index.store import IndexBusyError
from web.documents import Library

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

        def report(done: int, total: int, doc_id: str) -> None:
            progress((done, total), desc=f"正在向量化 {doc_id}", unit="片段")

        outcomes = self.library.add([(Path(f).name, Path(f)) for f in files], progress=report, replace=bool(replace))
        return (_outcomes_text(outcomes),) + self.refresh()

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
        listing = gr.HTML(elem_id="qa-documents", padding=False)
        listed = [listing, chatbot, report_picker]
        if gate is None or not gate.enabled:
            gr.HTML(f'<p role="note">{DOCUMENTS_OFF_ZH}</p>', elem_id="qa-documents-off", padding=False)
            tab.select(handlers.listing, None, listed, api_visibility="private", queue=False)
            return
        _admin_controls(tab, handlers, settings, listed)


def _admin_controls(tab, handlers: DocumentsTab, settings, listed: list) -> None:
    with gr.Group():
        # Typing the token also opens an admin session (an HttpOnly cookie): Gradio's upload route,
        # which the upload button calls before the import runs, accepts nothing without it.
        token = gr.Textbox(label="管理口令", type="password", placeholder="上传和删除文档需要管理口令",
                           elem_id="qa-admin-token")
        with gr.Row(equal_height=True):
            files = gr.UploadButton(f"选择报告文件并导入（txt、md、docx、pdf，每个不超过 {settings.max_upload_mb:g} MB）",
                                    file_count="multiple", file_types=UPLOAD_TYPES, type="filepath",
                                    variant="primary", elem_id="qa-upload", scale=2)
            replace = gr.Checkbox(label="替换同名文档", value=False, elem_id="qa-replace", scale=1)
        upload_status = gr.Textbox(label="导入结果", interactive=False, elem_id="qa-upload-status", lines=1,
                                   max_lines=6)
    with gr.Group():
        with gr.Row(equal_height=True):
            doc_choice = gr.Dropdown(label="删除文档", choices=[], value=None, scale=4, elem_id="qa-remove-choice")
            remove_btn = gr.Button("删除", variant="stop", scale=1, elem_id="qa-remove")
        with gr.Row(visible=False, elem_id="qa-remove-confirm") as confirm:
            gr.HTML("<p>确定删除这份文档吗？它的文件会移到索引目录的 removed/ 下，问答中不再引用。</p>", padding=False)
            confirm_btn = gr.Button("确认删除", variant="stop", elem_id="qa-remove-yes")
            cancel_btn = gr.Button("取消", elem_id="qa-remove-no")
        remove_status = gr.Textbox(label="删除结果", interactive=False, elem_id="qa-remove-status", lines=1)
    listed = listed + [doc_choice]
    private = dict(api_visibility="private")
    token.change(None, [token], None, js=_SESSION_JS, **private)
    tab.select(handlers.refresh, None, listed, queue=False, **private)
    writes = dict(concurrency_limit=1, concurrency_id="index-write", **private)
    files.upload(handlers.upload, [files, token, replace], [upload_status] + listed, **writes)
    remove_btn.click(handlers.ask_to_remove, [doc_choice], [remove_status, confirm], queue=False, **private)
    cancel_btn.click(lambda: ("", gr.update(visible=False)), None, [remove_status, confirm], queue=False, **private)
    confirm_btn.click(handlers.remove, [doc_choice, token], [remove_status, confirm] + listed, **writes)


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
