"""The home page at /: where a citizen sends a complaint, looks a ticket up, or sees how fast agencies answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from gateway.web.form.routes import page_values
from gateway.web.form.texts import current_language

bp = Blueprint("home", __name__, template_folder="templates")

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Layanan aduan warga",
        "intro": "Sampaikan keluhan tentang layanan dan fasilitas kota. Setiap aduan mendapat nomor tiket dan "
                 "diteruskan ke dinas yang menanganinya.",
        "send": "Kirim aduan", "send_hint": "Lewat formulir ini, tanpa perlu mendaftar.",
        "lookup": "Cek nomor tiket", "lookup_hint": "Lihat status aduan Anda dengan 8 angka nomor tiketnya.",
        "transparency": "Seberapa cepat dinas menjawab", "transparency_hint": (
            "Angka setiap dinas: berapa aduan yang masuk, berapa lama biasanya sampai ditanggapi dan selesai."),
        "sms": "Tanpa internet? Kirim SMS berisi aduan Anda; balasannya memuat nomor tiket. Ketik CEK dan nomor "
               "tiket untuk melihat statusnya.",
    },
    "en": {
        "title": "Citizen complaint service",
        "intro": "Tell the city about a problem with its services or facilities. Every complaint gets a ticket "
                 "number and goes to the office that handles it.",
        "send": "Send a complaint", "send_hint": "With this form, no sign-up needed.",
        "lookup": "Check a ticket number", "lookup_hint": "See your complaint's status with its 8-digit ticket number.",
        "transparency": "How fast the offices answer", "transparency_hint": (
            "Each office's figures: how many complaints come in, how long they usually take to be answered and "
            "resolved."),
        "sms": "No internet? Text your complaint by SMS; the reply carries your ticket number. Text CEK and the "
               "number to see its status.",
    },
}


@bp.get("/")
def home() -> Any:
    """Three links, in Indonesian or English (``?lang=en``, remembered like the other public pages)."""
    language = current_language(current_app.extensions["sambat"].settings.default_language)
    return render_template("public/home.html", home=WORDS[language], **page_values(language))
