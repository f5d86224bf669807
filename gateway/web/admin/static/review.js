// The review queue's conveniences. Everything here has a way without JavaScript (tick boxes one by one, click a
// candidate); this file only adds: select all on the page, select all with the same first candidate, the keyboard
// (j/k to move, 1-9 to send the current complaint to its n-th candidate, x to tick it), and "Pilih dinas tujuan"
// before the page is even sent. Loaded as a file (no inline script: the console's Content-Security-Policy).
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) { return; }
  var cards = Array.prototype.slice.call(form.querySelectorAll(".review-card"));
  var picks = function () { return Array.prototype.slice.call(form.querySelectorAll("input.pick")); };
  var selectAll = document.getElementById("select-all");
  var agency = document.getElementById("bulk-agency");
  var error = document.getElementById("bulk-error");
  var count = document.getElementById("picked-count");
  var current = -1;

  function show(id) {
    var element = document.getElementById(id);
    if (element) { element.hidden = false; }
  }

  function refresh() {
    var all = picks();
    var ticked = all.filter(function (box) { return box.checked; }).length;
    if (count) { count.textContent = ticked ? " (" + ticked + ")" : ""; }
    if (selectAll) {
      selectAll.checked = ticked > 0 && ticked === all.length;
      selectAll.indeterminate = ticked > 0 && ticked < all.length;
    }
  }

  function say(message) {
    if (!error) { return; }
    error.textContent = message;
    error.hidden = !message;
  }

  show("select-all-line");
  show("shortcuts");
  Array.prototype.forEach.call(form.querySelectorAll("button.select-same"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var code = button.getAttribute("data-agency");
      cards.forEach(function (card) {
        if (card.getAttribute("data-first") === code) { card.querySelector("input.pick").checked = true; }
      });
      if (agency) { agency.value = code; }
      say("");
      refresh();
    });
  });
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      picks().forEach(function (box) { box.checked = selectAll.checked; });
      refresh();
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("pick")) { refresh(); }
    if (event.target === agency && agency.value) { say(""); }
  });
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.name === "action" && submitter.value === "assign" && agency && !agency.value) {
      event.preventDefault();
      say("Pilih dinas tujuan untuk aduan yang dicentang, lalu tekan Teruskan lagi.");
      agency.focus();
    } else if (submitter && submitter.name === "action" && !picks().some(function (box) { return box.checked; })) {
      event.preventDefault();
      say("Centang dulu aduan yang akan diproses.");
    }
  });

  function focusCard(index) {
    if (!cards.length) { return; }
    index = Math.max(0, Math.min(cards.length - 1, index));
    if (current >= 0 && cards[current]) { cards[current].classList.remove("current"); }
    current = index;
    cards[current].classList.add("current");
    cards[current].scrollIntoView({block: "nearest"});
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "select" || tag === "textarea" || (target && target.isContentEditable)) { return; }
    if (event.key === "j") {
      focusCard(current + 1);
    } else if (event.key === "k") {
      focusCard(current < 0 ? 0 : current - 1);
    } else if (event.key === "x" && current >= 0) {
      var box = cards[current].querySelector("input.pick");
      box.checked = !box.checked;
      refresh();
    } else if (/^[1-9]$/.test(event.key) && current >= 0) {
      var button = cards[current].querySelector('button.assign-one[data-key="' + event.key + '"]');
      if (button) { button.click(); }
    } else {
      return;
    }
    event.preventDefault();
  });
  refresh();
}());
