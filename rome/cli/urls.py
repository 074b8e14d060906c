"""Database URLs as the ``rome`` command shows and checks them."""


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


def rome_kind(url):
    """The ROME store kind a URL names (``rome+lmdb:///x`` or ``lmdb:///x`` -> ``lmdb``), else None."""
    from rome.storage.registry import KINDS
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme.startswith("rome+"):
        scheme = scheme[5:]
    elif scheme == "rome":
        return "memory"
    return scheme if scheme in KINDS else None


def lmdb_path(url):
    """The folder of a ROME LMDB URL (absolute), else None."""
    if rome_kind(url) != "lmdb":
        return None
    from rome.dbapi.connection import parse_url
    return parse_url(url)[1]


def lmdb_problem(path, create):
    """Why ``path`` cannot be opened as an LMDB database (None when it can): a file, or (unless
    ``create``) a folder that does not exist or holds no database."""
    import os
    if os.path.exists(path) and not os.path.isdir(path):
        return "%s is a file, not an LMDB database folder" % path
    if not create and not os.path.exists(os.path.join(path, "data.mdb")):
        return "no database at %s (pass --create to make a new one)" % path
    return None
