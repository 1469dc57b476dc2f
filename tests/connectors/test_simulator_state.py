"""The simulator's state file across versions: a world saved before a field existed loads with its default."""

from __future__ import annotations

from simulator.world import SimPost, World, load_world, save_world


def test_a_post_saved_before_likes_were_recorded_loads_with_no_likers(tmp_path):
    old = World(seed=7)
    post = old.add_post(
        SimPost(platform="mastodon", id="1", seq=0, author_id="9", text="Ancien", created_at=old.now(), likes=3)
    )
    del post.__dict__["liked_by"]  # as pickled by a simulator from before ``liked_by``
    save_world(old, str(tmp_path / "state.pickle"))
    restored = World(seed=7)
    assert load_world(restored, str(tmp_path / "state.pickle"))
    loaded = restored.post("mastodon", "1")
    assert loaded.liked_by == []
    assert restored.like(loaded, "109000000") is True
    assert (loaded.liked_by, loaded.likes) == (["109000000"], 4)
