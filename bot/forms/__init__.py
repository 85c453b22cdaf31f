"""Secure forms on the web: the pages behind the one-time links of `bot.services.secure_links`.

`FormSite` serves /forms/{token} (mount it with `bot.web.create_web_app(..., forms=site)`); its key comes from
`derive_form_key(master data key)`. The defences (headers, CSRF, Mini App `initData`, rate limits) live in
`bot.forms.security`, the HTML in `bot.forms.html`.
"""

from bot.forms.pages import FormSite, OnSubmitted
from bot.forms.security import Rate, RateLimits, check_init_data, derive_form_key

__all__ = ["FormSite", "OnSubmitted", "Rate", "RateLimits", "check_init_data", "derive_form_key"]
