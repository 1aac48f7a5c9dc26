"""JSON Feed 1.1 as a JSON Schema, written for this project from the specification
(https://www.jsonfeed.org/version/1.1/), stricter than the spec where it says "should".

Unknown keys are refused unless they start with "_" (the spec's extensions), so a misspelt
field fails here instead of being silently ignored by readers.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

# RFC 3339 date-time, which the spec requires for both dates.
_RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
_URL = {"type": "string", "pattern": r"^https?://[^\s]+$"}
_TEXT = {"type": "string", "minLength": 1}
_EXTENSIONS: dict[str, object] = {"^_": {}}

_AUTHOR = {
    "type": "object",
    "properties": {"name": _TEXT, "url": _URL, "avatar": _URL},
    "anyOf": [{"required": ["name"]}, {"required": ["url"]}, {"required": ["avatar"]}],
    "patternProperties": _EXTENSIONS,
    "additionalProperties": False,
}
_AUTHORS = {"type": "array", "items": _AUTHOR, "minItems": 1}
_LANGUAGE = {"type": "string", "pattern": r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"}

_ATTACHMENT = {
    "type": "object",
    "properties": {
        "url": _URL,
        "mime_type": {"type": "string", "pattern": r"^[\w.+-]+/[\w.+-]+$"},
        "title": _TEXT,
        "size_in_bytes": {"type": "integer", "minimum": 0},
        "duration_in_seconds": {"type": "number", "minimum": 0},
    },
    "required": ["url", "mime_type"],
    "patternProperties": _EXTENSIONS,
    "additionalProperties": False,
}

_ITEM = {
    "type": "object",
    "properties": {
        "id": _TEXT,  # the spec: an item without an id must be discarded
        "url": _URL,
        "external_url": _URL,
        "title": {"type": "string"},
        "content_html": {"type": "string"},
        "content_text": {"type": "string"},
        "summary": {"type": "string"},
        "image": _URL,
        "banner_image": _URL,
        "date_published": {"type": "string", "pattern": _RFC3339},
        "date_modified": {"type": "string", "pattern": _RFC3339},
        "authors": _AUTHORS,
        "tags": {"type": "array", "items": _TEXT},
        "language": _LANGUAGE,
        "attachments": {"type": "array", "items": _ATTACHMENT, "minItems": 1},
    },
    "required": ["id"],
    "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
    "patternProperties": _EXTENSIONS,
    "additionalProperties": False,
}

JSON_FEED_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": _TEXT,
        "home_page_url": _URL,
        "feed_url": _URL,
        "description": {"type": "string"},
        "user_comment": {"type": "string"},
        "next_url": _URL,
        "icon": _URL,
        "favicon": _URL,
        "authors": _AUTHORS,
        "language": _LANGUAGE,
        "expired": {"type": "boolean"},
        "hubs": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"type": _TEXT, "url": _URL},
                "required": ["type", "url"],
            },
        },
        "items": {"type": "array", "items": _ITEM},
    },
    "required": ["version", "title", "items"],
    "patternProperties": _EXTENSIONS,
    "additionalProperties": False,
}

_validator = Draft202012Validator(JSON_FEED_SCHEMA)


def json_feed_violations(document: object) -> list[str]:
    """Where ``document`` breaks JSON Feed 1.1; empty when it conforms."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in _validator.iter_errors(document)
    ]
