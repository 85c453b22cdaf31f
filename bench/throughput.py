"""Throughput benchmark: the same conversation load through Guardbot and through a bare aiogram echo bot.

Both bots run as real processes (`python -m bot run`, `python bench/echo_bot.py`) polling the Bot API
emulator, which runs here. USERS customers chat concurrently in a closed loop: each sends a question, waits
for the reply, sends the next, until UPDATES replies have arrived. Printed per bot: updates per second, reply
latency p50/p95 (from the question entering the emulator to the reply reaching it) and the bot process's
peak memory (VmHWM). Guardbot answers from its approved FAQ (match, render, gate, keyboard); the echo bot
echoes.

    .venv/bin/python -m bench.throughput [--users 50] [--updates 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.emulator import BotApiEmulator, RecordedCall

TOKEN = "123456:BENCH-token-abcdefghijklmnopqrstuvwxyz"
QUESTIONS = ("when will my order arrive", "how do I get a refund", "can I pay by card", "are you open")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    name: str
    updates: int
    seconds: float
    latencies_ms: list[float]
    peak_rss_mb: float
    cpu_seconds: float
    emulator_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def percentile(self, p: float) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[int(p) - 1]


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def start(kind: str, emulator: BotApiEmulator, data_dir: Path) -> asyncio.subprocess.Process:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(data_dir),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": emulator.base_url,
        "DATA_DIR": str(data_dir),
        "WEB_PORT": "0",
    }
    args = ["-m", "bot", "run"] if kind == "guardbot" else [str(ROOT / "bench" / "echo_bot.py")]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=data_dir,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def measure(kind: str, users: int, total: int) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        async with BotApiEmulator(token=TOKEN) as emulator:
            process = await start(kind, emulator, Path(tmp))
            try:
                people = [emulator.user(100_000 + i, first_name=f"User{i}") for i in range(users)]
                # Warm-up: every customer's first contact (user rows, caches, imports) is not measured.
                # Guardbot's customers accept the privacy notice first, as real ones must.
                for person in people:
                    person.send("/start" if kind == "guardbot" else QUESTIONS[0])
                await emulator.wait_for(lambda: all(p.bot_messages for p in people), timeout=120)
                if kind == "guardbot":
                    for person in people:
                        person.press(person.bot_messages[-1].message_id, 0)  # "I accept the privacy notice"
                    await emulator.wait_for(
                        lambda: all(len(p.bot_messages) >= 3 for p in people), timeout=120
                    )
                sent_at: dict[int, float] = {}
                latencies: list[float] = []
                remaining = total
                done = asyncio.Event()

                def send(person_index: int) -> None:
                    nonlocal remaining
                    if remaining <= 0:
                        return
                    remaining -= 1
                    person = people[person_index]
                    sent_at[person.id] = time.perf_counter()
                    person.send(QUESTIONS[remaining % len(QUESTIONS)])

                def on_call(call: RecordedCall) -> None:
                    if call.method != "sendMessage" or not call.ok:
                        return
                    chat = call.params.get("chat_id")
                    if not isinstance(chat, int) or (started := sent_at.pop(chat, None)) is None:
                        return
                    latencies.append((time.perf_counter() - started) * 1000)
                    if len(latencies) == total:
                        done.set()
                    send(chat - 100_000)

                emulator.add_listener(on_call)
                began = time.perf_counter()
                cpu_before, emulator_before = cpu_seconds(process.pid), cpu_seconds()
                for index in range(users):
                    send(index)
                await asyncio.wait_for(done.wait(), timeout=600)
                seconds = time.perf_counter() - began
                cpu = cpu_seconds(process.pid) - cpu_before
                emulator_cpu = cpu_seconds() - emulator_before
                peak = peak_rss_mb(process.pid)
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(process.wait(), timeout=30)
                    except TimeoutError:
                        process.kill()
    return Result(kind, total, seconds, latencies, peak, cpu, emulator_cpu)


def report(rounds: list[tuple[Result, Result]]) -> str:
    lines = [
        f"{'bot':<10}{'updates/s':>10}{'p50 ms':>8}{'p95 ms':>8}{'peak RSS MB':>13}"
        f"{'bot CPU ms/update':>19}{'emulator CPU %':>16}"
    ]
    for bare, guard in rounds:
        for r in (bare, guard):
            lines.append(
                f"{r.name:<10}{r.rate:>10.0f}{r.percentile(50):>8.1f}{r.percentile(95):>8.1f}"
                f"{r.peak_rss_mb:>13.0f}{r.cpu_seconds / r.updates * 1000:>19.2f}"
                f"{r.emulator_cpu_seconds / r.seconds * 100:>16.0f}"
            )
    ratios = sorted(guard.rate / bare.rate for bare, guard in rounds)
    cpu = sorted(
        (bare.cpu_seconds / bare.updates) / (guard.cpu_seconds / guard.updates) for bare, guard in rounds
    )
    lines.append(
        f"guardbot / bare throughput: median {statistics.median(ratios):.2f} of {len(rounds)} rounds "
        f"(range {ratios[0]:.2f}–{ratios[-1]:.2f}; target ≥ 0.50); "
        f"by CPU per update: median {statistics.median(cpu):.2f}"
    )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/guardbot runs")
    args = parser.parse_args()
    # Alternating rounds and medians: on a shared 2-core VM a single run of either bot varies by ±30%.
    rounds = []
    for _ in range(args.rounds):
        bare = await measure("bare", args.users, args.updates)
        guard = await measure("guardbot", args.users, args.updates)
        rounds.append((bare, guard))
    print(f"{args.updates} updates, {args.users} concurrent customers, on {os.cpu_count()} cores")
    print(report(rounds))


if __name__ == "__main__":
    asyncio.run(main())
