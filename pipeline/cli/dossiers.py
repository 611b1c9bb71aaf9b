"""Dossiers and the people in the records: ``dossier``, ``link``, ``conflicts``,
``proposals`` (links waiting for a clerk), ``person``, ``merge-people``; citizens' copies:
``retrieve``, ``verify-copy``; and the ``audit`` log."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.cli._common import emit, pass_settings, runtime, since_date
from pipeline.config import Settings


@click.command()
@click.argument("document_id")
@click.argument("code")
@click.option("--result", "role", flag_value="result", help="file it as one of the results")
@click.option("--record", "role", flag_value="record", help="file it as a record (receipt…)")
@click.option("--by", "who", help="the clerk (default: SOHOA_ACTOR or the login name)")
@pass_settings
def link(settings: Settings, document_id: str, code: str, role: str | None,
         who: str | None) -> None:
    """File a document under a dossier by hand (a clerk's link)."""
    from pipeline.dossiers import link_by_clerk

    with runtime(settings) as rt:
        ln = link_by_clerk(rt, document_id, code, role=role, who=who)
    click.echo(f"{document_id} filed under {ln.code} as {ln.result_code or ln.role}")


@click.command()
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def dossier(settings: Settings, code: str, as_json: bool) -> None:
    """A dossier: applicant, procedure, its records and numbered results, and conflicts."""
    from pipeline.dossiers import audit
    from pipeline.present import dossier_dict

    with runtime(settings) as rt:
        data = dossier_dict(rt, code)
        audit(rt, "dossier_shown", data["code"])
    if as_json:
        emit(data)
        return
    click.echo(f"dossier {data['code']}: {data['procedure'] or '(procedure unknown)'}")
    click.echo(f"  applicant {data['applicant_name'] or '?'} ({data['applicant_id'] or 'no ID'}"
               f"), received {data['received_date'] or '?'}")
    for doc in data["documents"]:
        click.echo(f"  {doc['result'] or doc['role']:<34} {doc['document_id']} "
                   f"(by {doc['linked_by']})")
    for c in data["conflicts"]:
        click.echo(f"  CONFLICT {c['document_id'] or ''}: {c['reason']}")


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def conflicts(settings: Settings, as_json: bool) -> None:
    """Dossier links that could not be made: two codes for one document, bad manifest rows."""
    from pipeline.present import conflict_dict

    with runtime(settings) as rt:
        found = rt.catalogue.conflicts()
        waiting = len(rt.catalogue.proposals())
    for c in found:
        if as_json:
            emit(conflict_dict(c))
        else:
            click.echo(f"{c.id}: {c.document_id or '-'} {c.reason}")
    if waiting and not as_json:
        click.echo(f"{waiting} link proposal(s) wait for a clerk: sohoa proposals", err=True)


@click.group(invoke_without_command=True)
@click.option("--all", "everything", is_flag=True, help="decided ones too")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def proposals(ctx: click.Context, everything: bool, as_json: bool) -> None:
    """Links an upload or manifest proposed for documents already in the archive: a clerk
    confirms (``proposals confirm ID``) or rejects (``proposals reject ID``) each."""
    if ctx.invoked_subcommand is not None:
        return
    from pipeline.proposals import proposal_dict

    settings = ctx.find_object(Settings)
    with runtime(settings) as rt:
        found = [proposal_dict(rt, p) for p in rt.catalogue.proposals(
            status=None if everything else "pending")]
    for p in found:
        if as_json:
            emit(p)
        else:
            click.echo(f"{p['id']}: {p['document_id']} ({p['document_type']}) → "
                       f"{p['dossier_code']} as {p['role']}, proposed by {p['proposed_by']}"
                       f" [{p['status']}]; filed under: {', '.join(p['filed_under']) or '-'}")


@proposals.command("confirm")
@click.argument("proposal_id", type=int)
@click.option("--result", "role", flag_value="result", help="file it as one of the results")
@click.option("--record", "role", flag_value="record", help="file it as a record")
@click.option("--by", "who", help="the clerk (default: SOHOA_ACTOR or the login name)")
@pass_settings
def proposals_confirm(settings: Settings, proposal_id: int, role: str | None,
                      who: str | None) -> None:
    """Make the proposed link, recorded as the clerk's."""
    from pipeline.dossiers import actor
    from pipeline.proposals import confirm

    with runtime(settings) as rt:
        ln = confirm(rt, proposal_id, by=who or actor(settings), channel="cli", role=role)
    click.echo(f"{ln.document_id} filed under {ln.code} as {ln.result_code or ln.role}")


@proposals.command("reject")
@click.argument("proposal_id", type=int)
@click.option("--by", "who", help="the clerk (default: SOHOA_ACTOR or the login name)")
@pass_settings
def proposals_reject(settings: Settings, proposal_id: int, who: str | None) -> None:
    """Refuse the proposed link: nothing is filed."""
    from pipeline.dossiers import actor
    from pipeline.proposals import reject

    with runtime(settings) as rt:
        p = reject(rt, proposal_id, by=who or actor(settings), channel="cli")
    click.echo(f"proposal {p.id} rejected: {p.document_id} not filed under {p.code}")


@click.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def person(settings: Settings, key: str, as_json: bool) -> None:
    """A person (by 12-digit ID number, or person number): their records and dossiers."""
    from pipeline.dossiers import audit
    from pipeline.present import person_dict

    with runtime(settings) as rt:
        data = person_dict(rt, key)
        audit(rt, "person_shown", str(data["id"]))
    if as_json:
        emit(data)
        return
    click.echo(f"person {data['id']}: {data['name']}, born {data['date_of_birth'] or '?'}, ID "
               f"{data['personal_id'] or 'unknown'}")
    for r in data["records"]:
        click.echo(f"  {r['type'] or '?':<24} as {r['role']:<9} {r['document_id']}"
                   + (f"  dossiers: {', '.join(r['dossiers'])}" if r["dossiers"] else ""))


@click.command("merge-people")
@click.argument("keep", type=int)
@click.argument("other", type=int)
@pass_settings
def merge_people(settings: Settings, keep: int, other: int) -> None:
    """Merge person OTHER into KEEP (a clerk's decision; never done automatically)."""
    from pipeline.dossiers import audit
    from pipeline.records import save_people_records

    with runtime(settings) as rt:
        rt.catalogue.merge_people(keep, other)
        save_people_records(rt, (keep, other))  # their documents' records hold them
        audit(rt, "people_merged", str(keep), merged=other)
    click.echo(f"person {other} merged into {keep}")


@click.command()
@click.argument("code")
@click.argument("personal_id")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False),
              default=Path("."), show_default=True, help="folder for the copies")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def retrieve(settings: Settings, code: str, personal_id: str, output: Path,
             as_json: bool) -> None:
    """A citizen's certificates: dossier code + their 12-digit personal ID number → the
    dossier's results as searchable PDFs, each with its SHA-256 and verification code."""
    from pipeline.dossiers import actor
    from pipeline.dossiers import retrieve as run_retrieve

    with runtime(settings) as rt:  # found or not, audited as this staff member's look-up
        issued = run_retrieve(rt, code, personal_id, output, who=actor(settings))
    for c in issued:
        if as_json:
            emit(c.to_dict())
        else:
            click.echo(f"{c.result_code}: {c.path}\n  SHA-256 {c.sha256}\n  verification "
                       f"code {c.verification_code} (sohoa verify-copy FILE)")


