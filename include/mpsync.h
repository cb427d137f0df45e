/* mpsync — Python's multiprocessing synchronization primitives on raw futexes.
 *
 * The C ABI. Names, argument orders and status values are a contract (see README, "C ABI"); the
 * objects are complete types made of fixed-width words so they can be embedded in your own shared
 * structs. All-zero memory is a valid initial state for lock, rlock, sem (value 0), event and cond.
 * Every object works in MAP_SHARED memory (at any mapping address) and between threads.
 *
 * Reference for every function: docs/reference.md. */
#ifndef MPSYNC_H
#define MPSYNC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes -------------------------------------------------------------------------- */
enum {
  MPSYNC_OK = 0,           /* done (Python True) */
  MPSYNC_TIMEDOUT = 1,     /* deadline passed, or a non-blocking attempt failed (Python False) */
  MPSYNC_OWNER_DEAD = 2,   /* RLock acquired from a dead owner; caller owns it with count 1 */
  MPSYNC_BROKEN = 3,       /* barrier broken */
  MPSYNC_INTERRUPTED = 4,  /* a signal interrupted the wait and the interrupt check said stop */
  MPSYNC_EINVAL = -1,      /* bad argument */
  MPSYNC_ENOTOWNER = -2,   /* caller does not hold the (R)Lock */
  MPSYNC_EOVERRELEASE = -3,/* Lock released while unlocked; BoundedSemaphore released past its bound */
  MPSYNC_EOVERFLOW = -4,   /* a count would pass its maximum */
  MPSYNC_ECORRUPT = -5,    /* the object's memory is not a valid state */
  MPSYNC_ENOTSUP = -6,     /* not available on this kernel or build */
  MPSYNC_ESYS = -7,        /* unexpected OS error; errno holds it */
  MPSYNC_EEXIST = -8       /* the name is taken (mpsync_region_name) */
};

#define MPSYNC_FOREVER (__builtin_inf())
#define MPSYNC_SEM_VALUE_MAX 2147483647u

/* ---- objects (layouts are documented in runtime/<primitive>.cpp) ----------------------------- */
typedef struct mpsync_lock { uint32_t word; } mpsync_lock_t;                      /*  4 B */
typedef struct mpsync_rlock {                                                    /* 40 B */
  uint32_t word;        /* owner TID | FUTEX_WAITERS | FUTEX_OWNER_DIED (kernel robust format) */
  uint32_t count;       /* recursion level, written by the owner only */
  uint32_t reserved[4];
  uint64_t prev, next;  /* robust-list node: only the owner thread and the kernel touch these */
} mpsync_rlock_t;
typedef struct mpsync_sem { uint32_t value; uint32_t bound; } mpsync_sem_t;        /*  8 B */
typedef struct mpsync_event { uint32_t word; } mpsync_event_t;                    /*  4 B */
typedef struct mpsync_cond {                       /* 16 B of its own + the lock slot = 56 B */
  uint32_t seq, gen, sizes, state;
  mpsync_rlock_t lock;  /* the embedded RLock; with an external lock, its self-relative offset */
} mpsync_cond_t;
typedef struct mpsync_barrier { uint64_t state; uint32_t parties, reserved; } mpsync_barrier_t; /* 16 B */

/* ---- Lock: any thread or process may release it ---------------------------------------------- */
int mpsync_lock_init(mpsync_lock_t *l);
int mpsync_lock_acquire(mpsync_lock_t *l, int block, double timeout); /* OK | TIMEDOUT | INTERRUPTED */
int mpsync_lock_release(mpsync_lock_t *l);                           /* OK | EOVERRELEASE */
int mpsync_lock_is_mine(const mpsync_lock_t *l);
int mpsync_lock_locked(const mpsync_lock_t *l);

