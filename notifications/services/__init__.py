"""Every write about reply emails; tasks, views and signal receivers call these.

- reply_emails: deciding about a reply once, sending an email once, recovering lost work
- click_back: the email's link back into the chat
- preferences: unsubscribing, and addresses suppressed after a bounce or a complaint
"""

from notifications.services.click_back import Opened, reply_email_open
from notifications.services.preferences import (
    address_normalize,
    address_suppress,
    email_resubscribe,
    email_unsubscribe,
    preference_by_token,
    tracking_event_record,
)
from notifications.services.reply_emails import (
    Delivery,
    Outcome,
    Sweep,
    reply_email_claim,
    reply_email_deliver,
    reply_emails_sweep,
    retry_delay,
)

__all__ = [
    "Delivery",
    "Opened",
    "Outcome",
    "Sweep",
    "address_normalize",
    "address_suppress",
    "email_resubscribe",
    "email_unsubscribe",
    "preference_by_token",
    "reply_email_claim",
    "reply_email_deliver",
    "reply_email_open",
    "reply_emails_sweep",
    "retry_delay",
    "tracking_event_record",
]
