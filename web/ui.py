"""The chat page wired to Gradio: conversations and the report picker in a sidebar, the chat, the
documents tab; ``/embed/`` gets the chat alone. The handlers are plain functions in web/chat.py.

Conversations live in the reader's browser (localStorage, the small scripts below): the server keeps
none, and what the browser sends back is read as text only (``TextOnlyBlocks``, ``chat.text_only``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no telemetry, no version check

import gradio as gr  # noqa: E402

from bot.query import clean_text  # noqa: E402
from web.answer_view import plain_answer  # noqa: E402
from web.chat import chat_turn, feedback_of, last_question, restored, text_only  # noqa: E402
from web.documents import Library  # noqa: E402
from web.documents_tab import documents_tab, uploaded_here  # noqa: E402

TITLE = "工作报告问答"
SUBTITLE = "根据已收录的报告回答，点击 [n] 可查看原文。"
MAX_LISTED_CONVERSATIONS = 30
# The page's own events: left out of the API page, and without Gradio's progress overlay on the chat.
_QUIET = dict(api_visibility="private", show_progress="hidden")


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
    if not isinstance(block, (gr.File, gr.UploadButton)):
        return "只能发送文字，不能附带文件。"
    if all(uploaded_here(r.get("path"), upload_root) for r in references):
        return ""
    return "只能导入通过本页上传的文件。"


def report_choices(library: Library) -> list[tuple[str, str]]:
    """(label, doc id) for the report picker: the title, with place and year when the title lacks them."""
    choices = []
    for doc in library.documents():
        title = doc.get("title") or doc["doc_id"]
        extra = [str(v) for v in (doc.get("place"), doc.get("year")) if v and str(v) not in title]
        choices.append((f"{title}（{' '.join(extra)}）" if extra else title, doc["doc_id"]))
    return choices


def _examples(library: Library) -> list[dict]:
    return [{"text": q} for q in library.example_questions()]


def build_ui(bot, library: Library, *, embed: bool = False, gate=None, upload_root: Path | None = None,
             feedback=None) -> gr.Blocks:
    """The full page (conversations, report picker, chat and documents tabs) or, with ``embed``, the
    compact chat for a portal's frame or widget. ``gate`` (web.auth.AdminGate) turns document
    management on; ``upload_root`` is Gradio's upload cache; ``feedback`` (web.feedback.FeedbackStore)
    turns 👍/👎 on."""
    with TextOnlyBlocks(title=TITLE, analytics_enabled=False, fill_height=True, fill_width=True,
                        delete_cache=(3600, 3600)) as demo:
        demo.upload_root = upload_root
        chat = ChatPage(bot, library, embed=embed, feedback=feedback)
        if embed:
            chat.render_embed()
            chat.wire(demo)
        else:
            gr.HTML(f'<header id="qa-header"><h1>{TITLE}</h1><p>{SUBTITLE}</p></header>', padding=False,
                    elem_id="qa-header-box")
            chat.render_sidebar()
            with gr.Tabs(elem_id="qa-tabs"):
                with gr.Tab("问答", elem_id="qa-chat-tab"):
                    chat.render_chat()
                # The chat's events first: a page loaded from one process may be answered by another
                # behind the load balancer, and only the 文档 tab's events differ between a process that
                # holds the admin token and one that does not, so the chat's event numbers agree.
                chat.wire(demo)
                documents_tab(library, bot.settings, gate, upload_root, chat.chatbot, chat.docs,
                              lambda: report_choices(library))
    return demo


class ChatPage:
    """The chat's components and events; the layout differs between the full page and the embed."""

    def __init__(self, bot, library: Library, *, embed: bool, feedback):
        self.bot, self.library, self.embed, self.feedback = bot, library, embed, feedback
        self.viewer_base = "../" if embed else ""  # the report viewer sits at the app's root
        self.docs: gr.Dropdown | None = None
        self.past: gr.Radio | None = None

    # --- layout ---------------------------------------------------------------------------
    def render_sidebar(self) -> None:
        with gr.Sidebar(label="对话与报告", open=True, elem_id="qa-sidebar", width=280):
            self.new_chat = gr.Button("＋ 新对话", variant="secondary", elem_id="qa-new-chat")
            self.past = gr.Radio(label="历史对话", info="只保存在这个浏览器里", choices=[], value=None,
                                 elem_id="qa-past")
            self.forget = gr.Button("删除当前对话", size="sm", variant="secondary", elem_id="qa-forget")
            self.docs = gr.Dropdown(label="报告范围", info="不选即在全部报告中查找", multiselect=True,
                                    choices=report_choices(self.library), value=[], elem_id="qa-docs")

    def render_embed(self) -> None:
        gr.HTML(f'<h1 class="qa-visually-hidden">{TITLE}</h1>', padding=False, elem_id="qa-embed-title")
        self.render_chat()
        with gr.Row(elem_id="qa-embed-tools"):
            self.new_chat = gr.Button("＋ 新对话", size="sm", variant="secondary", elem_id="qa-new-chat")

    def render_chat(self) -> None:
        settings = self.bot.settings
        self.chatbot = gr.Chatbot(
            label="对话", show_label=False, elem_id="qa-chat", elem_classes=["qa-answer"], height="100%",
            scale=1, min_height=160, placeholder=None if self.embed else "请输入问题，或点击下面的示例。",
            examples=_examples(self.library), buttons=["copy"],
            feedback_options=("Like", "Dislike") if self.feedback is not None else None,
            sanitize_html=True, allow_tags=False, latex_delimiters=[], render_markdown=True, line_breaks=True,
            group_consecutive_messages=False, layout="bubble", autoscroll=True,
        )
        with gr.Row(equal_height=True, elem_id="qa-input-row"):
            self.question = gr.Textbox(
                label="问题", show_label=False, max_length=settings.max_question_chars, lines=1, max_lines=4,
                placeholder="输入问题，按回车发送" if self.embed else "输入问题，例如：上半年生态环境做了什么？",
                scale=5, min_width=120, submit_btn=False, elem_id="qa-question", autofocus=not self.embed)
            self.send = gr.Button("发送", variant="primary", scale=0, min_width=64, elem_id="qa-send")
            self.stop = None
            if settings.answer_mode == "llm":  # extractive answers are done before anyone could press it
                self.stop = gr.Button("停止", variant="stop", scale=0, min_width=64, elem_id="qa-stop",
                                      visible="hidden")
        if self.feedback is not None:
            self.render_feedback_form()
        self.conversation_id = gr.Textbox(visible="hidden", elem_id="qa-conversation-id")
        self.stored = gr.Textbox(visible="hidden", elem_id="qa-stored")
        self.copied = gr.Textbox(visible="hidden", elem_id="qa-copied")

    def render_feedback_form(self) -> None:
        with gr.Row(visible=False, elem_id="qa-feedback", equal_height=True) as self.feedback_form:
            self.comment = gr.Textbox(label="补充说明（可选）", placeholder="哪里好、哪里不对？可以不填",
                                      max_length=1000, scale=4, elem_id="qa-feedback-comment")
            self.send_feedback = gr.Button("提交反馈", variant="primary", scale=0, min_width=96,
                                           elem_id="qa-feedback-send")
            self.cancel_feedback = gr.Button("取消", scale=0, min_width=64, elem_id="qa-feedback-cancel")
        self.pending = gr.State(None)  # the rating waiting for its optional comment

    # --- events ---------------------------------------------------------------------------
    def wire(self, demo: gr.Blocks) -> None:
        # A trigger's listeners run one after another, in the order they were added: whatever must
        # happen before an answer streams (keeping a pending rating, showing 停止) is added first.
        if self.feedback is not None:
            self._wire_feedback()
        self._wire_questions()
        self._wire_conversations(demo)
        self._wire_copy()

    def _respond(self, message, messages, docs=None):
        first = True
        for chat in chat_turn(self.bot, message, messages, docs, self.viewer_base):
            yield ("" if first else gr.skip()), chat
            first = False

    def _ask_again(self, messages, docs=None):
        question, before = last_question(messages)
        if not question:
            yield messages
            return
        yield from chat_turn(self.bot, question, before, docs, self.viewer_base)

    def _after_answer(self, event) -> None:
        """Every finished (or stopped) answer is saved in the browser and listed."""
        saved = event.then(None, [self.chatbot, self.conversation_id], [self.conversation_id, self.stored],
                           js=_SAVE_JS, **_QUIET, queue=False)
        if self.past is not None:
            saved.then(_listed, [self.stored, self.conversation_id], self.past, **_QUIET,
                       queue=False)

    def _wire_questions(self) -> None:
        docs = [self.docs] if self.docs is not None else []
        ask = dict(fn=self._respond, inputs=[self.question, self.chatbot] + docs,
                   outputs=[self.question, self.chatbot])
        asked = [self._answering(self.question.submit, api_name="chat", **ask),
                 self._answering(self.send.click, **_QUIET, **ask)]
        for picked in (self.chatbot.example_select, self.chatbot.option_select):
            filled = picked(_picked_text, None, self.question, **_QUIET, queue=False)
            filled.then(None, js=_FOCUS_JS, **_QUIET)
            asked.append(self._answering(filled.then, **_QUIET, **ask))
        asked.append(self._answering(self.chatbot.retry, self._ask_again, [self.chatbot] + docs, self.chatbot,
                                     **_QUIET))
        for event in asked:
            self._after_answer(event)
        if self.stop is not None:
            self.stop.click(_idle, None, [self.send, self.stop], cancels=asked, **_QUIET, queue=False).then(
                None, [self.chatbot, self.conversation_id], [self.conversation_id, self.stored], js=_SAVE_JS,
                **_QUIET)

    def _answering(self, trigger, *args, **kwargs):
        """Listen to ``trigger`` with the answer; in LLM mode 停止 shows while it streams."""
        if self.stop is None:
            return trigger(*args, **kwargs)
        trigger(_busy, None, [self.send, self.stop], **_QUIET, queue=False)
        answered = trigger(*args, **kwargs)
        answered.then(_idle, None, [self.send, self.stop], **_QUIET, queue=False)
        return answered

    def _wire_conversations(self, demo: gr.Blocks) -> None:
        outputs = [self.chatbot, self.conversation_id] + ([self.past] if self.past is not None else [])
        demo.load(self._opened, [self.stored, self.conversation_id], outputs, js=_LOAD_JS,
                  **_QUIET, queue=False)
        # Examples and report choices are baked into the page config at startup; documents may have changed.
        demo.load(self._current_choices, None, [self.chatbot] + ([self.docs] if self.docs is not None else []),
                  **_QUIET, queue=False)
        fresh = [[], ""] + ([None] if self.past is not None else [])
        start_new = f"() => {{ {_STORE_JS} qaStore.open(''); return {json.dumps(fresh)}; }}"
        for trigger in (self.new_chat.click, self.chatbot.clear):  # the chat's own 🗑 starts a new one too
            trigger(None, None, outputs, js=start_new, **_QUIET).then(
                None, js=_FOCUS_JS, **_QUIET)
        if self.past is not None:
            self.past.select(self._opened, [self.stored, self.past], outputs, js=_OPEN_JS,
                             **_QUIET, queue=False)
            self.forget.click(None, None, [self.chatbot, self.conversation_id, self.stored], js=_FORGET_JS,
                              **_QUIET).then(_listed, [self.stored, self.conversation_id], self.past, **_QUIET,
                                             queue=False)

    def _current_choices(self):
        examples = gr.update(examples=_examples(self.library))
        return examples if self.docs is None else (examples, gr.update(choices=report_choices(self.library)))

    def _opened(self, payload: str, conversation_id: str):
        """A conversation the browser kept, shown; with the list of the others on the full page."""
        stored = _parse_stored(payload)
        chosen = next((c for c in stored["list"] if c["id"] == conversation_id), None)
        conversation_id = chosen["id"] if chosen else ""
        shown = (restored(json.dumps(stored["messages"])) if chosen else [], conversation_id)
        if self.past is None:
            return shown
        return shown + (_listed_update(stored["list"], conversation_id),)

    def _wire_copy(self) -> None:
        # Queued (not queue=False): a toast (gr.Info) reaches the page only through the queue's stream.
        copied = self.chatbot.copy(_copied, None, self.copied, **_QUIET)
        copied.then(None, [self.copied], None, js=_COPY_JS, **_QUIET)

    def _wire_feedback(self) -> None:
        form = [self.pending, self.feedback_form, self.comment]
        for asked in (self.question.submit, self.send.click):  # a rating left open is kept as it is
            asked(self._store_feedback, [self.pending, self.comment], form, **_QUIET, queue=False)
        rated = self.chatbot.like(_rated, [self.chatbot] + ([self.docs] if self.docs else []), form,
                                  **_QUIET, queue=False)
        rated.then(None, js=_FOCUS_COMMENT_JS, **_QUIET)
        for send in (self.send_feedback.click, self.comment.submit):
            send(self._store_feedback, [self.pending, self.comment], form, **_QUIET)
        self.cancel_feedback.click(lambda: (None, gr.update(visible=False), ""), None, form,
                                   **_QUIET, queue=False)

    def _store_feedback(self, pending: dict | None, comment: str):
        if pending:
            self.feedback.add(comment=clean_text(comment or ""), **pending)
            gr.Info("谢谢反馈，已记录。")
        return None, gr.update(visible=False), ""