@click.command("verify-copy")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--code", help="the verification code printed with the copy")
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def verify_copy(settings: Settings, file: Path, code: str | None, as_json: bool) -> None:
    """Whether FILE is an unchanged copy issued by this archive. Exits 1 when it is not."""
    from pipeline.copies import verify_copy as run_verify

    with runtime(settings) as rt:
        result = run_verify(rt, file, code)
    if as_json:
        emit(result)
    elif result["valid"]:
        click.echo(f"valid: {file} is {result['result'] or result['document_id']}, issued "
                   f"{result['issued_at']}, verification code {result['verification_code']}")
    else:
        click.echo(f"NOT VALID: {file} matches no copy issued by this archive "
                   f"(SHA-256 {result['sha256']})")
    if not result["valid"]:
        sys.exit(1)


@click.command("audit")
@click.option("--actor", help="only this user")
@click.option("--target", help="only this document, dossier or person")
@click.option("--since", help="from this date (YYYY-MM-DD)")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_settings
def audit_log(settings: Settings, actor: str | None, target: str | None, since: str | None,
              limit: int, as_json: bool) -> None:
    """The audit log of personal-record reads, newest first: who, what, when, channel."""
    from pipeline.present import audit_dict

    after = since_date(since)
    with runtime(settings) as rt:
        entries = rt.catalogue.audit_entries(actor=actor, target=target, since=after,
                                             limit=limit)
    for e in entries:
        if as_json:
            emit(audit_dict(e))
        else:
            click.echo(f"{e.at:%Y-%m-%d %H:%M:%S} {e.channel:<7} {e.actor:<12} {e.action:<14} "
                       f"{e.target}")