/* ---- RLock: owned by one thread; robust against owner death ------------------------------------ */
int mpsync_rlock_init(mpsync_rlock_t *l);
int mpsync_rlock_acquire(mpsync_rlock_t *l, int block, double timeout); /* OK | TIMEDOUT | OWNER_DEAD | EOVERFLOW | INTERRUPTED */
int mpsync_rlock_release(mpsync_rlock_t *l);                            /* OK | ENOTOWNER */
int mpsync_rlock_is_mine(const mpsync_rlock_t *l);
int mpsync_rlock_locked(const mpsync_rlock_t *l);
unsigned mpsync_rlock_count(const mpsync_rlock_t *l);
/* 1 if this thread's RLocks are tracked through the kernel robust list (owner death detected);
   0 where the kernel or libc does not allow it (qemu-user, seccomp, a non-glibc libc). */
int mpsync_rlock_robust_supported(void);

/* ---- Semaphore / BoundedSemaphore ------------------------------------------------------------- */
int mpsync_sem_init(mpsync_sem_t *s, unsigned value);         /* EINVAL if value > MPSYNC_SEM_VALUE_MAX */
int mpsync_bounded_sem_init(mpsync_sem_t *s, unsigned value); /* release past value -> EOVERRELEASE */
int mpsync_sem_acquire(mpsync_sem_t *s, int block, double timeout); /* OK | TIMEDOUT | INTERRUPTED */
int mpsync_sem_release(mpsync_sem_t *s);                            /* OK | EOVERRELEASE | EOVERFLOW; async-signal-safe */
int mpsync_sem_get_value(const mpsync_sem_t *s);                    /* >= 0, or a negative status */

/* ---- Event -------------------------------------------------------------------------------------- */
int mpsync_event_init(mpsync_event_t *e);
int mpsync_event_set(mpsync_event_t *e);     /* async-signal-safe */
int mpsync_event_clear(mpsync_event_t *e);   /* async-signal-safe */
int mpsync_event_is_set(const mpsync_event_t *e);
int mpsync_event_wait(mpsync_event_t *e, double timeout); /* OK | TIMEDOUT | INTERRUPTED */

/* ---- Condition ---------------------------------------------------------------------------------- */
typedef enum { MPSYNC_KIND_LOCK = 1, MPSYNC_KIND_RLOCK = 2 } mpsync_lock_kind;
int mpsync_cond_init(mpsync_cond_t *c, mpsync_lock_kind kind, void *lock); /* lock NULL: embedded RLock */
int mpsync_cond_acquire(mpsync_cond_t *c, int block, double timeout);
int mpsync_cond_release(mpsync_cond_t *c);
int mpsync_cond_wait(mpsync_cond_t *c, double timeout); /* OK | TIMEDOUT | ENOTOWNER | INTERRUPTED | OWNER_DEAD */
int mpsync_cond_wait_for(mpsync_cond_t *c, int (*pred)(void *ctx), void *ctx, double timeout); /* OK | TIMEDOUT */
int mpsync_cond_notify(mpsync_cond_t *c, unsigned n); /* OK | ENOTOWNER */
int mpsync_cond_notify_all(mpsync_cond_t *c);         /* OK | ENOTOWNER */

/* ---- Barrier ------------------------------------------------------------------------------------ */
int mpsync_barrier_init(mpsync_barrier_t *b, unsigned parties); /* EINVAL if 0 */
int mpsync_barrier_wait(mpsync_barrier_t *b, double timeout, int (*action)(void *ctx), void *ctx,
                        unsigned *index);                        /* OK (+index) | BROKEN */
int mpsync_barrier_reset(mpsync_barrier_t *b);
int mpsync_barrier_abort(mpsync_barrier_t *b);
unsigned mpsync_barrier_parties(const mpsync_barrier_t *b);
unsigned mpsync_barrier_n_waiting(const mpsync_barrier_t *b);
int mpsync_barrier_broken(const mpsync_barrier_t *b);

/* ---- signals, backends, version ----------------------------------------------------------------- */
typedef int (*mpsync_interrupt_fn)(void);
void mpsync_set_interrupt_check(mpsync_interrupt_fn fn);
const char *mpsync_strerror(int status);
const char *mpsync_backend(void); /* "futex" or "sleeploop" */
const char *mpsync_version(void);

