"""Which language a draft should be in: asked for by name, the project's, or the instruction's own.

    expected_language("Translate into English: 春眠不觉晓", project_language="zh")
        -> Expected("latin", "English", ASKED)          the instruction names it: it wins
    expected_language("写一段关于西湖的短文", project_language=None)
        -> Expected("zh", "Chinese", INSTRUCTION)       else the project's, else the instruction's script

Languages are compared as `core.scoring.language.detect_language` tells them apart: by script
(zh, ja, ko, latin, other). English, French and Vietnamese are all "latin": a French draft in
an English project is not a mismatch this check can see. A request by name is read in English
("in English", "into Chinese", "translate to Japanese"), Chinese (用英文, 翻译成中文, 中文回答),
Japanese (英語で, 日本語に) and Korean (영어로, 한국어로); the last one in the text wins
("translate from English into Chinese" asks for Chinese).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.platform.errors import InvalidInputError
from core.platform.i18n import N_, Message
from core.scoring.language import detect_language

ASKED, PROJECT, INSTRUCTION = "asked", "project", "instruction"

# script -> how a reason names it when found (msgids: core.scoring.checks renders them)
SCRIPT_NAMES = {
    "zh": N_("Chinese"), "ja": N_("Japanese"), "ko": N_("Korean"), "latin": N_("Latin script"),
    "other": N_("another script"), "none": N_("no words"),
}
# a project's language code (the part before "-", lowercased) -> (script, name)
CODES = {
    "zh": ("zh", N_("Chinese")), "ja": ("ja", N_("Japanese")), "ko": ("ko", N_("Korean")),
    "latin": ("latin", N_("Latin script")), "other": ("other", N_("another script")),
    "en": ("latin", N_("English")), "fr": ("latin", N_("French")), "de": ("latin", N_("German")),
    "es": ("latin", N_("Spanish")), "it": ("latin", N_("Italian")), "pt": ("latin", N_("Portuguese")),
    "nl": ("latin", N_("Dutch")), "vi": ("latin", N_("Vietnamese")), "id": ("latin", N_("Indonesian")),
    "ms": ("latin", N_("Malay")), "tr": ("latin", N_("Turkish")), "pl": ("latin", N_("Polish")),
    "sv": ("latin", N_("Swedish")), "ru": ("other", N_("Russian")), "uk": ("other", N_("Ukrainian")),
    "el": ("other", N_("Greek")), "ar": ("other", N_("Arabic")), "he": ("other", N_("Hebrew")),
    "hi": ("other", N_("Hindi")), "th": ("other", N_("Thai")),
}
_ENGLISH_NAMES = {
    "english": "en", "chinese": "zh", "mandarin": "zh", "cantonese": "zh", "japanese": "ja", "korean": "ko",
    "french": "fr", "german": "de", "spanish": "es", "italian": "it", "portuguese": "pt", "dutch": "nl",
    "vietnamese": "vi", "indonesian": "id", "malay": "ms", "turkish": "tr", "polish": "pl", "swedish": "sv",
    "russian": "ru", "ukrainian": "uk", "greek": "el", "arabic": "ar", "hebrew": "he", "hindi": "hi", "thai": "th",
}
_CHINESE_NAMES = {
    "英文": "en", "英语": "en", "中文": "zh", "汉语": "zh", "普通话": "zh", "华语": "zh", "简体中文": "zh",
    "繁体中文": "zh", "粤语": "zh", "日文": "ja", "日语": "ja", "韩文": "ko", "韩语": "ko", "朝鲜语": "ko",
    "法文": "fr", "法语": "fr", "德文": "de", "德语": "de", "西班牙语": "es", "西班牙文": "es", "意大利语": "it",
    "葡萄牙语": "pt", "越南语": "vi", "俄文": "ru", "俄语": "ru", "阿拉伯语": "ar", "泰语": "th",
}
_JAPANESE_NAMES = {"英語": "en", "中国語": "zh", "日本語": "ja", "韓国語": "ko", "フランス語": "fr", "ドイツ語": "de",
                   "スペイン語": "es", "ロシア語": "ru"}
_KOREAN_NAMES = {"영어": "en", "중국어": "zh", "일본어": "ja", "한국어": "ko", "프랑스어": "fr", "독일어": "de",
                 "스페인어": "es", "러시아어": "ru"}


def _names(names: dict[str, str]) -> str:
    return "|".join(map(re.escape, sorted(names, key=len, reverse=True)))


_NOT_THE_LANGUAGE = (r"(?!\s*-?\s*(?:style|styled|way|manner|tradition|culture|market|history|food|cuisine|people"
                     r"|government|economy|literature|art|music|new\s+year|restaurant|dish|tea|speaker|speaking"
                     r"|reader|audience|customer|client|user|student|teacher|class|classe|lesson|grammar|team"
                     r"|friend|colleague)s?\b)")
_ADJECTIVE = r"(?:plain|simple|simplified|traditional|formal|informal|fluent|natural|british|american)\s+"
_REQUESTS = (
    # "in English", "into Chinese"; "to Japanese" only where the clause ends ("translate it to Japanese."),
    # not in "a letter to Korean customers"
    (re.compile(rf"\b(?:in|into)\s+(?:the\s+)?(?:{_ADJECTIVE})?(?P<name>{_names(_ENGLISH_NAMES)})\b{_NOT_THE_LANGUAGE}"
                rf"|\bto\s+(?:{_ADJECTIVE})?(?P<to_name>{_names(_ENGLISH_NAMES)})"
                r"(?=\s*(?:[.,;:!?)\"'”’]|$)|\s+(?:please|only|instead)\b)", re.IGNORECASE), _ENGLISH_NAMES),
    (re.compile(rf"(?:用|以|使用|采用|翻译成|翻译为|翻成|译成|译为|改写成|改写为|写成|改成|换成|转成|转换成)\s*"
                rf"(?P<name>{_names(_CHINESE_NAMES)})"), _CHINESE_NAMES),
    (re.compile(rf"(?P<name>{_names(_CHINESE_NAMES)})(?:回答|回复|作答|写作|书写|输出|撰写)"), _CHINESE_NAMES),
    (re.compile(rf"(?P<name>{_names(_JAPANESE_NAMES)})(?:で|に)"), _JAPANESE_NAMES),
    (re.compile(rf"(?P<name>{_names(_KOREAN_NAMES)})(?:로|으로)"), _KOREAN_NAMES),
)


@dataclass(frozen=True)
class Expected:
    script: str  # as detect_language: zh, ja, ko, latin, other
    name: str  # how a reason names it: "English", "Chinese", "Latin script"
    source: str  # ASKED (named in the instruction), PROJECT, or INSTRUCTION (the instruction's own script)


def project_expected(language: str | None) -> Expected | None:
    """A project's language code ("zh", "zh-CN", "en-US", "ja", "latin", ...) as an expectation."""
    if not language or not language.strip():
        return None
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if code not in CODES:
        raise InvalidInputError(Message(N_('Unknown language {language!r}: use a code such as zh, en, ja or ko.'), language=language))
    script, name = CODES[code]
    return Expected(script, name, PROJECT)


def _name(match: re.Match[str], names: dict[str, str]) -> str:
    if names is _ENGLISH_NAMES:
        return (match["name"] or match["to_name"]).lower()
    return match["name"]


def asked_language(instruction: str) -> Expected | None:
    """The language the instruction asks for by name (the last one named), or None."""
    text = unicodedata.normalize("NFKC", instruction)
    found = [(match.end(), names[_name(match, names)]) for pattern, names in _REQUESTS for match in pattern.finditer(text)]
    if not found:
        return None
    script, name = CODES[max(found)[1]]
    return Expected(script, name, ASKED)


def expected_language(instruction: str, *, project_language: str | None = None) -> Expected | None:
    """What the draft should be written in (see the module docstring); None: nothing to go by."""
    expected = asked_language(instruction) or project_expected(project_language)
    if expected is not None:
        return expected
    script = detect_language(instruction)
    if script == "none":
        return None
    return Expected(script, SCRIPT_NAMES[script], INSTRUCTION)
