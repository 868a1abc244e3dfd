"""sanitize: inventory, AI-artifact discovery and NIST SP 800-88 sanitization of servers."""

__version__ = "0.1.0"
TOOL_NAME = "sanitize"


def tool_identity() -> dict[str, str]:
    """The `tool` field of every document the tool writes."""
    return {"name": TOOL_NAME, "version": __version__}


__all__ = ["TOOL_NAME", "__version__", "tool_identity"]
