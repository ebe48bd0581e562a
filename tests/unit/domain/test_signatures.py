"""HMAC signatures as Flux's generic-hmac provider sends them (``X-Signature: <alg>=<hex>``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferryman.domain import signatures

# RFC 4231 section 4, test cases 1-4: (key, data, {algorithm: HMAC in hex}).
RFC_4231 = {
    "test case 1": (
        bytes([0x0B] * 20),
        b"Hi There",
        {
            "sha224": "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
            "sha256": "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            "sha384": "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
            "faea9ea9076ede7f4af152e8b2fa9cb6",
            "sha512": "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
            "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        },
    ),
    "test case 2": (
        b"Jefe",
        b"what do ya want for nothing?",
        {
            "sha224": "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
            "sha256": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "sha384": "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
            "8e2240ca5e69e2c78b3239ecfab21649",
            "sha512": "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        },
    ),
    "test case 3": (
        bytes([0xAA] * 20),
        bytes([0xDD] * 50),
        {
            "sha224": "7fb3cb3588c6c1f6ffa9694d7d6ad2649365b0c1f65d69d1ec8333ea",
            "sha256": "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            "sha384": "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
            "2a5ab39dc13814b94e3ab6e101a34f27",
            "sha512": "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
            "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
        },
    ),
    "test case 4": (
        bytes(range(0x01, 0x1A)),
        bytes([0xCD] * 50),
        {
            "sha224": "6c11506874013cac6a2abc1bb382627cec6a90d86efc012de7afec5a",
            "sha256": "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            "sha384": "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
            "6801dd23c4a7d679ccf8a386c674cffb",
            "sha512": "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
            "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
        },
    ),
}
KNOWN_ANSWERS = [
    pytest.param(key, data, algorithm, digest, id=f"{case} {algorithm}")
    for case, (key, data, digests) in RFC_4231.items()
    for algorithm, digest in digests.items()
]
KEY = b"flux-shared-key"
BODY = b'{"involvedObject":{"kind":"HelmRelease","name":"podinfo"},"reason":"UpgradeSucceeded"}'


def test_supported_algorithms() -> None:
    """The four algorithms Flux's generic-hmac provider can use are supported, and only those."""
    assert signatures.SUPPORTED == ("sha224", "sha256", "sha384", "sha512")


@pytest.mark.parametrize(("key", "data", "algorithm", "digest"), KNOWN_ANSWERS)
def test_rfc_4231_known_answers(key: bytes, data: bytes, algorithm: str, digest: str) -> None:
    """sign() produces the RFC 4231 HMAC, and verify() accepts exactly that header."""
    header = f"{algorithm}={digest}"
    assert signatures.sign(key, data, algorithm) == header
    assert signatures.verify(key, data, header)
    assert signatures.verify(key, data, header.upper())  # hex and algorithm name: any case
    assert signatures.parse_signature_header(header) == (algorithm, bytes.fromhex(digest))


@pytest.mark.parametrize(("key", "data", "algorithm", "digest"), KNOWN_ANSWERS)
def test_rfc_4231_signature_fails_for_other_key_or_body(
    key: bytes, data: bytes, algorithm: str, digest: str
) -> None:
    """A valid signature of one body under one key verifies neither another body nor another key."""
    header = f"{algorithm}={digest}"
    assert not signatures.verify(key, data + b" ", header)
    assert not signatures.verify(key + b"x", data, header)
    flipped = f"{algorithm}={digest[:-1]}{'0' if digest[-1] != '0' else '1'}"
    assert not signatures.verify(key, data, flipped)


def test_sign_defaults_to_sha256() -> None:
    """Flux's default algorithm is sha256, and so is sign()'s."""
    assert signatures.sign(KEY, BODY).startswith("sha256=")
    assert signatures.verify(KEY, BODY, signatures.sign(KEY, BODY))


