"""Languages as data: what the bot says, how a language is recognised, how its clauses split.

Each language is one YAML file (``bot/core/locales/en.yml``, ``zh.yml``; more in the directory named by
``TRIAGE_LOCALES_DIR``, which may also override the built-in ones):

    language: es                  # code used in FAQ answers, teams' languages, reports
    name: Español
    detect:
      scripts: [latin]            # latin, han, kana, hangul, cyrillic, greek, arabic, hebrew, thai, devanagari
      words: [el, la, que, de, mi, no, cómo, por, qué]   # common words, to tell languages of one script apart
    clause_markers: [además, también]                   # words that start a second request
    retrieval: {dense_weight: 0.6}                      # optional: weight of the encoder in FAQ search
    strings: {"solved?": "¿Se ha resuelto?", ...}       # any string left out falls back to English

The registry is loaded lazily on first use (never at import) and is immutable afterwards.
"""
from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from bot.core.errors import DataError

BUILTIN_DIR = Path(__file__).with_name("locales")
DEFAULT_LANGUAGE = "en"

_SCRIPT_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "han": ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF)),
    "kana": ((0x3040, 0x309F), (0x30A0, 0x30FF), (0x31F0, 0x31FF)),
    "hangul": ((0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F)),
    "cyrillic": ((0x0400, 0x04FF), (0x0500, 0x052F)),
    "greek": ((0x0370, 0x03FF),),
    "arabic": ((0x0600, 0x06FF), (0x0750, 0x077F)),
    "hebrew": ((0x0590, 0x05FF),),
    "thai": ((0x0E00, 0x0E7F),),
    "devanagari": ((0x0900, 0x097F),),
}
SCRIPTS = frozenset(_SCRIPT_RANGES) | {"latin"}
#: Scripts written without spaces: each character counts as one unit of text.
_CHAR_SCRIPTS = frozenset({"han", "kana", "thai"})
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
#: Share of a message's units that a language's own script must reach to claim the message.
SCRIPT_SHARE = 0.3


@lru_cache(maxsize=16384)
def script_of(ch: str) -> str | None:
    """The script of one character (cached: language detection asks for every character)."""
    o = ord(ch)
    for name, ranges in _SCRIPT_RANGES.items():
        if any(lo <= o <= hi for lo, hi in ranges):
            return name
    if ch.isalpha() and "LATIN" in unicodedata.name(ch, ""):
        return "latin"
    return None


def _units(text: str) -> list[tuple[str, str]]:
    """(script, unit) pairs: one per character of a spaceless script, one per word otherwise."""
    out: list[tuple[str, str]] = []
    for word in _WORD.findall(text):
        run, run_script = "", None
        for ch in word:
            s = script_of(ch)
            if s in _CHAR_SCRIPTS:
                if run:
                    out.append((run_script or "other", run.lower()))
                    run, run_script = "", None
                out.append((s, ch))
            else:
                run_script = run_script or s
                run += ch
        if run:
            out.append((run_script or "other", run.lower()))
    return out


@dataclass(frozen=True)
class Locale:
    code: str
    name: str
    scripts: frozenset[str]
    words: frozenset[str] = frozenset()
    clause_markers: tuple[str, ...] = ()
    dense_weight: float | None = None
    strings: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def word_hits(self, text: str, units: list[tuple[str, str]]) -> int:
        """How many of this language's common words occur (whole words; substrings for spaceless scripts)."""
        hits = sum(1 for _, u in units if u in self.words)
        if self.scripts & _CHAR_SCRIPTS:
            hits += sum(1 for w in self.words if len(w) > 1 and w in text)
        return hits


