"""Cleaning: whitespace is normalised, injected contact ads go, the report's own text and masks stay."""
from __future__ import annotations

import re

import pytest

from tests.conftest import REPORT
from index.chunking import chunk_document
from index.cleaning import clean_paragraph, is_solicitation
from index.loaders import load_document
from index.meta import encode_meta

AD = "防断更加微信1503991601"


@pytest.fixture(scope="module")
def report():
    return chunk_document(load_document(REPORT, 20 * 1024 * 1024), REPORT.name, 320)


ADS = [
    pytest.param(AD, id="the report's own WeChat ad"),
    pytest.param("欢迎咨询，加微信abc123456", id="add WeChat with a mixed id"),
    pytest.param("详情请联系电话13800138000", id="call a mobile number"),
    pytest.param("添加VX：zhengwu_2022888 领取资料", id="add VX after a colon"),
    pytest.param("扫码关注公众号 https://example.com/promo 获取更多", id="follow an account by link"),
    pytest.param("请拨打热线 400-8123-4567", id="dial a hotline number"),
]


@pytest.mark.parametrize("ad", ADS)
def test_a_contact_solicitation_appended_to_a_paragraph_is_dropped(ad):
    paragraph = "全力做好防汛工作，切实保护我区农民生产生活。"

    assert is_solicitation(ad)
    assert clean_paragraph(paragraph + ad) == paragraph


ORDINARY = [
    pytest.param("对接“鹤城在线”APP实现掌上可办率达*%，进一步简化登记程序。", id="the report's app"),
    pytest.param("始终高效运转区防指效能，持续做好热线接听工作，上半年共接听防疫热线**余条。",
                 id="the report's epidemic hotline"),
    pytest.param("群众可通过微信公众号查询办事进度。", id="a WeChat account for citizens"),
    pytest.param("加快5G基站建设，全区手机用户达到120000户。", id="a count of phone users"),
    pytest.param("关注群众诉求，12345政务服务热线全年办结率达*%。", id="the 12345 service hotline"),
    pytest.param("加强网站建设，政府网站全年发布信息3000000余字。", id="a figure about a website"),
    pytest.param("联系企业**家，帮助企业通过手机APP申报补贴。", id="contacting firms about an app"),
]


@pytest.mark.parametrize("sentence", ORDINARY)
def test_an_ordinary_sentence_about_phones_or_apps_is_kept(sentence):
    assert not is_solicitation(sentence)
    assert clean_paragraph(sentence) == sentence


def test_the_advertising_line_is_gone_from_the_report(report):
    raw = REPORT.read_text("utf-8")
    assert AD in raw

    assert AD not in report.text
    assert "微信" not in report.text
    assert not any("1503991601" in c.text or "1503991601" in c.embed_text for c in report.chunks)
    farm = [c for c in report.chunks if c.meta.section_path.startswith("二、2022年下半年工作计划 > （二）")]
    assert "".join(c.text for c in farm).endswith("切实保护我区农民生产生活。")


def test_the_report_sentences_mentioning_the_app_and_the_hotline_stay(report):
    joined = "".join(c.text for c in report.chunks)

    assert "对接“鹤城在线”APP实现掌上可办率达*%" in joined
    assert "上半年共接听防疫热线**余条" in joined


def test_cleaning_removes_nothing_from_the_report_but_the_ad_and_whitespace(report):
    raw_lines = [line for line in REPORT.read_text("utf-8").splitlines() if line.strip()]

    assert report.text.replace("\n", "") == "".join(line.strip() for line in raw_lines).replace(AD, "")


@pytest.mark.parametrize("raw, clean", [
    ("\u3000\u3000全区经济平稳。", "全区经济平稳。"),
    ("全区 经济\t平稳。", "全区经济平稳。"),
    ("全区\u00a0经济\u2003平稳。", "全区经济平稳。"),
    ("全区经\u200b济平\ufeff稳。", "全区经济平稳。"),
    ("GDP growth  rate 达到*%。", "GDP growth rate 达到*%。"),
    ("经济平稳。 GDP增长*% ，CPI上涨2% 。", "经济平稳。GDP增长*%，CPI上涨2%。"),
    ("（一）经济发展稳中向好：“十四五”开局；", "（一）经济发展稳中向好：“十四五”开局；"),
    ("  ", ""),
], ids=["full-width indent", "spaces between Chinese words", "odd Unicode spaces", "zero-width characters",
        "single spaces between Latin words", "spaces by full-width punctuation", "the report's own punctuation", "a blank line"])
def test_whitespace_is_normalised_and_punctuation_kept(raw, clean):
    assert clean_paragraph(raw) == clean


def test_line_endings_are_normalised(tmp_path):
    path = tmp_path / "mac.txt"
    path.write_bytes("一、概况\r\n全区经济平稳。\r(一)第二段。\n".encode("utf-8"))

    doc = chunk_document(load_document(path, 1 << 20), path.name, 320)

    assert doc.text == "一、概况\n全区经济平稳。\n(一)第二段。"


def test_masked_figures_survive_exactly_as_written(report):
    raw = REPORT.read_text("utf-8").replace(AD, "")
    masks_in = re.findall(r"\S?\*+\S?", raw)

    assert len(masks_in) > 100
    assert re.findall(r"\S?\*+\S?", report.text) == masks_in
    for sample in ("GDP预计完成**亿元，同比增长*%", "与全年目标（*%）持平", "**阜丰、**昊华集团"):
        assert sample in report.text
        assert any(sample in c.text for c in report.chunks)


def test_chunks_with_masked_figures_are_marked_and_others_are_not(report):
    marked = [c for c in report.chunks if c.meta.masked]

    assert marked and len(marked) < len(report.chunks)
    for chunk in report.chunks:
        assert chunk.meta.masked == ("*" in chunk.text)
        assert encode_meta(chunk.meta)["masked"] is chunk.meta.masked


def test_the_mask_flag_is_stored_with_each_chunk(make_index, tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "mixed.txt"
    path.write_text("一、概况\n全区经济平稳。\n（一）指标。GDP增长*%。\n", "utf-8")
    index = make_index()
    index.indexer.build([path])

    stored = {c.text: c.meta.masked for c in index.store.all_chunks()}

    assert stored == {"全区经济平稳。": False, "（一）指标。GDP增长*%。": True}
