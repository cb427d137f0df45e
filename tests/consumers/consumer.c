/* A C11 program built against the *installed* mpsync via pkg-config: a semaphore and an event
   shared with a forked child. Exits 0 on success. */
#define _DEFAULT_SOURCE
#include <mpsync.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared { mpsync_sem_t sem; mpsync_event_t done; };

int main(void) {
  struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) return 2;
  mpsync_sem_init(&s->sem, 0);
  mpsync_event_init(&s->done);
  pid_t pid = fork();
  if (pid == 0) {
    int ok = mpsync_sem_acquire(&s->sem, 1, 10.0) == MPSYNC_OK;
    mpsync_event_set(&s->done);
    _exit(ok ? 0 : 1);
  }
  mpsync_sem_release(&s->sem);
  int st = mpsync_event_wait(&s->done, 10.0);
  int ws = 0;
  waitpid(pid, &ws, 0);
  printf("c consumer: %s, backend %s\n", mpsync_strerror(st), mpsync_backend());
  return st == MPSYNC_OK && WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : 1;
}
