"""One-time secure links to the catalog's forms, and what is submitted through them.

A link carries 192 random bits and is stored only as their SHA-256; it is bound to one customer and one
form, expires (SECURE_LINK_MINUTES), works once, and is revoked when a new link to the same form is issued or
the customer runs /forget. A submission is validated against the form's definition, the CVV dropped, and the
rest sealed with its own data key, wrapped by the master key (envelope encryption; the key id is kept so a
master-key rotation can find what it must rewrap). The audit log records issue, first opening, submission
and refusal — field names and outcomes, never values.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.audit.crypto import master_key_id, unwrap_key, wrap_key
from bot.audit.trail import AuditTrail
from bot.clock import Clock
from bot.storage import Repository, SecureLinkRow, SubmissionRow
from flows.forms import FormDef, Problem, keep, masked, validate

log = logging.getLogger("guardbot.secure_links")

TOKEN_BYTES = 24
"""192 bits: far beyond guessing, short enough for a URL."""
NONCE_BYTES = 12
DAY = 86_400.0


class LinkStatus(StrEnum):
    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IssuedLink:
    token: str
    url: str
    expires_at: float


@dataclass(frozen=True)
class LinkView:
    status: LinkStatus
    link: SecureLinkRow | None = None
    form: FormDef | None = None


@dataclass(frozen=True)
class Submitted:
    status: LinkStatus
    problems: Mapping[str, Problem] = field(default_factory=dict)
    link: SecureLinkRow | None = None
    """Set when the submission was stored (status OPEN and no problems)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class SecureLinks:
    def __init__(
        self,
        repository: Repository,
        audit: AuditTrail,
        clock: Clock,
        forms: Mapping[str, FormDef],
        *,
        master_key: bytes,
        base_url: str,
        ttl_minutes: int = 15,
        staged_master_key: bytes | None = None,
    ) -> None:
        # During an interrupted master-key rotation some submissions are wrapped by the next key already.
        self._masters = {master_key_id(k): k for k in (master_key, staged_master_key) if k is not None}
        self._repository = repository
        self._audit = audit
        self._clock = clock
        self.forms = forms
        self._master = master_key
        self._base_url = base_url.rstrip("/")
        self.ttl = ttl_minutes * 60.0

    async def issue(self, user_id: int, form_id: str, *, issued_by: int | None = None) -> IssuedLink:
        """A new link for this customer and form (earlier open links to the same form stop working)."""
        if form_id not in self.forms:
            raise KeyError(form_id)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock.now()
        row = SecureLinkRow(token_hash(token), user_id, form_id, issued_by, now, now + self.ttl)
        await self._audit.record(
            "secure_link.issued",
            actor=issued_by if issued_by is not None else "bot",
            about=user_id,
            data={"form": form_id, "link": row.token_hash[:16], "expires_in": int(self.ttl)},
        )
        revoked = await self._repository.add_secure_link(row)
        if revoked:
            log.info("secure_link.replaced", extra={"form": form_id, "revoked": revoked})
        return IssuedLink(token, f"{self._base_url}/forms/{token}", row.expires_at)

    async def attach_message(self, token: str, message_id: int) -> None:
        """Remember the chat message carrying the link, to delete it once the form is submitted."""
        await self._repository.link_message(token_hash(token), message_id)

    async def view(self, token: str) -> LinkView:
        """What a token stands for now. Unknown, used, expired and revoked are told apart only for the
        log: the form pages show them alike where telling them apart would help someone probe tokens."""
        if not token or len(token) > 64:
            return LinkView(LinkStatus.UNKNOWN)
        link = await self._repository.secure_link(token_hash(token))
        if link is None:
            return LinkView(LinkStatus.UNKNOWN)
        form = self.forms.get(link.form)
        if link.used_at is not None:
            status = LinkStatus.USED
        elif link.revoked_at is not None or form is None:
            status = LinkStatus.REVOKED
        elif link.expires_at <= self._clock.now():
            status = LinkStatus.EXPIRED
        else:
            status = LinkStatus.OPEN
        return LinkView(status, link, form)

    async def opened(self, link: SecureLinkRow) -> None:
        if await self._repository.link_opened(link.token_hash, self._clock.now()):
            await self._audit.record(
                "secure_link.opened", actor=link.user_id, about=link.user_id, data={"form": link.form}
            )

    async def refused(self, link: SecureLinkRow, reason: str) -> None:
        """A request for a real link the form turned away (expired, used, revoked, bad CSRF, a Mini App
        opened by someone else): evidence for compliance, as a kind of reason only."""
        await self._audit.record(
            "secure_link.refused",
            actor="system",
            about=link.user_id,
            data={"form": link.form, "reason": reason},
        )

    async def submit(self, token: str, answers: Mapping[str, str]) -> Submitted:
        """Validate, seal and store; the link is consumed only by a valid submission, and only once."""
        view = await self.view(token)
        if view.status is not LinkStatus.OPEN or view.link is None or view.form is None:
            return Submitted(view.status)
        link, form = view.link, view.form
        now = self._clock.now()
        values, problems = validate(form, answers, now)
        if problems:
            await self._audit.record(
                "secure_link.invalid",
                actor=link.user_id,
                about=link.user_id,
                data={"form": form.id, "fields": sorted(problems)},
            )
            return Submitted(LinkStatus.OPEN, problems)
        kept = keep(form, values)
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = f"{link.user_id}:{form.id}:{link.token_hash}".encode()
        sealed = nonce + AESGCM(data_key).encrypt(nonce, json.dumps(kept).encode(), aad)
        row = SubmissionRow(
            link.user_id,
            form.id,
            link.token_hash,
            json.dumps(sorted(kept)),
            sealed,
            wrap_key(self._master, data_key),
            master_key_id(self._master),
            now,
            now + form.retention_days * DAY,
        )
        # The link is consumed and the data stored together: never a spent link without its data.
        if not await self._repository.submit_through_link(row, now):
            return Submitted(LinkStatus.USED)  # a second submission racing the first
        await self._audit.record(
            "secure_link.submitted",
            actor=link.user_id,
            about=link.user_id,
            data={"form": form.id, "fields": sorted(kept)},
            critical=True,
        )
        return Submitted(LinkStatus.OPEN, {}, link)

    async def submissions_of(self, user_id: int) -> list[SubmissionRow]:
        return await self._repository.submissions(user_id)

    def _open(self, row: SubmissionRow) -> dict[str, str]:
        master = self._masters.get(row.key_id)
        if master is None:
            raise ValueError("a submission sealed under an unknown master key")
        data_key = unwrap_key(master, row.wrapped_key)
        aad = f"{row.user_id}:{row.form}:{row.link_hash}".encode()
        opened = json.loads(AESGCM(data_key).decrypt(row.sealed[:NONCE_BYTES], row.sealed[NONCE_BYTES:], aad))
        return {str(k): str(v) for k, v in opened.items()}

    async def masked_submissions(
        self, user_id: int, *, viewer: int | str
    ) -> list[tuple[SubmissionRow, dict[str, str]]]:
        """A person's submissions with every value masked — the only way staff (or the person's own export)
        see them. Opening them is itself logged."""
        rows = await self._repository.submissions(user_id)
        if not rows:
            return []
        await self._audit.record(
            "form.submissions_viewed", actor=viewer, about=user_id, data={"count": len(rows)}, critical=True
        )
        shown = []
        for row in rows:
            form = self.forms.get(row.form)
            kinds = {f.name: f.kind for f in form.fields} if form else {}
            values = self._open(row)
            shown.append(
                (
                    row,
                    {
                        name: masked(kinds[name], value) if name in kinds else "••••"
                        for name, value in values.items()
                    },
                )
            )
        return shown

    async def revoke_all(self, user_id: int) -> int:
        return await self._repository.revoke_links(user_id, self._clock.now())

    async def purge(self) -> int:
        """Submissions past their form's retention are deleted, and links that ended a day ago are
        forgotten (run by the retention job)."""
        await self._repository.forget_links_before(self._clock.now() - DAY)
        deleted = await self._repository.purge_submissions(self._clock.now())
        if deleted:
            await self._audit.record("form.submissions_purged", data={"count": deleted}, critical=True)
        return deleted
