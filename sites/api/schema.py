"""The OpenAPI schema's error answers: every operation documents the errors it can give, all one shape (Error).

A drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS), so a new view
documents them without repeating them; a view's own entry for a code (a
409 with its meaning, say) is kept as it is.
"""

from __future__ import annotations

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_COMPONENT = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable: scripts branch on it (docs/api.md lists them)."},
                "message": {"type": "string", "description": "What went wrong and what to do, for a person."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Validation errors by field, as the console's forms word them.",
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

# code -> (when it applies, what it means)
ANY, SECURED, BODY = "any", "secured", "body"
ERRORS = {
    "400": (ANY, "The request or its input was refused (malformed_request, validation_failed, or the operation's own code)."),
    "401": (SECURED, "No token (not_authenticated), or one that is not valid, revoked or expired (token_refused)."),
    "403": (SECURED, "The user's role (no_role, role_forbidden) or the token's scope (scope_forbidden) does not allow this."),
    "404": (ANY, "No such site, build, deployment or release, or no such address (not_found)."),
    "406": (ANY, "The API answers JSON only (not_acceptable)."),
    "413": (BODY, "The body is too large (request_too_large, file_too_large)."),
    "415": (BODY, "The body's Content-Type is not one this operation takes (unsupported_media_type)."),
    "429": (SECURED, "Too many requests with this token (throttled); Retry-After says when to try again."),
}


def _applies(when: str, operation: dict) -> bool:
    if when == SECURED:
        return bool(operation.get("security"))
    if when == BODY:
        return "requestBody" in operation
    return True


def error_responses_document(result, generator, request, public):
    # The views' ErrorSerializer makes the component; a schema whose views name no error still gets it.
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Error", ERROR_COMPONENT)
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code, (when, description) in ERRORS.items():
                if not _applies(when, operation):
                    continue
                entry = responses.setdefault(code, {"content": {"application/json": {"schema": ERROR_REF}}})
                if not entry.get("description"):
                    entry["description"] = description
    return result
