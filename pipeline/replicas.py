"""Two copies of every object (SOHOA_REPLICA_URL, Circular 05/2025/TT-BNV): checking each
copy and repairing one from the other.

``verify_copies`` runs the fixity check of ``preservation.verify`` on each copy on its own
(each a recorded run naming its store), then compares the copies where the catalogue cannot:
the objects whose replica write failed (the journal ``storage/replica.py`` keeps) and, on a
full run, the objects outside ``pages/`` and ``originals/`` (quarantined files, issued
copies…) that one copy has and the other lacks. With ``repair`` a missing or changed object
is restored in one copy from the other, when that other copy matches the SHA-256 the
catalogue recorded (or, for an object without a recorded hash, is the only one there); each
repair is written to the audit log (``object_repaired``: key, copy, old and new hash; the
time is the entry's) and as a ``repaired`` finding of that copy's fixity run. When both
copies are bad there is nothing to repair from: the object is reported as such.
"""

from __future__ import annotations

import copy as shallow
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.dossiers import audit
from pipeline.errors import ConfigError
from pipeline.preservation import _ORIGINAL_KEY, _PAGE_KEY, FixityReport, page_keys, verify
from pipeline.runtime import Runtime
from storage.catalogue import FixityFinding
from storage.errors import ObjectMissing, StorageError
from storage.objects import ObjectStore
from storage.replica import ReplicatedStore

PRIMARY, REPLICA = "primary", "replica"
_COPY_KEY = re.compile(r"^copies/([A-Za-z0-9]+)\.pdf$")


@dataclass(frozen=True, slots=True)
class Copy:
    name: str  # primary | replica
    url: str  # "" : the default folder
    store: ObjectStore


@dataclass
class CopyCheck:
    copy: str
    url: str
    report: FixityReport


@dataclass(frozen=True, slots=True)
class Repair:
    key: str
    document_id: str | None
    copy: str  # the copy restored
    source: str  # the copy it was restored from
    problem: str  # what it was: missing | changed
    old_sha256: str | None
    new_sha256: str
    at: str


@dataclass(frozen=True, slots=True)
class Unrepairable:
    key: str
    document_id: str | None
    problems: dict  # copy -> missing | changed
    reason: str


@dataclass
class CopiesReport:
    checks: list[CopyCheck]
    repair: bool = False
    repaired: list[Repair] = field(default_factory=list)
    unrepairable: list[Unrepairable] = field(default_factory=list)

    def findings(self) -> list[tuple[str, FixityFinding]]:
        return [(c.copy, f) for c in self.checks for f in c.report.findings]

    @property
    def ok(self) -> bool:
        """Nothing wrong (with ``repair``: nothing wrong left)."""
        if not self.repair:
            return not self.findings()
        fixed = {(r.copy, r.key) for r in self.repaired}
        return not self.unrepairable and all((copy, f.key) in fixed
                                             for copy, f in self.findings())

    def to_dict(self) -> dict:
        found = self.findings()

        def count(problem: str) -> int:
            return sum(1 for _c, f in found if f.problem == problem)

        return {
            "run": self.checks[0].report.run_id,
            "checked": sum(c.report.checked for c in self.checks),
            "missing": count("missing"), "changed": count("changed"),
            "orphaned": count("orphaned"), "ok": self.ok,
            "findings": [{"problem": f.problem, "key": f.key, "document_id": f.document_id,
                          "expected": f.expected, "actual": f.actual, "copy": copy}
                         for copy, f in found],
            "copies": [{"copy": c.copy, "storage": c.url or "default", "run": c.report.run_id,
                        "checked": c.report.checked, "missing": c.report.count("missing"),
                        "changed": c.report.count("changed"),
                        "orphaned": c.report.count("orphaned")} for c in self.checks],
            "repaired": [{"key": r.key, "document_id": r.document_id, "copy": r.copy,
                          "source": r.source, "problem": r.problem,
                          "old_sha256": r.old_sha256, "new_sha256": r.new_sha256, "at": r.at}
                         for r in self.repaired],
            "unrepairable": [{"key": u.key, "document_id": u.document_id,
                              "problems": u.problems, "reason": u.reason}
                             for u in self.unrepairable],
        }


