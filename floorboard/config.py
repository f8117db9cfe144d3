"""One typed settings object, built once from the environment.

Every entry point calls :func:`load_settings` (or receives a ``Settings``); nothing else in the
project reads ``os.environ``. A bad value fails at start with a message naming the variable.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "FLOORBOARD_"

# The same names as staffing.SL_FORMULAS (a test keeps them equal); copied so that reading
# settings does not import scipy.
SL_FORMULAS = (
    "excl_short",
    "of_answered",
    "abandon_within_t_good",
    "excl_abandon_after_t",
    "of_offered",
)
MODELS = ("erlang_a", "erlang_c")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


def mask_url(url: str | None) -> str | None:
    """The URL with any password replaced by ``***`` (safe for logs and reprs)."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """Per-queue settings: targets, thresholds and how service level is computed."""

    id: str
    name: str = ""
    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    sl_target: float = 0.80
    sl_formula: str = "excl_short"
    model: str = "erlang_a"
    # Wallboard colour thresholds. SL below warning → amber, below critical → red;
    # longest wait above the limits likewise.
    sl_warning: float = 0.80
    sl_critical: float = 0.70
    wait_warning_s: float = 60.0
    wait_critical_s: float = 120.0
    groups: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.id

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["groups"] = list(self.groups)
        return out


_QUEUE_FIELDS = {f.name: f for f in fields(QueueConfig)}


def _coerce(where: str, key: str, value: Any) -> Any:
    if key not in _QUEUE_FIELDS or key == "id":
        raise ConfigError(f"{where}: unknown setting {key!r}")
    if key in ("name", "sl_formula", "model"):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
        return value
    if key == "groups":
        if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
            raise ConfigError(f"{where}: groups must be a list of names, got {value!r}")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}: {key} must not be negative, got {value!r}")
    return float(value)


def _queue_from_mapping(queue_id: str, raw: Mapping[str, Any], base: QueueConfig) -> QueueConfig:
    where = f"queue {queue_id!r} in FLOORBOARD_QUEUES_FILE"
    values = {key: _coerce(where, key, value) for key, value in raw.items()}
    cfg = replace(base, id=queue_id, **values)
    if cfg.sl_formula not in SL_FORMULAS:
        raise ConfigError(f"{where}: sl_formula {cfg.sl_formula!r} is not one of {SL_FORMULAS}")
    if cfg.model not in MODELS:
        raise ConfigError(f"{where}: model {cfg.model!r} is not one of {MODELS}")
    for key in ("sl_target", "sl_warning", "sl_critical"):
        if not 0 <= getattr(cfg, key) <= 1:
            raise ConfigError(f"{where}: {key} must be a fraction in [0, 1]")
    return cfg


@functools.lru_cache(maxsize=65_536)
def _defaults_for(defaults: QueueConfig, queue_id: str) -> QueueConfig:
    # Called per event and per queue per tick: build each unconfigured queue's config once.
    return replace(defaults, id=queue_id)


@dataclass(frozen=True, slots=True)
class QueuesConfig:
    """The queues file: defaults plus per-queue overrides. Unknown queues get the defaults."""

    defaults: QueueConfig = field(default_factory=lambda: QueueConfig(id="*"))
    queues: Mapping[str, QueueConfig] = field(default_factory=dict)

    def get(self, queue_id: str) -> QueueConfig:
        cfg = self.queues.get(queue_id)
        return cfg if cfg is not None else _defaults_for(self.defaults, queue_id)

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for q in self.queues.values():
            for g in q.groups:
                out.setdefault(g, []).append(q.id)
        return out

    @classmethod
    def from_toml(cls, text: str) -> QueuesConfig:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"FLOORBOARD_QUEUES_FILE is not valid TOML: {exc}") from exc
        unknown = set(data) - {"defaults", "queues"}
        if unknown:
            raise ConfigError(f"FLOORBOARD_QUEUES_FILE: unknown sections {sorted(unknown)}")
        defaults = _queue_from_mapping("*", data.get("defaults", {}), QueueConfig(id="*"))
        queues = {
            qid: _queue_from_mapping(qid, raw, defaults)
            for qid, raw in data.get("queues", {}).items()
        }
        return cls(defaults=defaults, queues=queues)


@dataclass(frozen=True, slots=True)
class Settings:
    """All settings. Build with :func:`load_settings`; tests pass a mapping."""

    redis_url: str | None = None  # None: the demo starts an embedded Redis
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_topic: str = "floorboard/events/#"
    interval_min: int = 15
    tick_s: float = 2.0
    timezone: str = "UTC"
    queues_file: Path | None = None
    history_url: str = "sqlite:///floorboard-history.db"
    web_host: str = "127.0.0.1"
    web_port: int = 8050
    key_prefix: str = "fb:v1"
    late_tolerance_s: float = 300.0
    future_tolerance_s: float = 300.0
    queues: QueuesConfig = field(default_factory=QueuesConfig)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def interval_s(self) -> int:
        return self.interval_min * 60

    @property
    def redis_url_or_default(self) -> str:
        return self.redis_url or "redis://127.0.0.1:6379/0"

    def __repr__(self) -> str:  # secrets masked
        return (
            f"Settings(redis_url={mask_url(self.redis_url)!r}, mqtt_url={mask_url(self.mqtt_url)!r}, "
            f"interval_min={self.interval_min}, tick_s={self.tick_s}, timezone={self.timezone!r}, "
            f"history_url={mask_url(self.history_url)!r}, key_prefix={self.key_prefix!r}, "
            f"queues={len(self.queues.queues)} configured)"
        )


def _number(env: Mapping[str, str], name: str, default: float, *, lo: float, hi: float) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not a number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{PREFIX}{name}={raw!r} must be between {lo:g} and {hi:g}")
    return value


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(PREFIX + name) or None
    if raw is not None and urlsplit(raw).scheme not in schemes:
        raise ConfigError(f"{PREFIX}{name}={mask_url(raw)!r} must start with one of {schemes}")
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``FLOORBOARD_*`` variables (``os.environ`` by default)."""
    env = os.environ if env is None else env
    known = {PREFIX + f.name.upper() for f in fields(Settings)} | {PREFIX + "QUEUES_FILE"}
    unknown = sorted(k for k in env if k.startswith(PREFIX) and k not in known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown}; known: {sorted(known)}")

    interval_min = _number(env, "INTERVAL_MIN", 15, lo=15, hi=30)
    if interval_min not in (15, 30):
        raise ConfigError(f"{PREFIX}INTERVAL_MIN={env[PREFIX + 'INTERVAL_MIN']!r} must be 15 or 30")
    timezone = env.get(PREFIX + "TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{PREFIX}TIMEZONE={timezone!r} is not a known IANA time zone") from None

    queues = QueuesConfig()
    queues_file = env.get(PREFIX + "QUEUES_FILE") or None
    if queues_file:
        path = Path(queues_file)
        try:
            queues = QueuesConfig.from_toml(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{PREFIX}QUEUES_FILE={queues_file!r} cannot be read: {exc}") from None

    prefix = env.get(PREFIX + "KEY_PREFIX") or "fb:v1"
    if any(c in prefix for c in "{} \t\n"):
        raise ConfigError(f"{PREFIX}KEY_PREFIX={prefix!r} must not contain braces or spaces")

    return Settings(
        redis_url=_url(env, "REDIS_URL", ("redis", "rediss", "unix")),
        mqtt_url=_url(env, "MQTT_URL", ("mqtt", "mqtts")) or "mqtt://127.0.0.1:1883",
        mqtt_topic=env.get(PREFIX + "MQTT_TOPIC") or "floorboard/events/#",
        interval_min=int(interval_min),
        tick_s=_number(env, "TICK_S", 2.0, lo=0.2, hi=60),
        timezone=timezone,
        queues_file=Path(queues_file) if queues_file else None,
        history_url=env.get(PREFIX + "HISTORY_URL") or "sqlite:///floorboard-history.db",
        web_host=env.get(PREFIX + "WEB_HOST") or "127.0.0.1",
        web_port=int(_number(env, "WEB_PORT", 8050, lo=1, hi=65535)),
        key_prefix=prefix,
        late_tolerance_s=_number(env, "LATE_TOLERANCE_S", 300, lo=0, hi=86400),
        future_tolerance_s=_number(env, "FUTURE_TOLERANCE_S", 300, lo=0, hi=86400),
        queues=queues,
    )
