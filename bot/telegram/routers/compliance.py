"""Compliance commands: `/audit` verifies the audit log and reports; `/pending`, `/approve ID` and
`/reject ID REASON` decide on proposals (never one's own): offers (`12`), agents' reviewed replies (`R12`)
and broadcasts (`B12`). The whole router needs `compliance`."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.audit.auditor import Auditor
from bot.audit.trail import AuditTrail
from bot.content import Recipient, Renderer
from bot.errors import GateRefused, RenderError
from bot.services import CustomerDirectory
from bot.services.broadcasts import BroadcastDesk, plan_of
from bot.services.offers import Decision, OfferBook, terms_of
from bot.services.reviews import ReplyReviews
from bot.telegram.broadcast_texts import dry_run_fragment, plan_fragment
from bot.telegram.filters import HasRole
from bot.telegram.notify import alert_words, customer_recipient, notify
from bot.telegram.secure import SecureLinkMessages
from flows.offers import parse_proposal_ref
from flows.roles import Role

log = logging.getLogger("guardbot.audit")


async def report_audit(
    message: Message, auditor: Auditor, audit: AuditTrail, renderer: Renderer, recipient: Recipient
) -> None:
    assert message.from_user is not None
    await audit.record("audit.requested", actor=message.from_user.id)
    try:
        report = await auditor.verify()
    except Exception as exc:  # an unreadable key file, a locked database: say so, never crash
        log.error("audit.verify_failed", exc_info=exc)
        await message.answer(renderer.text("audit.unverifiable", recipient, entries=audit.log.size))
        return
    if report.ok and report.anchored_size is None:
        text = renderer.text(
            "audit.intact_unanchored",
            recipient,
            entries=report.entries,
            checkpoint=report.latest_checkpoint or 0,
        )
    elif report.ok:
        text = renderer.text(
            "audit.intact",
            recipient,
            entries=report.entries,
            checkpoint=report.latest_checkpoint or 0,
            unanchored=report.unanchored,
        )
    else:
        log.error("audit.not_intact", extra={"first_bad": report.first_bad, "reason": report.reason})
        first_bad = report.first_bad if report.first_bad is not None else report.entries
        text = renderer.text("audit.broken", recipient, entries=report.entries, first_bad=first_bad)
    await message.answer(text)


MAX_LISTED = 20
_DECIDED = {True: "decide.approved", False: "decide.rejected"}
_NOTICES = {True: "proposal.approved_notice", False: "proposal.rejected_notice"}
_REFUSED = {Decision.NOT_FOUND: "decide.not_found", Decision.NOT_PENDING: "decide.not_pending"}


async def list_pending(
    message: Message,
    offer_book: OfferBook,
    reply_reviews: ReplyReviews,
    broadcast_desk: BroadcastDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    pending = await offer_book.pending()
    replies = await reply_reviews.pending()
    broadcasts = await broadcast_desk.pending()
    if not pending and not replies and not broadcasts:
        await message.answer(renderer.text("pending.empty", recipient))
        return
    for reply, text in replies[:MAX_LISTED]:
        await message.answer(
            renderer.review(
                "review.item",
                recipient,
                reply.id,
                reply.digest,
                id=reply.id,
                ticket=reply.ticket,
                agent=reply.agent,
                message=[renderer.proposal_text(text)],
            )
        )
    for row in pending[:MAX_LISTED]:
        terms = terms_of(row)
        words = next(iter(terms.texts.values()))
        await message.answer(
            renderer.review(
                "pending.item",
                recipient,
                row.id,
                row.digest,
                id=row.id,
                author=row.author,
                offer=[renderer.proposal_text(words)],
                discount=terms.discount,
                code=terms.code,
                until=terms.valid_until,
                audience=terms.audience.value,
            )
        )
    for broadcast in broadcasts[:MAX_LISTED]:
        # The dry run as of now: who would get it at its send time, who not and why.
        plan = plan_of(broadcast)
        dry = await broadcast_desk.dry_run(plan)
        await message.answer(
            renderer.text(
                "pending.broadcast",
                recipient,
                id=broadcast.id,
                author=broadcast.author,
                plan=[plan_fragment(renderer, recipient, plan)],
                dry_run=[dry_run_fragment(renderer, recipient, dry)],
            )
        )


async def _not_done(
    message: Message, outcome: Decision, renderer: Renderer, recipient: Recipient, item: int
) -> bool:
    """Answer a decision that did not happen (own item, no such item, already decided); False if it did."""
    if outcome is Decision.DONE:
        return False
    key = "decide.own" if outcome is Decision.OWN else _REFUSED.get(outcome, "decide.not_found")
    await message.answer(renderer.text(key, recipient, id=item))
    return True


async def decide_reply(
    message: Message,
    args: str,
    approve: bool,
    bot: Bot,
    reply_reviews: ReplyReviews,
    customers: CustomerDirectory,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """`/approve R12` sends an agent's reviewed reply (through every gate check); `/reject R12 REASON` not."""
    assert message.from_user is not None
    review_id, reason = parse_proposal_ref(args)
    if review_id is None or (not approve and not reason):
        await message.answer(renderer.text("decide.usage", recipient))
        return
    outcome, row, text = await reply_reviews.decide(review_id, message.from_user.id, approve=approve)
    if await _not_done(message, outcome, renderer, recipient, review_id) or row is None:
        return
    if not approve or text is None:
        await message.answer(renderer.text("review.rejected", recipient, id=review_id))
        await notify(bot, renderer, row.agent, "review.rejected", id=review_id)
        return
    to = await customer_recipient(customers, renderer, row.customer)
    try:
        await bot.send_message(row.customer, renderer.free_text(text, to, row.agent))
    except GateRefused as refused:
        check, kind = alert_words(refused.reason)
        await message.answer(
            renderer.text("review.not_sent", recipient, id=review_id, check=check, kind=kind)
        )
        return
    await message.answer(renderer.text("review.sent", recipient, id=review_id))
    await notify(bot, renderer, row.agent, "review.sent", id=review_id)


