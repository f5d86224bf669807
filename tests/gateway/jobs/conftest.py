"""Fixtures for the jobs tests: the Android app stand-in (the Twilio one comes from tests/conftest.py)."""

from tests.support.android_sms_standin import android_standin  # noqa: F401 - a fixture
