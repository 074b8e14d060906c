"""SQLite's core JSON functions (RFC 8259 text; no JSON5, no JSONB): json, json_valid, json_quote,
json_extract, json_type, json_array, json_object, json_array_length.

Numbers keep their JSON text; json_extract returns SQL values (strings unquoted, true/false as 1/0,
arrays and objects as minified JSON text).
"""
import json
import re

from rome.errors import DataError
from rome.sql.semantics import values as V


class _Num(str):
    """A JSON number, kept as written."""


class _Obj(list):
    """A JSON object: its (key, value) pairs in order."""


_DEC = json.JSONDecoder(parse_float=_Num, parse_int=_Num, object_pairs_hook=_Obj,
                        parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
_WS = " \t\n\r"


def _parse(text):
    if type(text) is bytes:
        raise DataError("JSON cannot hold BLOB values")
    s = V.to_text(text)
    try:
        v, end = _DEC.raw_decode(s, len(s) - len(s.lstrip(_WS)))
    except ValueError:
        raise DataError("malformed JSON") from None
    if s[end:].strip(_WS):
        raise DataError("malformed JSON")
    return v


def dumps(v):
    """Minified JSON text of a parsed value."""
    if isinstance(v, _Obj):
        return "{%s}" % ",".join(json.dumps(k, ensure_ascii=False) + ":" + dumps(x) for k, x in v)
    if isinstance(v, list):
        return "[%s]" % ",".join(dumps(x) for x in v)
    if isinstance(v, _Num):
        return str(v)
    return json.dumps(v, ensure_ascii=False)


def _sql(v):
    """The SQL value json_extract gives for a JSON value."""
    if v is None or v is True or v is False:
        return None if v is None else int(v)
    if isinstance(v, _Num):
        if re.fullmatch(r"-?[0-9]+", v):
            i = int(v)
            if V.INT_MIN <= i <= V.INT_MAX:
                return i
        return V.atof(v)[1]
    if isinstance(v, list):
        return dumps(v)
    return v


_STEP = re.compile(r'\.(?:"([^"]*)"|([^.\[]*))|\[(#-)?([0-9]+)\]|\[(#)\]')


def _lookup(v, path):
    path = V.to_text(path)
    if not path.startswith("$"):
        raise DataError("JSON path error near '%s'" % path[:20])
    i = 1
    while i < len(path):
        m = _STEP.match(path, i)
        if not m:
            raise DataError("JSON path error near '%s'" % path[i:i + 20])
        i = m.end()
        key = m.group(1) if m.group(1) is not None else m.group(2)
        if key is not None:
            if not isinstance(v, _Obj):
                return _ABSENT
            for k, x in v:
                if k == key:
                    v = x
                    break
            else:
                return _ABSENT
        else:
            if not isinstance(v, list) or isinstance(v, _Obj):
                return _ABSENT
            if m.group(5):
                return _ABSENT
            n = int(m.group(4))
            if m.group(3):
                n = len(v) - n
            if not 0 <= n < len(v):
                return _ABSENT
            v = v[n]
    return v


_ABSENT = object()


def json_extract(x, *paths):
    if x is None or any(p is None for p in paths):
        return None
    doc = _parse(x)
    if len(paths) == 1:
        v = _lookup(doc, paths[0])
        return None if v is _ABSENT else _sql(v)
    return "[%s]" % ",".join("null" if v is _ABSENT else dumps(v) for v in (_lookup(doc, p) for p in paths))


def json_extract_quoted(x, *paths):
    """json_quote(json_extract(x, path...)): the JSON text of what json_extract finds."""
    if len(paths) != 1:
        r = json_extract(x, *paths)
        return "null" if r is None else r
    if x is None or paths[0] is None:
        return "null"
    v = _lookup(_parse(x), paths[0])
    if v is _ABSENT:
        return "null"
    return dumps(v) if isinstance(v, list) else json_quote(_sql(v))


def json_quote(v):
    t = type(v)
    if v is None:
        return "null"
    if t is int:
        return str(v)
    if t is float:
        return V.real_to_text(v)
    if t is bytes:
        raise DataError("JSON cannot hold BLOB values")
    return json.dumps(v, ensure_ascii=False)


def json_(x):
    return None if x is None else dumps(_parse(x))


def json_valid(x):
    if x is None:
        return None
    try:
        _parse(x)
        return 1
    except DataError:
        return 0


def json_type(x, path="$"):
    if x is None or path is None:
        return None
    v = _lookup(_parse(x), path)
    if v is _ABSENT:
        return None
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, _Obj):
        return "object"
    if isinstance(v, list):
        return "array"
    if isinstance(v, _Num):
        return "integer" if re.fullmatch(r"-?[0-9]+", v) else "real"
    return "text"


def json_array_length(x, path="$"):
    if x is None or path is None:
        return None
    v = _lookup(_parse(x), path)
    if v is _ABSENT:
        return None
    return len(v) if isinstance(v, list) and not isinstance(v, _Obj) else 0


def json_array(*args):
    return "[%s]" % ",".join(json_quote(a) for a in args)


def json_object(*args):
    if len(args) % 2:
        raise DataError("json_object() requires an even number of arguments")
    parts = []
    for k, v in zip(args[::2], args[1::2]):
        if type(k) is not str:
            raise DataError("json_object() labels must be TEXT")
        parts.append(json.dumps(k, ensure_ascii=False) + ":" + json_quote(v))
    return "{%s}" % ",".join(parts)


FUNCTIONS = {
    "json": (json_, 1, 1), "json_valid": (json_valid, 1, 1), "json_quote": (json_quote, 1, 1),
    "json_extract": (json_extract, 2, 1000), "json_type": (json_type, 1, 2),
    "json_array": (json_array, 0, 1000), "json_object": (json_object, 0, 1000),
    "json_array_length": (json_array_length, 1, 2),
}
