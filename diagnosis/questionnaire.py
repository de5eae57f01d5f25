"""Questionnaires as data: YAML files validated into frozen dataclasses at start-up.

An invalid file raises :class:`QuestionnaireError` naming the file, the item and the reason, so
``create_app`` stops before serving a broken survey.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .vocabulary import CAUSES, DONT_KNOW, OTHER, SPLIT_CAUSE, SPLIT_REMEDIES

# Causes a checklist option may name: the playbook's causes plus "other" (none of them).
OPTION_CAUSES = CAUSES + (OTHER,)
# An option of the split cause (support) may point to one of SPLIT_REMEDIES (the cause's evidence
# is divided between them).
ITEM_TYPES = ("choice", "multi_choice", "likert", "text", "segment")
KINDS = ("survey", "interview_guide")
LANGS = ("ja", "en")
PREFER_NOT = "prefer_not"
MAX_TEXT_LENGTH = 5000
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_QID = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


class QuestionnaireError(ValueError):
    """A questionnaire file is invalid; the message names file, item and reason."""

    def __init__(self, source: str, item: str | None, reason: str) -> None:
        self.source, self.item, self.reason = source, item, reason
        where = f"item '{item}'" if item else "top level"
        super().__init__(f"{source}: {where}: {reason}")


@dataclass(frozen=True)
class Text:
    """A label in Japanese and English."""

    ja: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang``, Japanese when unknown."""
        return self.en if lang == "en" else self.ja

    def __str__(self) -> str:
        return self.ja


@dataclass(frozen=True)
class Option:
    """One answer option: a stable code and its label.

    Options of a reason checklist also say which cause they name (and, for support, which
    remedy); ``exclusive`` options ("nothing in particular") cannot be combined with others, and
    ``anchored`` ones keep their place at the end when the order is shuffled.
    """

    code: str
    label: Text
    cause: str | None = None
    remedy: str | None = None
    exclusive: bool = False
    anchored: bool = False


@dataclass(frozen=True)
class Item:
    """A question."""

    id: str
    type: str
    label: Text
    help: Text | None = None
    required: bool = False
    options: tuple[Option, ...] = ()
    cause: str | None = None
    reverse: bool = False
    dont_know: bool = False
    max_length: int | None = None
    max_choices: int | None = None
    shuffle: bool = False

    def option(self, code: str) -> Option | None:
        """The option with this code, None when there is none."""
        return next((o for o in self.options if o.code == code), None)

    def display_options(self, seed: str | None) -> tuple[Option, ...]:
        """Options in the order one respondent sees them: shuffled by ``seed`` when the item
        asks for it (the same seed always gives the same order), anchored options last."""
        if not self.shuffle or not seed:
            return self.options
        import hashlib

        def key(o: Option) -> bytes:
            return hashlib.sha256(f"{seed}:{self.id}:{o.code}".encode()).digest()

        free = sorted((o for o in self.options if not o.anchored), key=key)
        return tuple(free) + tuple(o for o in self.options if o.anchored)

    def choices_problem(self, codes: list[str]) -> tuple[str, str | None] | None:
        """Why a checklist answer is invalid: ("unknown", code), ("too_many", None) or
        ("exclusive", code); None when it is valid. One rule for the form and the import."""
        known = self.option_codes()
        for c in codes:
            if c not in known:
                return ("unknown", c)
        if self.max_choices is not None and len(set(codes)) > self.max_choices:
            return ("too_many", None)
        for c in codes:
            opt = self.option(c)
            if opt is not None and opt.exclusive and len(set(codes)) > 1:
                return ("exclusive", c)
        return None

    def option_codes(self) -> tuple[str, ...]:
        """Codes accepted for this item (Likert: '1'..'5' and 'dk' when allowed)."""
        return tuple(o.code for o in self.options)


@dataclass(frozen=True)
class Section:
    """A group of items shown together (a fieldset)."""

    id: str
    title: Text
    items: tuple[Item, ...]
    intro: Text | None = None


