"""The customer's privacy rights, open to everyone at any time, consent or not: the notice's choices,
`/privacy`, `/stop` and the opt-out keywords, the unsubscribe button, `/mydata` and `/forget`."""

from __future__ import annotations

import contextlib

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.clock import Clock
from bot.content import Recipient, Renderer
from bot.services import ConsentBook, CustomerDirectory, PrivacyDesk
from bot.services.privacy import EXPORT_FILENAME
from bot.services.tickets import TicketDesk
from bot.telegram.callbacks import Choice, ConsentChoice, ForgetChoice, Unsubscribe
from bot.telegram.filters import IsCommand
from bot.telegram.keyboards import forget_confirmation, privacy_choices
from bot.telegram.notify import notify
from bot.telegram.routers.onboarding import send_notice
from flows.consent import Action, ConsentState, Marketing, Scope, Via, is_opt_out, marketing_expiry, normalize


def _message_id(query: CallbackQuery) -> int | None:
    return query.message.message_id if query.message is not None else None


async def choose(
    query: CallbackQuery,
    callback_data: ConsentChoice,
    bot: Bot,
    consent: ConsentState,
    consent_book: ConsentBook,
    customers: CustomerDirectory,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """A button under the notice or under `/privacy`. Each press is one ledger event, with the message id
    of the button as evidence of how it was given."""
    user_id = query.from_user.id
    version = consent_book.notice.version
    choice = callback_data.choice
    withdrawing = choice in (Choice.WITHDRAW, Choice.MARKETING_NO)
    if callback_data.version != version and not withdrawing:
        # A grant is bound to the text the person was shown: under an outdated notice it cannot count.
        # (A withdrawal counts whatever notice it was pressed under.)
        await query.answer(renderer.text("callback.expired", recipient))
        if not consent.accepted(version):
            await send_notice(bot, user_id, renderer, recipient, version, "consent.updated")
        return

    async def record(scope: Scope, action: Action, detail: str) -> None:
        await consent_book.record(
            user_id, scope, action, via=Via.BUTTON, detail=detail, message_id=_message_id(query)
        )

    if choice is Choice.ACCEPT:
        if not consent.accepted(version):
            await record(Scope.NOTICE, Action.GRANT, "accept_notice")
            person = query.from_user  # now a customer whose profile is kept (and guarded)
            await customers.seen(user_id, person.language_code, (person.first_name, person.last_name))
        await query.answer(renderer.text("consent.saved", recipient))
        if not consent.accepted(version):
            await bot.send_message(user_id, renderer.text("consent.accepted", recipient, version=version))
            first_name = query.from_user.first_name
            await bot.send_message(user_id, renderer.text("start.greeting", recipient, first_name=first_name))
        return
    if choice is Choice.WITHDRAW:
        if consent.marketing is not None and consent.marketing.granted:
            await record(Scope.MARKETING, Action.WITHDRAW, "withdraw_notice")
        await record(Scope.NOTICE, Action.WITHDRAW, "withdraw_notice")
        reply = "consent.notice_withdrawn"
    elif choice is Choice.MARKETING_YES:
        await record(Scope.MARKETING, Action.GRANT, "marketing_yes")
        reply = "consent.marketing_on"
    else:
        await record(Scope.MARKETING, Action.WITHDRAW, "marketing_no")
        reply = "consent.marketing_off"
    # "Saved" only once it is: the choice is durable in the audit log and the ledger by now.
    await query.answer(renderer.text("consent.saved", recipient))
    await bot.send_message(user_id, renderer.text(reply, recipient))


async def unsubscribe_button(
    query: CallbackQuery, bot: Bot, consent_book: ConsentBook, renderer: Renderer, recipient: Recipient
) -> None:
    await consent_book.record(
        query.from_user.id,
        Scope.MARKETING,
        Action.WITHDRAW,
        via=Via.BUTTON,
        detail="unsubscribe",
        message_id=_message_id(query),
    )
    await query.answer(renderer.text("consent.saved", recipient))
    await bot.send_message(query.from_user.id, renderer.text("consent.stopped", recipient))


async def stop(
    message: Message,
    bot: Bot,
    consent_book: ConsentBook,
    ticket_desk: TicketDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """`/stop` or a bare opt-out keyword: marketing withdrawn at once, whatever the state before (and the
    person handling the customer, if any, is told)."""
    assert message.from_user is not None
    text = message.text or ""
    via, detail = (Via.COMMAND, "/stop") if text.startswith("/") else (Via.KEYWORD, normalize(text))
    await consent_book.record(
        message.from_user.id,
        Scope.MARKETING,
        Action.WITHDRAW,
        via=via,
        detail=detail,
        message_id=message.message_id,
    )
    await message.answer(renderer.text("consent.stopped", recipient))
    held = ticket_desk.held(message.from_user.id)
    if held is not None and held.agent is not None:
        await notify(bot, renderer, held.agent, "handoff.customer_stopped", id=held.id)


async def show_privacy(
    message: Message,
    consent: ConsentState,
    consent_book: ConsentBook,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    version = consent_book.notice.version
    notice = consent.notice
    if notice is None:
        notice_line = renderer.fragment("privacy.notice_none", recipient, current=version)
    elif not notice.granted:
        notice_line = renderer.fragment(
            "privacy.notice_withdrawn", recipient, date=notice.at, current=version
        )
    elif notice.notice_version == version:
        notice_line = renderer.fragment("privacy.notice_current", recipient, version=version, date=notice.at)
    else:
        notice_line = renderer.fragment(
            "privacy.notice_outdated",
            recipient,
            version=notice.notice_version,
            date=notice.at,
            current=version,
        )
    status = consent_book.marketing(consent)
    choice = consent.marketing
    if choice is None or status is Marketing.NEVER:
        marketing_line = renderer.fragment("privacy.marketing_never", recipient)
    elif status is Marketing.GRANTED:
        until = marketing_expiry(choice, consent_book.max_age_days)
        marketing_line = renderer.fragment(
            "privacy.marketing_granted", recipient, date=choice.at, until=until
        )
    elif status is Marketing.EXPIRED:
        marketing_line = renderer.fragment("privacy.marketing_expired", recipient, date=choice.at)
    elif status is Marketing.OLD_NOTICE:
        marketing_line = renderer.fragment("privacy.marketing_old_notice", recipient, date=choice.at)
    else:
        marketing_line = renderer.fragment("privacy.marketing_withdrawn", recipient, date=choice.at)
    await message.answer(
        renderer.text("privacy.status", recipient, notice=[notice_line], marketing=[marketing_line]),
        reply_markup=privacy_choices(
            renderer,
            recipient,
            version,
            accepted=consent.accepted(version),
            marketing=status is Marketing.GRANTED,
        ),
    )


async def send_my_data(
    message: Message, privacy_desk: PrivacyDesk, renderer: Renderer, recipient: Recipient
) -> None:
    assert message.from_user is not None
    user_id = message.from_user.id
    wait = await privacy_desk.minutes_until_export(user_id)
    if wait:
        await message.answer(renderer.text("mydata.too_soon", recipient, minutes=wait))
        return
    data = await privacy_desk.export(user_id)
    filename = renderer.attachment("export:mydata", recipient, EXPORT_FILENAME, data)
    await message.answer_document(
        BufferedInputFile(data, filename),
        caption=renderer.text("mydata.caption", recipient),
        protect_content=True,  # the person's own messages: not to be forwarded from this chat
    )


async def ask_to_forget(message: Message, clock: Clock, renderer: Renderer, recipient: Recipient) -> None:
    await message.answer(
        renderer.text("forget.confirm", recipient),
        reply_markup=forget_confirmation(renderer, recipient, int(clock.now())),
    )


async def forget(
    query: CallbackQuery,
    callback_data: ForgetChoice,
    bot: Bot,
    privacy_desk: PrivacyDesk,
    ticket_desk: TicketDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    user_id = query.from_user.id
    if not await privacy_desk.confirmation_valid(user_id, callback_data.asked):
        await query.answer(renderer.text("callback.expired", recipient))
        return
    await query.answer()
    if isinstance(query.message, Message):  # one answer per question: the buttons go
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=None)
    if not callback_data.erase:
        await bot.send_message(user_id, renderer.text("forget.cancelled", recipient))
        return
    left = await ticket_desk.customer_left(user_id)
    if left is not None and left.agent is not None:
        await notify(bot, renderer, left.agent, "handoff.customer_left", id=left.id)
    await privacy_desk.forget(user_id)
    # Sent after the erasure, so it is the first thing logged about the person as a newcomer.
    await bot.send_message(query.from_user.id, renderer.text("forget.done", recipient))


def create_router() -> Router:
    router = Router(name="privacy")
    router.callback_query.register(choose, ConsentChoice.filter())
    router.callback_query.register(unsubscribe_button, Unsubscribe.filter())
    router.callback_query.register(forget, ForgetChoice.filter())
    router.message.register(stop, F.text.func(is_opt_out))
    commands = Router(name="privacy-commands")
    commands.message.filter(IsCommand())
    commands.message.register(stop, Command("stop"))
    commands.message.register(show_privacy, Command("privacy"))
    commands.message.register(send_my_data, Command("mydata"))
    commands.message.register(ask_to_forget, Command("forget"))
    router.include_router(commands)
    return router
