"""From SQL text to a statement: transaction control by pattern, everything else through sqlglot.

Positional parameters (`?`) are renamed `:p1`, `:p2`… in textual order before parsing (sqlglot's tree
does not keep textual order), so the executor binds every parameter by name. Parsed statements are
cached per SQL string: SQLAlchemy sends the same strings over and over.
"""
import functools
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from rome.errors import ProgrammingError

_CONTROL = [
    ("begin", re.compile(r"^\s*BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(\s+TRANSACTION)?\s*;?\s*$", re.I)),
    ("commit", re.compile(r"^\s*(COMMIT|END)(\s+TRANSACTION)?\s*;?\s*$", re.I)),
    ("rollback_to", re.compile(r"^\s*ROLLBACK(\s+TRANSACTION)?\s+TO\s+(SAVEPOINT\s+)?\"?(?P<name>[\w$]+)\"?\s*;?\s*$", re.I)),
    ("rollback", re.compile(r"^\s*ROLLBACK(\s+TRANSACTION)?\s*;?\s*$", re.I)),
    ("savepoint", re.compile(r"^\s*SAVEPOINT\s+\"?(?P<name>[\w$]+)\"?\s*;?\s*$", re.I)),
    ("release", re.compile(r"^\s*RELEASE(\s+SAVEPOINT)?\s+\"?(?P<name>[\w$]+)\"?\s*;?\s*$", re.I)),
    ("explain", re.compile(r"^\s*EXPLAIN(\s+QUERY\s+PLAN)?\s+(?P<rest>.*)$", re.I | re.S)),
]


class Control:
    """A transaction-control or EXPLAIN statement (not parsed by sqlglot)."""

    def __init__(self, kind, name=None, rest=None):
        self.kind, self.name, self.rest = kind, name, rest


QUOTES = "'\"`["


def quoted_end(sql, i):
    """The index just past the quoted string, identifier or [name] that starts at ``sql[i]`` (in
    QUOTES); a doubled quote inside stands for itself. Unterminated: the end of ``sql``."""
    close = "]" if sql[i] == "[" else sql[i]
    j, n = i + 1, len(sql)
    while j < n:
        if sql[j] == close:
            if close != "]" and j + 1 < n and sql[j + 1] == close:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def number_placeholders(sql):
    """Rename each `?` outside quotes to `:pN`; returns (sql, count)."""
    if "?" not in sql:
        return sql, 0
    out, n, i, L = [], 0, 0, len(sql)
    while i < L:
        ch = sql[i]
        if ch in QUOTES:
            j = quoted_end(sql, i)
            out.append(sql[i:j])
            i = j
            continue
        if ch == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            j = L if j < 0 else j
            out.append(sql[i:j])
            i = j
            continue
        if ch == "?":
            j = i + 1
            while j < L and sql[j].isdigit():
                j += 1
            if j > i + 1:                  # ?NNN: parameter NNN
                k = int(sql[i + 1:j])
                if not 0 < k <= 32766:
                    raise ProgrammingError("variable number must be between ?1 and ?32766")
                n = max(n, k)
            else:                          # ?: one past the largest number used so far
                n += 1
                k = n
            out.append(":p%d" % k)
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out), n


@functools.lru_cache(maxsize=4096)
def parse(sql):
    """(statement, number of positional parameters). statement is a Control or a sqlglot Expression."""
    for kind, rx in _CONTROL:
        m = rx.match(sql)
        if m:
            d = m.groupdict()
            return Control(kind, d.get("name"), d.get("rest")), 0
    sql, conflict = _or_clause(sql)
    text, n = number_placeholders(sql)
    try:
        stmts = [s for s in sqlglot.parse(text, read="sqlite") if s is not None]
    except (ParseError, TokenError) as e:
        raise ProgrammingError("syntax error: %s" % _first_line(e)) from None
    if not stmts:
        raise ProgrammingError("empty statement")
    if len(stmts) > 1:
        raise ProgrammingError("You can only execute one statement at a time.")
    stmt = stmts[0]
    stmt.meta["rome_sql"] = text
    if conflict:
        stmt.meta["rome_conflict"] = conflict
    if isinstance(stmt, exp.Command):
        raise ProgrammingError("syntax error or unsupported statement: %s" % sql.strip()[:80])
    return stmt, n


_REPLACE = re.compile(r"^(\s*)REPLACE(\s+INTO\b)", re.I)
_UPDATE_OR = re.compile(r"^(\s*UPDATE)\s+OR\s+(ROLLBACK|ABORT|REPLACE|FAIL|IGNORE)\b", re.I)


def _or_clause(sql):
    """SQLite's conflict clauses that sqlglot does not read: ``REPLACE INTO`` is ``INSERT OR REPLACE
    INTO``; ``UPDATE OR <mode>`` is an UPDATE whose mode goes in ``stmt.meta["rome_conflict"]``.
    -> (sql, mode or None)."""
    m = _UPDATE_OR.match(sql)
    if m:
        return m.group(1) + sql[m.end():], m.group(2).upper()
    return _REPLACE.sub(r"\1INSERT OR REPLACE\2", sql, count=1), None


def _first_line(e):
    s = str(e)
    return s.splitlines()[0] if s else type(e).__name__


def declared_types(sql):
    """Column name -> declared type text, as written, for a CREATE TABLE or ALTER TABLE ADD COLUMN.

    sqlglot normalises type names (BLOB becomes VARBINARY, REAL becomes DOUBLE); reflection must give
    back what the DDL said, so the type text is cut from the original tokens."""
    from sqlglot.tokens import Tokenizer, TokenType
    stops = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "DEFAULT", "UNIQUE", "CHECK", "REFERENCES",
             "COLLATE", "GENERATED", "AUTOINCREMENT", "AS"}
    toks = Tokenizer().tokenize(sql)
    out = {}
    depth = 0
    i = 0
    # Find the column list: after "(" of CREATE TABLE name ( ... ), or after ADD [COLUMN].
    start = None
    for j, t in enumerate(toks):
        if t.token_type == TokenType.L_PAREN:
            start = j + 1
            break
        if t.text.upper() == "ADD":
            start = j + 1
            if start < len(toks) and toks[start].text.upper() == "COLUMN":
                start += 1
            break
    if start is None:
        return out
    i = start
    at_item_start = True
    while i < len(toks):
        t = toks[i]
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            if depth == 0:
                break
            depth -= 1
        elif t.token_type == TokenType.COMMA and depth == 0:
            at_item_start = True
            i += 1
            continue
        if at_item_start and depth == 0:
            at_item_start = False
            name = t.text
            if (name.upper().split() or [""])[0] in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
                i += 1
                continue
            j = i + 1
            d = 0
            type_toks = []
            while j < len(toks):
                u = toks[j]
                if d == 0 and (u.token_type in (TokenType.COMMA, TokenType.R_PAREN) or
                               (u.text.upper().split() or [""])[0] in stops):
                    break
                if u.token_type == TokenType.L_PAREN:
                    d += 1
                elif u.token_type == TokenType.R_PAREN:
                    d -= 1
                type_toks.append(u)
                j += 1
            if type_toks:
                out[name.lower()] = sql[type_toks[0].start:type_toks[-1].end + 1]
            else:
                out[name.lower()] = ""
            i = j
            continue
        i += 1
    return out


def table_name(node):
    """The name of a table reference, refusing a schema other than SQLite's "main"."""
    db = node.args.get("db")
    if db is not None and db.name.lower() != "main":
        raise ProgrammingError("unknown database %s" % db.name)
    return node.name
