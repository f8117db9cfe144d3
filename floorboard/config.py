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
# Alert rules (docs/alerts.md); realtime.alerts evaluates them. Queue rules can be switched off
# per queue with ``alert_rules_off``.
ALERT_QUEUE_RULES = ("sl_below_target", "longest_wait_above", "waiting_above", "no_agent_available")
ALERT_RULES = (*ALERT_QUEUE_RULES, "agent_exception")
ALERT_SL_PERIODS = ("today", "interval")


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
    # Alerts (docs/alerts.md): SL of the period below sl_target once it has alert_min_offered
    # calls; longest wait above alert_longest_wait_s; more than alert_waiting_above callers.
    alerts_enabled: bool = True
    alert_sl_period: str = "today"
    alert_min_offered: float = 20.0
    alert_longest_wait_s: float = 120.0
    alert_waiting_above: float = 10.0
    alert_rules_off: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.id

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["groups"] = list(self.groups)
        out["alert_rules_off"] = list(self.alert_rules_off)
        return out


_QUEUE_FIELDS = {f.name: f for f in fields(QueueConfig)}


def _coerce(where: str, key: str, value: Any) -> Any:
    if key not in _QUEUE_FIELDS or key == "id":
        raise ConfigError(f"{where}: unknown setting {key!r}")
    if key in ("name", "sl_formula", "model", "alert_sl_period"):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
        return value
    if key in ("groups", "alert_rules_off"):
        if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
            raise ConfigError(f"{where}: {key} must be a list of names, got {value!r}")
        return tuple(value)
    if key == "alerts_enabled":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
        return value
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
    if cfg.alert_sl_period not in ALERT_SL_PERIODS:
        raise ConfigError(f"{where}: alert_sl_period {cfg.alert_sl_period!r} is not one of {ALERT_SL_PERIODS}")
    for rule in cfg.alert_rules_off:
        if rule not in ALERT_QUEUE_RULES:
            raise ConfigError(f"{where}: alert_rules_off: {rule!r} is not one of {ALERT_QUEUE_RULES}")
    return cfg


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """The ``[alerts]`` section of the queues file: what applies to every alert (docs/alerts.md)."""

    cooldown_s: float = 300.0  # a resolved rule + subject does not reopen within this
    quiet_hours: tuple[int, int] | None = None  # local minutes of the day [start, end): no webhooks
    agent_min_severity: str = "warning"  # agent exceptions below this open no alert
    # rule (or "*" for every rule) → webhook URLs. Kept out of the repr: such URLs are secrets.
    webhooks: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    webhook_timeout_s: float = 5.0
    webhook_retries: int = 4


def _hhmm(where: str, text: str) -> int:
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ConfigError(f"{where}: {text!r} is not a time of day HH:MM")
    return int(hours) * 60 + int(minutes)


