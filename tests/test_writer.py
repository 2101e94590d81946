"""The writer on hand-built passages: no index, no model. What an answer says, in what order, and which
passages it lists as sources."""
from __future__ import annotations

import re

from bot.eval import is_refusal
from bot.query import QuestionInfo
from bot.stages.extract import Extract, Sentence
from bot.stages.plan import Plan
from bot.stages.retrieve import Hit
from bot.stages.understand import Question
from bot.stages.write import MASKED_NOTE, WITHHELD, Writer
from index.meta import ChunkMeta
from index.store import StoredChunk

LISHUI = "丽水市2024年政府工作报告"
SHUNPING = "顺平县2024年政府工作报告"
DISTRICT = "某区2022年上半年政府工作报告"
RESULTS = "一、2023年工作回顾"
PLANS = "二、2024年工作安排"


def chunk(cid: str, text: str, section: str, title: str = LISHUI, part: str = RESULTS, start: int = 0) -> StoredChunk:
    doc_id, year = {LISHUI: ("lishui-2024.txt", 2024), SHUNPING: ("shunping-2024.txt", 2024),
                    DISTRICT: ("district.txt", 2022)}.get(title, (title, 0))
    meta = ChunkMeta(doc_id=doc_id, doc_title=title, doc_year=year, start=start, end=start + len(text),
                     section_path=f"{part} > {section}", section_title=section,
                     phase="done" if part == RESULTS else "plan")
    return StoredChunk(cid, text, meta)


def said(c: StoredChunk, text: str, score: float) -> Sentence:
    """A sentence of chunk ``c`` as the extract stage would pick it."""
    return Sentence(text, c, c.meta.start + c.text.index(text), score)


def hits_of(*chunks: StoredChunk) -> list[Hit]:
    return [Hit(c, 1.0 / (i + 1), 0.5, 1.0) for i, c in enumerate(chunks)]


def question(text: str, terms: list[str]) -> Question:
    info = QuestionInfo(text=text, tokens=terms, terms=terms, term_kinds={t: "n" for t in terms}, phase="",
                        broad=True, asks_quantity=False, asks_how=False)
    return Question(text, info, [])


def in_report_order(*sentences: Sentence) -> list[Sentence]:
    return sorted(sentences, key=lambda s: s.key)


def numbers_in_order(text: str) -> list[int]:
    seen: list[int] = []
    for n in re.findall(r"\[(\d+)\]", text):
        if int(n) not in seen:
            seen.append(int(n))
    return seen


ECONOMY = chunk("a", "全市生产总值增长6.9%。一般公共预算收入增长7.1%。", "（一）经济运行稳中向好")
FARMING = chunk("b", "粮食产量稳定在50万吨以上。农民收入增长7.5%。", "（二）乡村振兴扎实推进", start=200)
PLANNED = chunk("c", "全年生产总值增长6%左右。城镇新增就业2万人。", "（一）主要预期目标", part=PLANS, start=900)
UNCITED = chunk("d", "深化党风廉政建设。", "（九）全面从严治党", start=600)
ASKED = question("丽水经济发展得怎么样？", ["丽水", "经济", "发展"])


def test_the_lead_is_the_best_scored_sentence_then_the_rest_as_a_list_in_report_order():
    sentences = in_report_order(said(ECONOMY, "全市生产总值增长6.9%。", 0.4),
                                said(ECONOMY, "一般公共预算收入增长7.1%。", 0.3),
                                said(FARMING, "粮食产量稳定在50万吨以上。", 0.9),
                                said(FARMING, "农民收入增长7.5%。", 0.2))
    answer = Writer().write(ASKED, Plan("broad"), hits_of(ECONOMY, FARMING), Extract(sentences, False))
    lines = answer.answer.splitlines()
    assert lines[0].startswith(f"根据《{LISHUI}》")
    assert lines[1] == "粮食产量稳定在50万吨以上。[1]"
    assert lines[2:] == ["- 全市生产总值增长6.9%。[2]", "- 一般公共预算收入增长7.1%。[2]", "- 农民收入增长7.5%。[1]"]
    assert not answer.refused


def test_sources_are_numbered_in_the_order_the_text_first_cites_them():
    # The best sentence is in the passage retrieval ranked second: it is still [1], read first.
    sentences = in_report_order(said(ECONOMY, "全市生产总值增长6.9%。", 0.2), said(FARMING, "农民收入增长7.5%。", 0.9))
    answer = Writer().write(ASKED, Plan("narrow"), hits_of(ECONOMY, FARMING), Extract(sentences, False))
    assert numbers_in_order(answer.answer) == [1, 2]
    assert [(s.n, s.text) for s in answer.sources] == [(1, FARMING.text), (2, ECONOMY.text)]
    assert answer.sources[0].cited == ["农民收入增长7.5%。"]
    assert answer.sources[0].score == 0.5  # its retrieval score, kept


