"""Splitting SQL text into statements, as sqlite3's shell does: a ``;`` ends a statement unless it is
inside a string literal, a quoted identifier or a comment.
"""
from rome.sql.parse import QUOTES, quoted_end


def _scan(text):
    """Yield the index of every ``;`` that ends a statement; then, as the last item, None when the
    text ends inside a literal, quoted identifier or block comment, else len(text)."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in QUOTES:
            i = quoted_end(text, i, n + 1)
            if i > n:
                yield None
                return
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                yield None
                return
            i = j + 2
        else:
            if ch == ";":
                yield i
            i += 1
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
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            return True
    return False
