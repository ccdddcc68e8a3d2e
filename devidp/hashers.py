from django.contrib.auth.hashers import PBKDF2PasswordHasher


class DevPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 with few rounds: the seeded passwords and client secrets are
    published anyway, and a million rounds per check would cost the test suite
    (and devidp's start-up, which seeds every time) seconds for nothing."""

    algorithm = "devidp_pbkdf2_sha256"
    iterations = 1000
