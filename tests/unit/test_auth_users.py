"""The users file, password hashing, API tokens, auth settings and secret masking."""

from __future__ import annotations

import json
import stat

import pytest
from argon2 import PasswordHasher

from adapters.mqtt import parse_mqtt_url
from app.auth.users import UsersError, UsersFile
from floorboard.config import ConfigError, load_settings, mask_url
from tests.conftest import TEST_SECRET_KEY

# Cheap parameters for speed here; production uses argon2-cffi's defaults (see docs/security.md).
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def users(tmp_path) -> UsersFile:
    return UsersFile(tmp_path / "auth" / "users.json", FAST)


def test_passwords_are_stored_as_salted_argon2id_hashes_only(users):
    users.add_user("ana", "agent", "a long password")
    users.add_user("ben", "agent", "a long password")
    raw = users.path.read_text()
    assert "a long password" not in raw
    data = json.loads(raw)["users"]
    assert data["ana"]["password"].startswith("$argon2id$")
    assert data["ana"]["password"] != data["ben"]["password"]  # salted
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600
    assert users.user("ana").agent == "ana"  # an agent's id defaults to the user name


def test_verify(users):
    users.add_user("ana", "agent", "a long password")
    assert users.verify("ana", "a long password").username == "ana"
    assert users.verify("ana", "A long password") is None
    assert users.verify("nobody", "a long password") is None
    assert users.verify("", "") is None
    assert users.verify("ana", "x" * 5000) is None


def test_weak_passwords_bad_roles_and_duplicates_are_refused(users):
    with pytest.raises(UsersError, match="10"):
        users.add_user("ana", "agent", "short")
    with pytest.raises(UsersError, match="role"):
        users.add_user("ana", "root", "a long password")
    with pytest.raises(UsersError, match="bad user name"):
        users.add_user("ana/../x", "agent", "a long password")
    users.add_user("ana", "agent", "a long password")
    with pytest.raises(UsersError, match="exists"):
        users.add_user("ana", "manager", "a long password")


def test_a_new_password_ends_older_sessions(users):
    users.add_user("ana", "agent", "a long password")
    before = users.user("ana").session_version
    users.set_password("ana", "another long password")
    assert users.user("ana").session_version == before + 1
    assert users.verify("ana", "a long password") is None
    users.end_sessions("ana")
    assert users.user("ana").session_version == before + 2


