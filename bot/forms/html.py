"""Server-rendered HTML for the form pages: accessible, working without JavaScript, nothing from elsewhere.

Every text comes from the catalog (`[texts."form.page.*"]` and the form's own labels and purpose), escaped
here; the one stylesheet and the one script are constants, allowed by their hashes in the CSP.

Accessibility: each input has a `<label for>`, required fields are `required`, a field with a problem has
`aria-invalid` and `aria-describedby` pointing at its error text, and a summary at the top (`role="alert"`)
lists the problems with links to the fields. Autofill hints (`autocomplete`, `inputmode`) follow the field's
kind, so a phone or a password manager fills a card in as it should.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from bot.content import Catalog
from bot.forms.security import CSRF_FIELD, INIT_DATA_FIELD
from flows.forms import FieldDef, FieldKind, FormDef, Problem

STYLE = """
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{margin:0;padding:1rem;line-height:1.5}
main{max-width:32rem;margin:0 auto}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
.intro{margin:0 0 1.25rem}
.field{margin:0 0 1rem}
label{display:block;font-weight:600;margin:0 0 .25rem}
.optional{font-weight:400}
input,textarea{box-sizing:border-box;width:100%;font:inherit;padding:.6rem;border:2px solid #6b6b6b;
border-radius:.4rem}
textarea{min-height:5rem}
input:focus,textarea:focus,button:focus,a:focus{outline:3px solid #1a73e8;outline-offset:2px}
.invalid input,.invalid textarea{border-color:#c5221f}
.error{color:#c5221f;font-weight:600;margin:0 0 .25rem}
.summary{border:3px solid #c5221f;border-radius:.4rem;padding:.75rem 1rem;margin:0 0 1.25rem}
.summary h2{font-size:1.1rem;margin:0 0 .5rem}
.summary a{color:#c5221f}
button{font:inherit;font-weight:600;padding:.7rem 1.4rem;border:0;border-radius:.4rem;background:#1a73e8;
color:#fff;cursor:pointer}
@media (prefers-color-scheme:dark){.error,.summary a{color:#f28b82}.summary{border-color:#f28b82}}
""".strip()

SCRIPT = (
    "(function(){var m=/(?:^#|&)tgWebAppData=([^&]*)/.exec(location.hash);"
    'var f=document.getElementById("tg-init-data");'
    "if(m&&f){try{f.value=decodeURIComponent(m[1]);}catch(e){}}})();"
)
"""Only for the Telegram Mini App: Telegram opens the page with `#tgWebAppData=…` (initData) in the URL
fragment, which never reaches the server; this copies it into a hidden field so the server can check who
opens the form. Without JavaScript, or outside Telegram, the field stays empty (the plain link works)."""

INIT_DATA_ID = "tg-init-data"


@dataclass(frozen=True)
class InputKind:
    autocomplete: str
    type: str = "text"
    inputmode: str | None = None
    multiline: bool = False
    echo: bool = True
    """Whether a rejected answer is shown again: never for card numbers, expiry, CVV or IBAN."""
    maxlength: int = 100


INPUTS: Mapping[FieldKind, InputKind] = {
    FieldKind.TEXT: InputKind("off", maxlength=500),
    FieldKind.NAME: InputKind("name"),
    FieldKind.ADDRESS: InputKind("street-address", multiline=True, maxlength=300),
    FieldKind.EMAIL: InputKind("email", type="email", inputmode="email"),
    FieldKind.PHONE: InputKind("tel", type="tel", inputmode="tel"),
    FieldKind.DATE_OF_BIRTH: InputKind("bday", type="date"),
    FieldKind.CARD_NUMBER: InputKind("cc-number", inputmode="numeric", echo=False, maxlength=23),
    FieldKind.CARD_EXPIRY: InputKind("cc-exp", echo=False, maxlength=7),
    FieldKind.CVV: InputKind("cc-csc", inputmode="numeric", echo=False, maxlength=4),
    FieldKind.IBAN: InputKind("off", echo=False, maxlength=42),
}
PROBLEM_TEXTS: Mapping[Problem, str] = {
    Problem.REQUIRED: "error_required",
    Problem.TOO_LONG: "error_too_long",
    Problem.INVALID: "error_invalid",
    Problem.EXPIRED: "error_expired",
}


class PageTexts:
    """The catalog's `form.page.*` texts in one locale (the default locale where one is missing)."""

    def __init__(self, catalog: Catalog, locale: str) -> None:
        self.catalog = catalog
        self.locale = locale

    def __call__(self, name: str) -> str:
        return self.pick(self.catalog.texts[f"form.page.{name}"].templates)

    def pick(self, variants: Mapping[str, str]) -> str:
        return variants.get(self.locale) or variants[self.catalog.default_locale]


def pick_locale(accept_language: str, catalog: Catalog) -> str:
    """The catalog locale the browser prefers (`Accept-Language`, by q-value), else the default."""
    known = {locale.lower(): locale for locale in catalog.locales}
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        found = known.get(tag) or known.get(tag.split("-", 1)[0])
        if found:
            return found
    return catalog.default_locale


def page(texts: PageTexts, title: str, body: str, *, script: bool = False) -> str:
    """A whole document; `body` is already escaped HTML."""
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(texts.locale)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n"
        + (f"<script>{SCRIPT}</script>\n" if script else "")
        + "</body>\n</html>\n"
    )


def message_page(texts: PageTexts, title_key: str, body_key: str) -> str:
    """A page that only says something: invalid link, received, too many attempts…"""
    title = texts(title_key)
    return page(
        texts,
        f"{title} – {texts('title')}",
        f"<h1>{escape(title)}</h1>\n<p>{escape(texts(body_key))}</p>",
    )


def _autocomplete(form: FormDef, field: FieldDef) -> str:
    if field.kind is FieldKind.NAME and any(f.kind is FieldKind.CARD_NUMBER for f in form.fields):
        return "cc-name"  # the name on a card, not the person's own name
    return INPUTS[field.kind].autocomplete


def _field(
    form: FormDef, field: FieldDef, texts: PageTexts, problem: Problem | None, value: str, first: bool
) -> str:
    kind = INPUTS[field.kind]
    ident, error_id = f"f-{field.name}", f"e-{field.name}"
    label = escape(texts.pick(field.labels))
    if not field.required:
        label += f' <span class="optional">({escape(texts("optional"))})</span>'
    attributes = [
        f'id="{ident}"',
        f'name="{escape(field.name)}"',
        f'autocomplete="{_autocomplete(form, field)}"',
        f'maxlength="{kind.maxlength}"',
        'spellcheck="false"',
    ]
    if not kind.multiline:
        attributes.insert(2, f'type="{kind.type}"')
    if kind.inputmode:
        attributes.append(f'inputmode="{kind.inputmode}"')
    if field.kind in (FieldKind.CARD_NUMBER, FieldKind.CARD_EXPIRY, FieldKind.CVV, FieldKind.IBAN):
        capitals = "characters" if field.kind is FieldKind.IBAN else "off"
        attributes.append(f'autocapitalize="{capitals}"')
    if field.required:
        attributes.append("required")
    error = ""
    if problem is not None:
        attributes += ['aria-invalid="true"', f'aria-describedby="{error_id}"']
        if first:
            attributes.append("autofocus")
        error = f'<p class="error" id="{error_id}">{escape(texts(PROBLEM_TEXTS[problem]))}</p>\n'
    shown = escape(value) if kind.echo else ""
    if kind.multiline:
        control = f"<textarea {' '.join(attributes)}>{shown}</textarea>"
    else:
        control = f'<input {" ".join(attributes)} value="{shown}">'
    css = "field invalid" if problem is not None else "field"
    return f'<div class="{css}">\n<label for="{ident}">{label}</label>\n{error}{control}\n</div>'


def form_page(
    form: FormDef,
    texts: PageTexts,
    *,
    csrf: str,
    init_data: str = "",
    problems: Mapping[str, Problem] | None = None,
    values: Mapping[str, str] | None = None,
) -> str:
    """The form, empty or re-shown with its problems. Values of card numbers, expiry, CVV and IBAN are never
    written back into the page; the other answers are, so the customer does not type them twice."""
    problems = problems or {}
    values = values or {}
    purpose = texts.pick(form.purposes)
    parts = [f"<h1>{escape(purpose)}</h1>", f'<p class="intro">{escape(texts("intro"))}</p>']
    if problems:
        items = "\n".join(
            f'<li><a href="#f-{escape(f.name)}">{escape(texts.pick(f.labels))}: '
            f"{escape(texts(PROBLEM_TEXTS[problems[f.name]]))}</a></li>"
            for f in form.fields
            if f.name in problems
        )
        parts.append(
            '<div class="summary" role="alert" aria-labelledby="summary-title">\n'
            f'<h2 id="summary-title">{escape(texts("errors"))}</h2>\n<ul>\n{items}\n</ul>\n</div>'
        )
    parts.append('<form method="post" accept-charset="utf-8">')
    parts.append(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">')
    parts.append(
        f'<input type="hidden" name="{INIT_DATA_FIELD}" id="{INIT_DATA_ID}" value="{escape(init_data)}">'
    )
    first_problem = next((f.name for f in form.fields if f.name in problems), None)
    for field in form.fields:
        parts.append(
            _field(
                form,
                field,
                texts,
                problems.get(field.name),
                values.get(field.name, ""),
                field.name == first_problem,
            )
        )
    parts.append(f'<button type="submit">{escape(texts("submit"))}</button>\n</form>')
    return page(texts, f"{purpose} – {texts('title')}", "\n".join(parts), script=True)
