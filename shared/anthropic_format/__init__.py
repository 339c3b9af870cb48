"""Anthropic's Messages API format, to and from the gateway's: pure translation, no web framework.

Used by the Messages API front end (``gateway/anthropic``).
"""

from shared.anthropic_format.errors import anthropic_status, error_body, retryable
from shared.anthropic_format.request import MessagesRequest, Upstream, messages_request
from shared.anthropic_format.response import message_of
from shared.anthropic_format.stream import Frame, MessageStream, event_error

__all__ = [
    "Frame",
    "MessageStream",
    "MessagesRequest",
    "Upstream",
    "anthropic_status",
    "error_body",
    "event_error",
    "message_of",
    "messages_request",
    "retryable",
]