def verify_copies(rt: Runtime, *, since: dt.datetime | None = None, repair: bool = False,
                  on_object: Callable[[str], None] = lambda key: None) -> CopiesReport:
    """Check every copy (one without SOHOA_REPLICA_URL); with ``repair``, restore what a
    copy lacks or has changed from the other."""
    store = rt.store
    if not isinstance(store, ReplicatedStore):
        if repair:
            raise ConfigError("there is no second copy to repair from: set SOHOA_REPLICA_URL "
                              "(file:///folder or s3://bucket[/prefix]) and run `sohoa "
                              "verify --repair` to fill it")
        return CopiesReport([CopyCheck(PRIMARY, rt.storage_url,
                                       verify(rt, since=since, on_object=on_object))])
    copies = [Copy(PRIMARY, rt.storage_url, store.primary_copy),
              Copy(REPLICA, store.replica_url, store.replica)]
    checks = [CopyCheck(c.name, c.url, verify(_on(rt, c), since=since, on_object=on_object))
              for c in copies]
    _compare(rt, store, copies, checks, full=since is None, on_object=on_object)
    report = CopiesReport(checks, repair=repair)
    if repair:
        _repair(rt, store, copies, report)
    return report


def _on(rt: Runtime, c: Copy) -> Runtime:
    """The runtime with one copy as its store (the catalogue and index shared)."""
    view = shallow.copy(rt)
    view.store, view.storage_url = c.store, c.url
    return view


# ---------------------------------------------------------------------- comparing copies
def _content(store: ObjectStore, key: str) -> str | None:
    try:
        return store.content_sha256(key)
    except ObjectMissing:
        return None


def _catalogued(key: str) -> bool:
    """A key whose copies ``verify`` checks against the catalogue already."""
    return bool(_PAGE_KEY.match(key) or _ORIGINAL_KEY.match(key))


def recorded(rt: Runtime, key: str) -> tuple[str | None, str | None]:
    """(document id, SHA-256 the catalogue recorded) for an object key, where known."""
    cat = rt.catalogue
    if m := _PAGE_KEY.match(key):
        doc = cat.get_document(m.group(1))
        for p in doc.pages if doc else ():
            for role, k in page_keys(p).items():
                if k == key:
                    return doc.id, (p.hashes or {}).get(role)
        return (doc.id if doc else None), None
    if m := _ORIGINAL_KEY.match(key):
        doc = cat.document_by_sha(m.group(1))
        return (doc.id if doc else None), m.group(1)
    if (m := _COPY_KEY.match(key)) and (c := cat.copy_by_code(m.group(1))) is not None:
        return c.document_id, c.sha256
    return None, None


def _candidates(pending: set[str], copies: list[Copy], checks: list[CopyCheck], *,
                full: bool, on_object: Callable[[str], None]) -> dict[str, bool]:
    """Keys to compare across the copies: key -> whether the primary may have lost it (only
    the replica has it, and the replica's check found it owned, not orphaned)."""
    reported = {f.key for c in checks for f in c.report.findings}
    keys = {key: False for key in pending if key not in reported}
    if not full:
        return keys
    for this, other in (copies, copies[::-1]):
        for key in this.store.keys():
            if key in reported or key in keys or _catalogued(key):
                continue
            on_object(key)
            if not other.store.exists(key):
                keys[key] = this.name == REPLICA
    return keys


