#!/usr/bin/env python3
"""mpsync from Python: the stdlib's Queue and Pool on mpsync's primitives, in one context swap.

    ctx = mpsync.get_context("spawn")     # instead of multiprocessing.get_context("spawn")
"""
import mpsync


def worker(lock, counter, items, done):
    for _ in range(1000):
        with lock:
            counter.value += 1
    items.put("hello from a child")
    done.release()


def square(x):
    return x * x


if __name__ == "__main__":
    ctx = mpsync.get_context("spawn")
    lock, done, items = ctx.Lock(), ctx.Semaphore(0), ctx.Queue()
    counter = ctx.Value("i", 0, lock=False)
    procs = [ctx.Process(target=worker, args=(lock, counter, items, done)) for _ in range(4)]
    for p in procs:
        p.start()
    for _ in procs:
        assert done.acquire(timeout=60)
    print(items.get(timeout=60), "- counter:", counter.value)
    for p in procs:
        p.join()
    with ctx.Pool(2) as pool:
        print("squares:", pool.map(square, range(8)))
    print(f"mpsync {mpsync.__version__} ({mpsync.backend} backend): ok")