def test_only_cited_passages_are_sources():
    sentences = [said(ECONOMY, "全市生产总值增长6.9%。", 0.9)]
    answer = Writer().write(ASKED, Plan("narrow"), hits_of(UNCITED, ECONOMY, FARMING), Extract(sentences, False))
    assert [s.doc for s in answer.sources] == ["lishui-2024.txt"] and answer.sources[0].text == ECONOMY.text
    assert all(s.cited for s in answer.sources)
    assert set(map(int, re.findall(r"\[(\d+)\]", answer.answer))) == {s.n for s in answer.sources}


def test_parts_stay_apart_under_the_lead_with_the_leads_part_first():
    sentences = in_report_order(said(ECONOMY, "全市生产总值增长6.9%。", 0.3), said(PLANNED, "全年生产总值增长6%左右。", 0.8))
    answer = Writer().write(question("生产总值增长多少？", ["生产总值", "增长"]), Plan("narrow"),
                            hits_of(ECONOMY, PLANNED), Extract(sentences, False))
    lines = answer.answer.splitlines()
    assert lines[0] == f"《{LISHUI}》中的相关内容分属不同部分："
    assert lines[1].startswith(PLANS) and lines[2] == "全年生产总值增长6%左右。[1]"
    assert lines[3].startswith(RESULTS) and lines[4] == "- 全市生产总值增长6.9%。[2]"


def test_masked_figures_are_explained_once_per_answer():
    masked = chunk("m", "园区规上企业共计*户。营业收入共计**亿元。", "（三）园区建设")
    sentences = [said(masked, "园区规上企业共计*户。", 0.5), said(masked, "营业收入共计**亿元。", 0.5)]
    answer = Writer().write(ASKED, Plan("broad"), hits_of(masked), Extract(sentences, False))
    assert answer.answer.count(MASKED_NOTE) == 1
    assert answer.answer.count("未公开") == 1


def test_a_list_ends_before_the_next_paragraph_so_markdown_keeps_them_apart():
    masked = chunk("m", "园区规上企业共计*户。营业收入共计**亿元。利润总额为*亿元。", "（三）园区建设")
    sentences = [said(masked, text, score) for text, score in
                 [("园区规上企业共计*户。", 0.9), ("营业收入共计**亿元。", 0.2), ("利润总额为*亿元。", 0.1)]]
    answer = Writer().write(ASKED, Plan("broad"), hits_of(masked), Extract(sentences, False))
    assert answer.answer.endswith("- 利润总额为*亿元。[1]\n\n" + MASKED_NOTE)


def test_a_question_asking_for_the_masked_figure_is_told_it_is_withheld_once():
    masked = chunk("m", "园区规上企业共计*户。", "（三）园区建设")
    extract = Extract([said(masked, "园区规上企业共计*户。", 0.9)], True)
    answer = Writer().write(question("规上企业有多少户？", ["规上企业"]), Plan("narrow"), hits_of(masked), extract)
    assert answer.answer.startswith(WITHHELD)
    assert MASKED_NOTE not in answer.answer and answer.answer.count("未公开") == 1


def test_no_masked_note_without_a_masked_figure():
    answer = Writer().write(ASKED, Plan("narrow"), hits_of(ECONOMY),
                            Extract([said(ECONOMY, "全市生产总值增长6.9%。", 0.9)], False))
    assert "未公开" not in answer.answer


def test_partial_evidence_says_what_is_missing_first_then_what_the_report_says():
    waste = chunk("w", "推进生活垃圾治理，建成垃圾焚烧发电项目。", "（四）生态环境")
    extract = Extract([said(waste, "推进生活垃圾治理，建成垃圾焚烧发电项目。", 0.6)], False)
    answer = Writer().write(question("垃圾分类做得怎么样？", ["垃圾分类"]), Plan("partial", missing=("垃圾分类",)),
                            hits_of(waste), extract)
    lines = answer.answer.splitlines()
    assert lines[0] == f"《{LISHUI}》没有提到“垃圾分类”。"
    assert is_refusal(answer) and not answer.refused
    assert lines[1].startswith("报告中相关的内容") and lines[2] == "推进生活垃圾治理，建成垃圾焚烧发电项目。[1]"
    assert [s.n for s in answer.sources] == [1]


def test_an_answer_is_not_taken_for_a_refusal():
    answer = Writer().write(ASKED, Plan("narrow"), hits_of(ECONOMY),
                            Extract([said(ECONOMY, "全市生产总值增长6.9%。", 0.9)], False))
    assert not is_refusal(answer)


def grouped_example():
    shunping = chunk("s", "全县生产总值增长5.8%。", "（一）经济发展", title=SHUNPING)
    district = chunk("k", "上半年地区生产总值增长4%。", "（一）经济发展稳中向好", title=DISTRICT)
    return [
        (DISTRICT, 2022, Plan("narrow"), hits_of(district), Extract([said(district, "上半年地区生产总值增长4%。", 0.9)], False)),
        ("空报告2023", 2023, Plan("narrow"), [], Extract([], False)),
        (LISHUI, 2024, Plan("narrow"), hits_of(ECONOMY), Extract([said(ECONOMY, "全市生产总值增长6.9%。", 0.8)], False)),
        (SHUNPING, 2024, Plan("narrow"), hits_of(shunping), Extract([said(shunping, "全县生产总值增长5.8%。", 0.7)], False)),
    ]