def test_parse_tolerates_surrounding_spaces() -> None:
    """Spaces around the header value and around "=" are not part of the signature."""
    digest = "ab" * 32
    assert signatures.parse_signature_header(f"  sha256 = {digest} ") == (
        "sha256",
        bytes.fromhex(digest),
    )


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        pytest.param("", 'must look like "sha256=<hex digest>"', id="empty"),
        pytest.param("sha256", 'must look like "sha256=<hex digest>"', id="no equals sign"),
        pytest.param("=abcd", 'must look like "sha256=<hex digest>"', id="no algorithm"),
        pytest.param("md5=" + "ab" * 16, "'md5' is not supported; use one of sha224", id="md5"),
        pytest.param("sha1=" + "ab" * 20, "'sha1' is not supported", id="sha1"),
        pytest.param("sha256=" + "ab" * 31, "must be 64 hexadecimal digits", id="too short"),
        pytest.param("sha256=" + "ab" * 33, "must be 64 hexadecimal digits", id="too long"),
        pytest.param("sha512=" + "zz" * 64, "must be 128 hexadecimal digits", id="not hex"),
        pytest.param("sha224=" + "a b" * 18 + "ab", "must be 56 hexadecimal digits", id="spaces"),
        pytest.param("sha256=" + "ab" * 32 + "=", "must be 64 hexadecimal digits", id="extra ="),
    ],
)
def test_malformed_headers_are_rejected(header: str, problem: str) -> None:
    """parse_signature_header explains what is wrong; verify() just says no, without raising."""
    with pytest.raises(signatures.SignatureError, match=problem):
        signatures.parse_signature_header(header)
    assert signatures.verify(KEY, BODY, header) is False


def test_long_algorithm_name_is_cut_in_message() -> None:
    """An attacker-sized algorithm name is not echoed whole into logs."""
    with pytest.raises(signatures.SignatureError) as caught:
        signatures.parse_signature_header("x" * 10_000 + "=00")
    assert len(str(caught.value)) < 200


def test_missing_header_or_empty_key_never_verifies() -> None:
    """No header, or an empty key (misconfiguration, anyone could sign), verifies nothing."""
    assert signatures.verify(KEY, BODY, None) is False
    assert signatures.verify(b"", BODY, "sha256=" + "00" * 32) is False
    with pytest.raises(signatures.SignatureError, match="must not be empty"):
        signatures.sign(b"", BODY)


def test_sign_rejects_unknown_algorithm() -> None:
    """Signing with an algorithm Flux does not offer is refused with the supported list."""
    with pytest.raises(
        signatures.SignatureError, match="use one of sha224, sha256, sha384, sha512"
    ):
        signatures.sign(KEY, BODY, "md5")


@given(key=st.binary(min_size=1, max_size=64), body=st.binary(max_size=256), header=st.text())
def test_verify_never_raises(key: bytes, body: bytes, header: str) -> None:
    """verify() answers True or False for any header text; it never raises."""
    assert signatures.verify(key, body, header) in (True, False)


def test_errors_never_contain_the_key() -> None:
    """Errors raised while signing with a real key say what is wrong without the key."""
    secret = b"super-secret-hmac-key"
    for algorithm in ("md5", secret.decode()):
        with pytest.raises(signatures.SignatureError) as caught:
            signatures.sign(secret, BODY, algorithm)
        assert secret.decode() not in str(caught.value)
        assert secret.hex() not in str(caught.value)


@given(
    key=st.binary(min_size=1, max_size=64),
    body=st.binary(max_size=256),
    algorithm=st.sampled_from(signatures.SUPPORTED),
)
def test_sign_then_verify_roundtrips(key: bytes, body: bytes, algorithm: str) -> None:
    """Whatever the key, body and algorithm, a signature verifies its own body under its key."""
    header = signatures.sign(key, body, algorithm)
    assert signatures.verify(key, body, header)
    assert not signatures.verify(key, body + b"\x00", header)


def test_key_candidates_are_the_raw_and_the_go_trimmed_key() -> None:
    """Flux < 1.7 signed with strings.TrimSpace(token), Flux >= 1.7 with the raw bytes."""
    assert signatures.key_candidates(b"k\n") == (b"k\n", b"k")
    assert signatures.key_candidates(" \u3000k\u2028\x85".encode()) == (
        " \u3000k\u2028\x85".encode(),
        b"k",
    )
    assert signatures.key_candidates(b"\xffk\x1c") == (b"\xffk\x1c", b"\xffk\x1c")


def test_verify_any_accepts_a_signature_under_any_candidate() -> None:
    """Every candidate is tried; an empty candidate verifies nothing."""
    body = b"{}"
    header = signatures.sign(b"k", body)
    assert signatures.verify_any((b"k\n", b"k"), body, header)
    assert signatures.verify_any((b"k", b"other"), body, header)
    assert not signatures.verify_any((b" ", b""), body, header)
    assert not signatures.verify_any((), body, header)
