"""Signatures and the safe-mode AES envelope (bot/channels/wechat/crypto.py)."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wechat.crypto import (
    DecryptError,
    ForeignReceiverError,
    MessageCrypto,
    SignatureError,
    check_signature,
    decode_aes_key,
    pkcs7_pad,
    pkcs7_unpad,
    sha1_signature,
)
from bot.channels.wechat.messages import parse_xml

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx_test_appid_123"

# Produced by wechatpy 1.8.18 (WeChatCrypto("kefutoken", KEY, APPID).encrypt_message(XML, "1514711492",
# "1714036504")); 25 bytes of padding, so the 32-byte PKCS#7 block matters.
WECHATPY_XML = (
    "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>"
    "<CreateTime>1714036504</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[你好 padding testxxxxx]]></Content><MsgId>1234567890123456</MsgId></xml>"
)
WECHATPY_ENCRYPT = (
    "u+p45Cu/12YqR4n4e/LMTcqrD8+tA459r5MeMBy1+yrOvNHY+KrOIDNG53eghYvPgO4cIxfsLsCdw4xBepFnMzEkW2AeKEX5GRswyCB7+i7gqC"
    "RqXiR+0nipVAjCArgoHvvopS781MhxvUbHhXYsfMjbRVShcI7PrMjnBgjd2rZTtCUPVamtpxXaP9nGbftswpcnU4KMWfNIRoMGJUDtJrabiW232"
    "dxxUlOKZqiivhX2mN/9zH19F488yrd1fNPgbFzu1H8bkORsK4FnnSckZxhdxmIpnTssZDdajk707vPzb7DxQ2Jxku2SzNPDl/si13kKIqLcpBwZ"
    "4yaKIb5cg62JW/FxE8tusFgxDrtUs2hglenZLlDTSn31vYrgoIw1yEmN9Dw/bye4D71/I+XcMw2RqQEfrqQxOmKvQBVDj7Q="
)
WECHATPY_SIGNATURE = "3a14913c8b1e0a90b3fe7dd5ab237aa270d2b906"


def test_official_signature_example() -> None:
    assert sha1_signature("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    check_signature("AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492")


@pytest.mark.parametrize(
    "signature,timestamp,nonce",
    [
        ("f464b24fc39322e44b38aa78f5edd27bd1441697", "1714036504", "1514711492"),  # one digit off
        ("f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036505", "1514711492"),  # replayed, other time
        (None, "1714036504", "1514711492"),
        ("", "1714036504", "1514711492"),
        ("f464b24fc39322e44b38aa78f5edd27bd1441696", None, "1514711492"),
        ("'; DROP TABLE x; --", "1714036504", "1514711492"),
    ],
)
def test_bad_signatures_are_refused(signature, timestamp, nonce) -> None:
    with pytest.raises(SignatureError):
        check_signature("AAAAA", signature, timestamp, nonce)


def test_decrypts_a_wechatpy_message_with_long_padding() -> None:
    crypto = MessageCrypto("kefutoken", KEY, APPID)
    plain = crypto.decrypt_checked(WECHATPY_ENCRYPT, WECHATPY_SIGNATURE, "1714036504", "1514711492")
    assert plain.decode("utf-8") == WECHATPY_XML
    assert parse_xml(plain)["Content"] == "你好 padding testxxxxx"


def test_refuses_the_wechatpy_message_for_another_appid() -> None:
    with pytest.raises(ForeignReceiverError):
        MessageCrypto("kefutoken", KEY, "wx_someone_else").decrypt(WECHATPY_ENCRYPT)


def test_refuses_a_tampered_msg_signature_before_decrypting() -> None:
    crypto = MessageCrypto("kefutoken", KEY, APPID)
    with pytest.raises(SignatureError):
        crypto.decrypt_checked(WECHATPY_ENCRYPT, "0" * 40, "1714036504", "1514711492")
    with pytest.raises(SignatureError):  # signature is over the ciphertext too
        crypto.decrypt_checked(WECHATPY_ENCRYPT[:-8] + "AAAAAAA=", WECHATPY_SIGNATURE, "1714036504", "1514711492")


@pytest.mark.parametrize("length", [0, 1, 11, 12, 13, 27, 28, 29, 43, 44, 60, 500, 4000])
def test_round_trip_every_padding_length(length: int) -> None:
    crypto = MessageCrypto("t", KEY, APPID)
    xml = ("<xml><Content>" + "字" * length + "</Content></xml>").encode("utf-8")
    encrypt = crypto.encrypt(xml)
    raw = base64.b64decode(encrypt)
    assert len(raw) % 32 == 0  # 32-byte PKCS#7 block, not AES's 16
    assert crypto.decrypt(encrypt) == xml


def test_pkcs7_32_byte_block() -> None:
    assert pkcs7_pad(b"x" * 12) == b"x" * 12 + bytes([20]) * 20
    assert pkcs7_pad(b"x" * 32) == b"x" * 32 + bytes([32]) * 32
    assert pkcs7_unpad(b"x" * 12 + bytes([20]) * 20) == b"x" * 12
    for bad in (b"x" * 31 + b"\x00", b"x" * 31 + b"\x21", b"x" * 30 + b"\x01\x02", b"", b"x" * 17):
        with pytest.raises(DecryptError):
            pkcs7_unpad(bad)


def test_garbage_ciphertexts_are_decrypt_errors_not_crashes() -> None:
    crypto = MessageCrypto("t", KEY, APPID)
    key = decode_aes_key(KEY)
    for bad in ("", "not base64 !!", "QUJD", base64.b64encode(b"x" * 32).decode(), "😀" * 10):
        with pytest.raises((DecryptError, ForeignReceiverError)):
            crypto.decrypt(bad)
    # valid padding, but a declared length far beyond the plaintext
    body = b"r" * 16 + struct.pack(">I", 10_000) + b"<xml/>" + APPID.encode()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    forged = base64.b64encode(encryptor.update(pkcs7_pad(body)) + encryptor.finalize()).decode()
    with pytest.raises(DecryptError):
        crypto.decrypt(forged)


def test_encrypted_reply_carries_its_own_signature() -> None:
    crypto = MessageCrypto("tok", KEY, APPID)
    sealed = crypto.encrypt_reply("<xml><Content>hi</Content></xml>", "1700000000", "42")
    assert sealed.msg_signature == sha1_signature("tok", "1700000000", "42", sealed.encrypt)
    assert crypto.decrypt(sealed.encrypt) == b"<xml><Content>hi</Content></xml>"


def test_aes_key_must_be_43_characters() -> None:
    for bad in ("", "short", KEY + "H", "!" * 43):
        with pytest.raises(ValueError):
            MessageCrypto("t", bad, APPID)