@dataclass(frozen=True)
class Questionnaire:
    """A validated questionnaire or interview guide."""

    id: str
    version: int
    kind: str
    title: Text
    intro: Text | None
    sections: tuple[Section, ...]
    source: str = field(default="", compare=False)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for s in self.sections for i in s.items)

    def item(self, item_id: str) -> Item:
        """The item with this id (KeyError when absent)."""
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def items_of_type(self, *types: str) -> Iterator[Item]:
        """Items whose type is one of ``types``, in questionnaire order."""
        return (i for i in self.items if i.type in types)

    @property
    def reason_item(self) -> Item | None:
        """The reason checklist: the multi-choice item whose options name causes, if any."""
        return next((i for i in self.items_of_type("multi_choice")
                     if any(o.cause for o in i.options)), None)


DEFAULT_LIKERT = (
    ("1", "まったくそう思わない", "Strongly disagree"),
    ("2", "あまりそう思わない", "Disagree"),
    ("3", "どちらともいえない", "Neither agree nor disagree"),
    ("4", "ややそう思う", "Agree"),
    ("5", "とてもそう思う", "Strongly agree"),
)
DONT_KNOW_TEXT = Text("わからない", "Don't know")
PREFER_NOT_TEXT = Text("回答しない", "Prefer not to answer")


