"""Fixtures of the channel tests: the SMS Gateway for Android stand-in."""

from tests.support.android_sms_standin import android_standin  # noqa: F401 - a fixture
