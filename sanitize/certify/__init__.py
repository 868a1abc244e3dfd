"""Signed certificates of sanitization, failure reports and the tamper-evident archive."""

from sanitize.certify.config import Operator, Person
from sanitize.certify.issue import IssuedDocument, issue_for_result, issue_host_summary

__all__ = ["IssuedDocument", "Operator", "Person", "issue_for_result", "issue_host_summary"]
