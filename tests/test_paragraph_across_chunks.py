"""A numbered section whose one long paragraph names its topic first and sets its targets last, as plans
are often written ("推动招商引资新突破。实施……行动。……全年新签约……项目35个以上"): the chunks it was cut
into are one passage about that topic."""
from __future__ import annotations

import pytest

from tests.conftest import bot_for_text

REPORT = """某市2024年政府工作报告
各位代表：现在，我代表市人民政府向大会报告工作，请予审议。
2023年工作回顾
一年来，全市地区生产总值增长5.6%，一般公共预算收入增长4.1%，圆满完成年度目标任务。
2024年工作安排
（一）聚力发展现代产业，夯实实体经济根基
今年经济社会发展的主要预期目标是：地区生产总值增长6%左右，一般公共预算收入增长5%。围绕目标抓落实，确保各项目标如期实现。
培育壮大新兴产业。锚定产业倍增目标，加快海工装备、新型储能等产业发展，推进电子信息产业园二期建设，做强光伏组件和逆变器产业链，新增规模以上工业企业60家。
（二）聚力招大引强培优，蓄足发展后劲
坚持项目为王，资源跟着项目走，要素围着项目转，干部盯着项目干。在招商引资上精准发力，以实干开路，用实绩说话，以高质量招商引资为高质量发展蓄势赋能。招商引资是经济工作的生命线，各级各部门要把招商引资作为头号工程，主要领导亲自抓、分管领导具体抓。
完善招商引资工作机制。健全招商引资项目库，实行招商引资项目专班推进。完善招商引资考核办法，把招商引资实绩作为干部评价的重要依据。优化招商引资服务，为客商提供全程代办。加强招商引资队伍建设，选派干部赴先进地区跟班学习。强化招商引资要素保障，做好用地、用能、用工服务。
推动招商引资新突破。实施产业合作区招商引资突破年行动。在去年工作基础上，制定产业招商主攻方向指导意见和场景招商实施方案。创新方法路径，继续组织好一把手招商、产业链招商、驻点招商和以商招商，探索开展基金招商，围绕新能源、硅基材料、高端金属材料和无人机装备制造等产业挖掘场景机会。提升能力水平，加大培训力度，打造懂专业、精技术、强策划、善谈判的队伍。要继续加大力度引进行业龙头、独角兽和专精特新等企业。注重招商与招贤并举，引资与引智并重，让人才、资金、技术和项目同频共振，推动产业链与人才链、创新链深度融合。加快建设一批、储备一批、谋划一批重大项目，扩大有效投资，推动签约项目早落地、早开工、早投产、早见效，建立重大项目全周期服务机制，对重点企业实行一企一策帮扶。全年新签约强优企业合作项目35个以上，新引进强优企业25家以上，完成投资230亿元以上。
打造营商环境升级版。对标一流目标，深化政务服务改革，推行企业开办一日办结，涉企审批事项压减30%。
"""


@pytest.fixture(scope="module")
def plan_bot(tmp_path_factory, embeddings):
    return bot_for_text(tmp_path_factory.mktemp("long-plan"), embeddings, "city-plan-2024.txt", REPORT)


def test_the_paragraph_is_cut_into_several_chunks(plan_bot):
    chunks = plan_bot.components.keywords.chunks_of("city-plan-2024.txt")
    named = next(c for c in chunks if "推动招商引资新突破" in c.text)
    targets = next(c for c in chunks if "35个以上" in c.text)
    # else the test below proves nothing about chunks cut from one paragraph
    assert targets.id != named.id and "招商引资" not in targets.text


def test_targets_asked_of_a_topic_are_read_to_the_end_of_its_paragraph(plan_bot):
    answer = plan_bot.ask("今年招商引资方面定了哪些指标？")
    assert not answer.refused, answer.answer
    assert "新签约强优企业合作项目35个以上" in answer.answer


def test_targets_asked_of_a_topic_in_a_section_about_more_are_read_to_its_paragraphs_end(plan_bot):
    # the sentences naming the 突破年 action are about the question (目标 is common in this report); the
    # targets that close their paragraph are in the next chunk
    answer = plan_bot.ask("今年招商引资突破年行动定了哪些目标？")
    assert not answer.refused, answer.answer
    assert "新签约强优企业合作项目35个以上" in answer.answer
