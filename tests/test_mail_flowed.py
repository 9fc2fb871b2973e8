"""format=flowed (RFC 3676): soft line breaks undone in text/plain bodies."""

from __future__ import annotations

import pytest

from daemon.mail.flowed import flowed_params, unflow
from daemon.mail.parse import parse
from tests.corpus import CASES_BY_NAME, base_headers, crlf, leaf, mail, qp

# ---------------------------------------------------------------------------
# unflow() on decoded text.


def test_soft_breaks_join_and_hard_breaks_stay():
    text = ("The printer has been jammed since this \r\nmorning and nobody can \r\nprint.\r\n"
            "Second paragraph.\r\n\r\nThird.\r\n")
    assert unflow(text) == ("The printer has been jammed since this morning and nobody can print.\n"
                            "Second paragraph.\n\nThird.\n")


def test_without_delsp_the_trailing_space_is_part_of_the_text():
    assert unflow("one \ntwo") == "one two"
    assert unflow("one  \ntwo") == "one  two"


def test_delsp_yes_deletes_the_soft_break_space():
    assert unflow("https://corpus.example/a/ \nb.pdf and  \nmore", delsp=True) == (
        "https://corpus.example/a/b.pdf and more")
    assert unflow("stuffed \n next", delsp=True) == "stuffednext"
    assert unflow("プリンター \nが壊れました。", delsp=True) == "プリンターが壊れました。"
    assert unflow("word  \nnext", delsp=True) == "word next"


def test_space_stuffing_is_removed():
    text = " From the log:\n >not a quote\n  indented\n plain\n"
    assert unflow(text) == "From the log:\n>not a quote\n indented\nplain\n"


def test_space_stuffed_flowed_lines_join():
    assert unflow(" From here \n on it works") == "From here on it works"


def test_quoted_lines_flow_within_their_depth():
    text = ("> Did restarting help? We can come by \n> after lunch.\n>\n"
            ">> The printer is broken again, it \n>> shows E-204 and \n>>refuses every job.\n")
    assert unflow(text) == ("> Did restarting help? We can come by after lunch.\n>\n"
                            ">> The printer is broken again, it shows E-204 and refuses every job.\n")


def test_a_change_of_quote_depth_ends_the_paragraph():
    text = ">> deep and flowed \n> shallow \nunquoted \n>> deep again\n"
    assert unflow(text) == ">> deep and flowed \n> shallow \nunquoted \n>> deep again\n"


def test_quote_marks_are_normalised_to_one_per_depth_and_a_space():
    assert unflow(">>>x\n> > y\n>\n") == ">>> x\n> > y\n>\n"


def test_the_signature_separator_is_never_a_soft_break():
    text = "Thanks for the help \n-- \nÅse Ærlig \nAccounting\n"
    assert unflow(text) == "Thanks for the help \n-- \nÅse Ærlig Accounting\n"
    assert unflow("Thanks\n-- \nÅse", delsp=True) == "Thanks\n-- \nÅse"


def test_a_quoted_signature_separator_stays_on_its_own_line():
    assert unflow("> text \n> -- \n> sig\n") == "> text \n> -- \n> sig\n"


def test_a_flowed_last_line_ends_the_text():
    assert unflow("last words ") == "last words "
    assert unflow("last words \n") == "last words \n"
    assert unflow("last words \r\n", delsp=True) == "last words\n"


def test_empty_and_fixed_only_text_is_unchanged():
    assert unflow("") == ""
    assert unflow("\n") == "\n"
    assert unflow("a\nb\n\nc") == "a\nb\n\nc"


@pytest.mark.parametrize("params, expected", [
    ({"format": "flowed"}, (True, False)),
    ({"format": "Flowed", "delsp": "Yes"}, (True, True)),
    ({"format": " flowed ", "delsp": "no"}, (True, False)),
    ({"format": "fixed", "delsp": "yes"}, (False, False)),
    ({"delsp": "yes"}, (False, False)),
    ({}, (False, False)),
])
def test_flowed_params(params, expected):
    assert flowed_params(params) == expected


# ---------------------------------------------------------------------------
# Through the parser.

FLOWED_BODY = "It has been jammed since this \r\nmorning.\r\n"


def _mail(content_type: str, body: bytes, encoding: str = "7bit") -> bytes:
    return mail(base_headers("flowed-test", "Printer"), leaf(content_type, body, encoding))


@pytest.mark.parametrize("content_type", [
    "text/plain; charset=utf-8; format=flowed",
    'text/plain; charset="utf-8"; format="flowed"',
    "text/plain; FORMAT=Flowed; charset=us-ascii",
])
def test_a_flowed_text_plain_part_is_unflowed(content_type):
    assert parse(_mail(content_type, FLOWED_BODY.encode())).text == "It has been jammed since this morning."


def test_delsp_yes_through_the_parser_with_quoted_printable():
    body = qp("Se https://corpus.example/2024/01/ \nrapport.pdf n=C3=A5.\n".encode())
    raw = _mail("text/plain; charset=utf-8; format=flowed; delsp=yes", body, "quoted-printable")
    assert parse(raw).text == "Se https://corpus.example/2024/01/rapport.pdf n=C3=A5."


@pytest.mark.parametrize("content_type", [
    "text/plain; charset=utf-8",
    "text/plain; charset=utf-8; format=fixed",
    "text/plain; charset=utf-8; delsp=yes",
])
def test_text_that_is_not_flowed_keeps_its_line_breaks(content_type):
    body = " From here \r\n> quoted \r\nIt has been jammed since this \r\nmorning.\r\n-- \r\nsig\r\n"
    assert parse(_mail(content_type, body.encode())).text == (
        " From here \n> quoted \nIt has been jammed since this \nmorning.\n-- \nsig")


def test_html_with_a_format_parameter_is_not_unflowed():
    html = b"<p>jammed since this \r\nmorning</p>\r\n"
    parsed = parse(_mail("text/html; charset=utf-8; format=flowed", html))
    assert parsed.html == "<p>jammed since this \nmorning</p>\n"
    assert parsed.text == "jammed since this morning"


def test_flowed_reply_quote_and_signature_are_stripped_from_the_visible_text():
    parsed = parse(CASES_BY_NAME["thunderbird-flowed-reply"].raw)
    assert parsed.visible_text == (
        "Hi,\n\nthe printer on the second floor has been jammed since this morning and nobody can print "
        "invoices. Could you send someone today?\nFrom what I can see the tray is empty.\n\nThanks, Åse")


def test_a_wrapped_attribution_is_joined_and_the_quote_stripped():
    body = ("Still broken, see below.\n\nOn Tue, 2 Jan 2024 at 09:12, Patroldesk Support \n"
            "<support@patroldesk.test> wrote:\n> Did restarting the printer help? We can \n"
            "> come by after lunch.\n")
    parsed = parse(_mail("text/plain; charset=utf-8; format=flowed", crlf(body.encode())))
    assert parsed.text.splitlines()[2] == (
        "On Tue, 2 Jan 2024 at 09:12, Patroldesk Support <support@patroldesk.test> wrote:")
    assert parsed.visible_text == "Still broken, see below."
