"""``durablec ui``: serve the dashboard of one journal (docs/ui.md)."""

from __future__ import annotations

import ipaddress
import os
import webbrowser

import click

from durablec.errors import UsageError

__all__ = ["ui"]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--db", default=None,
              help="Journal URL (default: DURABLEC_DATABASE_URL, else sqlite:///./durablec.db).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8233, show_default=True, type=int)
@click.option("--open", "open_browser", is_flag=True, help="Open the dashboard in a browser.")
@click.option("--token", default=None, envvar="DURABLEC_UI_TOKEN",
              help="Required on every request (also DURABLEC_UI_TOKEN); needed off loopback.")
def ui(db: str | None, host: str, port: int, open_browser: bool, token: str | None) -> None:
    """Serve a local web dashboard of the journal's runs."""
    if not _loopback(host) and not token:
        raise UsageError(f"refusing to serve on {host} (not loopback) without a token: "
                         "pass --token or set DURABLEC_UI_TOKEN")
    try:
        import uvicorn

        from durablec._ui.app import make_app
    except ImportError as error:
        raise UsageError(f"durablec ui needs the ui extra: pip install 'durablec[ui]' ({error})") \
            from error
    from durablec.runtime.client import Client

    app = make_app(Client(db), token=token or None)
    url = f"http://{host}:{port}/runs" + (f"?token={token}" if token else "")
    click.echo(f"durablec ui on {url}", err=True)
    if open_browser:
        webbrowser.open(url)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("DURABLEC_UI_LOG", "warning"))
