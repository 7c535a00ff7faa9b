"""Configuration: environment over file, validation with one clear line, secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SETTINGS, Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
BASE_ENV = {
    "TELEGRAM_TOKEN": "123:secret-telegram",
    "ADMIN_CHAT_ID": "-100123",
    "ADMIN_IDS": "1, 2",
    "RESONT_TOKEN": "resont-secret",
}


def test_environment_alone_is_enough(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no config.yaml here
    config = load_config(None, BASE_ENV)
    assert config.telegram_token == "123:secret-telegram"
    assert config.admin_chat_id == -100123
    assert config.admin_ids == (1, 2)
    assert config.telegram_base_url == "https://api.telegram.org"
    assert config.resont_base_url == "https://api.resont.com/token/v1"
    assert config.miogram_url == "https://miogram.net/dojob.php"
    assert config.state_path == "./state.json"
    assert (config.timezone, config.language, config.phone_region) == ("Asia/Tehran", "en", "IR")
    assert (config.poll_seconds, config.approvals_required, config.mass_batch_size) == (60.0, 1, 100)
    assert config.port is None and not config.miogram_enabled
    assert config.approval_remind_minutes == 60


def test_operator_contract_names_are_all_read():
    env = {
        **BASE_ENV,
        "TELEGRAM_BASE_URL": "http://127.0.0.1:9/",
        "AGENT_IDS": "5",
        "AUTHOR_IDS": "6,7",
        "RESONT_BASE_URL": "http://127.0.0.1:8/token/v1",
        "MIOGRAM_SECRET": "mio",
        "MIOGRAM_URL": "http://127.0.0.1:7/dojob.php",
        "STATE_PATH": "/tmp/x.json",
        "TIMEZONE": "Europe/Berlin",
        "LANGUAGE": "fa",
        "PHONE_REGION": "de",
        "POLL_SECONDS": "0.2",
        "APPROVALS_REQUIRED": "2",
        "APPROVAL_REMIND_MINUTES": "0",
        "MASS_BATCH_SIZE": "50",
        "LOG_LEVEL": "DEBUG",
        "PORT": "8080",
        "WEBHOOK_SECRET": "hook",
    }
    c = load_config(None, env)
    assert c.telegram_base_url == "http://127.0.0.1:9"
    assert (c.agent_ids, c.author_ids) == ((5,), (6, 7))
    assert c.resont_base_url == "http://127.0.0.1:8/token/v1"
    assert (c.miogram_secret, c.miogram_url) == ("mio", "http://127.0.0.1:7/dojob.php")
    assert (c.state_path, c.timezone, c.language, c.phone_region) == ("/tmp/x.json", "Europe/Berlin", "fa", "DE")
    assert (c.poll_seconds, c.approvals_required, c.mass_batch_size) == (0.2, 2, 50)
    assert c.approval_remind_minutes == 0
    assert (c.log_level, c.port, c.webhook_secret) == ("debug", 8080, "hook")


def test_environment_overrides_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("telegram_token: from-file\nadmin_chat_id: 5\nadmin_ids: [9]\nresont_token: t\npoll_seconds: 30\n")
    config = load_config(path, {"POLL_SECONDS": "5"})
    assert config.telegram_token == "from-file"
    assert config.admin_ids == (9,)
    assert config.poll_seconds == 5.0


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"TELEGRAM_TOKEN": ""}, "TELEGRAM_TOKEN is not set"),
        ({"ADMIN_CHAT_ID": "group"}, "ADMIN_CHAT_ID must be a whole number"),
        ({"ADMIN_IDS": "1,x"}, "ADMIN_IDS must be comma-separated Telegram user ids"),
        ({"POLL_SECONDS": "-1"}, "POLL_SECONDS must be a positive number"),
        ({"POLL_SECONDS": "nan"}, "POLL_SECONDS must be a positive number"),
        ({"MASS_BATCH_SIZE": "250"}, "MASS_BATCH_SIZE must be between 1 and 100"),
        ({"LANGUAGE": "de"}, "LANGUAGE must be one of en, fa"),
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE must be an IANA time zone"),
        ({"TELEGRAM_BASE_URL": "ftp://x"}, "TELEGRAM_BASE_URL must be an http"),
        ({"RESONT_TOKEN": ""}, "RESONT_TOKEN is not set"),
        ({"PORT": "8080"}, "WEBHOOK_SECRET"),
        ({"APPROVAL_REMIND_MINUTES": "-5"}, "APPROVAL_REMIND_MINUTES must be between 0 and 10080"),
        ({"APPROVAL_REMIND_MINUTES": "soon"}, "APPROVAL_REMIND_MINUTES must be a whole number"),
    ],
)
def test_bad_values_name_the_setting(env, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(None, {**BASE_ENV, **env})
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert "secret-telegram" not in message


def test_yaml_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("telegram_token: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad, BASE_ENV)
    typo = tmp_path / "typo.yaml"
    typo.write_text("admin_chat: 5\n")
    with pytest.raises(ConfigError, match="unknown setting 'admin_chat'"):
        load_config(typo, BASE_ENV)
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml", BASE_ENV)
    wrong_type = tmp_path / "wrong.yaml"
    wrong_type.write_text("approvals_required: [1, 2]\n")
    with pytest.raises(ConfigError, match="APPROVALS_REQUIRED"):
        load_config(wrong_type, BASE_ENV)


def test_secrets_never_in_repr_or_errors():
    env = {**BASE_ENV, "MIOGRAM_SECRET": "mio-very-secret", "WEBHOOK_SECRET": "hook-secret", "PORT": "1"}
    config = load_config(None, env)
    shown = repr(config) + str(config) + str(config.redacted())
    for secret in ("123:secret-telegram", "resont-secret", "mio-very-secret", "hook-secret"):
        assert secret not in shown
        assert secret in config.secrets()
    assert all(s.secret for s in SETTINGS if "token" in s.name or "secret" in s.name)


def _run_bot(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ["PATH"], "HOME": str(cwd), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_m_bot_without_token_exits_with_one_line(tmp_path):
    result = _run_bot({}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_m_bot_with_bad_type_exits_with_one_line(tmp_path):
    result = _run_bot({**BASE_ENV, "APPROVALS_REQUIRED": "two"}, tmp_path)
    assert result.returncode == 2
    assert "APPROVALS_REQUIRED must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr and "secret-telegram" not in result.stderr


def test_python_m_bot_unreachable_bot_api_exits_clearly(tmp_path):
    env = {**BASE_ENV, "TELEGRAM_BASE_URL": "http://127.0.0.1:9", "STATE_PATH": str(tmp_path / "s.json")}
    result = _run_bot(env, tmp_path)
    assert result.returncode == 3, result.stderr
    assert "cannot reach the Bot API at http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr and "secret-telegram" not in result.stderr


def test_config_dataclass_defaults_match_settings():
    fields = Config.__dataclass_fields__
    for setting in SETTINGS:
        assert setting.name in fields
        if not setting.required:
            assert fields[setting.name].default == setting.default, setting.name
