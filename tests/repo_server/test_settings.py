"""Settings from defaults, a TOML file and DEPOT_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from repo_server.settings import GiB, SettingsError, load_settings


def test_defaults_are_the_embedded_set_up() -> None:
    settings = load_settings({})
    assert settings.effective_database_url == f"sqlite:///{Path('data').absolute()}/depot.sqlite3"
    assert settings.effective_storage_url == f"file://{Path('data').absolute()}/blobs"
    assert settings.effective_public_url == "http://127.0.0.1:8080"
    assert settings.max_upload_size >= 10 * GiB
    assert settings.workers >= 2


def test_environment_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "depot.toml"
    config.write_text('[depot]\nport = 9000\nmax_upload_size = "2GiB"\nstorage_url = "s3://b/p"\n')
    settings = load_settings({"DEPOT_CONFIG": str(config), "DEPOT_PORT": "9100"})
    assert settings.port == 9100
    assert settings.max_upload_size == 2 * GiB
    assert settings.storage_url == "s3://b/p"


@pytest.mark.parametrize(
    "environ,message",
    [
        ({"DEPOT_PORT": "eighty"}, "DEPOT_PORT"),
        ({"DEPOT_WORKERS": "0"}, "workers"),
        ({"DEPOT_SCRYPT_N": "1000"}, "power of two"),
        ({"DEPOT_LOG_LEVEL": "chatty"}, "log_level"),
        ({"DEPOT_HEADER_TIMEOUT": "0"}, "header_timeout must be at least 1 second"),
        ({"DEPOT_MAX_CONNECTIONS": "10"}, r"max_connections must be at least workers × \(threads"),
        ({"DEPOT_CONFIG": "/no/such/file.toml"}, "cannot read"),
    ],
)
def test_bad_settings_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "depot.toml"
    config.write_text("prot = 9000\n")
    with pytest.raises(SettingsError, match="unknown setting 'prot'"):
        load_settings({"DEPOT_CONFIG": str(config)})
    config.write_text("port = [\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings({"DEPOT_CONFIG": str(config)})


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    first = load_settings({}, data_dir=tmp_path).with_secret_key()
    second = load_settings({}, data_dir=tmp_path).with_secret_key()
    assert first.secret_key and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_plugin_settings_are_tables_of_the_file(tmp_path: Path) -> None:
    config = tmp_path / "depot.toml"
    config.write_text(
        '[depot]\nplugins = "product_service"\n\n'
        '[plugin.product_service]\nwarranty_days = 45\nholidays = ["2026-10-01"]\n'
    )
    settings = load_settings({"DEPOT_CONFIG": str(config)})
    assert settings.plugin_names == ["product_service"]
    assert settings.plugin == {"product_service": {"warranty_days": 45, "holidays": ["2026-10-01"]}}
    with pytest.raises(SettingsError, match=r"DEPOT_PLUGIN: give it as TOML tables"):
        load_settings({"DEPOT_PLUGIN": "warranty_days=3"})
    config.write_text('[depot]\nplugin = "quality"\n')
    with pytest.raises(
        SettingsError, match=r"plugin: give it as TOML tables \(\[plugin.<name>\]\)"
    ):
        load_settings({"DEPOT_CONFIG": str(config)})


def test_mail_settings_that_cannot_work_are_refused() -> None:
    from repo_server.settings import SettingsError, load_settings

    assert load_settings({}).smtp_host == ""  # mail is off by default
    on = load_settings({"DEPOT_SMTP_HOST": "relay", "DEPOT_SMTP_FROM": "depot@bank.test"})
    assert (on.smtp_port, on.smtp_starttls, on.notify_remind_after_hours) == (25, False, 48)
    for environ, problem in (
        ({"DEPOT_SMTP_HOST": "relay"}, "smtp_from"),
        ({"DEPOT_SMTP_PORT": "0"}, "smtp_port"),
        ({"DEPOT_SMTP_TIMEOUT": "0"}, "smtp_timeout"),
        ({"DEPOT_NOTIFY_REMIND_AFTER_HOURS": "0"}, "notify_remind_after_hours"),
        ({"DEPOT_SMTP_PASSWORD": "x"}, "smtp_user"),
        ({"DEPOT_SMTP_USER": "u", "DEPOT_SMTP_PASSWORD": "x", "DEPOT_SMTP_PASSWORD_FILE": "f"},
         "not both"),
    ):  # fmt: skip
        with pytest.raises(SettingsError, match=problem):
            load_settings(environ)


def test_the_server_stack_shares_the_connection_limit_among_the_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from repo_server.serve import DepotServer
    from repo_server.worker import DepotWorker

    # Set, it is left alone (and put back after the test: this process's metrics are not
    # multiprocess); the header timeout is the worker class's, put back too.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(DepotWorker, "header_timeout", DepotWorker.header_timeout)

    settings = load_settings(
        {"DEPOT_WORKERS": "4", "DEPOT_MAX_CONNECTIONS": "800", "DEPOT_HEADER_TIMEOUT": "7"}
    )
    server = DepotServer(settings)
    assert server.cfg.worker_class is DepotWorker
    assert server.cfg.worker_connections == 200
    assert DepotWorker.header_timeout == 7