def _busy():
    return gr.update(visible="hidden"), gr.update(visible=True)


def _idle():
    return gr.update(visible=True), gr.update(visible="hidden")


def _picked_text(evt: gr.SelectData) -> str:
    value = evt.value
    if isinstance(value, dict):
        value = value.get("value") or value.get("text") or ""
    return clean_text(str(value))


def _copied(evt: gr.CopyData) -> str:
    """The copied answer as plain text (the copy button took its Markdown); the page then re-copies it."""
    copied = evt.value if isinstance(evt.value, list) else [evt.value]  # Gradio sends the message's text
    messages = text_only([m if isinstance(m, dict) else {"role": "assistant", "content": str(m)} for m in copied])
    text = "\n\n".join(plain_answer(m["content"]) for m in messages)
    gr.Info("已复制到剪贴板")
    return text


def _rated(messages: list[dict], docs: list[str] | None = None, evt: gr.LikeData = None):
    """👍/👎 on an answer: remembered until its optional comment is sent (or the next question is asked)."""
    index = evt.index if isinstance(evt.index, int) else evt.index[0]
    question, answer, sources = feedback_of(messages, index)
    if evt.liked not in (True, False) or not question:
        return None, gr.update(visible=False), ""
    rating = "up" if evt.liked else "down"
    pending = {"question": question, "answer": answer, "rating": rating, "sources": sources, "docs": list(docs or [])}
    return pending, gr.update(visible=True), ""


