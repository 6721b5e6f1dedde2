"""The `triage` command line: thin commands that parse, call the library and print."""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from bot.core.errors import TriageError
from bot.core.settings import Settings, get_settings

app = typer.Typer(help="triage: answer what it knows, confirm when unsure, hand the rest to a person.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@contextmanager
def cli_errors():
    """Domain errors become one line on stderr and exit code 1."""
    try:
        yield
    except TriageError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _settings(encoder: str | None = None) -> Settings:
    """The settings, with the languages they configure installed once for this process."""
    from bot.core import i18n

    s = get_settings()
    i18n.use(i18n.load_registry(s.locales_dir))
    return s.model_copy(update={"encoder": encoder}) if encoder else s


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


ModelOpt = Annotated[Path, typer.Option("--model", "-m", help="Model directory written by `triage train`.")]
EncoderOpt = Annotated[Optional[str], typer.Option(
    "--encoder", help="'default' (bundled all-MiniLM-L6-v2) or a sentence-transformers model directory. "
                      "Env: TRIAGE_ENCODER.")]


CalibrateOpt = Annotated[Optional[Path], typer.Option(
    "--calibrate-on", help="Calibration messages (a YAML file or directory of labelled messages, never trained on). "
                           "Default: calibration.yml inside --data, if there is one.")]
#: `triage train` suggests the int8 encoder above this many FAQ phrasings (where the approximate
#: index starts: a knowledge base whose encoding dominates training and prediction).
INT8_HINT_ABOVE = 20_000


class Precision(str, Enum):
    """The encoder's precision (see `ModelSettings.encoder_precision`)."""

    float32 = "float32"
    int8 = "int8"


FineTuneOpt = Annotated[Optional[bool], typer.Option(
    "--fine-tune/--no-fine-tune", help="Fine-tune the encoder on the training examples first. Default: when there "
                                       "are at least 50 examples per intent on average. Env: TRIAGE_FINE_TUNE.")]


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", "-d", help="Directory of training YAML (Rasa NLU, FAQ, metadata).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write.")],
    encoder: EncoderOpt = None,
    calibrate_on: CalibrateOpt = None,
    fine_tune: FineTuneOpt = None,
    fine_tune_minutes: Annotated[Optional[float], typer.Option(
        "--fine-tune-minutes", min=0.1, help="Time budget of fine-tuning. Env: TRIAGE_FINE_TUNE_MINUTES.")] = None,
    reuse: Annotated[Optional[Path], typer.Option(
        "--reuse", help="A model trained before with the same encoder (not fine-tuned): the FAQ phrasings it "
                        "holds are not encoded again, so a large knowledge base retrains after a few edits in "
                        "a fraction of the time.")] = None,
    encoder_precision: Annotated[Optional[Precision], typer.Option(
        "--encoder-precision",
        help="int8: run the encoder quantized (ONNX), about twice as fast on a CPU, vectors at cosine ~0.99 "
             "to the float ones; the model records it and is served with it. Default float32. "
             "Env: TRIAGE_ENCODER_PRECISION.")] = None,
):
    """Train a model from a data directory."""
    from bot.ml.training import calibration_set
    from bot.ml.training import train as train_model
    from bot.ml.training_data import load_training_data
    from intents.encoder import load_embedder

    with cli_errors():
        settings = _settings(encoder)
        if fine_tune_minutes is not None:
            settings = settings.model_copy(update={"fine_tune_minutes": fine_tune_minutes})
        if encoder_precision is not None:
            settings = settings.model_copy(update={"encoder_precision": encoder_precision.value})
        t0 = time.perf_counter()
        td = load_training_data(data)
        cal = calibration_set(data, calibrate_on)
        labels = td.in_scope_labels
        n_oos = sum(1 for e in td.examples if e.label == "out_of_scope")
        _err(f"loaded {len(td.examples)} examples: {len(labels)} intents/FAQ entries, "
             f"{len(td.faqs)} FAQ entries, {n_oos} out-of-scope examples"
             + (f"; {len(cal.data.examples)} calibration messages" if cal else ""))
        embedder = load_embedder(settings.encoder, batch_size=settings.encode_batch_size,
                                 backend=settings.encoder_backend, cache_dir=settings.encoder_cache,
                                 precision=settings.encoder_precision)
        phrasings = sum(len(f.questions) for f in td.faqs)
        # Only a float encoder run by ONNX could be quantized (a fake one has no precision).
        if (phrasings > INT8_HINT_ABOVE and getattr(embedder, "precision", None) == "float32"
                and embedder.backend == "onnx"):
            _err(f"hint: {phrasings:,} FAQ phrasings; --encoder-precision int8 encodes about twice as fast "
                 f"(50,000 entries: trained in 206 s instead of 337 s) at a small cost in answer coverage "
                 f"(docs/benchmarks.md, \"int8 encoder\")")
        previous = None
        if reuse is not None:
            from bot.ml.model import TriageModel

            previous = TriageModel.load(reuse)
        model = train_model(td, embedder, settings, progress=True, calibration=cal, fine_tune=fine_tune, log=_err,
                            previous=previous)
        from bot.ml.training_data import data_hash

        model.report["training_data_sha256"] = data_hash(data, calibrate_on)
        model.save(out)
        from bot.ml.calibrate import CalibrationReport

        th = model.thresholds
        _err(f"thresholds: answer >= {th.answer:.3f}, confirm >= {th.confirm:.3f}, FAQ retrieval floor "
             f"{th.retrieval_floor:.3f}" + "".join(f"; {lang}: answer >= {a:.3f}, confirm >= {c:.3f}"
                                                    for lang, (a, c) in sorted(th.by_language.items())))
        for line in CalibrationReport.from_json(model.report["calibration"]).describe():
            _err(line)
        _err(f"wrote {out} in {time.perf_counter() - t0:.1f}s")


