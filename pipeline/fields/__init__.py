"""Field extraction from OCR'd civil-status documents.

Works on a page's recognised words grouped into visual rows (OCR's lines, with lines on one
baseline that OCR put in separate blocks merged), on the folded form of each row (marks
removed, đ→d, punctuation as spaces) so that dropped marks and stray commas do not hide a
label. Labels come from the lexicon in ``pipeline.labels`` (the wordings of the forms across
eras); the longest wording that matches wins, and a label ends at its colon even where the
lexicon knows only its beginning, so its words never leak into the value. A value runs to the
next label on the same row (form rows hold several) or the end of the row; for addresses onto
a continuation row; after a label that ends its row with a colon, on the next row. The label
says the role: a name label opens a person (subject, husband, wife, mother, father,
applicant, household head, declarant), and the person's attributes that follow (date of
birth, sex, ID number…) belong to that person until the next name label. On two-column forms
the column says the person: a row of column heads ("Bên nữ   Bên nam") splits each following
row's value by its gaps, and a row of two name labels makes each later label belong to the
person of its column.

A field already present in the current record opens a new record, so a register page or a
household book gives one record per entry. Values are normalised (ISO dates from
"12/03/1987" or "ngày 12 tháng 3 năm 1987", 12-digit IDs with O/0 and l/1 fixed, validated
dossier codes, registration and book numbers as printed: "696/XNTTHN", "123/2015/TLKH") and
carry a confidence (label match × value validity × the words' OCR confidence) and the page
region they came from.

Parts: ``values`` (dates, numbers, IDs, names as printed → normalised values), ``reader`` (rows,
labels, persons, columns and tables → a page's records), ``unlabelled`` (what a page prints
without a label: the issuing authority's heading, the place-and-date line, an application's
title), ``document`` (a document's fields from its pages' records, by type).
"""

from __future__ import annotations

from pipeline.fields.document import shape
from pipeline.fields.reader import extract_page, rows_of
from pipeline.fields.values import normalise, parse_date, parse_id, parse_number

__all__ = ["extract_page", "normalise", "parse_date", "parse_id", "parse_number", "rows_of",
           "shape"]
