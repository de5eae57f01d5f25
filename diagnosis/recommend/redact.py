"""PII redaction for any comment that is quoted: e-mail, phone, employee numbers, personal names.

Over-redaction is preferred to a leak: a department word wrongly taken for a name costs a word,
a missed name can identify an employee. Full-width digits and hyphens are matched as well.
"""

from __future__ import annotations

import re

EMAIL_MARK = "[EMAIL]"
PHONE_MARK = "[PHONE]"
ID_MARK = "[ID]"
NAME_MARK = "[NAME]"

_D = "[0-9０-９]"
_H = "[-‐‑–—－―ー]"  # ASCII, Unicode and full-width hyphens; 'ー' is often typed for a hyphen
_SEP = rf"(?:{_H}|\s|[()（）])?"

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+\s?[@＠]\s?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_PHONES = (
    # 03-1234-5678, 090-1234-5678, 0120-123-456, (03)1234-5678, with full-width variants
    re.compile(rf"(?<![0-9０-９]){_SEP}[0０]{_D}{{1,4}}{_SEP}{_D}{{1,4}}{_H}{_D}{{3,4}}(?![0-9０-９])"),
    # 09012345678, 0312345678
    re.compile(rf"(?<![0-9０-９])[0０]{_D}{{9,10}}(?![0-9０-９])"),
    # +81 3 1234 5678, +1 (555) 123-4567
    re.compile(r"\+\d{1,3}[\s.\-]?(?:\(?\d{1,4}\)?[\s.\-]?){1,4}\d{2,4}"),
    # (555) 123-4567, 555-123-4567
    re.compile(r"(?<!\d)(?:\(\d{3}\)\s?|\d{3}[\-.])\d{3}[\-.]\d{4}(?!\d)"),
)
_EXTENSION = re.compile(rf"(内線|ext\.?|extension)\s*[:：.]?\s*{_D}{{2,6}}", re.IGNORECASE)
_LABELLED_ID = re.compile(
    r"(社員番号|社員No\.?|社員コード|社員ID|社番|従業員番号|職員番号|個人番号|"
    r"employee\s*(?:id|no\.?|number|#)|staff\s*(?:id|no\.?|number))"
    r"(\s*(?:は|:|：|#|＃)?\s*)[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-－]{3,12}",
    re.IGNORECASE,
)
_BARE_ID = re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,3}-?\d{4,8}(?![A-Za-z0-9])")

# Titles and honorifics that follow a personal name; longer first so 本部長 wins over 部長.
_JA_TITLES = ("本部長", "事業部長", "部長", "課長", "係長", "主任", "社長", "次長", "室長",
              "所長", "店長", "工場長", "専務", "常務", "会長", "さん", "様", "さま", "氏", "くん",
              "君", "ちゃん", "先生")
_JA_NAME = re.compile(
    r"(?P<name>[A-Z][a-z]+|[一-龥々〆ヶ]{1,4}(?:[ 　][一-龥々〆ヶ]{1,3})?|[ァ-ヴー]{2,8})"
    r"(?P<title>" + "|".join(map(re.escape, _JA_TITLES)) + r")(?<!ちゃん(?=と))"
)
# Words that stand before these titles without being names ("営業部長", "お客さん", "皆さん").
_NOT_NAMES = frozenset(
    "皆 客 患者 先方 業者 上司 先輩 後輩 同僚 新人 担当 担当者 取引先 相手 奥 他 各 隣 前 元 現 新 旧 "
    "歴代 代表 当 弊 御 貴 副 親御 利用者 社員 部下 職人 派遣 委託 外注 営業 総務 人事 経理 製造 開発 "
    "技術 企画 情報 情シス 管理 事業 本部 支店 工場 品質 広報 法務 購買 物流 生産 設計 研究 販売 財務 "
    "保守 営業所 現場 支社 本社 うち ユーザー ベンダー メーカー パート アルバイト スタッフ メンバー "
    "チーム クライアント システム サポート センター お客".split()
)
_NOT_NAME_ENDINGS = tuple(w for w in _NOT_NAMES if len(w) >= 2)
_EN_NAME = re.compile(
    r"\b(?P<title>Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+(?P<name>[A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+)?)"
)
_ROMAJI_HONORIFIC = re.compile(
    r"\b(?P<name>[A-Z][a-z]+)(?P<title>[\s\-](?:san|sama|kun|chan|sensei|shacho|bucho|kacho))\b"
)
# Diminutives follow given names, often written in hiragana (さくらちゃん); the whole hiragana run
# must be the name, so ordinary hiragana text before them is left alone.
_JA_KANA_NAME = re.compile(r"(?<![ぁ-ゖ])[ぁ-ゖ]{2,4}(?=ちゃん(?!と)|くん)")  # not ちゃんと
_MENTION = re.compile(r"(?<![A-Za-z0-9._%+\-])[@＠][A-Za-z0-9_.\-]{2,}")


def _ja_name(match: re.Match[str]) -> str:
    name = match.group("name")
    compact = name.replace(" ", "").replace("　", "")
    candidates = [compact]
    if match.group("title") == "部長" and compact.endswith("本"):
        candidates.append(compact[:-1])  # 事業本部長 is 事業 + 本部長, not a person 事業本
    if any(c in _NOT_NAMES or c.endswith(_NOT_NAME_ENDINGS) for c in candidates):
        return match.group(0)
    return NAME_MARK + match.group("title")


def redact(text: str) -> str:
    """Replace e-mail addresses, phone numbers, employee numbers and personal names with tokens."""
    if not text:
        return ""
    out = _EMAIL.sub(EMAIL_MARK, text)
    out = _LABELLED_ID.sub(lambda m: m.group(1) + m.group(2) + ID_MARK, out)
    out = _EXTENSION.sub(lambda m: m.group(1) + PHONE_MARK, out)
    for pattern in _PHONES:
        out = pattern.sub(PHONE_MARK, out)
    out = _BARE_ID.sub(ID_MARK, out)
    out = _MENTION.sub(NAME_MARK, out)
    out = _EN_NAME.sub(lambda m: m.group("title") + ". " + NAME_MARK, out)
    out = _ROMAJI_HONORIFIC.sub(lambda m: NAME_MARK + m.group("title"), out)
    out = _JA_NAME.sub(_ja_name, out)
    out = _JA_KANA_NAME.sub(NAME_MARK, out)
    return out.replace("..", ".")


MAX_QUOTE = 160


def quote(text: str, max_length: int = MAX_QUOTE) -> str:
    """A redacted, whitespace-folded quotation, cut with an ellipsis beyond max_length."""
    text = " ".join(redact(text).split())
    return text if len(text) <= max_length else text[: max_length - 1] + "…"
