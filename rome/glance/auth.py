"""Keystone-less authentication for ``rome glance serve``: the token names the caller.

A request carries ``X-Auth-Token: USER:PROJECT:ROLE[,ROLE...]`` (for example ``alice:demo:member`` or
``root:admin:admin``). This paste filter turns it into the identity headers keystonemiddleware would
have set (``X-Identity-Status: Confirmed``, ``X-User-Id``, ``X-Project-Id``, ``X-Roles``), after removing
any such headers the client sent itself, and hands the request on to Glance's own
``ContextMiddleware``. Keystone's implied roles are applied as a default Keystone deployment does
(admin => member => reader), since Glance's default policies check ``reader`` and ``member``.

The token may be percent-encoded (python-glanceclient sends ``u%3Ap%3Arole``). A request without a
token, or with a token of another form, gets 401: this is meant for local use and
tests, where anyone who can reach the port may name any user. For real deployments use
``--auth keystone`` (keystonemiddleware).
"""
import json
import re
import urllib.parse

TOKEN_RE = re.compile(r"^(?P<user>[^:\s]+):(?P<project>[^:\s]+):(?P<roles>[^:\s]+)$")

# Keystone's default implied roles: admin implies member, member implies reader.
IMPLIED_ROLES = {"admin": ["member"], "member": ["reader"]}

# Identity headers that only the auth layer may set (as WSGI environ keys); a client's are dropped.
_IDENTITY_PREFIXES = ("HTTP_X_IDENTITY_STATUS", "HTTP_X_USER", "HTTP_X_PROJECT", "HTTP_X_TENANT",
                      "HTTP_X_ROLE", "HTTP_X_SERVICE_", "HTTP_X_DOMAIN", "HTTP_X_IS_ADMIN_PROJECT",
                      "HTTP_X_SYSTEM", "HTTP_OPENSTACK_SYSTEM_SCOPE")


def expand_roles(roles):
    """Lower-case, de-duplicate, and add implied roles, keeping the given order first."""
    out = []
    todo = [r.strip().lower() for r in roles if r.strip()]
    while todo:
        r = todo.pop(0)
        if r not in out:
            out.append(r)
            todo.extend(IMPLIED_ROLES.get(r, []))
    return out


def parse_token(token):
    """``"u:p:admin,x"`` -> ``("u", "p", ["admin", "x", "member", "reader"])``; None if malformed."""
    # python-glanceclient sends the token percent-encoded ('u%3Ap%3Aadmin')
    m = TOKEN_RE.match(urllib.parse.unquote(token or "").strip())
    if not m:
        return None
    roles = expand_roles(m.group("roles").split(","))
    if not roles:
        return None
    return m.group("user"), m.group("project"), roles


class TokenAuthMiddleware:
    """WSGI middleware: ``X-Auth-Token: user:project:role[,role]`` -> Keystone-style identity headers."""

    def __init__(self, app, **conf):
        self.app = app

    def __call__(self, environ, start_response):
        for key in [k for k in environ if k.startswith(_IDENTITY_PREFIXES)]:
            del environ[key]
        parsed = parse_token(environ.get("HTTP_X_AUTH_TOKEN"))
        if parsed is None:
            return self._unauthorized(environ, start_response)
        user, project, roles = parsed
        environ.update({
            "HTTP_X_IDENTITY_STATUS": "Confirmed",
            "HTTP_X_USER_ID": user,
            "HTTP_X_USER_NAME": user,
            "HTTP_X_PROJECT_ID": project,
            "HTTP_X_PROJECT_NAME": project,
            "HTTP_X_USER_DOMAIN_ID": "default",
            "HTTP_X_PROJECT_DOMAIN_ID": "default",
            "HTTP_X_ROLES": ",".join(roles),
        })
        return self.app(environ, start_response)

    @staticmethod
    def _unauthorized(environ, start_response):
        body = json.dumps({"error": {
            "code": 401, "title": "Unauthorized",
            "message": "Authentication required: send 'X-Auth-Token: USER:PROJECT:ROLE[,ROLE]' "
                       "(rome glance serve without Keystone)."}}).encode()
        start_response("401 Unauthorized", [("Content-Type", "application/json"),
                                            ("Content-Length", str(len(body))),
                                            ("WWW-Authenticate", 'Token realm="rome-glance"')])
        return [body]


def filter_factory(global_conf, **local_conf):
    """paste.deploy filter factory."""
    def _filter(app):
        return TokenAuthMiddleware(app, **local_conf)
    return _filter
