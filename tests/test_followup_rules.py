"""The follow-up rules without a bot: quiet-hours arithmetic and start-up validation."""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.config import ConfigError, load_settings
from scoring.quiet_hours import release_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = (time(22, 0), time(8, 0))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ---------------------------------------------------------------- quiet hours, by hand


@pytest.mark.parametrize(
    ("moment", "window", "tz", "expected"),
    [
        # No quiet hours: always now.
        ("2026-03-10T15:30", None, SHANGHAI, "2026-03-10T15:30"),
        # Shanghai is UTC+8. 23:30 local waits for 08:00 local tomorrow (00:00 UTC).
        ("2026-03-10T15:30", NIGHT, SHANGHAI, "2026-03-11T00:00"),
        # 03:00 local, after midnight: 08:00 the same local day.
        ("2026-03-10T19:00", NIGHT, SHANGHAI, "2026-03-11T00:00"),
        # The window is [start, end): 22:00 is quiet, 08:00 and 21:59 are not.
        ("2026-03-10T14:00", NIGHT, SHANGHAI, "2026-03-11T00:00"),
        ("2026-03-11T00:00", NIGHT, SHANGHAI, "2026-03-11T00:00"),
        ("2026-03-10T13:59", NIGHT, SHANGHAI, "2026-03-10T13:59"),
        # A window inside one day (lunch, 12:00-13:30 local = 04:00-05:30 UTC).
        ("2026-03-10T04:15", (time(12), time(13, 30)), SHANGHAI, "2026-03-10T05:30"),
        ("2026-03-10T05:30", (time(12), time(13, 30)), SHANGHAI, "2026-03-10T05:30"),
        ("2026-03-10T03:59", (time(12), time(13, 30)), SHANGHAI, "2026-03-10T03:59"),
        # Berlin springs forward on 2026-03-29 (02:00 CET -> 03:00 CEST): the night is an hour
        # shorter, so 08:00 CEST is 06:00 UTC, not the 07:00 that "ten hours later" would give.
        ("2026-03-28T22:00", NIGHT, BERLIN, "2026-03-29T06:00"),
        # ... and falls back on 2026-10-25 (03:00 CEST -> 02:00 CET): 08:00 CET is 07:00 UTC.
        ("2026-10-24T21:00", NIGHT, BERLIN, "2026-10-25T07:00"),
        # New York skips 02:00-03:00 on 2026-03-08 (at 07:00 UTC). A window ending at 02:30
        # ends when the clocks jump, not half an hour later.
        ("2026-03-08T06:30", (time(1), time(2, 30)), NEW_YORK, "2026-03-08T07:00"),
        # New York shows 01:00-02:00 twice on 2026-11-01 (EDT until 06:00 UTC, then EST).
        # 01:15 the first time (05:15 UTC) waits for the first 01:30 (05:30 UTC) ...
        ("2026-11-01T05:15", (time(0), time(1, 30)), NEW_YORK, "2026-11-01T05:30"),
        # ... 01:15 the second time (06:15 UTC) for the second 01:30 (06:30 UTC).
        ("2026-11-01T06:15", (time(0), time(1, 30)), NEW_YORK, "2026-11-01T06:30"),
    ],
)
def test_release_time_by_hand(
    moment: str, window: tuple[time, time] | None, tz: ZoneInfo, expected: str
) -> None:
    assert release_time(utc(moment), window, tz) == utc(expected)


ZONES = [SHANGHAI, BERLIN, NEW_YORK, ZoneInfo("Australia/Lord_Howe")]  # Lord Howe: 30-min DST


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    end=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    tz=st.sampled_from(ZONES),
)
def test_release_time_is_never_early_and_never_in_the_window(
    moment: datetime, start: time, end: time, tz: ZoneInfo
) -> None:
    if start == end:
        return  # refused by the settings
    moment = moment.replace(tzinfo=UTC)
    released = release_time(moment, (start, end), tz)
    assert released >= moment
    assert released - moment <= timedelta(days=1, hours=1)
    assert not _quiet(released, start, end, tz)
    # Nothing earlier would do: a second before, it was still quiet (or it is `moment`).
    if released > moment:
        assert _quiet(released - timedelta(seconds=1), start, end, tz)


def _quiet(moment: datetime, start: time, end: time, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz).time()
    return start <= local < end if start < end else local >= start or local < end


# ---------------------------------------------------------------- validation at start


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in [k for k in os.environ if k.startswith("KEFU_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ("remind_after_days = 0", "[followup] remind_after_days", "greater than 0"),
        ("escalate_after_days = -1", "[followup] escalate_after_days", "greater than 0"),
        (
            "remind_after_days = 5\nescalate_after_days = 5",
            "[followup]",
            "escalate_after_days must be greater than remind_after_days",
        ),
        ("check_interval_minutes = -5", "[followup] check_interval_minutes", "greater than 0"),
        ('check_interval_minutes = "often"', "[followup] check_interval_minutes", "number"),
        ('quiet_hours = "24:00-08:00"', "[followup] quiet_hours", '"HH:MM-HH:MM"'),
        ('quiet_hours = "22:00-22:00"', "[followup] quiet_hours", "two different times"),
        ("remind_afterdays = 3", "[followup] remind_afterdays", "unknown key"),
    ],
)
def test_bad_follow_up_settings_name_their_key(
    clean_env: Path, capsys: pytest.CaptureFixture[str], toml: str, key: str, words: str
) -> None:
    config = clean_env / "config.toml"
    config.write_text(f'[telegram]\ntoken = "123:abc"\n[followup]\n{toml}\n')
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert key in str(error.value) and words in str(error.value)
    assert main(["--config", str(config), "check-config"]) == 2
    assert key in capsys.readouterr().err


def test_bad_values_from_the_environment_name_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KEFU_TELEGRAM__TOKEN", "123:abc")
    monkeypatch.setenv("KEFU_TEAM__TIMEZONE", "Asia/Shangai")
    monkeypatch.setenv("KEFU_FOLLOWUP__CHECK_INTERVAL_MINUTES", "0")
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert "[team] timezone (or KEFU_TEAM__TIMEZONE): unknown IANA time zone" in err
    assert "[followup] check_interval_minutes (or KEFU_FOLLOWUP__CHECK_INTERVAL_MINUTES)" in err


def test_fractional_intervals_and_quiet_hours_are_accepted(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = clean_env / "config.toml"
    config.write_text(
        '[telegram]\ntoken = "123:abc"\n[team]\ntimezone = "Europe/Berlin"\n'
        "[followup]\ncheck_interval_minutes = 0.25\nremind_after_days = 0.5\n"
        'escalate_after_days = 1.5\nquiet_hours = "21:30-07:15"\n'
    )
    assert main(["--config", str(config), "check-config"]) == 0
    assert "configuration is valid" in capsys.readouterr().out
    followup = load_settings(config).followup
    assert followup.quiet_window == (time(21, 30), time(7, 15))
    assert followup.check_interval_minutes == 0.25
