"""From SQL text to a statement: transaction control by pattern, everything else through sqlglot.

Positional parameters (`?`) are renamed `:p1`, `:p2`… in textual order before parsing (sqlglot's tree
does not keep textual order), so the executor binds every parameter by name. Parsed statements are
cached per SQL string (SQLAlchemy sends the same strings over and over), within a memory budget.
"""
import functools
import re
import sys

import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenizerCore, TokenType

from rome.errors import NotSupportedError, OperationalError, ProgrammingError
from rome.sql.semantics.values import InList, check_text
from rome.sql.textcache import TextCache

# SQLite's parser stack (100 entries) takes parentheses nested some 90 deep, deeper ones are refused with
# OperationalError "parser stack overflow"; ROME refuses past 99. sqlglot and the planner recurse some
# 20 Python frames per level, hence the higher recursion limit.
MAX_NESTING = 99
if sys.getrecursionlimit() < 6000:
    sys.setrecursionlimit(6000)

# a savepoint's name: a word, or quoted as SQLite allows ("a b", 'a b', [a b], `a b`)
_NAME = r"""(?P<name>[\w$]+|"(?:[^"]|"")+"|'(?:[^']|'')+'|\[[^\]]+\]|`(?:[^`]|``)+`)"""
_CONTROL = [
    ("begin", re.compile(r"^\s*BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(\s+TRANSACTION)?\s*;?\s*$", re.I)),
    ("commit", re.compile(r"^\s*(COMMIT|END)(\s+TRANSACTION)?\s*;?\s*$", re.I)),
    ("rollback_to", re.compile(r"^\s*ROLLBACK(\s+TRANSACTION)?\s+TO\s+(SAVEPOINT\s+)?" + _NAME + r"\s*;?\s*$", re.I)),
    ("rollback", re.compile(r"^\s*ROLLBACK(\s+TRANSACTION)?\s*;?\s*$", re.I)),
    ("savepoint", re.compile(r"^\s*SAVEPOINT\s+" + _NAME + r"\s*;?\s*$", re.I)),
    ("release", re.compile(r"^\s*RELEASE(\s+SAVEPOINT)?\s+" + _NAME + r"\s*;?\s*$", re.I)),
    ("explain", re.compile(r"^\s*EXPLAIN(\s+QUERY\s+PLAN)?\s+(?P<rest>.*)$", re.I | re.S)),
]


_EXPONENT = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")


class _Core(TokenizerCore):
    __slots__ = ()

    def _scan_number(self):
        n = len(self.tokens)
        super()._scan_number()
        if len(self.tokens) == n or self.tokens[n].token_type != TokenType.NUMBER:
            return
        m = _EXPONENT.match(self.tokens[n].text)
        if m is None or (m.end() == len(self.tokens[n].text) and len(self.tokens) == n + 1):
            return
        del self.tokens[n:]          # rescan from just after the exponent's digits
        back = self._current - (self._start + m.end())
        self._current -= back
        self._col -= back
        self._end = False
        self._char, self._peek = self.sql[self._current - 1], self.sql[self._current]
        self._add(TokenType.NUMBER)


class RomeSQLite(SQLite):
    """SQLite's dialect, with exponent literals read as SQLite reads them: sqlglot's tokenizer takes a
    sign after the exponent's digits into the number (``1e3+1`` as one token); and ``ALTER TABLE t ADD
    [COLUMN] c`` with neither type nor constraint, which sqlglot does not read as a column, and a column
    without a type whose CHECK sqlglot would read as a type named CHECK."""

    class Parser(SQLite.Parser):
        def _parse_types(self, *args, **kwargs):
            # a column without a type followed by CHECK (...): the constraint, not a type "CHECK(...)"
            if kwargs.get("schema") and self._curr is not None and self._curr.text.upper() == "CHECK" \
                    and self._next is not None and self._next.token_type == TokenType.L_PAREN:
                return None
            return super()._parse_types(*args, **kwargs)

        def _parse_column_def_with_exists(self):
            found = super()._parse_column_def_with_exists()
            if found is None and self._prev.text.upper() == "ADD":
                start = self._index
                self._match(TokenType.COLUMN)
                name = self._parse_id_var()
                if name is not None and (self._curr is None or self._curr.token_type in (
                        TokenType.SEMICOLON, TokenType.COMMA, TokenType.SENTINEL)):
                    return self.expression(exp.ColumnDef(this=name))
                self._retreat(start)
            return found

    class Tokenizer(SQLite.Tokenizer):
        def _init_core(self):
            core = super()._init_core()
            if type(core) is TokenizerCore:   # the pure-Python core (a compiled one is left alone)
                core.__class__ = _Core
            return core


