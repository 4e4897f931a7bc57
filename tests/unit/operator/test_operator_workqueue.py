"""The work queue: coalescing, delays, per-key backoff and the resync flag (client-go semantics, spec 9)."""

import asyncio

import pytest

from kyma_istio.operator.workqueue import Backoff, WorkQueue

# Long enough for the event loop to run the getter many times; the queue's own clock is the fake one.
NOT_DUE_WAIT_S = 0.05


class FakeClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> WorkQueue:
    return WorkQueue(backoff=Backoff(base_s=1.0, max_s=10.0), clock=clock)


async def get_now(queue: WorkQueue) -> tuple[str, bool]:
    return await asyncio.wait_for(queue.get(), NOT_DUE_WAIT_S)


async def assert_nothing_due(queue: WorkQueue) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), NOT_DUE_WAIT_S)


# --- Backoff --------------------------------------------------------------------------------------


def test_backoff_doubles_from_the_base_per_failure() -> None:
    backoff = Backoff(base_s=1.0, max_s=1000.0)

    assert [backoff.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_backoff_is_capped_at_the_maximum() -> None:
    backoff = Backoff(base_s=1.0, max_s=1000.0)

    assert backoff.delay(10) == 512.0
    assert backoff.delay(11) == 1000.0
    assert backoff.delay(60) == 1000.0


def test_backoff_of_zero_failures_is_the_base() -> None:
    assert Backoff(base_s=2.0, max_s=100.0).delay(0) == 2.0


def test_the_default_backoff_is_the_references_one_second_to_a_thousand() -> None:
    backoff = Backoff()

    assert backoff.delay(1) == 1.0
    assert backoff.delay(100) == 1000.0


# --- adding and getting ---------------------------------------------------------------------------


async def test_an_added_key_is_returned_as_an_event_pass(queue: WorkQueue) -> None:
    queue.add("kyma-system/default")

    assert await get_now(queue) == ("kyma-system/default", False)
    assert len(queue) == 0


async def test_an_empty_queue_returns_nothing(queue: WorkQueue) -> None:
    await assert_nothing_due(queue)


async def test_adding_a_key_twice_keeps_one_entry(queue: WorkQueue) -> None:
    queue.add("ns/a")
    queue.add("ns/a")

    assert len(queue) == 1
    assert await get_now(queue) == ("ns/a", False)
    await assert_nothing_due(queue)


async def test_distinct_keys_are_returned_in_due_order(queue: WorkQueue, clock: FakeClock) -> None:
    queue.add("ns/late", after_s=5)
    queue.add("ns/early", after_s=2)
    queue.add("ns/now")
    clock.advance(10)

    assert [(await get_now(queue))[0] for _ in range(3)] == ["ns/now", "ns/early", "ns/late"]


async def test_a_delayed_key_is_not_returned_before_it_is_due(queue: WorkQueue, clock: FakeClock) -> None:
    queue.add("ns/a", after_s=30)

    await assert_nothing_due(queue)
    clock.advance(29)
    await assert_nothing_due(queue)
    clock.advance(1)
    assert (await get_now(queue))[0] == "ns/a"


async def test_a_negative_delay_counts_as_now(queue: WorkQueue) -> None:
    queue.add("ns/a", after_s=-5)

    assert (await get_now(queue))[0] == "ns/a"


async def test_an_earlier_add_pulls_a_delayed_key_forward(queue: WorkQueue) -> None:
    queue.add("ns/a", after_s=600)
    queue.add("ns/a")

    assert len(queue) == 1
    assert (await get_now(queue))[0] == "ns/a"
    await assert_nothing_due(queue)


async def test_a_later_add_does_not_push_a_queued_key_back(queue: WorkQueue, clock: FakeClock) -> None:
    queue.add("ns/a", after_s=5)
    queue.add("ns/a", after_s=600)
    clock.advance(5)

    assert (await get_now(queue))[0] == "ns/a"
    assert len(queue) == 0


async def test_a_waiting_getter_wakes_up_for_a_key_added_later(queue: WorkQueue) -> None:
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()

    queue.add("ns/a")

    assert await asyncio.wait_for(getter, 1.0) == ("ns/a", False)


async def test_a_getter_waiting_on_a_delayed_key_wakes_up_for_an_earlier_one(
    queue: WorkQueue,
) -> None:
    queue.add("ns/later", after_s=600)
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)

    queue.add("ns/now")

    assert await asyncio.wait_for(getter, 1.0) == ("ns/now", False)


