"""Raw inbound emails as real mail clients write them, and what desk must make of each.

Every email answers the same reply email desk sent on Tue 1 Dec 2026 at 10:15:02 UTC:

    From: Support <notices@support.shop.example>
    Reply-To: Support <reply+TOKEN@inbound.desk.test>
    To: ada@example.com
    Subject: New reply from Support
    Message-ID: <desk-email-0e6f2c1a@shop.example>

The clients quote that email's text and attribute the quote to its From, so the quote headers
name notices@support.shop.example; the reply address appears only in headers (To:, Received:
"for <...>", X-ListMember:, the bounce's report), which is where tests substitute it. Each
client sees 10:15 UTC in its own zone: 10:15 in London, 11:15 in Berlin, Paris and Madrid,
13:15 in Moscow and Riyadh.

The files use LF line endings. Inside base64 bodies the text has CRLF line endings, as
Gmail, Exchange and Yandex encode it; the 8bit and quoted-printable ones use LF.
"""

from dataclasses import dataclass
from pathlib import Path

EMAILS = Path(__file__).parent / "emails"
REPLY_ADDRESS = "reply+TOKEN@inbound.desk.test"
SENDER = "ada@example.com"
# What the replies refer to and quote: desk's reply email.
ORIGINAL_MESSAGE_ID = "<desk-email-0e6f2c1a@shop.example>"
ORIGINAL_FROM = "Support <notices@support.shop.example>"


@dataclass(frozen=True)
class Sample:
    file: str
    client: str
    language: str
    # The new text desk must post, exactly (stripped); None for the ignored ones.
    text: str | None
    # None for replies; "auto_reply" or "bounce" otherwise.
    ignored: str | None

    def raw(self, *, reply_address: str = REPLY_ADDRESS, sender: str = SENDER) -> bytes:
        """The email's bytes with the placeholders replaced."""
        data = (EMAILS / self.file).read_bytes()
        return data.replace(REPLY_ADDRESS.encode(), reply_address.encode()).replace(
            SENDER.encode(), sender.encode()
        )


