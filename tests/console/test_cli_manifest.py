"""The CLI's manifest of a build folder: every site file with its size and SHA-256, nothing else."""

import hashlib
import os

from gatehouse_cli.manifest import folder_files


def test_a_folder_is_listed_with_forward_slashes_sizes_and_hashes_sorted(tmp_path):
    (tmp_path / "assets" / "img").mkdir(parents=True)
    (tmp_path / "index.html").write_bytes(b"<p>hi</p>")
    (tmp_path / "assets" / "img" / "logo.svg").write_bytes(b"<svg/>")
    (tmp_path / "assets" / "app.js").write_bytes(b"")
    listed = [f.manifest() for f in folder_files(tmp_path)]
    assert listed == [
        {"path": "assets/app.js", "size": 0, "sha256": hashlib.sha256(b"").hexdigest()},
        {"path": "assets/img/logo.svg", "size": 6, "sha256": hashlib.sha256(b"<svg/>").hexdigest()},
        {"path": "index.html", "size": 9, "sha256": hashlib.sha256(b"<p>hi</p>").hexdigest()},
    ]


def test_version_control_and_desktop_clutter_are_left_out(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[core]")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "._index.html").write_text("x")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    (tmp_path / "index.html").write_text("hi")
    (tmp_path / ".well-known").mkdir()
    (tmp_path / ".well-known" / "security.txt").write_text("Contact: x")
    assert [f.path for f in folder_files(tmp_path)] == [".well-known/security.txt", "index.html"]


def test_a_link_to_a_folder_is_not_followed_and_a_broken_link_is_skipped(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of the site")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("hi")
    os.symlink(outside, site / "linked")
    os.symlink(site / "nowhere", site / "broken.js")
    assert [f.path for f in folder_files(site)] == ["index.html"]