# --- forget ---------------------------------------------------------------------------------------


async def test_a_forgotten_key_is_never_returned(queue: WorkQueue) -> None:
    queue.add("ns/a")
    queue.forget("ns/a")

    assert len(queue) == 0
    await assert_nothing_due(queue)


async def test_forget_drops_the_failure_count(queue: WorkQueue) -> None:
    queue.failed("ns/a")
    queue.failed("ns/a")

    queue.forget("ns/a")

    assert queue.failures("ns/a") == 0
    assert queue.failed("ns/a") == 1.0


def test_forgetting_an_unknown_key_is_harmless(queue: WorkQueue) -> None:
    queue.forget("ns/never-seen")

    assert len(queue) == 0


async def test_a_key_added_again_after_forget_is_returned_once(queue: WorkQueue) -> None:
    queue.add("ns/a")
    queue.forget("ns/a")
    queue.add("ns/a")

    assert (await get_now(queue))[0] == "ns/a"
    await assert_nothing_due(queue)


async def test_forgetting_one_key_leaves_the_others(queue: WorkQueue) -> None:
    queue.add("ns/a")
    queue.add("ns/b")
    queue.forget("ns/a")

    assert await get_now(queue) == ("ns/b", False)
    await assert_nothing_due(queue)


# --- failure backoff ------------------------------------------------------------------------------


def test_failed_returns_delays_that_double_up_to_the_cap(queue: WorkQueue) -> None:
    delays = [queue.failed("ns/a") for _ in range(6)]

    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert queue.failures("ns/a") == 6


def test_failures_are_counted_per_key(queue: WorkQueue) -> None:
    queue.failed("ns/a")
    queue.failed("ns/a")

    assert queue.failed("ns/b") == 1.0
    assert queue.failures("ns/a") == 2


async def test_a_failed_key_is_requeued_after_its_backoff(queue: WorkQueue, clock: FakeClock) -> None:
    queue.failed("ns/a")
    queue.failed("ns/a")  # 2 s; the earlier 1 s entry still wins while it is queued

    await assert_nothing_due(queue)
    clock.advance(1)
    assert (await get_now(queue))[0] == "ns/a"


async def test_a_retry_after_failure_is_not_due_before_its_delay(queue: WorkQueue, clock: FakeClock) -> None:
    queue.failed("ns/a")
    clock.advance(1)
    await get_now(queue)

    delay = queue.failed("ns/a")

    assert delay == 2.0
    clock.advance(1.5)
    await assert_nothing_due(queue)
    clock.advance(0.5)
    assert (await get_now(queue))[0] == "ns/a"


async def test_a_retry_after_failure_counts_as_a_resync_pass(queue: WorkQueue, clock: FakeClock) -> None:
    queue.failed("ns/a")
    clock.advance(1)

    assert await get_now(queue) == ("ns/a", True)


# --- success --------------------------------------------------------------------------------------


def test_success_resets_the_failures(queue: WorkQueue) -> None:
    for _ in range(4):
        queue.failed("ns/a")

    queue.succeeded("ns/a", requeue_after_s=None)

    assert queue.failures("ns/a") == 0
    assert queue.failed("ns/a") == 1.0


async def test_success_without_requeue_leaves_nothing_queued(queue: WorkQueue) -> None:
    queue.succeeded("ns/a", requeue_after_s=None)

    assert len(queue) == 0
    await assert_nothing_due(queue)


