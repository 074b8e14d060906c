"""``rome sql URL``: a SQL shell on a ROME database, as sqlite3's shell behaves.

Input comes from ``-c SQL``, ``-f FILE``, a script on stdin, or a terminal (a prompt with line
editing and history). Statements end with ``;`` (one inside a string literal or comment does not
count), several may share a line. Each statement is committed on its own unless BEGIN, or a SAVEPOINT
outside a transaction, opened one: it ends with COMMIT/ROLLBACK, or with the RELEASE of that
outermost savepoint. A failed COMMIT ends the transaction (nothing of it was kept). A script's
failures are reported with their line and make the exit status 1 (``--bail`` stops at the first).
"""
import os
import re
import sys

import click

from rome.cli import render
from rome.cli.urls import lmdb_path, lmdb_problem, rome_kind
from rome.dialect.urls import safe_url, scrub
from rome.sql import script

_OPENERS = re.compile(r"\s*(BEGIN|SAVEPOINT|RELEASE)\b", re.I)
HISTORY_FILE = "~/.rome_history"


def _kind(sql):
    m = _OPENERS.match(sql)
    return m.group(1).lower() if m else None


class Shell:
    """Runs statements on one connection and prints their results."""

    def __init__(self, conn, fmt="table", out=None):
        self.conn = conn
        self.write = render.WRITERS[fmt]
        self.fmt = fmt
        self.out = out or sys.stdout
        self.opened_by = None   # "begin" / "savepoint": the user's open transaction

    def run(self, sql):
        """Run one statement and print its result; raises rome.Error when it fails."""
        kind = _kind(sql)
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
            self._settle(kind)
        except BaseException:
            if not self.conn.in_transaction:
                self.opened_by = None
            elif self.opened_by is None:
                self.conn.rollback()
            raise
        self._print(cur)

    def _settle(self, kind):
        conn = self.conn
        if not conn.in_transaction:
            self.opened_by = None
        elif self.opened_by is None:
            if kind in ("begin", "savepoint"):
                self.opened_by = kind
            else:
                conn.commit()
        elif self.opened_by == "savepoint" and kind == "release" and not conn.session.savepoints:
            self.opened_by = None
            conn.commit()

    def _print(self, cur):
        if cur.description is None:
            if self.fmt == "table" and cur.rowcount >= 0:
                self.out.write("%d row%s affected\n" % (cur.rowcount, "" if cur.rowcount == 1 else "s"))
        else:
            self.write(self.out, [d[0] for d in cur.description], cur.fetchall())
        self.out.flush()

    def run_lines(self, lines, bail=False):
        """Run the statements of a script as its lines come (the last may lack its ``;``);
        returns how many failed."""
        buf, base, failures = "", 1, 0   # base: the script line buf starts on
        for line in lines:
            buf += line if line.endswith("\n") else line + "\n"
            stmts, rest = script.split(buf)
            failures += self._run_all(stmts, base, bail)
            if failures and bail:
                return failures
            base += buf.count("\n") - rest.count("\n")
            buf = rest
        if script.has_code(buf):
            line = base + buf[:len(buf) - len(buf.lstrip())].count("\n")
            if script.unterminated(buf):
                _error("near line %d: incomplete SQL: %s" % (line, buf.strip()[:60]))
                return failures + 1
            failures += self._run_all([(buf.strip(), 1)], line, bail)
        return failures

    def _run_all(self, stmts, base, bail):
        import rome
        failures = 0
        for sql, line in stmts:
            try:
                self.run(sql)
            except rome.Error as e:
                failures += 1
                _error("near line %d: %s: %s" % (base + line - 1, type(e).__name__, e))
                if bail:
                    break
        return failures

    def interact(self, banner):
        """Read statements from the terminal until Ctrl-D; Ctrl-C drops the statement being typed."""
        import rome
        history = _start_history()
        click.echo(banner, err=True)
        buf = ""
        try:
            while True:
                try:
                    line = input("rome> " if not buf else "   ...> ")
                except EOFError:
                    click.echo("", err=True)
                    return
                except KeyboardInterrupt:
                    click.echo("^C", err=True)
                    buf = ""
                    continue
                buf += line + "\n"
                stmts, rest = script.split(buf)
                buf = rest if script.has_code(rest) else ""
                for sql, _ in stmts:
                    try:
                        self.run(sql)
                    except rome.Error as e:
                        _error("%s: %s" % (type(e).__name__, e))
                    except KeyboardInterrupt:
                        _error("interrupted")
        finally:
            _save_history(history)


def _error(message):
    click.echo("Error: " + message, err=True)


def _start_history():
    """Line editing and history (readline), kept in ~/.rome_history, readable by its owner only."""
    try:
        import readline
    except ImportError:
        return None
    path = os.path.expanduser(os.environ.get("ROME_HISTORY", HISTORY_FILE))
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)
    return path


def _save_history(path):
    if path is None:
        return
    import readline
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        readline.write_history_file(path)
    except OSError:
        pass


def connect(url, create=False):
    """A connection to a ROME URL, or a ClickException of one line saying why not."""
    import rome
    kind = rome_kind(url)
    if kind is None:
        raise click.ClickException(
            "%s is not a ROME URL: use rome+lmdb:///path, rome+memory://, rome+redis://host:port/0"
            % safe_url(url))
    if not url.startswith("rome"):
        url = "rome+" + url
    path = lmdb_path(url)
    problem = path and lmdb_problem(path, create)
    if problem:
        raise click.ClickException(problem)
    try:
        return rome.connect(url)
    except rome.Error as e:
        raise click.ClickException("cannot open %s: %s" % (safe_url(url), scrub(str(e), url)))


@click.command()
@click.argument("url")
@click.option("-c", "--command", "command", metavar="SQL",
              help="Run these statements (separated by ';') and exit.")
@click.option("-f", "--file", "file", type=click.File("r"), help="Run the statements of FILE and exit.")
@click.option("--format", "fmt", type=click.Choice(render.FORMATS), default="table", show_default=True,
              help="How results print. csv and json write BLOBs as hex.")
@click.option("--create", is_flag=True, help="Create the LMDB database if the folder holds none.")
@click.option("--bail", is_flag=True, help="Stop a script at its first failing statement.")
def sql(url, command, file, fmt, create, bail):
    """SQL shell on URL (rome+lmdb:////path, rome+memory://, rome+redis://host:port/0).

    \b
    Without -c or -f, a script on stdin is run, or, on a terminal, a prompt
    reads statements (Ctrl-C drops the one being typed, Ctrl-D quits; history in
    ~/.rome_history). A script exits with status 1 if a statement failed.
    EXPLAIN SELECT ... shows the index and key range a query uses.
    """
    if command is not None and file is not None:
        raise click.UsageError("give -c or -f, not both")
    if hasattr(sys.stdout, "reconfigure"):   # a value a terminal cannot encode prints escaped
        sys.stdout.reconfigure(errors="backslashreplace")
    conn = connect(url, create)
    shell = Shell(conn, fmt)
    try:
        if command is not None or file is not None or not sys.stdin.isatty():
            lines = command.splitlines() if command is not None else (file or sys.stdin)
            if shell.run_lines(lines, bail):
                sys.exit(1)
        else:
            shell.interact("ROME SQL shell on %s. End statements with ';'. Ctrl-D quits."
                           % safe_url(url))
    finally:
        if shell.opened_by:
            _error("the transaction left open was rolled back")
        conn.close()
