"""What staff read about a broadcast — its plan, its dry run, its progress and its final report — built in
one place from catalog texts, because the commands (`/broadcast_new`, `/pending`, `/broadcast_status`) and
the engine (`bot.telegram.broadcasting`, for the final report) must say the same thing the same way.

Every number goes through a typed field and every label (a tag, a language, a template id) through a
`VERSION`-shaped one (1-32 of A-Z a-z 0-9 . _ -), so nothing typed by a person rides into these texts.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

from aiogram import Bot

from bot.content import Fragment, Recipient, Rendered, Renderer
from bot.services import RoleBook
from bot.storage.broadcasts import BroadcastRow
from bot.telegram.notify import notify
from flows.broadcasts import ContentKind, DryRun, Exclusion, Plan, Progress
from flows.roles import Role

SHOWN_EXCLUSIONS = (
    Exclusion.NO_CONSENT,
    Exclusion.OPTED_OUT,
    Exclusion.FREQUENCY_CAP,
    Exclusion.UNREACHABLE,
    Exclusion.LANGUAGE,
)
"""The reasons a recipient is left out, each always shown (a zero is information too). Quiet hours are not
among them: a recipient in their quiet hours gets the broadcast when those end."""


def content_fragment(renderer: Renderer, to: Recipient, kind: ContentKind, key: str) -> Fragment:
    """What a broadcast sends, named: "template newsletter", "offer #12" (a runtime offer: its proposal
    number), "offer winter (from the catalog)"."""
    if kind is ContentKind.TEMPLATE:
        return renderer.fragment("broadcast.content_template", to, name=key)
    source, _, name = key.partition(":")
    if source == "runtime" and name.isascii() and name.isdigit():
        return renderer.fragment("broadcast.content_runtime_offer", to, id=int(name))
    return renderer.fragment("broadcast.content_catalog_offer", to, name=name)


def labels_fragment(renderer: Renderer, to: Recipient, labels: Collection[str], everything: str) -> Fragment:
    """Labels on one line, "vip, berlin", or the text `everything` when there are none.

    A `LINES` field joins its fragments with line breaks, so the list is nested instead: "vip, " followed
    by the fragment of the rest.
    """
    ordered = sorted(labels)
    if not ordered:
        return renderer.fragment(everything, to)
    listed = renderer.fragment("broadcast.label", to, label=ordered[-1])
    for label in reversed(ordered[:-1]):
        listed = renderer.fragment("broadcast.label_list", to, first=label, rest=[listed])
    return listed


def plan_fragment(renderer: Renderer, to: Recipient, plan: Plan) -> Fragment:
    """What a broadcast sends, to whom and when (the preview, /pending, /broadcast_status)."""
    return renderer.fragment(
        "broadcast.plan",
        to,
        content=[content_fragment(renderer, to, plan.kind, plan.key)],
        languages=[labels_fragment(renderer, to, plan.locales, "broadcast.all_languages")],
        tags=[labels_fragment(renderer, to, plan.tags, "broadcast.everyone")],
        send_at=plan.send_at,
        coupons=[renderer.fragment(_coupons_key(plan), to)],
    )


def _coupons_key(plan: Plan) -> str:
    if plan.kind is ContentKind.TEMPLATE:
        return "broadcast.coupons_not_applicable"
    return "broadcast.coupons_on" if plan.coupons else "broadcast.coupons_off"


def duration_fragment(renderer: Renderer, to: Recipient, seconds: float) -> Fragment:
    """A duration people read at a glance: "40 s", "3 min 20 s", "2 h 5 min" (rounded up).

    The rate is always above zero (settings validate BROADCAST_RATE), so an endless estimate cannot arise;
    were it to, it reads as zero rather than failing the whole text."""
    total = math.ceil(seconds) if math.isfinite(seconds) and seconds > 0 else 0
    if total < 60:
        return renderer.fragment("broadcast.duration_seconds", to, seconds=total)
    if total < 3600:
        return renderer.fragment("broadcast.duration_minutes", to, minutes=total // 60, seconds=total % 60)
    return renderer.fragment(
        "broadcast.duration_hours", to, hours=total // 3600, minutes=(total % 3600) // 60
    )


def excluded_fragments(renderer: Renderer, to: Recipient, counts: Mapping[str, int]) -> list[Fragment]:
    """Who was (or would be) left out, by reason: one line with every known reason, and one more for any
    other reason the engine recorded."""
    known = {reason.value: counts.get(reason.value, 0) for reason in SHOWN_EXCLUSIONS}
    lines = [renderer.fragment("broadcast.excluded", to, **known)]
    other = sum(count for reason, count in counts.items() if reason not in known)
    if other:
        lines.append(renderer.fragment("broadcast.excluded_other", to, count=other))
    return lines


def dry_run_fragment(renderer: Renderer, to: Recipient, dry: DryRun) -> Fragment:
    """The dry run: audience, who would receive it, who not and why, quiet hours, duration, cost."""
    if dry.stars is None:
        cost = renderer.fragment("broadcast.cost_free", to)
    else:
        tenths = round(dry.stars * 10)
        cost = renderer.fragment("broadcast.cost_stars", to, stars=tenths // 10, tenths=tenths % 10)
    return renderer.fragment(
        "broadcast.dry_run",
        to,
        audience=dry.audience,
        receiving=dry.receiving,
        deferred=dry.deferred,
        excluded=excluded_fragments(renderer, to, {k.value: v for k, v in dry.excluded.items()}),
        duration=[duration_fragment(renderer, to, dry.seconds)],
        cost=[cost],
    )


def progress_text(
    renderer: Renderer, to: Recipient, broadcast_id: int, row_status: str, progress: Progress, rate: float
) -> Rendered:
    """The live counts of a started broadcast for `to` (`/broadcast_status`): its status, sent, left out by
    reason, failed, uncertain, remaining, cancelled, and the time left at `rate` messages per second."""
    return renderer.text(
        "broadcast.progress",
        to,
        id=broadcast_id,
        status=row_status,
        sent=progress.sent,
        failed=progress.failed,
        uncertain=progress.uncertain,
        remaining=progress.remaining,
        cancelled=progress.cancelled,
        excluded=excluded_fragments(renderer, to, progress.excluded),
        eta=[duration_fragment(renderer, to, progress.eta_seconds(rate))],
    )


def _told(row: BroadcastRow, role_book: RoleBook) -> list[int]:
    """The author and every compliance officer, each once (an author may hold compliance too)."""
    return list(dict.fromkeys([row.author, *role_book.holders(Role.COMPLIANCE)]))


async def _report(
    bot: Bot, renderer: Renderer, role_book: RoleBook, row: BroadcastRow, progress: Progress, key: str
) -> None:
    for user_id in _told(row, role_book):
        to = renderer.recipient(user_id, None)  # what `notify` renders the text for
        await notify(
            bot,
            renderer,
            user_id,
            key,
            id=row.id,
            status=row.status,
            sent=progress.sent,
            failed=progress.failed,
            uncertain=progress.uncertain,
            cancelled=progress.cancelled,
            excluded=excluded_fragments(renderer, to, progress.excluded),
        )


async def report_finished(
    bot: Bot, renderer: Renderer, role_book: RoleBook, row: BroadcastRow, progress: Progress, rate: float
) -> None:
    """Send the final report of an ended broadcast (`broadcast.report`: sent, left out by reason, failed,
    not sent after a cancel, and the uncertain ones, who were never sent it again) to its author and to
    every compliance officer, each once. A report that cannot be delivered is logged and dropped (`notify`):
    it never fails the engine. `rate` is unused (nothing is left to send) but keeps the signature the same
    as `progress_text`'s and `report_stopped`'s."""
    await _report(bot, renderer, role_book, row, progress, "broadcast.report")


async def report_stopped(
    bot: Bot, renderer: Renderer, role_book: RoleBook, row: BroadcastRow, progress: Progress, rate: float
) -> None:
    """Tell the author and every compliance officer (each once) that a broadcast was stopped because its
    content stopped being valid (an offer expired or was withdrawn), with what had been sent until then
    (`broadcast.stopped_notice`). Undeliverable notices are logged and dropped, as in `report_finished`."""
    await _report(bot, renderer, role_book, row, progress, "broadcast.stopped_notice")
