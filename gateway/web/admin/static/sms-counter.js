/* The answer's counter on a complaint's page: how many SMS segments the citizen's update costs (issue 15).
   The update is the frame ("Tiket 1234 5678: Selesai. ") and the answer; GSM-7 when every character has a
   septet (the extension table's take two), else UCS-2 (an emoji takes two units). One segment holds 160
   septets or 70 units; a concatenated SMS 153 or 67 a part; past 3 parts the answer is cut at a word. */
(function () {
  "use strict";
  var note = document.getElementById("note"), counter = document.getElementById("note-count");
  if (!note || !counter) return;
  var MAX = 3;
  var basic = "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5\u0394_\u03a6\u0393\u039b\u03a9" +
    "\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9 !\"#\u00a4%&'()*+,-./0123456789:;<=>?\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ" +
    "\u00c4\u00d6\u00d1\u00dc\u00a7\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0";
  var extended = "^{}\\[~]|\u20ac\f";
  // Sambat replaces these before sending (replies.to_gsm7), so they do not force UCS-2.
  var replaced = {"\u2018": "'", "\u2019": "'", "\u201c": "\"", "\u201d": "\"", "\u2013": "-", "\u2014": "-",
                  "\u2026": "...", "\u00a0": " "};

  function cost(text) {
    var septets = 0, gsm = true, i, ch;
    text = text.replace(/[\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0]/g, function (c) { return replaced[c]; });
    for (i = 0; i < text.length; i++) {
      ch = text.charAt(i);
      if (basic.indexOf(ch) >= 0) septets += 1;
      else if (extended.indexOf(ch) >= 0) septets += 2;
      else { gsm = false; break; }
    }
    if (gsm) return {segments: septets <= 160 ? 1 : Math.ceil(septets / 153), gsm: true};
    return {segments: text.length <= 70 ? 1 : Math.ceil(text.length / 67), gsm: false};
  }

  function update() {
    var used = note.value.trim().length, result = cost(counter.dataset.frame + note.value.trim());
    var text = used + " karakter: ";
    if (result.segments <= MAX) {
      text += result.segments + " SMS" + (result.segments > 1 ? " (digabung di ponsel warga)" : "") + ".";
    } else {
      text += "lebih dari " + MAX + " SMS; warga menerima " + MAX + " SMS, dipotong di batas kata, selengkapnya di halaman tiket.";
    }
    if (!result.gsm) text += " Ada huruf/emoji khusus: tiap SMS memuat lebih sedikit karakter.";
    counter.textContent = text;
    counter.dataset.segments = String(result.segments);
    counter.classList.toggle("over", result.segments > MAX);
  }
  note.addEventListener("input", update);
  update();
})();
