"""The secure form pages: GET shows the form of a one-time link, POST checks and hands the answers over.

What a visitor can learn is kept to what they need:
- used, expired, revoked and unknown tokens (and malformed ones) all get the same page with the same status
  (410), so nothing tells a guessed token from a real one. The one exception is the browser that sent the
  form: it holds a marker cookie (an HMAC of the link under the server's key) and is told "already sent" —
  something only it can see.
- a rejected answer is shown again for names, addresses and the like, never for card numbers, expiry, CVV
  or IBAN;
- nothing logged here carries a value or a token: a link appears as the first 12 hex digits of its hash.

The Telegram Mini App: when the form is posted with `initData` (the hidden field our script fills from the
URL fragment Telegram adds, or an `X-Telegram-Init-Data` header), it must be signed with the bot's token,
be for the link's customer, and be no older than the link's lifetime; otherwise the post is refused (403).
Without `initData` the plain link works, unless `require_mini_app` is set.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.clock import Clock
from bot.content import Catalog
from bot.forms import html
from bot.forms.security import (
    CSRF_FIELD,
    INIT_DATA_FIELD,
    INIT_DATA_HEADER,
    CsrfGuard,
    FormTooLarge,
    FormUnreadable,
    RateLimits,
    TokenBuckets,
    check_init_data,
    read_form,
    remote_address,
    security_headers,
)
from bot.services.secure_links import LinkStatus, LinkView, SecureLinks, token_hash
from bot.storage import SecureLinkRow

log = logging.getLogger("guardbot.forms")

PREFIX = "/forms"
PATH = PREFIX + "/{token}"
GONE = 410
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")

OnSubmitted = Callable[[SecureLinkRow], Awaitable[None]]


def _ref(token: str) -> str:
    """How a token appears in logs: a prefix of its hash, enough to find the link row, useless as a link."""
    return token_hash(token)[:12]


class FormSite:
    """The form pages, ready to mount on the bot's web app (`bot.web.create_web_app(..., forms=site)`):
    `routes()` serves /forms/{token}, `middleware` puts the security headers and the rate limits on every
    response under /forms (the framework's own 404/405 pages included).

    `on_submitted(link)` is awaited after a submission is stored (the link is consumed by then): it should
    confirm in the chat and delete the message that carried the link. Its failure is logged and does not
    change the customer's page, because the data is safely stored.
    """

    def __init__(
        self,
        links: SecureLinks,
        catalog: Catalog,
        *,
        bot_token: str,
        on_submitted: OnSubmitted,
        clock: Clock,
        secret: bytes,
        https: bool,
        limits: RateLimits | None = None,
        require_mini_app: bool = False,
        client_ip: Callable[[web.Request], str] = remote_address,
        must_not_echo: Callable[[str], bool] | None = None,
    ) -> None:
        self._must_not_echo = must_not_echo
        self._links = links
        self._catalog = catalog
        self._bot_token = bot_token
        self._on_submitted = on_submitted
        self._clock = clock
        self._https = https
        self._csrf = CsrfGuard(secret, https=https)
        limits = limits or RateLimits()
        self._per_ip = TokenBuckets(limits.per_ip, clock, limits.tracked)
        self._per_link = TokenBuckets(limits.per_link, clock, limits.tracked)
        self._require_mini_app = require_mini_app
        self._client_ip = client_ip

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PATH, self.show, allow_head=False), web.post(PATH, self.receive)]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
            return await handler(request)
        texts = self._texts(request)
        token = request.match_info.get("token")
        wait = self._per_ip.take(self._client_ip(request))
        if not wait and token is not None:
            wait = self._per_link.take(token_hash(token))
        response: web.StreamResponse
        if wait:
            log.warning("form.rate_limited", extra={"link": _ref(token) if token else None})
            response = self._message(texts, "too_many_title", "too_many", 429)
            response.headers["Retry-After"] = str(max(1, round(wait)))
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # the router's 404 and 405: our page, our headers
                response = self._message(texts, "error_title", "error", exc.status)
                if "Allow" in exc.headers:
                    response.headers["Allow"] = exc.headers["Allow"]
            except Exception as exc:
                log.error("form.failed", exc_info=exc, extra={"link": _ref(token) if token else None})
                response = self._message(texts, "error_title", "error", 500)
        security_headers(response.headers, style=html.STYLE, script=html.SCRIPT, https=self._https)
        return response

    async def show(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        texts = self._texts(request)
        view = await self._view(token)
        if view.status is not LinkStatus.OPEN or view.link is None or view.form is None:
            return await self._gone(request, texts, token, view)
        await self._links.opened(view.link)
        cookie, fresh = self._csrf.cookie_of(request)
        body = html.form_page(view.form, texts, csrf=self._csrf.field_for(cookie, view.link.token_hash))
        response = self._html(body, 200)
        if fresh:
            self._csrf.set_cookie(response, cookie)
        return response

    async def receive(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        texts = self._texts(request)
        try:
            posted = await read_form(request)
        except FormTooLarge:
            log.warning("form.too_large", extra={"link": _ref(token)})
            return self._message(texts, "error_title", "error", 413)
        except FormUnreadable:
            log.warning("form.unreadable", extra={"link": _ref(token)})
            return self._message(texts, "error_title", "error", 400)
        view = await self._view(token)
        if view.status is not LinkStatus.OPEN or view.link is None or view.form is None:
            return await self._gone(request, texts, token, view)
        link, form = view.link, view.form
        if not self._csrf.check(request, posted.get(CSRF_FIELD, ""), link.token_hash):
            log.warning("form.csrf_refused", extra={"link": _ref(token), "form": form.id})
            await self._links.refused(link, "csrf")
            return self._message(texts, "stale_title", "stale", 403)
        init_data = request.headers.get(INIT_DATA_HEADER) or posted.get(INIT_DATA_FIELD, "")
        if init_data or self._require_mini_app:
            why = check_init_data(
                self._bot_token,
                init_data,
                user_id=link.user_id,
                max_age=link.expires_at - link.issued_at,
                now=self._clock.now(),
            )
            if why is not None:
                log.warning("form.mini_app_refused", extra={"link": _ref(token), "why": why})
                await self._links.refused(link, "mini_app")
                return self._message(texts, "refused_title", "refused", 403)
        answers = {field.name: posted.get(field.name, "") for field in form.fields}
        result = await self._links.submit(token, answers)
        if result.link is not None:
            log.info("form.submitted", extra={"link": _ref(token), "form": form.id})
            response = self._message(texts, "received_title", "received", 200)
            self._csrf.mark_sent(response, link.token_hash, token)
            await self._notify(result.link)
            return response
        if result.status is not LinkStatus.OPEN:  # consumed, expired or revoked since we looked
            return await self._gone(request, texts, token, LinkView(result.status, link, form))
        log.info("form.rejected", extra={"link": _ref(token), "fields": sorted(result.problems)})
        cookie, fresh = self._csrf.cookie_of(request)
        body = html.form_page(
            form,
            texts,
            csrf=self._csrf.field_for(cookie, link.token_hash),
            init_data=init_data if INIT_DATA_HEADER not in request.headers else "",
            problems=result.problems,
            # Never show back what must not be shown, whatever field it was typed into.
            values={
                name: value
                for name, value in answers.items()
                if self._must_not_echo is None or not self._must_not_echo(value)
            },
        )
        response = self._html(body, 422)
        if fresh:
            self._csrf.set_cookie(response, cookie)
        return response

    async def _notify(self, link: SecureLinkRow) -> None:
        try:
            await self._on_submitted(link)
        except Exception as exc:
            log.error("form.on_submitted_failed", exc_info=exc, extra={"form": link.form})

    async def _view(self, token: str) -> LinkView:
        if not _TOKEN.fullmatch(token):
            return LinkView(LinkStatus.UNKNOWN)
        return await self._links.view(token)

    async def _gone(
        self, request: web.Request, texts: html.PageTexts, token: str, view: LinkView
    ) -> web.Response:
        """The one page for every link that cannot be used: what it really was goes only to the logs."""
        log.info("form.link_refused", extra={"link": _ref(token), "status": view.status.value})
        if view.link is not None:  # a real link, used, expired or revoked: the audit log keeps the attempt
            await self._links.refused(view.link, view.status.value)
        if (
            view.status is LinkStatus.USED
            and view.link is not None
            and self._csrf.sent_here(request, view.link.token_hash)
        ):
            return self._message(texts, "received_title", "already_received", GONE)
        return self._message(texts, "invalid_title", "invalid", GONE)

    def _texts(self, request: web.Request) -> html.PageTexts:
        locale = html.pick_locale(request.headers.get("Accept-Language", ""), self._catalog)
        return html.PageTexts(self._catalog, locale)

    def _message(self, texts: html.PageTexts, title: str, body: str, status: int) -> web.Response:
        return self._html(html.message_page(texts, title, body), status)

    @staticmethod
    def _html(body: str, status: int) -> web.Response:
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
