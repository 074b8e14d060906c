"""``rome keystone ...``: OpenStack Keystone on ROME."""
import click


@click.group()
def keystone():
    """OpenStack Keystone (the identity service) with its database on ROME."""


@keystone.command()
@click.option("--data-dir", default="./rome-keystone-data", show_default=True,
              type=click.Path(file_okay=False),
              help="Folder (mode 700) for the database (DIR/rome, embedded LMDB), the fernet and "
                   "credential keys, the generated keystone.conf (DIR/etc) and the admin's "
                   "credentials (DIR/clouds.yaml, mode 600).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--connection", metavar="URL",
              help="Database URL, instead of rome+lmdb:////abs/DIR/rome: e.g. rome+redis://host:6379/0.")
@click.option("--public-url", metavar="URL",
              help="The identity endpoint registered in the catalog at bootstrap "
                   "(default: http://HOST:PORT).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (gunicorn).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Threads per worker.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Keystone's log file (default: stderr).")
@click.option("--access-log", is_flag=True, help="Log every request (gunicorn access log on stderr).")
@click.option("--debug", is_flag=True, help="Debug logging.")
def serve(data_dir, host, port, connection, public_url, workers, threads, log_file, access_log, debug):
    """Run Keystone's identity API v3 (its own WSGI application) on ROME.

    Every start runs `keystone-manage db_sync`. The first start also creates the
    fernet and credential keys in DIR and runs `keystone-manage bootstrap`: user
    'admin' in project 'admin' with role 'admin', and the identity endpoint. The
    admin password is OS_BOOTSTRAP_PASSWORD if set, otherwise generated; either way
    it is written to DIR/clouds.yaml (mode 600) and never printed.

    \b
    Clients:
        OS_CLIENT_CONFIG_FILE=DIR/clouds.yaml openstack --os-cloud rome-keystone token issue
        openstack.connect(cloud="rome-keystone")   # with OS_CLIENT_CONFIG_FILE set
    """
    from rome.keystone.config import KeystoneConfig
    from rome.keystone.server import KeystoneNotInstalled, serve as run

    c = KeystoneConfig(data_dir=data_dir, connection=connection, host=host, port=port,
                       public_url=public_url, workers=workers, threads=threads, debug=debug,
                       log_file=log_file, access_log=access_log)
    try:
        run(c, echo=lambda m: click.echo(m, err=True))
    except (KeystoneNotInstalled, RuntimeError) as e:
        raise click.ClickException(str(e))