class LocaleRegistry:
    def __init__(self, locales: Iterable[Locale], default: str = DEFAULT_LANGUAGE):
        self.by_code = {loc.code: loc for loc in locales}
        if default not in self.by_code:
            raise DataError(f"no locale file for the default language {default!r}")
        self.default = default
        base = self.by_code[default].strings
        #: Each language's strings with the default language's filling the gaps.
        self.tables = {code: {**base, **{k: v for k, v in loc.strings.items() if v}}
                       for code, loc in self.by_code.items()}
        markers = sorted({m for loc in self.by_code.values() for m in loc.clause_markers}, key=len, reverse=True)
        spaced = [re.escape(m) for m in markers if not any(script_of(c) in _CHAR_SCRIPTS for c in m)]
        spaceless = [re.escape(m) for m in markers if any(script_of(c) in _CHAR_SCRIPTS for c in m)]
        # A Latin full stop ends a clause only before a space: "jane.doe@example.com" and "0.1%"
        # stay whole. Chinese and Japanese stops need none.
        alts = [r"(?<=[.?!;])\s+", r"(?<=[。？！；])\s*"]
        if spaced:
            alts.append(r"\s+(?:" + "|".join(spaced) + r")\s*(?=\w)")
        if spaceless:
            alts.append(r"(?:" + "|".join(spaceless) + r")[，,]?")
        self.clause_pattern = re.compile("|".join(alts), re.IGNORECASE)
        self.lead_pattern = re.compile(r"^(?:and|" + "|".join(spaced or ["(?!)"]) + r")\s+", re.IGNORECASE)

    @property
    def codes(self) -> list[str]:
        return sorted(self.by_code)

    def get(self, code: str) -> Locale:
        return self.by_code.get(code) or self.by_code[self.default]

    def detect(self, text: str, default: str | None = None) -> str:
        """The language of `text`: first by script (a language whose non-Latin script makes up
        a fair share of the text claims it), then by common words among languages of one script."""
        default = default or self.default
        units = _units(text)
        if not units:
            return default
        counts: dict[str, int] = {}
        for s, _ in units:
            counts[s] = counts.get(s, 0) + 1
        total = len(units)

        def share(loc: Locale, latin: bool) -> float:
            return sum(counts.get(s, 0) for s in loc.scripts if latin or s != "latin") / total

        locs = list(self.by_code.values())
        distinct = [(share(loc, False), loc) for loc in locs if loc.scripts - {"latin"}]
        distinct = [(sh, loc) for sh, loc in distinct if sh >= SCRIPT_SHARE]
        if distinct:
            best = max(distinct, key=lambda p: (round(p[0], 6), p[1].word_hits(text, units), -len(p[1].scripts)))
            return best[1].code
        latin = [loc for loc in locs if "latin" in loc.scripts]
        if not latin or counts.get("latin", 0) / total < SCRIPT_SHARE:
            return default
        hits = {loc.code: loc.word_hits(text, units) for loc in latin}
        top = max(hits.values())
        if top == 0 or hits.get(default, -1) == top:
            return default
        return min(c for c, h in hits.items() if h == top)

    def text(self, lang: str, key: str, **kw) -> str:
        table = self.tables.get(lang) or self.tables[self.default]
        return table[key].format(**kw)

    def dense_weights(self) -> dict[str, float]:
        return {c: loc.dense_weight for c, loc in self.by_code.items() if loc.dense_weight is not None}


def _fields(s: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(s) if f}


