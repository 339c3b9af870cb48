"""What a Messages request's route speaks, which decides the fields only Anthropic defines."""

from __future__ import annotations

from shared.anthropic_format import Upstream
from shared.anthropic_format.request import THINKING_ON
from shared.capabilities import Capability
from shared.chat import ChatRequest
from shared.routing import plan_route
from shared.settings import Settings

# Adapters that speak the Messages API upstream: Anthropic-only fields (thinking as sent,
# top_k...) reach a route only when every step is one of these.
MESSAGES_NATIVE_KINDS = frozenset({"anthropic"})


def upstream_of(settings: Settings, chat: ChatRequest) -> Upstream:
    """The route ``chat`` would take, as ``Upstream``; raises what admission would (an unserved
    model, a request no step can take)."""
    _, steps = plan_route(settings, chat)
    kinds = {settings.providers[step.provider].kind for step in steps}
    reasons = all(Capability.REASONING in (step.capabilities or ()) for step in steps)
    thinks = any(_thinking_on(step.extra_body.get("thinking")) for step in steps)
    return Upstream(native=kinds <= MESSAGES_NATIVE_KINDS, reasons=reasons, thinks=thinks)


def _thinking_on(thinking: object) -> bool:
    return isinstance(thinking, dict) and thinking.get("type") in THINKING_ON
