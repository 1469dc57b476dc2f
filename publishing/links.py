"""Campaign links: the UTM parameters analytics tools read to attribute a visit to a campaign and a network."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def utm_tagged(url: str, *, source: str, campaign: str, medium: str = "social") -> str:
    """``url`` with utm_source, utm_medium and utm_campaign added. Parameters the URL already has (a
    hand-made utm_content, or a utm_source chosen on purpose) are kept, and its fragment stays last."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not campaign:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {name for name, _value in query}
    added = [(name, value) for name, value in (("utm_source", source), ("utm_medium", medium),
                                               ("utm_campaign", campaign)) if name not in present]  # fmt: skip
    return urlunsplit(parts._replace(query=urlencode(query + added)))
