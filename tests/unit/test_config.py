import pytest

from floorboard.config import ConfigError, QueuesConfig, load_settings


def test_defaults():
    s = load_settings({})
    assert s.interval_min == 15 and s.tick_s == 2.0 and s.timezone == "UTC" and s.redis_url is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FLOORBOARD_INTERVAL_MIN": "20"}, "FLOORBOARD_INTERVAL_MIN"),
        ({"FLOORBOARD_TICK_S": "fast"}, "FLOORBOARD_TICK_S"),
        ({"FLOORBOARD_TICK_S": "0"}, "FLOORBOARD_TICK_S"),
        ({"FLOORBOARD_TIMEZONE": "Mars/Olympus"}, "FLOORBOARD_TIMEZONE"),
        ({"FLOORBOARD_REDIS_URL": "http://x"}, "FLOORBOARD_REDIS_URL"),
        ({"FLOORBOARD_QUEUES_FILE": "/nonexistent/queues.toml"}, "FLOORBOARD_QUEUES_FILE"),
        ({"FLOORBOARD_TYPO": "1"}, "FLOORBOARD_TYPO"),
    ],
)
def test_bad_values_name_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


def test_queues_file(tmp_path):
    f = tmp_path / "queues.toml"
    f.write_text(
        '[defaults]\nsl_threshold_s = 30\n[queues.sales]\nname = "Sales"\nsl_target = 0.9\ngroups = ["front"]\n'
        '[queues.claims]\nsl_formula = "of_answered"\nmodel = "erlang_c"\n'
    )
    s = load_settings({"FLOORBOARD_QUEUES_FILE": str(f)})
    assert s.queues.get("sales").sl_threshold_s == 30 and s.queues.get("sales").sl_target == 0.9
    assert s.queues.get("claims").model == "erlang_c"
    assert s.queues.get("unknown").sl_threshold_s == 30  # defaults apply
    assert s.queues.groups() == {"front": ["sales"]}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[queues.a]\nsl_formula = 'magic'\n", "sl_formula"),
        ("[queues.a]\nsl_threshold_s = 'twenty'\n", "sl_threshold_s"),
        ("[queues.a]\nsl_target = 80\n", "sl_target"),
        ("[queues.a]\nspeed = 1\n", "speed"),
        ("[queues\n", "not valid TOML"),
    ],
)
def test_bad_queue_settings(text, named):
    with pytest.raises(ConfigError, match=named):
        QueuesConfig.from_toml(text)


def test_secrets_are_masked_in_repr():
    s = load_settings({"FLOORBOARD_REDIS_URL": "redis://u:hunter2@h:6379/0"})
    assert "hunter2" not in repr(s) and "***" in repr(s)


def test_config_knows_exactly_the_engines_sl_formulas():
    # config keeps its own copy so reading settings does not import scipy; they must agree.
    import staffing
    from floorboard import config

    assert config.SL_FORMULAS == staffing.SL_FORMULAS