class _Reader:
    """Validates one parsed YAML document, keeping the file name for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, item: str | None, reason: str) -> QuestionnaireError:
        return QuestionnaireError(self.source, item, reason)

    def text(self, value: Any, item: str | None, what: str, required: bool = True) -> Text | None:
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            raise self.fail(item, f"'{what}' must be a mapping with 'ja' and 'en' texts")
        extra = set(value) - set(LANGS)
        if extra:
            raise self.fail(item, f"'{what}' has unknown language key(s): {', '.join(sorted(extra))}")
        for lang in LANGS:
            v = value.get(lang)
            if not isinstance(v, str) or not v.strip():
                raise self.fail(item, f"'{what}' is missing its '{lang}' text")
        return Text(value["ja"].strip(), value["en"].strip())

    def keys(self, data: dict, allowed: set[str], item: str | None) -> None:
        unknown = set(data) - allowed
        if unknown:
            raise self.fail(item, f"unknown key(s): {', '.join(sorted(map(str, unknown)))}")

    def options(self, raw: Any, item_id: str, typ: str = "choice") -> tuple[Option, ...]:
        if not isinstance(raw, list) or len(raw) < 2:
            raise self.fail(item_id, "'options' must be a list of at least 2 options")
        out, seen = [], set()
        checklist = typ == "multi_choice"
        for n, opt in enumerate(raw, 1):
            if not isinstance(opt, dict):
                raise self.fail(item_id, f"option {n} must be a mapping with 'code' and 'label'")
            allowed = {"code", "label"} | ({"cause", "remedy", "exclusive", "anchored"}
                                           if checklist else set())
            self.keys(opt, allowed, item_id)
            code = opt.get("code")
            if not isinstance(code, str) or not _CODE.match(code):
                raise self.fail(item_id, f"option {n} has an invalid code {code!r} "
                                "(lowercase letters, digits, underscore)")
            if code in seen:
                raise self.fail(item_id, f"duplicate option code '{code}'")
            if code in (DONT_KNOW, PREFER_NOT):
                raise self.fail(item_id, f"option code '{code}' is reserved")
            seen.add(code)
            label = self.text(opt.get("label"), item_id, f"options[{n}].label")
            cause, remedy = opt.get("cause"), opt.get("remedy")
            if cause is not None and cause not in OPTION_CAUSES:
                raise self.fail(item_id, f"option '{code}' names an unknown cause {cause!r} "
                                f"(one of {', '.join(OPTION_CAUSES)})")
            if remedy is not None and (cause != SPLIT_CAUSE or remedy not in SPLIT_REMEDIES):
                raise self.fail(item_id, f"option '{code}': a remedy ({' or '.join(SPLIT_REMEDIES)})"
                                f" is given only to {SPLIT_CAUSE} options, not {remedy!r} for {cause!r}")
            if checklist and any(";" in t for t in (label.ja, label.en)):
                raise self.fail(item_id, f"option '{code}': a checklist label may not contain ';' "
                                "(it separates the choices of one cell in imported files)")
            flags = {}
            for flag in ("exclusive", "anchored"):
                if not isinstance(opt.get(flag, False), bool):
                    raise self.fail(item_id, f"option '{code}': '{flag}' must be true or false")
                flags[flag] = opt.get(flag, False)
            out.append(Option(code, label, cause, remedy, **flags))
        return tuple(out)

    def item(self, raw: Any, index: int, kind: str) -> Item:
        if not isinstance(raw, dict):
            raise self.fail(f"#{index}", "an item must be a mapping")
        item_id = raw.get("id")
        if not isinstance(item_id, str) or not _ID.match(item_id):
            raise self.fail(f"#{index}", f"invalid or missing id {item_id!r}")
        self.keys(raw, {"id", "type", "label", "help", "required", "options", "cause", "reverse",
                        "dont_know", "max_length", "max_choices", "shuffle"}, item_id)
        typ = raw.get("type")
        if typ not in ITEM_TYPES:
            raise self.fail(item_id, f"type must be one of {', '.join(ITEM_TYPES)}, not {typ!r}")
        if kind == "interview_guide" and typ != "text":
            raise self.fail(item_id, "an interview guide has only 'text' items")
        label = self.text(raw.get("label"), item_id, "label")
        help_ = self.text(raw.get("help"), item_id, "help", required=False)
        required = raw.get("required", False)
        if not isinstance(required, bool):
            raise self.fail(item_id, "'required' must be true or false")
        cause = raw.get("cause")
        if cause is not None and cause not in CAUSES:
            raise self.fail(item_id, f"cause must be one of {', '.join(CAUSES)}, not {cause!r}")
        for flag in ("reverse", "dont_know"):
            if not isinstance(raw.get(flag, False), bool):
                raise self.fail(item_id, f"'{flag}' must be true or false")
        reverse, dont_know = raw.get("reverse", False), raw.get("dont_know", False)
        max_length = raw.get("max_length")
        options: tuple[Option, ...] = ()

        max_choices, shuffle = raw.get("max_choices"), raw.get("shuffle", False)
        if typ in ("choice", "segment", "multi_choice"):
            options = self.options(raw.get("options"), item_id, typ)
        elif "options" in raw:
            raise self.fail(item_id, f"a {typ} item takes no 'options'")
        if typ == "segment":
            if required:
                raise self.fail(item_id, "a segment item is always optional")
            options = options + (Option(PREFER_NOT, PREFER_NOT_TEXT),)
        if typ == "likert":
            if cause is None and kind == "survey":
                raise self.fail(item_id, "a likert item must declare the 'cause' it measures")
            options = tuple(Option(c, Text(ja, en)) for c, ja, en in DEFAULT_LIKERT)
            if dont_know:
                options += (Option(DONT_KNOW, DONT_KNOW_TEXT),)
        elif reverse or dont_know:
            raise self.fail(item_id, "'reverse' and 'dont_know' apply to likert items only")
        if typ == "text":
            if not isinstance(max_length, int) or isinstance(max_length, bool) or not (
                1 <= max_length <= MAX_TEXT_LENGTH
            ):
                raise self.fail(item_id, f"a text item needs max_length between 1 and "
                                f"{MAX_TEXT_LENGTH}, not {max_length!r}")
        elif max_length is not None:
            raise self.fail(item_id, "'max_length' applies to text items only")
        if typ == "multi_choice":
            if not isinstance(max_choices, int) or isinstance(max_choices, bool) or not (
                    1 <= max_choices <= len(options)):
                raise self.fail(item_id, f"a multi_choice item needs max_choices between 1 and "
                                f"{len(options)}, not {max_choices!r}")
            if not isinstance(shuffle, bool):
                raise self.fail(item_id, "'shuffle' must be true or false")
            mapped = [o for o in options if o.cause is not None]
            if mapped and not any(o.cause in CAUSES for o in mapped):
                raise self.fail(item_id, "a reason checklist must map some option to a cause")
        elif max_choices is not None or "shuffle" in raw:
            raise self.fail(item_id, "'max_choices' and 'shuffle' apply to multi_choice items only")
        return Item(item_id, typ, label, help_, required, options, cause, reverse, dont_know,
                    max_length, max_choices, bool(shuffle))

    def questionnaire(self, data: Any) -> Questionnaire:
        if not isinstance(data, dict):
            raise self.fail(None, "the file must contain a mapping")
        self.keys(data, {"id", "version", "kind", "title", "intro", "sections"}, None)
        qid = data.get("id")
        if not isinstance(qid, str) or not _QID.match(qid):
            raise self.fail(None, f"invalid or missing id {qid!r}")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail(None, "version must be a positive integer")
        kind = data.get("kind", "survey")
        if kind not in KINDS:
            raise self.fail(None, f"kind must be one of {', '.join(KINDS)}")
        title = self.text(data.get("title"), None, "title")
        intro = self.text(data.get("intro"), None, "intro", required=False)
        raw_sections = data.get("sections")
        if not isinstance(raw_sections, list) or not raw_sections:
            raise self.fail(None, "'sections' must be a non-empty list")
        sections, seen, index = [], set(), 0
        for s_n, raw_s in enumerate(raw_sections, 1):
            if not isinstance(raw_s, dict):
                raise self.fail(None, f"section {s_n} must be a mapping")
            sid = raw_s.get("id", f"section{s_n}")
            self.keys(raw_s, {"id", "title", "intro", "items"}, f"section {sid}")
            s_title = self.text(raw_s.get("title"), f"section {sid}", "title")
            s_intro = self.text(raw_s.get("intro"), f"section {sid}", "intro", required=False)
            raw_items = raw_s.get("items")
            if not isinstance(raw_items, list) or not raw_items:
                raise self.fail(f"section {sid}", "'items' must be a non-empty list")
            items = []
            for raw_i in raw_items:
                index += 1
                it = self.item(raw_i, index, kind)
                if it.id in seen:
                    raise self.fail(it.id, "duplicate item id")
                seen.add(it.id)
                items.append(it)
            sections.append(Section(str(sid), s_title, tuple(items), s_intro))
        q = Questionnaire(qid, version, kind, title, intro, tuple(sections), self.source)
        if kind == "survey" and "usage" in seen and q.item("usage").type != "choice":
            raise self.fail("usage", "the usage item must be a choice item")
        return q


def parse_questionnaire(text: str, source: str = "<string>") -> Questionnaire:
    """Parse and validate questionnaire YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise QuestionnaireError(source, None, f"invalid YAML{where}: "
                                 f"{getattr(exc, 'problem', None) or exc}") from None
    return _Reader(source).questionnaire(data)


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Load and validate one questionnaire file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(str(path), None, f"not valid UTF-8 ({exc.reason})") from None
    return parse_questionnaire(text, str(path))


