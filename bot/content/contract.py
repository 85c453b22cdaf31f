"""The system texts the code renders, the fields the code supplies to each, and what each field may hold.

The catalog must provide exactly these keys, and an entry may use only the fields listed here. Fields are
typed: a placeholder is a way to put the *recipient's own* data or a code value into an approved text, never
a way to smuggle free text past the gate. So a field holds a person's name, a number, a code word, or lines
that were themselves rendered from the catalog — and the renderer checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class Field(Enum):
    NAME = "name"
    """A person's own display name (their Telegram first name): one line, at most 64 characters."""
    NUMBER = "number"
    """An integer: a Telegram id, a count."""
    WORD = "word"
    """A code identifier such as a role name: lower-case letters, digits and _."""
    WORDS = "words"
    """A list of WORDs, shown comma-separated."""
    LINES = "lines"
    """Fragments rendered from the catalog (`Renderer.fragment`), shown one per line."""
    CHECKPOINT = "checkpoint"
    """A signed audit checkpoint (a C2SP signed note), for anchoring it in a compliance chat."""
    DATE = "date"
    """A moment (seconds since the epoch), shown in UTC as `2026-11-29 06:30 UTC`."""
    VERSION = "version"
    """A version label such as the privacy notice's `2026-11`: 1-32 of A-Z a-z 0-9 . _ -."""
    MASKED = "masked"
    """A masked value shown to staff (`•••• 1111`): one line, at most 100 characters, with a mask in it."""
    CODE = "code"
    """A promo code of an approved offer (4-20 of A-Z 0-9) or a verification code (`V-XXXX-XXXX-XXXX`)."""


