// The note box of a complaint's page: how much of the note fits one SMS (GSM-7, or less in UCS-2).
// A static file, not inline: the Content-Security-Policy allows scripts from this site only (docs/security.md).
(function () {
  var note = document.getElementById("note"), counter = document.getElementById("note-count");
  if (!note || !counter) return;
  var room = parseInt(counter.dataset.sms, 10), plain = /^[\x20-\x7e\n\r\u00a3\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\u00d8\u00f8\u00c5\u00e5\u00c4\u00d6\u00d1\u00dc\u00a7\u00bf\u00e4\u00f6\u00f1\u00fc\u00e0\u2018\u2019\u201c\u201d\u2013\u2014\u2026]*$/;
  function update() {
    var limit = plain.test(note.value) ? room : Math.max(room - 90, 20), used = note.value.length;
    counter.textContent = used <= limit ? used + " / " + limit + " karakter: muat 1 SMS."
      : used + " karakter: SMS memuat " + limit + " karakter pertama; selengkapnya di halaman tiket.";
    counter.classList.toggle("over", used > limit);
  }
  note.addEventListener("input", update);
  update();
})();
