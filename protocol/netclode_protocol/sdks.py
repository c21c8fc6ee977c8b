"""Agent backends by the names users type (`netclode --sdk`, the bot's NETCLODE_GITHUB_SESSION_SDK).

Derived from the SdkType enum, so a backend added to the schema is nameable everywhere at
once and no hand-kept list drifts from it: SDK_TYPE_OPENCODE is `opencode`.
"""

from __future__ import annotations

from netclode_protocol.v1 import common_pb2

PREFIX = "SDK_TYPE_"
SDKS: dict[str, common_pb2.SdkType.ValueType] = {
    name.removeprefix(PREFIX).lower(): number
    for name, number in common_pb2.SdkType.items()
    if number != common_pb2.SDK_TYPE_UNSPECIFIED
}


def sdk_name(sdk_type: common_pb2.SdkType.ValueType) -> str:
    """The user-facing name of `sdk_type` (`claude` for SDK_TYPE_CLAUDE)."""
    return common_pb2.SdkType.Name(sdk_type).removeprefix(PREFIX).lower()


def parse_sdk(name: str) -> common_pb2.SdkType.ValueType:
    """The SdkType a user named; ValueError (one line, listing the names) otherwise."""
    number = SDKS.get(name.strip().lower())
    if number is None:
        raise ValueError(f"unknown SDK {name.strip()[:40]!r} (one of: {', '.join(SDKS)})")
    return number