SYSTEM_TEXTS: Mapping[str, Mapping[str, Field]] = {
    "start.greeting": {"first_name": Field.NAME},
    "help.menu": {},
    "faq.fallback": {},
    "button.back_to_menu": {},
    "callback.expired": {},
    "message.unsupported": {},
    "error.generic": {},
    "staff.refused": {},
    "roles.list": {"grants": Field.LINES},
    "roles.list_row": {"user_id": Field.NUMBER, "role": Field.WORD, "source": Field.WORD},
    "roles.list_more": {"count": Field.NUMBER},
    "roles.list_empty": {},
    "roles.usage": {"roles": Field.WORDS},
    "roles.granted": {"user_id": Field.NUMBER, "role": Field.WORD},
    "roles.revoked": {"user_id": Field.NUMBER, "role": Field.WORD},
    "roles.unchanged": {"user_id": Field.NUMBER, "role": Field.WORD},
    "roles.self_revoke": {},
    "audit.checkpoint": {"checkpoint": Field.CHECKPOINT},
    "audit.intact": {"entries": Field.NUMBER, "checkpoint": Field.NUMBER, "unanchored": Field.NUMBER},
    "audit.intact_unanchored": {"entries": Field.NUMBER, "checkpoint": Field.NUMBER},
    "audit.broken": {"entries": Field.NUMBER, "first_bad": Field.NUMBER},
    "audit.unverifiable": {"entries": Field.NUMBER},
    "command.start": {},
    "command.help": {},
    "command.privacy": {},
    "command.stop": {},
    "command.mydata": {},
    "command.forget": {},
    # Onboarding and consent (the notice itself is the catalog's [notice] entry)
    "consent.required": {},
    "consent.updated": {"version": Field.VERSION},
    "consent.accepted": {"version": Field.VERSION},
    "consent.marketing_on": {},
    "consent.marketing_off": {},
    "consent.stopped": {},
    "consent.notice_withdrawn": {},
    "consent.saved": {},
    "button.accept_notice": {},
    "button.marketing_yes": {},
    "button.marketing_no": {},
    "button.withdraw_notice": {},
    "button.unsubscribe": {},
    # /privacy
    "privacy.status": {"notice": Field.LINES, "marketing": Field.LINES},
    "privacy.notice_current": {"version": Field.VERSION, "date": Field.DATE},
    "privacy.notice_outdated": {"version": Field.VERSION, "date": Field.DATE, "current": Field.VERSION},
    "privacy.notice_withdrawn": {"date": Field.DATE, "current": Field.VERSION},
    "privacy.notice_none": {"current": Field.VERSION},
    "privacy.marketing_granted": {"date": Field.DATE, "until": Field.DATE},
    "privacy.marketing_expired": {"date": Field.DATE},
    "privacy.marketing_old_notice": {"date": Field.DATE},
    "privacy.marketing_withdrawn": {"date": Field.DATE},
    "privacy.marketing_never": {},
    # /mydata and /forget
    "mydata.caption": {},
    "mydata.too_soon": {"minutes": Field.NUMBER},
    "forget.confirm": {},
    "forget.done": {},
    "forget.cancelled": {},
    "button.forget_yes": {},
    "button.forget_no": {},
    # Offers and their verification
    "command.offers": {},
    "command.verify": {},
    "offers.none": {},
    "offers.card": {"offer": Field.LINES, "code": Field.CODE, "until": Field.DATE, "check": Field.CODE},
    "verify.usage": {},
    "verify.genuine": {"until": Field.DATE},
    "verify.expired": {},
    "verify.not_yours": {},
    "verify.unknown": {},
    "verify.no_code": {},
    # Proposing an offer (marketing) and deciding on it (compliance)
    "offer_new.ask_text": {},
    "offer_new.bad_text": {},
    "offer_new.ask_discount": {},
    "offer_new.bad_discount": {"max": Field.NUMBER},
    "offer_new.ask_code": {},
    "offer_new.bad_code": {},
    "offer_new.ask_until": {},
    "offer_new.bad_until": {},
    "offer_new.ask_audience": {},
    "offer_new.preview": {
        "offer": Field.LINES,
        "discount": Field.NUMBER,
        "code": Field.CODE,
        "until": Field.DATE,
        "audience": Field.WORD,
    },
    "offer_new.submitted": {"id": Field.NUMBER},
    "offer_edit.usage": {},
    "offer_withdraw.usage": {},
    "offer_withdraw.done": {"id": Field.NUMBER},
    "offer_new.refused": {"check": Field.WORD, "kind": Field.WORD},
    "offer_new.cancelled": {},
    "button.audience_everyone": {},
    "button.audience_opted_in": {},
    "button.submit": {},
    "button.cancel": {},
    "pending.empty": {},
    "pending.item": {
        "id": Field.NUMBER,
        "author": Field.NUMBER,
        "offer": Field.LINES,
        "discount": Field.NUMBER,
        "code": Field.CODE,
        "until": Field.DATE,
        "audience": Field.WORD,
    },
    "decide.usage": {},
    "decide.approved": {"id": Field.NUMBER},
    "decide.rejected": {"id": Field.NUMBER},
    "decide.not_found": {"id": Field.NUMBER},
    "decide.not_pending": {"id": Field.NUMBER},
    "decide.own": {"id": Field.NUMBER},
    "proposal.approved_notice": {"id": Field.NUMBER},
    "proposal.rejected_notice": {"id": Field.NUMBER},
    "proposal.pending_notice": {"id": Field.NUMBER},
    "gate.refused_alert": {"check": Field.WORD, "kind": Field.WORD},
    # Sensitive data typed into the chat
    "sensitive.removed": {"kinds": Field.WORDS},
    # Secure form web pages (bot/forms/): shown in a browser, not sent through the gate
    "form.page.title": {},
    "form.page.intro": {},
    "form.page.optional": {},
    "form.page.submit": {},
    "form.page.errors": {},
    "form.page.error_required": {},
    "form.page.error_too_long": {},
    "form.page.error_invalid": {},
    "form.page.error_expired": {},
    "form.page.received_title": {},
    "form.page.received": {},
    "form.page.already_received": {},
    "form.page.invalid_title": {},
    "form.page.invalid": {},
    "form.page.refused_title": {},
    "form.page.refused": {},
    "form.page.stale_title": {},
    "form.page.stale": {},
    "form.page.too_many_title": {},
    "form.page.too_many": {},
    "form.page.error_title": {},
    "form.page.error": {},
    "secure.link": {"purpose": Field.LINES, "minutes": Field.NUMBER},
    "secure.received": {"purpose": Field.LINES},
    "button.open_form": {},
    "secure.usage": {"forms": Field.WORDS},
    "secure.sent": {"user_id": Field.NUMBER, "form": Field.WORD},
    "secure.not_customer": {"user_id": Field.NUMBER},
    "submissions.none": {"user_id": Field.NUMBER},
    "submissions.usage": {},
    "submissions.item": {"form": Field.WORD, "date": Field.DATE, "fields": Field.LINES},
    "submissions.field": {"name": Field.WORD, "value": Field.MASKED},
    # Handoff to a person
    "command.agent": {},
    "button.talk_to_person": {},
    "handoff.opened": {"position": Field.NUMBER},
    "handoff.joined": {},
    "handoff.closed": {},
    "handoff.new": {
        "id": Field.NUMBER,
        "first_name": Field.NAME,
        "language": Field.WORD,
        "recent": Field.LINES,
    },
    "handoff.queue": {"tickets": Field.LINES},
    "handoff.queue_row": {"id": Field.NUMBER, "minutes": Field.NUMBER},
    "handoff.queue_empty": {},
    "handoff.take_usage": {},
    "handoff.taken": {"id": Field.NUMBER, "first_name": Field.NAME},
    "handoff.already_taken": {"id": Field.NUMBER},
    "handoff.gone": {"id": Field.NUMBER},
    "handoff.recorded": {},
    "handoff.relay": {
        "id": Field.NUMBER,
        "first_name": Field.NAME,
        "message": Field.LINES,
        "current": Field.NUMBER,
    },
    "handoff.no_ticket": {},
    "handoff.released": {"id": Field.NUMBER},
    "handoff.closed_agent": {"id": Field.NUMBER},
    "handoff.refused": {"check": Field.WORD, "kind": Field.WORD},
    "handoff.customer_left": {"id": Field.NUMBER},
    "handoff.customer_stopped": {"id": Field.NUMBER},
    "review.waiting": {"id": Field.NUMBER},
    "review.pending_notice": {"id": Field.NUMBER},
    "review.item": {
        "id": Field.NUMBER,
        "ticket": Field.NUMBER,
        "agent": Field.NUMBER,
        "message": Field.LINES,
    },
    "review.sent": {"id": Field.NUMBER},
    "review.rejected": {"id": Field.NUMBER},
    "review.not_sent": {"id": Field.NUMBER, "check": Field.WORD, "kind": Field.WORD},
    "handoff.reply_usage": {"keys": Field.WORDS},
    "handoff.rate_thanks": {},
    "button.rate_good": {},
    "button.rate_ok": {},
    "button.rate_poor": {},
    "handoff.transfer_usage": {},
    "handoff.transferred": {"id": Field.NUMBER, "agent": Field.NUMBER},
    "handoff.transfer_in": {"id": Field.NUMBER, "first_name": Field.NAME},
    "handoff.not_an_agent": {"agent": Field.NUMBER},
    "handoff.free_text_denied": {},
    "handoff.escalated": {"id": Field.NUMBER, "minutes": Field.NUMBER},
    "handoff.idle_closed_agent": {"id": Field.NUMBER},
}

SHORT_TEXTS: Mapping[str, int] = {
    "callback.expired": 200,
    "consent.saved": 200,
}
"""Texts shown where Telegram allows less than a message's 4096 characters (a callback answer: 200).
Keys starting with `button.` or `command.` are labels, limited to 64."""