def _parse_line(raw: bytes):
    """((text, context), None) or (None, error message) for one input line."""
    from escalation.urgency import Context

    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "line is not valid UTF-8"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg}"
    if not isinstance(obj, dict):
        return None, 'expected a JSON object like {"text": "..."}'
    if "text" not in obj:
        return None, 'missing "text"'
    text = obj["text"]
    if not isinstance(text, str):
        return None, '"text" must be a string'
    if not text.strip():
        return None, '"text" is empty'
    ctx = obj.get("context")
    if ctx is not None and not isinstance(ctx, dict):
        return None, '"context" must be an object like {"tier": "vip", "returns_24h": 2, "failed_attempts": 0}'
    try:
        context = Context.from_json(ctx)
    except (TypeError, ValueError):
        return None, '"context" fields returns_24h and failed_attempts must be integers'
    return (text, context), None


def _lines(stream):
    """Yield batches of complete input lines as soon as they arrive (interactive-safe)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # an in-memory stream (tests, embedding)
        data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode("utf-8")
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if lines:
            yield [x.rstrip(b"\r") for x in lines]
        return
    buf = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            if buf:
                yield [buf]
            return
        buf += chunk
        *complete, buf = buf.split(b"\n")
        if complete:
            yield [c.rstrip(b"\r") for c in complete]


@app.command()
def predict(model: ModelOpt, encoder: EncoderOpt = None,
            batch_size: Annotated[int, typer.Option(help="Lines decided together.")] = 256):
    """Read JSON lines {"text": ..., "context"?: {...}} on stdin; write one decision per line on stdout."""
    from bot.ml.engine import TriageEngine

    with cli_errors():
        engine = TriageEngine.from_model_dir(model, _settings(encoder))
        engine.faq_index  # build now so a broken model fails before any input is read
    out = sys.stdout
    for batch in _lines(sys.stdin):
        for start in range(0, len(batch), batch_size):
            part = batch[start:start + batch_size]
            parsed = [_parse_line(raw) for raw in part]
            good = [p for p, _ in parsed if p is not None]
            decisions = iter(engine.predict([t for t, _ in good], contexts=[c for _, c in good])) if good else iter(())
            for text, error in parsed:
                obj = {"error": error} if error is not None else next(decisions).to_json()
                out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", "-d", help="Test data directory (same YAML formats).")],
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Model to evaluate.")] = None,
    cross_validation: Annotated[Optional[int], typer.Option("--cross-validation", "-k", min=2,
                                                            help="K-fold cross-validation on --data (no --model).")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write JSON, plots and index.html here.")] = None,
    encoder: EncoderOpt = None,
    calibrate_on: CalibrateOpt = None,
    fine_tune: Annotated[bool, typer.Option("--fine-tune/--no-fine-tune",
                                            help="Cross-validation: fine-tune the encoder in every fold.")] = False,
):
    """Evaluate a model on test data, or cross-validate on one data set."""
    from bot.ml.report import write_report
    from bot.ml.training import calibration_set
    from bot.ml.training_data import load_training_data
    from bot.ml.validation import cross_validate, evaluate_engine

    with cli_errors():
        if (model is None) == (cross_validation is None):
            raise typer.BadParameter("give either --model (test a trained model) or --cross-validation K")
        settings = _settings(encoder)
        td = load_training_data(data)
        if model is not None:
            from bot.ml.engine import TriageEngine

            engine = TriageEngine.from_model_dir(model, settings)
            result = evaluate_engine(engine, td, progress=True)
            title = f"triage evaluation: {model} on {data}"
            if result.calibration:
                from bot.ml.calibrate import CalibrationReport

                for line in CalibrationReport.from_json(result.calibration).describe():
                    _err(line)
        else:
            from intents.encoder import load_embedder

            embedder = load_embedder(settings.encoder, batch_size=settings.encode_batch_size,
                                     backend=settings.encoder_backend, cache_dir=settings.encoder_cache,
                                     precision=settings.encoder_precision)
            result = cross_validate(td, embedder, settings, cross_validation,
                                    on_fold=lambda f, k: _err(f"fold {f}/{k}"),
                                    calibration=calibration_set(data, calibrate_on), fine_tune=fine_tune)
            title = f"triage {cross_validation}-fold cross-validation on {data}"
        typer.echo(json.dumps(result.summary(), indent=1))
        if report is not None:
            write_report(result, report, title)
            _err(f"report written to {report / 'index.html'}")


@app.command()
def compare(
    models: Annotated[list[Path], typer.Option("--model", "-m", help="Two model directories: A (current), then B.")],
    data: Annotated[Path, typer.Option("--data", "-d", help="Test data directory (same YAML formats).")],
    report: Annotated[Optional[Path], typer.Option("--report", help="Write index.html and comparison.json here.")] = None,
    encoder: EncoderOpt = None,
):
    """Two models on the same test data, side by side: per-intent regressions first, the headline
    figures, and an exact McNemar test on the messages both decided."""
    from bot.ml.compare import compare as compare_models
    from bot.ml.compare import describe, write_html
    from bot.ml.engine import TriageEngine
    from bot.ml.training_data import load_training_data
    from bot.ml.validation import evaluate_engine_decisions

    with cli_errors():
        if len(models) != 2:
            raise typer.BadParameter("give --model twice: the current model (A), then the candidate (B)")
        settings = _settings(encoder)
        td = load_training_data(data)
        results = []
        for m in models:
            _err(f"evaluating {m}")
            results.append(evaluate_engine_decisions(TriageEngine.from_model_dir(m, settings), td, progress=True))
        (ra, da), (rb, db) = results
        c = compare_models(ra, da, rb, db, [e.label for e in td.examples])
        for line in describe(c, str(models[0]), str(models[1])):
            typer.echo(line)
        if report is not None:
            write_html(c, str(models[0]), str(models[1]), report)
            _err(f"report written to {report / 'index.html'}")


@app.command()
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write faq.yml and nlu_reviewed.yml into.")],
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL. Env: TRIAGE_DATABASE_URL.")] = None,
    model: Annotated[Path, typer.Option("--model", "-m", help="The model the desk serves (its FAQ as trained).")]
    = Path("models/default"),
):
    """Write what the desk learned as training data: the live FAQ (faq.yml, replacing
    training_data/faq.yml) and examples reviewed from conversations (nlu_reviewed.yml, beside
    nlu.yml), redacted."""
    from bot.core.db import make_engine
    from bot.support.export import export as export_data

    with cli_errors():
        settings = _settings()
        engine = make_engine(db or settings.database_url)
        try:
            done = export_data(engine, model, out)
        finally:
            engine.dispose()
        typer.echo(f"{done.faq_entries} FAQ entries ({done.published_changes} changed by editors since training), "
                   f"{done.reviewed_examples} reviewed examples -> " + ", ".join(str(f) for f in done.files))


@app.command()
def promote(
    registry: Annotated[Path, typer.Option("--registry", help="Directory of model directories (one per name).")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="The registry model to serve.")] = None,
    rollback: Annotated[bool, typer.Option("--rollback", help="Serve again the model current before this one.")]
    = False,
    data: Annotated[Optional[Path], typer.Option("--data", "-d", help="Test data of the compare gate (needed once "
                                                 "a model is served).")] = None,
    margin: Annotated[float, typer.Option(min=0, max=1, help="Refuse a candidate worse than the current model by "
                                                         "more than this on any headline figure.")] = 0.02,
    current_model: Annotated[Path, typer.Option("--current", help="The model served while none was promoted yet.")]
    = Path("models/default"),
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL. Env: TRIAGE_DATABASE_URL.")] = None,
    by: Annotated[str, typer.Option(help="Who promotes (recorded).")] = os.environ.get("USER", "cli"),
    encoder: EncoderOpt = None,
):
    """Make a registry model the one every server serves (they switch within seconds, without
    dropping a request), after the golden questions and the compare gate; or --rollback."""
    from bot.core.db import make_engine, upgrade
    from bot.support import promotions

    with cli_errors():
        if rollback == (model is not None):
            raise typer.BadParameter("give --model NAME to promote, or --rollback")
        settings = _settings(encoder)
        engine_db = make_engine(db or settings.database_url)
        try:
            upgrade(engine_db)
            if rollback:
                with engine_db.begin() as conn:
                    p = promotions.rollback(conn, by, time.time())
                typer.echo(f"rolled back: serving {p.name}@{p.fingerprint} again (servers follow within "
                           f"{settings.model_poll_seconds:g} s)")
                return
            typer.echo("\n".join(_promote_checks(registry, model, data, margin, current_model, engine_db, settings)))
            path = promotions.in_registry(registry, model)
            from bot.ml.model import TriageModel

            fingerprint = TriageModel.load(path).fingerprint
            with engine_db.begin() as conn:
                p = promotions.record(conn, model, path, fingerprint, by, time.time())
            typer.echo(f"promoted {p.name}@{p.fingerprint} (promotion {p.seq}); servers switch within "
                       f"{settings.model_poll_seconds:g} s")
        finally:
            engine_db.dispose()


@app.command()
def models(
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL. Env: TRIAGE_DATABASE_URL.")] = None,
    current_path: Annotated[bool, typer.Option("--current-path", help="Print only the served model's directory "
                                                                      "(nothing when none was promoted).")] = False,
):
    """The model promotions, newest first (which model every server serves)."""
    from datetime import datetime, timezone

    from bot.core.db import make_engine, reading, upgrade
    from bot.support import promotions

    with cli_errors():
        settings = _settings()
        engine_db = make_engine(db or settings.database_url)
        try:
            upgrade(engine_db)
            with reading(engine_db) as conn:
                rows = promotions.history(conn)
        finally:
            engine_db.dispose()
        if current_path:
            if rows:
                typer.echo(rows[0].path)
            return
        if not rows:
            typer.echo("no model promoted yet: servers serve the model given to `triage serve --model`")
        for i, p in enumerate(rows):
            when = datetime.fromtimestamp(p.created_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            typer.echo(f"{'*' if i == 0 else ' '} {p.seq:>4}  {p.name}@{p.fingerprint}  {p.kind:<8} by {p.actor}, {when}"
                       f"  {p.path}")


def _promote_checks(registry: Path, name: str, data: Path | None, margin: float, current_model: Path, db,
                    settings) -> list[str]:
    """The gates a candidate passes (lines to print), or ConflictError with what it failed."""
    from bot.core.db import reading
    from bot.core.errors import ConflictError
    from bot.ml.compare import compare as compare_models
    from bot.ml.compare import describe
    from bot.ml.engine import TriageEngine
    from bot.ml.training_data import load_training_data
    from bot.ml.validation import evaluate_engine_decisions
    from bot.support import promotions
    from kb_index import repository as repo

    path = promotions.in_registry(registry, name)
    candidate = TriageEngine.from_model_dir(path, settings)
    with reading(db) as conn:
        promotions.apply_live_faq(conn, candidate)
        golden = repo.golden(conn)
        served = promotions.current(conn)
    failures = promotions.golden_failures(candidate, golden)
    if failures:
        for f in failures:
            _err(f"  golden question “{f['question']}” expects {f['expected']}; {name} routes it to {f['got']}")
        raise ConflictError(f"promotion refused: {name} routes {len(failures)} of {len(golden)} golden question(s) "
                            "away from their expected intent")
    lines = [f"golden questions: {len(golden)} of {len(golden)} reach their expected intent"]
    current_path = Path(served.path) if served else (current_model if (current_model / "manifest.json").is_file()
                                                      else None)
    if current_path is None:
        return lines + ["compare gate: no model is served yet"]
    if data is None:
        raise typer.BadParameter("give --data: the test set on which the candidate must not lose to the served model")
    td = load_training_data(data)
    now_serving = TriageEngine.from_model_dir(current_path, settings)
    ra, da = evaluate_engine_decisions(now_serving, td)
    rb, db_ = evaluate_engine_decisions(candidate, td)
    c = compare_models(ra, da, rb, db_, [e.label for e in td.examples])
    for line in describe(c, str(current_path), str(path)):
        _err(line)
    losses = c.losses(margin)
    if losses:
        raise ConflictError(f"promotion refused: {name} loses to the served model by more than {margin:g} on "
                            + "; ".join(losses))
    return lines + [f"compare gate: no headline figure worse by more than {margin:g} (McNemar p = {c.p_value:.3g})"]


@app.command()
def chat(model: ModelOpt, encoder: EncoderOpt = None):
    """Chat in the terminal and see each triage decision."""
    from rich.console import Console

    from bot.ml.engine import TriageEngine

    console = Console()
    with cli_errors():
        engine = TriageEngine.from_model_dir(model, _settings(encoder))
        console.print("[bold]triage chat[/bold]: type a question; empty line or Ctrl-D to quit.")
        colours = {"answer": "green", "confirm": "yellow", "escalate": "red"}
        while True:
            try:
                text = console.input("[bold cyan]you>[/bold cyan] ")
            except EOFError:
                break
            if not text.strip() or text.strip() in ("/quit", "/exit"):
                break
            d = engine.predict_one(text)
            c = colours[d.route.value]
            console.print(f"[{c}]{d.route.value.upper()}[/{c}]  intent={d.intent}  confidence={d.confidence:.2f}  "
                          f"priority={d.priority.value}  lang={d.lang}")
            console.print("  candidates: " + ", ".join(f"{x.intent} ({x.confidence:.2f})" for x in d.candidates))
            if d.answer:
                console.print(f"[bold]bot>[/bold] {d.answer}", highlight=False)
            if d.route.value == "confirm" and d.candidates:
                console.print("[bold]bot>[/bold] Did you mean: " + " / ".join(x.intent for x in d.candidates) + "?")
            if d.route.value == "escalate":
                console.print(f"[bold]bot>[/bold] I'm handing this to a person ({d.priority.value}: "
                              f"{d.priority.description}).")
            for r in d.reasons:
                console.print(f"  [dim]why: {r}[/dim]")


@app.command()
def serve(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model directory.")] = Path("models/default"),
    host: Annotated[Optional[str], typer.Option(help="Address to listen on. Env: TRIAGE_HOST.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port. Env: TRIAGE_PORT.")] = None,
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (sqlite:///file.db or postgresql://…). "
                                                           "Env: TRIAGE_DATABASE_URL.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes, each loading the model once "
                                                             "(SQLite and PostgreSQL).")] = 1,
    encoder: EncoderOpt = None,
):
    """Serve the chat, agent and status API (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    from bot.core.db import make_engine, upgrade
    from bot.core.redact import install_log_redaction
    from bot.interfaces import server

    with cli_errors():
        settings = _settings(encoder)
        settings = settings.model_copy(update={k: v for k, v in
                                               {"host": host, "port": port, "database_url": db}.items() if v})
        if workers == 1:
            api = server.build_app(model, settings)
        else:  # the workers read the same settings from the environment; migrate once, here
            from bot.ml.model import TriageModel

            TriageModel.load(model)  # a bad model directory fails here, with its one-line error
            upgrade(make_engine(settings.database_url))
            os.environ.update({server.MODEL_ENV: str(model.resolve()), "TRIAGE_DATABASE_URL": settings.database_url,
                               "TRIAGE_ENCODER": settings.encoder})
            api = "bot.interfaces.server:app_factory"
    install_log_redaction()
    if not (settings.agents or settings.admins):
        _err("warning: no agent credentials configured (TRIAGE_AGENTS / TRIAGE_ADMINS): nobody can take tickets")
    base = f"http://{settings.host}:{settings.port}"
    _err(f"triage serving on {base} (API docs at {base}/docs), database {settings.database_url.split('@')[-1]}"
         + (f", {workers} worker processes" if workers > 1 else ""))
    _err(f"  chat widget {base}/chat · agent console {base}/agent · FAQ editor {base}/editor · "
         f"dashboard {base}/dashboard (sign in with an API key)")
    # X-Forwarded-For is read by the app from TRIAGE_TRUSTED_PROXIES only (uvicorn's own default
    # would believe it from 127.0.0.1).
    uvicorn.run(api, host=settings.host, port=settings.port, log_level="info", log_config=None,
                proxy_headers=False, timeout_graceful_shutdown=5, factory=workers > 1,
                workers=workers if workers > 1 else None)


@app.command()
def actions(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model directory.")] = Path("models/default"),
    port: Annotated[int, typer.Option(help="Action server port (Rasa's default is 5055).")] = 5055,
    host: Annotated[str, typer.Option(help="Address to listen on: this machine only by default; 0.0.0.0 "
                                           "exposes it to the network (the action server has no "
                                           "authentication of its own).")] = "127.0.0.1",
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL. Env: TRIAGE_DATABASE_URL.")] = None,
    encoder: EncoderOpt = None,
):
    """Run a rasa-sdk action server exposing action_triage_answer and action_triage_escalate."""
    from rasa_sdk.endpoint import create_app as create_action_app

    from bot.core.db import make_engine, upgrade
    from bot.interfaces.rasa_actions import make_executor
    from bot.ml.engine import TriageEngine
    from bot.support.service import ChatService

    with cli_errors():
        settings = _settings(encoder)
        if db:
            settings = settings.model_copy(update={"database_url": db})
        engine = TriageEngine.from_model_dir(model, settings)
        db_engine = make_engine(settings.database_url)
        upgrade(db_engine)
        executor = make_executor(ChatService(engine, db_engine, settings))
    _err(f"triage actions: rasa-sdk action server on {host}:{port} "
         f"(point your Rasa endpoints.yml action_endpoint at http://{host}:{port}/webhook)")
    # rasa-sdk's own `run` forks workers that must pickle the app; the engine and the database
    # connection pool cannot be pickled, so serve rasa-sdk's app in this one process.
    create_action_app(executor).run(host=host, port=port, single_process=True, access_log=False)


@app.command()
def mail(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model directory (a promoted model wins).")]
    = Path("models/default"),
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL. Env: TRIAGE_DATABASE_URL.")] = None,
    imap: Annotated[bool, typer.Option("--imap", help="Poll the IMAP mailbox (TRIAGE_IMAP_*) instead of "
                                                      "receiving SMTP.")] = False,
    every: Annotated[float, typer.Option(min=0.1, help="Seconds between processing rounds.")] = 1.0,
    encoder: EncoderOpt = None,
):
    """The e-mail channel: an SMTP receiver on TRIAGE_MAIL_LISTEN_HOST:PORT (127.0.0.1:2525) for
    TRIAGE_MAIL_ADDRESS, or an IMAP poller; replies go out through TRIAGE_SMTP_RELAY_HOST."""
    import signal
    import threading

    from bot.core.redact import install_log_redaction
    from bot.interfaces import mail_server, server
    from bot.support.maildesk import MailDesk

    with cli_errors():
        settings = _settings(encoder)
        if db:
            settings = settings.model_copy(update={"database_url": db})
        if imap and not settings.imap_host:
            raise typer.BadParameter("--imap needs TRIAGE_IMAP_HOST (and TRIAGE_IMAP_USER, TRIAGE_IMAP_PASSWORD)")
        install_log_redaction()
        service = server.build_app(model, settings).state.context.service
        desk = MailDesk(service, settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    where = (f"polling {settings.imap_host}" if imap else
             f"receiving on {settings.mail_listen_host}:{settings.mail_listen_port}")
    _err(f"triage mail: {settings.mail_address}, {where}; replies via "
         f"{settings.smtp_relay_host or '(no relay set: replies wait in the outbox)'}"
         + (f":{settings.smtp_relay_port}" if settings.smtp_relay_host else ""))
    try:
        mail_server.run(desk, settings, imap, every, stop)
    except KeyboardInterrupt:
        pass


def main() -> None:
    app()


if __name__ == "__main__":
    main()
