"""Payloads of every event of SMS Gateway for Android, as the app sends them (its swagger.json schemas).

One per event of the app's enum (``smsgateway.WebhookEvent``), with the fields the app fills today: the
citizen is ``sender`` (``phoneNumber`` is deprecated and left out, as in the app's own examples since early
2026), ``recipient`` is the SIM's own number, ``simNumber`` the slot. ``test_android_sms.py`` checks each
against the app's schema (``android_sms_contract.check_event``), so they stay the app's.
"""

from __future__ import annotations

import base64
import io
from typing import Any

RECEIVED_AT = "2026-11-23T09:46:11.000+07:00"
CITIZEN, CITY_SIM = "+6281234567890", "+6281155500100"


def sms_received(text: str = "lampu PJU mati di jl. Danau Toba", sender: str = CITIZEN, sim: int | None = 1,
                 received_at: str = RECEIVED_AT, message_id: str = "6c2f5b1e") -> dict[str, Any]:
    return {"messageId": message_id, "message": text, "sender": sender, "recipient": CITY_SIM, "simNumber": sim,
            "receivedAt": received_at}


def sms_received_legacy(text: str = "lampu PJU mati di jl. Danau Toba", phone: str = "081234567890",
                        sim: int | None = 1) -> dict[str, Any]:
    """An app from before ``sender``: only the deprecated ``phoneNumber``."""
    return {"messageId": "6c2f5b1e", "message": text, "phoneNumber": phone, "simNumber": sim,
            "receivedAt": RECEIVED_AT}


def sms_data_received() -> dict[str, Any]:
    return {"messageId": "a90c11d2", "data": base64.b64encode(b"\x01\x02PING").decode(), "sender": CITIZEN,
            "recipient": CITY_SIM, "simNumber": 1, "receivedAt": RECEIVED_AT}


def mms_received() -> dict[str, Any]:
    return {"messageId": "mms-7781", "sender": CITIZEN, "recipient": CITY_SIM, "simNumber": 1,
            "transactionId": "T18c2f9a1b3e", "subject": None, "size": 125684, "contentClass": "IMAGE_BASIC",
            "receivedAt": RECEIVED_AT}


def mms_downloaded(body: str | None = "jalan berlubang besar depan SDN 3 Sawojajar, fotonya terlampir",
                   photos: int = 1, sender: str = CITIZEN) -> dict[str, Any]:
    smil = b'<smil><body><par><img src="IMG_20261123.jpg"/><text src="text_0.txt"/></par></body></smil>'
    attachments: list[dict[str, Any]] = [
        {"partId": 811, "contentType": "application/smil", "name": "smil.xml", "size": len(smil),
         "data": base64.b64encode(smil).decode()},
    ]
    for n in range(photos):
        jpeg = photo_with_gps()
        attachments.append({"partId": 812 + n, "contentType": "image/jpeg", "name": f"IMG_20261123_{n}.jpg",
                            "size": len(jpeg), "data": base64.b64encode(jpeg).decode()})
    if body:
        attachments.append({"partId": 830, "contentType": "text/plain", "name": "text_0.txt",
                            "size": len(body.encode()), "data": base64.b64encode(body.encode()).decode()})
    return {"messageId": "1042", "sender": sender, "recipient": CITY_SIM, "simNumber": 1, "subject": None,
            "body": body, "attachments": attachments, "receivedAt": RECEIVED_AT}


def sms_sent(message_id: str) -> dict[str, Any]:
    return {"messageId": message_id, "phoneNumber": CITIZEN, "recipient": CITIZEN, "simNumber": 1,
            "sentAt": "2026-11-23T09:47:00.000+07:00"}


def sms_delivered(message_id: str) -> dict[str, Any]:
    return {"messageId": message_id, "phoneNumber": CITIZEN, "recipient": CITIZEN, "simNumber": 1,
            "deliveredAt": "2026-11-23T09:47:05.000+07:00"}


def sms_failed(message_id: str, reason: str = "RESULT_ERROR_LIMIT_EXCEEDED") -> dict[str, Any]:
    return {"messageId": message_id, "phoneNumber": CITIZEN, "recipient": CITIZEN, "simNumber": 1,
            "reason": reason, "failedAt": "2026-11-23T09:47:05.000+07:00"}


def system_ping() -> dict[str, Any]:
    return {}


STATUS_PAYLOADS = {"sms:sent": sms_sent, "sms:delivered": sms_delivered, "sms:failed": sms_failed}


def photo_with_gps(width: int = 64, height: int = 48) -> bytes:
    """A phone camera's JPEG: EXIF with the camera and a GPS position, which must never be kept."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (180, 120, 60))
    exif = Image.Exif()
    exif[0x010F] = "Samsung"  # Make
    exif[0x0110] = "SM-A155F"  # Model
    exif[0x8825] = {1: "S", 2: (7.0, 58.0, 0.0), 3: "E", 4: (112.0, 37.0, 0.0)}  # GPSInfo: Malang
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()
