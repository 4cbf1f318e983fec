"""Settings: defaults < TOML config file < ``TRADETERM_*`` environment < CLI flags.

Why pydantic-settings: one typed model gives validation with the key's name in every error,
env parsing with nested keys (``TRADETERM_BINANCE__SPOT_REST_URL``) and secret types that never
print themselves. Secrets are accepted from the environment or from files that only the owner
can read (mode 0600); there is deliberately no CLI flag for them, because argv is visible to
every user of the machine through ``ps``.
"""

from __future__ import annotations

import os
import stat
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from tradeterm.errors import ConfigError

APP_NAME = "tradeterm"
ENV_PREFIX = "TRADETERM_"
CONFIG_FILE_NAME = "config.toml"


class Profile(StrEnum):
    """Where market data comes from and where orders go. ``live`` is never a default."""

    DEMO = "demo"  # built-in venue, synthetic market, paper account, no network
    PAPER = "paper"  # real market data, paper fills
    TESTNET = "testnet"  # Binance testnets
    LIVE = "live"  # real money


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    return user_config_dir() / CONFIG_FILE_NAME


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BinanceEndpoints(_Section):
    """Every Binance endpoint can be overridden, e.g. to point at ``tradeterm venue`` on loopback.
    ``None`` means: the profile's default (mainnet for paper/live, testnet for testnet)."""

    spot_rest_url: str | None = None
    spot_ws_url: str | None = None
    spot_ws_api_url: str | None = None
    usdm_rest_url: str | None = None
    usdm_ws_url: str | None = None

    @field_validator("*")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an http(s):// or ws(s):// URL")
        return v.rstrip("/") if v else v


_MAINNET = BinanceEndpoints(
    spot_rest_url="https://api.binance.com",
    spot_ws_url="wss://stream.binance.com:9443",
    spot_ws_api_url="wss://ws-api.binance.com:443/ws-api/v3",
    usdm_rest_url="https://fapi.binance.com",
    usdm_ws_url="wss://fstream.binance.com",
)
_TESTNET = BinanceEndpoints(
    spot_rest_url="https://testnet.binance.vision",
    spot_ws_url="wss://stream.testnet.binance.vision",
    spot_ws_api_url="wss://ws-api.testnet.binance.vision/ws-api/v3",
    usdm_rest_url="https://testnet.binancefuture.com",
    usdm_ws_url="wss://fstream.binancefuture.com",
)


class Credentials(_Section):
    """Exchange credentials. Held as secrets: ``repr`` and ``str`` show ``**********``."""

    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    ed25519_private_key_file: Path | None = None
    credentials_file: Path | None = Field(
        default=None, description="TOML file with api_key and api_secret; must be mode 0600"
    )

    @property
    def present(self) -> bool:
        return self.api_key is not None and (self.api_secret is not None or self.ed25519_private_key_file is not None)


class UiSettings(_Section):
    theme: str = "tradeterm-dark"
    max_fps: int = Field(default=30, ge=1, le=60)  # the app refuses more: Textual gains nothing past 60


