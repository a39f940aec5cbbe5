"""Every write about desk's emails; tasks, views and signal receivers call these.

- reply_emails: deciding about a reply once, sending an email once, recovering lost work
- contact_emails: an embedded person's address confirmation and guest link, and the
  confirmation link
- sending: claiming, sending and recording any one email (both kinds above)
- click_back: the reply email's link back into the chat
- preferences: unsubscribing, and addresses suppressed after a bounce or a complaint
- inbound: replies by email, posted to the chat or recorded as ignored
- staff_alerts: emailing staff about a person's message nobody opened or answered in time
- languages: the language of the pages behind an email's links
"""

from notifications.services.click_back import Opened, reply_email_open
from notifications.services.contact_emails import (
    Confirmation,
    ContactSweep,
    address_confirm,
    confirmation_email_request,
    contact_email_deliver,
    contact_emails_sweep,
    invitation_email_request,
)
from notifications.services.inbound import inbound_email_receive
from notifications.services.languages import (
    confirm_link_language,
    open_link_language,
    preference_language,
)
from notifications.services.preferences import (
    address_normalize,
    address_suppress,
    email_resubscribe,
    email_unsubscribe,
    preference_by_token,
    tracking_event_record,
)
from notifications.services.reply_emails import (
    Sweep,
    reply_email_claim,
    reply_email_deliver,
    reply_emails_move,
    reply_emails_sweep,
)
from notifications.services.sending import Delivery, Outcome, retry_delay
from notifications.services.staff_alerts import (
    StaffAlertSweep,
    staff_alert_claim,
    staff_alert_deliver,
    staff_alert_scope,
    staff_alert_scope_set,
    staff_alerts_move,
    staff_alerts_sweep,
    staff_reader_record,
)

__all__ = [
    "Confirmation",
    "ContactSweep",
    "Delivery",
    "Opened",
    "Outcome",
    "StaffAlertSweep",
    "Sweep",
    "address_confirm",
    "address_normalize",
    "address_suppress",
    "confirm_link_language",
    "confirmation_email_request",
    "contact_email_deliver",
    "contact_emails_sweep",
    "email_resubscribe",
    "email_unsubscribe",
    "inbound_email_receive",
    "invitation_email_request",
    "open_link_language",
    "preference_by_token",
    "preference_language",
    "reply_email_claim",
    "reply_email_deliver",
    "reply_email_open",
    "reply_emails_move",
    "reply_emails_sweep",
    "retry_delay",
    "staff_alert_claim",
    "staff_alert_deliver",
    "staff_alert_scope",
    "staff_alert_scope_set",
    "staff_alerts_move",
    "staff_alerts_sweep",
    "staff_reader_record",
    "tracking_event_record",
]
