"""Configuration: every mistake is one line naming the key and the file; every key is documented."""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import Config, DatabaseConfig, PathsConfig, documented_keys, load_config
from daemon.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def run_cli(*args, env=None, cwd=None, input=None):
    return subprocess.run([sys.executable, "-m", "daemon", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, input=input, timeout=60)


BAD_CONFIGS = [
    ("[smtp]\nprot = 25\n", "smtp.prot", "unknown key"),
    ("[smpt]\nport = 25\n", "smpt", "unknown section"),
    ("[smtp]\nport = \"twenty-five\"\n", "smtp.port", "must be an integer"),
    ("[smtp]\nport = true\n", "smtp.port", "must be an integer"),
    ("[smtp]\nport = 70000\n", "smtp.port", "port number"),
    ("[smtp]\nprotocol = \"pop3\"\n", "smtp.protocol", "must be one of smtp, lmtp"),
    ("[smtp]\nenabled = \"yes\"\n", "smtp.enabled", "true or false"),
    ("[support]\naddresses = []\n", "support.addresses", "at least one address"),
    ("[support]\naddresses = \"support@x\"\n", "support.addresses", "a list of strings"),
    ("[support]\naddresses = [\"nobody\"]\n", "support.addresses", "not an address"),
    ("[threading]\ntag_format = \"[#]\"\n", "threading.tag_format", "{ref}"),
    ("[ingest]\nbatch_size = 0\n", "ingest.batch_size", "at least 1"),
    ("[database]\nurl = \"mysql://x/y\"\n", "database.url", "not supported"),
    ("[database]\npassword_file = \"/nonexistent/secret\"\n", "database.password_file", "cannot read"),
    ("smtp = 3\n", "smtp", "must be a table"),
    ("[smtp\nport = 1\n", "(syntax)", ""),
    ("[[mailbox]]\nuser = \"u\"\n", "mailbox[1].host", "is required"),
    ("[[mailbox]]\nhost = \"h\"\n", "mailbox[1].user", "is required"),
    ("[[mailbox]]\nhost = \"h\"\nuser = \"u\"\npassword = \"p\"\n[[mailbox]]\nhost = \"h\"\nuser = \"u\"\n"
     "security = \"tls\"\n",
     "mailbox[2].security", "must be one of ssl, starttls, none"),
    ("[[mailbox]]\nhost = \"h\"\nuser = \"u\"\nidle_seconds = 1800\n", "mailbox[1].idle_seconds", "at most 1500"),
    ("[[mailbox]]\nhost = \"h\"\nuser = \"u\"\npassword_env = \"NO_SUCH_VARIABLE_HERE\"\n",
     "mailbox[1].password_env", "NO_SUCH_VARIABLE_HERE is not set"),
    ("[[mailbox]]\nhost = \"h\"\nuser = \"u\"\nfolder = \"/\"\n", "mailbox[1].folder", "must name a folder"),
    ("[[mailbox]]\nhost = \"h\"\nuser = \"u\"\npassword = \"p\"\n[[mailbox]]\nhost = \"h\"\nuser = \"u\"\n"
     "password = \"p\"\n", "mailbox.name", "two mailboxes are called 'u@h'"),
    ("[[mailbox]]\nhost = \"h\"\nuser = \"u\"\n", "mailbox[1].password", "is required"),
    ("[[mailbox]]\nhost = \"h\"\nuser = \"u\"\npassword = \"p\"\nca_file = \"/nonexistent/ca.pem\"\n",
     "mailbox[1].ca_file", "no such file"),
    ("[mailbox]\nhost = \"h\"\n", "mailbox", "[[mailbox]]"),
    ("[[mailbox]]\nhost = \"h\"\nuser = \"u\"\nsmtp = 1\n", "mailbox[1].smtp", "unknown key"),
]


def test_mailboxes_are_read_with_their_secrets(tmp_path):
    secret = tmp_path / "imap-password"
    secret.write_text("from-a-file\n")
    path = tmp_path / "boxes.toml"
    path.write_text(f"""
[[mailbox]]
host = "imap.example.org"
user = "support"
password_file = "{secret}"
[[mailbox]]
name = "norge"
host = "imap.example.no"
user = "hjelp"
security = "starttls"
password_env = "HJELP_PASSWORD"
addresses = ["hjelp@example.no"]
""")
    config = load_config(path, {"HJELP_PASSWORD": "from-the-environment"})
    first, second = config.mailbox
    assert (first.label, first.password, first.effective_port, first.folder) == (
        "support@imap.example.org", "from-a-file", 993, "INBOX")
    assert (second.label, second.password, second.effective_port) == ("norge", "from-the-environment", 143)
    assert config.our_addresses == {"support@localhost", "hjelp@example.no"}


@pytest.mark.parametrize("text, key, problem", BAD_CONFIGS, ids=[c[1] + ":" + c[2] for c in BAD_CONFIGS])
def test_a_bad_config_stops_start_up_with_one_line_naming_key_and_file(tmp_path, text, key, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = run_cli("--config", str(path), "run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and key in lines[0] and problem in lines[0]


def test_a_missing_config_file_is_named(tmp_path):
    result = run_cli("--config", str(tmp_path / "nope.toml"), "tickets", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.toml" in result.stderr and "no such file" in result.stderr


def test_no_config_file_means_the_embedded_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, {})
    assert config == dataclasses.replace(Config(), paths=PathsConfig(var=str(tmp_path / "var")),
                                         database=DatabaseConfig(url=f"sqlite:///{tmp_path}/var/patroldesk.db"))
    assert (config.smtp.host, config.smtp.port) == ("127.0.0.1", 2525)
    assert (config.web.host, config.web.port) == ("127.0.0.1", 5000)


def test_relative_paths_are_taken_from_the_config_files_folder_wherever_it_is_read(tmp_path, monkeypatch):
    home = tmp_path / "desk"
    (home / "secrets").mkdir(parents=True)
    (home / "secrets" / "db").write_text("s3cret\n")
    (home / "ca.pem").write_text("")
    (home / "patroldesk.toml").write_text(
        '[database]\nurl = "sqlite:///var/desk.db"\npassword_file = "secrets/db"\n'
        '[paths]\nvar = "state"\ntemplates = "../mine/templates"\n'
        '[[mailbox]]\nhost = "h"\nuser = "u"\npassword = "p"\nca_file = "ca.pem"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(os.path.relpath(home / "patroldesk.toml"), {})
    assert config.database.url == f"sqlite:///{home}/var/desk.db"
    assert config.database.password == "s3cret"
    assert (config.var_dir, config.attachments_dir, config.sent_dir) == (
        home / "state", home / "state" / "attachments", home / "state" / "sent")
    assert config.templates_dir == tmp_path / "mine" / "templates"
    assert config.mailbox[0].ca_file == str(home / "ca.pem")
    assert not any(elsewhere.iterdir())


def test_absolute_paths_and_postgresql_urls_are_kept_as_written(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "postgresql://desk@127.0.0.1/desk"\n[paths]\nvar = "/srv/desk"\n')
    config = load_config(path, {})
    assert (config.database.url, config.paths.var) == ("postgresql://desk@127.0.0.1/desk", "/srv/desk")


def test_a_mistyped_key_or_section_is_answered_with_the_closest_known_one(tmp_path):
    path = tmp_path / "c.toml"
    mistakes = (("[patrol]\nmin_lenght = 30\n", "patrol.min_lenght: unknown key (did you mean patrol.min_length?)"),
                ("[relay]\npasword_file = \"pw\"\n",
                 "relay.pasword_file: unknown key (did you mean relay.password_file?)"),
                ("[patrl]\nvalidate = true\n", "patrl: unknown section (did you mean patrol?)"))
    for text, expected in mistakes:
        path.write_text(text)
        with pytest.raises(ConfigError) as refused:
            load_config(path, {})
        assert str(refused.value) == f"{path}: {expected}"
    path.write_text("[smtp]\nzzzz = 1\n")
    with pytest.raises(ConfigError, match=r"smtp.zzzz: unknown key$"):
        load_config(path, {})


def test_the_config_path_can_come_from_the_environment(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[support]\nname = "Kundeservice"\n')
    assert load_config(None, {"PATROLDESK_CONFIG": str(path)}).support.name == "Kundeservice"


def test_a_secret_can_come_from_a_file_or_the_environment(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    path = tmp_path / "c.toml"
    path.write_text(f'[database]\npassword_file = "{secret}"\n')
    assert load_config(path, {}).database.password == "s3cret"
    assert load_config(path, {"PATROLDESK_DATABASE_PASSWORD": "fromenv"}).database.password == "fromenv"


def test_only_secret_keys_take_a_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[smtp]\nhost_file = "/etc/hostname"\n')
    with pytest.raises(ConfigError, match="smtp.host_file: unknown key"):
        load_config(path, {})


def test_the_example_config_loads_and_equals_the_defaults(monkeypatch):
    monkeypatch.chdir(EXAMPLE.parent)  # the defaults' relative paths resolve where the example's do
    assert dataclass_values(load_config(EXAMPLE, {})) == dataclass_values(load_config(None, {}))


def dataclass_values(config: Config) -> dict:
    return {name: getattr(config, name) for name in config.__dataclass_fields__ if name != "source"}


def test_every_config_key_is_documented_in_the_example():
    sections = example_sections(EXAMPLE.read_text())
    missing = []
    for dotted in documented_keys():
        section, key = dotted.split(".")
        lines = sections.get(section, [])
        index = next((i for i, line in enumerate(lines) if re.match(rf"#?\s*{key}\s*=", line)), None)
        if index is None or index == 0 or not lines[index - 1].startswith("#"):
            missing.append(dotted)
    assert not missing, f"keys without a commented entry in config.example.toml: {missing}"


def test_the_example_documents_no_key_that_does_not_exist():
    known = set(documented_keys())
    for section, lines in example_sections(EXAMPLE.read_text()).items():
        for line in lines:
            match = re.match(r"([a-z_]+)\s*=", line)
            if match:
                assert f"{section}.{match.group(1)}" in known


def example_sections(text: str) -> dict[str, list[str]]:
    sections, current = {}, None
    for line in text.splitlines():
        header = re.match(r"(?:# )?\[\[?([a-z_]+)\]\]?", line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif current is not None and line.strip():
            current.append(line.strip())
    return sections
