/* event_loop — one thread, one io_uring, no helper thread, serving at once:
 *   - a Unix stream socket: a client process sends messages, the loop echoes each one back;
 *   - a periodic timer (IORING_OP_TIMEOUT), which is also the watchdog: a lost wake-up fails the
 *     run instead of hanging it;
 *   - 16 channels in a shared region, each a bounded queue guarded by two mpsync Semaphores
 *     ("items" and "space"), fed by 4 producer processes (fork). The loop waits on the 16 "items"
 *     semaphores with IORING_OP_FUTEX_WAIT (mpsync_uring_prep_wait / mpsync_uring_complete).
 * Checked: every item consumed exactly once and in order per channel, the checksum, every echo
 * (verified by the client), at least one timer tick, every child exits 0. Exit 0 on success, 1 on
 * a mismatch, 77 (meson's "skipped") when the kernel or the build lacks io_uring futex waits.
 * Usage: event_loop [items-per-channel]   (default 400: 6400 acquisitions, well under a second) */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <mpsync.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { CHANNELS = 16, PRODUCERS = 4, SLOTS = 32, MESSAGES = 64, MSG = 16, WATCHDOG_S = 20 };
enum { TAG_NOP = 1, TAG_RECV, TAG_SEND, TAG_TIMER, TAG_CANCEL }; /* never a valid pointer */

typedef struct {
  mpsync_sem_t items; /* tokens = filled slots: the loop waits on this one */
  mpsync_sem_t space; /* tokens = free slots: the producer blocks on this one */
  uint32_t tail;      /* written by the producer only */
  uint32_t slot[SLOTS];
} channel;

static uint32_t item_value(unsigned ch, unsigned seq) { return (ch << 24) | seq; }

/* ---- the other processes (plain blocking calls) ---- */
static int produce(channel *chs, unsigned p, unsigned per_channel) {
  for (unsigned seq = 0; seq < per_channel; ++seq)
    for (unsigned ch = p; ch < CHANNELS; ch += PRODUCERS) {
      channel *c = &chs[ch];
      if (mpsync_sem_acquire(&c->space, 1, 30.0) != MPSYNC_OK) return 1;
      c->slot[c->tail % SLOTS] = item_value(ch, seq); /* published by the release below */
      c->tail++;
      if (mpsync_sem_release(&c->items) != MPSYNC_OK) return 1;
    }
  return 0;
}

static int client(int fd) {
  char out[MSG + 1], in[MSG];
  for (int m = 0; m < MESSAGES; ++m) {
    snprintf(out, sizeof out, "echo #%09d", m);
    if (write(fd, out, MSG) != MSG) return 1;
    for (size_t got = 0; got < MSG;) {
      ssize_t n = read(fd, in + got, MSG - got);
      if (n <= 0) return 1;
      got += (size_t)n;
    }
    if (memcmp(in, out, MSG) != 0) return 1;
  }
  shutdown(fd, SHUT_WR);
  return read(fd, in, 1) == 0 ? 0 : 1; /* the server closes after our EOF */
}

/* ---- the loop's state ---- */
static struct io_uring ring;
static int inflight; /* submitted SQEs whose CQE has not been seen yet */
static channel *chs;
static unsigned per_channel;
static mpsync_uring_wait_t waits[CHANNELS];
static unsigned head[CHANNELS], armed[CHANNELS];
static uint64_t sum;
static unsigned consumed, order_errors, at_once, waited, rearmed;
static int failed, stopping, sock = -1;
static char buf[256];
static unsigned pending, sent, echoed, ticks;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char *what, int status) {
  fprintf(stderr, "event_loop: %s: %s\n", what, status ? mpsync_strerror(status) : "failed");
  failed = 1;
}

static struct io_uring_sqe *get_sqe(void) {
  struct io_uring_sqe *s = io_uring_get_sqe(&ring);
  if (!s) { /* the SQ is full: hand it to the kernel, then there is room */
    io_uring_submit(&ring);
    s = io_uring_get_sqe(&ring);
  }
  if (!s) {
    fprintf(stderr, "event_loop: no SQE\n");
    exit(1);
  }
  ++inflight;
  return s;
}

