"""The chat handler as a plain generator, with the real bot on the bundled report, without a server.

Streaming, escaping and follow-up wiring are checked here, not answer quality, so the bot searches
with the stand-in embedding model (see conftest).
"""
from __future__ import annotations

import pytest

from bot.types import Answer, Source
from web.documents import example_questions, topic_of
from web.ui import (FAILURE_ZH, chat_turn, documents_markdown, highlight, md_escape, md_unescape,
                    plain_text, sources_markdown, to_history)

CARD_QUESTION = "上半年生态环境做了什么"


@pytest.fixture(scope="module")
def report_bot(fake_report_bot):
    return fake_report_bot


def as_browser_sends(messages: list[dict]) -> list[dict]:
    """The browser returns chat content as a list of text parts, with metadata and options keys."""
    return [{"role": m["role"], "metadata": m.get("metadata"), "options": None,
             "content": [{"type": "text", "text": m["content"]}]} for m in messages]


def run(bot, question, messages=None):
    updates = list(chat_turn(bot, question, messages))
    return updates, updates[-1][0], updates[-1][1]


def test_a_question_shows_at_once_then_ends_with_the_answer_and_its_sources(report_bot):
    updates, final, copied = run(report_bot, CARD_QUESTION)
    first_messages, _ = updates[0]
    assert first_messages == [{"role": "user", "content": CARD_QUESTION}]
    user, answer, sources = final
    assert answer["role"] == "assistant" and "全力整治生态环境" in answer["content"]
    assert "\\[1\\]" in answer["content"]  # the [n] marker, escaped so Markdown shows it as text
    expected = report_bot.ask(CARD_QUESTION)
    assert sources["metadata"]["title"] == f"参考来源（{len(expected.sources)} 条）"
    assert sources["metadata"]["status"] == "done"
    assert "**\\[1\\]**" in sources["content"] and "（六）全力整治生态环境" in sources["content"]
    assert "<mark>" in sources["content"]
    assert md_unescape(answer["content"]) == expected.answer
    assert copied.startswith(expected.answer) and "来源：\n[1] " in copied


def test_a_follow_up_carries_the_topic_and_shows_the_rewritten_question(report_bot):
    _, first, _ = run(report_bot, CARD_QUESTION)
    _, final, _ = run(report_bot, "那下半年呢？", as_browser_sends(first))
    assert len(final) == 6
    answer, sources = final[-2], final[-1]
    assert "（四）坚持绿色发展" in answer["content"]
    assert sources["metadata"]["log"].startswith("已按“") and "下半年" in sources["metadata"]["log"]
    assert "生态" in sources["metadata"]["log"]


@pytest.mark.parametrize("question, expected", [
    ("问" * 501, "问题太长了"),
    ("生态\x07环境", "控制字符"),
])
def test_bad_input_gets_a_friendly_chinese_reply_in_the_chat(report_bot, question, expected):
    _, final, copied = run(report_bot, question)
    assert final[-1]["role"] == "assistant" and expected in final[-1]["content"]
    assert copied == "" and len(final) == 2
    assert len(md_unescape(final[0]["content"])) <= report_bot.settings.max_question_chars + 2


def test_an_empty_question_changes_nothing(report_bot):
    updates, final, _ = run(report_bot, "   ", [{"role": "user", "content": "x"}])
    assert len(updates) == 1 and final == [{"role": "user", "content": "x"}]


def test_markup_in_a_question_is_kept_as_text(report_bot):
    question = "生态环境 <img src=x onerror=alert(1)> ![x](http://127.0.0.1:9/leak)"
    _, final, _ = run(report_bot, question)
    shown = final[0]["content"]
    assert "<img" not in shown and "![" not in shown and "](" not in shown and "http://" not in shown
    assert md_unescape(shown) == question
    assert to_history(as_browser_sends(final))[0]["content"] == question


def test_a_failing_bot_gives_an_apology_not_a_trace(report_bot):
    class Broken:
        settings = report_bot.settings

        def stream(self, question, history):
            raise RuntimeError("index exploded at /srv/secret/path")
            yield  # pragma: no cover

    _, final, _ = run(Broken(), CARD_QUESTION)
    assert final[-1]["content"] == FAILURE_ZH


def test_history_leaves_out_source_blocks_and_unescapes_text():
    messages = [{"role": "user", "content": md_escape("a*b <c>")},
                {"role": "assistant", "content": md_escape("答[1]")},
                {"role": "assistant", "content": "来源", "metadata": {"title": "参考来源（1 条）"}}]
    assert to_history(as_browser_sends(messages)) == [{"role": "user", "content": "a*b <c>"},
                                                      {"role": "assistant", "content": "答[1]"}]


@pytest.mark.parametrize("text", ["a<b>&c", "\\&lt;", "&amp;lt;", "![x](http://h:1/leak)", "**亿元", "x\\y", "[1]"])
def test_escaping_round_trips(text):
    assert md_unescape(md_escape(text)) == text


def test_highlight_marks_the_quoted_sentences_and_escapes_the_rest():
    text = "第一句*。第二句<b>。第三句。"
    assert highlight(text, ["第二句<b>。", "不在原文。"]) == "第一句\\*。<mark>第二句&lt;b&gt;。</mark>第三句。"


