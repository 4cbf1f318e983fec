from __future__ import annotations

import os
from pathlib import Path

import pytest

from tradeterm.config import Profile, load_settings
from tradeterm.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("TRADETERM_"):
            monkeypatch.delenv(key)
    # Never read the developer's real config file.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_defaults_are_demo_and_paper() -> None:
    s = load_settings()
    assert s.profile is Profile.DEMO
    assert s.paper_mode is True
    assert s.futures_enabled is False
    assert s.effective_database_url.startswith("sqlite:///") and s.effective_database_url.endswith("tradeterm.db")


def test_precedence_file_env_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path / "c.toml", 'profile = "paper"\nlog_level = "DEBUG"\nfutures_enabled = true\n'
                '[binance]\nspot_rest_url = "http://127.0.0.1:1111"\nusdm_rest_url = "http://127.0.0.1:2222"\n')
    s = load_settings(cfg)
    assert (s.profile, s.log_level, s.futures_enabled) == (Profile.PAPER, "DEBUG", True)
    monkeypatch.setenv("TRADETERM_LOG_LEVEL", "warning")
    monkeypatch.setenv("TRADETERM_BINANCE__SPOT_REST_URL", "http://127.0.0.1:3333")
    s = load_settings(cfg)
    assert s.log_level == "WARNING"  # env beats file
    assert s.endpoints.spot_rest_url == "http://127.0.0.1:3333"
    assert s.endpoints.usdm_rest_url == "http://127.0.0.1:2222"  # file key kept beside env key
    s = load_settings(cfg, {"log_level": "ERROR", "profile": "demo"})
    assert (s.log_level, s.profile) == ("ERROR", Profile.DEMO)  # CLI beats env and file


def test_default_user_config_file_is_read(tmp_path: Path) -> None:
    cfg_dir = tmp_path / "xdg-config" / "tradeterm"
    cfg_dir.mkdir(parents=True)
    write(cfg_dir / "config.toml", 'symbols = ["btcusdt"]\n')
    assert load_settings().symbols == ["BTCUSDT"]


def test_testnet_endpoints_and_paper_mode() -> None:
    s = load_settings(cli_overrides={"profile": "testnet"})
    assert s.paper_mode is False
    assert "testnet" in (s.endpoints.spot_rest_url or "")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('profile = "moon"\n', "'profile'"),
        ("symbolz = 1\n", "'symbolz'"),
        ('timeframes = ["7m"]\n', "'7m' is not a Binance interval"),
        ('log_level = "LOUD"\n', "'log_level'"),
        ('[binance]\nspot_rest_url = "ftp://x"\n', "'binance.spot_rest_url'"),
        ('database_url = "mysql://x"\n', "'database_url'"),
        ("[ui]\nmax_fps = 0\n", "'ui.max_fps'"),
        ("[ui]\nmax_fps = 90\n", "'ui.max_fps'"),
        ('profile = "demo"\npaper_mode = false\n', "paper_mode=false contradicts"),
        ('profile = "live"\n', "needs credentials"),
        ("not = [valid toml", "not valid TOML"),
    ],
)
def test_bad_config_names_key_and_problem(tmp_path: Path, text: str, words: str) -> None:
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert words in str(info.value)
    assert str(cfg) in str(info.value)


def test_bad_env_value_names_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADETERM_FUTURES_ENABLED", "perhaps")
    with pytest.raises(ConfigError, match="'futures_enabled'"):
        load_settings()


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_from_env_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADETERM_CREDENTIALS__API_KEY", "AKIAKEYVALUE123")
    monkeypatch.setenv("TRADETERM_CREDENTIALS__API_SECRET", "s3cr3t-value-xyz")
    s = load_settings(cli_overrides={"profile": "live"})
    assert s.credentials.api_secret is not None
    assert s.credentials.api_secret.get_secret_value() == "s3cr3t-value-xyz"
    for text in (repr(s), str(s), str(s.redacted())):
        assert "s3cr3t-value-xyz" not in text and "AKIAKEYVALUE123" not in text


