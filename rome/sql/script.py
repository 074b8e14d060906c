"""Splitting SQL text into statements, as sqlite3 does: a ``;`` ends a statement unless it is inside a
string literal, a quoted identifier or a comment. The one splitter: ``rome sql`` (statements typed or
read from a file, with their line numbers) and ``Connection.executescript`` both use it.
"""
from rome.sql.parse import SKIPPED_STARTS, literal_end


def _scan(text):
    """Yield the index of every ``;`` that ends a statement; then, as the last item, None when the
    text ends inside a literal, quoted identifier or block comment, else len(text)."""
    i, n = 0, len(text)
    while i < n:
        j = literal_end(text, i, n + 1) if text[i] in SKIPPED_STARTS else None
        if j is None:
            if text[i] == ";":
                yield i
            i += 1
        elif j > n:
            yield None
            return
        else:
            i = j
    yield n


def split(text):
    """(complete statements, rest): each statement as (its text without the ``;``, the line it starts
    on, 1-based); ``rest`` is what follows the last ``;`` (a statement still being typed, or blank).
    Statements of nothing but blanks and comments are dropped."""
    out, start = [], 0
    for end in _scan(text):
        if end is None or end == len(text):
            break
        if has_code(text[start:end]):
            body = text[start:end]
            lead = len(body) - len(body.lstrip())
            out.append((body.strip(), text.count("\n", 0, start + lead) + 1))
        start = end + 1
    return out, text[start:]


def unterminated(text):
    """True when the text ends inside a string literal, quoted identifier or block comment."""
    *_, last = _scan(text)
    return last is None


def has_code(text):
    """True unless the text is only blanks and comments."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith(("--", "/*"), i):
            i = literal_end(text, i)
        else:
            return True
    return False


def split_script(script):
    """The statements of a whole script (``executescript``): those ended by ``;`` and a last one without
    it; statements of nothing but blanks and comments are left out."""
    stmts, rest = split(script)
    return [s for s, _ in stmts] + ([rest.strip()] if has_code(rest) else [])
