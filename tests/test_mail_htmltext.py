"""html_to_text() and sanitise()."""

from __future__ import annotations

import pytest

from daemon.mail.htmltext import html_to_text, sanitise


def test_script_style_head_and_title_are_skipped():
    html = ("<html><head><title>Title</title><style>p{color:red}</style><script>var a;</script></head>"
            "<body><script>alert(1)</script><p>Visible</p><style>.x{}</style></body></html>")
    assert html_to_text(html) == "Visible"


def test_blocks_and_br_make_line_breaks():
    html = "<div>one</div><div>two<br>three</div><p>four</p><p>five</p>"
    assert html_to_text(html) == "one\ntwo\nthree\n\nfour\n\nfive"


def test_list_items_get_dashes_and_nested_lists_indent():
    html = "<ul><li>first</li><li>second<ul><li>inner</li></ul></li></ul><ol><li>third</li></ol>"
    assert html_to_text(html) == "- first\n- second\n  - inner\n\n- third"


@pytest.mark.parametrize("html, expected", [
    ('<a href="https://example.com/help">our help page</a>', "our help page (https://example.com/help)"),
    ('<a href="https://example.com/">https://example.com</a>', "https://example.com"),
    ('<a href="https://example.com">example.com</a>', "example.com"),
    ('<a href="mailto:help@example.com">help@example.com</a>', "help@example.com"),
    ('<a href="mailto:help@example.com">write us</a>', "write us (mailto:help@example.com)"),
    ('<a href="javascript:alert(1)">click</a>', "click"),
    ('<a href="/relative">rel</a>', "rel"),
    ('<a href="https://x.example/a">  </a>', "https://x.example/a"),
])
def test_links_keep_text_and_add_differing_urls(html, expected):
    assert html_to_text(html) == expected


def test_entities_are_decoded_and_nbsp_is_a_space():
    assert html_to_text("<p>Fish &amp; chips&nbsp;&lt;3 &#216;l &#x00e6; &eacute;</p>") == "Fish & chips <3 Øl æ é"


def test_runs_of_blank_lines_collapse_and_no_trailing_spaces():
    html = "<p>a   </p><br><br><br><br><p>b \n</p>   <div>  c  </div>"
    text = html_to_text(html)
    assert text == "a\n\nb\n\nc"
    assert "\n\n\n" not in text


def test_whitespace_in_source_is_collapsed_but_pre_is_kept():
    html = "<p>many\n   spaces\there</p><pre>  keep\n    this</pre>"
    assert html_to_text(html) == "many spaces here\n\n  keep\n    this"


def test_table_cells_are_separated():
    assert html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>") == "a b\nc"


@pytest.mark.parametrize("html", [
    "<p>unclosed <b>bold <div>x</p></td></tr>",
    "<<<>>> < p >",
    "<!-- unterminated comment",
    "<![CDATA[ x ]]> <!DOCTYPE html> &#xZZ; &#99999999;",
    "<a href='x'><a href='y'>nested</a>",
    "<script>never closed",
    "</p></div></li></ul>",
    "\x00\x01<p>\udcff</p>",
    "<" * 10000,
])
def test_broken_markup_does_not_raise(html):
    assert isinstance(html_to_text(html), str)


def test_head_without_body_tag_does_not_hide_the_text():
    assert html_to_text("<head><meta charset='utf-8'><title>t</title>Text after head") == "Text after head"


def test_comments_are_dropped():
    assert html_to_text("<p>a<!-- hidden --> b</p><!--[if mso]>x<![endif]-->") == "a b"


# ---------------------------------------------------------------------------
# sanitise


def test_sanitise_removes_script_style_and_event_handlers():
    html = '<p onclick="steal()">Hi<script>alert(1)</script></p><style>body{display:none}</style>'
    assert sanitise(html) == "<p>Hi</p>"


def test_sanitise_removes_javascript_and_data_urls_but_keeps_https_and_cid():
    html = ('<a href="javascript:alert(1)">x</a><a href="https://example.com">y</a>'
            '<img src="data:image/png;base64,AAAA"><img src="cid:logo@x"><img src="https://example.com/i.png">')
    cleaned = sanitise(html)
    assert "javascript:" not in cleaned and "data:" not in cleaned
    assert 'href="https://example.com"' in cleaned
    assert '<img src="cid:logo@x">' in cleaned
    assert '<img src="https://example.com/i.png">' in cleaned


def test_sanitise_keeps_formatting_and_tables():
    html = ('<table border="1"><tr><td colspan="2"><b>bold</b> <i>it</i> <u>u</u></td></tr></table>'
            '<ul><li>x</li></ul><blockquote>q</blockquote><font color="red">f</font><br>')
    cleaned = sanitise(html)
    for fragment in ("<table", 'border="1"', 'colspan="2"', "<b>bold</b>", "<i>it</i>", "<u>u</u>",
                     "<li>x</li>", "<blockquote>q</blockquote>", '<font color="red">f</font>', "<br>"):
        assert fragment in cleaned


def test_sanitise_filters_dangerous_style_properties():
    cleaned = sanitise('<p style="color: red; position: fixed; background: url(https://t.example/x)">p</p>')
    assert "color:red" in cleaned.replace(" ", "")
    assert "position" not in cleaned and "url(" not in cleaned


def test_sanitise_drops_forms_iframes_and_objects():
    html = '<form action="https://x"><input name="p"></form><iframe src="https://x"></iframe><object></object>ok'
    assert sanitise(html) == "ok"


def test_sanitise_adds_noopener_to_links():
    assert 'rel="noopener noreferrer"' in sanitise('<a href="https://example.com">x</a>')
