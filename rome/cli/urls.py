"""Database URLs as the ``rome`` command checks them (masking: rome.dialect.urls)."""


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
