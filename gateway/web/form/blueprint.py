"""The blueprint of the web form at /aduan; its routes register on it."""

from flask import Blueprint

# static/: form.js (the "gunakan lokasi saya" button) and form.css; files, never inline (Content-Security-Policy).
bp = Blueprint("form", __name__, template_folder="templates", static_folder="static", static_url_path="/aduan/static")
