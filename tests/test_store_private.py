"""The embedded store's data are private: every folder 0700 and every file 0600, including what
ArcadeDB creates while it runs and what existed before the store was made private."""

from __future__ import annotations

import os
import stat

from ontochron.graph import embedded as emb
from ontochron.graph.store import connect


def _modes(root) -> dict[str, int]:
    out = {".": stat.S_IMODE(os.stat(root).st_mode)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if not stat.S_ISLNK(st.st_mode):
                out[os.path.relpath(path, root)] = stat.S_IMODE(st.st_mode)
    return out


def _assert_private(root) -> dict[str, int]:
    modes = _modes(root)
    bad = {p: oct(m) for p, m in modes.items()
           if m != (0o700 if os.path.isdir(os.path.join(root, p)) else 0o600)}
    assert not bad, f"not private: {bad}"
    return modes


def test_data_dir_and_every_file_are_owner_only(tmp_path):
    data = tmp_path / "store"
    (data / "old").mkdir(parents=True)
    (data / "old" / "leftover.txt").write_text("x")
    os.chmod(data, 0o755)
    os.chmod(data / "old", 0o755)
    os.chmod(data / "old" / "leftover.txt", 0o644)
    old_umask = os.umask(0o022)  # the server must not depend on the caller's umask
    try:
        server = emb.EmbeddedServer(data).start(timeout=240)
    finally:
        os.umask(old_umask)
    try:
        store = connect(server.bolt_uri, server.username, server.password, server.database)
        with store:
            store.write("CREATE INDEX private_probe IF NOT EXISTS FOR (n:PrivProbe) ON (n.k)")
            store.write_batches("UNWIND $rows AS r CREATE (:PrivProbe {k: r.k})",
                                [{"k": i} for i in range(2000)], batch_size=500)
            assert store.run("MATCH (n:PrivProbe) RETURN count(n) AS c") == [{"c": 2000}]
        modes = _assert_private(data)
        assert any(p.startswith("databases") for p in modes)  # ArcadeDB's own files are there
        assert {emb.LOCK_FILE, emb.PASSWORD_FILE, emb.LOG_FILE} <= set(modes)
    finally:
        server.stop()
    _assert_private(data)  # including what it wrote on shutdown