/* ---- waiting on several objects (additions to the contract) ------------------------------------ */
typedef enum { MPSYNC_WAIT_LOCK = 1, MPSYNC_WAIT_RLOCK = 2, MPSYNC_WAIT_SEM = 3, MPSYNC_WAIT_EVENT = 4 } mpsync_wait_kind;
typedef struct { mpsync_wait_kind kind; void *object; } mpsync_waitable;
#define MPSYNC_WAIT_ANY_MAX 128
/* Waits until one item is ready and takes exactly that one: a Lock/RLock/Semaphore is acquired, an
   Event is seen set (not consumed); every other item is left as it was. The lowest ready index wins.
   OK (+index) | OWNER_DEAD (+index: an RLock taken from a dead owner) | TIMEDOUT | INTERRUPTED |
   EINVAL (n == 0, n > MPSYNC_WAIT_ANY_MAX, items/index/object NULL, unknown kind, NaN timeout) |
   ECORRUPT (+index) | EOVERFLOW (+index: RLock recursion). timeout as mpsync_event_wait. */
int mpsync_wait_any(const mpsync_waitable *items, unsigned n, double timeout, unsigned *index);

/* ---- io_uring asynchronous waits (additions to the contract) ---------------------------------
 * PRESENT ONLY when mpsync was built with liburing (meson option `uring`, auto-detected); without
 * it these functions are absent from the library (a link error, never a silent no-op). This header
 * needs no liburing: it only names `struct io_uring_sqe`.
 *
 * For a program that owns an io_uring (liburing) and waits on a Lock, RLock, Semaphore or Event
 * without blocking a thread: the object's word is waited on by an IORING_OP_FUTEX_WAIT (Linux
 * 6.7+), a shared wait, so releases from any process wake it. One mpsync_uring_wait_t per wait in
 * flight, kept alive and unmoved until its completion is handled:
 *
 *   mpsync_uring_wait_init(&w, MPSYNC_WAIT_SEM, sem);
 *   r = mpsync_uring_prep_wait(sqe, &w);
 *     OK / OWNER_DEAD       acquired now (Event: seen set); the SQE is untouched: reuse it for the
 *                           next request, or make it a NOP before submitting
 *     MPSYNC_URING_SUBMIT   the SQE now holds the wait (user_data = &w; set your own user_data, or
 *                           IOSQE_IO_LINK for a linked IORING_OP_LINK_TIMEOUT, after this call);
 *                           submit it. You do NOT hold the item.
 *     EINVAL | ECORRUPT | EOVERFLOW | ENOTSUP   nothing acquired, the SQE untouched
 *   on that wait's CQE (key on the wait's own CQE, not on the timeout's or the cancel's):
 *   r = mpsync_uring_complete(&w, cqe->res);
 *     OK / OWNER_DEAD       acquired (RLock: the thread calling complete is the owner)
 *     MPSYNC_URING_REARM    woken, but another waiter got there first: prep again (same w) to keep
 *                           waiting, or just drop the wait (nothing is owed)
 *     TIMEDOUT              the wait was cancelled (its linked timeout fired, or ASYNC_CANCEL):
 *                           nothing acquired, nothing owed
 *     ECORRUPT | EOVERFLOW | ESYS (errno = -res)
 *   a CQE you will not complete (your deadline passed, you are shutting down): call
 *   mpsync_uring_abandon(&w, cqe->res). A wait that was woken (res 0) — even if you had asked to
 *   cancel it or its timeout was about to fire — may hold the one wake-up a release sent; abandon
 *   hands it to the next waiter. Closing the ring cancels waits in flight (they absorb nothing).
 * Every process using an object must use the futex wait backend (mpsync_backend()): the sleeploop
 * backend issues no wakes, so under it mpsync_uring_supported() is 0 and prep returns ENOTSUP.
 * RLock whose owner is not on a kernel robust list (mpsync_rlock_robust_supported() == 0 in the
 * owner's thread): the kernel cannot report that owner's death, so give such waits a linked
 * timeout (~20 ms) and prep again on TIMEDOUT; each complete/prep checks whether the owner died. */
