"""Cost of the gate's content checks (`bot.gate.content`) on realistic texts, with a million identifiers.

The gate calls `ContentChecker.problem` for every outgoing call, so it must stay far below the cost of the
call itself. The index holds `--owners` customers with five identifiers each (first name, full name,
phone, email, order reference; 200,000 owners = 1,000,000 identifiers), drawn from common names in
several languages, including first names that are also common words ("Will", "Mark", "Hope") so that the
name check's slower path is exercised too. The texts are catalog-like (answers, offers with approved
discounts, codes and prices, system texts in en/de/ru) plus agent free text mentioning the recipient.

Printed: index size and the memory it holds (tracemalloc); microseconds (p50/p99) per `problem()` call
for catalog renderings (`free=False` and `free=True`) and agent free text, and per single text by length;
and the cost of erasing one owner (`remove_owner`).

    .venv/bin/python -m bench.content_checks [--owners 200000] [--rounds 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import tracemalloc

from bot.gate.content import ApprovedClaims, ContentChecker, IdentifierIndex, claims_in

FIRST = str.split(
    "Anna Maria Laura Sophie Lena Olga Irina Natalia Emma Julia Grace Hope Rose June Faith Mark Will Jack "
    "Maxim Paul Peter Thomas Michael Alexander Dmitri Sergei Ivan Lukas Jonas Felix Oliver Harry George "
    "Lucas Bartholomew Clara Greta Hannah Mila Nina Vera Daria Elena Tatiana Amelie Charlotte Louise Camille"
)
LAST = str.split(
    "Schmidt Müller Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schulz Smith Jones Taylor Brown "
    "Williams Wilson Johnson Davies Robinson Wright Ivanov Smirnov Kuznetsov Popov Sokolov Lebedev Kozlov "
    "Novikov Morozov Petrov Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Quince"
)

OFFER = "Winter sale: 15% off all coats until 31 January with code WINTER15. Orders over €50 ship free."
TEXTS = (
    # catalog answers and system texts (en, de, ru)
    "Orders placed before 14:00 on a working day leave our warehouse the same day.\n"
    "Standard delivery takes 2–4 working days; express delivery arrives the next working day.\n"
    "You get a tracking link by email as soon as your parcel leaves.",
    "You can return any item within 30 days of delivery.\nStart a return from your account page; we email "
    "you a free return label.\nRefunds reach your original payment method within 5 working days.",
    "Our customer service team works Monday to Friday, 09:00–18:00 (CET).\n"
    "This assistant answers common questions at any time.",
    "Bestellungen, die an einem Werktag vor 14:00 Uhr eingehen, verlassen unser Lager am selben Tag. "
    "Die Standardlieferung dauert 2–4 Werktage.",
    "Заказы, оформленные до 14:00 в рабочий день, покидают наш склад в тот же день. Стандартная доставка "
    "занимает 2–4 рабочих дня.",
    "Privacy notice (version 2026-11) of Example Shop. Before we chat: we keep what you write here, and "
    "what we answer, to serve your requests, encrypted and for at most one year. You can stop offers at "
    "any time by sending STOP.",
    "« Back to the menu",
    "✅ I accept the privacy notice",
    # offers (approved claims)
    OFFER,
    "Winterschlussverkauf: 15 % Rabatt auf alle Mäntel mit dem Code WINTER15. Versandkostenfrei ab 50 €.",
    "Зимняя распродажа: скидка 15 % на все пальто по коду WINTER15. Бесплатная доставка от 4 500 ₽.",
    "Offer verification code: V-7KQ2-MX9D-P3TA. Send /verify V-7KQ2-MX9D-P3TA to check it is genuine.",
)
FREE_TEXTS = (
    "Hello Anna, thanks for waiting. I checked order ORD-100001: it left our warehouse yesterday and "
    "should reach you within 2 working days. If it has not arrived by Friday, reply here and I will "
    "open a claim with the courier for you.",
    "Hi Anna Schmidt, your refund for the returned jacket was approved today. It takes up to 5 working "
    "days to appear on your statement. Is there anything else I can help you with?",
    "Will you be at home on Thursday? The courier can also leave the parcel with a neighbour. "
    "Mark the order as a gift if you want us to leave out the invoice.",
    "Hello Anna Schmidt, I am sorry about the delay with order ORD-100001. I have checked with our "
    "warehouse: the parcel was handed to the courier on Monday at 16:40 and the tracking shows it in the "
    "regional depot since yesterday evening. Deliveries from there usually take one more working day, so "
    "it should reach you tomorrow between 09:00 and 18:00. If it has not arrived by Thursday, reply here "
    "and I will open a claim with the courier and send a replacement at no cost to you.",
)


class Snapshot:
    def __init__(self, approved: ApprovedClaims) -> None:
        self._approved = approved

    def approved_claims(self) -> ApprovedClaims:
        return self._approved

    def personal_codes(self, user_id: int | None) -> frozenset[str]:
        return frozenset()


def build_index(owners: int, seed: int = 7) -> IdentifierIndex:
    rng = random.Random(seed)
    index = IdentifierIndex()
    for n in range(owners):
        owner = 100_000_000 + n
        first, last = rng.choice(FIRST), rng.choice(LAST)
        index.add(owner, "name", first)
        index.add(owner, "name", f"{first} {last}")
        index.add(owner, "phone", f"+49 15{rng.randrange(10)} {rng.randrange(10**7, 10**8)}")
        index.add(owner, "email", f"{first.lower()}.{last.lower()}{n}@example.com")
        index.add(owner, "order", f"ORD-{100_000 + n}")
    return index


def percentiles(samples: list[float]) -> tuple[float, float]:
    cut = statistics.quantiles(samples, n=100)
    return cut[49] * 1e6, cut[98] * 1e6


def measure(owners: int, rounds: int) -> None:
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    started = time.perf_counter()
    index = build_index(owners)
    built = time.perf_counter() - started
    held = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    print(f"index: {len(index):,} identifiers of {owners:,} owners, built in {built:.1f} s (tracemalloc on)")
    print(f"index memory: {held / 2**20:.0f} MiB ({held / len(index):.0f} bytes per identifier)")

    offer = claims_in(OFFER)
    approved = ApprovedClaims(
        percents=offer.percents, amounts=offer.amounts | {"4500 RUB"}, codes=offer.codes | {"WINTER15"}
    )
    checker = ContentChecker(Snapshot(approved), index)
    recipient = 100_000_000  # owner 0: whoever that is, the free texts may name other customers
    index.add(recipient, "name", "Anna Schmidt")
    index.add(recipient, "order", "ORD-100001")

    calls = [TEXTS[i : i + 2] for i in range(0, len(TEXTS), 2)]
    print("per call: one problem() over a call's texts; per text: one problem() over a single text")
    for label, texts, free in (
        ("catalog renderings, free=False", calls, False),
        ("catalog renderings, free=True ", calls, True),
        ("agent free text,    free=True ", [(text,) for text in FREE_TEXTS], True),
    ):
        per_call: list[float] = []
        problems = set()
        for _ in range(rounds):
            for call in texts:
                began = time.perf_counter()
                problems.add(checker.problem(call, recipient, free=free))
                per_call.append(time.perf_counter() - began)
        p50, p99 = percentiles(per_call)
        size = statistics.mean(len(call) for call in texts)
        print(
            f"  {label}: per call ({size:.1f} texts) p50 {p50:.1f} µs p99 {p99:.1f} µs; "
            f"outcomes {sorted(map(str, problems))}"
        )
    for free in (False, True):
        for low, high in ((0, 100), (100, 300), (300, 600)):
            sample = [text for text in (*TEXTS, *FREE_TEXTS) if low <= len(text) < high]
            per_text: list[float] = []
            for _ in range(rounds):
                for text in sample:
                    began = time.perf_counter()
                    checker.problem((text,), recipient, free=free)
                    per_text.append(time.perf_counter() - began)
            p50, p99 = percentiles(per_text)
            print(
                f"  per text of {low}–{high} chars ({len(sample)} texts), free={free}: "
                f"p50 {p50:.1f} µs p99 {p99:.1f} µs"
            )

    leaving = range(100_000_001, 100_000_001 + 7000, 7)
    began = time.perf_counter()
    for owner in leaving:
        index.remove_owner(owner)
    erased = (time.perf_counter() - began) / len(leaving)
    print(f"remove_owner (erasure): {erased * 1e6:.1f} µs per owner")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--owners", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    measure(args.owners, args.rounds)


if __name__ == "__main__":
    main()
