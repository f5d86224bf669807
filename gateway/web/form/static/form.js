// "Gunakan lokasi saya": fills the form's latitude and longitude from the browser's location, where the browser
// allows it. Without JavaScript (or without geolocation) the button stays hidden and the fields are typed by hand;
// the form works the same. A file, not an inline script: the pages' Content-Security-Policy allows none.
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  var status = document.getElementById("location-status");
  var latitude = document.getElementById("latitude");
  var longitude = document.getElementById("longitude");
  if (!button || !latitude || !longitude || !("geolocation" in navigator)) { return; }
  button.hidden = false;

  function say(key) {
    if (status) { status.textContent = button.getAttribute("data-" + key) || ""; }
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    say("locating");
    navigator.geolocation.getCurrentPosition(function (position) {
      latitude.value = position.coords.latitude.toFixed(6);
      longitude.value = position.coords.longitude.toFixed(6);
      button.disabled = false;
      say("located");
    }, function (error) {
      button.disabled = false;
      say(error && error.code === 1 ? "denied" : "failed");
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
}());
