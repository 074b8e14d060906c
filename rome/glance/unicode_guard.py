"""A WSGI filter in front of Glance: a JSON request body whose text is not valid Unicode (a lone UTF-16
surrogate such as ``"\\ud800"``, which JSON allows to escape) gets 400 Bad Request.

The database refuses such text too (rome.DataError, before anything is written), but Glance turns a
database error into 500; the client sent bad data and should be told so.
"""
import io
import json

LIMIT = 1 << 20     # JSON bodies of the images API are small; larger ones go to Glance unread


def _not_unicode(body):
    """True when body is JSON holding a string that cannot be encoded as UTF-8."""
    try:
        doc = json.loads(body)
    except ValueError:
        return False                      # not JSON: Glance answers that itself
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class UnicodeGuard:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if "json" in environ.get("CONTENT_TYPE", "") and environ.get("REQUEST_METHOD") in ("POST", "PUT", "PATCH"):
            try:
                n = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                n = 0
            if 0 < n <= LIMIT:
                body = environ["wsgi.input"].read(n)
                environ["wsgi.input"] = io.BytesIO(body)
                if _not_unicode(body):
                    msg = b"400 Bad Request\n\nThe request holds text that is not valid Unicode (a lone UTF-16 surrogate).\n"
                    start_response("400 Bad Request", [("Content-Type", "text/plain; charset=UTF-8"),
                                                       ("Content-Length", str(len(msg)))])
                    return [msg]
        return self.app(environ, start_response)
