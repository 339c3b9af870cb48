"""Refusals of the Responses API beside the gateway's own: a stored response that is not there
(another key's, deleted, expired, or never stored) and one that cannot be continued yet."""

from __future__ import annotations

from shared.errors import Conflict, InvalidRequest, NotFound


class ResponseNotFound(NotFound):
    """No stored response of this key has that id (404)."""

    code = "response_not_found"


class PreviousResponseNotFound(InvalidRequest):
    """``previous_response_id`` names no stored response of this key: 400, as OpenAI answers."""

    code = "previous_response_not_found"
    http_status = 400


class ResponseInProgress(Conflict):
    """``previous_response_id`` names a response that has not finished."""

    code = "response_in_progress"
