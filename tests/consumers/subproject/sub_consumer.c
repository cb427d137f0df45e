/* Built inside a meson project that embeds mpsync as a subproject (subproject('mpsync')
   .get_variable('mpsync_dep')): statuses of the C ABI, single-threaded. Exits 0 on success. */
#include <math.h>
#include <mpsync.h>
#include <stdio.h>

static int fails;
static void expect(int got, int want, const char *what) {
  if (got != want) {
    fprintf(stderr, "meson subproject consumer (C): %s: got %d (%s), want %d\n", what, got, mpsync_strerror(got), want);
    ++fails;
  }
}

int main(void) {
  mpsync_rlock_t rl;
  mpsync_sem_t s;
  mpsync_event_t e;
  expect(mpsync_rlock_init(&rl), MPSYNC_OK, "rlock init");
  expect(mpsync_rlock_acquire(&rl, 1, MPSYNC_FOREVER), MPSYNC_OK, "rlock acquire");
  expect(mpsync_rlock_acquire(&rl, 0, 0.0), MPSYNC_OK, "rlock recursive try");
  expect((int)mpsync_rlock_count(&rl), 2, "rlock count");
  expect(mpsync_rlock_release(&rl), MPSYNC_OK, "rlock release 1");
  expect(mpsync_rlock_release(&rl), MPSYNC_OK, "rlock release 2");
  expect(mpsync_rlock_release(&rl), MPSYNC_ENOTOWNER, "rlock release past count");
  expect(mpsync_bounded_sem_init(&s, 1), MPSYNC_OK, "bounded sem init");
  expect(mpsync_sem_release(&s), MPSYNC_EOVERRELEASE, "bounded sem over-release");
  expect(mpsync_sem_acquire(&s, 1, NAN), MPSYNC_EINVAL, "NaN timeout");
  expect(mpsync_sem_acquire(&s, 1, 0.01), MPSYNC_OK, "sem acquire");
  expect(mpsync_sem_acquire(&s, 1, 0.01), MPSYNC_TIMEDOUT, "sem acquire on 0");
  expect(mpsync_sem_get_value(&s), 0, "sem value");
  expect(mpsync_sem_init(&s, MPSYNC_SEM_VALUE_MAX + 1u), MPSYNC_EINVAL, "sem init over max");
  expect(mpsync_event_init(&e), MPSYNC_OK, "event init");
  expect(mpsync_event_wait(&e, -1.0), MPSYNC_TIMEDOUT, "event wait, negative timeout");
  expect(mpsync_event_set(&e), MPSYNC_OK, "event set");
  expect(mpsync_event_wait(&e, MPSYNC_FOREVER), MPSYNC_OK, "event wait when set");
  printf("meson subproject consumer (C): %s (backend %s)\n", fails ? "FAILED" : "ok", mpsync_backend());
  return fails != 0;
}
