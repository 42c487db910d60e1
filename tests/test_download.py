"""Downloads against a local HTTP server: resume, mirrors, checksums, lock file, timeouts."""

import hashlib

import pytest
import yaml

from local_server import start_server
from strainer.download import ChecksumError, DownloadError, DownloadSettings, RemoteFile, download

DATA = bytes(range(256)) * 400  # 102,400 bytes
FAST = dict(retries=0, backoff_seconds=0.0, timeout_seconds=5.0)


@pytest.fixture
def server():
    state, http_server = start_server()
    yield state
    http_server.shutdown()
    http_server.server_close()


def remote(urls, **checks) -> RemoteFile:
    return RemoteFile(dataset="toy", name="toy.bin", urls=tuple(urls), help="Place toy.bin by hand.", **checks)


def test_download_verifies_published_md5(server, tmp_path):
    url = server.serve("toy.bin", DATA)
    md5 = hashlib.md5(DATA).hexdigest()
    path = download(remote([url], md5=md5, size_bytes=len(DATA)), tmp_path / "toy.bin", DownloadSettings(**FAST))
    assert path.read_bytes() == DATA
    assert not (tmp_path / "toy.bin.part").exists()


def test_cut_download_resumes_from_part_file(server, tmp_path):
    url = server.serve("toy.bin", DATA, cut_after=40_000, cuts_left=1)
    target = tmp_path / "toy.bin"
    with pytest.raises(DownloadError, match="received 40000 of 102400 bytes"):
        download(remote([url]), target, DownloadSettings(**FAST))
    assert not target.exists()
    assert (tmp_path / "toy.bin.part").stat().st_size == 40_000

    download(remote([url], sha256=hashlib.sha256(DATA).hexdigest()), target, DownloadSettings(**FAST))
    assert target.read_bytes() == DATA
    assert server.requests[-1].range == "bytes=40000-"
    assert server.requests[-1].status == 206
    assert server.bytes_sent("toy.bin") == len(DATA)  # the first 40,000 bytes were not sent again


def test_retry_resumes_within_one_run(server, tmp_path):
    url = server.serve("toy.bin", DATA, cut_after=10_000, cuts_left=2)
    settings = DownloadSettings(retries=3, backoff_seconds=0.01, timeout_seconds=5.0)
    download(remote([url]), tmp_path / "toy.bin", settings)
    assert (tmp_path / "toy.bin").read_bytes() == DATA
    assert [request.range for request in server.requests] == [None, "bytes=10000-", "bytes=20000-"]


def test_missing_url_falls_back_to_mirror(server, tmp_path):
    mirror = server.serve("mirror/toy.bin", DATA)
    download(remote([server.url("gone/toy.bin"), mirror]), tmp_path / "toy.bin", DownloadSettings(**FAST))
    assert [request.status for request in server.requests] == [404, 200]


def test_all_urls_missing_names_dataset_and_help(server, tmp_path):
    url = server.url("gone/toy.bin")
    with pytest.raises(DownloadError) as raised:
        download(remote([url]), tmp_path / "toy.bin", DownloadSettings(retries=3, backoff_seconds=0.0))
    message = str(raised.value)
    assert "dataset 'toy'" in message
    assert url in message
    assert "HTTP 404" in message
    assert "Place toy.bin by hand." in message
    assert len(server.requests) == 1  # a 404 is not retried


def test_wrong_checksum_deletes_file(server, tmp_path):
    url = server.serve("toy.bin", DATA)
    with pytest.raises(ChecksumError) as raised:
        download(remote([url], md5="0" * 32), tmp_path / "toy.bin", DownloadSettings(**FAST))
    message = str(raised.value)
    assert "dataset 'toy'" in message
    assert url in message
    assert f"md5 is {hashlib.md5(DATA).hexdigest()}, expected {'0' * 32}" in message
    assert "Run again" in message
    assert list(tmp_path.iterdir()) == []


def test_wrong_size_is_rejected(server, tmp_path):
    url = server.serve("toy.bin", DATA)
    with pytest.raises(ChecksumError, match="size is 102400 bytes, expected 5"):
        download(remote([url], size_bytes=5), tmp_path / "toy.bin", DownloadSettings(**FAST))


def test_lock_file_records_then_enforces(server, tmp_path):
    lock = tmp_path / "lock.yaml"
    url = server.serve("toy.bin", DATA)
    settings = DownloadSettings(lock_file=str(lock), **FAST)
    download(remote([url]), tmp_path / "first" / "toy.bin", settings)
    recorded = yaml.safe_load(lock.read_text())
    assert recorded == {"toy": {"toy.bin": hashlib.sha256(DATA).hexdigest()}}

    server.serve("toy.bin", DATA[::-1])  # the source changed
    with pytest.raises(ChecksumError, match=f"recorded in {lock}"):
        download(remote([url]), tmp_path / "second" / "toy.bin", settings)
    assert not (tmp_path / "second" / "toy.bin").exists()


def test_slow_server_times_out(server, tmp_path):
    url = server.serve("toy.bin", DATA, delay_seconds=1.5)
    settings = DownloadSettings(retries=1, backoff_seconds=0.0, timeout_seconds=0.3)
    with pytest.raises(DownloadError, match="timed out"):
        download(remote([url]), tmp_path / "toy.bin", settings)
    assert len(server.requests) <= 2
