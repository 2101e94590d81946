"""Chinese numerals: 三千万 -> 30000000, 二〇二二 -> 2022, 五点五 -> 5.5, 十二 -> 12."""
from __future__ import annotations

from decimal import Decimal

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10 ** 4, "亿": 10 ** 8}


def cn_value(text: str) -> Decimal | None:
    """Value of a Chinese numeral, None when ``text`` is not one."""
    if "点" in text:
        whole, _, frac = text.partition("点")
        if not frac or any(c not in CN_DIGITS for c in frac):
            return None
        base = cn_value(whole) if whole else Decimal(0)
        return None if base is None else base + Decimal("0." + "".join(str(CN_DIGITS[c]) for c in frac))
    if text and all(c in CN_DIGITS for c in text):
        return Decimal("".join(str(CN_DIGITS[c]) for c in text))
    total = section = number = 0
    for char in text:
        if char in CN_DIGITS:
            number = CN_DIGITS[char]
        elif char in _CN_UNITS:
            section += (number or 1) * _CN_UNITS[char]
            number = 0
        elif char == "万":
            section = (section + number or 1) * _CN_BIG[char]
            number = 0
        elif char == "亿":
            total = (total + section + number or 1) * _CN_BIG[char]
            section = number = 0
        else:
            return None
    return Decimal(total + section + number)


def cn_to_int(text: str) -> int:
    """A whole Chinese numeral as an int (an ordinal, "第三点"), 0 when it is none."""
    value = cn_value(text)
    return int(value) if value is not None and value == value.to_integral_value() else 0
