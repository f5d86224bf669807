"""The ``android_sms:`` section: the phone (or the app's cloud) that sends and receives the city's SMS."""

from __future__ import annotations

from pydantic import SecretStr, field_validator

from channels.config import Section, http_url, setting, whole


class AndroidSmsSettings(Section):
    """Where the app's API is, how Sambat logs in to it, and how long a phone may stay silent."""

    api_url: str | None = setting(None, env="SAMBAT_ANDROID_SMS_API_URL",
                                  description="local: http://<phone ip>:8080 ; cloud: https://api.sms-gate.app/3rdparty/v1")
    username: str | None = setting(None, env="SAMBAT_ANDROID_SMS_USERNAME")
    password: SecretStr | None = setting(None, env="SAMBAT_ANDROID_SMS_PASSWORD", file=False)
    token: SecretStr | None = setting(None, env="SAMBAT_ANDROID_SMS_TOKEN", file=False,
                                      description="cloud mode: a JWT instead of username and password")
    signing_key: SecretStr | None = setting(None, env="SAMBAT_ANDROID_SMS_SIGNING_KEY", file=False)
    passphrase: SecretStr | None = setting(None, env="SAMBAT_ANDROID_SMS_PASSPHRASE", file=False,
                                           description="the app's end-to-end encryption passphrase")
    max_age: int = setting(300, description="seconds a signed webhook event stays valid")
    silent_alert_minutes: int = setting(30, env="SAMBAT_ANDROID_SMS_SILENT_ALERT_MINUTES",
                                        description="no phone heard this long while messages wait: one e-mail; 0 off")

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return http_url(value)

    @field_validator("max_age")
    @classmethod
    def _max_age(cls, value: int) -> int:
        return whole(value, 1, unit="seconds")

    @field_validator("silent_alert_minutes")
    @classmethod
    def _silent(cls, value: int) -> int:
        if isinstance(value, bool) or value < 0:
            raise ValueError(f"must be a whole number of minutes >= 0 (0: no alert), got {value!r}")
        return value
