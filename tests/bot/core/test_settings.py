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
