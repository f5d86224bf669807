"""Rate limits per client on the form and per API key on the API; the intake settings refuse bad values
naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.jobs.queue import EmbeddedQueue
from gateway.settings import ConfigError, load_settings
from tests.conftest import ROOT, make_settings
from tests.gateway.web.intake_support import csrf_token


@pytest.fixture
def limited_app(sqlite_url: str, tmp_path: Path):  # noqa: ANN201
    settings = make_settings(sqlite_url, intake__media_dir=str(tmp_path), intake__form_rate_limit="2 per minute",
                             intake__api_rate_limit="3 per minute")
    app = create_app(settings, queue=EmbeddedQueue(), start_embedded=False)
    yield app
    app.extensions["sambat"].db.dispose()


def test_form_posts_are_limited_per_client_address(limited_app) -> None:  # noqa: ANN001
    client = limited_app.test_client()
    token = csrf_token(client.get("/aduan").get_data(as_text=True))
    statuses = [client.post("/aduan", data={"csrf_token": token, "text": ""},
                            environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code for _ in range(3)]
    assert statuses == [422, 422, 429]
    assert "Terlalu banyak pengiriman" in client.post("/aduan", environ_base={"REMOTE_ADDR": "10.0.0.1"}).text
    # Another phone is not held back by the first, and reading the form is never limited.
    other = client.post("/aduan", data={"csrf_token": token, "text": ""}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 422 and client.get("/aduan").status_code == 200


@pytest.mark.parametrize(("hops", "seen_as"), [(0, "proxy"), (1, "client")])
def test_behind_a_trusted_proxy_each_phone_has_its_own_limit(sqlite_url: str, tmp_path: Path, hops: int,
                                                              seen_as: str) -> None:
    """nginx in front (proxy_hops: 1): the limit follows X-Forwarded-For; without it, the proxy's address."""
    settings = make_settings(sqlite_url, intake__media_dir=str(tmp_path), intake__form_rate_limit="2 per minute",
                             proxy_hops=hops)
    app = create_app(settings, queue=EmbeddedQueue(), start_embedded=False)
    client = app.test_client()
    token = csrf_token(client.get("/aduan").get_data(as_text=True))

    def post(phone: str, forged: str = "") -> int:
        forwarded = f"{forged}, {phone}" if forged else phone  # the proxy appends the address it saw
        return client.post("/aduan", data={"csrf_token": token, "text": ""},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"},
                           headers={"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"}).status_code

    first = [post("203.0.113.7") for _ in range(2)]
    other_phone = post("198.51.100.9")
    forged = post("203.0.113.7", forged="198.51.100.77")  # a client cannot pick its own address
    app.extensions["sambat"].db.dispose()
    assert first == [422, 422]
    if seen_as == "client":
        assert (other_phone, forged) == (422, 429)
    else:  # every request looks like 127.0.0.1: one limit for the whole city
        assert (other_phone, forged) == (429, 429)


def test_proxy_hops_must_be_a_small_whole_number(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="proxy_hops: must be a whole number from 0 to 5"):
        load_settings(environ={"SAMBAT_PROXY_HOPS": "9"}, config_path=str(ROOT / "config.yaml"))
    with pytest.raises(ConfigError, match="SAMBAT_PROXY_HOPS: expected a int"):
        load_settings(environ={"SAMBAT_PROXY_HOPS": "one"}, config_path=str(ROOT / "config.yaml"))


def test_api_is_limited_per_key_in_the_api_error_shape(limited_app) -> None:  # noqa: ANN001
    client = limited_app.test_client()
    statuses = [client.post("/api/v1/complaints", json={}, headers={"X-API-Key": "sbt_one"}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    limited = client.post("/api/v1/complaints", json={}, headers={"X-API-Key": "sbt_one"})
    assert limited.json["error"]["code"] == "rate_limited" and "Retry-After" in limited.headers
    assert client.post("/api/v1/complaints", json={}, headers={"X-API-Key": "sbt_two"}).status_code == 401


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("intake: {max_photos: 20}", "intake.max_photos: must be a whole number from 0 to 10"),
    ("intake: {max_photo_mb: big}", "intake.max_photo_mb"),
    ("intake: {form_rate_limit: lots}", "intake.form_rate_limit: not a rate limit"),
    ("intake: {categories: [{code: Jalan Rusak, name: x}]}", "intake.categories[1].code"),
    ("intake: {categories: [{code: a, name: x}, {code: a, name: y}]}", "intake.categories[2].code: 'a' is used twice"),
    ("intake: {categories: [{code: a, name: x, agency: NOPE}]}", "intake.categories[1].agency: 'NOPE'"),
    ("intake: {categories: [{code: a}]}", "intake.categories[1].name"),
    ("open311: {publish_descriptions: maybe}", "open311.publish_descriptions: must be true or false"),
])
def test_bad_intake_settings_name_the_key(tmp_path: Path, yaml_text: str, message: str) -> None:
    shipped = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(shipped.replace("intake:\n", "intake_shipped:\n").replace("open311:\n", "open311_shipped:\n")
                      + "\n" + yaml_text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={}, config_path=str(config))
    assert message in str(refused.value)