def test_credentials_file_must_be_private(tmp_path: Path) -> None:
    creds = write(tmp_path / "creds.toml", 'api_key = "k123456"\napi_secret = "s3cr3t-file"\n', mode=0o644)
    cfg = write(tmp_path / "c.toml", f'profile = "live"\n[credentials]\ncredentials_file = "{creds}"\n')
    with pytest.raises(ConfigError, match="chmod 600"):
        load_settings(cfg)
    creds.chmod(0o600)
    s = load_settings(cfg)  # live is satisfied by keys that come from the private file
    assert s.credentials.api_secret is not None and s.credentials.api_secret.get_secret_value() == "s3cr3t-file"
    bad = write(tmp_path / "bad.toml", 'api_key = "k"\nsecret = "oops"\n')
    cfg2 = write(tmp_path / "c2.toml", f'[credentials]\ncredentials_file = "{bad}"\n')
    with pytest.raises(ConfigError, match="unknown key 'secret'"):
        load_settings(cfg2)


def test_secret_in_world_readable_config_is_refused(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[credentials]\napi_key = "k1234567"\napi_secret = "zzz-secret"\n', mode=0o644)
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert "readable by other users" in str(info.value) and "zzz-secret" not in str(info.value)


def test_ed25519_key_file_must_be_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = write(tmp_path / "ed.pem", "-----BEGIN PRIVATE KEY-----\n", mode=0o640)
    monkeypatch.setenv("TRADETERM_CREDENTIALS__ED25519_PRIVATE_KEY_FILE", str(key))
    with pytest.raises(ConfigError, match="Ed25519 private key file"):
        load_settings()


def test_daemon_token_from_env_or_private_file_never_in_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "env-token-0123456789abcdef"
    monkeypatch.setenv("TRADETERM_DAEMON__TOKEN", token)
    s = load_settings()
    assert s.daemon.control_token().get_secret_value() == token  # type: ignore[union-attr]
    assert token not in repr(s) and token not in str(s.redacted())
    assert s.daemon.cancel_on_stop is False and s.daemon.demo_speed == 60.0
    monkeypatch.setenv("TRADETERM_DAEMON__TOKEN", "short")
    with pytest.raises(ConfigError, match="'daemon.token'.*at least 16") as exc:
        load_settings()
    assert "short" not in str(exc.value)
    monkeypatch.delenv("TRADETERM_DAEMON__TOKEN")
    f = write(tmp_path / "tok", "file-token-0123456789abcdef\n", mode=0o640)
    monkeypatch.setenv("TRADETERM_DAEMON__TOKEN_FILE", str(f))
    with pytest.raises(ConfigError, match="daemon token file .* readable by other users"):
        load_settings()  # refused at start, not at the first request
    f.chmod(0o600)
    assert load_settings().daemon.control_token().get_secret_value() == "file-token-0123456789abcdef"  # type: ignore[union-attr]


def test_daemon_token_in_a_shared_config_file_is_refused(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[daemon]\ntoken = "file-token-0123456789abcdef"\ncancel_on_stop = true\n', mode=0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        load_settings(cfg)
    cfg.chmod(0o600)
    s = load_settings(cfg)
    assert s.daemon.cancel_on_stop is True


def test_daemon_demo_speed_and_heartbeat_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADETERM_DAEMON__DEMO_SPEED", "0")
    with pytest.raises(ConfigError, match="'daemon.demo_speed'"):
        load_settings()
    monkeypatch.setenv("TRADETERM_DAEMON__DEMO_SPEED", "max")
    assert load_settings().daemon.demo_speed is None  # as fast as the consumers take it
    monkeypatch.setenv("TRADETERM_DAEMON__HEARTBEAT_S", "-1")
    with pytest.raises(ConfigError, match="'daemon.heartbeat_s'"):
        load_settings()
