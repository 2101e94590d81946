"""Gate signals read from the question's form and the closest sentences."""
from __future__ import annotations

import pytest

from bot.query import analyse
from bot.stages.gate import counted_in_closest
from bot.stages.retrieve import Hit, Retrieved
from index.keyword import Tokenizer
from index.meta import ChunkMeta
from index.store import StoredChunk


def _found(sentences: list[str]) -> Retrieved:
    chunk = StoredChunk("c", "".join(sentences), ChunkMeta("r.txt"))
    return Retrieved([Hit(chunk, 0.03, 0.85, 0.0)], [], sentence_similarity={s: 0.9 for s in sentences})


@pytest.mark.parametrize("question, missing, sentence, counted", [
    # the count asked, in its unit, withheld or not, beside what the question calls the thing
    ("公安破获案件抓了多少人？", ("破获案件",), "立案*起，破获*起，抓获**人。", True),
    ("公安破获案件抓了多少人？", ("破获案件",), "立案*起，破获*起。", False),
    ("地铁修了多少公里？", ("地铁",), "新建改造城市道路32公里。", False),  # the unit alone proves nothing
    ("医院有多少张床位？", ("床位",), "新增就业岗位1200个。", False),  # another unit
    ("基站建了多少个？", ("基站",), "建成5G基站项目12个。", True),  # 个 counts anything named before it
    ("基站建了多少个？", ("基站",), "建成基站，新引进项目12个。", False),  # a count of something else
    ("老人饭堂建了多少处？", ("饭堂",), "城乡助老食堂达到309处。", True),
    # a figure right after what the report calls the thing, under another name
    ("今年能多几个托儿的地方？", ("托儿", "地方"), "新增普惠性托位150个、养老床位800张。", True),
    ("娃儿上学的位置能多出来多少个？", ("娃儿", "上学", "位置"), "力争新增公办学位7700个以上。", True),
    ("企业电费一共省了多少钱？", ("电费",), "降低企业用电成本32亿元。", True),
    # one character of the missing word beside a word the question found too
    ("今年翻新多少个老房子小区？", ("翻新", "老房子"), "新开工改造老旧小区140个。", True),
    ("今年翻新多少个老房子小区？", ("翻新", "老房子"), "老旧街区改造项目140个。", False),
    # the count before what it counts, as Chinese often puts it
    ("今年翻新多少个老房子小区？", ("翻新", "老房子"), "完成169条背街小巷、改造125个老旧小区。", True),
    ("今年翻新多少个老房子小区？", ("翻新", "老房子"), "完成359个项目，小区环境提升。", False),
    # a word the question found, with what the question says was done ("接"), under another name
    ("便民电话去年一共接了多少个？", ("电话",), "全年共接听便民热线3.2万余条。", True),
    ("便民电话去年一共接了多少个？", ("电话",), "全年共开通便民热线3条。", False),
    ("便民电话去年一共接了多少个？", ("电话",), "全年共接待来访群众1200人次。", False),
    # a count naming its thing by the first character, in place of a unit
    ("运动员拿了多少块金牌银牌？", ("银牌",), "运动员在国际大赛中斩获6金3银。", True),
    ("运动员拿了多少块金牌银牌？", ("银牌",), "统一金融服务标准。", False),
    # half of a long word is often a word of its own: 工资 of 最低工资
    ("最低工资标准是每月多少？", ("最低工资",), "依法追回拖欠工资15.6亿元。", False),
    # a character the found words hold too, or one left alone, proves nothing
    ("公积金贷款最高能贷多少？", ("公积金", "能贷"), "新增制造业贷款134亿元，保障重大项目用能40万吨。", False),
])
def test_a_count_in_the_asked_unit_is_found_beside_the_thing_asked(question, missing, sentence, counted):
    info = analyse(question, Tokenizer())
    assert counted_in_closest(info, _found([sentence]), missing) is counted
