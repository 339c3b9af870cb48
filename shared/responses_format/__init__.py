"""OpenAI's Responses API, to and from the gateway's forms: pure translation, no web framework.

Used by the Responses routes (``gateway/openai/responses.py``): the request
(``request``, ``items``, ``tools``), the response object (``output``), its stream events
(``stream``) and the records a stored response keeps (``records``).
"""

from shared.responses_format.output import finished_response, response_object
from shared.responses_format.records import (
    ResponseEcho,
    ResponseOutcome,
    ResponseShell,
    ResponseStatus,
    response_id,
)
from shared.responses_format.request import ParamNames, ResponsesRequest, responses_request
from shared.responses_format.stream import ResponseEvents

__all__ = [
    "ParamNames",
    "ResponseEcho",
    "ResponseEvents",
    "ResponseOutcome",
    "ResponseShell",
    "ResponseStatus",
    "ResponsesRequest",
    "finished_response",
    "response_id",
    "response_object",
    "responses_request",
]