# What an SQLite statement starts with; anything else is a syntax error (sqlglot would read some of it
# as an expression). ProgrammingError, the class of every syntax error: oslo.db re-raises an
# OperationalError as it is, and ROME's OperationalErrors mean a store or a conflict, which are retried.
_STATEMENTS = {"ALTER", "ANALYZE", "ATTACH", "BEGIN", "COMMIT", "CREATE", "DELETE", "DETACH", "DROP", "END",
               "EXPLAIN", "INSERT", "PRAGMA", "REINDEX", "RELEASE", "REPLACE", "ROLLBACK", "SAVEPOINT",
               "SELECT", "UPDATE", "VACUUM", "VALUES", "WITH"}
_SEVERAL_UPSERTS = re.compile(r"\bON\s+CONFLICT\b.*\bDO\b.*\bON\s+CONFLICT\b", re.I | re.S)
_UNSUPPORTED_CREATE = re.compile(r"\s*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?(TRIGGER|VIRTUAL\s+TABLE)\b", re.I)
_LEADING_WORD = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*(\w+|[^\s\w;]|)", re.S)


class Control:
    """A transaction-control or EXPLAIN statement (not parsed by sqlglot)."""

    def __init__(self, kind, name=None, rest=None):
        self.kind, self.name, self.rest = kind, name, rest


QUOTES = "'\"`["
SKIPPED_STARTS = QUOTES + "-/"   # the first characters of what literal_end skips


def quoted_end(sql, i, unterminated=None):
    """The index just past the quoted string, identifier or [name] that starts at ``sql[i]`` (in
    QUOTES); a doubled quote inside stands for itself. Unterminated: ``unterminated``, by default the
    end of ``sql``."""
    close = "]" if sql[i] == "[" else sql[i]
    j, n = i + 1, len(sql)
    while j < n:
        if sql[j] == close:
            if close != "]" and j + 1 < n and sql[j + 1] == close:
                j += 2
                continue
            return j + 1
        j += 1
    return n if unterminated is None else unterminated


def literal_end(sql, i, unterminated=None):
    """When a string literal, quoted identifier or comment starts at ``sql[i]``, the index just past
    it (a ``--`` comment ends after its newline); else None. Where SQL text is scanned for ``?``,
    ``;`` or anything else, these spans are skipped whole: the one rule for all scanners. An
    unterminated literal or block comment ends at ``unterminated``, by default ``len(sql)``."""
    ch = sql[i]
    if ch in QUOTES:
        return quoted_end(sql, i, unterminated)
    if sql.startswith("--", i):
        j = sql.find("\n", i)
        return len(sql) if j < 0 else j + 1
    if sql.startswith("/*", i):
        j = sql.find("*/", i + 2)
        if j < 0:
            return len(sql) if unterminated is None else unterminated
        return j + 2
    return None


def number_placeholders(sql):
    """Rename each `?` outside quotes and comments to `:pN`; returns (sql, count, written): written
    holds the N of the parameters written `?N` and never as a plain `?` (result names show them so)."""
    if "?" not in sql:
        return sql, 0, ()
    out, n, i, L = [], 0, 0, len(sql)
    numbered, plain = set(), set()
    while i < L:
        ch = sql[i]
        if ch in SKIPPED_STARTS:
            j = literal_end(sql, i)
            if j is not None:
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
                numbered.add(k)
            else:                          # ?: one past the largest number used so far
                n += 1
                k = n
                plain.add(k)
            out.append(":p%d" % k)
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out), n, frozenset(numbered - plain)


