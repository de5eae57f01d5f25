"""The remedy playbook (questionnaires/playbook.yaml): weights and texts, validated at load."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..colours import AA, contrast_ratio
from ..vocabulary import OTHER, PLAYBOOK_PATH, REMEDIES, SPLIT_REMEDIES
from .data import CAUSES, LABELS

PREREQUISITES: tuple[str, ...] = ("executive_sponsorship", "governance_first")
SUPPORTING: tuple[str, ...] = ("manual", "monthly_review", "three_month_review", "governance")
LANGS = ("ja", "en")
DEFAULT_PATH = PLAYBOOK_PATH
#: What a dominant cause may add to the recommendation (``causes.<id>.when_dominant``); the
#: recommender holds one rule function per name.
DOMINANT_RULES: tuple[str, ...] = ("kpis_per_department", "executive_sponsorship")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Text keys the code formats; a playbook missing one fails at load, not mid-report.
REQUIRED_TEXTS: tuple[str, ...] = (
    "find_suppressed", "find_response", "find_usage", "find_cause", "find_cause_no_text",
    "find_segment", "find_dominant", "find_mixed", "find_theme", "find_no_text", "reason_cause",
    "decider_text", "decider_likert", "decider_both", "decider_none", "reason_mixed",
    "reason_runner_up", "reason_small_org", "reason_drop_off", "reason_early",
    "reason_past_window", "reason_age_spread", "metric_support", "metric_habit",
    "reason_governance", "reason_exec_prereq", "plan_kpis_per_department",
    "plan_executives_present", "plan_generation_aware", "plan_drop_off", "plan_past_window",
    "plan_governance_first", "kpi_habit", "none_yet", "segment_field_department",
    "segment_field_role", "segment_field_age_band", "segment_field_tenure", "wave_cause",
    "wave_usage", "wave_target_improved", "wave_target_no_clear_change", "wave_target_worse",
    "wave_habit_change", "verdict_improved", "verdict_no_clear_change", "verdict_worse",
    "find_drivers", "find_drivers_none", "find_drivers_weak", "find_drivers_too_few",
    "find_drivers_no_variation", "reason_driver", "reason_driver_disagrees", "reason_driver_disagrees_same",
    "reason_driver_none",
    "find_stale_model",
    "find_cause_corrected", "decider_self_report", "decider_all", "decider_likert_and_self_report",
    "decider_self_report_and_text", "reason_self_report", "find_self_report",
    "find_self_report_disagrees", "wave_no_checklist", "reason_support_checklist",
    "warn_pending", "warn_pending_one", "warn_pending_hint", "warn_headcount", "warn_closed_few",
    "warn_version",
) + tuple(f"reason_{c}" for c in CAUSES) + tuple(f"kind_{r}" for r in SPLIT_REMEDIES)


class PlaybookError(ValueError):
    """The playbook file is invalid; the message names the file, the key and the reason."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        super().__init__(f"{source}: {key}: {reason}")


@dataclass(frozen=True)
class Playbook:
    """A validated playbook: the raw mapping plus compiled patterns."""

    data: dict[str, Any]
    patterns: dict[str, tuple[re.Pattern[str], ...]]
    theme_patterns: dict[str, tuple[re.Pattern[str], ...]]
    source: str = ""

    def section(self, name: str) -> dict[str, Any]:
        """A top-level mapping of the playbook."""
        return self.data[name]

    def text(self, key: str, lang: str, **values: Any) -> str:
        """A template from ``texts`` formatted in ``lang``."""
        return localised(self.data["texts"][key], lang).format(**values)

    def cause_name(self, cause: str, lang: str) -> str:
        """Display name of a cause."""
        return localised(self.data["causes"][cause], lang)

    def short_name(self, cause: str, lang: str) -> str:
        """A cause's short name (the heat map's column header)."""
        return localised(self.data["causes"][cause]["short"], lang)

    def colour(self, cause: str) -> str:
        """A cause's colour (``#rrggbb``); an unknown label takes the colour of 'other'."""
        causes = self.data["causes"]
        return (causes.get(cause) or causes[OTHER])["colour"]

    def colours(self) -> dict[str, str]:
        """Every label's colour (the causes and 'other'), in display order."""
        return {c: entry["colour"] for c, entry in self.data["causes"].items()}

    def when_dominant(self, cause: str) -> tuple[str, ...]:
        """The rules a dominant cause adds to the recommendation (names in DOMINANT_RULES)."""
        return tuple(self.data["causes"][cause].get("when_dominant") or ())

    def remedies_for(self, cause: str) -> tuple[str, ...]:
        """The remedies whose ``causes`` name this cause, in playbook order."""
        return tuple(r for r in REMEDIES if cause in self.data["remedies"][r]["causes"])

    def remedy_for(self, cause: str, split_remedy: str) -> str:
        """The remedy a dominant (or standing-out) cause calls for: its one remedy, or for the
        split cause the side of the split the evidence chose."""
        return split_remedy if cause == self.data["support_split"]["cause"] else self.remedies_for(cause)[0]

    def why(self, remedy: str, lang: str, **values: Any) -> str:
        """The report's "why start here" sentence of a remedy."""
        return localised(self.data["remedies"][remedy]["why"], lang).format(**values)

    def remedy(self, remedy: str) -> dict[str, Any]:
        """The playbook entry of a remedy."""
        return self.data["remedies"][remedy]

    def remedy_name(self, remedy: str, lang: str) -> str:
        """Display name of a remedy."""
        return localised(self.data["remedies"][remedy]["name"], lang)

    def theme_label(self, theme: str, lang: str) -> str:
        """Display label of an 'other' theme."""
        return localised(self.data["themes"][theme]["label"], lang)

    def department_kpi(self, department: str, lang: str) -> str:
        """Example measurable KPI for a department code."""
        kpis = self.data["department_kpis"]
        return localised(kpis.get(department) or kpis["default"], lang)


