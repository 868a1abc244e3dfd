"""Firmware and cryptographic erase methods, registered with `sanitize.erase`."""