def _alerts_from_mapping(raw: Mapping[str, Any]) -> AlertsConfig:
    where = "[alerts] in FLOORBOARD_QUEUES_FILE"
    known = {f.name for f in fields(AlertsConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {unknown}")
    values: dict[str, Any] = {}
    for key in ("cooldown_s", "webhook_timeout_s", "webhook_retries"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{where}: {key} must be a non-negative number, got {value!r}")
            values[key] = int(value) if key == "webhook_retries" else float(value)
    if raw.get("quiet_hours"):
        text = raw["quiet_hours"]
        start, sep, end = str(text).partition("-")
        if not isinstance(text, str) or not sep:
            raise ConfigError(f"{where}: quiet_hours must look like \"22:00-07:00\", got {text!r}")
        values["quiet_hours"] = (_hhmm(where + " quiet_hours", start), _hhmm(where + " quiet_hours", end))
    if "agent_min_severity" in raw:
        if raw["agent_min_severity"] not in ("warning", "critical"):
            raise ConfigError(f"{where}: agent_min_severity must be \"warning\" or \"critical\"")
        values["agent_min_severity"] = raw["agent_min_severity"]
    values["webhooks"] = _webhooks(where, raw.get("webhooks", {}))
    return AlertsConfig(**values)


def _webhooks(where: str, hooks: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(hooks, Mapping):
        raise ConfigError(f"{where}: webhooks must be a table of rule = [URLs]")
    out: dict[str, tuple[str, ...]] = {}
    for rule, urls in hooks.items():
        if rule != "*" and rule not in ALERT_RULES:
            raise ConfigError(f"{where}: webhooks: {rule!r} is not \"*\" or one of {ALERT_RULES}")
        listed = [urls] if isinstance(urls, str) else urls
        if not isinstance(listed, list) or not all(isinstance(u, str) and urlsplit(u).scheme in ("http", "https") for u in listed):
            raise ConfigError(f"{where}: webhooks.{rule} must be a list of http(s) URLs")
        out[rule] = tuple(listed)
    return out


# Adherence (docs/adherence.md). The [adherence] section only overrides the defaults, which
# live in staffing.adherence; the default names and settings are copied here so that reading
# settings does not import scipy (a unit test keeps them equal).
ADHERENCE_DEFAULT_ACTIVITIES = ("open", "phone", "break", "lunch", "meeting", "training", "off")
ADHERENCE_STATES = ("logged_out", "available", "on_call", "acw")  # aux adheres via aux_reasons
_ACTIVITY_KEYS = ("states", "aux_reasons", "grace_s", "phone")


@dataclass(frozen=True, slots=True)
class AdherenceConfig:
    """The ``[adherence]`` section of the queues file: the state mapping's overrides."""

    call_may_finish: bool = True  # an agent on a call when a break starts may finish it (and its ACW)
    critical_after_s: float = 600.0  # an exception turns critical this long after its grace
    # activity name → the fields it sets (states, aux_reasons: tuples; grace_s; phone)
    activities: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def activity_names(self) -> tuple[str, ...]:
        """Every activity a schedule may use: the defaults and the ones added here."""
        added = tuple(n for n in self.activities if n not in ADHERENCE_DEFAULT_ACTIVITIES)
        return ADHERENCE_DEFAULT_ACTIVITIES + added


def _names(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where} must be a list of names, got {value!r}")
    return tuple(value)


def _adherence_states(where: str, value: Any) -> tuple[str, ...]:
    states = _names(where, value)
    if "aux" in states:
        raise ConfigError(f"{where}: aux adheres through aux_reasons (\"*\" for any reason)")
    bad = [s for s in states if s not in ADHERENCE_STATES]
    if bad:
        raise ConfigError(f"{where}: {bad} are not among {ADHERENCE_STATES}")
    return states


def _activity_from_mapping(where: str, name: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table")
    if not (name[:1].isalpha() and name.isascii() and name == name.lower()
            and all(c.isalnum() or c in "_-" for c in name)):
        raise ConfigError(f"{where}: activity names are lower-case letters, digits, _ and -")
    unknown = sorted(set(raw) - set(_ACTIVITY_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {unknown}; known: {list(_ACTIVITY_KEYS)}")
    out: dict[str, Any] = {}
    if "states" in raw:
        out["states"] = _adherence_states(f"{where}.states", raw["states"])
    if "aux_reasons" in raw:
        out["aux_reasons"] = _names(f"{where}.aux_reasons", raw["aux_reasons"])
    if "grace_s" in raw:
        grace = raw["grace_s"]
        if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 <= grace <= 86_400:
            raise ConfigError(f"{where}.grace_s must be a number of seconds in [0, 86400], got {grace!r}")
        out["grace_s"] = float(grace)
    if "phone" in raw:
        if not isinstance(raw["phone"], bool):
            raise ConfigError(f"{where}.phone must be true or false, got {raw['phone']!r}")
        out["phone"] = raw["phone"]
    if name not in ADHERENCE_DEFAULT_ACTIVITIES and not (out.get("states") or out.get("aux_reasons")):
        raise ConfigError(f"{where}: a new activity needs states or aux_reasons (nothing would adhere to it)")
    return out


def _adherence_from_mapping(raw: Mapping[str, Any]) -> AdherenceConfig:
    where = "[adherence] in FLOORBOARD_QUEUES_FILE"
    unknown = sorted(set(raw) - {"call_may_finish", "critical_after_s", "activities"})
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {unknown}")
    values: dict[str, Any] = {}
    if "call_may_finish" in raw:
        if not isinstance(raw["call_may_finish"], bool):
            raise ConfigError(f"{where}: call_may_finish must be true or false, got {raw['call_may_finish']!r}")
        values["call_may_finish"] = raw["call_may_finish"]
    if "critical_after_s" in raw:
        value = raw["critical_after_s"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86_400:
            raise ConfigError(f"{where}: critical_after_s must be a number of seconds in [0, 86400], got {value!r}")
        values["critical_after_s"] = float(value)
    table = raw.get("activities", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: activities must be a table of [adherence.activities.NAME] tables")
    values["activities"] = {name: _activity_from_mapping(f"{where}: activities.{name}", name, body)
                            for name, body in table.items()}
    return AdherenceConfig(**values)


# Intraday (docs/intraday.md): the reforecast, the history baseline, what roster actions may
# offer, and the firefighting page's peak window. The [intraday] section overrides these.
@dataclass(frozen=True, slots=True)
class IntradayConfig:
    """The ``[intraday]`` section of the queues file."""

    firefight_window: tuple[tuple[int, int], ...] = ((600, 720), (840, 960))  # local minutes [start, end)
    half_life_intervals: float = 4.0  # the reforecast's recency weight halves every this many intervals
    min_closed: int = 4  # closed intervals needed before the trend ratio is used
    volume_cap: tuple[float, float] = (0.5, 2.0)
    aht_cap: tuple[float, float] = (0.5, 2.0)
    baseline_weeks: int = 6  # a day without a forecast: the same weekday of this many past weeks
    baseline_min_days: int = 3  # ... known on at least this many of them
    overtime_before_min: float = 30.0  # overtime an action may offer before a shift
    overtime_after_min: float = 60.0  # ... and after it
    vto: bool = True  # actions may offer voluntary time off where a queue is over-staffed


def _window(where: str, text: Any) -> tuple[tuple[int, int], ...]:
    if not isinstance(text, str):
        raise ConfigError(f'{where} must look like "10:00-12:00,14:00-16:00", got {text!r}')
    out = []
    for part in (p for p in text.split(",") if p.strip()):
        start, sep, end = part.partition("-")
        if not sep:
            raise ConfigError(f'{where} must look like "10:00-12:00,14:00-16:00", got {text!r}')
        out.append((_hhmm(where, start), _hhmm(where, end)))
    return tuple(out)


def _intraday_number(where: str, key: str, v: Any) -> float | int | tuple[float, float] | bool:
    if key in ("min_closed", "baseline_weeks", "baseline_min_days"):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 52:
            raise ConfigError(f"{where}: {key} must be a whole number in [1, 52], got {v!r}")
        return v
    if key in ("volume_cap", "aht_cap"):
        if (not isinstance(v, list) or len(v) != 2 or any(isinstance(x, bool) or not isinstance(x, int | float) for x in v)
                or not 0 < v[0] <= 1 <= v[1]):
            raise ConfigError(f"{where}: {key} must be [low, high] with 0 < low <= 1 <= high, got {v!r}")
        return float(v[0]), float(v[1])
    if key == "vto":
        if not isinstance(v, bool):
            raise ConfigError(f"{where}: vto must be true or false, got {v!r}")
        return v
    low = 1e-3 if key == "half_life_intervals" else 0.0
    if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= 24 * 60:
        raise ConfigError(f"{where}: {key} must be a number in [{low:g}, 1440], got {v!r}")
    return float(v)


def _intraday_from_mapping(raw: Mapping[str, Any]) -> IntradayConfig:
    where = "[intraday] in FLOORBOARD_QUEUES_FILE"
    unknown = sorted(set(raw) - {f.name for f in fields(IntradayConfig)})
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {unknown}")
    values: dict[str, Any] = {key: _intraday_number(where, key, v) for key, v in raw.items() if key != "firefight_window"}
    if "firefight_window" in raw:
        values["firefight_window"] = _window(f"{where}: firefight_window", raw["firefight_window"])
    return IntradayConfig(**values)


@functools.lru_cache(maxsize=65_536)
def _defaults_for(defaults: QueueConfig, queue_id: str) -> QueueConfig:
    # Called per event and per queue per tick: build each unconfigured queue's config once.
    return replace(defaults, id=queue_id)


@dataclass(frozen=True, slots=True)
class QueuesConfig:
    """The queues file: defaults plus per-queue overrides. Unknown queues get the defaults."""

    defaults: QueueConfig = field(default_factory=lambda: QueueConfig(id="*"))
    queues: Mapping[str, QueueConfig] = field(default_factory=dict)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    adherence: AdherenceConfig = field(default_factory=AdherenceConfig)
    intraday: IntradayConfig = field(default_factory=IntradayConfig)

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
        unknown = set(data) - {"defaults", "queues", "alerts", "adherence", "intraday"}
        if unknown:
            raise ConfigError(f"FLOORBOARD_QUEUES_FILE: unknown sections {sorted(unknown)}")
        defaults = _queue_from_mapping("*", data.get("defaults", {}), QueueConfig(id="*"))
        queues = {
            qid: _queue_from_mapping(qid, raw, defaults)
            for qid, raw in data.get("queues", {}).items()
        }
        return cls(defaults=defaults, queues=queues, alerts=_alerts_from_mapping(data.get("alerts", {})),
                   adherence=_adherence_from_mapping(data.get("adherence", {})),
                   intraday=_intraday_from_mapping(data.get("intraday", {})))


# Access control (docs/security.md). Environment names, without the prefix.
AUTH_ENV = ("SECRET_KEY", "USERS_FILE", "COOKIE_SECURE", "SESSION_MAX_H", "SESSION_IDLE_MIN",
            "AUTH_PROXY_HEADER", "AUTH_PROXY_ROLE_HEADER", "TRUSTED_PROXIES")
MIN_SECRET_KEY_CHARS = 32


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Sign-in, sessions and the trusted proxy header. The secret key is never in a repr."""

    secret_key: str | None = field(default=None, repr=False)  # signs session cookies and kiosk links
    users_file: Path | None = None  # JSON: local users and API tokens (floorboard users / tokens)
    cookie_secure: bool | None = None  # None: on unless the listen host is loopback
    session_max_h: float = 12.0  # absolute session lifetime
    session_idle_min: float = 60.0  # a session unused this long ends
    proxy_header: str | None = None  # user name from a trusted reverse proxy (single sign-on)
    proxy_role_header: str | None = None  # role from the proxy too, for users not in the users file
    trusted_proxies: tuple[str, ...] = ()  # addresses/CIDRs whose proxy headers are believed


@dataclass(frozen=True, slots=True)
class Settings:
    """All settings. Build with :func:`load_settings`; tests pass a mapping."""

    redis_url: str | None = None  # None: the demo starts an embedded Redis
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_topic: str = "floorboard/events/#"
    interval_min: int = 15
    tick_s: float = 2.0
    timezone: str = "UTC"
    # Whether FLOORBOARD_TIMEZONE was given: without it the demo runs its center where it is open.
    timezone_configured: bool = False
    queues_file: Path | None = None
    history_url: str = "sqlite:///floorboard-history.db"
    web_host: str = "127.0.0.1"
    web_port: int = 8050
    key_prefix: str = "fb:v1"
    late_tolerance_s: float = 300.0
    future_tolerance_s: float = 300.0
    queues: QueuesConfig = field(default_factory=QueuesConfig)
    auth: AuthSettings = field(default_factory=AuthSettings)

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


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    raw = (env.get(PREFIX + name) or "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{PREFIX}{name}={raw!r} must be 1/true/yes/on or 0/false/no/off")


def _auth_settings(env: Mapping[str, str]) -> AuthSettings:
    import ipaddress

    secret = env.get(PREFIX + "SECRET_KEY") or None
    if secret is not None and len(secret) < MIN_SECRET_KEY_CHARS:
        # The value itself is never echoed: it is a secret.
        raise ConfigError(f"{PREFIX}SECRET_KEY must be at least {MIN_SECRET_KEY_CHARS} characters "
                          "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
    proxies = tuple(p.strip() for p in (env.get(PREFIX + "TRUSTED_PROXIES") or "").split(",") if p.strip())
    for p in proxies:
        try:
            ipaddress.ip_network(p, strict=False)
        except ValueError:
            raise ConfigError(f"{PREFIX}TRUSTED_PROXIES: {p!r} is not an IP address or CIDR") from None
    header = (env.get(PREFIX + "AUTH_PROXY_HEADER") or "").strip() or None
    role_header = (env.get(PREFIX + "AUTH_PROXY_ROLE_HEADER") or "").strip() or None
    if (header or role_header) and not proxies:
        raise ConfigError(f"{PREFIX}AUTH_PROXY_HEADER needs {PREFIX}TRUSTED_PROXIES: the addresses of "
                          "the proxies allowed to set it")
    if role_header and not header:
        raise ConfigError(f"{PREFIX}AUTH_PROXY_ROLE_HEADER needs {PREFIX}AUTH_PROXY_HEADER")
    users_file = env.get(PREFIX + "USERS_FILE") or None
    return AuthSettings(
        secret_key=secret,
        users_file=Path(users_file) if users_file else None,
        cookie_secure=_flag(env, "COOKIE_SECURE"),
        session_max_h=_number(env, "SESSION_MAX_H", 12.0, lo=0.1, hi=24 * 30),
        session_idle_min=_number(env, "SESSION_IDLE_MIN", 60.0, lo=1, hi=24 * 60 * 30),
        proxy_header=header,
        proxy_role_header=role_header,
        trusted_proxies=proxies,
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``FLOORBOARD_*`` variables (``os.environ`` by default)."""
    env = os.environ if env is None else env
    known = {PREFIX + f.name.upper() for f in fields(Settings)} | {PREFIX + "QUEUES_FILE"}
    known = (known - {PREFIX + "AUTH"}) | {PREFIX + name for name in AUTH_ENV}
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
        timezone_configured=bool(env.get(PREFIX + "TIMEZONE")),
        queues_file=Path(queues_file) if queues_file else None,
        history_url=env.get(PREFIX + "HISTORY_URL") or "sqlite:///floorboard-history.db",
        web_host=env.get(PREFIX + "WEB_HOST") or "127.0.0.1",
        web_port=int(_number(env, "WEB_PORT", 8050, lo=1, hi=65535)),
        key_prefix=prefix,
        late_tolerance_s=_number(env, "LATE_TOLERANCE_S", 300, lo=0, hi=86400),
        future_tolerance_s=_number(env, "FUTURE_TOLERANCE_S", 300, lo=0, hi=86400),
        queues=queues,
        auth=_auth_settings(env),
    )
