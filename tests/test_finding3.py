"""Issue 19, finding 3: ``parse_otpauth("otpauth://[...")`` raised a bare ValueError (the CLI said
"internal error", exit 70; ``POST /v1/enroll`` answered 500), and a lone surrogate in a label was
accepted by the parser, after which ``to_uri()`` raised UnicodeEncodeError."""

from __future__ import annotations

import pytest

from tokens._cli.main import main
from tokens.errors import InputError, InvalidURIError, TokensimError
from tokens.params import OtpParams, OtpType
from tokens.uri import OtpauthURI, OtpauthURIError, parse_otpauth

S = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def test_finding3_error_type_is_in_the_uri_and_tokensim_trees() -> None:
    assert issubclass(OtpauthURIError, InvalidURIError)
    assert issubclass(OtpauthURIError, InputError) and issubclass(OtpauthURIError, TokensimError)
    assert issubclass(OtpauthURIError, ValueError)  # callers catching ValueError keep working


@pytest.mark.parametrize("uri", ["otpauth://[", "otpauth://[…", "otpauth://[::1/x?secret=" + S,
                                 "otpauth://totp]/x?secret=" + S, "OTPAUTH://[x]:99999/"])
def test_finding3_unbalanced_bracket_is_a_typed_error(uri: str) -> None:
    with pytest.raises(OtpauthURIError, match="otpauth URI"):
        parse_otpauth(uri)


@pytest.mark.parametrize("where", ["label", "issuer", "image"])
def test_finding3_lone_surrogate_rejected_at_parse_time(where: str) -> None:
    bad = "al\ud800ice"
    uri = {"label": f"otpauth://totp/{bad}?secret={S}",
           "issuer": f"otpauth://totp/x?secret={S}&issuer={bad}",
           "image": f"otpauth://totp/x?secret={S}&image={bad}"}[where]
    with pytest.raises(OtpauthURIError, match="surrogate"):
        parse_otpauth(uri)


def test_finding3_constructed_records_reject_what_to_uri_could_not_write() -> None:
    with pytest.raises(InputError, match="surrogate"):
        OtpauthURI(OtpType.TOTP, b"k" * 20, account="\udfff")
    with pytest.raises(InputError, match="':'"):
        OtpParams(OtpType.TOTP, b"k" * 20, issuer="a:b")
    with pytest.raises(InputError, match="no T0"):
        OtpauthURI(OtpType.TOTP, b"k" * 20, t0=5)


@pytest.mark.parametrize("value", ["٦", "+6", " 6", "6_0", "0x6", "6" * 5000])
def test_finding3_only_ascii_digits_count_as_numbers(value: str) -> None:
    with pytest.raises(OtpauthURIError):
        parse_otpauth(f"otpauth://totp/x?secret={S}&digits={value}")


@pytest.mark.parametrize("argv", [
    ["totp", "code", "--uri", "otpauth://[…"],
    ["totp", "import", "otpauth://totp/a\ud800?secret=" + S, "x"],
])
def test_finding3_cli_gives_one_line_not_internal_error(argv: list[str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc not in (0, 70), err
    assert err.startswith("error: ") and err.count("\n") == 1 and "internal" not in err
    assert "Traceback" not in err
