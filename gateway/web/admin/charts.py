"""The transparency page's charts: SVG drawn on the server with pygal, no JavaScript.

Each chart is its own small SVG document served from its own URL (``image/svg+xml``) and shown with
``<img src>``. Why not inline in the page: pygal always writes a ``<script>`` (its tooltip configuration) and
styles the chart with a ``<style>`` element, both of which a strict Content-Security-Policy on the page forbids
(no inline script, no inline style). As an image, an SVG never runs scripts (browsers do not run them in
``<img>``), its ``<style>`` belongs to its own document and not the page's, and we still remove the
``<script>`` element before sending it (docs/transparency.md).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pygal
from pygal.style import Style

from gateway.complaints.figures import Month

MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}

# Large type in a 480-wide drawing: scaled to a 360 px phone it still reads at about 11 px.
STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1b1b1b", foreground_strong="#1b1b1b",
    foreground_subtle="#d4d4d4", colors=("#15803d", "#b45309"), font_family="system-ui, Arial, sans-serif",
    label_font_size=15, major_label_font_size=15, value_font_size=14, value_label_font_size=14,
    title_font_size=17, no_data_font_size=18, opacity="1", opacity_hover="1", transition="0s",
)
WIDTH, HEIGHT = 480, 250
NO_DATA = {"id": "Belum ada data", "en": "No data yet"}


def month_label(month: date, language: str) -> str:
    """``Jan 26``: the month's short name and the year's last two digits."""
    return f"{MONTHS.get(language, MONTHS['id'])[month.month - 1]} {month.year % 100:02d}"


def _config(language: str, **extra: object) -> dict[str, object]:
    return {"style": STYLE, "width": WIDTH, "height": HEIGHT, "show_legend": False, "js": [],
            "disable_xml_declaration": True, "no_data_text": NO_DATA.get(language, NO_DATA["id"]),
            "margin": 8, "spacing": 8, "x_labels_major_every": 3, "show_minor_x_labels": False,
            "truncate_label": -1, "show_y_guides": True, "tooltip_border_radius": 0, **extra}


def complaints_chart(months: list[Month], language: str) -> str:
    """Bars: complaints that reached the agency each month."""
    counts = [m.complaints for m in months]
    step = max(1, -(-max(counts, default=0) // 4))  # whole complaints on the axis: 0, step, 2 step ...
    chart = pygal.Bar(**_config(language, y_labels=list(range(0, max(max(counts, default=0), 1) + step, step))))
    chart.x_labels = [month_label(m.month, language) for m in months]
    chart.add("aduan" if language == "id" else "complaints", counts)
    return _without_scripts(chart)


def deadline_chart(months: list[Month], language: str) -> str:
    """A line of the share resolved within the deadline each month (0-100 %), broken where nothing was due."""
    values = [None if m.within_deadline.ratio is None else round(m.within_deadline.ratio * 100)
              for m in months]
    if all(value is None for value in values):
        values = []
    chart = pygal.Line(**_config(language, range=(0, 100), allow_interruptions=True, dots_size=4,
                                 y_labels=[0, 50, 100], value_formatter=lambda v: f"{v:.0f}%"))
    chart.x_labels = [month_label(m.month, language) for m in months]
    chart.add("tepat waktu" if language == "id" else "on time", values, stroke_style={"width": 3})
    return _without_scripts(chart)


def _without_scripts(chart: pygal.graph.graph.Graph) -> str:
    """The chart's SVG without any <script> element (pygal always writes one)."""
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return ET.tostring(root, encoding="unicode")
