"""Request paths: normalising, public-path matching, origin rewriting, and
the return address after sign-in."""

import re

_ORIGIN_SAFE = "/!$&'()*+,;=:@-._~"
_CONTROL = re.compile("[\x00-\x1f\x7f]")
# Exactly the characters quote(path, safe=_ORIGIN_SAFE) leaves alone: a path
# made only of them needs no quoting. A decoded space, `?`, `#` or `%` does.
_ORIGIN_PLAIN = re.compile(r"[A-Za-z0-9/!$&'()*+,;=:@._~-]*\Z")
_origin_plain = _ORIGIN_PLAIN.match
_MAX_RETURN = 2048


def normalise(uri):
    """The percent-decoded path with `.`/`..` resolved and `//` collapsed.

    None for a path that cannot be a real request (not starting with `/`,
    invalid UTF-8, control characters); the caller answers 400.
    """
    if not isinstance(uri, str) or not uri.startswith("/"):
        return None
    if "%" not in uri and "//" not in uri and "/." not in uri and "\\" not in uri:
        path = uri
    else:
        from urllib.parse import unquote_to_bytes

        try:
            path = unquote_to_bytes(uri).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if path is uri:
        # Printable ASCII holds no control character: no regex needed.
        if uri.isascii() and uri.isprintable():
            return path
        if _CONTROL.search(path):
            return None
        return path
    if _CONTROL.search(path):
        return None
    # Browsers treat a backslash as a slash; so must the matcher, or
    # `/public\..\secret` would match a public prefix and read another file.
    path = path.replace("\\", "/")
    segments = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normal = "/" + "/".join(segments)
    if path.endswith(("/", "/.", "/..")) and normal != "/":
        normal += "/"
    return normal


def is_public_for(cfg, path):
    """is_public(cfg.public_paths, path), from the sets the config worked out once."""
    return path in cfg.public_exact or path.startswith(cfg.public_starts)


def is_public(prefixes, path):
    for prefix in prefixes:
        if prefix.endswith("/"):
            if path.startswith(prefix):
                return True
        elif path == prefix or path.startswith(prefix + "/"):
            return True
    return False


def origin_uri(cfg, path, *, fallback=True):
    """Where the origin request goes: the live build's prefix, SPA fallback,
    `index.html` for folders.

    `fallback=False` for a public path: it gets exactly the object it names
    (or that folder's own `index.html`), never the SPA's `/index.html`, which
    would hand the protected app to anyone who adds `/x` to a public prefix.
    """
    if path.endswith("/"):
        path += "index.html"
    elif fallback and cfg.spa and "." not in path.rpartition("/")[2]:
        path = "/index.html"
    if _origin_plain(path):
        return cfg.build_prefix + path
    from urllib.parse import quote

    return cfg.build_prefix + quote(path, safe=_ORIGIN_SAFE)


def _unsafe(value, *, raw=True):
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return True
    # The raw value goes into a Location header, so it must be plain ASCII;
    # its decoded forms may hold any text but no control character.
    top = 0x7F if raw else 0x110000
    banned = " \\" if raw else "\\"
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F or ord(ch) >= top or ch in banned for ch in value)


def safe_return_path(value):
    """`value` if it is a relative path on this host, else "/".

    Refuses what earlier edge-auth projects let through: `//evil`, `/\\evil`,
    schemes, control characters and CR/LF, raw or percent-encoded.
    """
    if not isinstance(value, str) or not value or len(value) > _MAX_RETURN:
        return "/"
    if _unsafe(value):
        return "/"
    from urllib.parse import unquote

    path, _, _query = value.partition("?")
    decoded = unquote(path)
    # Encoded forms count too: `/%2F%2Fevil.com` or `/%0d%0aSet-Cookie:`.
    if _unsafe(decoded, raw=False) or _unsafe(unquote(decoded), raw=False):
        return "/"
    if "%0a" in value.lower() or "%0d" in value.lower() or "%00" in value:
        return "/"
    return value