def test_sources_and_copied_text_name_document_and_section():
    source = Source(1, "r.txt", "一、上半年 > （六）生态", "原文。", 0, 3, 0.5, ["原文。"])
    answer = Answer("回答。[1]", False, "问", [source])
    assert sources_markdown([source]) == "**\\[1\\]** r.txt · 一、上半年 › （六）生态\n\n<mark>原文。</mark>"
    assert plain_text(answer) == "回答。[1]\n\n来源：\n[1] r.txt · 一、上半年 › （六）生态"


def test_example_questions_come_from_the_indexed_outline(report_bot):
    from web.documents import Library

    questions = Library(report_bot.components, report_bot.settings).example_questions()
    titles = [s["path"].split(" > ")[-1] for d in report_bot.components.store.documents() for s in d["sections"]]
    topics = {topic_of(t) for t in titles}
    assert len(questions) == 4 and all(any(f"“{t}”" in q for t in topics) for q in questions)
    assert any(q.startswith("上半年") for q in questions) and any(q.startswith("下半年") for q in questions)


def test_a_new_report_brings_its_own_examples():
    documents = [{"doc_id": "plan.md", "title": "plan", "chunks": 3, "sections": [
        {"path": "一、明年工作安排", "chunks": 1},
        {"path": "一、明年工作安排 > （一）推进智慧城市建设，提升治理水平", "chunks": 1},
        {"path": "一、明年工作安排 > （二）办好民生实事", "chunks": 1}]}]
    assert example_questions(documents) == ["明年“推进智慧城市建设”方面有什么计划？",
                                             "明年“办好民生实事”方面有什么计划？"]


def test_the_documents_listing_shows_sections_and_chunk_counts(report_bot):
    listing = documents_markdown(report_bot.components.store.documents())
    assert listing.startswith("共 1 份文档，")
    assert "| 一、2022年上半年度工作完成情况 › （六）全力整治生态环境 | 2 |" in listing
    assert documents_markdown([]).startswith("索引中还没有文档")


# --- only text reaches the handler ------------------------------------------------------------
FILE_PART = {"type": "file", "file": {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}}


def test_file_parts_in_the_chat_are_neither_read_nor_sent_back(report_bot):
    messages = [{"role": "user", "content": [FILE_PART, {"type": "text", "text": CARD_QUESTION}]},
                {"role": "assistant", "content": [{"type": "component", "component": "image", "value": {"path": "/x"}}]}]
    updates, final, _ = run(report_bot, "那下半年呢？", messages)
    assert "/etc/hostname" not in repr(updates) and "component" not in repr(updates)
    assert final[0] == {"role": "user", "content": CARD_QUESTION} and final[1] == {"role": "assistant", "content": ""}


def test_gradio_refuses_file_references_before_following_them(tmp_path):
    import gradio as gr

    from web.ui import refused_input

    cache = tmp_path / "web-cache"
    (cache / "h").mkdir(parents=True)
    (cache / "h" / "report.md").write_text("x")
    history = [{"role": "user", "content": [FILE_PART]}]
    assert refused_input(gr.Chatbot(), history, cache) == "只能发送文字，不能附带文件。"
    assert refused_input(gr.Textbox(), {"path": "/etc/hostname"}, cache) == "只能发送文字，不能附带文件。"
    assert refused_input(gr.Chatbot(), as_browser_sends([{"role": "user", "content": "问"}]), cache) == ""
    files = gr.File(file_count="multiple")
    assert refused_input(files, [{"path": str(cache / "h" / "report.md"), "meta": {"_type": "gradio.FileData"}}], cache) == ""
    for outside in ("/etc/hostname", f"{cache}/h/../../secret.md", "report.md"):
        assert refused_input(files, [{"path": outside}], cache) == "只能导入通过本页上传的文件。"
    assert refused_input(files, [{"path": str(cache / "h" / "report.md")}], None) == "只能导入通过本页上传的文件。"


def test_a_lone_surrogate_in_the_chat_gets_a_chinese_reply(report_bot):
    _, final, _ = run(report_bot, "生态\ud800环境")
    assert "无法识别的字符" in final[-1]["content"] and "\ud800" not in repr(final)


# --- history caps ---------------------------------------------------------------------------------
def test_history_keeps_the_most_recent_text_within_the_cap():
    from bot.messages import normalise_history

    history = [{"role": "user", "content": "甲" * 3000}, {"role": "assistant", "content": "乙" * 3000},
               {"role": "user", "content": "丙\x00" * 500}, {"role": "assistant", "content": "丁\ud800"}]
    kept = normalise_history(history, 4, 4000)
    assert [m["role"] for m in kept] == ["assistant", "user", "assistant"]
    assert kept[0]["content"] == "乙" * (4000 - 1000 - 2) and kept[1]["content"] == "丙" * 500
    assert kept[2]["content"] == "丁"  # control characters and lone surrogates are not text
    assert normalise_history(history, 4, 0) == []


def test_a_rewritten_follow_up_obeys_the_question_cap(report_bot):
    cap = report_bot.settings.max_question_chars
    history = [{"role": "user", "content": "上半年" + "生态环境保护" * 2000 + "做了什么？"}, {"role": "assistant", "content": "好"}]
    answer = report_bot.ask("那下半年呢？", history)
    assert answer.question.startswith("下半年") and len(answer.question) <= cap
