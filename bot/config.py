"""Kefu's settings: one model, read from a TOML file and `KEFU_<SECTION>__<KEY>` variables.

Precedence (highest first): environment, the TOML file, built-in defaults. The file is
`--config PATH`, else `$KEFU_CONFIG`, else `./config.toml` when present.
"""

from __future__ import annotations

import contextvars
import os
import re
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

import scoring
from bot.i18n import Language
from scoring.overdue import ESCALATE_AFTER_DAYS, REMIND_AFTER_DAYS, OverdueRule
from scoring.pay import check_commission_rate, check_team_bonus
from scoring.targets import TARGET_NAMES, check_target

DEFAULT_CONFIG_FILE = Path("config.toml")
# `time` is also a field name below (the digest's), where it hides the type.
TimeOfDay = time
_toml_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("toml_file", default=None)

_QUIET_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class ConfigError(Exception):
    """The configuration is unusable; the message names the offending key."""


class _Section(BaseModel):
    # A typo in a key must be an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


class TelegramSettings(_Section):
    token: SecretStr | None = None
    api_base_url: str | None = Field(
        default=None, description="Bot API base URL, e.g. http://127.0.0.1:8081/bot"
    )
    api_base_file_url: str | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    listen: str = "127.0.0.1:8443"
    secret_token: SecretStr | None = None
    poll_timeout: float = Field(default=10.0, gt=0)
    send_retries: int = Field(default=3, ge=0, le=10)
    # Telegram's overall limit for the bot: 30 a second; raise it only with paid broadcasts
    # enabled for the bot (up to 1,000 a second, paid in Stars), or Telegram answers 429.
    messages_per_second: int = Field(default=30, ge=1, le=1000)
    # Updates handled at once (one person's always in order); 1 handles them one by one.
    concurrent_updates: int = Field(default=256, ge=1, le=1024)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{1,}", value.get_secret_value()):
            raise ValueError("must look like 123456:ABC-DEF… (the token @BotFather gave you)")
        return value

    @model_validator(mode="after")
    def _webhook_needs(self) -> TelegramSettings:
        if self.mode == "webhook":
            if not self.webhook_url:
                raise ValueError("mode = 'webhook' needs webhook_url")
            if self.secret_token is None or not self.secret_token.get_secret_value():
                raise ValueError("mode = 'webhook' needs secret_token")
        return self


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///kefu.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must be an async SQLAlchemy URL: sqlite+aiosqlite:///FILE "
                "or postgresql+asyncpg://USER@HOST/DB"
            )
        return value


class TeamSettings(_Section):
    chat_id: int | None = None
    managers: list[int] = Field(default_factory=list)
    agents: list[int] = Field(default_factory=list)
    timezone: str = "Asia/Shanghai"
    language: Language = "en"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SurveyTexts(_Section):
    """The team's own wording of the survey in one language; what is unset keeps the default."""

    question: str | None = Field(default=None, min_length=1, max_length=500)
    very_satisfied: str | None = Field(default=None, min_length=1, max_length=40)
    satisfied: str | None = Field(default=None, min_length=1, max_length=40)
    dissatisfied: str | None = Field(default=None, min_length=1, max_length=40)


class SurveySettings(_Section):
    remind_after_hours: float = Field(default=24, gt=0)
    expire_after_hours: float = Field(default=72, gt=0)
    comment_window_minutes: float = Field(default=60, gt=0)
    check_interval_seconds: float = Field(default=60, gt=0)
    # [survey.texts.zh_CN] question = "…", very_satisfied = "…", …
    texts: dict[Language, SurveyTexts] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _order(self) -> SurveySettings:
        if self.expire_after_hours <= self.remind_after_hours:
            raise ValueError("expire_after_hours must be greater than remind_after_hours")
        return self


