"""Twilio webhook bodies in the exact shape Twilio posts them (form-encoded, all its fields).

Field sets follow captured Twilio requests (as in nyaruka/courier's twiml test data), with Indonesian
numbers: an SMS, an MMS with two photos, a WhatsApp text and a WhatsApp photo, and status callbacks.
"""

ACCOUNT = "AC0123456789abcdef0123456789abcdef"

SMS = (
    "ToCountry=US&ToState=CA&SmsMessageSid=SM5f8a1c2e9b7d4e3f8a1c2e9b7d4e3f01&NumMedia=0&ToCity=&FromZip=&"
    "SmsSid=SM5f8a1c2e9b7d4e3f8a1c2e9b7d4e3f01&FromState=&SmsStatus=received&FromCity=&"
    "Body=jalan+rusak+berlubang+depan+SDN+3+Sawojajar&FromCountry=ID&To=%2B15005550006&ToZip=&NumSegments=1&"
    "MessageSid=SM5f8a1c2e9b7d4e3f8a1c2e9b7d4e3f01&AccountSid=" + ACCOUNT + "&From=%2B6281234567890&"
    "ApiVersion=2010-04-01"
)

MMS = (
    "ToCountry=US&MediaContentType0=image%2Fjpeg&ToState=CA&SmsMessageSid=MM7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f&"
    "NumMedia=2&ToCity=&FromZip=&SmsSid=MM7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f&FromState=&SmsStatus=received&"
    "FromCity=&Body=sampah+numpuk+di+TPS+Jl.+Bantaran&FromCountry=ID&To=%2B15005550006&ToZip=&NumSegments=1&"
    "MessageSid=MM7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f&AccountSid=" + ACCOUNT + "&From=%2B6285655512345&"
    "MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2F" + ACCOUNT + "%2FMessages%2F"
    "MM7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f%2FMedia%2FME0a1b2c3d4e5f60718293a4b5c6d7e8f9&"
    "MediaContentType1=image%2Fpng&"
    "MediaUrl1=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2F" + ACCOUNT + "%2FMessages%2F"
    "MM7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f%2FMedia%2FME1b2c3d4e5f60718293a4b5c6d7e8f90a&"
    "ApiVersion=2010-04-01"
)

WHATSAPP = (
    "SmsMessageSid=SM9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b&NumMedia=0&ProfileName=Siti+Aminah&MessageType=text&"
    "SmsSid=SM9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b&WaId=6281298765432&SmsStatus=received&"
    "Body=PJU+mati+di+jl.+Danau+Toba+sudah+seminggu&To=whatsapp%3A%2B14155238886&NumSegments=1&"
    "ReferralNumMedia=0&MessageSid=SM9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b&AccountSid=" + ACCOUNT + "&"
    "From=whatsapp%3A%2B6281298765432&ApiVersion=2010-04-01"
)

WHATSAPP_PHOTO = (
    "MediaContentType0=image%2Fjpeg&SmsMessageSid=MMa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6&NumMedia=1&"
    "ProfileName=Budi&MessageType=image&SmsSid=MMa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6&WaId=6281311122233&"
    "SmsStatus=received&Body=&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&"
    "MessageSid=MMa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6&AccountSid=" + ACCOUNT + "&From=whatsapp%3A%2B6281311122233&"
    "MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2F" + ACCOUNT + "%2FMessages%2F"
    "MMa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6%2FMedia%2FME2c3d4e5f60718293a4b5c6d7e8f90a1b&ApiVersion=2010-04-01"
)


def status_body(sid: str, status: str, error_code: str | None = None, to: str = "%2B6281234567890") -> str:
    """A status callback as Twilio posts it for an outbound message."""
    body = (f"SmsSid={sid}&SmsStatus={status}&MessageStatus={status}&To={to}&MessageSid={sid}&"
            f"AccountSid={ACCOUNT}&From=%2B15005550006&ApiVersion=2010-04-01")
    if error_code:
        body += f"&ErrorCode={error_code}"
    return body

# A WhatsApp location pin: coordinates, with the place's name and address when the citizen picked a place
# (a bare "send your current location" has Latitude and Longitude only). Body is empty.
WHATSAPP_LOCATION = (
    "Latitude=-7.9826&Longitude=112.6308&Address=Jl.+Merdeka+Sel.%2C+Kiduldalem%2C+Kec.+Klojen%2C+Kota+Malang&"
    "Label=Alun-Alun+Merdeka+Malang&SmsMessageSid=SM3c4d5e6f708192a3b4c5d6e7f8091a2b&NumMedia=0&"
    "ProfileName=Siti+Aminah&MessageType=location&SmsSid=SM3c4d5e6f708192a3b4c5d6e7f8091a2b&WaId=6281298765432&"
    "SmsStatus=received&Body=&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&"
    "MessageSid=SM3c4d5e6f708192a3b4c5d6e7f8091a2b&AccountSid=" + ACCOUNT + "&From=whatsapp%3A%2B6281298765432&"
    "ApiVersion=2010-04-01"
)

WHATSAPP_CURRENT_LOCATION = (
    "Latitude=-7.9412345&Longitude=112.6154321&SmsMessageSid=SM4d5e6f708192a3b4c5d6e7f8091a2b3c&NumMedia=0&"
    "ProfileName=Siti+Aminah&MessageType=location&SmsSid=SM4d5e6f708192a3b4c5d6e7f8091a2b3c&WaId=6281298765432&"
    "SmsStatus=received&Body=&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&"
    "MessageSid=SM4d5e6f708192a3b4c5d6e7f8091a2b3c&AccountSid=" + ACCOUNT + "&From=whatsapp%3A%2B6281298765432&"
    "ApiVersion=2010-04-01"
)

# A WhatsApp voice note: a file, but not a photo.
WHATSAPP_VOICE_NOTE = (
    "MediaContentType0=audio%2Fogg&SmsMessageSid=MMb2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7&NumMedia=1&"
    "ProfileName=Budi&MessageType=audio&SmsSid=MMb2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7&WaId=6281311122233&"
    "SmsStatus=received&Body=&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&"
    "MessageSid=MMb2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7&AccountSid=" + ACCOUNT + "&From=whatsapp%3A%2B6281311122233&"
    "MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2F" + ACCOUNT + "%2FMessages%2F"
    "MMb2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7%2FMedia%2FME3d4e5f60718293a4b5c6d7e8f90a1b2c&ApiVersion=2010-04-01"
)

# The status callback of a WhatsApp message WhatsApp refused: outside the 24-hour window (error 63016).
WHATSAPP_FAILED_63016 = (
    "ChannelPrefix=whatsapp&ApiVersion=2010-04-01&MessageStatus=failed&SmsSid={sid}&SmsStatus=failed&"
    "ChannelInstallSid=XE0123456789abcdef0123456789abcdef&ErrorMessage=&To=whatsapp%3A%2B6281298765432&"
    "From=whatsapp%3A%2B14155238886&MessageSid={sid}&StructuredMessage=false&AccountSid=" + ACCOUNT + "&"
    "ChannelToAddress=%2B6281298765432&ErrorCode=63016"
)