# The list parameters: a run ``IN (?, ?, ..., ?)`` of plain positional placeholders (what SQLAlchemy's
# expanding IN writes, a new text per list length) stands for one parameter whose value is the list.
# collapse_lists rewrites each run as ``IN (:rome_inK)`` before parsing, so every length shares one
# parse and one plan, and IN compiles to one membership test instead of one expression per value.
LIST_MARKER = "rome_in"
_SCAN = re.compile(r"""['"`\[]|--|/\*|\?|[:@$](?=[A-Za-z_])|\bIN\b""", re.I)
_RUN = re.compile(r"\s*\(\s*\?(?![0-9])(?:\s*,\s*\?(?![0-9]))*\s*\)")
_RUN_END = re.compile(r"\?\s*\)")            # cheap first test: most statements have no run
_MAYBE_RUN = re.compile(r"\bIN\s*\(\s*\?", re.I)


class ListParams:
    """Where the positional values of a statement with list parameters go. ``slots``: per parameter
    of the collapsed text, in textual order, None for a plain ``?`` (named ``pN``, N counting plain
    ones) or the length of a run (named ``rome_inK``, K counting runs); ``count``: the values a
    parameter set must hold; ``key``: the collapsed text, which keys the parse and plan caches."""
    __slots__ = ("key", "slots", "count", "sql", "runs")

    def __init__(self, key, slots, sql, runs):
        self.key, self.slots, self.sql, self.runs = key, slots, sql, runs
        self.count = sum(1 if k is None else k for k in slots)

    def source_name(self, name):
        """A result column's name (its source text) with each list parameter written as in the
        statement's own text, as SQLite names it."""
        if LIST_MARKER not in name:
            return name
        for k, (start, end) in enumerate(self.runs, 1):
            name = name.replace(" (:%s%d)" % (LIST_MARKER, k), self.sql[start:end])
        return name

    def bind(self, params, adapt):
        """The parameters by name, each run's values as one InList."""
        out, i, plain, lists = {}, 0, 0, 0
        for k in self.slots:
            if k is None:
                plain += 1
                out["p%d" % plain] = adapt(params[i])
                i += 1
            else:
                lists += 1
                out["%s%d" % (LIST_MARKER, lists)] = InList(map(adapt, params[i:i + k]))
                i += k
        return out


def is_list_parameter(node):
    """True for the one placeholder of a collapsed ``IN (?, ?, ...)``."""
    return isinstance(node, exp.Placeholder) and node.name.startswith(LIST_MARKER)


def collapse_lists(sql):
    """(text, ListParams) with each run ``IN (?, ..., ?)`` outside quotes and comments (the scanner
    of literal_end) rewritten as one list parameter; (sql, None) when there is no run, or
    when the text also has numbered (``?NNN``) or named parameters: their numbering is left as is."""
    if "?" not in sql or _RUN_END.search(sql) is None or _MAYBE_RUN.search(sql) is None:
        return sql, None
    out, slots, runs, last, pos, n = [], [], [], 0, 0, len(sql)
    while True:
        m = _SCAN.search(sql, pos)
        if m is None:
            break
        tok, start = m.group(), m.start()
        if tok[0] in SKIPPED_STARTS:
            pos = literal_end(sql, start)
        elif tok == "?":
            if m.end() < n and sql[m.end()].isdigit():
                return sql, None
            slots.append(None)
            pos = m.end()
        elif tok[0] in ":@$":
            return sql, None
        else:
            run = _RUN.match(sql, m.end())
            pos = m.end() if run is None else run.end()
            if run is not None:
                runs.append((m.end(), run.end()))
                out.append(sql[last:m.end()])
                out.append(" (:%s%d)" % (LIST_MARKER, len(runs)))
                last = run.end()
                slots.append(run.group().count("?"))
    if not runs:
        return sql, None
    out.append(sql[last:])
    key = "".join(out)
    return key, ListParams(key, tuple(slots), sql, runs)


