"""The web application: ``serve`` it, and ``user …`` its staff accounts (add, list, reset a
password, disable, enable, sign out everywhere)."""

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
    # uvicorn would take X-Forwarded-For from loopback as the client's address: sohoa reads
    # it itself, and only from SOHOA_TRUSTED_PROXIES (pipeline/throttle.py).
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


@click.group()
def user() -> None:
    """Staff accounts of the web application."""


def _password(password_stdin: bool, prompt: str = "password") -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["archivist", "clerk", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@pass_settings
def user_add(settings: Settings, username: str, role: str, password_stdin: bool) -> None:
    """Add a staff account (the password is asked for, or read from stdin): at least 10
    characters, not containing the user name, not a common password."""
    from pipeline.accounts import add_account, check_password
    from pipeline.dossiers import actor

    password = _password(password_stdin)
    check_password(password, username)  # before opening the catalogue
    with runtime(settings) as rt:
        add_account(rt, username, password, role, by=actor(settings), channel="cli")
    click.echo(f"user {username} ({role}) added", err=True)


@user.command("list")
@pass_settings
def user_list(settings: Settings) -> None:
    """Every staff account: name, role, disabled or not."""
    with runtime(settings) as rt:
        for u in rt.catalogue.users():
            click.echo(f"{u.username:<24} {u.role:<10} {'disabled' if u.disabled else ''}")


@user.command("reset")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@pass_settings
def user_reset(settings: Settings, username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME; every session of theirs ends."""
    from pipeline.accounts import reset_password
    from pipeline.dossiers import actor

    password = _password(password_stdin, "new password")
    with runtime(settings) as rt:
        ended = reset_password(rt, username, password, by=actor(settings), channel="cli")
    click.echo(f"password of {username} reset; {ended} session(s) ended", err=True)


@user.command("disable")
@click.argument("username")
@pass_settings
def user_disable(settings: Settings, username: str) -> None:
    """Disable USERNAME: they cannot sign in, and their sessions end at once."""
    from pipeline.accounts import set_enabled
    from pipeline.dossiers import actor

    with runtime(settings) as rt:
        set_enabled(rt, username, False, by=actor(settings), channel="cli")
    click.echo(f"user {username} disabled", err=True)


@user.command("enable")
@click.argument("username")
@pass_settings
def user_enable(settings: Settings, username: str) -> None:
    """Let a disabled USERNAME sign in again."""
    from pipeline.accounts import set_enabled
    from pipeline.dossiers import actor

    with runtime(settings) as rt:
        set_enabled(rt, username, True, by=actor(settings), channel="cli")
    click.echo(f"user {username} enabled", err=True)


@user.command("sign-out")
@click.argument("username")
@pass_settings
def user_sign_out(settings: Settings, username: str) -> None:
    """Sign USERNAME out everywhere: every session of theirs ends."""
    from pipeline.accounts import end_sessions
    from pipeline.dossiers import actor

    with runtime(settings) as rt:
        ended = end_sessions(rt, username, by=actor(settings), channel="cli")
    click.echo(f"{ended} session(s) of {username} ended", err=True)
