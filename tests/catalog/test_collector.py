"""batch_collection raises the collector's young threshold while batches are in flight
and gives back exactly what was there."""

import gc

from tiled.catalog.collector import BATCH_THRESHOLD, batch_collection


def test_nested_batches_share_one_raise_and_restore():
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with batch_collection():
            assert gc.get_threshold() == (BATCH_THRESHOLD, 10, 10)
            with batch_collection():
                assert gc.get_threshold()[0] == BATCH_THRESHOLD
            assert gc.get_threshold()[0] == BATCH_THRESHOLD  # the outer batch still runs
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*saved)


def test_a_threshold_set_meanwhile_or_disabled_collection_is_left_alone():
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with batch_collection():
            gc.set_threshold(123, 4, 5)  # someone else's choice, made during the batch
        assert gc.get_threshold() == (123, 4, 5)
        gc.set_threshold(0, 10, 10)  # threshold 0: automatic collection off
        with batch_collection():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*saved)
