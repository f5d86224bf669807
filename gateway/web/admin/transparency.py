"""The public transparency page at /transparansi: what citizens wait for, in plain words, no personal data at all.

Only counts and durations leave the database here: no ticket codes, texts, names, phones or places. The page
says how many complaints wait in the review queue and for how long, and per agency what usually happens
("biasanya diterima dalam 2 hari kerja"), with two charts of the last 12 months (complaints per month, share
resolved by the deadline) served as SVG images from /transparansi/grafik/... (see gateway/web/admin/charts.py
for why images). Indonesian, with an English switch (``?lang=en``) like the other public pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.complaints.figures import (
    WINDOWS,
    Backlog,
    Share,
    Typical,
    agency_figures,
    confirmed_fixed,
    monthly_figures,
    review_backlog,
    typical_days,
)
from gateway.settings.deadlines import policy
from gateway.web.admin.charts import complaints_chart, deadline_chart, month_label
from gateway.web.auth import db
from gateway.web.form.texts import current_language
from models import Agency, utcnow

bp = Blueprint("transparency", __name__, template_folder="templates")

CHART_MONTHS = 12
CITY = "semua"  # the chart URLs' code for the whole city
CHARTS: dict[str, Callable[..., str]] = {"aduan": complaints_chart, "tepat-waktu": deadline_chart}

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "other_language": "English", "other_code": "en", "send": "Kirim aduan",
        "title": "Seberapa cepat dinas menjawab aduan warga",
        "rules": "Batas waktu: diterima dalam {acknowledge} hari kerja, ditanggapi dalam {respond}, selesai dalam "
                 "{resolve} (beberapa dinas berbeda). Hari kerja: Senin sampai Jumat, tanpa hari libur nasional "
                 "dan cuti bersama.",
        "backlog_title": "Menunggu diperiksa",
        "backlog_none": "Tidak ada aduan yang menunggu diperiksa.",
        "backlog_one": "1 aduan menunggu diperiksa sebelum diteruskan ke dinas. Aduan itu sudah menunggu {age}.",
        "backlog": "{count} aduan menunggu diperiksa sebelum diteruskan ke dinas. Yang paling lama sudah menunggu "
                   "{age}.",
        "period": "Periode", "days": "{days} hari", "in_period": "Dalam {days} hari terakhir:",
        "city": "Seluruh kota", "agencies": "Per dinas",
        "open_none": "Tidak ada aduan yang sedang ditangani.",
        "open_ok": "{open} aduan sedang ditangani, semuanya masih dalam batas waktu.",
        "open_late": "{open} aduan sedang ditangani, {overdue} di antaranya sudah melewati batas waktu.",
        "typical_both": "Biasanya diterima dalam {ack} dan selesai dalam {resolve}.",
        "typical_ack": "Biasanya diterima dalam {ack}.",
        "typical_resolve": "Biasanya selesai dalam {resolve}.",
        "working_day": "1 hari kerja", "working_days": "{n} hari kerja",
        "typical_none": "Belum ada aduan yang diterima atau selesai.",
        "share_few": "{part} dari {whole} aduan selesai sebelum batas waktunya.",
        "share_many": "Sekitar {tenths} dari 10 aduan selesai sebelum batas waktunya ({part} dari {whole}).",
        "confirmed_fixed_few": "Warga memastikan {part} dari {whole} aduan yang selesai memang sudah beres.",
        "confirmed_fixed_many": "Warga memastikan sekitar {tenths} dari 10 aduan yang selesai memang sudah beres "
                                "({part} dari {whole}).",
        "chart_complaints": "Aduan per bulan", "chart_deadline": "Selesai tepat waktu per bulan (%)",
        "charts_note": "Grafik: {months} bulan terakhir, dihitung sejak aduan sampai di dinas.",
        "quiet": "Tanpa aduan dalam {months} bulan terakhir:",
        "footer": "Diperbarui {when}. Halaman ini hanya memuat angka, tanpa data pribadi pelapor.",
        "hours": "{n} jam", "day": "{n} hari", "days_word": "{n} hari", "under_hour": "kurang dari 1 jam",
        "no_data": "belum ada data",
    },
    "en": {
        "other_language": "Bahasa Indonesia", "other_code": "id", "send": "Send a complaint",
        "title": "How fast the city's offices answer complaints",
        "rules": "Deadlines: acknowledged within {acknowledge} working days, answered within {respond}, resolved "
                 "within {resolve} (some offices differ). Working days: Monday to Friday, without national "
                 "holidays and collective leave days.",
        "backlog_title": "Waiting to be checked",
        "backlog_none": "No complaint is waiting to be checked.",
        "backlog_one": "1 complaint is waiting to be checked before it goes to an office. It has waited {age}.",
        "backlog": "{count} complaints are waiting to be checked before they go to an office. The oldest has waited "
                   "{age}.",
        "period": "Period", "days": "{days} days", "in_period": "In the last {days} days:",
        "city": "The whole city", "agencies": "Per office",
        "open_none": "No complaint is being handled.",
        "open_ok": "{open} complaints are being handled, all of them within their deadline.",
        "open_late": "{open} complaints are being handled, {overdue} of them past their deadline.",
        "typical_both": "Usually acknowledged within {ack} and resolved within {resolve}.",
        "typical_ack": "Usually acknowledged within {ack}.",
        "typical_resolve": "Usually resolved within {resolve}.",
        "working_day": "1 working day", "working_days": "{n} working days",
        "typical_none": "No complaint acknowledged or resolved yet.",
        "share_few": "{part} of {whole} complaints were resolved by their deadline.",
        "share_many": "About {tenths} in 10 complaints were resolved by their deadline ({part} of {whole}).",
        "confirmed_fixed_few": "Citizens confirmed that {part} of {whole} resolved complaints were really fixed.",
        "confirmed_fixed_many": "Citizens confirmed that about {tenths} in 10 resolved complaints were really fixed "
                                "({part} of {whole}).",
        "chart_complaints": "Complaints per month", "chart_deadline": "Resolved by the deadline, per month (%)",
        "charts_note": "Charts: the last {months} months, counted from when a complaint reached the office.",
        "quiet": "No complaints in the last {months} months:",
        "footer": "Updated {when}. This page holds figures only, no personal data of the people who complained.",
        "hours": "{n} hours", "day": "{n} day", "days_word": "{n} days", "under_hour": "less than an hour",
        "no_data": "no data yet",
    },
}


def _extra_shares(session: Session, days: int, now: datetime) -> dict[str, dict[str, Share]]:
    """More per-agency shares, each shown as the sentence ``<key>_few`` / ``<key>_many`` of WORDS: the share of
    resolutions citizens confirmed fixed when asked "Sudah beres?" (issue 15, point 4), of those who answered."""
    confirmed = confirmed_fixed(session, days, now)
    return {"confirmed_fixed": {code: Share(c.confirmed, c.answered) for code, c in confirmed.items()}}


def age_text(hours: float | None, words: dict[str, str]) -> str:
    """A waiting time in plain words: "kurang dari 1 jam", "5 jam", "3 hari"."""
    if hours is None:
        return words["no_data"]
    if hours < 1:
        return words["under_hour"]
    if hours < 48:
        return words["hours"].format(n=int(hours))
    days = int(hours // 24)
    return (words["day"] if days == 1 else words["days_word"]).format(n=days)


def backlog_text(backlog: Backlog, words: dict[str, str], now: datetime) -> str:
    if not backlog.count:
        return words["backlog_none"]
    key = "backlog_one" if backlog.count == 1 else "backlog"
    return words[key].format(count=backlog.count, age=age_text(backlog.oldest_hours(now), words))


def share_sentence(key: str, share: Share | None, words: dict[str, str]) -> str | None:
    """ "3 dari 4 aduan ..." for up to 10, "Sekitar 8 dari 10 aduan ..." beyond; None when nothing counted."""
    if share is None or not share.whole:
        return None
    if share.whole <= 10:
        return words[f"{key}_few"].format(part=share.part, whole=share.whole)
    return words[f"{key}_many"].format(tenths=round(share.part * 10 / share.whole), part=share.part,
                                       whole=share.whole)


def typical_sentence(typical: Typical | None, words: dict[str, str]) -> str:
    def in_days(n: int | None) -> str | None:
        return None if n is None else (words["working_day"] if n == 1 else words["working_days"].format(n=n))

    ack = in_days(typical.acknowledge_days if typical else None)
    resolve = in_days(typical.resolve_days if typical else None)
    if ack and resolve:
        return words["typical_both"].format(ack=ack, resolve=resolve)
    if ack:
        return words["typical_ack"].format(ack=ack)
    if resolve:
        return words["typical_resolve"].format(resolve=resolve)
    return words["typical_none"]


def open_sentence(open_count: int, overdue: int, words: dict[str, str]) -> str:
    if not open_count:
        return words["open_none"]
    return (words["open_late"] if overdue else words["open_ok"]).format(open=open_count, overdue=overdue)


@bp.get("/transparansi")
def transparency() -> Any:
    """The review backlog, then the city and each agency: plain sentences over 7, 30 or 90 days, two charts."""
    days = request.args.get("days", type=int) or 30
    if days not in WINDOWS:
        days = 30
    settings = current_app.extensions["sambat"].settings
    language = current_language(settings.default_language)
    words = WORDS[language]
    session = db()
    now = utcnow()
    calendar = policy(settings).calendar()
    figures = agency_figures(session, days, now=now)
    codes = [f.agency_code for f in figures]
    typical = typical_days(session, calendar, days, now=now, agency_codes=codes)
    monthly = monthly_figures(session, settings.timezone, CHART_MONTHS, now=now, agency_codes=codes)
    extra = _extra_shares(session, days, now)

    def sentences(code: str, open_count: int, overdue: int) -> list[str]:
        lines = [open_sentence(open_count, overdue, words), typical_sentence(typical.get(code), words)]
        lines.append(share_sentence("share", typical[code].within_deadline if code in typical else None, words))
        lines += [share_sentence(key, shares.get(code), words) for key, shares in extra.items()]
        return [line for line in lines if line]

    sections, quiet = [], []
    for figure in figures:
        active = figure.open or any(m.complaints or m.within_deadline.whole for m in monthly[figure.agency_code])
        if not active:
            quiet.append(figure)
            continue
        sections.append({"code": figure.agency_code, "name": figure.agency_name,
                         "sentences": sentences(figure.agency_code, figure.open, figure.overdue),
                         "charts": _charts(figure.agency_code, figure.agency_name, monthly[figure.agency_code],
                                           language, words)})
    city = {"sentences": sentences("", sum(f.open for f in figures), sum(f.overdue for f in figures)),
            "charts": _charts(CITY, words["city"], monthly[""], language, words)}
    rules = policy(settings).default
    response = current_app.make_response(render_template(
        "admin/transparency.html", w=words, lang=language, city_name=settings.city, days=days, windows=WINDOWS,
        rules=words["rules"].format(**rules), backlog=backlog_text(review_backlog(session), words, now),
        city=city, sections=sections, quiet=quiet, months=CHART_MONTHS, now=now,
    ))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _charts(code: str, name: str, months: list, language: str, words: dict[str, str]) -> list[dict[str, str]]:
    """The two charts of one agency (or the city): their URLs, captions and a text alternative."""
    span = f"{month_label(months[0].month, language)} - {month_label(months[-1].month, language)}"
    counts = ", ".join(str(m.complaints) for m in months)
    shares = ", ".join("-" if m.within_deadline.ratio is None else f"{round(m.within_deadline.ratio * 100)}%"
                       for m in months)
    return [
        {"kind": "aduan", "caption": words["chart_complaints"], "alt": f"{name}: {words['chart_complaints']}, "
         f"{span}: {counts}", "src": url_for("transparency.chart", kind="aduan", agency=code, lang=language)},
        {"kind": "tepat-waktu", "caption": words["chart_deadline"], "alt": f"{name}: {words['chart_deadline']}, "
         f"{span}: {shares}", "src": url_for("transparency.chart", kind="tepat-waktu", agency=code, lang=language)},
    ]


@bp.get("/transparansi/grafik/<kind>/<agency>.svg")
def chart(kind: str, agency: str) -> Any:
    """One chart as an SVG image (no script), for ``<img src>``; ``agency`` is an agency's code or ``semua``."""
    draw = CHARTS.get(kind)
    if draw is None:
        abort(404)
    settings = current_app.extensions["sambat"].settings
    language = request.args.get("lang") if request.args.get("lang") in WORDS else settings.default_language
    session = db()
    if agency == CITY:
        codes = list(session.scalars(select(Agency.code).where(Agency.active)))
        key = ""
    else:
        if session.scalar(select(Agency.code).where(Agency.code == agency, Agency.active)) is None:
            abort(404)
        codes, key = [agency], agency
    months = monthly_figures(session, settings.timezone, CHART_MONTHS, agency_codes=codes)[key]
    response = Response(draw(months, language), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The chart's own document: nothing may load or run; its <style> element is its only styling.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
