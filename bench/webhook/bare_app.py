"""The bare endpoint: the same Flask and gunicorn, a POST that does nothing but answer empty TwiML.

Run as ``gunicorn -w 2 -b 127.0.0.1:PORT bench.webhook.bare_app:app`` (from the repository root); the
benchmark measures it beside the real webhook to show what the WSGI stack alone costs on this machine.
"""

from __future__ import annotations

from flask import Flask, Response

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

app = Flask(__name__)


@app.post("/webhooks/twilio/sms")
def twilio_sms() -> Response:
    """Answer like the real webhook does, without reading the form, checking or storing anything."""
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")