REPLIES: list[Sample] = [
    # multipart/alternative; text/plain in quoted-printable because of the U+202F (narrow
    # no-break space) Gmail puts before "AM"; the quote header is wrapped before "wrote:";
    # "> " quoting with bare ">" for empty lines; received through Postmark with DKIM.
    Sample(
        file="gmail_web_en.eml",
        client="Gmail web",
        language="en",
        text="Thanks, that's great news!\n\nWill someone need to sign for it?",
        ignored=None,
    ),
    # Both parts base64 (Gmail's choice for Cyrillic), CRLF inside; "вт, 1 дек. 2026 г. в
    # 13:15, Support <...>:" with no verb; the display name as an encoded word.
    Sample(
        file="gmail_web_ru.eml",
        client="Gmail web",
        language="ru",
        text="Спасибо, отличная новость!\n\nА курьер позвонит перед доставкой?",
        ignored=None,
    ),
    # Classic Outlook for Windows (Microsoft 365) through Exchange Online: Windows-1252
    # quoted-printable (the smart apostrophe is =92), Word HTML with MsoNormal paragraphs, the
    # unquoted "From: ... / Sent: ... / To: ... / Subject: ..." block (no underscores, a
    # trailing space after the From line, en-GB date), "url<url>" links in the quoted text.
    # The signature has no delimiter anywhere, so it stays part of the text.
    Sample(
        file="outlook_en.eml",
        client="Outlook for Windows (Microsoft 365)",
        language="en",
        text=(
            "Hi,\n\nCould you send me the tracking number, please? I\u2019d like to keep an eye on"
            " it.\n\nAda Lovelace\nAcme Ltd | +44 20 7946 0000"
        ),
        ignored=None,
    ),
    # Outlook on the web / new Outlook: the "________________________________" line, then
    # the From/Sent/To/Subject block; HTML with divRplyFwdMsg and the quoted PlainText div.
    Sample(
        file="outlook_web_en.eml",
        client="Outlook on the web",
        language="en",
        text="Thanks, I'll be home all afternoon.\n\nAda",
        ignored=None,
    ),
    # Russian Outlook: KOI8-R, both parts base64, "От: / Отправлено: / Кому: / Тема:";
    # subject prefix "RE:"; the sign-off (no delimiter) stays.
    Sample(
        file="outlook_ru.eml",
        client="Outlook for Windows (Microsoft 365)",
        language="ru",
        text=(
            "Добрый день!\n\nПодскажите, пожалуйста, когда примерно ждать курьера?\n\n"
            "С уважением,\nАда Лавлейс"
        ),
        ignored=None,
    ),
    # Apple Mail puts the attribution inside the quote: "> On 1 Dec 2026, at 10:15, ...
    # wrote:", empty quoted lines are "> "; text/plain 7bit us-ascii, HTML quoted-printable
    # broken after spaces; boundary "Apple-Mail=_<UUID>".
    Sample(
        file="apple_mail_en.eml",
        client="Apple Mail 16 (macOS)",
        language="en",
        text=(
            "Morning! If I'm out, could the courier leave it with my neighbour at number 12?"
            "\n\nThanks,\nAda"
        ),
        ignored=None,
    ),
    # "> 1 дек. 2026 г., в 13:15, Support <...> написал(а):"; UTF-8 quoted-printable.
    Sample(
        file="apple_mail_ru.eml",
        client="Apple Mail 16 (macOS)",
        language="ru",
        text=(
            "Здравствуйте! Спасибо, что так быстро ответили.\n\n"
            "Подскажите, можно будет забрать посылку в пункте выдачи?"
        ),
        ignored=None,
    ),
    # iOS Mail: "Sent from my iPhone", then "> On Dec 1, 2026, at 10:15 AM, ... wrote:"
    # (U+202F before AM), ">=20" empty lines and a "> U+FEFF" line iOS leaves at the top of
    # the quote; boundary "Apple-Mail-<UUID>" unquoted, Mime-Version "1.0 (1.0)".
    Sample(
        file="iphone_en.eml",
        client="iOS Mail",
        language="en",
        text="Great, thank you! Which courier is it coming with?",
        ignored=None,
    ),
    # "Отправлено с iPhone" and "> 1 дек. 2026 г., в 13:15, Support <...> написал(а):".
    Sample(
        file="iphone_ru.eml",
        client="iOS Mail",
        language="ru",
        text="Отлично, спасибо!\n\nА можно перенести доставку на завтра?",
        ignored=None,
    ),
    # The Gmail app: "On Tue, 1 Dec 2026, 10:15 Support, <...> wrote:" (the comma after the
    # name), <div dir="auto">; text/plain plain 7bit with no Content-Transfer-Encoding.
    Sample(
        file="android_gmail_en.eml",
        client="Gmail for Android",
        language="en",
        text="Ok brilliant, thanks. I'm in after 2pm if that helps.",
        ignored=None,
    ),
    # Thunderbird in plain-text mode with its defaults: the answer BELOW the quote
    # ("Am 01.12.26 um 11:15 schrieb Support:"), text/plain only, format=flowed (the long
    # sentence is wrapped at 72 with trailing spaces and must be joined again), 8bit UTF-8,
    # an RFC 3676 "-- " signature to drop.
    Sample(
        file="thunderbird_de.eml",
        client="Thunderbird",
        language="de",
        text=(
            "Vielen Dank! Können Sie mir bitte noch sagen, ob ich bei der Zustellung zu Hause"
            " sein muss, oder darf der Bote das Paket beim Nachbarn abgeben?\n\nViele Grüße\nAda"
        ),
        ignored=None,
    ),
    # "Le mar. 1 déc. 2026 à 11:15, Support <...> a" / "écrit :" (wrapped, U+00A0 before the
    # colon); quoted-printable.
    Sample(
        file="gmail_fr.eml",
        client="Gmail web",
        language="fr",
        text="Merci beaucoup !\n\nLe livreur peut-il laisser le colis chez la gardienne ?",
        ignored=None,
    ),
    # "El mar, 1 dic 2026 a las 11:15, Support (<...>)" / "escribió:" (address in
    # parentheses, wrapped).
    Sample(
        file="gmail_es.eml",
        client="Gmail web",
        language="es",
        text="¡Genial, muchas gracias!\n\n¿Sabéis a qué hora más o menos llegará el repartidor?",
        ignored=None,
    ),
    # Right-to-left: <div dir="rtl">, base64, "في الثلاثاء، 1 ديسمبر 2026 في 1:15 م تمت كتابة
    # ما يلي بواسطة Support <...>:" wrapped, with the bidi controls Gmail adds (U+202B, U+202A,
    # U+202C, U+200F) around the line, the name and the address.
    Sample(
        file="gmail_ar.eml",
        client="Gmail web",
        language="ar",
        text=(
            "شكراً جزيلاً على الرد السريع!\n\nهل يمكنني استلام الطرد من مكتب البريد بدلاً من التوصيل؟"
        ),
        ignored=None,
    ),
    # Yandex Mail on the web sends text/html only, base64, no <html> element: the answer in
    # <div>s (a <div>U+00A0</div> is a blank line), then
    # '<div>01.12.2026, 10:15, "Support" &lt;...&gt;:</div><blockquote>...'.
    Sample(
        file="html_only_en.eml",
        client="Yandex Mail (web)",
        language="en",
        text="Thank you! I'll be at home after 3 pm.\n\nAda",
        ignored=None,
    ),
    # K-9 Mail with "signature before quoted text": the answer, "-- " and a two-line
    # signature, then "On December 1, 2026 10:15:02 AM UTC, Support <...> wrote:" and the
    # quote with K-9's default ">" prefix (no space); text/plain only, quoted-printable.
    Sample(
        file="top_posting_with_signature_dashdash_en.eml",
        client="K-9 Mail (Android)",
        language="en",
        text="Thanks! I'll be in all afternoon, so any time is fine.",
        ignored=None,
    ),
]