struct io_uring_sqe;
enum {
  MPSYNC_URING_SUBMIT = 5, /* prep_wait: the SQE was filled; submit it (not acquired) */
  MPSYNC_URING_REARM = 6   /* complete: woken but not acquired; prep again to keep waiting */
};
typedef struct mpsync_uring_wait {
  mpsync_waitable item; /* what to wait for */
  uint32_t expected;    /* internal: the word value the SQE waits on */
  uint32_t since;       /* internal: Event generation when the wait began */
  uint32_t state;       /* internal: 0 = a new wait (all-zero internals are valid) */
  uint32_t reserved;
} mpsync_uring_wait_t;
int mpsync_uring_supported(void);            /* 1 if usable here (probed once, then cached), else 0 */
const char *mpsync_uring_unsupported_reason(void); /* why not (a short text), or NULL if supported */
int mpsync_uring_wait_init(mpsync_uring_wait_t *w, mpsync_wait_kind kind, void *object); /* OK | EINVAL */
int mpsync_uring_prep_wait(struct io_uring_sqe *sqe, mpsync_uring_wait_t *w);
  /* OK | OWNER_DEAD | URING_SUBMIT | EINVAL | ECORRUPT | EOVERFLOW | ENOTSUP */
int mpsync_uring_complete(mpsync_uring_wait_t *w, int32_t cqe_res);
  /* OK | OWNER_DEAD | URING_REARM | TIMEDOUT | EINVAL | ECORRUPT | EOVERFLOW | ESYS */
int mpsync_uring_abandon(mpsync_uring_wait_t *w, int32_t cqe_res); /* OK | EINVAL */

/* ---- shared memory regions (additions to the contract) ---------------------------------------- */
typedef struct mpsync_region mpsync_region_t; /* process-local handle */
int mpsync_region_create_anon(mpsync_region_t **r, uint64_t size);  /* MAP_SHARED, inherited by fork */
int mpsync_region_create_memfd(mpsync_region_t **r, uint64_t size); /* fd passable over SCM_RIGHTS */
int mpsync_region_create_named(mpsync_region_t **r, const char *name, uint64_t size); /* O_EXCL, 0600 */
int mpsync_region_open_named(mpsync_region_t **r, const char *name);
int mpsync_region_open_fd(mpsync_region_t **r, int fd); /* map a memfd received from another process */
int mpsync_region_unlink_named(const char *name);
void *mpsync_region_alloc(mpsync_region_t *r, uint64_t size, uint64_t align); /* NULL when full */
void *mpsync_region_at(mpsync_region_t *r, uint64_t offset);  /* NULL when out of range */
uint64_t mpsync_region_offset(mpsync_region_t *r, const void *p);
int mpsync_region_fd(mpsync_region_t *r);  /* -1 for anonymous regions */
int mpsync_region_send_fd(int unix_socket, int fd);
int mpsync_region_recv_fd(int unix_socket, int *fd);
void mpsync_region_close(mpsync_region_t *r);

/* ---- named objects and inspection (mpsync-inspect reads these; docs/inspect.md) --------------- */
typedef enum { MPSYNC_OBJ_LOCK = 1, MPSYNC_OBJ_RLOCK = 2, MPSYNC_OBJ_SEM = 3, MPSYNC_OBJ_EVENT = 4,
               MPSYNC_OBJ_COND = 5, MPSYNC_OBJ_BARRIER = 6 } mpsync_object_kind;  /* 1-4 = mpsync_wait_kind */
#define MPSYNC_NAME_MAX 63   /* bytes, without the NUL */
int mpsync_region_name(mpsync_region_t *r, const char *name, mpsync_object_kind kind, const void *object);
  /* OK | EEXIST | EINVAL (object not inside r, empty or too long name, unknown kind) | EOVERFLOW
     (directory full, or a region too small to have one) | ECORRUPT. A BoundedSemaphore is
     MPSYNC_OBJ_SEM. Exactly one of two racing namers of one name (in any processes) gets OK. */
void *mpsync_region_find(mpsync_region_t *r, const char *name, mpsync_object_kind *kind); /* NULL if absent */

#ifdef __cplusplus
}
#endif
#endif /* MPSYNC_H */
