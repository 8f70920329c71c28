from pathlib import Path

import pytest

from crawler.profiles import ProfileError, list_profiles, load_profile

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "profiles"


def test_nync_profile_has_the_channels_of_the_portal_notes():
    nync = load_profile("nync", PROFILES)
    assert nync.base_url == "https://nync.jiangxi.gov.cn"
    assert nync.platform == "querylist" and nync.site_code == "jxsnynct"
    assert nync.channel("bcyb").unitid == "368486"
    assert nync.channel("fzjz").unitid == "1821717000426962944"
    assert nync.channel("yjxx").unitid is None
    assert nync.politeness.concurrent_requests == 1 and nync.politeness.autothrottle


def test_every_shipped_profile_loads():
    assert {p.name for p in list_profiles(PROFILES)} >= {"nync", "nync-archive"}
    archive = load_profile("nync-archive", PROFILES)
    assert (
        archive.platform == "jcms"
        and archive.jcms.batch == 45
        and archive.channels[0].code == "77926"
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'name = "x"\nplatform = "querylist"\nsite_code = "s"\n[[channels]]\ncode = "a"\n',
            "missing required field 'base_url'",
        ),
        ('name = "x"\nbase_url = "ftp://x"\nplatform = "querylist"\n', "must be an http"),
        (
            'name = "x"\nbase_url = "https://x.cn"\nplatform = "wordpress"\n',
            "platform must be one of",
        ),
        (
            'name = "x"\nbase_url = "https://x.cn"\nplatform = "querylist"\nsite_code = "s"\n',
            "at least one",
        ),
        (
            'name = "x"\nbase_url = "https://x.cn"\nplatform = "querylist"\n[[channels]]\ncode = "a"\n',
            "needs site_code",
        ),
        (
            'name = "x"\nbase_url = "https://x.cn"\nplatform = "querylist"\nsite_code = "s"\n[[channels]]\ncode = "a"\n[[channels]]\ncode = "a"\n',
            "unique",
        ),
        ('name = "x\n', "not valid TOML"),
    ],
)
def test_profile_mistakes_name_the_file_and_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ProfileError, match=message) as info:
        load_profile(str(path), PROFILES)
    assert "site.toml" in str(info.value)


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ProfileError, match="known profiles: .*nync"):
        load_profile("nosuchsite", PROFILES)


def test_jcms_channel_codes_are_column_ids(tmp_path):
    path = write(
        tmp_path,
        'name = "x"\nbase_url = "https://x.cn"\nplatform = "jcms"\n[[channels]]\ncode = "gzdt"\n',
    )
    with pytest.raises(ProfileError, match="column ids"):
        load_profile(str(path), PROFILES)


def test_govcrawl_profiles_lists_the_good_and_names_each_disabled_one(
    tmp_path, monkeypatch, capsys
):
    from crawler import cli, settings

    (tmp_path / "nync.toml").write_text(
        (PROFILES / "nync.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "fast.toml").write_text(
        (PROFILES / "nync.toml")
        .read_text(encoding="utf-8")
        .replace('name = "nync"', 'name = "fast"')
        .replace("download_delay = 1.5", 'download_delay = "fast"'),
        encoding="utf-8",
    )
    monkeypatch.setattr(settings, "GOVCRAWL_PROFILES_DIR", str(tmp_path))
    code = cli.main(["profiles"])
    out, err = capsys.readouterr()
    assert out.startswith("nync ") and "fast" not in out
    assert err.count("\n") == 1 and "disabled" in err, err
    assert "fast.toml" in err and "politeness.download_delay" in err
    assert code == 1