IGNORED: list[Sample] = [
    # Exchange Online's automatic reply: "auto-submitted: auto-generated" (lower case, and
    # "auto-generated", not "auto-replied", is what Exchange writes), "X-Auto-Response-Suppress:
    # All", x-ms-exchange-generated-message-source, "Automatic reply:" subject, Return-Path
    # <MAILER-DAEMON> as Postmark reports it. X-Auto-Response-Suppress alone proves nothing:
    # it asks others not to auto-reply.
    Sample(
        file="ooo_exchange_en.eml",
        client="Exchange Online automatic replies",
        language="en",
        text=None,
        ignored="auto_reply",
    ),
    # Gmail's vacation responder: text/html only, "Precedence: bulk", "Auto-Submitted:
    # auto-replied", no In-Reply-To or References; the subject is the responder's own
    # followed by "Re: <original subject>".
    Sample(
        file="vacation_gmail_ru.eml",
        client="Gmail vacation responder",
        language="ru",
        text=None,
        ignored="auto_reply",
    ),
    # A mail server's autoresponder that marks itself only with "X-Autoreply: yes" (and an
    # "Автоответ:" subject): no Auto-Submitted, no Precedence, no threading headers.
    Sample(
        file="ooo_no_header_ru.eml",
        client="Hosting autoresponder",
        language="ru",
        text=None,
        ignored="auto_reply",
    ),
    # An Exim-run autoresponder that marks itself only with "Precedence: auto_reply".
    Sample(
        file="ooo_precedence_en.eml",
        client="Hosting autoresponder (Exim)",
        language="en",
        text=None,
        ignored="auto_reply",
    ),
    # Dovecot Pigeonhole's Sieve vacation: "Auto-Submitted: auto-replied (vacation)" (a
    # comment in the value), "Precedence: bulk", Return-Path <>, To: in angle brackets only.
    Sample(
        file="vacation_sieve_de.eml",
        client="Dovecot Sieve vacation",
        language="de",
        text=None,
        ignored="auto_reply",
    ),
    # A Postfix DSN: multipart/report; report-type=delivery-status, message/delivery-status,
    # text/rfc822-headers, Return-Path <>, From MAILER-DAEMON. Postfix also adds
    # "Auto-Submitted: auto-replied": "bounce" must win over "auto_reply".
    Sample(
        file="bounce_dsn.eml",
        client="Postfix",
        language="en",
        text=None,
        ignored="bounce",
    ),
    # A phpList newsletter from Ada's own company whose list somehow holds the reply address
    # (X-ListMember): "Precedence: bulk", List-Id, List-Unsubscribe; From is Ada herself.
    Sample(
        file="list_bulk_en.eml",
        client="phpList newsletter",
        language="en",
        text=None,
        ignored="auto_reply",
    ),
]
