"""Signed certificates of sanitization, failure reports and the tamper-evident archive."""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

# The import boundary of pyHanko: with cryptography >= 51, pyHanko's signer and validation
# modules import cryptography's DSA key types, which now raise a CryptographyDeprecationWarning
# at import, printed on every command that signs or verifies. We never use DSA (the signing
# key is ECDSA P-256, see keys.py) and cannot change pyHanko's imports, so the warning is
# silenced for pyHanko's own modules only: our code, and other categories, still warn.
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"pyhanko(_certvalidator)?(\..*)?$")

from sanitize.certify.config import Person  # noqa: E402  (after the filter, on purpose)
from sanitize.certify.issue import IssuedDocument, issue_for_result, issue_host_summary  # noqa: E402

__all__ = ["IssuedDocument", "Person", "issue_for_result", "issue_host_summary"]
