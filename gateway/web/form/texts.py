"""The words of the public pages, in Indonesian and English. ``texts(language)`` picks one set."""

from __future__ import annotations

from flask import request, session

LANGUAGES = ("id", "en")

TEXTS: dict[str, dict[str, str]] = {
    "id": {
        "other_language": "English", "other_code": "en",
        "title": "Sampaikan aduan", "city_service": "Layanan aduan warga",
        "intro": "Tulis keluhan Anda. Anda langsung mendapat nomor tiket untuk memantau tindak lanjutnya.",
        "text": "Aduan Anda", "text_hint": "Apa masalahnya, sejak kapan, seberapa parah.",
        "where": "Lokasi", "kelurahan": "Kelurahan", "kelurahan_none": "- pilih kelurahan -",
        "address": "Alamat atau patokan", "address_hint": "Contoh: Jl. Danau Toba depan SDN 3",
        "coordinates": "Koordinat peta (boleh kosong)", "latitude": "Lintang (latitude)",
        "longitude": "Bujur (longitude)", "coordinates_hint": "Contoh: -7.9666 dan 112.6326",
        "photos": "Foto (maks. {max_photos}, JPEG/PNG/HEIC, maks. {max_mb} MB per foto)",
        "photos_again": "Foto belum tersimpan: pilih lagi foto Anda sebelum mengirim.",
        "contact": "Kabar perkembangan", "contact_hint": (
            "Isi nomor HP dan/atau e-mail bila ingin kabar. Kosongkan untuk aduan tanpa nama: "
            "simpan nomor tiketnya."),
        "name": "Nama (boleh kosong)", "phone": "Nomor HP", "phone_hint": "Contoh: 0812 3456 7890",
        "email": "E-mail", "honeypot": "Jangan isi kolom ini", "submit": "Kirim aduan",
        "errors_above": "Ada yang perlu diperbaiki. Lihat pesan di bawah kolom yang ditandai.",
        "csrf": "Formulir kedaluwarsa atau tidak sah. Periksa isian Anda lalu kirim lagi.",
        "bot": "Formulir tidak dapat dikirim. Kosongkan kolom 'Jangan isi kolom ini' lalu kirim lagi.",
        "done_title": "Aduan diterima", "your_ticket": "Nomor tiket Anda",
        "keep_ticket": "Catat atau foto nomor ini. Dengan nomor ini Anda bisa memantau aduan Anda.",
        "check_online": "Lihat status tiket", "check_sms": "Atau kirim SMS: CEK {digits}",
        "check_sms_to": "Atau kirim SMS ke {number}: CEK {digits}",
        "use_location": "Gunakan lokasi saya", "locating": "Mencari lokasi Anda…",
        "located": "Koordinat terisi dari lokasi perangkat Anda. Periksa, lalu kirim.",
        "location_denied": "Izin lokasi ditolak. Isi koordinat sendiri atau kosongkan.",
        "location_failed": "Lokasi tidak bisa ditemukan. Isi koordinat sendiri atau kosongkan.",
        "privacy_title": "Privasi", "privacy_more": "Selengkapnya tentang data Anda",
        "privacy_page": "Data pribadi Anda",
        "sent_sms": "Nomor tiket juga kami kirim lewat SMS ke nomor HP Anda.",
        "sent_email": "Nomor tiket juga kami kirim lewat e-mail.",
        "opted_out": "Nomor HP Anda sedang berhenti menerima kabar (STOP). Kirim SMS MULAI untuk menyalakannya.",
        "sms_refused": "Kami tidak mengirim SMS ke nomor ini: hanya ke nomor Indonesia, bukan nomor premium atau "
                       "satelit. Simpan nomor tiket di atas, atau isi e-mail lain kali.",
        "opted_out_to": (
            "Nomor HP Anda sedang berhenti menerima kabar (STOP). Kirim SMS MULAI ke {number} untuk menyalakannya."),
        "email_later": "Kabar lewat e-mail belum tersedia; pantau tiket Anda di halaman status.",
        "routed": "Aduan diteruskan ke: {agency}",
        "review": "Aduan sedang diperiksa dan akan diteruskan ke dinas terkait.",
        "another": "Kirim aduan lain", "too_many": "Terlalu banyak pengiriman. Coba lagi beberapa menit lagi.",
        "too_many_kept": (
            "Terlalu banyak pengiriman dari jaringan Anda. Isian Anda masih di bawah: tunggu beberapa menit, "
            "lalu tekan Kirim aduan lagi."),
        "too_large": "Kiriman terlalu besar (maks. {max_mb} MB per foto). Kembali dan pilih foto yang lebih kecil.",
        "ticket_title": "Status tiket", "status": "Status", "agency": "Ditangani oleh",
        "agency_none": "Belum diteruskan", "filed": "Diterima", "updated": "Diperbarui",
        "history": "Riwayat dan jawaban", "photos_count": "Foto terlampir: {count}",
        "lookup": "Cek nomor tiket", "lookup_button": "Cek", "code_label": "Nomor tiket (8 angka)",
        "not_found_title": "Tiket tidak ditemukan",
        "not_code": "'{given}' bukan nomor tiket. Nomor tiket terdiri dari 8 angka, contoh: 1234 5678.",
        "check_digit": (
            "Angka terakhir nomor tiket adalah angka pemeriksa: satu angka yang salah atau dua angka "
            "bersebelahan yang tertukar selalu ketahuan, jadi salah ketik tidak pernah membuka tiket orang lain."),
        "file_new": "Sampaikan aduan baru",
    },
    "en": {
        "other_language": "Bahasa Indonesia", "other_code": "id",
        "title": "Send a complaint", "city_service": "Citizen complaint service",
        "intro": "Write your complaint. You get a ticket number at once to follow what happens to it.",
        "text": "Your complaint", "text_hint": "What is wrong, since when, how bad.",
        "where": "Where", "kelurahan": "Kelurahan (urban village)", "kelurahan_none": "- choose a kelurahan -",
        "address": "Address or landmark", "address_hint": "E.g. Jl. Danau Toba in front of SDN 3",
        "coordinates": "Map coordinates (optional)", "latitude": "Latitude", "longitude": "Longitude",
        "coordinates_hint": "E.g. -7.9666 and 112.6326",
        "photos": "Photos (up to {max_photos}, JPEG/PNG/HEIC, up to {max_mb} MB each)",
        "photos_again": "Your photos were not kept: choose them again before sending.",
        "contact": "Updates", "contact_hint": (
            "Give a mobile number and/or e-mail for updates. Leave them empty to stay anonymous: "
            "keep the ticket number."),
        "name": "Name (optional)", "phone": "Mobile number", "phone_hint": "E.g. 0812 3456 7890",
        "email": "E-mail", "honeypot": "Leave this empty", "submit": "Send complaint",
        "errors_above": "Something needs fixing. See the messages under the marked fields.",
        "csrf": "The form expired or is not valid. Check what you typed and send it again.",
        "bot": "The form cannot be sent. Empty the field 'Leave this empty' and send again.",
        "done_title": "Complaint received", "your_ticket": "Your ticket number",
        "keep_ticket": "Write it down or take a photo: with this number you can follow your complaint.",
        "check_online": "See the ticket's status", "check_sms": "Or text: CEK {digits}",
        "check_sms_to": "Or text CEK {digits} to {number}",
        "use_location": "Use my location", "locating": "Finding your location…",
        "located": "Coordinates filled in from your device's location. Check them, then send.",
        "location_denied": "Location permission was refused. Type the coordinates or leave them empty.",
        "location_failed": "Your location could not be found. Type the coordinates or leave them empty.",
        "privacy_title": "Privacy", "privacy_more": "More about your data",
        "privacy_page": "Your personal data",
        "sent_sms": "We also sent the ticket number by SMS to your mobile.",
        "sent_email": "We also sent the ticket number by e-mail.",
        "opted_out": "Your number has stopped updates (STOP). Text START to turn them on again.",
        "sms_refused": "We send no SMS to this number: only to Indonesian numbers, never to premium or satellite "
                       "ones. Keep the ticket number above, or give an e-mail address next time.",
        "opted_out_to": "Your number has stopped updates (STOP). Text START to {number} to turn them on again.",
        "email_later": "Updates by e-mail are not available yet; follow your ticket on its status page.",
        "routed": "Sent to: {agency}",
        "review": "Your complaint is being reviewed and will be sent to the right office.",
        "another": "Send another complaint", "too_many": "Too many submissions. Please try again in a few minutes.",
        "too_many_kept": (
            "Too many submissions from your network. What you typed is still below: wait a few minutes, then "
            "press Send complaint again."),
        "too_large": "Too large (up to {max_mb} MB per photo). Go back and choose smaller photos.",
        "ticket_title": "Ticket status", "status": "Status", "agency": "Handled by",
        "agency_none": "Not yet assigned", "filed": "Received", "updated": "Updated",
        "history": "History and answers", "photos_count": "Photos attached: {count}",
        "lookup": "Check a ticket number", "lookup_button": "Check", "code_label": "Ticket number (8 digits)",
        "not_found_title": "Ticket not found",
        "not_code": "'{given}' is not a ticket number. Ticket numbers have 8 digits, e.g. 1234 5678.",
        "check_digit": (
            "The last digit of a ticket number is a check digit: one wrong digit or two neighbouring digits "
            "swapped are always caught, so a typo never opens someone else's ticket."),
        "file_new": "Send a new complaint",
    },
}

