"""``rome glance ...``: OpenStack Glance on ROME."""
import click

from rome.glance.config import AUTH_KEYSTONE, AUTH_TOKEN, default_data_dir


@click.group()
def glance():
    """OpenStack Glance (the image service) with its database on ROME."""


@glance.command()
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Folder for the database (DIR/rome, embedded LMDB), the image files (DIR/images), "
                   "staging areas and the generated Glance configuration (DIR/etc). "
                   "[default: $XDG_DATA_HOME/rome/glance, i.e. ~/.local/share/rome/glance]")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. With token auth only a loopback address is accepted, "
                   "unless --insecure-token-auth.")
@click.option("--port", default=9292, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--connection", metavar="URL",
              help="Database URL, instead of rome+lmdb:////abs/DIR/rome: any SQLAlchemy URL, e.g. "
                   "rome+redis://host:6379/0, sqlite:////abs/glance.db, postgresql://...")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (gunicorn).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Threads per worker.")
@click.option("--auth", type=click.Choice([AUTH_TOKEN, AUTH_KEYSTONE]), default=AUTH_TOKEN,
              show_default=True,
              help="token: no Keystone, 'X-Auth-Token: USER:PROJECT:ROLE[,ROLE]' names the caller. "
                   "keystone: keystonemiddleware validates tokens; give its [keystone_authtoken] "
                   "section with --glance-config.")
@click.option("--insecure-token-auth", is_flag=True,
              help="Allow token auth on an address other machines can reach (anyone who reaches "
                   "it can act as any user, admin included).")
@click.option("--glance-config", "glance_config", multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Extra glance-api.conf settings (ini), appended to the generated file so they "
                   "override it. Repeatable.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Glance's log file (default: stderr).")
@click.option("--access-log", is_flag=True, help="Log every request (gunicorn access log on stderr).")
@click.option("--debug", is_flag=True, help="Debug logging.")
def serve(data_dir, host, port, connection, workers, threads, auth, insecure_token_auth, glance_config,
          log_file, access_log, debug):
    """Run Glance's real v2 API (its paste pipeline and WSGI app) on ROME.

    At start the schema is created or upgraded with Glance's own migrations, as
    `glance-manage db sync` does; data (database and images) survives restarts.

    \b
    Authentication: without Keystone (--auth token, the default) a request names
    its caller with the header
        X-Auth-Token: USER:PROJECT:ROLE[,ROLE...]
    e.g. 'alice:demo:member' or 'root:admin:admin' (admin implies member, which
    implies reader, as in Keystone). A request without such a token gets 401.
    Anyone who can reach the port can name any user: this mode is for local use
    and tests, and refuses an address other than loopback unless
    --insecure-token-auth. Use --auth keystone for real deployments.

    \b
    Clients:
        glance --os-image-url http://127.0.0.1:9292 --os-auth-token u:p:admin image-list
        openstack.connect(auth_type="admin_token",
                          auth={"endpoint": "http://127.0.0.1:9292/v2",
                                "token": "u:p:admin"}).image.images()
    """
    from rome.glance.config import ServeConfig
    from rome.glance.server import GlanceNotInstalled, serve as run

    c = ServeConfig(data_dir=data_dir or default_data_dir(), connection=connection, host=host, port=port,
                    workers=workers, threads=threads, auth=auth, extra_config_files=list(glance_config),
                    debug=debug, log_file=log_file, access_log=access_log,
                    insecure_token_auth=insecure_token_auth)
    try:
        run(c, echo=lambda m: click.echo(m, err=True))
    except GlanceNotInstalled as e:
        raise click.ClickException(str(e))
    except RuntimeError as e:
        raise click.ClickException(str(e))
