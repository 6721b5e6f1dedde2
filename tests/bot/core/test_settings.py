"""One settings object in visible parts, every variable documented in the README."""
import re

from bot.core.settings import ModelSettings, ServiceSettings, Settings, TrainingSettings
from tests.conftest import ROOT


def test_the_parts_make_the_whole_and_do_not_overlap():
    parts = [set(ModelSettings.model_fields), set(TrainingSettings.model_fields), set(ServiceSettings.model_fields)]
    assert set().union(*parts) == set(Settings.model_fields)
    assert sum(len(p) for p in parts) == len(Settings.model_fields)


def test_every_setting_is_in_the_readme_table_and_every_row_is_a_setting():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `TRIAGE_")]
    documented = {m.lower() for row in rows for m in re.findall(r"`TRIAGE_([A-Z0-9_]+)`", row.split("|")[1])}
    assert documented == set(Settings.model_fields), (
        f"missing from the README: {sorted(set(Settings.model_fields) - documented)}; "
        f"not settings: {sorted(documented - set(Settings.model_fields))}")


def test_environment_variables_keep_their_names(monkeypatch):
    monkeypatch.setenv("TRIAGE_ANSWER_PRECISION", "0.97")
    monkeypatch.setenv("TRIAGE_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("TRIAGE_ENCODER", "fake:8")
    s = Settings()
    assert (s.answer_precision, s.database_url, s.encoder) == (0.97, "sqlite:///x.db", "fake:8")


def refused(monkeypatch, **env: str):
    """The SettingsError `get_settings()` raises with these TRIAGE_* variables set."""
    import pytest

    from bot.core.errors import SettingsError
    from bot.core.settings import get_settings

    for name, value in env.items():
        monkeypatch.setenv(f"TRIAGE_{name}", value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    return caught.value


def test_a_refused_environment_value_is_one_line_naming_its_variable(monkeypatch):
    from bot.core.errors import TriageError

    error = refused(monkeypatch, ENCODER_PRECISION="int4", ENCODE_BATCH_SIZE="x")
    msg = str(error)
    assert isinstance(error, TriageError) and "\n" not in msg  # the CLI prints it as one line
    assert "TRIAGE_ENCODER_PRECISION: Input should be 'float32' or 'int8' (got 'int4')" in msg
    assert "TRIAGE_ENCODE_BATCH_SIZE" in msg and "(got 'x')" in msg


def test_a_refused_credential_is_not_repeated(monkeypatch):
    msg = str(refused(monkeypatch, RASA_TOKEN="short-tok",  # too weak: refused
                      AGENTS='{"alice": "weak-key"}', ENCODE_BATCH_SIZE="-1"))
    assert msg.startswith("invalid settings: ") and "TRIAGE_ENCODE_BATCH_SIZE" in msg and "(got '-1')" in msg
    assert "TRIAGE_RASA_TOKEN" in msg and "TRIAGE_AGENTS" in msg  # named, but their values not repeated
    assert "short-tok" not in msg and "weak-key" not in msg


def test_a_setting_that_is_not_json_is_named(monkeypatch):
    msg = str(refused(monkeypatch, AGENTS='{"alice": "half-a-key'))
    assert re.search('field "agents".*not valid JSON', msg)
    assert "half-a-key" not in msg
