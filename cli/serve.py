"""`dcops serve`: run the authenticated API for the site (HTTPS; plain HTTP on loopback only)."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session


def serve(
    ctx: typer.Context,
    port: int | None = typer.Option(
        None, "--port", help="Listen on this port (default: [server] port)."
    ),
    host: str | None = typer.Option(
        None, "--host", help="Listen on this address (default: [server] listen_host)."
    ),
    cert: str | None = typer.Option(
        None, "--cert", help="PEM certificate (default: [server] cert, else a generated one)."
    ),
    key: str | None = typer.Option(None, "--key", help="PEM private key of --cert."),
) -> None:
    """Serve the API: accounts with two factors, sessions, tokens; owns the store and the journal."""
    import ipaddress
    import os

    from dcops.core.errors import InputError

    state = session(ctx)
    site = state.site
    settings = site.config.server
    listen = host or settings.listen_host
    try:
        loopback = ipaddress.ip_address(listen).is_loopback
    except ValueError:
        raise InputError(
            f"--host {listen[:60]!r} is not an IP address; allowed: e.g. 127.0.0.1"
        ) from None
    if settings.http and not loopback:
        raise InputError(
            f"明文 HTTP 只允许本机回环地址 / plain HTTP on {listen} would send passwords in the "
            "clear; allowed: http = true only with a loopback address such as 127.0.0.1"
        )
    if (cert is None) != (key is None):
        raise InputError("--cert and --key go together; allowed: both, or neither")
    for option, given in (("--cert", cert), ("--key", key)):
        if given is not None and not os.path.isfile(given):
            raise InputError(
                f"证书文件不存在 / {option} {given} does not exist; allowed: a PEM file"
            )
    chosen = settings.port if port is None else port
    if not 0 <= chosen <= 65535:
        raise InputError(f"--port {chosen} is out of range; allowed: 0 to 65535")
    import uvicorn

    from dcops.server.app import create_app
    from dcops.server.certificates import site_certificate

    state_dir = site.paths.state
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if state_dir.stat().st_uid == os.getuid():
        state_dir.chmod(0o700)  # only the server's own user changes state
    tls: dict[str, str] = {}
    scheme = "http"
    if not settings.http:
        files = site_certificate(
            site.paths.root, state_dir, cert or settings.cert, key or settings.key, listen
        )
        tls = {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key)}
        scheme = "https"
        if files.ca is not None:
            typer.echo(f"CA for clients: {files.ca}", err=True)
    app = create_app(site, https=not settings.http)
    typer.echo(f"dcops serve: {scheme}://{listen}:{chosen} (site {site.name})", err=True)
    uvicorn.run(
        app,
        host=listen,
        port=chosen,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=30,
        **tls,  # type: ignore[arg-type]
    )