async def test_success_requeues_after_the_given_time(queue: WorkQueue, clock: FakeClock) -> None:
    queue.succeeded("ns/a", requeue_after_s=36000)

    assert len(queue) == 1
    clock.advance(35999)
    await assert_nothing_due(queue)
    clock.advance(1)
    assert await get_now(queue) == ("ns/a", True)


# --- resync flag ----------------------------------------------------------------------------------


async def test_a_periodic_requeue_alone_is_a_resync_pass(queue: WorkQueue) -> None:
    queue.add("ns/a", resync=True)

    assert await get_now(queue) == ("ns/a", True)


async def test_an_event_coalesced_into_a_queued_resync_makes_the_pass_non_resync(
    queue: WorkQueue, clock: FakeClock
) -> None:
    queue.add("ns/a", resync=True)
    queue.add("ns/a", after_s=5)  # later: coalesced into the queued entry
    clock.advance(5)

    assert await get_now(queue) == ("ns/a", False)
    await assert_nothing_due(queue)


async def test_an_earlier_event_replacing_a_queued_resync_makes_the_pass_non_resync(
    queue: WorkQueue,
) -> None:
    queue.succeeded("ns/a", requeue_after_s=36000)
    queue.add("ns/a")

    assert await get_now(queue) == ("ns/a", False)
    await assert_nothing_due(queue)


async def test_a_resync_coalesced_into_a_queued_event_keeps_the_pass_non_resync(
    queue: WorkQueue, clock: FakeClock
) -> None:
    queue.add("ns/a")
    queue.failed("ns/a")
    queue.add("ns/a", resync=True)
    clock.advance(1)

    assert await get_now(queue) == ("ns/a", False)


async def test_the_resync_flag_does_not_outlive_its_pass(queue: WorkQueue) -> None:
    queue.add("ns/a")
    await get_now(queue)

    queue.add("ns/a", resync=True)

    assert await get_now(queue) == ("ns/a", True)


async def test_the_event_flag_does_not_outlive_its_pass(queue: WorkQueue) -> None:
    queue.add("ns/a", resync=True)
    await get_now(queue)

    queue.add("ns/a")

    assert await get_now(queue) == ("ns/a", False)


# --- warnings (ADR 13) -----------------------------------------------------------------------------


def test_warnings_retry_after_five_seconds_doubling_to_a_minute(queue: WorkQueue) -> None:
    delays = [queue.warned("ns/a") for _ in range(6)]

    assert delays == [5, 10, 20, 40, 60, 60]


def test_a_warning_retry_is_capped_by_the_pass(queue: WorkQueue) -> None:
    assert [queue.warned("ns/a", cap_s=8) for _ in range(3)] == [5, 8, 8]


def test_a_success_resets_the_warning_backoff(queue: WorkQueue) -> None:
    queue.warned("ns/a")
    queue.warned("ns/a")

    queue.succeeded("ns/a", requeue_after_s=None)

    assert queue.warned("ns/a") == 5


def test_the_warning_backoff_does_not_grow_the_error_backoff(queue: WorkQueue) -> None:
    queue.warned("ns/a")
    queue.warned("ns/a")

    assert queue.failed("ns/a") == 1


async def test_a_warned_key_is_due_after_its_delay_and_is_no_resync(
    queue: WorkQueue, clock: FakeClock
) -> None:
    """A warning retry must not re-run istioctl, which a periodic resync does."""
    queue.warned("ns/a")
    await assert_nothing_due(queue)

    clock.advance(5)

    assert await get_now(queue) == ("ns/a", False)


async def test_a_requeue_that_continues_work_is_no_resync(queue: WorkQueue, clock: FakeClock) -> None:
    queue.succeeded("ns/a", requeue_after_s=60, resync=False)

    clock.advance(60)

    assert await get_now(queue) == ("ns/a", False)
