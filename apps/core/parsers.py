"""A JSON body parser for the APIs that cannot be made to recurse or read without bound (SPEC §7).

DRF's JSONParser hands the whole stream to `json.load`, whose decoder recurses once per nesting level:
a body of 100,000 `[` raises RecursionError (a 500). This parser reads at most `max_bytes`, refuses
nesting deeper than `max_depth` with one linear scan before decoding, refuses the non-JSON constants
NaN/Infinity and requires an object at the top. Every refusal is a ParseError, which the API exception
handler answers with 400 `invalid_params`.
"""

import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

DEFAULT_MAX_BYTES = 64 * 1024
DEFAULT_MAX_DEPTH = 8


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """Whether arrays/objects nest deeper than `max_depth` (brackets inside strings do not count)."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(JSONParser):
    """JSON objects only, at most API_MAX_BODY_BYTES long and API_MAX_BODY_DEPTH deep."""

    def parse(self, stream, media_type=None, parser_context=None):
        max_bytes = getattr(settings, "API_MAX_BODY_BYTES", DEFAULT_MAX_BYTES)
        max_depth = getattr(settings, "API_MAX_BODY_DEPTH", DEFAULT_MAX_DEPTH)
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read(max_bytes + 1) if stream is not None else b""
        if len(raw) > max_bytes:
            raise ParseError(_("The body is larger than %(max)d bytes.") % {"max": max_bytes})
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise ParseError(
                _("The body is not valid %(encoding)s text.") % {"encoding": encoding}
            ) from error
        if json_depth_exceeds(text, max_depth):
            raise ParseError(_("The body nests deeper than %(max)d levels.") % {"max": max_depth})
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except ValueError as error:
            raise ParseError(_("The body is not valid JSON.")) from error
        if not isinstance(data, dict):
            raise ParseError(_("The body must be a JSON object."))
        return data
