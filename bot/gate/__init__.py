"""The one way out to Telegram: the outbound gate and flood control, as aiogram request middlewares."""

from bot.gate.middleware import OutboundGate
from bot.gate.retry import FloodControl

__all__ = ["FloodControl", "OutboundGate"]
