"""sanitize: inventory, AI-artifact discovery and NIST SP 800-88 sanitization of servers."""

__version__ = "0.1.0"
TOOL_NAME = "sanitize"

__all__ = ["TOOL_NAME", "__version__"]