def test_weaker_hashes_are_upgraded_at_sign_in(tmp_path):
    weak = UsersFile(tmp_path / "u.json", FAST)
    weak.add_user("ana", "agent", "a long password")
    strong = UsersFile(tmp_path / "u.json", PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    assert strong.verify("ana", "a long password")
    assert "t=2" in json.loads((tmp_path / "u.json").read_text())["users"]["ana"]["password"]


def test_another_process_writing_the_file_is_seen(users, tmp_path):
    users.add_user("ana", "agent", "a long password")
    other = UsersFile(users.path, FAST)
    assert other.user("ana") is not None
    users.remove_user("ana")
    assert other.user("ana") is None


def test_tokens_are_stored_hashed_and_checked(users):
    token, secret = users.create_token("reporting", ["read:queues"])
    raw = users.path.read_text()
    assert secret not in raw and token.sha256 in raw
    assert users.token_for(secret).id == token.id
    assert users.token_for(secret + "x") is None
    assert users.token_for(secret.replace(token.id, "0" * 12)) is None
    assert users.token_for("garbage") is None
    users.revoke_token(token.id)
    assert users.token_for(secret) is None
    with pytest.raises(UsersError, match="scopes"):
        users.create_token("x", ["read:everything"])
    with pytest.raises(UsersError, match="scopes"):
        users.create_token("x", [])


def test_a_malformed_users_file_is_an_error_naming_the_problem(tmp_path):
    path = tmp_path / "u.json"
    path.write_text(json.dumps({"users": {"ana": {"role": "agent", "password": "plaintext!"}}}))
    with pytest.raises(UsersError, match="argon2"):
        UsersFile(path).directory()
    path.write_text("{not json")
    with pytest.raises(UsersError, match="JSON"):
        UsersFile(path).directory()
    assert UsersFile(tmp_path / "absent.json").directory().users == {}


# ------------------------------------------------------------------------------ settings
def test_auth_settings_from_the_environment(tmp_path):
    s = load_settings({
        "FLOORBOARD_SECRET_KEY": TEST_SECRET_KEY, "FLOORBOARD_USERS_FILE": str(tmp_path / "u.json"),
        "FLOORBOARD_COOKIE_SECURE": "0", "FLOORBOARD_SESSION_MAX_H": "8", "FLOORBOARD_SESSION_IDLE_MIN": "30",
        "FLOORBOARD_AUTH_PROXY_HEADER": "X-Remote-User", "FLOORBOARD_AUTH_PROXY_ROLE_HEADER": "X-Remote-Role",
        "FLOORBOARD_TRUSTED_PROXIES": "10.0.0.5, 192.168.1.0/24",
    })
    a = s.auth
    assert (a.cookie_secure, a.session_max_h, a.session_idle_min) == (False, 8.0, 30.0)
    assert a.trusted_proxies == ("10.0.0.5", "192.168.1.0/24") and a.proxy_role_header == "X-Remote-Role"
    assert TEST_SECRET_KEY not in repr(s) and TEST_SECRET_KEY not in repr(a)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FLOORBOARD_SECRET_KEY": "short"}, "at least 32"),
        ({"FLOORBOARD_AUTH_PROXY_HEADER": "X-User"}, "TRUSTED_PROXIES"),
        ({"FLOORBOARD_AUTH_PROXY_HEADER": "X-User", "FLOORBOARD_TRUSTED_PROXIES": "proxy.example"}, "not an IP"),
        ({"FLOORBOARD_AUTH_PROXY_ROLE_HEADER": "X-Role", "FLOORBOARD_TRUSTED_PROXIES": "10.0.0.1"}, "needs"),
        ({"FLOORBOARD_COOKIE_SECURE": "maybe"}, "COOKIE_SECURE"),
        ({"FLOORBOARD_AUTH": "off"}, "unknown setting"),  # there is no switch to turn access control off
    ],
)
def test_bad_auth_settings_stop_the_start(env, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(env)
    assert "'short'" not in str(info.value)  # a secret is never echoed back


def test_cookie_secure_defaults_on_unless_listening_on_loopback():
    from app.auth.guard import cookie_secure

    assert not cookie_secure(load_settings({}))
    assert not cookie_secure(load_settings({"FLOORBOARD_WEB_HOST": "::1"}))
    assert cookie_secure(load_settings({"FLOORBOARD_WEB_HOST": "0.0.0.0"}))
    assert not cookie_secure(load_settings({"FLOORBOARD_WEB_HOST": "0.0.0.0", "FLOORBOARD_COOKIE_SECURE": "no"}))


# ------------------------------------------------------------------- Redis and MQTT secrets
def test_redis_and_mqtt_passwords_and_tls_come_from_the_url_and_are_masked():
    from realtime.store import Store

    s = load_settings({"FLOORBOARD_REDIS_URL": "rediss://fb:s3cret@redis.internal:6380/2",
                       "FLOORBOARD_MQTT_URL": "mqtts://ingest:p%40ss@broker.internal"})
    assert "s3cret" not in repr(s) and "p%40ss" not in repr(s)
    assert mask_url(s.redis_url) == "rediss://fb:***@redis.internal:6380/2"
    pool = Store.from_settings(s).r.connection_pool  # connects lazily: nothing is reached here
    assert pool.connection_class.__name__ == "SSLConnection"
    assert pool.connection_kwargs["password"] == "s3cret" and pool.connection_kwargs["username"] == "fb"
    target = parse_mqtt_url(s.mqtt_url)
    assert (target.username, target.password, target.tls, target.port) == ("ingest", "p@ss", True, 8883)
    assert "p@ss" not in repr(target) and "tls_params" in target.client_kwargs()
    assert mask_url("redis://:onlypass@h:6379/0") == "redis://:***@h:6379/0"
    with pytest.raises(ConfigError) as info:
        load_settings({"FLOORBOARD_REDIS_URL": "http://u:topsecret@h"})
    assert "topsecret" not in str(info.value)
