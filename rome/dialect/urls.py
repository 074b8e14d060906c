"""Database URLs in messages: never with their password."""


# query options that carry a secret (as some drivers take ?password=): masked like the password
SECRET_OPTIONS = ("password", "passwd", "pwd", "secret", "token", "auth", "api_key", "apikey")


def safe_url(url):
    """The URL with its password, and the values of SECRET_OPTIONS in its query, replaced by
    ``***``, for messages and logs."""
    import sqlalchemy as sa
    try:
        text = sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        text = _mask_userinfo(url)
    return _mask_secret_options(text)


def _secret_option_values(url):
    _base, sep, query = url.partition("?")
    if not sep:
        return []
    values = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        if eq and value and name.strip().lower() in SECRET_OPTIONS:
            values.append(value)
    return values


def _mask_secret_options(url):
    base, sep, query = url.partition("?")
    if not sep:
        return url
    pairs = [p.partition("=") for p in query.split("&")]
    return base + sep + "&".join(
        n + eq + ("***" if eq and v and n.strip().lower() in SECRET_OPTIONS else v) for n, eq, v in pairs)


def _mask_userinfo(url):
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    if "@" not in netloc:
        return url
    userinfo, _, host = netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return "%s://%s%s@%s%s%s" % (scheme, user, ":***" if ":" in userinfo else "", host, slash, tail)


def password_of(url):
    """The URL's password (to scrub it from text that others wrote), or None."""
    import sqlalchemy as sa
    try:
        return sa.engine.make_url(url).password or None
    except Exception:
        return None


def scrub(text, url):
    """``text`` with the URL's password (and secret query options) replaced by ``***``."""
    for secret in [password_of(url)] + _secret_option_values(url):
        if secret:
            text = text.replace(secret, "***")
    return text