class DaemonSettings(_Section):
    """The headless daemon's endpoint, control token and shutdown policy.

    The control token protects ``/control/*`` (kill switch, reset, auto-trade): from
    ``TRADETERM_DAEMON__TOKEN`` or ``token_file`` (mode 0600, the token on its first line), never
    a flag. With neither, the control routes are disabled rather than open.
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=0, le=65535)
    token: SecretStr | None = None
    token_file: Path | None = Field(default=None, description="file holding the control token; must be mode 0600")
    cancel_on_stop: bool = Field(default=False, description="on SIGTERM/SIGINT withdraw working entry orders "
                                 "(stops and targets protecting open positions stay)")
    demo_speed: float | None = Field(default=60.0, gt=0, lt=1e6,
                                     description="demo venue speed (market s per wall s); \"max\" = as fast as consumed")
    heartbeat_s: float = Field(default=5.0, gt=0, le=3600, description="seconds between self-checks")
    stale_feed_s: float = Field(default=30.0, gt=0, description="no candle update for this long = stale feed")
    stale_feed_bars: int = Field(default=3, ge=1, description="no closed candle for this many bars = stale feed")

    @field_validator("demo_speed", mode="before")
    @classmethod
    def _speed(cls, v: Any) -> Any:
        return None if isinstance(v, str) and v.strip().lower() in ("max", "null", "none") else v

    @field_validator("token")
    @classmethod
    def _token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value().strip()) < 16:
            raise ValueError("the control token must be at least 16 characters (try: openssl rand -hex 24)")
        return SecretStr(v.get_secret_value().strip()) if v is not None else None

    def control_token(self) -> SecretStr | None:
        """The token (environment first, then ``token_file``), or None when control is disabled.
        Reads the file on each call so a rotated token takes effect without a restart."""
        if self.token is not None:
            return self.token
        if self.token_file is None:
            return None
        path = self.token_file.expanduser()
        _check_private_file(path, "daemon token file")
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"daemon token file {path}: {exc.strerror}") from None
        value = lines[0].strip() if lines else ""
        if len(value) < 16:
            raise ConfigError(f"daemon token file {path}: the token must be at least 16 characters")
        return SecretStr(value)


class Settings(BaseSettings):
    """All of tradeterm's settings. Build it with :func:`load_settings`, not directly."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    profile: Profile = Profile.DEMO
    paper_mode: bool | None = Field(default=None, description="paper fills; defaults to true except testnet/live")
    futures_enabled: bool = False
    data_dir: Path = Field(default_factory=user_data_dir)
    database_url: str | None = Field(default=None, description="sqlite:///… or postgresql://…")
    log_level: str = "INFO"
    symbols: list[str] = Field(default_factory=lambda: ["BTCUSDT", "ETHUSDT", "SOLUSDT"], min_length=1)
    timeframes: list[str] = Field(default_factory=lambda: ["1m", "15m", "1h"], min_length=1)
    binance: BinanceEndpoints = BinanceEndpoints()
    credentials: Credentials = Credentials()
    ui: UiSettings = UiSettings()
    daemon: DaemonSettings = DaemonSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings merges file < environment < CLI flags itself and passes the result as
        # init kwargs, so that the file can sit *under* the environment (pydantic-settings would
        # otherwise rank init kwargs, where a file has to go, above the environment).
        return (init_settings,)

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        level = v.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, v: list[str]) -> list[str]:
        out = [s.strip().upper() for s in v]
        for s in out:
            if not (2 <= len(s) <= 20 and s.isalnum()):
                raise ValueError(f"{s!r} is not a symbol like BTCUSDT")
        return out

    @field_validator("timeframes")
    @classmethod
    def _timeframes(cls, v: list[str]) -> list[str]:
        from tradeterm.contracts import Timeframe

        for tf in v:
            try:
                Timeframe(tf)
            except ValueError:
                raise ValueError(f"{tf!r} is not a Binance interval ({', '.join(t.value for t in Timeframe)})") from None
        return v

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("sqlite:", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return v

    @model_validator(mode="after")
    def _profile_rules(self) -> Settings:
        paper = self.paper_mode
        if paper is None:
            object.__setattr__(self, "paper_mode", self.profile in (Profile.DEMO, Profile.PAPER))
        elif not paper and self.profile in (Profile.DEMO, Profile.PAPER):
            raise ValueError(f"paper_mode=false contradicts profile {self.profile.value!r}, which only paper-trades")
        if self.profile is Profile.LIVE and not self.paper_mode and not self.credentials.present:
            raise ValueError(
                "profile 'live' needs credentials: set TRADETERM_CREDENTIALS__API_KEY and "
                "TRADETERM_CREDENTIALS__API_SECRET, or credentials.credentials_file (mode 0600)"
            )
        return self

    # Derived values -------------------------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tradeterm.db'}"

    @property
    def endpoints(self) -> BinanceEndpoints:
        """Profile defaults with any configured override applied on top."""
        base = _TESTNET if self.profile is Profile.TESTNET else _MAINNET
        overrides = self.binance.model_dump(exclude_none=True)
        return base.model_copy(update=overrides)

    def redacted(self) -> dict[str, Any]:
        """A dict safe to print or log (secrets masked, as SecretStr does)."""
        return self.model_dump(mode="json")


def _check_private_file(path: Path, what: str) -> None:
    """Refuse a secret-bearing file that other users could read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{what} {path} is readable by other users (mode {stat.S_IMODE(mode):04o}); "
            f"it holds secrets, so run: chmod 600 {path}"
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _load_credentials_file(path: Path) -> dict[str, str]:
    _check_private_file(path, "credentials file")
    data = _read_toml(path)
    unknown = set(data) - {"api_key", "api_secret", "ed25519_private_key_file"}
    if unknown:
        raise ConfigError(f"credentials file {path}: unknown key {min(unknown)!r}")
    return data


def _format_validation_error(exc: ValidationError, source: str) -> str:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling)"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    where = f"bad setting {key!r}" if key else "bad settings"
    return f"{where}{source}: {msg}{more}"


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_settings(
    config_file: Path | None = None,
    cli_overrides: dict[str, Any] | None = None,
    *,
    use_default_file: bool = True,
) -> Settings:
    """Assemble settings from every source; raise :class:`ConfigError` naming the key on a problem.

    ``config_file`` is ``--config``; without it the platform's user config file is read if it
    exists. ``TRADETERM_CONFIG`` in the environment names a file too (``--config`` wins).
    """
    path = config_file
    if path is None and os.environ.get(f"{ENV_PREFIX}CONFIG"):
        path = Path(os.environ[f"{ENV_PREFIX}CONFIG"])
    explicit = path is not None
    if path is None and use_default_file:
        candidate = default_config_path()
        path = candidate if candidate.is_file() else None

    file_data: dict[str, Any] = {}
    if path is not None:
        file_data = _read_toml(path.expanduser())
        creds = file_data.get("credentials")
        daemon = file_data.get("daemon")
        if (isinstance(creds, dict) and ("api_secret" in creds or "api_key" in creds)) or (
                isinstance(daemon, dict) and "token" in daemon):
            _check_private_file(path.expanduser(), "config file")
    source = f" in {path}" if explicit or path is not None else ""

    # The environment must beat the file, and CLI flags must beat both. pydantic-settings gives
    # init kwargs the top priority, so the file is applied as a *default layer*: build once from
    # file + env, then overlay CLI flags.
    merged = _deep_merge(_environment_over(file_data), cli_overrides or {})
    creds = merged.get("credentials")
    if isinstance(creds, dict) and creds.get("credentials_file"):
        # Keys from the private file sit under any given explicitly in the environment.
        from_file = _load_credentials_file(Path(str(creds["credentials_file"])).expanduser())
        merged["credentials"] = {**from_file, **creds}
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None
    key_file = settings.credentials.ed25519_private_key_file
    if key_file is not None:
        _check_private_file(key_file.expanduser(), "Ed25519 private key file")
    if settings.daemon.token_file is not None:
        settings.daemon.control_token()  # fail at start, naming the file, not at the first request
    return settings


def _environment_over(file_data: dict[str, Any]) -> dict[str, Any]:
    """Overlay ``TRADETERM_*`` environment values on the TOML data, key by key, parsed by
    pydantic-settings' own env source (nested ``__`` keys, JSON lists) so the rules match its docs."""
    from pydantic_settings import EnvSettingsSource

    env = EnvSettingsSource(Settings, env_prefix=ENV_PREFIX, env_nested_delimiter="__")
    return _deep_merge(file_data, env())