# Field error codes (channels.web.check_fields) in words.
ERRORS: dict[str, dict[str, str]] = {
    "id": {
        "required": "Wajib diisi.", "too_short": "Terlalu pendek: ceritakan sedikit lebih banyak.",
        "too_long": "Terlalu panjang.", "not_text": "Isian tidak sah.",
        "unknown_kelurahan": "Pilih kelurahan dari daftar.",
        "invalid_phone": "Nomor HP tidak valid. Contoh: 0812 3456 7890.",
        "invalid_email": "Alamat e-mail tidak valid. Contoh: nama@contoh.id.",
        "not_a_number": "Harus angka, contoh -7.9666.", "out_of_range": "Di luar rentang koordinat.",
        "needs_both_coordinates": "Isi lintang dan bujur, atau kosongkan keduanya.",
        "too_many": "Paling banyak {max_photos} foto.", "too_large": "Foto terlalu besar (maks. {max_mb} MB).",
        "empty": "File foto kosong.", "not_image": "File ini bukan foto yang bisa dibaca.",
        "wrong_type": "Hanya foto JPEG, PNG atau HEIC.",
        "too_many_pixels": "Resolusi foto terlalu besar (maks. 10.000 piksel per sisi, 40 MP).",
        "too_slow": "Foto ini tidak bisa kami proses; kirim foto yang lebih kecil.",
        "unknown_language": "Bahasa tidak dikenal.", "unknown_category": "Kategori tidak dikenal.",
    },
    "en": {
        "required": "Required.", "too_short": "Too short: please tell us a little more.", "too_long": "Too long.",
        "not_text": "Not valid.", "unknown_kelurahan": "Choose a kelurahan from the list.",
        "invalid_phone": "Not a valid mobile number. E.g. 0812 3456 7890.",
        "invalid_email": "Not a valid e-mail address. E.g. name@example.id.",
        "not_a_number": "Must be a number, e.g. -7.9666.", "out_of_range": "Outside the range of coordinates.",
        "needs_both_coordinates": "Give both latitude and longitude, or neither.",
        "too_many": "At most {max_photos} photos.", "too_large": "Photo too large (up to {max_mb} MB).",
        "empty": "The photo file is empty.", "not_image": "This file is not a photo we can read.",
        "wrong_type": "Only JPEG, PNG or HEIC photos.",
        "too_many_pixels": "The photo's resolution is too high (at most 10,000 px a side, 40 MP).",
        "too_slow": "We could not process this photo; please send a smaller one.",
        "unknown_language": "Unknown language.", "unknown_category": "Unknown category.",
    },
}


def current_language(default: str = "id") -> str:
    """The visitor's language: ``?lang=`` (remembered in the session), else the session, else the default."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    remembered = session.get("lang")
    return remembered if remembered in LANGUAGES else default


def texts(language: str) -> dict[str, str]:
    """The page texts in a language."""
    return TEXTS.get(language, TEXTS["id"])


def error_text(language: str, code: str, **values: object) -> str:
    """A field error code in words."""
    return ERRORS.get(language, ERRORS["id"]).get(code, code).format(**values)
