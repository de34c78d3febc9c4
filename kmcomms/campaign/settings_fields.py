"""Field types of the workspace settings (kmcomms.toml), and the base of its [section]
models, each with an error message a comms officer can act on."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

__all__ = ["Addresses", "SettingsSection", "email_address"]


class SettingsSection(BaseModel):
    """A [section] of kmcomms.toml: a key it does not know is an error (a misspelt setting
    is reported, not ignored), and the field docstrings say what each setting is."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")


def email_address(value: str) -> str:
    """`value`, when it is an email address; raises `ValueError` saying how to write one."""
    if not _EMAIL.match(value):
        raise ValueError(f'"{value}" is not an email address — write name@example.org')
    return value


#: Email addresses: one, or a list.
Addresses = Annotated[
    list[Annotated[str, AfterValidator(email_address)]],
    BeforeValidator(lambda value: [value] if isinstance(value, str) else value),
]
