"""The web application: ``serve`` it, and ``user add`` its staff accounts."""

from __future__ import annotations

import sys

import click

from pipeline.cli._common import pass_settings, runtime
from pipeline.config import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--secure-cookies", is_flag=True,
              help="mark cookies Secure (behind HTTPS, as in production)")
@pass_settings
def serve(settings: Settings, host: str, port: int, secure_cookies: bool) -> None:
    """Start the web application and REST API (OpenAPI at /docs)."""
    import uvicorn

    from api.app import create_app

    app = create_app(settings, secure_cookies=secure_cookies)
    click.echo(f"sohoa serving on http://{host}:{port} (OpenAPI at /docs)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@click.group()
def user() -> None:
    """Staff accounts of the web application."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["archivist", "clerk", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@pass_settings
def user_add(settings: Settings, username: str, role: str, password_stdin: bool) -> None:
    """Add a staff account (the password is asked for, or read from stdin)."""
    from pipeline.accounts import hash_password
    from pipeline.dossiers import audit

    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    try:
        hashed = hash_password(password)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="password") from None
    with runtime(settings) as rt:
        rt.catalogue.add_user(username, hashed, role)
        audit(rt, "user_added", username, role=role)
    click.echo(f"user {username} ({role}) added", err=True)
