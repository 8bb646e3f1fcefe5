"""The run's board: how processes post their state for the run-wide deadlock check (patches/mp_util.py)."""
import os
import unittest

from interleave import protocol as P
from interleave.patches import mp_util
from interleave.supervisor import make_wake_board


class ProcessStateBoardTest(unittest.TestCase):
    def setUp(self):
        self.path = make_wake_board("t" * 64)
        self.assertIsNotNone(self.path)
        self.saved_env = os.environ.get(P.ENV_WAKE_BOARD)
        os.environ[P.ENV_WAKE_BOARD] = self.path
        self.saved_alive = mp_util.process_alive
        self.forget()

    def tearDown(self):
        mp_util.process_alive = self.saved_alive
        if mp_util._board:
            mp_util._board.close()
        self.forget()
        if self.saved_env is None:
            os.environ.pop(P.ENV_WAKE_BOARD, None)
        else:
            os.environ[P.ENV_WAKE_BOARD] = self.saved_env
        os.unlink(self.path)

    def forget(self):
        mp_util._board = None
        mp_util._proc_slots.clear()
        mp_util._started_unposted.clear()

    def test_a_child_started_before_the_board_is_mapped_is_posted_by_the_next_check(self):
        mp_util.post_started_child(4242, 777)
        self.assertIsNone(mp_util._board)       # starting a child maps nothing (mmap is not imported for it)
        mp_util.post_started_children()         # what the watchdog does at its next check
        self.assertEqual(mp_util.read_process_states(), [(4242, 0, 777, 0)])
        mp_util.post_started_children()
        self.assertEqual(mp_util.read_process_states(), [(4242, 0, 777, 0)])

    def test_a_child_started_once_the_board_is_mapped_is_posted_at_once(self):
        self.assertTrue(mp_util.post_process_state(99, 5, 6))
        mp_util.post_started_child(4243, 888)
        self.assertEqual(sorted(mp_util.read_process_states()), [(99, 5, 6, 0), (4243, 0, 888, 0)])
        self.assertEqual(mp_util._started_unposted, {})

    def test_liveness_is_not_asked_while_a_slot_is_free(self):
        asked = []
        mp_util.process_alive = lambda pid: asked.append(pid) or True
        for pid in range(1000, 1000 + P.PROC_SLOTS - 1):
            self.assertTrue(mp_util.post_process_state(pid, 0, 1))
        self.assertTrue(mp_util.post_process_state(5000, 0, 1))
        self.assertEqual(asked, [])
        self.assertEqual(len(mp_util.read_process_states()), P.PROC_SLOTS)

    def test_a_full_table_reuses_the_slot_of_a_process_that_has_ended_and_refuses_when_none_has(self):
        for pid in range(1000, 1000 + P.PROC_SLOTS):
            self.assertTrue(mp_util.post_process_state(pid, 0, 1))
        mp_util.process_alive = lambda pid: pid != 1100
        self.assertTrue(mp_util.post_process_state(7000, 3, 4))
        pids = [s[0] for s in mp_util.read_process_states()]
        self.assertIn(7000, pids)
        self.assertNotIn(1100, pids)
        mp_util.process_alive = lambda pid: True
        self.assertFalse(mp_util.post_process_state(7001, 3, 4))


if __name__ == "__main__":
    unittest.main()
