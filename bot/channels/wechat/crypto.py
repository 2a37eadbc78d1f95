"""WeChat / WeCom message signatures and the AES "safe mode" envelope.

The protocol (Official Account "安全模式" and every WeCom callback):

- ``signature``     = sha1 of the sorted strings token, timestamp, nonce;
- ``msg_signature`` = sha1 of the sorted strings token, timestamp, nonce, Encrypt;
- AES-256-CBC, key = base64decode(EncodingAESKey + "="), IV = the first 16 key bytes;
- PKCS#7 padding with a **32-byte** block (so padding can be 1..32 bytes);
- plaintext = random(16) + len(xml) as 4 bytes network order + xml + receive id,
  where the receive id is the AppID (Official Account) or the CorpID (WeCom).

Pure functions and one small class; no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 32
AES_KEY_LENGTH = 43


class SignatureError(ValueError):
    """A signature is missing or does not match: answer 403."""


class ForeignReceiverError(SignatureError):
    """The decrypted message is addressed to another AppID / CorpID."""


class DecryptError(ValueError):
    """The ciphertext is not a valid envelope (bad base64, padding or length)."""


def sha1_signature(*parts: str) -> str:
    """sha1 hex digest of the parts, sorted as strings and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given.strip().lower())


def check_signature(token: str, signature: str | None, timestamp: str | None, nonce: str | None) -> None:
    """URL verification and plain-mode POSTs: raise :class:`SignatureError` on mismatch."""
    if not (signature and timestamp is not None and nonce is not None):
        raise SignatureError("signature, timestamp or nonce missing")
    if not signature_matches(sha1_signature(token, timestamp, nonce), signature):
        raise SignatureError("signature mismatch")


def pkcs7_pad(data: bytes, block: int = BLOCK_SIZE) -> bytes:
    amount = block - len(data) % block
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes, block: int = BLOCK_SIZE) -> bytes:
    if not data or len(data) % 16:
        raise DecryptError("ciphertext length is not a multiple of the AES block")
    amount = data[-1]
    if not 1 <= amount <= block or amount > len(data) or data[-amount:] != bytes([amount]) * amount:
        raise DecryptError("bad PKCS#7 padding")
    return data[:-amount]


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from a 43-character EncodingAESKey."""
    if len(encoding_aes_key) != AES_KEY_LENGTH:
        raise ValueError(f"EncodingAESKey must be {AES_KEY_LENGTH} characters, got {len(encoding_aes_key)}")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as error:
        raise ValueError("EncodingAESKey is not valid base64") from error
    if len(key) != 32:
        raise ValueError("EncodingAESKey does not decode to 32 bytes")
    return key


@dataclass(frozen=True)
class EncryptedReply:
    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str


class MessageCrypto:
    """Encrypt and decrypt safe-mode messages for one AppID / CorpID."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.receive_id = receive_id
        self._key = decode_aes_key(encoding_aes_key)

    # -- signatures ------------------------------------------------------
    def msg_signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, encrypt)

    def check_msg_signature(
        self, msg_signature: str | None, timestamp: str | None, nonce: str | None, encrypt: str
    ) -> None:
        if not (msg_signature and timestamp is not None and nonce is not None):
            raise SignatureError("msg_signature, timestamp or nonce missing")
        if not signature_matches(self.msg_signature(timestamp, nonce, encrypt), msg_signature):
            raise SignatureError("msg_signature mismatch")

    # -- AES -------------------------------------------------------------
    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, plaintext: bytes, random_prefix: bytes | None = None) -> str:
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("the random prefix must be 16 bytes")
        body = prefix + struct.pack(">I", len(plaintext)) + plaintext + self.receive_id.encode("utf-8")
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(pkcs7_pad(body)) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """The inner XML; raises :class:`DecryptError` or :class:`ForeignReceiverError`."""
        try:
            raw = base64.b64decode(encrypt.strip().replace(" ", "+"), validate=True)
        except (binascii.Error, ValueError) as error:
            raise DecryptError("Encrypt is not base64") from error
        if not raw or len(raw) % 16:
            raise DecryptError("ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        body = pkcs7_unpad(decryptor.update(raw) + decryptor.finalize())
        if len(body) < 20:
            raise DecryptError("plaintext too short")
        (length,) = struct.unpack(">I", body[16:20])
        if 20 + length > len(body):
            raise DecryptError("declared length exceeds the plaintext")
        content, receive_id = body[20 : 20 + length], body[20 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode("utf-8")):
            raise ForeignReceiverError("message addressed to another AppID/CorpID")
        return content

    def decrypt_checked(
        self, encrypt: str, msg_signature: str | None, timestamp: str | None, nonce: str | None
    ) -> bytes:
        """Check ``msg_signature`` first, then decrypt."""
        self.check_msg_signature(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def encrypt_reply(self, xml: str, timestamp: str, nonce: str) -> EncryptedReply:
        encrypt = self.encrypt(xml.encode("utf-8"))
        return EncryptedReply(encrypt, self.msg_signature(timestamp, nonce, encrypt), timestamp, nonce)
