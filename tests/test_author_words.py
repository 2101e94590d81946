"""A question that names the report's author ("政府准备怎么治") is about what the author does, not about the
government's own conduct: keyword search does not look for the word."""
from __future__ import annotations

import pytest

from tests.conftest import bot_for_text

REPORT = """某市2024年政府工作报告
各位代表：现在，我代表市人民政府向大会报告工作，请予审议。
2023年工作回顾
一年来，全市地区生产总值增长5.6%。
2024年工作安排
（一）持续改善空气质量
深入打好蓝天保卫战。推进钢铁、水泥行业超低排放改造，淘汰国三及以下排放标准营运柴油货车1200辆，加强扬尘管控，重污染天气天数控制在5天以内，细颗粒物平均浓度下降到30微克每立方米。
（二）全面加强政府自身建设
坚持依法行政，政府工作人员要带头尊法学法守法用法。政府要过紧日子，严控一般性支出。政府系统要锤炼过硬作风，政府部门要提高服务效能，自觉接受人大监督、政协民主监督和社会监督。
"""


@pytest.fixture(scope="module")
def city_bot(tmp_path_factory, embeddings):
    return bot_for_text(tmp_path_factory.mktemp("author"), embeddings, "city-author-2024.txt", REPORT)


def test_the_government_as_actor_is_not_looked_for_by_keyword(city_bot):
    turn = city_bot.prepare("今年雾霾天能不能少一点，政府准备怎么治？")
    own_conduct = [h for h in turn.hits if "政府自身建设" in h.chunk.meta.section_path]
    assert own_conduct and all(h.keyword == 0.0 for h in own_conduct)
    # a word of the topic still is
    turn = city_bot.prepare("政府准备怎么控制扬尘？")
    assert any(h.keyword > 0 for h in turn.hits if "空气质量" in h.chunk.meta.section_path)
