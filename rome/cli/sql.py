"""``rome sql URL``: an interactive SQL shell on a ROME database, or one statement with ``-c``.

Statements run in autocommit mode unless BEGIN opens a transaction; ``EXPLAIN <query>`` shows the plan
(which index, which range). Results print as a table.
"""
import sys

import click


def _print(cur, console):
    from rich.table import Table
    if cur.description is None:
        if cur.rowcount >= 0:
            console.print("%d row%s affected" % (cur.rowcount, "" if cur.rowcount == 1 else "s"))
        return
    rows = cur.fetchall()
    t = Table(*[d[0] for d in cur.description], show_edge=False, header_style="bold")
    for r in rows:
        t.add_row(*["NULL" if v is None else str(v) for v in r])
    console.print(t)
    console.print("(%d row%s)" % (len(rows), "" if len(rows) == 1 else "s"))


def _url(url):
    return url if url.startswith("rome") else "rome+" + url


@click.command()
@click.argument("url")
@click.option("-c", "--command", "command", help="Run one SQL statement and exit.")
def sql(url, command):
    """Open a SQL shell on URL (rome+lmdb:////path, rome+memory://, rome+redis://host:port/0)."""
    import rome
    from rich.console import Console
    console = Console()
    conn = rome.connect(_url(url))
    explicit = False

    def run(text):
        nonlocal explicit
        word = text.strip().split(None, 1)[0].upper() if text.strip() else ""
        if word == "BEGIN":
            explicit = True
        cur = conn.cursor().execute(text)
        _print(cur, console)
        if word in ("COMMIT", "END", "ROLLBACK") and "TO" not in text.upper().split():
            explicit = False
        if not explicit:
            conn.commit()

    if command is not None:
        try:
            run(command)
        except rome.Error as e:
            console.print("[red]%s: %s[/red]" % (type(e).__name__, e))
            sys.exit(1)
        return
    console.print("ROME SQL shell on %s. End statements with ';'. Ctrl-D quits." % url)
    buf = []
    while True:
        try:
            line = input("rome> " if not buf else "  ... ")
        except EOFError:
            break
        buf.append(line)
        text = "\n".join(buf).strip()
        if not text.endswith(";"):
            continue
        buf = []
        try:
            run(text.rstrip(";"))
        except rome.Error as e:
            console.print("[red]%s: %s[/red]" % (type(e).__name__, e))
    conn.close()
