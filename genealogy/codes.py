"""Public identifiers of a distributor: the distributor number and the referral code."""

import secrets

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
REFERRAL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERRAL_CODE_LENGTH = 6
NUMBER_MIN = 10_000_000
NUMBER_MAX = 99_999_999


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


def new_distributor_number() -> int:
    return NUMBER_MIN + secrets.randbelow(NUMBER_MAX - NUMBER_MIN + 1)


def normalize_referral_code(raw: str) -> str:
    """Codes match case-insensitively and ignore surrounding spaces."""
    return (raw or "").strip().upper()
