"""A review told in long unheaded paragraphs, each running through several topics in run-in sentences
("……开放合作深化拓展。……科技创新力度加大。……"), as many real annual reports are written."""
from __future__ import annotations

import pytest

from tests.conftest import bot_for_text

REPORT = """某市2024年政府工作报告
各位代表：现在，我代表市人民政府向大会报告工作，请予审议。
2023年工作回顾
一年来，我们推改革扩开放，发展内生动力持续增强。面对转型升级的双重任务，突出创新驱动，深化改革开放，不断塑造发展新优势。各项改革纵深推进。实施年度重点改革任务126项，稳步推进国家和省级改革试点31项，全面启动新一轮国有企业改革，扎实推进要素市场化配置改革，省级以上园区新增工业用地全部实行“标准地”供应。普惠小微贷款余额增长12.4%，直接融资规模创历史新高。科技创新力度加大。落实科技创新“十条措施”，加强创新主体培育，新增高新技术企业和科技型中小企业48户，高新技术产业营业收入突破600亿元，技术合同成交额增长31%。规模以上工业企业全部完成数字化诊断，两家企业获评国家级绿色工厂。新组建市级重点实验室6个、新型研发机构3家，知识产权示范城市通过验收。围绕主导产业布局建设中试基地4个，全年转化科技成果210项。出台人才新政二十条，引进高层次人才团队15个、青年人才1.2万名，新建院士工作站2个。设立科技成果转化基金5亿元，科技型企业贷款余额增长26%，首台套重大技术装备认定数量居全省第二。发明专利授权量增长22%，每万人高价值发明专利拥有量达到9.1件。开放合作深化拓展。主动融入区域协同发展，9个项目纳入年度共建重大项目清单。成功举办第五届茶文化旅游节，配套举办对外交流活动12场，来自20个国家和地区的嘉宾参会，城市知名度进一步提升。新增国际友好城市3个、总数达18个。实施重大产业项目招引专项行动，招商项目签约投资额超900亿元。
一年来，我们惠民生增福祉，群众生活持续改善。城镇新增就业3.1万人，新改扩建中小学和幼儿园11所，新增学位6200个。
2024年工作安排
今年要突出抓好以下几方面工作。
一、加快建设现代化产业体系
实施工业倍增行动，力争规模以上工业增加值增长8%。
"""


@pytest.fixture(scope="module")
def city_bot(tmp_path_factory, embeddings):
    return bot_for_text(tmp_path_factory.mktemp("unheaded"), embeddings, "city-2024.txt", REPORT)


def test_the_paragraph_is_cut_into_several_chunks(city_bot):
    review = [c for c in city_bot.components.keywords.chunks_of("city-2024.txt") if c.meta.path.part == "2023年工作回顾"]
    assert len(review) >= 3  # else the test below proves nothing about chunks cut from one paragraph


def test_a_topic_inside_a_long_paragraph_is_answered_from_its_own_sentences(city_bot):
    answer = city_bot.ask("去年在科技创新上做了哪些工作？")
    assert not answer.refused, answer.answer
    assert "新增高新技术企业和科技型中小企业48户" in answer.answer
    # the sentences after it in the paragraph, wherever the chunk was cut
    assert "每万人高价值发明专利拥有量达到9.1件" in answer.answer or "科技成果转化基金5亿元" in answer.answer
    # not the other topics the paragraph runs through
    assert "第五届茶文化旅游节" not in answer.answer and "标准地" not in answer.answer
    assert "9个项目纳入年度共建重大项目清单" not in answer.answer  # past the next run-in heading

