"""Makes the ``twilio_standin`` fixture available to the stand-in's own tests."""

from .twilio_standin import twilio_standin  # noqa: F401
