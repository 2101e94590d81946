"""The kind of detail a question asks for, and whether the quoted sentences hold one."""
from __future__ import annotations

import pytest

from bot.answer_type import missing_detail


@pytest.mark.parametrize("question, texts, missing", [
    ("门票多少钱？", ["景区门票收入增长20%以上，接待游客120万人次。"], "具体价格或费用"),  # a share is no price
    ("贷款利率是多少？", ["创业担保贷款利率下调0.5%。"], None),
    ("贷款利率是多少？", ["创业担保贷款额度提高到50万元。"], "具体比率"),  # nor is a sum a rate
    ("家庭医生签约要交钱吗？", ["推进家庭医生签约服务。"], "具体价格或费用"),
    ("家庭医生签约要交钱吗？", ["家庭医生签约服务免费。"], None),
    ("化工园区占地多少平方公里？", ["园区规划面积12平方公里。"], None),
    ("化工园区占地多少平方公里？", ["园区规划面积进一步扩大。"], "具体数量"),
    ("门票多少钱？", ["建成游客中心，完善景区配套。"], "具体价格或费用"),
    ("门票多少钱？", ["门票每人50元。"], None),
    ("一共要花多少钱？", ["项目总投资1.2亿元。"], None),
    ("民宿一年能赚多少钱？", ["发展精品民宿，带动村民增收。"], "具体金额"),  # earnings are a sum, not a price
    ("养老中心有多少张床位？", ["新增养老床位200张。"], None),
    ("养老中心有多少张床位？", ["县养老服务中心年内投入使用。"], "具体数量"),
    ("岗位有多少个？", ["新增就业岗位1200个。"], None),
    ("收入增长了多少？", ["城乡居民收入分别增长5.1%和7.3%。"], None),  # a bare 多少 is not checked
    ("海报发了多少张？", ["发放张贴宣传海报*余张。"], None),  # withheld, but given as a figure
    ("哪天开放？", ["将于5月1日对外开放。"], None),
    ("哪天开放？", ["加快建设，力争早日开放。"], "具体日期"),
    ("哪年开始招生？", ["新校区建成投用。"], "具体年份"),  # built, but no year said
    ("哪年开始招生？", ["2025年秋季开始招生。"], None),
    ("什么时候能用上？", ["养老服务中心已建成投用。"], None),
    ("建在哪个村？", ["在大悲村建设示范园。"], None),
    ("县长叫什么名字？", ["县政府班子加强自身建设。"], "人员姓名"),
    ("热线电话是多少？", ["开通12345政务服务热线。"], None),
    ("服务团的联系电话是多少？", ["成立红领服务团。"], "联系方式"),
    ("热线一共接了多少个电话？", ["开通12345政务服务热线。"], "具体数量"),  # a count of calls, not a number to call
    ("热线一共接了多少个电话？", ["接听热线来电3200余个。"], None),
    ("热线一共接了多少个电话？", ["接听热线**余条。"], None),  # 个 counts anything: 条 answers it
    ("生态环境怎么治理？", ["开展春风春绿活动。"], None),
    ("协同发展区实施了多少项目？", ["谋划实施项目65个、总投资254.65亿元。"], None),  # 项 of 项目 is no unit
    ("道路改造投了多少钱？", ["投资8.38亿元，完成10条道路改造提升。"], None),  # a sum spent, not a price
    ("道路改造投了多少钱？", ["完成10条道路改造提升。"], "具体金额"),
    ("补助金一共发了多少钱？", ["发放补助金*万元。"], None),  # a sum paid out, withheld or not
    ("补助金一共发了多少钱？", ["发放补助金**万，惠及困难群众。"], None),  # 万 alone is a sum in 元
    ("补助金一共发了多少钱？", ["惠及困难群众1.2万人。"], "具体金额"),  # but 万人 counts people
    ("景区旅游收入是多少？", ["累计接待游客**余人。"], "具体金额"),  # visitors are not takings
    ("景区旅游收入是多少？", ["实现旅游收入1.2亿元。"], None),
    ("居民收入增长了多少？", ["城乡居民收入分别增长5.1%和7.3%。"], None),  # a rate, not a sum
    ("环城水系有多长？", ["7.7公里环城水系全线贯通。"], None),
    ("环城水系有多长？", ["环城水系全线贯通。"], "具体长度"),  # asks for no kind of detail
    ("这几个项目进展如何？", ["项目建设加快推进。"], None),  # "这几个" points, it does not ask a count
    ("好几条路都在修吗？", ["改造提升城区道路。"], None),  # "好几条" is "several"
    ("为企业退减税费多少钱？", ["新增退减缓税费27亿元。"], None),  # no unit price: a sum
    ("建筑业总产值达到多少？", ["建筑业总产值达1.2万亿元。"], None),  # 万亿 is one magnitude
    ("每月要交多少钱？", ["参保率达到80%。"], "具体价格或费用"),  # per month: a price
    ("充电多少钱一度？", ["新建充电桩200个。"], "具体价格或费用"),
    ("消费券总额是多少？", ["社会消费品零售总额增长8.5%。"], "具体金额"),  # a growth rate is no sum
    ("免费的疫苗是几价的？几岁能打？", ["免费为适龄女孩接种疫苗。"], "具体数量"),
    ("口袋公园具体在哪几个地方？", ["建设10个口袋公园。"], "具体地点"),
    ("去年建成使用了多少所学校？", ["建成使用公办中小学校30所。"], None),  # 使用了: no sum spent
    ("开发总共要投资多少亿？", ["高起点规划开发凤洲岛。"], "具体金额"),
    ("去年组织了多少人学急救？", ["超过11.2万市民参加应急救护培训。"], None),  # people counted as 市民
    ("去年治理了多少处内涝点？", ["51个内涝点完成治理。"], None),  # places counted as 个
    # what a service desk is asked, which a work report does not give
    ("这周末天气怎么样，适合去海边吗？", ["全年接待国内游客5250万人次。"], "天气预报"),
    ("今年中考录取分数线是多少？", ["新增公办中小学学位9360个。"], "具体分数"),
    ("园区认定自评打了多少分？", ["省级园区认定自评**分。"], None),
    ("一年级新生报名需要准备哪些材料？", ["新建、改扩建中小学校25所。"], "办理所需材料或流程"),
    ("企业开办去哪办？", ["企业开办实现一网通办、一日办结。"], None),
    ("松树得病成片枯死怎么办？", ["全面打好松材线虫病防控攻坚战。"], None),  # what is done, not where to apply
    # which facilities or routes of a kind: their names, not a count of them
    ("机场开通了哪些航线？", ["机场建筑单体全部结顶，迈入试飞运营衔接阶段。"], "具体名称"),
    ("机场开通了哪些航线？", ["开通北海至东莞内贸集装箱直达航线。"], None),
    ("“五馆两中心”具体是哪五个馆？", ["完成投资2.81亿元的“五馆两中心”建设。"], "具体名称"),
    ("“五馆两中心”具体是哪五个馆？", ["建成县图书馆、博物馆和文化馆。"], None),
    ("结直肠癌筛查去哪家医院做？", ["为重点人群开展结直肠癌筛查。"], "具体名称"),
    ("结直肠癌筛查去哪家医院做？", ["在市中心医院开展结直肠癌筛查。"], None),
])
def test_the_detail_asked_for_is_looked_for_in_the_quoted_text(question, texts, missing):
    assert missing_detail(question, texts) == missing


