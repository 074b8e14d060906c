"""Database URLs in messages: never with their password."""


def safe_url(url):
    """The URL with its password replaced by ``***``, for messages and logs."""
    import sqlalchemy as sa
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return _mask_userinfo(url)


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
    """``text`` with the URL's password replaced by ``***``."""
    pw = password_of(url)
    return text.replace(pw, "***") if pw else text
