"""Free text in German and Russian finds the right approved answer with the default catalog's keywords
(prefix stemming catches inflected forms), English still works for everyone, and nonsense finds nothing."""

from __future__ import annotations

import pytest

from bot.content import Catalog, load_catalog
from config import DEFAULT_CONTENT_PATH
from flows.faq import FaqIndex

LOCALES = ("de", "ru")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(DEFAULT_CONTENT_PATH)


@pytest.fixture(scope="module")
def index(catalog: Catalog) -> FaqIndex:
    """Built as the bot builds it (bot/app.py): every answer's keywords per locale."""
    return FaqIndex(
        {a.id: a.keywords for a in catalog.answers.values()}, catalog.default_locale, catalog.faq_threshold
    )


def test_every_answer_is_translated(catalog: Catalog) -> None:
    for answer in catalog.answers.values():
        for locale in LOCALES:
            assert answer.keywords.get(locale), (answer.id, locale)
            assert answer.titles[locale] != answer.titles["en"], (answer.id, locale)
            assert answer.texts[locale] != answer.texts["en"], (answer.id, locale)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wann kommt meine Lieferung?", "delivery"),
        ("Wie lange dauert der Versand?", "delivery"),
        ("Können Sie auch nach Österreich liefern?", "delivery"),
        ("Ist die Ware schon verschickt worden?", "delivery"),
        ("Wie kann ich einen Artikel zurücksenden?", "returns"),
        ("Wie funktioniert die Rückgabe?", "returns"),
        ("Kann ich die Jacke umtauschen?", "returns"),
        ("Ich möchte meine Bestellung stornieren", "returns"),
        ("Wann bekomme ich mein Geld zurück?", "returns"),
        ("Wie kann ich bezahlen?", "payment"),
        ("Kann ich mit Kreditkarte zahlen?", "payment"),
        ("Geht auch Kauf auf Rechnung?", "payment"),
        ("Akzeptieren Sie Überweisungen?", "payment"),
        ("Wo ist meine Bestellung?", "order_status"),
        ("Wo bleibt mein Paket?", "order_status"),
        ("Wie kann ich meine Sendung verfolgen?", "order_status"),
        ("Was ist der Status meiner Bestellung?", "order_status"),
        ("Wann haben Sie geöffnet?", "hours"),
        ("Wie sind Ihre Öffnungszeiten?", "hours"),
        ("Haben Sie am Wochenende offen?", "hours"),
        ("Sind Sie am Samstag erreichbar?", "hours"),
        ("Was machen Sie mit meinen Daten?", "privacy"),
        ("Wie steht es um den Datenschutz?", "privacy"),
        ("Bitte meine Daten löschen", "privacy"),
        ("Gilt bei Ihnen die DSGVO?", "privacy"),
    ],
)
def test_german_questions(index: FaqIndex, text: str, expected: str) -> None:
    assert index.match(text, "de") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Когда придёт мой заказ?", "delivery"),
        ("Когда придет заказ?", "delivery"),
        ("Сколько занимает доставка?", "delivery"),
        ("Вы доставляете в Казань?", "delivery"),
        ("Можно доставить заказ завтра?", "delivery"),
        ("Когда привезут посылку?", "delivery"),
        ("Когда приедет курьер?", "delivery"),
        ("Как оформить возврат?", "returns"),
        ("Хочу вернуть товар", "returns"),
        ("Верните деньги, пожалуйста", "returns"),
        ("Можно ли обменять размер?", "returns"),
        ("Как отменить заказ?", "returns"),
        ("Когда вернутся деньги?", "returns"),
        ("Какие способы оплаты?", "payment"),
        ("Можно оплатить картой?", "payment"),
        ("Как оплачивать заказ?", "payment"),
        ("Можно заплатить наличными?", "payment"),
        ("Где мой заказ?", "order_status"),
        ("Как отследить посылку?", "order_status"),
        ("Где моя посылка?", "order_status"),
        ("Какой статус заказа?", "order_status"),
        ("Дайте трек-номер", "order_status"),
        ("Какие у вас часы работы?", "hours"),
        ("Вы открыты в выходные?", "hours"),
        ("До скольки работает поддержка?", "hours"),
        ("Работаете в субботу?", "hours"),
        ("Что вы делаете с моими данными?", "privacy"),
        ("Удалите мои персональные данные", "privacy"),
        ("Где ваша политика конфиденциальности?", "privacy"),
    ],
)
def test_russian_questions(index: FaqIndex, text: str, expected: str) -> None:
    assert index.match(text, "ru") == expected


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("When will my parcel be delivered?", "delivery"),
        ("I want a REFUND!!", "returns"),
        ("can i pay by paypal", "payment"),
        ("are you open at the weekend?", "hours"),
    ],
)
def test_english_still_works_for_every_locale(index: FaqIndex, locale: str, text: str, expected: str) -> None:
    assert index.match(text, locale) == expected


@pytest.mark.parametrize("locale", [*LOCALES, "en"])
@pytest.mark.parametrize(
    "text", ["asdf qwertz", "фывапролд жэ", "Hallo", "Здравствуйте", "Danke!", "Спасибо!", "🙂🙂", ""]
)
def test_gibberish_and_small_talk_match_nothing(index: FaqIndex, locale: str, text: str) -> None:
    assert index.match(text, locale) is None


def test_other_locales_keywords_do_not_leak(index: FaqIndex) -> None:
    """An English customer's text is matched with the English keywords only (and the default's)."""
    assert index.match("Lieferung", "en") is None
    assert index.match("доставка", "en") is None
    assert index.match("доставка", "de") is None
    assert index.match("доставка", "ru") == "delivery"