@pytest.mark.parametrize("question, terms, texts, missing", [
    # A sum in the sentences, but of something else: the park's takings are not the tourism income.
    ("上半年旅游收入是多少？", ["旅游", "收入"], ["园区营业收入共计**亿元。", "累计接待游客*万余人次。"], "具体金额"),
    ("上半年旅游收入是多少？", ["旅游", "收入"], ["实现旅游收入1.2亿元。"], None),
    # An abbreviation shares its characters with the full name.
    ("低保金一共发了多少钱？", ["低保金"], ["累计发放最低生活保障金**万元。"], None),
    ("门票多少钱？", ["门票"], ["停车费每小时5元。"], "具体价格或费用"),
    ("门票多少钱？", ["门票"], ["景区门票每人50元。"], None),
    ("哪天开放？", ["开放"], ["5月1日起试运行。"], None),  # a date is not a figure of anything
])
def test_a_figure_must_stand_next_to_what_the_question_asks_about(question, terms, texts, missing):
    assert missing_detail(question, texts, terms) == missing


@pytest.mark.parametrize("question, terms, texts, missing", [
    ("合湛高铁预计哪一年建成通车？", ["合湛", "高铁", "建成", "通车"], ["合湛高铁项目获批复，将于今年开工建设。"], "具体年份"),
    ("合湛高铁预计哪一年建成通车？", ["合湛", "高铁", "建成", "通车"], ["合湛高铁将于今年开工建设，2027年建成通车。"], None),
    ("津潍高铁哪一年能通车？", ["津潍", "高铁", "通车"], ["东津黄河大桥工程年内建成通车，加快建设疏港铁路。"], "具体年份"),
    ("到湛江的铁路什么时候开始修？", ["湛江", "铁路"], ["湛江铁路将于今年开工建设。"], None),
    ("新县医院什么时候能建好？", ["新县", "医院", "建好"], ["完成投资7.62亿元的新县医院建设。"], None),
])
def test_a_time_must_be_of_the_milestone_and_the_project_asked(question, terms, texts, missing):
    # when a project starts does not say when it opens, nor does when another project opens
    assert missing_detail(question, texts, terms) == missing