def load_locale(path: Path) -> Locale:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise DataError(f"{path}{line}: malformed YAML: {getattr(exc, 'problem', exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping with 'language', 'detect' and 'strings'")
    unknown = set(raw) - {"language", "name", "detect", "clause_markers", "retrieval", "strings"}
    if unknown:
        raise DataError(f"{path}: unknown keys {sorted(unknown)}")
    code = raw.get("language")
    if not isinstance(code, str) or not re.fullmatch(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", code):
        raise DataError(f"{path}: 'language' must be a language code such as 'es' or 'pt-BR', got {code!r}")
    detect = raw.get("detect") or {}
    scripts = detect.get("scripts") or ["latin"]
    bad = [s for s in scripts if s not in SCRIPTS]
    if bad:
        raise DataError(f"{path}: unknown scripts {bad}; known: {sorted(SCRIPTS)}")
    strings = raw.get("strings") or {}
    if not isinstance(strings, dict):
        raise DataError(f"{path}: 'strings' must be a mapping")
    for k, v in strings.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise DataError(f"{path}: strings must map names to text; quote {k!r} (YAML reads yes/no/on/off "
                            "as true/false)")
    words = detect.get("words") or []
    if any(not isinstance(w, str) for w in words):
        raise DataError(f"{path}: detect.words must be text; quote yes/no/on/off, which YAML reads as true/false")
    dense = (raw.get("retrieval") or {}).get("dense_weight")
    if dense is not None and not (isinstance(dense, (int, float)) and 0.0 <= dense <= 1.0):
        raise DataError(f"{path}: retrieval.dense_weight must be between 0 and 1")
    return Locale(code=code, name=str(raw.get("name") or code), scripts=frozenset(scripts),
                  words=frozenset(w.lower() for w in words), clause_markers=tuple(raw.get("clause_markers") or ()),
                  dense_weight=None if dense is None else float(dense), strings=dict(strings), source=str(path))


def load_registry(extra_dir: Path | None = None, default: str = DEFAULT_LANGUAGE) -> LocaleRegistry:
    """Built-in locales, then those in `extra_dir` (a file for an existing code replaces it)."""
    files = sorted(BUILTIN_DIR.glob("*.yml"))
    if extra_dir is not None:
        if not Path(extra_dir).is_dir():
            raise DataError(f"locales directory {extra_dir} does not exist")
        files += sorted(Path(extra_dir).glob("*.yml")) + sorted(Path(extra_dir).glob("*.yaml"))
    by_code: dict[str, Locale] = {}
    for f in files:
        loc = load_locale(f)
        by_code[loc.code] = loc
    registry = LocaleRegistry(by_code.values(), default)
    base = registry.by_code[default]
    for loc in by_code.values():
        for k, v in loc.strings.items():
            if k not in base.strings:
                raise DataError(f"{loc.source}: unknown string {k!r}; known: {sorted(base.strings)}")
            extra = _fields(v) - _fields(base.strings[k])
            if extra:
                raise DataError(f"{loc.source}: string {k!r} uses {sorted(extra)}, which the bot does not fill in "
                                f"(it fills {sorted(_fields(base.strings[k])) or 'nothing'})")
    return registry


_REGISTRY: LocaleRegistry | None = None


def registry() -> LocaleRegistry:
    """The process-wide registry: the one installed with `use` (the command line installs the
    configured one, built-ins plus TRIAGE_LOCALES_DIR, before it builds anything), else the
    built-in languages. Components that need languages take a registry as a parameter
    (`FaqIndex`, `TriageEngine`); this one serves the bot's wording."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY


def use(reg: LocaleRegistry | None) -> None:
    """Install `reg` as the process-wide registry (None: the built-in languages on next use)."""
    global _REGISTRY
    _REGISTRY = reg


# -- the registry at work: what callers use -------------------------------------------------------
def detect_language(text: str, default: str | None = None) -> str:
    """The message's language code: by script first ("API Secret丢了" is Chinese: its Han
    characters are half its units), then by common words among languages sharing a script;
    `default` (the registry's default language unless given) when nothing tells."""
    return registry().detect(text, default)


def split_clauses(text: str, min_chars: int = 6) -> list[str]:
    """Split a message into its sentences or clauses ("…? Also …", "…。另外…", markers from the
    locale files); short bits stay with their neighbour. One clause comes back as a one-item list."""
    reg = registry()
    parts = [reg.lead_pattern.sub("", p.strip(" ,，")) for p in reg.clause_pattern.split(text) if p and p.strip(" ,，")]
    merged: list[str] = []
    for p in parts:
        if merged and (len(p) < min_chars or len(merged[-1]) < min_chars):
            merged[-1] = f"{merged[-1]} {p}"
        else:
            merged.append(p)
    return merged or [text]


def t(lang: str, key: str, **kw) -> str:
    return registry().text(lang, key, **kw)
