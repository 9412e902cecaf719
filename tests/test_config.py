"""Settings: file, environment, defaults, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def _no_kefu_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("KEFU_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_any_file() -> None:
    settings = load_settings()
    assert settings.database.url == "sqlite+aiosqlite:///kefu.db"
    assert settings.team.timezone == "Asia/Shanghai" and settings.team.language == "en"
    assert settings.token is None
    assert settings.scoring.weights.satisfaction == 10 and settings.survey.remind_after_hours == 24


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "custom.toml"
    config.write_text('[team]\ntimezone = "Europe/Berlin"\nlanguage = "zh_CN"\nmanagers = [1, 2]\n')
    monkeypatch.setenv("KEFU_TEAM__LANGUAGE", "en")
    monkeypatch.setenv("KEFU_TELEGRAM__TOKEN", "42:abc-DEF")
    settings = load_settings(config)
    assert settings.team.timezone == "Europe/Berlin"
    assert settings.team.language == "en"
    assert settings.team.managers == [1, 2]
    assert settings.token == "42:abc-DEF"


def test_file_from_kefu_config_then_local_config_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text('[digest]\ntime = "08:30"\n')
    assert load_settings().digest.time == "08:30"
    other = tmp_path / "other.toml"
    other.write_text('[digest]\ntime = "07:15"\n')
    monkeypatch.setenv("KEFU_CONFIG", str(other))
    assert load_settings().digest.time == "07:15"


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[team]\ntimezone = "Mars/Base"\n', "[team] timezone", "unknown IANA time zone"),
        ('[team]\nlangauge = "en"\n', "[team] langauge", "unknown key"),
        ('[database]\nurl = "sqlite:///x.db"\n', "[database] url", "async SQLAlchemy URL"),
        (
            "[followup]\nremind_after_days = 6\n",
            "[followup]",
            "escalate_after_days must be greater",
        ),
        ('[followup]\nquiet_hours = "22-8"\n', "[followup] quiet_hours", "HH:MM-HH:MM"),
        (
            "[followup]\ncheck_interval_minutes = 0\n",
            "[followup] check_interval_minutes",
            "greater than 0",
        ),
        (
            "[survey]\nexpire_after_hours = 1\nremind_after_hours = 2\n",
            "[survey]",
            "expire_after_hours must be greater",
        ),
        ('[scoring]\npay_scheme = "bonus"\n', "[scoring] pay_scheme", "proportional"),
        ("[scoring]\ntiers = [[0, 1000], [0, 1200]]\n", "[scoring] tiers", "share the threshold"),
        ("[scoring]\ntiers = []\n", "[scoring] tiers", "at least one tier"),
        ("[scoring]\ntiers = [[-1, 1000]]\n", "[scoring] tiers", "non-negative"),
        (
            "[scoring.weights]\nsatisfaction = 0\nspeed = 0\nquality = 0\nskill = 0\n",
            "[scoring] weights",
            "at least one weight must be positive",
        ),
        ('[digest]\ntime = "9am"\n', "[digest] time", "HH:MM"),
        ('[telegram]\nmode = "webhook"\n', "[telegram]", "webhook_url"),
        ("[telegram]\nmessages_per_second = 1001\n", "[telegram] messages_per_second", "1000"),
        ("[telegram]\nmessages_per_second = 0\n", "[telegram] messages_per_second", "1"),
        ("[targets]\ndsr_min = 48\n", "[targets] dsr_min", "0–5 scale"),
        ("[targets]\nintervention_rate_max = 2\n", "[targets] intervention_rate_max", "fraction"),
        (
            "[targets]\nfirst_time_fix_rate_min = 90\n",
            "[targets] first_time_fix_rate_min",
            "fraction",
        ),
        ("[targets]\nrefund_hours_max = -1\n", "[targets] refund_hours_max", "non-negative"),
        (
            "[targets]\ninternal_complaints_max = -2\n",
            "[targets] internal_complaints_max",
            "non-negative",
        ),
        ("[targets]\nrefund_rate_max = 5\n", "[targets] refund_rate_max", "fraction"),
        ("[scoring]\ncommission_rate = 3\n", "[scoring] commission_rate", "fraction of sales"),
        ('[scoring]\nteam_bonus = "100.001"\n', "[scoring] team_bonus", "two decimals"),
        ('[survey.texts.fr]\nquestion = "?"\n', "[survey] texts.fr", ""),
        ("[team\n", "config.toml", ""),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, toml: str, key: str, words: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert key in str(error.value) and words in str(error.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[telegram]\ntoken = "123:secret-value"\n')
    assert main(["--config", str(config), "check-config"]) == 0
    assert "configuration is valid" in capsys.readouterr().out
    config.write_text('[telegram]\ntoken = "oops"\n')
    assert main(["--config", str(config), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "[telegram] token" in err and "oops" not in err


def test_check_config_refuses_tiers_that_pay_calculation_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A better score never earns less: check-config says so, as /score would have."""
    config = tmp_path / "config.toml"
    config.write_text(
        '[telegram]\ntoken = "123:secret-value"\n'
        '[scoring]\npay_scheme = "tiered"\ntiers = [[0, "1000"], [30, "900"]]\n'
    )
    assert main(["--config", str(config), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "[scoring] tiers" in err and "tier at 30 pays 900, less than 1000 at 0" in err, err


def test_db_upgrade_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "k.db"}"\n')
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    assert main(["--config", str(config), "db", "upgrade"]) == 0  # idempotent
    assert "up to date" in capsys.readouterr().out
    assert (tmp_path / "k.db").exists()


CONFIG_READERS = [
    ["run"],
    ["db", "upgrade"],
    ["check-config"],
    ["import-orders", "orders.csv"],
    ["digest"],
    ["report"],
    ["import-sales", "sales.csv"],
    ["export", "--month", "2026-03", "--csv", "x.csv"],
]


@pytest.mark.parametrize("command", CONFIG_READERS, ids=" ".join)
@pytest.mark.parametrize("where", ["before", "after", "between"])
def test_config_option_before_or_after_the_sub_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], where: str
) -> None:
    """`kefu --config X run` and `kefu run --config X` alike: every command reads that file
    (here one with a bad key, which each names instead of starting)."""
    config = tmp_path / "elsewhere.toml"
    config.write_text('[team]\ntimezone = "Mars/Base"\n')
    option = ["--config", str(config)] if where != "between" else ["-c", str(config)]
    if where == "before":
        argv = [*option, *command]
    elif where == "after":
        argv = [*command, *option]
    else:  # between the words of a two-word command, or after a one-word one
        argv = [command[0], *option, *command[1:]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "[team] timezone" in err and "elsewhere.toml" in err, err


def test_the_option_after_the_sub_command_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text('[telegram]\ntoken = "123:secret-value"\n')
    bad.write_text('[team]\ntimezone = "Mars/Base"\n')
    assert main(["-c", str(bad), "check-config", "-c", str(good)]) == 0
    assert "configuration is valid" in capsys.readouterr().out