@pytest.mark.parametrize("question, terms", [
    ("小区停车难的问题有人管吗？", ["小区", "停车难", "问题"]),  # 有人: a pronoun frames the question
    ("菜市场的卫生受不受重视？", ["菜市场", "卫生", "重视"]),  # 受不受: an A-not-A yes/no form
    ("夜市以后能不能开到很晚？", ["夜市", "开到"]),  # 以后, 能不能, 很: frame, not topic
    ("已经建成多少个充电站？", ["建成", "充电站"]),  # 已经: an adverb
    ("今年县里要种多少树？", []),  # 县里: the county as a whole, which the report is about
    ("全市一共有多少个养老食堂？", ["养老", "食堂"]),  # 全市: the city as a whole, likewise
    ("合湛高铁预计哪一年建成通车？", ["合湛", "高铁", "建成", "通车"]),  # 预计: how a date is asked
    ("市里对小微企业有什么扶持？", ["小微", "企业", "扶持"]),
    ("建筑业总产值达到多少？", ["建筑业", "总产值"]),  # 达到: how a figure is asked for
    ("具体有哪些项目？", ["项目"]),  # jieba's 哪些项目: a question word and a noun
    ("今年道路改造多少公里？", ["道路", "改造"]),  # the unit counted in is no topic
    ("现在的最低工资标准是多少？", ["最低工资", "标准"]),  # 现在: now, not a topic
    ("南通地铁去年新开了哪条线？", ["南通", "地铁"]),  # 哪条: a counting word, asked
    ("今年能多出来几个学位？", ["学位"]),  # 出来: the direction of 多, not a topic
    ("新冒出来多少个工作岗位？", ["工作岗位"]),
])
def test_the_words_that_frame_a_question_are_not_its_terms(question, terms):
    from bot.query import analyse
    from index.keyword import Tokenizer

    assert analyse(question, Tokenizer()).terms == terms


def test_an_institution_jieba_calls_a_name_is_a_common_noun():
    from bot.query import analyse
    from index.keyword import Tokenizer

    info = analyse("养老院建设情况如何？", Tokenizer())
    assert info.term_kinds["养老院"] == "n"  # jieba's dictionary: "养老院 nr"
    assert analyse("张公桥哪家烧烤最好吃？", Tokenizer()).term_kinds["张公桥"] == "n"  # a place, not a person


@pytest.mark.parametrize("question, broad", [
    ("返乡创业能得到什么支持？", True),  # what support: the measures, not one sentence
    ("企业能享受哪些优惠政策？", True),
    ("创业担保贷款额度是多少？", False),
])
def test_asking_what_support_there_is_asks_for_the_measures(question, broad):
    from bot.query import analyse
    from index.keyword import Tokenizer

    assert analyse(question, Tokenizer()).broad is broad


@pytest.mark.parametrize("question, term", [
    ("县城什么时候能通高铁？", "高铁"),  # jieba: 能/通高/铁
    ("明年能通地铁吗？", "地铁"),
])
def test_a_noun_the_segmenter_split_into_the_verb_before_it_is_put_back(question, term):
    from bot.query import analyse
    from index.keyword import Tokenizer

    assert term in analyse(question, Tokenizer()).terms


@pytest.mark.parametrize("text, measured", [
    ("全年新签约强优企业合作项目35个以上", True),
    ("完成投资230亿元以上", True),
    ("地区生产总值增长6.5%左右", True),
    ("新增就业**人", True),
    ("引进“四类500强”等强优企业", False),  # a number in a name
    ("2024年是关键之年", False),  # a year
])
def test_a_target_in_figures_is_a_number_with_its_unit(text, measured):
    from bot.answer_type import MEASURED

    assert bool(MEASURED.search(text)) is measured