def test_grouped_answer_lists_reports_newest_first_under_their_titles():
    answer = Writer().write_grouped(question("经济增长多少？", ["经济", "增长"]), grouped_example())
    lines = answer.answer.splitlines()
    headings = [line for line in lines if line.startswith("**《")]
    assert headings == [f"**《{LISHUI}》**", f"**《{SHUNPING}》**", f"**《{DISTRICT}》**"]
    assert "空报告2023" not in answer.answer
    assert answer.answer.count("\n\n**《") == 3  # each title starts a paragraph of its own
    assert lines[lines.index(headings[0]) + 2] == "全市生产总值增长6.9%。[1]"
    assert numbers_in_order(answer.answer) == [1, 2, 3]
    assert [s.title for s in answer.sources] == [LISHUI, SHUNPING, DISTRICT]
    assert not answer.refused and not is_refusal(answer)


def test_grouped_answer_with_nothing_to_quote_is_a_refusal_naming_the_reports():
    groups = [(title, year, Plan("refuse"), hits_of(c), Extract([], False))
              for title, year, c in [(LISHUI, 2024, ECONOMY), (DISTRICT, 2022, UNCITED)]]
    answer = Writer().write_grouped(question("地铁什么时候开通？", ["地铁", "开通"]), groups)
    assert answer.refused
    assert answer.answer.startswith(f"抱歉，《{LISHUI}》《{DISTRICT}》中没有找到关于“地铁")
    assert not re.search(r"\[\d+\]", answer.answer)
    assert [s.n for s in answer.sources] == [1, 2]


def test_a_single_answer_drawing_on_two_reports_names_each_newest_first():
    district = chunk("k", "上半年地区生产总值增长4%。", "（一）经济发展稳中向好", title=DISTRICT)
    sentences = [said(district, "上半年地区生产总值增长4%。", 0.9), said(ECONOMY, "全市生产总值增长6.9%。", 0.5)]
    answer = Writer().write(ASKED, Plan("narrow"), hits_of(district, ECONOMY), Extract(sentences, False))
    headings = [line for line in answer.answer.splitlines() if line.startswith("**《")]
    assert headings == [f"**《{LISHUI}》**", f"**《{DISTRICT}》**"]
    assert "根据《" not in answer.answer  # each group is headed by its title instead
    assert [s.title for s in answer.sources] == [LISHUI, DISTRICT]


def test_refusal_cites_nothing_and_keeps_the_three_closest_passages():
    others = [chunk(f"x{i}", f"第{i}段。", f"（{i}）某项工作", start=i * 100) for i in range(5)]
    answer = Writer().write(question("地铁什么时候开通？", ["地铁", "开通"]), Plan("refuse"), hits_of(*others),
                            Extract([], False), searched=[LISHUI])
    assert answer.refused
    assert answer.answer.startswith(f"抱歉，《{LISHUI}》中没有找到关于“地铁什么时候开通”的内容。")
    assert "最接近的章节" in answer.answer and "（0）某项工作" in answer.answer
    assert not re.search(r"\[\d+\]", answer.answer)
    assert [s.n for s in answer.sources] == [1, 2, 3] and all(not s.cited for s in answer.sources)


def test_refusal_counts_the_reports_when_there_are_many():
    titles = [f"报告{i}" for i in range(5)]
    answer = Writer().write(question("地铁什么时候开通？", ["地铁", "开通"]), Plan("refuse"), [], Extract([], False),
                            searched=titles)
    assert answer.answer.startswith("抱歉，所选的 5 份报告中没有找到")
    assert "报告0" not in answer.answer


def test_a_long_question_is_not_echoed_back_in_a_refusal():
    long_question = "请问" + "关于城市地铁、轻轨和高铁站的建设规划以及沿线的开发，" * 12 + "有什么说法？"
    terms = ["城市", "地铁", "轻轨", "高铁站", "建设", "规划", "沿线", "开发", "说法"]
    answer = Writer().write(question(long_question, terms), Plan("refuse"), hits_of(UNCITED), Extract([], False))
    first = answer.answer.splitlines()[0]
    assert long_question not in answer.answer
    focus = re.search(r"关于“(.+)”的内容", first).group(1)
    assert len(focus) <= 30 and "地铁" in focus


def test_overview_lists_sections_by_title_numbered_in_order():
    openings = [chunk(f"o{i}", f"第{i}方面的开头。", f"（{n}）第{i}方面", part=PLANS, start=i * 100)
                for i, n in enumerate("一二三")]
    extract = Extract([said(c, c.text, 0.0) for c in openings], False)
    answer = Writer().write(question("今年有哪些安排？", []), Plan("overview", parts=((openings[0].meta.doc_id, PLANS),)),
                            [], extract)
    lines = answer.answer.splitlines()
    assert lines[0] == f"《{LISHUI}》的“{PLANS}”部分共有 3 个方面："
    assert lines[1:4] == ["- （一）第0方面[1]", "- （二）第1方面[2]", "- （三）第2方面[3]"]
    assert [s.n for s in answer.sources] == [1, 2, 3]
