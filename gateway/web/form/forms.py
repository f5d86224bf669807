"""The complaint form's fields (Flask-WTF: CSRF token included). Checking is channels.web.check_fields'."""

from __future__ import annotations

import uuid

from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, StringField, TextAreaField

# The fields whose errors are shown next to them, in page order.
FIELD_NAMES = ("text", "kelurahan", "address", "latitude", "longitude", "photos", "name", "phone", "email")


class ComplaintForm(FlaskForm):
    """What a citizen fills in. ``website`` is a honeypot: people never see it, bots fill it in.

    The kelurahan list is drawn by the template (grouped by kecamatan); its value is checked with the
    other fields by ``check_fields``, so every surface applies the same rules.
    """

    text = TextAreaField()
    kelurahan = StringField()
    address = StringField()
    latitude = StringField()
    longitude = StringField()
    photos = MultipleFileField()
    name = StringField()
    phone = StringField()
    email = StringField()
    website = StringField()
    submission_id = HiddenField()

    def ensure_submission_id(self) -> str:
        """A random id for this filled-in form, so a double tap on Send files one complaint."""
        try:
            value = uuid.UUID((self.submission_id.data or "").strip()).hex
        except ValueError:
            value = uuid.uuid4().hex
        self.submission_id.data = value
        return value

    def values(self) -> dict[str, str]:
        """The typed values, by field name, for check_fields."""
        return {name: getattr(self, name).data or "" for name in FIELD_NAMES if name != "photos"}
