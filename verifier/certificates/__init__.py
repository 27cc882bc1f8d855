"""Certificates: numbers, QR codes, printable PDFs, issuance and verification."""