def _compare(rt: Runtime, store: ReplicatedStore, copies: list[Copy], checks: list[CopyCheck],
             *, full: bool, on_object: Callable[[str], None]) -> None:
    """Findings the per-copy checks cannot make, added to each copy's run."""
    extra: dict[str, list[FixityFinding]] = {c.name: [] for c in copies}
    pending = set(store.pending())
    candidates = _candidates(pending, copies, checks, full=full, on_object=on_object)
    for key, primary_lost in sorted(candidates.items()):
        doc_id, want = recorded(rt, key)
        got = {c.name: _content(c.store, key) for c in copies}
        # Without a recorded hash the primary is the reference (the replica is written from
        # it), unless the primary lost an object the replica's check found owned.
        ref = want or got[PRIMARY] or (got[REPLICA] if primary_lost else None)
        found = False
        for c in copies:
            if ref is None:
                break  # deleted since (its journal entry is stale): nothing to compare
            if got[c.name] is None:
                extra[c.name].append(FixityFinding("missing", key, doc_id, ref, None))
                found = True
            elif got[c.name] != ref:
                extra[c.name].append(FixityFinding("changed", key, doc_id, ref, got[c.name]))
                found = True
        if not found and key in pending:
            store.settle(key)  # the replica has it after all
    if not candidates:
        return
    for check in checks:
        new, report = extra[check.copy], check.report
        report.findings.extend(new)
        report.checked += len(candidates)
        rt.catalogue.add_fixity_findings(report.run_id, new)
        rt.catalogue.finish_fixity_run(report.run_id, checked=report.checked,
                                       missing=report.count("missing"),
                                       changed=report.count("changed"),
                                       orphaned=report.count("orphaned"))


# ---------------------------------------------------------------------------- repairing
def _transfer(source: ObjectStore, target: ObjectStore, key: str) -> None:
    local = source.local_path(key)
    if local is not None and local.is_file():
        target.put_file(key, local)
    else:
        target.put(key, source.get(key))


def _repair(rt: Runtime, store: ReplicatedStore, copies: list[Copy],
            report: CopiesReport) -> None:
    bad: dict[str, dict[str, FixityFinding]] = {}
    for name, f in report.findings():
        if f.problem in ("missing", "changed"):
            bad.setdefault(f.key, {})[name] = f
    runs = {c.copy: c.report.run_id for c in report.checks}
    for key, problems in bad.items():
        first = next(iter(problems.values()))
        doc_id, want = first.document_id, first.expected
        what = {name: f.problem for name, f in problems.items()}
        sources = [c for c in copies if c.name not in problems]
        if not sources:
            report.unrepairable.append(Unrepairable(key, doc_id, what, _both(what)))
            continue
        source = sources[0]
        have = _content(source.store, key)
        if have is None or (want is not None and have != want):
            now = "missing" if have is None else "changed"
            report.unrepairable.append(Unrepairable(key, doc_id, {**what, source.name: now},
                                                    _both({**what, source.name: now})))
            continue
        for target in (c for c in copies if c.name in problems):
            try:
                _transfer(source.store, target.store, key)
                new = target.store.content_sha256(key)
            except StorageError as exc:
                report.unrepairable.append(Unrepairable(
                    key, doc_id, what, f"could not be written to the {target.name}: {exc}"))
                continue
            if new != have:
                report.unrepairable.append(Unrepairable(
                    key, doc_id, what, f"the copy written to the {target.name} reads back "
                    f"as {new}, not {have}: check that store's disk or server"))
                continue
            _record(rt, report, Repair(
                key, doc_id, target.name, source.name, problems[target.name].problem,
                problems[target.name].actual, new,
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
                run=runs[target.name], url=target.url)
            if target.name == REPLICA:
                store.settle(key)


def _both(problems: dict) -> str:
    said = ", ".join(f"{problem} in the {name}" for name, problem in problems.items())
    return f"{said}: nothing to repair from"


def _record(rt: Runtime, report: CopiesReport, r: Repair, *, run: int, url: str) -> None:
    report.repaired.append(r)
    rt.catalogue.add_fixity_findings(run, [FixityFinding("repaired", r.key, r.document_id,
                                                         r.new_sha256, r.old_sha256)])
    audit(rt, "object_repaired", r.document_id or "storage", key=r.key, copy=r.copy,
          storage=url or "default", source=r.source, problem=r.problem,
          old_sha256=r.old_sha256, new_sha256=r.new_sha256, run=run)