# A parsed tree costs about 140 bytes per character of SQL.
PARSED = TextCache(64 << 20, bytes_per_char=140)
# A text's list parameters (collapse_lists scans the whole text, and Glance's list statement is 6 kB),
# per text that has them: the text and a ListParams, a few bytes per character.
COLLAPSED = TextCache(16 << 20, bytes_per_char=4)


def parse(sql):
    """(statement, parameters): statement is a Control or a sqlglot Expression; parameters the
    number of positional parameters, or a ListParams when the text has list parameters (see
    collapse_lists). Cached per (collapsed) SQL text, see TextCache; the statement is shared: it
    must not be changed."""
    e = PARSED.get(sql)
    if e is not None:   # a text without list parameters is cached under itself
        return e
    found = COLLAPSED.get(sql)
    if found is None:
        found = collapse_lists(sql)
        if found[1] is not None:
            COLLAPSED.put(sql, found)
    key, lists = found
    e = PARSED.get(key)
    if e is None:
        e = _parse(key)
        PARSED.put(key, e)
    return e if lists is None else (e[0], lists)


def _unquoted(name):
    """A savepoint's name as written, without its quotes (a doubled quote inside stands for one)."""
    if name and name[0] in "\"'`[":
        q = name[0]
        name = name[1:-1] if q == "[" else name[1:-1].replace(q + q, q)
    return name


def _parse(sql):
    for kind, rx in _CONTROL:
        m = rx.match(sql)
        if m:
            d = m.groupdict()
            return Control(kind, _unquoted(d.get("name")), d.get("rest")), 0
    if not sql.isascii():
        check_text(sql)
    word = _LEADING_WORD.match(sql).group(1)
    if word and word.upper() not in _STATEMENTS:
        raise ProgrammingError('near "%s": syntax error' % word[:40])
    m = _UNSUPPORTED_CREATE.match(sql)
    if m:   # a trigger's body holds statements: sqlglot would call it several statements
        raise NotSupportedError("CREATE %s is not supported" % " ".join(m.group(1).upper().split()))
    sql, conflict = _or_clause(sql)
    text, n, written = number_placeholders(sql)
    if "((((" in text and _nesting(text) > MAX_NESTING:
        raise OperationalError("parser stack overflow")
    try:
        stmts = [s for s in sqlglot.parse(text, read=RomeSQLite) if s is not None]
    except (ParseError, TokenError) as e:
        if _SEVERAL_UPSERTS.search(text):   # valid SQLite that sqlglot does not read
            raise NotSupportedError("several ON CONFLICT clauses in one INSERT are not supported") from None
        raise ProgrammingError("syntax error: %s" % _first_line(e)) from None
    except RecursionError:
        raise OperationalError("parser stack overflow") from None
    if not stmts:
        raise ProgrammingError("empty statement")
    if len(stmts) > 1:
        raise ProgrammingError("You can only execute one statement at a time.")
    stmt = stmts[0]
    stmt.meta["rome_sql"] = text
    if written:
        stmt.meta["rome_numbered"] = written
    if conflict:
        stmt.meta["rome_conflict"] = conflict
    if isinstance(stmt, exp.Command):
        raise ProgrammingError("syntax error or unsupported statement: %s" % sql.strip()[:80])
    return stmt, n


def _nesting(sql):
    """The deepest nesting of parentheses outside string literals and quoted names."""
    depth = deepest = 0
    quote = None
    for ch in sql:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


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


@functools.lru_cache(maxsize=1024)
def declared_types(sql):
    """Column name -> declared type text, as written, for a CREATE TABLE or ALTER TABLE ADD COLUMN
    (cached per SQL text: callers only read it).

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