/* We hold one token of channel i: take the item, give the slot back. */
static void consume(unsigned i) {
  const uint32_t v = chs[i].slot[head[i] % SLOTS];
  order_errors += v != item_value(i, head[i]);
  sum += v;
  ++head[i];
  ++consumed;
  int r = mpsync_sem_release(&chs[i].space);
  if (r != MPSYNC_OK) fail("release space", r);
}

/* Take what channel i has now; when it is empty, leave one wait armed on it. */
static void feed(unsigned i) {
  struct io_uring_sqe *s = NULL;
  while (!armed[i] && head[i] < per_channel && !failed && !stopping) {
    if (!s) s = get_sqe();
    const int r = mpsync_uring_prep_wait(s, &waits[i]);
    if (r == MPSYNC_URING_SUBMIT) { /* user_data = &waits[i]; submitted with the next batch */
      armed[i] = 1;
      ++waited;
      return;
    }
    if (r != MPSYNC_OK) {
      fail("prep_wait", r);
      break;
    }
    ++at_once;
    consume(i); /* acquired at once: the SQE is untouched, try again with it */
  }
  if (s) { /* an SQE we did not need: make it a harmless NOP */
    io_uring_prep_nop(s);
    io_uring_sqe_set_data64(s, TAG_NOP);
  }
}

static void post_recv(void) {
  struct io_uring_sqe *s = get_sqe();
  io_uring_prep_recv(s, sock, buf, sizeof buf, 0);
  io_uring_sqe_set_data64(s, TAG_RECV);
}

static void post_send(void) {
  struct io_uring_sqe *s = get_sqe();
  io_uring_prep_send(s, sock, buf + sent, pending - sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, TAG_SEND);
}

static struct __kernel_timespec tick = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
static int timer_armed;
static void post_timer(void) {
  struct io_uring_sqe *s = get_sqe();
  io_uring_prep_timeout(s, &tick, 0, 0);
  io_uring_sqe_set_data64(s, TAG_TIMER);
  timer_armed = 1;
}

static void post_cancel(uint64_t target) {
  struct io_uring_sqe *s = get_sqe();
  io_uring_prep_cancel64(s, target, 0);
  io_uring_sqe_set_data64(s, TAG_CANCEL);
}

/* Done when every item is consumed, the client has hung up, and the timer has fired at least once. */
static int all_done(void) { return consumed == CHANNELS * per_channel && sock < 0 && ticks > 0; }

static void handle(const struct io_uring_cqe *c) {
  const uint64_t ud = c->user_data;
  const int res = c->res;
  --inflight;
  switch (ud) {
    case TAG_NOP:
    case TAG_CANCEL: return;
    case TAG_RECV:
      if (res > 0) {
        pending = (unsigned)res;
        sent = 0;
        post_send();
      } else {
        if (res < 0 && res != -ECANCELED) {
          fprintf(stderr, "event_loop: recv: %s\n", strerror(-res));
          failed = 1;
        }
        close(sock); /* EOF: the client is done */
        sock = -1;
      }
      return;
    case TAG_SEND:
      if (res <= 0) {
        fprintf(stderr, "event_loop: send: %s\n", strerror(-res));
        failed = 1;
        close(sock);
        sock = -1;
        return;
      }
      sent += (unsigned)res;
      echoed += (unsigned)res;
      if (sent < pending) post_send();
      else post_recv();
      return;
    case TAG_TIMER:
      timer_armed = 0;
      if (res == -ETIME) ++ticks;
      if (!failed && !all_done()) post_timer();
      return;
    default: break;
  }
  /* A semaphore wait: ud is &waits[i]. */
  mpsync_uring_wait_t *w = (mpsync_uring_wait_t *)(uintptr_t)ud;
  const unsigned i = (unsigned)(w - waits);
  armed[i] = 0;
  if (failed) { /* shutting down: a woken wait may hold a wake; hand it on */
    mpsync_uring_abandon(w, res);
    return;
  }
  const int r = mpsync_uring_complete(w, res);
  if (r == MPSYNC_OK) consume(i);
  else if (r == MPSYNC_URING_REARM) ++rearmed;
  else if (!(r == MPSYNC_TIMEDOUT && stopping)) fail("complete", r); /* TIMEDOUT: we cancelled it */
  feed(i);
}