class FollowupSettings(_Section):
    check_interval_minutes: float = Field(default=15, gt=0)
    remind_after_days: float = Field(default=REMIND_AFTER_DAYS, gt=0)
    escalate_after_days: float = Field(default=ESCALATE_AFTER_DAYS, gt=0)
    quiet_hours: str | None = None

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_shape(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        match = _QUIET_HOURS.match(value)
        if not match or value[:5] == value[6:]:
            raise ValueError('must be "HH:MM-HH:MM" with two different times, e.g. "22:00-08:00"')
        return value

    @model_validator(mode="after")
    def _order(self) -> FollowupSettings:
        self.overdue  # noqa: B018  (scoring's rule refuses thresholds out of order)
        return self

    @property
    def overdue(self) -> OverdueRule:
        return OverdueRule(self.remind_after_days, self.escalate_after_days)

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours.split("-")
        return time.fromisoformat(start), time.fromisoformat(end)


class ConversationSettings(_Section):
    """Customers talking to the team through the bot (README: "Talking to customers")."""

    # Where a customer's message is relayed: the ticket's agent privately, or the team chat.
    notify: Literal["agent", "team"] = "agent"
    # Show the answering agent's first name to the customer.
    sign_replies: bool = False
    # A customer unanswered this long reminds the agent; twice as long, the team chat.
    reply_within_minutes: float = Field(default=60, gt=0)
    # A forum topic per ticket in the team chat (the team chat must be a forum supergroup).
    topics: bool = False
    # Files larger than this are refused with a message (Telegram's bot download limit).
    max_file_mb: float = Field(default=20, gt=0)
    # Flooding: more than this many messages a minute from one customer are kept and
    # relayed a minute later, and the customer is asked to slow down.
    customer_messages_per_minute: int = Field(default=20, ge=1)
    check_interval_seconds: float = Field(default=60, gt=0)


class IntakeSettings(_Section):
    # "off": someone with no ticket gets a polite answer; "ticket": their message opens one.
    mode: Literal["off", "ticket"] = "off"


class Weights(_Section):
    satisfaction: int = Field(default=10, ge=0, le=100)
    speed: int = Field(default=10, ge=0, le=100)
    quality: int = Field(default=10, ge=0, le=100)
    skill: int = Field(default=10, ge=0, le=100)

    @model_validator(mode="after")
    def _scoring_accepts(self) -> Weights:
        # Scoring's own checks: a config that loads is one the scoreboard can use.
        _ = self.rules
        return self

    @property
    def rules(self) -> scoring.Weights:
        """The weights as scoring takes them (its constructor checks them)."""
        return scoring.Weights(
            satisfaction=self.satisfaction, speed=self.speed, quality=self.quality, skill=self.skill
        )


class ScoringSettings(_Section):
    pay_scheme: str = scoring.PROPORTIONAL
    base_pay: Decimal = Field(default=Decimal("1000"), ge=0)
    tiers: list[tuple[float, Decimal]] = Field(
        default_factory=lambda: [
            (0.0, Decimal("1000")),
            (30.0, Decimal("1200")),
            (36.0, Decimal("1400")),
        ]
    )
    weights: Weights = Field(default_factory=Weights)
    currency: str = Field(default="CNY", min_length=1, max_length=8)
    # Seed ⑶: commission on the month's repeat sales credited to the agent (0.003 = 千分之三),
    # and the bonus each agent gets when every team target is met.
    commission_rate: Decimal = Decimal(0)
    team_bonus: Decimal = Decimal(0)

    @field_validator("commission_rate")
    @classmethod
    def _commission_rate(cls, value: Decimal) -> Decimal:
        return check_commission_rate(value)

    @field_validator("team_bonus")
    @classmethod
    def _team_bonus(cls, value: Decimal) -> Decimal:
        return check_team_bonus(value)

    @field_validator("pay_scheme")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value not in scoring.PAY_SCHEMES:
            raise ValueError(f"must be one of {', '.join(scoring.PAY_SCHEMES)}")
        return value

    @field_validator("tiers")
    @classmethod
    def _tiers_shape(cls, value: list[tuple[float, Decimal]]) -> list[tuple[float, Decimal]]:
        # The rule pay calculation applies, applied here: a config that loads is one that pays.
        ordered = scoring.validate_tiers(_as_tiers(value))
        return [(tier.min_total, tier.pay) for tier in ordered]

    @property
    def pay_tiers(self) -> list[scoring.Tier]:
        """The tiers as scoring takes them."""
        return _as_tiers(self.tiers)


def _as_tiers(pairs: list[tuple[float, Decimal]]) -> list[scoring.Tier]:
    return [scoring.Tier(min_total=float(threshold), pay=pay) for threshold, pay in pairs]


class TargetSettings(_Section):
    """Team targets (店铺售后指标); unset ones are not checked. Each value is validated by
    `scoring.targets.check_target`, the rule the digest checks them with."""

    refund_rate_max: float | None = None
    dispute_refund_rate_max: float | None = None
    quality_refund_rate_max: float | None = None
    satisfaction_min: float | None = None
    open_over_5d_max: float | None = None
    refund_hours_max: float | None = None
    intervention_rate_max: float | None = None
    dsr_min: float | None = None
    internal_complaints_max: float | None = None
    first_time_fix_rate_min: float | None = None
    median_reply_minutes_max: float | None = None

    @field_validator("*")
    @classmethod
    def _valid_target(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        assert info.field_name is not None
        return check_target(info.field_name, value)

    def as_mapping(self) -> dict[str, float | None]:
        """{target name: value} for `scoring.targets.check_targets`."""
        return {name: getattr(self, name) for name in TARGET_NAMES}


class DigestSettings(_Section):
    time: str = "09:00"
    enabled: bool = True

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError('must be "HH:MM" (24-hour clock), e.g. "09:00"')
        return value

    @property
    def at(self) -> TimeOfDay:
        return TimeOfDay.fromisoformat(self.time)


class OpsSettings(_Section):
    listen: str | None = None
    log_json: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    """Everything Kefu can be told; `config.example.toml` documents each key."""

    model_config = SettingsConfigDict(
        env_prefix="KEFU_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    team: TeamSettings = Field(default_factory=TeamSettings)
    survey: SurveySettings = Field(default_factory=SurveySettings)
    followup: FollowupSettings = Field(default_factory=FollowupSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    targets: TargetSettings = Field(default_factory=TargetSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    conversation: ConversationSettings = Field(default_factory=ConversationSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = _toml_file.get()
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def token(self) -> str | None:
        return self.telegram.token.get_secret_value() if self.telegram.token else None


def resolve_config_path(explicit: str | Path | None) -> Path | None:
    """The config file to read: explicit, else $KEFU_CONFIG, else ./config.toml if present."""
    if explicit is not None:
        return Path(explicit)
    from_env = os.environ.get("KEFU_CONFIG")
    if from_env:
        return Path(from_env)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read and validate the settings, raising ConfigError with every bad key named."""
    config_path = resolve_config_path(path)
    if config_path is not None and not config_path.is_file():
        raise ConfigError(f"config file {config_path} does not exist")
    token = _toml_file.set(config_path)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_path)) from None
    except ValueError as exc:  # malformed TOML surfaces as a plain ValueError
        raise ConfigError(f"{config_path}: {exc}") from None
    finally:
        _toml_file.reset(token)


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" in {path}" if path else ""
    lines = [f"invalid configuration{where}:"]
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = _key_name(loc)
        env = "KEFU_" + "__".join(part.upper() for part in loc[:2])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against config.example.toml)"
        # Never echo the submitted value: it may be the token.
        lines.append(f"  {key} (or {env}): {message}")
    return "\n".join(lines)


def _key_name(loc: list[str]) -> str:
    if len(loc) >= 2:
        return f"[{loc[0]}] {'.'.join(loc[1:])}"
    return f"[{loc[0]}]" if loc else "(top level)"
