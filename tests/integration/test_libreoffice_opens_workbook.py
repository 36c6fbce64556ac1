"""A real spreadsheet program (LibreOffice, headless) opens a rendered invoice and reads its figures and text.

Skipped only when ``soffice`` is missing on a developer box; CI sets CHARGEBACK_REQUIRE_SYSTEM_TOOLS, so a
missing install fails there instead of passing silently (`make test` installs it: scripts/system-deps.sh).
"""
from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chargeback.documents.finance_summary import render_finance_summary
from chargeback.documents.invoice_workbook import render_department_workbook
from tests.conftest import require_tool
from tests.fixtures.invoice_inputs import HOSTILE_NAME, HOSTILE_SUBSCRIPTION, hand_month, meta

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def soffice():
    require_tool(SOFFICE is not None, "LibreOffice (Debian package libreoffice-calc-nogui)")
    return SOFFICE


def convert(soffice: str, source: Path, target: str, tmp_path: Path) -> Path:
    """Run LibreOffice on ``source``; its own profile directory keeps parallel runs apart."""
    profile = (tmp_path / "profile").as_uri()
    out = tmp_path / "out"
    result = subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", target,
                             "--outdir", str(out), str(source)], capture_output=True, text=True, timeout=180,
                            check=False)   # the assertion below shows its output
    converted = out / f"{source.stem}.{target.split(':', maxsplit=1)[0]}"
    assert result.returncode == 0 and converted.exists(), f"soffice failed: {result.stdout}\n{result.stderr}"
    return converted


def test_libreoffice_converts_an_invoice_to_pdf(soffice, tmp_path):
    charges, daily, _config = hand_month()
    source = tmp_path / "invoice.xlsx"
    source.write_bytes(render_department_workbook(charges, "marketing", daily["marketing"], meta()))
    pdf = convert(soffice, source, "pdf", tmp_path)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = re.findall(rb"/Type\s*/Page(?!s)", data)
    assert len(pages) >= 3   # the Invoice, Daily usage and Usage detail sheets each print


def test_libreoffice_reads_the_figures_and_keeps_hostile_names_as_text(soffice, tmp_path):
    """The CSV export of the first sheet is what LibreOffice computed and shows: formulas would show results."""
    charges, daily, _config = hand_month()
    source = tmp_path / "invoice.xlsx"
    source.write_bytes(render_department_workbook(charges, "marketing", daily["marketing"], meta()))
    shown = convert(soffice, source, "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path)
    rows = list(csv.reader(shown.read_text(encoding="utf-8").splitlines()))
    cells = {cell for row in rows for cell in row}
    assert HOSTILE_NAME in cells and HOSTILE_SUBSCRIPTION in cells   # not "x", not 2
    assert "CB-2026-10-MARKETING-1" in cells
    total = next(row for row in rows if row and row[0] == "Total due (USD)")
    assert "1,371.16" in total


def test_libreoffice_opens_the_finance_summary(soffice, tmp_path):
    charges = hand_month()[0]
    source = tmp_path / "finance-summary.xlsx"
    source.write_bytes(render_finance_summary(charges, meta()))
    shown = convert(soffice, source, "csv:Text - txt - csv (StarCalc):44,34,76", tmp_path)
    rows = list(csv.reader(shown.read_text(encoding="utf-8").splitlines()))
    grand = next(row for row in rows if row and row[0] == "Grand total (USD)")
    assert "3,419.91" in grand