def localised(text: dict[str, str], lang: str) -> str:
    """The ``lang`` side of a ja/en pair of the playbook (Japanese unless English is asked for)."""
    return text["en"] if lang == "en" else text["ja"]


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, reason: str) -> PlaybookError:
        return PlaybookError(self.source, key, reason)

    def mapping(self, value: Any, key: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a mapping")
        for k in required:
            if k not in value:
                raise self.fail(key, f"missing '{k}'")
        return value

    def number(self, value: Any, key: str, lo: float = 0.0, hi: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, not {value!r}")
        if value < lo or (hi is not None and value > hi):
            raise self.fail(key, f"must be between {lo} and {hi}, not {value}")
        return float(value)

    def text(self, value: Any, key: str) -> None:
        self.mapping(value, key, LANGS)
        fields = []
        for lang in LANGS:
            v = value[lang]
            if not isinstance(v, str) or not v.strip():
                raise self.fail(key, f"'{lang}' text is missing or empty")
            try:
                fields.append({f for _, f, _, _ in string.Formatter().parse(v) if f})
            except ValueError as exc:
                raise self.fail(key, f"'{lang}' is not a valid template: {exc}") from None
        if fields[0] != fields[1]:
            raise self.fail(key, f"placeholders differ between ja {sorted(fields[0])} "
                            f"and en {sorted(fields[1])}")

    def colour(self, value: Any, key: str) -> None:
        if not isinstance(value, str) or not _COLOUR.fullmatch(value):
            raise self.fail(key, f"must be a colour written #rrggbb, not {value!r}")
        ratio = contrast_ratio("#ffffff", value)
        if ratio < AA:
            raise self.fail(key, f"white text on {value} is {ratio:.2f}:1, below {AA}:1; use a darker colour")

    def patterns(self, value: Any, key: str) -> tuple[re.Pattern[str], ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, "must be a non-empty list of regular expressions")
        out = []
        for i, p in enumerate(value):
            if not isinstance(p, str) or not p:
                raise self.fail(f"{key}[{i}]", "must be a non-empty string")
            try:
                out.append(re.compile(p, re.IGNORECASE))
            except re.error as exc:
                raise self.fail(f"{key}[{i}]", f"invalid regular expression: {exc}") from None
        return tuple(out)

    def run(self, data: Any) -> Playbook:
        data = self.mapping(data, "top level", (
            "version", "anonymity", "scoring", "coverage", "support_split", "rules", "drivers", "themes",
            "department_kpis", "causes", "remedies", "prerequisites", "supporting", "texts"))
        anon = self.mapping(data["anonymity"], "anonymity", ("min_group", "min_comments_group"))
        self.number(anon["min_group"], "anonymity.min_group", 3)
        self.number(anon["min_comments_group"], "anonymity.min_comments_group", 3)
        sc = self.mapping(data["scoring"], "scoring",
                          ("likert_weight", "text_weight", "source_weights", "min_confidence", "z"))
        lw = self.number(sc["likert_weight"], "scoring.likert_weight", 0, 1)
        tw = self.number(sc["text_weight"], "scoring.text_weight", 0, 1)
        # The reason checklist's weight; absent means the checklist is shown but not scored.
        sw = self.number(sc.get("self_report_weight", 0), "scoring.self_report_weight", 0, 1)
        if lw + tw + sw <= 0:
            raise self.fail("scoring", "likert_weight + text_weight + self_report_weight must be positive")
        sw = self.mapping(sc["source_weights"], "scoring.source_weights", ("survey", "interview"))
        for k, v in sw.items():
            self.number(v, f"scoring.source_weights.{k}", 0, 10)
        self.number(sc["min_confidence"], "scoring.min_confidence", 0, 1)
        self.number(sc["z"], "scoring.z", 0.5, 5)
        cov = self.mapping(data["coverage"], "coverage", REMEDIES)
        for r in REMEDIES:
            row = self.mapping(cov[r], f"coverage.{r}", CAUSES)
            for c in CAUSES:
                self.number(row[c], f"coverage.{r}.{c}", 0, 5)
        split = self.mapping(data["support_split"], "support_split", (
            "cause", "remedies", "base", "by_evidence", "text_weight", "likert_weight", "likert_items",
            "patterns"))
        if split["cause"] not in CAUSES:
            raise self.fail("support_split.cause", f"must be one of the causes {list(CAUSES)}")
        for k in ("base", "by_evidence", "text_weight", "likert_weight"):
            self.number(split[k], f"support_split.{k}", 0, 5)
        self.number(split.get("self_report_weight", 0), "support_split.self_report_weight", 0, 5)
        items = self.mapping(split["likert_items"], "support_split.likert_items", SPLIT_REMEDIES)
        for k, v in items.items():
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise self.fail(f"support_split.likert_items.{k}", "must be a list of item ids")
        pats = self.mapping(split["patterns"], "support_split.patterns", SPLIT_REMEDIES)
        patterns = {k: self.patterns(pats[k], f"support_split.patterns.{k}") for k in SPLIT_REMEDIES}
        rules = self.mapping(data["rules"], "rules", (
            "dominant_bonus", "small_org_max_employees", "drop_off_window_months",
            "drop_off_bonus", "age_spread", "governance", "habit_target_points"))
        self.number(rules["dominant_bonus"], "rules.dominant_bonus", 0, 100)
        self.number(rules["small_org_max_employees"], "rules.small_org_max_employees", 1)
        window = rules["drop_off_window_months"]
        if (not isinstance(window, list) or len(window) != 2
                or not all(isinstance(x, int | float) for x in window) or window[0] > window[1]):
            raise self.fail("rules.drop_off_window_months", "must be [first, last] months")
        for k, v in self.mapping(rules["drop_off_bonus"], "rules.drop_off_bonus").items():
            if k not in REMEDIES:
                raise self.fail(f"rules.drop_off_bonus.{k}", "unknown remedy")
            self.number(v, f"rules.drop_off_bonus.{k}", 0, 100)
        age = self.mapping(rules["age_spread"], "rules.age_spread",
                           ("cause", "min_bands", "support_points", "habit_points", "bonus"))
        if age["cause"] not in CAUSES:
            raise self.fail("rules.age_spread.cause", f"must be one of the causes {list(CAUSES)}")
        for k in ("min_bands", "support_points", "habit_points"):
            self.number(age[k], f"rules.age_spread.{k}", 0)
        for k, v in self.mapping(age["bonus"], "rules.age_spread.bonus").items():
            if k not in REMEDIES:
                raise self.fail(f"rules.age_spread.bonus.{k}", "unknown remedy")
            self.number(v, f"rules.age_spread.bonus.{k}", 0, 100)
        gov = self.mapping(rules["governance"], "rules.governance", ("concern_share", "security_share"))
        for k in ("concern_share", "security_share"):
            self.number(gov[k], f"rules.governance.{k}", 0, 1)
        drv = self.mapping(data["drivers"], "drivers",
                           ("min_n", "n_boot", "seed", "level", "min_r2", "min_comments", "bonus"))
        # Fewer than 10 respondents cannot support a three-predictor regression, let alone a bootstrap.
        self.number(drv["min_n"], "drivers.min_n", 10)
        self.number(drv["n_boot"], "drivers.n_boot", 50, 5000)
        self.number(drv["seed"], "drivers.seed", 0)
        self.number(drv["level"], "drivers.level", 0.5, 0.999)
        self.number(drv["min_r2"], "drivers.min_r2", 0, 1)
        self.number(drv["min_comments"], "drivers.min_comments", 1)
        self.number(drv["bonus"], "drivers.bonus", 0, 100)
        self.number(rules["habit_target_points"], "rules.habit_target_points", 0, 100)
        themes = self.mapping(data["themes"], "themes")
        theme_patterns = {}
        for name, theme in themes.items():
            theme = self.mapping(theme, f"themes.{name}", ("label", "patterns"))
            self.text(theme["label"], f"themes.{name}.label")
            theme_patterns[name] = self.patterns(theme["patterns"], f"themes.{name}.patterns")
        if "security" not in themes:
            raise self.fail("themes", "a 'security' theme is required (governance rule)")
        kpis = self.mapping(data["department_kpis"], "department_kpis", ("default",))
        for k, v in kpis.items():
            self.text(v, f"department_kpis.{k}")
        causes = self.mapping(data["causes"], "causes", LABELS)
        remedies = self.mapping(data["remedies"], "remedies", REMEDIES)
        for section, known in (("causes", LABELS), ("remedies", REMEDIES)):
            unknown = [k for k in data[section] if k not in known]
            if unknown:  # the ids are read once, from PLAYBOOK_PATH, when the code is imported
                raise self.fail(section, f"{unknown} are not among the ids this process read from "
                                f"{PLAYBOOK_PATH} at start-up: start it with this playbook "
                                "(TEICHAKU_QUESTIONNAIRE_DIR)")
        if list(causes)[-1] != OTHER:
            raise self.fail(f"causes.{OTHER}", "must come last (the causes before it are in display order)")
        for k in LABELS:
            entry = self.mapping(causes[k], f"causes.{k}", ("short", "colour"))
            self.text(entry, f"causes.{k}")
            self.text(entry["short"], f"causes.{k}.short")
            self.colour(entry["colour"], f"causes.{k}.colour")
            rules = entry.get("when_dominant") or []
            if k == OTHER and rules:
                raise self.fail(f"causes.{k}.when_dominant", "'other' is never dominant")
            if not isinstance(rules, list) or not set(rules) <= set(DOMINANT_RULES):
                raise self.fail(f"causes.{k}.when_dominant",
                                f"must be a list of rule names from {list(DOMINANT_RULES)}")
        for r in REMEDIES:
            entry = self.mapping(remedies[r], f"remedies.{r}",
                                 ("name", "summary", "why", "format", "causes", "plan", "kpis"))
            self.text(entry["name"], f"remedies.{r}.name")
            self.text(entry["summary"], f"remedies.{r}.summary")
            self.text(entry["why"], f"remedies.{r}.why")
            fmt = self.mapping(entry["format"], f"remedies.{r}.format", ("standard", "light"))
            for k in ("standard", "light"):
                self.text(fmt[k], f"remedies.{r}.format.{k}")
            if not isinstance(entry["causes"], list) or not set(entry["causes"]) <= set(CAUSES):
                raise self.fail(f"remedies.{r}.causes", "must be a list of cause ids")
            if not isinstance(entry["plan"], list) or not entry["plan"]:
                raise self.fail(f"remedies.{r}.plan", "must be a non-empty list of phases")
            for i, phase in enumerate(entry["plan"]):
                self.mapping(phase, f"remedies.{r}.plan[{i}]", ("days",))
                self.text(phase, f"remedies.{r}.plan[{i}]")
            if not isinstance(entry["kpis"], list):
                raise self.fail(f"remedies.{r}.kpis", "must be a list of texts")
            for i, kpi in enumerate(entry["kpis"]):
                self.text(kpi, f"remedies.{r}.kpis[{i}]")
        for c in CAUSES:  # which remedy a dominant cause calls for must be decidable from data
            for_cause = [r for r in REMEDIES if c in remedies[r]["causes"]]
            if not for_cause:
                raise self.fail(f"causes.{c}", "no remedy names this cause in its 'causes'")
            if c == split["cause"]:
                if sorted(for_cause) != sorted(SPLIT_REMEDIES):
                    raise self.fail("support_split.remedies", f"must be the remedies that name "
                                    f"'{c}' in their causes: {for_cause}")
            elif len(for_cause) > 1:
                raise self.fail(f"causes.{c}", f"{len(for_cause)} remedies name it ({', '.join(for_cause)}); "
                                f"only the support_split cause ({split['cause']}) may be divided")
        for section, names in (("prerequisites", PREREQUISITES), ("supporting", SUPPORTING)):
            block = self.mapping(data[section], section, names)
            for n in names:
                entry = self.mapping(block[n], f"{section}.{n}", ("name", "text"))
                self.text(entry["name"], f"{section}.{n}.name")
                self.text(entry["text"], f"{section}.{n}.text")
        texts = self.mapping(data["texts"], "texts", REQUIRED_TEXTS)
        for k, v in texts.items():
            self.text(v, f"texts.{k}")
        return Playbook(data, patterns, theme_patterns, self.source)


def parse_playbook(text: str, source: str = "<string>") -> Playbook:
    """Parse and validate playbook YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookError(source, "top level", f"invalid YAML: {exc}") from None
    return _Validator(source).run(data)


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Playbook:
    return parse_playbook(Path(path).read_text(encoding="utf-8"), path)


def load_playbook(path: str | Path | None = None) -> Playbook:
    """Load and validate the playbook (cached per file and modification time)."""
    p = Path(path) if path else DEFAULT_PATH
    if p.is_dir():
        p = p / "playbook.yaml"
    return _load_cached(str(p), p.stat().st_mtime)
