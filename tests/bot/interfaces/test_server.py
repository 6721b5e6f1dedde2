"""Starting a server: what is loaded before the port opens."""
from bot.core.settings import Settings


def test_the_chinese_word_segmenter_is_loaded_before_the_first_message(tmp_path, tiny_model):
    import jieba

    from bot.interfaces.server import build_app

    jieba.dt.initialized = False  # as in a fresh process (loading it again takes about a second)
    build_app(tiny_model, Settings(encoder="fake:64", database_url=f"sqlite:///{tmp_path / 'start.db'}"))
    assert jieba.dt.initialized