_BROADCAST_REFUSED = {
    Decision.OWN: "decide.own",
    Decision.NOT_FOUND: "broadcast.not_found",
    Decision.NOT_PENDING: "broadcast.not_pending",
}


async def _tell_rejected(
    bot: Bot, renderer: Renderer, author: int, broadcast_id: int, digest: str, reason: str
) -> None:
    """Tell a broadcast's author it was rejected and why. The reason is the decider's own words, so it goes
    out as a text under review (every content check, as for a proposal shown to staff); should the gate
    stop it, the author is still told, without the words. Never fails the decision already made."""
    to = renderer.recipient(author, None)
    try:
        notice = renderer.review(
            "broadcast.rejected_notice",
            to,
            broadcast_id,
            digest,
            id=broadcast_id,
            reason=[renderer.proposal_text(reason)],
        )
        await bot.send_message(author, notice)
    except (GateRefused, RenderError):  # refused by the gate, or too long with the reason
        await notify(bot, renderer, author, "broadcast.rejected_notice_plain", id=broadcast_id)
    except TelegramAPIError as exc:
        log.warning(
            "notify.not_sent", extra={"key": "broadcast.rejected_notice", "error": type(exc).__name__}
        )


async def decide_broadcast(
    message: Message,
    args: str,
    approve: bool,
    bot: Bot,
    broadcast_desk: BroadcastDesk,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """`/approve B12` lets the engine send broadcast 12 at its time; `/reject B12 REASON` ends it. Never the
    author's own (four eyes), and a rejection needs its reason, which the author is told."""
    assert message.from_user is not None
    broadcast_id, reason = parse_proposal_ref(args)
    if broadcast_id is None or (not approve and not reason):
        await message.answer(renderer.text("decide.usage", recipient))
        return
    row = await broadcast_desk.get(broadcast_id)
    outcome = await broadcast_desk.decide(
        broadcast_id, message.from_user.id, approve=approve, reason=reason or None
    )
    if outcome is not Decision.DONE or row is None:
        key = _BROADCAST_REFUSED.get(outcome, "broadcast.not_found")
        await message.answer(renderer.text(key, recipient, id=broadcast_id))
        return
    if approve:
        await message.answer(renderer.text("broadcast.approved", recipient, id=broadcast_id))
        await notify(bot, renderer, row.author, "broadcast.approved_notice", id=broadcast_id)
        return
    await message.answer(renderer.text("broadcast.rejected", recipient, id=broadcast_id))
    await _tell_rejected(bot, renderer, row.author, broadcast_id, row.digest, reason)


async def decide(
    message: Message,
    command: CommandObject,
    bot: Bot,
    offer_book: OfferBook,
    reply_reviews: ReplyReviews,
    broadcast_desk: BroadcastDesk,
    customers: CustomerDirectory,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    assert message.from_user is not None
    approve = command.command == "approve"
    args = (command.args or "").strip()
    if args[:1] in ("R", "r"):
        await decide_reply(message, args[1:], approve, bot, reply_reviews, customers, renderer, recipient)
        return
    if args[:1] in ("B", "b"):
        await decide_broadcast(message, args[1:], approve, bot, broadcast_desk, renderer, recipient)
        return
    proposal_id, reason = parse_proposal_ref(command.args)
    if proposal_id is None or (not approve and not reason):
        await message.answer(renderer.text("decide.usage", recipient))
        return
    row = await offer_book.proposal(proposal_id)
    outcome = await offer_book.decide(
        proposal_id, message.from_user.id, approve=approve, reason=reason or None
    )
    if await _not_done(message, outcome, renderer, recipient, proposal_id) or row is None:
        return
    await message.answer(renderer.text(_DECIDED[approve], recipient, id=proposal_id))
    await notify(bot, renderer, row.author, _NOTICES[approve], id=proposal_id)


async def show_submissions(
    message: Message,
    command: CommandObject,
    secure_messages: SecureLinkMessages,
    renderer: Renderer,
    recipient: Recipient,
) -> None:
    """A customer's secure-form submissions, masked; opening them is logged (the only staff path)."""
    assert message.from_user is not None
    user_id, rest = parse_proposal_ref(command.args)
    if user_id is None or rest:
        await message.answer(renderer.text("submissions.usage", recipient))
        return
    shown = await secure_messages.links.masked_submissions(user_id, viewer=message.from_user.id)
    if not shown:
        await message.answer(renderer.text("submissions.none", recipient, user_id=user_id))
        return
    for row, values in shown[:MAX_LISTED]:
        fields = [
            renderer.fragment("submissions.field", recipient, name=name, value=value)
            for name, value in values.items()
        ]
        await message.answer(
            renderer.text("submissions.item", recipient, form=row.form, date=row.submitted_at, fields=fields)
        )


def create_router() -> Router:
    router = Router(name="compliance")
    router.message.filter(HasRole(Role.COMPLIANCE))
    router.message.register(report_audit, Command("audit"))
    router.message.register(list_pending, Command("pending"))
    router.message.register(decide, Command("approve", "reject"))
    router.message.register(show_submissions, Command("submissions"))
    return router
