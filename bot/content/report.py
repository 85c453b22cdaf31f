"""`content check`'s report: what the bot would serve, entry by entry, for a reviewer to read."""

from __future__ import annotations

from bot.content.catalog import Catalog


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines())


def describe_catalog(catalog: Catalog) -> str:
    lines = [
        f"catalog {catalog.version} (sha256 {catalog.digest[:16]}…), "
        f"default locale {catalog.default_locale}, locales {', '.join(sorted(catalog.locales))}",
        f"{len(catalog.texts)} system texts, {len(catalog.answers)} answers, "
        f"{len(catalog.templates)} marketing templates, FAQ threshold {catalog.faq_threshold}",
        "",
        f"Privacy notice, version {catalog.notice.version} [{catalog.notice.digest[:12]}]:",
    ]
    for locale, text in catalog.notice.texts.items():
        lines.append(f"    {locale}:")
        lines.append(_indent(text))
    lines += ["", "System texts:"]
    for key, entry in catalog.texts.items():
        fields = f" fields: {', '.join(sorted(entry.fields))}" if entry.fields else ""
        lines.append(f"  {key} [{entry.digest[:12]}]{fields}")
        for locale, template in entry.templates.items():
            lines.append(f"    {locale}:")
            lines.append(_indent(template))
    lines += ["", "Answers (help menu order):"]
    for answer in catalog.answers.values():
        lines.append(f"  {answer.id} [{answer.digest[:12]}]")
        for locale, text in answer.texts.items():
            lines.append(f"    {locale}: {answer.titles.get(locale, answer.titles[catalog.default_locale])}")
            lines.append(f"      keywords: {', '.join(answer.keywords.get(locale, ()))}")
            lines.append(_indent(text))
    lines += ["", "Marketing templates (sent only with valid marketing consent and an unsubscribe button):"]
    for marketing in catalog.templates.values():
        lines.append(f"  {marketing.id} [{marketing.digest[:12]}]")
        for locale, text in marketing.texts.items():
            lines.append(f"    {locale}:")
            lines.append(_indent(text))
    lines += ["", "OK: the catalog is valid."]
    return "\n".join(lines)