class QuestionnaireSet(dict):
    """Installed questionnaires keyed by id (the newest version of each), with every installed
    version kept so that a campaign started on an older version keeps showing and scoring it."""

    def __init__(self) -> None:
        super().__init__()
        self.versions: dict[tuple[str, int], Questionnaire] = {}

    def add(self, q: Questionnaire) -> None:
        """Install one questionnaire; the same id and version twice is an error."""
        known = self.versions.get((q.id, q.version))
        if known is not None:
            raise QuestionnaireError(q.source, None, f"id '{q.id}' version {q.version} is already "
                                     f"used by {known.source}")
        self.versions[(q.id, q.version)] = q
        if q.id not in self or self[q.id].version < q.version:
            self[q.id] = q

    def for_campaign(self, campaign: Any) -> Questionnaire | None:
        """The version a campaign was created with, else the newest of its id (None if absent)."""
        qid = getattr(campaign, "questionnaire_id", None)
        exact = self.versions.get((qid, getattr(campaign, "questionnaire_version", None)))
        return exact or self.get(qid)


def load_directory(directory: str | Path) -> QuestionnaireSet:
    """Load every questionnaire ``*.yaml`` in a directory (the playbook is not one): the newest
    version of each id, older versions (e.g. ``ai-adoption.v1.yaml``) kept for their campaigns."""
    out = QuestionnaireSet()
    for path in sorted(Path(directory).glob("*.yaml")):
        if path.name.startswith("playbook"):
            continue
        out.add(load_questionnaire(path))
    return out


def questionnaire_for(registry: Any, campaign: Any) -> Questionnaire | None:
    """The questionnaire of a campaign from a registry (a QuestionnaireSet or a plain dict)."""
    if isinstance(registry, QuestionnaireSet):
        return registry.for_campaign(campaign)
    return (registry or {}).get(getattr(campaign, "questionnaire_id", None))
