"""Load training and test data: Rasa 3.x NLU YAML, FAQ YAML and triage metadata.

A data directory holds YAML files. Each file may contain any of these top-level keys:

* ``nlu``: Rasa NLU list. ``- intent: NAME`` blocks with ``examples: |`` (and optional
  ``metadata: {complexity, priority, domain}``), ``- priority: P0`` blocks of labelled urgency
  examples; ``synonym``, ``regex`` and ``lookup`` blocks are accepted and ignored.
* ``faq``: list of entries ``{id, questions: [...], answer: str | {lang: str}, lang?, tags?,
  complexity?, priority?}``.
* ``intents``: mapping ``NAME: {complexity, priority, domain}`` of triage metadata.

Other keys that Rasa projects carry (``version``, ``rules``, ``stories``, ``responses``...) are
ignored, so a Rasa ``data/`` folder can be pointed at as it is.

A file named ``calibration.yml`` (or ``.yaml``) anywhere in a data directory is not training
data: it holds labelled messages (``- intent:`` blocks, ``out_of_scope`` included) that are used
only to calibrate confidences and thresholds (`load_calibration_data`).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.errors import DataError
from bot.core.vocabulary import (
    OUT_OF_SCOPE,
    SMALL_TALK_TAGS,
    Complexity,
    IntentMeta,
    Priority,
    faq_label,
)
from kb_index.store import FaqEntry

_ENTITY = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")
_FAQ_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    path: Path
    line: int


@dataclass
class TrainingData:
    #: Intent examples (out_of_scope included) and FAQ phrasings, labelled (`faq/<id>` for FAQs).
    examples: list[Example] = field(default_factory=list)
    faqs: list[FaqEntry] = field(default_factory=list)
    intent_meta: dict[str, IntentMeta] = field(default_factory=dict)
    priority_examples: list[tuple[Example, Priority]] = field(default_factory=list)
    complexity_examples: list[tuple[Example, Complexity]] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return sorted({e.label for e in self.examples})

    @property
    def in_scope_labels(self) -> list[str]:
        return [lab for lab in self.labels if lab != OUT_OF_SCOPE]


def clean_example(text: str) -> str:
    """Strip Rasa entity annotations (`[Berlin](city)` becomes `Berlin`) and squeeze spaces."""
    return " ".join(_ENTITY.sub(r"\1", text).split())


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


#: libyaml's loader where PyYAML was built with it (its wheels are): the same nodes and line
#: numbers, ten times faster than the pure-Python one (a 22 MB faq.yml of 50,000 entries: 51 -> 5 s).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(path: Path) -> yaml.Node | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason})", path) from exc
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise DataError(f"malformed YAML: {exc.problem or exc.context}", path, line) from exc
    except yaml.YAMLError as exc:
        raise DataError(f"malformed YAML: {exc}", path) from exc


def _mapping(node: yaml.Node, path: Path, what: str) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise DataError(f"{what} must be a mapping", path, _line(node))
    out: dict[str, yaml.Node] = {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode):
            raise DataError(f"{what}: keys must be plain strings", path, _line(k))
        out[k.value] = v
    return out


def _scalar(node: yaml.Node, path: Path, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise DataError(f"{what} must be a string", path, _line(node))
    return str(node.value)


def _enum(enum_cls, node: yaml.Node, path: Path, what: str):
    raw = _scalar(node, path, what)
    try:
        return enum_cls(raw.lower() if enum_cls is Complexity else raw.upper())
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise DataError(f"{what} {raw!r} is not one of {allowed}", path, _line(node)) from None


def _titles(node: yaml.Node, path: Path, what: str) -> dict[str, str]:
    """`title: "…"` (every language) or `title: {en: "…", zh: "…"}`."""
    if isinstance(node, yaml.MappingNode):
        return {k: _scalar(v, path, f"{what} title").strip() for k, v in _mapping(node, path, f"{what} title").items()}
    return {"*": _scalar(node, path, f"{what} title").strip()}


def _meta(node: yaml.Node, path: Path, what: str) -> IntentMeta:
    m = _mapping(node, path, what)
    domain = _scalar(m["domain"], path, f"{what} domain") if "domain" in m else None
    return IntentMeta(
        complexity=_enum(Complexity, m["complexity"], path, f"{what} complexity") if "complexity" in m else Complexity.SIMPLE,
        priority=_enum(Priority, m["priority"], path, f"{what} priority") if "priority" in m else Priority.P2,
        domain=domain,
        small_talk=(domain or "").lower() in SMALL_TALK_TAGS,
        titles=_titles(m["title"], path, what) if "title" in m else {},
    )


def _examples(node: yaml.Node, path: Path, what: str) -> list[tuple[str, int]]:
    """Examples as (text, line) from a `|` block of `- text` lines or a list of strings/{text}."""
    out: list[tuple[str, int]] = []
    if isinstance(node, yaml.ScalarNode):
        # Block scalars start on the line after the `|` indicator.
        first = _line(node) + (1 if node.style in ("|", ">") else 0)
        for i, raw in enumerate(str(node.value).splitlines()):
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            if not s.startswith("- "):
                if s == "-":
                    continue
                raise DataError(f"{what}: example lines must start with '- ', got {s[:40]!r}", path, first + i)
            text = clean_example(s[2:])
            if text:
                out.append((text, first + i))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.MappingNode):
                item = _mapping(item, path, what).get("text", item)
            text = clean_example(_scalar(item, path, f"{what} example"))
            if text:
                out.append((text, _line(item)))
    else:
        raise DataError(f"{what}: examples must be a `|` block of '- ' lines or a list", path, _line(node))
    return out


class _Collector:
    def __init__(self) -> None:
        self.data = TrainingData()
        self._seen: dict[str, Example] = {}
        self._faq_ids: dict[str, tuple[Path, int]] = {}
        self._labels_declared: dict[str, tuple[Path, int]] = {}

    def add(self, text: str, label: str, path: Path, line: int) -> None:
        ex = Example(text, label, path, line)
        key = normalise(text)
        prev = self._seen.get(key)
        if prev is not None:
            if prev.label != label:
                raise DataError(
                    f"the phrasing {text!r} is under two intents: {prev.label!r} ({prev.path}:{prev.line}) and {label!r}",
                    path, line)
            return  # an exact repeat under the same intent adds nothing
        self._seen[key] = ex
        self.data.examples.append(ex)

    def nlu(self, node: yaml.Node, path: Path) -> None:
        if not isinstance(node, yaml.SequenceNode):
            raise DataError("'nlu' must be a list of '- intent:' blocks", path, _line(node))
        for block in node.value:
            b = _mapping(block, path, "nlu block")
            if "intent" in b:
                name = _scalar(b["intent"], path, "intent name").strip()
                if not name:
                    raise DataError("intent name is empty", path, _line(b["intent"]))
                if "metadata" in b and isinstance(b["metadata"], yaml.MappingNode):
                    md = _mapping(b["metadata"], path, "metadata")
                    if any(k in md for k in ("complexity", "priority", "domain", "title")):
                        self.data.intent_meta[name] = _meta(b["metadata"], path, f"intent {name!r} metadata")
                exs = _examples(b["examples"], path, f"intent {name!r}") if "examples" in b else []
                if not exs:
                    raise DataError(f"intent {name!r} has no examples", path, _line(block))
                for text, line in exs:
                    self.add(text, name, path, line)
            elif "priority" in b:
                self._labelled(b, block, path, "priority", Priority, self.data.priority_examples)
            elif "complexity" in b:
                self._labelled(b, block, path, "complexity", Complexity, self.data.complexity_examples)
            elif any(k in b for k in ("synonym", "regex", "lookup")):
                continue
            else:
                raise DataError("nlu block must have 'intent', 'priority', 'complexity', 'synonym', 'regex' or 'lookup'",
                                path, _line(block))

    @staticmethod
    def _labelled(b: dict, block: yaml.Node, path: Path, key: str, enum_cls, into: list) -> None:
        """A `- priority: P0` or `- complexity: complex` block of message-level examples."""
        value = _enum(enum_cls, b[key], path, key)
        exs = _examples(b["examples"], path, f"{key} {value.value}") if "examples" in b else []
        if not exs:
            raise DataError(f"{key} block {value.value} has no examples", path, _line(block))
        into.extend((Example(text, value.value, path, line), value) for text, line in exs)

    def faq(self, node: yaml.Node, path: Path) -> None:
        if not isinstance(node, yaml.SequenceNode):
            raise DataError("'faq' must be a list of entries", path, _line(node))
        for item in node.value:
            m = _mapping(item, path, "FAQ entry")
            line = _line(item)
            if "id" not in m:
                raise DataError("FAQ entry has no 'id'", path, line)
            fid = _scalar(m["id"], path, "FAQ id").strip()
            if not _FAQ_ID.match(fid):
                raise DataError(f"FAQ id {fid!r} may use only letters, digits, '_', '-' and '.'", path, line)
            if fid in self._faq_ids:
                p, ln = self._faq_ids[fid]
                raise DataError(f"FAQ id {fid!r} is defined twice (first at {p}:{ln})", path, line)
            self._faq_ids[fid] = (path, line)
            qs = _examples(m["questions"], path, f"FAQ {fid!r} questions") if "questions" in m else []
            if not qs:
                raise DataError(f"FAQ entry {fid!r} has no questions", path, line)
            if "answer" not in m:
                raise DataError(f"FAQ entry {fid!r} has no answer", path, line)
            lang = _scalar(m["lang"], path, "FAQ lang").strip() if "lang" in m else None
            a = m["answer"]
            if isinstance(a, yaml.MappingNode):
                answers = {k: _scalar(v, path, f"FAQ {fid!r} answer").strip() for k, v in _mapping(a, path, "answer").items()}
            else:
                answers = {lang or "en": _scalar(a, path, f"FAQ {fid!r} answer").strip()}
            if not all(answers.values()):
                raise DataError(f"FAQ entry {fid!r} has an empty answer", path, _line(a))
            tags = []
            if "tags" in m:
                if not isinstance(m["tags"], yaml.SequenceNode):
                    raise DataError(f"FAQ {fid!r} tags must be a list", path, _line(m["tags"]))
                tags = [_scalar(t, path, "tag") for t in m["tags"].value]
            meta = _meta(item, path, f"FAQ {fid!r}")
            entry = FaqEntry(fid, [q for q, _ in qs], answers, lang, tags, meta.complexity, meta.priority, meta.titles)
            self.data.faqs.append(entry)
            self.data.intent_meta[faq_label(fid)] = IntentMeta.of_faq(entry)
            for q, ln in qs:
                self.add(q, faq_label(fid), path, ln)

    def intents(self, node: yaml.Node, path: Path) -> None:
        for name, v in _mapping(node, path, "'intents'").items():
            self.data.intent_meta[name] = _meta(v, path, f"intent {name!r}")
            self._labels_declared[name] = (path, _line(v))


CALIBRATION_FILES = ("calibration.yml", "calibration.yaml")


def _yaml_files(directory: Path) -> list[Path]:
    directory = Path(directory)
    if not directory.exists():
        raise DataError("data directory does not exist", directory)
    if not directory.is_dir():
        raise DataError("not a directory", directory)
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def calibration_files(directory: Path) -> list[Path]:
    """The calibration files inside a data directory (found by name)."""
    return [p for p in _yaml_files(directory) if p.name in CALIBRATION_FILES]


def data_hash(*sources: Path | None) -> str:
    """SHA-256 over the YAML files of data directories (or files): names and contents, in order,
    so a model records exactly what it was trained on."""
    import hashlib

    h = hashlib.sha256()
    for source in sources:
        if source is None:
            continue
        source = Path(source)
        files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.suffix in (".yml", ".yaml"))
        for f in files:
            h.update(str(f.relative_to(source) if source.is_dir() else f.name).encode() + b"\0")
            h.update(f.read_bytes() + b"\0")
    return h.hexdigest()


def load_training_data(directory: Path) -> TrainingData:
    """Read every *.yml / *.yaml file under `directory` (sorted, recursive), except calibration files."""
    directory = Path(directory)
    files = [p for p in _yaml_files(directory) if p.name not in CALIBRATION_FILES]
    if not files:
        raise DataError("data directory holds no .yml or .yaml files", directory)
    return _collect(files, directory)


def load_calibration_data(source: Path | Sequence[Path]) -> TrainingData:
    """Labelled calibration messages from a file, a list of files, or every YAML file of a directory."""
    if isinstance(source, (str, Path)):
        source = Path(source)
        files = [source] if source.is_file() else _yaml_files(source)
        where = source
    else:
        files, where = [Path(p) for p in source], Path(source[0]) if source else Path(".")
    if not files:
        raise DataError("no calibration .yml or .yaml files found", where)
    data = _collect(files, where)
    if data.faqs:
        raise DataError("a calibration file holds labelled messages ('- intent:' blocks), not FAQ entries",
                        Path(data.examples[0].path) if data.examples else where)
    return data


def _collect(files: Sequence[Path], directory: Path) -> TrainingData:
    c = _Collector()
    for path in files:
        root = _compose(path)
        if root is None:
            continue
        top = _mapping(root, path, "top level")
        if "nlu" in top:
            c.nlu(top["nlu"], path)
        if "faq" in top:
            c.faq(top["faq"], path)
        if "intents" in top:
            c.intents(top["intents"], path)
    if not c.data.examples:
        raise DataError("no intent examples or FAQ questions found", directory)
    for name, (p, ln) in c._labels_declared.items():
        if name not in {e.label for e in c.data.examples} and not name.startswith("faq/"):
            raise DataError(f"intent {name!r} has triage metadata but no examples", p, ln)
    return c.data


def check_calibration(train: TrainingData, calibration: TrainingData) -> None:
    """Calibration messages must be labelled with the training data's intents (or out_of_scope)
    and must not repeat a training example: a message the model was trained on says nothing about
    how it does on new ones."""
    known = set(train.labels) | {OUT_OF_SCOPE}
    seen = {normalise(e.text): e for e in train.examples}
    for e in calibration.examples:
        if e.label not in known:
            raise DataError(f"calibration message {e.text!r} is labelled {e.label!r}, which is not an intent or "
                            f"FAQ entry of the training data", e.path, e.line)
        twin = seen.get(normalise(e.text))
        if twin is not None:
            raise DataError(f"calibration message {e.text!r} is also a training example ({twin.path}:{twin.line}); "
                            f"calibration messages must be written apart from the training data", e.path, e.line)
