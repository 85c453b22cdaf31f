"""Consent as policy: what a customer agreed to, derived from their ledger of grants and withdrawals.

Nothing here knows Telegram or storage. The ledger is append-only: a choice is never edited, a newer event
supersedes it, so the history proves what was agreed to, when, how, and under which notice version.

Two scopes, chosen separately and never pre-selected:
- `notice`: acceptance of the privacy notice, needed to chat at all. It is bound to the notice's version:
  when the catalog's notice changes, an older acceptance no longer counts and the customer is asked again.
- `marketing`: offers and news, optional. Valid only while the customer has accepted the *current* notice,
  was given under that same notice version, and is younger than the configured maximum age.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

DAY = 86_400.0


class Scope(StrEnum):
    NOTICE = "notice"
    MARKETING = "marketing"


class Action(StrEnum):
    GRANT = "grant"
    WITHDRAW = "withdraw"


class Via(StrEnum):
    """How a choice was expressed; with `detail` (which button, command or keyword) it is the evidence."""

    BUTTON = "button"
    COMMAND = "command"
    KEYWORD = "keyword"


@dataclass(frozen=True)
class ConsentEvent:
    scope: Scope
    action: Action
    notice_version: str
    at: float
    via: Via
    detail: str
    message_id: int | None = None
    """The message carrying the pressed button (button choices only)."""


@dataclass(frozen=True)
class Choice:
    """The latest event of one scope, reduced to what it means now."""

    granted: bool
    at: float
    notice_version: str


@dataclass(frozen=True)
class ConsentState:
    notice: Choice | None = None
    marketing: Choice | None = None

    @classmethod
    def derive(cls, events: Iterable[ConsentEvent]) -> ConsentState:
        """The current state: for each scope, the latest event wins (events come in ledger order)."""
        latest: dict[Scope, Choice] = {}
        for event in events:
            latest[event.scope] = Choice(event.action is Action.GRANT, event.at, event.notice_version)
        return cls(latest.get(Scope.NOTICE), latest.get(Scope.MARKETING))

    def accepted(self, current_version: str) -> bool:
        """May chat: the current notice is accepted."""
        return (
            self.notice is not None and self.notice.granted and self.notice.notice_version == current_version
        )

    def accepted_before(self, current_version: str) -> bool:
        """Accepted an older notice and not withdrawn it: to be asked again, not greeted as new."""
        return (
            self.notice is not None and self.notice.granted and self.notice.notice_version != current_version
        )


class Marketing(StrEnum):
    """Whether marketing may be sent, and if not, why (what `/privacy` tells the customer)."""

    GRANTED = "granted"
    NEVER = "never"
    WITHDRAWN = "withdrawn"
    OLD_NOTICE = "old_notice"
    """Given under a notice version that is no longer current, or the current notice is not accepted."""
    EXPIRED = "expired"


def marketing_status(state: ConsentState, current_version: str, now: float, max_age_days: int) -> Marketing:
    choice = state.marketing
    if choice is None:
        return Marketing.NEVER
    if not choice.granted:
        return Marketing.WITHDRAWN
    if choice.notice_version != current_version or not state.accepted(current_version):
        return Marketing.OLD_NOTICE
    if now >= marketing_expiry(choice, max_age_days):
        return Marketing.EXPIRED
    return Marketing.GRANTED


def marketing_expiry(choice: Choice, max_age_days: int) -> float:
    return choice.at + max_age_days * DAY


# --- opt-out keywords ---------------------------------------------------------------------------------------

_OPT_OUT_WORDS = (
    # English: the carrier and TCPA opt-out words (the FCC's 2024 revocation rule names stop, quit, end,
    # revoke, opt out, cancel and unsubscribe)
    "stop",
    "stop all",
    "stopall",
    "unsubscribe",
    "unsub",
    "opt out",
    "optout",
    "revoke",
    "cancel",
    "end",
    "quit",
    # German
    "stopp",
    "abmelden",
    "abbestellen",
    "austragen",
    "abo beenden",
    # French
    "arrêt",
    "arrêter",
    "désabonner",
    "se désabonner",
    "désabonnement",
    "désinscrire",
    "désinscription",
    # Spanish
    "baja",
    "darse de baja",
    "dar de baja",
    "alto",
    "parar",
    "detener",
    "cancelar",
    "desuscribir",
    "desuscribirse",
    # Russian
    "стоп",
    "отписаться",
    "отписка",
    "отменить подписку",
)


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: `¡Baja!` → `baja`, ` Stop. ` → `stop`."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = "".join(ch if ch.isalnum() else " " for ch in letters)
    return " ".join(words.split())


OPT_OUT_KEYWORDS = frozenset(normalize(word) for word in _OPT_OUT_WORDS)

MAX_KEYWORD_LENGTH = 40
"""Longer messages are never a bare keyword; skipping them keeps the check cheap on every message."""


def is_opt_out(text: str) -> bool:
    """Whether a whole message is an opt-out keyword (STOP, UNSUBSCRIBE and their usual forms in German,
    French, Spanish and Russian). A keyword inside a sentence ("how do I stop my order") is not."""
    return len(text) <= MAX_KEYWORD_LENGTH and normalize(text) in OPT_OUT_KEYWORDS
