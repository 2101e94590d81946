"""Normalise whitespace and drop injected noise (contact solicitations) by general rules."""
from __future__ import annotations

import re
import unicodedata

from index.sentences import split_sentences

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002-\u200a\u202f\u205f]+")
_CJK = r"\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
# Full-width punctuation carries its own spacing: "指标。 GDP" is "指标。GDP" (PDF text often has it).
_SPACE_BY_CJK_PUNCT = re.compile(r"(?<=[，。；：！？、（【《「『])\s+|\s+(?=[，。；：！？、）】》」』])")

# A contact solicitation is: a soliciting verb, and a contact channel followed by an id (or a link),
# all in one clause. Ordinary mentions ("鹤城在线APP", "防疫热线") lack the verb or the id, and a
# figure elsewhere in the clause ("手机用户达到120000户") is not an id: the id must follow the channel.
_SOLICIT = re.compile(r"(加|添加|联系|咨询|关注|扫码|私信|认准|详询|请拨打|致电)")
_CHANNEL = r"(?:微信|威信|薇信|vx|VX|Vx|V信|v信|wx|WX|QQ|qq|扣扣|电话|手机|热线|公众号|网址|网站)"
_CHANNEL_ID = re.compile(_CHANNEL + r"(?:号码|号|同号)?[：:\s]*([A-Za-z0-9_\-]{6,})")
_CHANNEL_ANY = re.compile(_CHANNEL)
_LINK = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)


def _has_contact_id(clause: str) -> bool:
    for match in _CHANNEL_ID.finditer(clause):
        if sum(ch.isdigit() for ch in match.group(1)) >= 6:
            return True
    return bool(_LINK.search(clause) and _CHANNEL_ANY.search(clause))


def is_solicitation(clause: str) -> bool:
    return bool(_SOLICIT.search(clause) and _has_contact_id(clause))


def strip_noise(paragraph: str) -> str:
    """Remove solicitation clauses from a paragraph, keeping every other clause verbatim."""
    kept = [c for c in split_sentences(paragraph) if not is_solicitation(c)]
    return "".join(kept)


def clean_paragraph(text: str) -> str:
    text = _ZERO_WIDTH.sub("", text)
    # NFKC would turn （一） into (一) and change the report's punctuation; only fix compatibility spaces.
    text = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text)
    text = _SPACES.sub(" ", text).strip()
    text = _SPACE_BETWEEN_CJK.sub("", text)
    text = _SPACE_BY_CJK_PUNCT.sub("", text)
    return strip_noise(text).strip()


MASK = re.compile(r"\*+")


def has_masked_figure(text: str) -> bool:
    return bool(MASK.search(text))
