"""English questions read as Chinese words through the bundled CC-CEDICT dictionary."""
from __future__ import annotations

import pytest

from bot.english import EnglishReader

# A few dictionary lines in CC-CEDICT's format, with made-up frequencies: enough to pin the choices.
LINES = [
    "進口 进口 [jin4 kou3] /to import/imported/entrance/",
    "寓意 寓意 [yu4 yi4] /moral (of a story)/lesson to be learned/implication/import/",
    "農業 农业 [nong2 ye4] /agriculture/farming/",
    "農耕 农耕 [nong2 geng1] /farming/agriculture/",
    "下半年 下半年 [xia4 ban4 nian2] /second half of the year/",
    "年 年 [nian2] /year/",
    "麗水 丽水 [Li2 shui3] /Lishui prefecture-level city in Zhejiang/",
    "澧水 澧水 [Li3 shui3] /Lishui River in Hunan/",
    "標志 标志 [biao1 zhi4] /sign/mark/symbol/",
    "簽署 签署 [qian1 shu3] /to sign (an agreement)/",
    "國內生產總值 国内生产总值 [guo2 nei4 sheng1 chan3 zong3 zhi2] /gross domestic product (GDP)/",
    "接種 接种 [jie1 zhong4] /to be vaccinated/to be inoculated/",
    "種花 种花 [zhong4 hua1] /to grow flowers/(dialect) to vaccinate/",
]
FREQUENCY = {"进口": 3000, "寓意": 300, "农业": 5000, "农耕": 100, "下半年": 800, "丽水": 50, "澧水": 80,
             "标志": 4000, "签署": 900, "国内生产总值": 200, "接种": 225, "种花": 27}


@pytest.fixture
def reader():
    return EnglishReader(lambda word: FREQUENCY.get(word, 0), lambda: ["丽水市", "丽水"], lambda: LINES)


def test_each_word_takes_the_commonest_chinese_word_glossed_so(reader):
    assert reader.to_chinese("agriculture") == "农业"


def test_an_entrys_first_senses_come_before_its_last(reader):
    assert reader.to_chinese("What about imports?") == "什么 进口"


def test_a_phrase_in_the_dictionary_beats_its_words_and_frames_are_kept(reader):
    assert reader.to_chinese("How many plans for agriculture in the second half of the year?") == "多少 计划 农业 下半年"


def test_a_place_in_pinyin_is_the_librarys_place(reader):
    assert reader.to_chinese("Lishui agriculture") == "丽水 农业"
    other = EnglishReader(lambda word: FREQUENCY.get(word, 0), tuple, lambda: LINES)
    assert other.to_chinese("Lishui agriculture") == "澧水 农业"  # no such place in the library: the commonest


def test_a_past_tense_is_the_verb_and_an_activity_its_verb(reader):
    assert reader.to_chinese("What was signed?") == "什么 签署"
    assert reader.to_chinese("Where is the sign?") == "哪里 标志"
    assert "接种" in reader.to_chinese("How is vaccination going?")  # not the dialect sense 种花


def test_acronyms_are_glossed_or_kept_as_written(reader):
    assert reader.to_chinese("What is the GDP?") == "什么 国内生产总值"
    assert reader.to_chinese("What about 5G in 2024?") == "什么 5G 2024"  # the reports write them so too
    assert reader.to_chinese("5G in 2024") == ""  # no Chinese word at all: left to the English path


def test_nothing_known_gives_nothing(reader):
    assert reader.to_chinese("Tell me a joke") == ""


def test_the_bundled_dictionary_reads_everyday_questions():
    import jieba

    jieba.initialize()
    reader = EnglishReader(lambda word: jieba.dt.FREQ.get(word, 0), lambda: ["丽水"])
    assert reader.to_chinese("What are the plans for agriculture in the second half of the year?") == "什么 计划 农业 下半年"
    assert "天气" in reader.to_chinese("What is the weather today?")
    assert reader.to_chinese("How many tourists visited Lishui?").split() == ["多少", "游客", "访问", "丽水"]


@pytest.mark.parametrize("question, broad", [
    ("What are the plans for agriculture?", True),
    ("How did the district fight the epidemic?", True),
    ("What was done on ecological protection?", True),
    ("What is the GDP growth target?", False),
    ("How many tourists visited Lishui?", False),
])
def test_an_english_question_asking_for_a_list_or_an_account_is_broad(question, broad):
    from bot.english import asks_broadly

    assert asks_broadly(question) == broad


def test_chinese_words_in_an_english_question_are_kept_as_written(reader):
    assert reader.to_chinese("What about 垃圾分类 and agriculture?") == "什么 垃圾分类 农业"


@pytest.mark.parametrize("question, english", [
    ("What are the plans for agriculture?", True),
    ("生态环境 <img src=x onerror=alert(1)> ![x](http://127.0.0.1:9/leak)", False),  # markup is not language
    ("GDP增长了多少？", False),
])
def test_a_question_is_english_by_its_words_not_its_markup(question, english):
    from bot.query import is_english

    assert is_english(question) == english
