"""Rate limits per client on the form and per API key on the API; the intake settings refuse bad values
naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.queue import EmbeddedQueue
from gateway.settings import ConfigError, load_settings
from tests.conftest import ROOT, make_settings
from tests.gateway.intake_support import csrf_token


@pytest.fixture
def limited_app(sqlite_url: str, tmp_path: Path):  # noqa: ANN201
    settings = make_settings(sqlite_url, media_dir=str(tmp_path), form_rate_limit="2 per minute",
                             api_rate_limit="3 per minute")
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
