"""Before consent: whoever has not accepted the current privacy notice gets the notice, and nothing else.

This router sits after the privacy router (whose rights are open to everyone) and before the customer
conversation, and catches every message and button press of a customer without consent. Staff are not
customers and pass (their commands are guarded by role instead).
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.content import Recipient, Renderer
from bot.services import ConsentBook
from bot.telegram.keyboards import notice_choices
from flows.consent import ConsentState
from flows.roles import Role


class NeedsNotice(Filter):
    """Passes for a customer who has not accepted the current notice (never, withdrawn, or outdated)."""

    async def __call__(
        self,
        event: TelegramObject,
        consent_book: ConsentBook,
        consent: ConsentState | None = None,
        roles: frozenset[Role] = frozenset(),
    ) -> bool:
        return not roles and (consent is None or not consent.accepted(consent_book.notice.version))


async def send_notice(
    bot: Bot, chat_id: int, renderer: Renderer, recipient: Recipient, version: str, preface: str | None
) -> None:
    """The notice with its two choices, after a line saying why it is shown (unless it is a first /start)."""
    if preface == "consent.updated":
        await bot.send_message(chat_id, renderer.text(preface, recipient, version=version))
    elif preface is not None:
        await bot.send_message(chat_id, renderer.text(preface, recipient))
    await bot.send_message(
        chat_id, renderer.notice(recipient), reply_markup=notice_choices(renderer, recipient, version)
    )


def _preface(consent: ConsentState, version: str, first_start: bool) -> str | None:
    if consent.accepted_before(version):
        return "consent.updated"
    return None if first_start else "consent.required"


async def notice_for_message(
    message: Message,
    bot: Bot,
    consent: ConsentState,
    consent_book: ConsentBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    version = consent_book.notice.version
    first_start = (message.text or "").split(maxsplit=1)[:1] == ["/start"] and consent.notice is None
    await send_notice(
        bot, message.chat.id, renderer, recipient, version, _preface(consent, version, first_start)
    )


async def notice_for_button(
    query: CallbackQuery,
    bot: Bot,
    consent: ConsentState,
    consent_book: ConsentBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """A button of the conversation (an old menu) pressed without consent."""
    await query.answer()
    version = consent_book.notice.version
    await send_notice(
        bot, query.from_user.id, renderer, recipient, version, _preface(consent, version, False)
    )


def create_router() -> Router:
    router = Router(name="onboarding")
    router.message.filter(NeedsNotice())
    router.callback_query.filter(NeedsNotice())
    router.message.register(notice_for_message)
    router.callback_query.register(notice_for_button)
    return router