int main(int argc, char **argv) {
  per_channel = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 400;
  if (!mpsync_uring_supported()) {
    printf("event_loop: skipped: %s\n", mpsync_uring_unsupported_reason());
    return 77;
  }
  const int rc = io_uring_queue_init(128, &ring, 0);
  if (rc < 0) {
    printf("event_loop: skipped: io_uring_queue_init: %s\n", strerror(-rc));
    return 77;
  }
  mpsync_region_t *region;
  if (mpsync_region_create_anon(&region, sizeof(channel) * CHANNELS + 4096) != MPSYNC_OK) return 1;
  chs = mpsync_region_alloc(region, sizeof(channel) * CHANNELS, 64);
  for (unsigned i = 0; i < CHANNELS; ++i) {
    mpsync_sem_init(&chs[i].items, 0);
    mpsync_bounded_sem_init(&chs[i].space, SLOTS);
    mpsync_uring_wait_init(&waits[i], MPSYNC_WAIT_SEM, &chs[i].items);
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  pid_t kids[PRODUCERS + 1];
  for (unsigned p = 0; p <= PRODUCERS; ++p) {
    fflush(NULL);
    kids[p] = fork();
    if (kids[p] < 0) return 1;
    if (kids[p] == 0) { /* children never touch the parent's ring */
      close(sv[0]);
      _exit(p < PRODUCERS ? produce(chs, p, per_channel) : client(sv[1]));
    }
  }
  close(sv[1]);
  sock = sv[0];

  const double t0 = now_s();
  for (unsigned i = 0; i < CHANNELS; ++i) feed(i);
  post_recv();
  post_timer();
  while (inflight > 0) {
    io_uring_submit_and_wait(&ring, 1);
    struct io_uring_cqe *c;
    unsigned h, n = 0;
    io_uring_for_each_cqe(&ring, h, c) {
      handle(c);
      ++n;
    }
    io_uring_cq_advance(&ring, n);
    if (!failed && now_s() - t0 > WATCHDOG_S) fail("watchdog: no progress (a lost wake-up?)", 0);
    if ((failed || all_done()) && !stopping) { /* cancel what is still outstanding */
      stopping = 1;
      for (unsigned i = 0; i < CHANNELS; ++i)
        if (armed[i]) post_cancel((uint64_t)(uintptr_t)&waits[i]);
      if (sock >= 0) post_cancel(TAG_RECV);
      if (timer_armed) post_cancel(TAG_TIMER);
      if (failed)
        for (unsigned p = 0; p <= PRODUCERS; ++p) kill(kids[p], SIGKILL);
    }
  }
  const double dt = now_s() - t0;
  io_uring_queue_exit(&ring);

  int kids_ok = 1;
  for (unsigned p = 0; p <= PRODUCERS; ++p) {
    int st = 0;
    while (waitpid(kids[p], &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "event_loop: %s %u failed\n", p < PRODUCERS ? "producer" : "client", p);
      kids_ok = 0;
    }
  }
  uint64_t expect = 0;
  for (unsigned ch = 0; ch < CHANNELS; ++ch)
    for (unsigned seq = 0; seq < per_channel; ++seq) expect += item_value(ch, seq);
  for (unsigned i = 0; i < CHANNELS; ++i)
    if (mpsync_sem_get_value(&chs[i].items) != 0 || mpsync_sem_get_value(&chs[i].space) != SLOTS) order_errors++;
  const int ok = !failed && kids_ok && consumed == CHANNELS * per_channel && order_errors == 0 && sum == expect &&
                 echoed == MESSAGES * MSG && ticks > 0;
  printf("event_loop: %s: %u/%u items from %d producer processes over %d semaphores (%u at once, %u waits, "
         "%u re-armed), checksum %s, %u/%d echoed bytes, %u timer ticks, %.3f s\n",
         ok ? "OK" : "FAILED", consumed, CHANNELS * per_channel, PRODUCERS, CHANNELS, at_once, waited, rearmed,
         sum == expect ? "ok" : "MISMATCH", echoed, MESSAGES * MSG, ticks, dt);
  mpsync_region_close(region);
  return ok ? 0 : 1;
}
