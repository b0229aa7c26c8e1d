"""Encryption of secrets at rest (kubeconfigs, Jenkins API tokens) with Fernet.

Fernet is AES-128-CBC with an HMAC-SHA256 over the token, from `cryptography`: authenticated,
so a tampered row fails to decrypt instead of yielding garbage. The key comes from
`WORKBENCH_ENCRYPTION_KEY` (generated and kept under the state directory in sandbox mode).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def seal(self, plain: str) -> bytes:
        return self._fernet.encrypt(plain.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken as error:
            raise ValueError("a stored secret does not decrypt with the configured key") from error