def _parse_stored(payload: str) -> dict:
    """The browser's conversation list and the chosen conversation's messages, read defensively."""
    try:
        stored = json.loads(payload or "{}")
    except ValueError:
        stored = {}
    stored = stored if isinstance(stored, dict) else {}
    listed = [c for c in stored.get("list", []) if isinstance(c, dict) and isinstance(c.get("id"), str)]
    messages = stored.get("messages")
    return {"list": [{"id": c["id"][:40], "title": clean_text(str(c.get("title", "")))[:40] or "对话"}
                     for c in listed[:MAX_LISTED_CONVERSATIONS]],
            "messages": messages if isinstance(messages, list) else []}


def _listed_update(listed: list[dict], current: str):
    return gr.update(choices=[(c["title"], c["id"]) for c in listed], value=current or None)


def _listed(payload: str, current: str):
    return _listed_update(_parse_stored(payload)["list"], current)


# --- browser-side scripts ----------------------------------------------------------------------
# The conversation store in localStorage: {current, items: [{id, title, updated, messages}]}, newest first.
_STORE_JS = """
const qaStore = {
  key: "qa-chat:conversations:v1", keep: 30,
  read() { try { const s = JSON.parse(localStorage.getItem(this.key) || "{}");
                 return {current: s.current || "", items: Array.isArray(s.items) ? s.items : []}; }
           catch (e) { return {current: "", items: []}; } },
  write(s) { while (true) { try { localStorage.setItem(this.key, JSON.stringify(s)); return; }
                            catch (e) { if (!s.items.length) return; s.items.pop(); } } },
  listed(s) { return s.items.map(c => ({id: c.id, title: c.title})); },
  payload(s, id) { const c = s.items.find(c => c.id === id);
                   return JSON.stringify({list: this.listed(s), messages: c ? c.messages : []}); },
  open(id) { const s = this.read(); s.current = id; this.write(s); return s; },
  text(m) { const c = m && m.content; const t = Array.isArray(c) ? c.map(p => p.text || "").join("") : String(c || "");
            return t.replace(/\\\\(.)/g, "$1").replace(/\\s+/g, " ").trim(); },
  save(messages, id) {
    const s = this.read();
    if (!messages || !messages.length) return [id, this.payload(s, id)];
    id = id || (Date.now().toString(36) + Math.random().toString(36).slice(2, 8));
    const first = messages.find(m => m.role === "user");
    const old = s.items.find(c => c.id === id);
    const title = (old && old.title) || this.text(first).slice(0, 30) || "对话";
    s.items = [{id, title, updated: Date.now(), messages}].concat(s.items.filter(c => c.id !== id)).slice(0, this.keep);
    s.current = id; this.write(s);
    return [id, this.payload(s, id)];
  },
};
"""
_LOAD_JS = f"() => {{ {_STORE_JS} const s = qaStore.read(); return [qaStore.payload(s, s.current), s.current]; }}"
_OPEN_JS = f"(_, id) => {{ {_STORE_JS} const s = qaStore.open(id); return [qaStore.payload(s, id), id]; }}"
_SAVE_JS = f"(messages, id) => {{ {_STORE_JS} return qaStore.save(messages, id); }}"
_FORGET_JS = f"""() => {{ {_STORE_JS} const s = qaStore.read();
  s.items = s.items.filter(c => c.id !== s.current); s.current = ""; qaStore.write(s);
  return [[], "", qaStore.payload(s, "")]; }}"""
_FOCUS_JS = """() => { const box = document.querySelector("#qa-question textarea");
  if (box) box.focus(); return []; }"""
# The comment box appears with the event's result: wait for it (up to a second) before moving focus.
_FOCUS_COMMENT_JS = """() => { let tries = 0; const focus = () => {
  const box = document.querySelector("#qa-feedback-comment textarea");
  if (box && box.offsetParent) box.focus(); else if (tries++ < 20) setTimeout(focus, 50); };
  focus(); return []; }"""

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
