"""Clean text out of e-mail bodies: HTML to text, and only the new part of a reply.

Mail clients quote the whole history under a reply. Only what the citizen wrote now is added to their
complaint: the history is cut at the first attribution line ("On ... wrote:" in English, "Pada ... menulis:"
in Indonesian, Outlook's "-----Original Message-----" / "-----Pesan Asli-----" and its From:/Sent: header
block), and trailing ">" quoted blocks and the signature ("-- ") are dropped.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# Lines that start the quoted history, in the forms Gmail, Outlook, Apple Mail and Thunderbird write them.
_HISTORY_STARTS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Pada\b.{0,300}\bmenulis:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*-{2,}\s*(?:Original Message|Pesan Asli|Pesan Awal|Forwarded message|Pesan yang diteruskan)"
               r"\s*-{2,}", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook on the web draws a line above its header block
    re.compile(r"^\s*\*?(?:From|Dari)\*?:\s.+$", re.IGNORECASE),  # Outlook's header block, when it comes first
]
_SIGNATURE = re.compile(r"^-- ?$")
_MOBILE_SIGNATURES = re.compile(r"^\s*(?:Sent from my \w+|Dikirim dari \w+|Get Outlook for \w+)", re.IGNORECASE)


class _TextExtractor(HTMLParser):
    """Collect the visible text of an HTML mail, with line breaks where blocks end."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}
    SKIP = {"style", "script", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(value or "" for name, value in attrs if name in ("class", "id"))
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "blockquote" or "gmail_quote" in classes or "divRplyFwdMsg" in classes or "appendonsend" in classes:
            self.parts.append("\n\x00QUOTE\x00\n")  # history starts here: Gmail, Outlook, Apple Mail
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body; quoted history (blockquote, gmail_quote ...) is cut off."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    text = "".join(extractor.parts).split("\x00QUOTE\x00", 1)[0]
    lines = [html.unescape(line).strip() for line in text.splitlines()]
    return _squeeze(lines)


def new_text(text: str) -> str:
    """Only what was written now: quoted history, ">" blocks and the signature removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _history_starts(lines, index):
            break
        if _SIGNATURE.match(line) or _MOBILE_SIGNATURES.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return _squeeze(kept)


def _history_starts(lines: list[str], index: int) -> bool:
    """True when the quoted history begins at this line (Gmail may wrap its attribution over two lines)."""
    line = lines[index]
    if any(pattern.match(line) for pattern in _HISTORY_STARTS):
        return True
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return bool(line.strip() and re.search(r"\b(?:wrote|menulis):\s*$", following)
                and any(pattern.match(f"{line} {following}") for pattern in _HISTORY_STARTS[:2]))


def _squeeze(lines: list[str]) -> str:
    """Join lines, with at most one blank line between paragraphs and none at the ends."""
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
