/* Promela model of mpsync::Condition's wait/notify protocol (runtime/condition.cpp), for spin.
 *
 * WHAT IS MODELLED (the same words and steps as the C++; its header has the full protocol)
 *   seq, S              the futex word: its count (bits 1-31; notify bumps it when it grants)
 *                       and bit 0 S, "a waiter may be asleep" (set by a waiter before it parks,
 *                       cleared by a notify whose grant leaves nobody counted; a notify that
 *                       finds S clear makes no FUTEX_WAKE). The futex compares both.
 *   gen                 G1's group number; G2 is gen + 1; older groups are retired
 *   g1, g2              sizes_ (low 16 | high 16): G1 waiters not yet granted, G2 waiters
 *   grants              state_'s low 16: grants given to G1 and not yet taken
 *   lk                  the bound lock: 0 free, else owner id (abstract: Lock/RLock are
 *                       checked by their own tests; here only mutual exclusion matters)
 *   asleep[i], sbit[i]  the kernel's futex queue on seq: waiter i is queued with bitset sbit[i]
 * Processes: NW waiters (waiter i does WAITS wait() calls, each `lock; wait; unlock`; the ones in
 * the TIMED bitmask have a finite timeout), one notifier making NN calls of notify(n) with n chosen
 * nondeterministically from {1, 2, all}, and a quiescence monitor.
 *
 * THE FUTEX, exactly as the kernel behaves
 *   FUTEX_WAIT_BITSET(seq, s, bit): one atomic step: seq == s ? enqueue and block : EAGAIN.
 *   A queued waiter leaves when a wake dequeues it (returns 0), or, if it has a timeout, at any
 *   moment by itself (ETIMEDOUT; it is unqueued, so a later wake goes to someone else), or with
 *   -DSPURIOUS at any moment with 0 (a spurious wake-up; park() also maps EFAULT/EINVAL to it).
 *   FUTEX_WAKE_BITSET(k, bit): one atomic step dequeuing exactly min(k, queued matching) waiters,
 *   WHICH ones chosen nondeterministically (the kernel's order is one of these choices).
 *   EINTR is absorbed by park() (re-waits with the same deadline); an interrupt that stops the
 *   wait takes the same path as a timeout (gave_up), so TIMED covers it.
 *
 * GRANULARITY AND MEMORY ORDER: every atomic load/store/RMW of the C++ code and every lock
 * operation is its own Promela step, with two merges: a plain read-modify-write of a lock-protected
 * word by the lock holder (rd(sizes_) then wr(sizes_)) is one step, and the waiter's decision
 * (reads of gen/state and the store of state, all under the lock) is one step; every other process
 * touches those words only under the lock, so the merged steps commute with everything that could
 * run between them (no behaviour lost). The model is sequentially consistent: the C++ header
 * argues the orderings (everything but seq is ordered by the lock; seq is read by the kernel
 * under its hash-bucket lock, which is what makes FUTEX_WAIT's compare-and-enqueue atomic).
 * Not modelled: wait(0) (returns before any step), EOVERFLOW/ECORRUPT checks, owner-dead relock,
 * wrap-around of the 31-bit count (a waiter descheduled between reading s and its S CAS or futex
 * compare while exactly a multiple of 2^31 granting notifies happen; groups bound how far the
 * count moves during one sleep to ~2 x 65535), dead
 * processes (C10 is tested in tests/; a dead waiter is a waiter that never returns).
 *
 * PROPERTIES (ghost variables, updated in the same atomic step as the C++ action they shadow)
 *   waiting      waits that have joined (W_join) and not yet decided to return (W_decide)
 *   credit[j]    notifications given by notify call j that no returned OK has consumed yet
 *   outst        sum of credit[]
 *   P1 exact count / at most n: a notify(n) call grants exactly min(n, waiting - outst) (assert
 *      in the notifier), so never more than n, and never more than there are un-notified waits;
 *      its FUTEX_WAKEs dequeue at most n sleepers in total.
 *   P2 no stolen wake-up (C7): every OK return consumes a credit of a notify call made after that
 *      wait joined (ep > joined[me]; the oldest such, which is optimal since eligibility is a
 *      suffix of notify calls); none left -> assert fails.  With P1 this also means no spurious OK.
 *   P3 no lost wake-up: whenever the whole system is blocked (spin's `timeout`), outst == 0:
 *      every notification was consumed by a returned wait. Every process terminates except
 *      untimed waiters nobody notified, so every run reaches such a state, and a notified waiter
 *      asleep forever shows up here.  Also sleepers == waiting (nobody stuck elsewhere).
 *   P4 no deadlock: spin's invalid-end-state check. The only valid place to stay blocked is
 *      end_W_sleep (asleep in the futex queue, not notified: P3 makes that precise).
 *   Together: exactly min(n, waiting) waits that had begun return OK, nobody else.
 *
 * MUTANTS (each must make spin report an error; scripts/model.sh checks that it does)
 *   -DMUT_SEQ_AFTER_UNLOCK  the waiter reads seq after releasing the lock: lost wake-up (P3)
 *   -DMUT_ANY_BIT           waiters sleep with FUTEX_BITSET_MATCH_ANY: a G1 wake lands on a G2
 *                           sleeper, who goes back to sleep: lost wake-up (P3)
 *   -DMUT_ONE_GROUP         waiters join G1 directly: a late waiter steals an earlier grant (P2)
 *   -DMUT_WAKE_BEFORE_SEQ   notify wakes before bumping seq: lost wake-up (P3)
 *   -DMUT_NO_S              the waiter parks without setting S: a notify skips the wake (P3)
 *   -DMUT_CLEAR_S_G1        notify clears S when G1 is all granted though G2 still has members,
 *                           who may sleep: the notify that later grants them skips the wake (P3)
 *
 * MAP TO THE C++ (runtime/condition.cpp has the reverse map, "Model: fuzz/model/condition.pml")
 *   W_lock      caller's acquire before wait()          (Condition::acquire_status)
 *   W_my        cond_wait: my = rd(gen_) + 1
 *   W_join      cond_wait: wr(sizes_, rd(sizes_) + kG2One)
 *   W_seq       cond_wait: s = load(seq_)
 *   W_unlock    cond_wait: saved = b.release_all()
 *   W_setS      cond_park: count moved ? woken : set S (a CAS; a failed CAS re-reads)
 *   W_park      park(): futex_wait(seq_, s|S, bit_of(my)) compare-and-enqueue   (park.cpp/futex.cpp)
 *               (cond_park's spin before W_setS only delays: a spin that sees the count move is
 *               the EAGAIN branch of W_park, so it needs no step of its own)
 *   end_W_sleep park(): blocked in the kernel until woken / timed out
 *   W_spur      cond_wait: r == woken && the count of seq_ is still s's -> continue
 *   W_relock    cond_wait: relock = b.restore(saved)
 *   W_decide    cond_wait: age = rd(gen_) - my; retired / take grant / withdraw / sleep again
 *   W_reseq     cond_wait (sleep again): s = load(seq_)
 *   W_reunlock  cond_wait (sleep again): saved = b.release_all()
 *   W_unlock2   caller's release after wait() returned
 *   N_lock      caller's acquire before notify()
 *   N_read      notify_status: sz = rd(sizes_)
 *   N_switch    notify_status: g1 == 0: wr(gen_), wr(sizes_, g2), store(state_ & ~kLow)
 *   N_grant     notify_status: wr(sizes_, sz - k); store(state_, st + k)
 *   N_seq       notify_status: CAS seq_: count + 1, S kept iff anyone is still counted (g1 or g2)
 *   N_wake      notify_status: if the old seq_ had S: detail::unpark(&seq_, k, bit_of(gen_))
 *   N_unlock    caller's release after notify()
 */

#ifndef NW
#define NW 3            /* waiters (the inline futex_wake below is written for 3) */
#endif
#ifndef NN
#define NN 3            /* notify calls */
#endif
#ifndef WAITS
#define WAITS 1         /* wait() calls per waiter ... */
#endif
#ifndef WAITS0
#define WAITS0 2        /* ... except waiter 0, which waits twice (re-joins a later group) */
#endif
#ifndef TIMED
#define TIMED 4         /* bitmask of waiters with a finite timeout: waiter 2 */
#endif
#ifndef GROUPBITS
#define GROUPBITS 32    /* bit_of(group) = 1 << (group % 32); -DGROUPBITS=2 checks that only the
                           G1/G2 bits need to differ (retired groups may alias) */
#endif
#define ALL 255         /* notify_all = notify(~0u): more than any count here */
#define BIT(g) (1 << ((g) % GROUPBITS))
#define MATCH_ANY (-1)
#define MIN(a, b) ((a) < (b) -> (a) : (b))
#define NOTIFIER 100

mtype = { SLEEP, WOKEN, TIMEDOUT, OK, AGAIN };

byte lk = 0;
byte seq = 0, gen = 0, g1 = 0, g2 = 0, grants = 0;
bool S = false;
bool asleep[NW];
int sbit[NW];

/* ghost */
byte ep = 0;                 /* notify calls made so far */
byte credit[NN + 1];
byte outst = 0, waiting = 0;
byte joined[NW];
bool nfinished = false;

/* FUTEX_WAKE_BITSET(k, bit): dequeue exactly min(k, matching queued) waiters, any of them. */
inline futex_wake(k, bs, woke) {
  atomic {
    woke = 0;
    do
    :: woke < k && asleep[0] && (sbit[0] & bs) != 0 -> asleep[0] = false; sbit[0] = 0; woke++
    :: woke < k && asleep[1] && (sbit[1] & bs) != 0 -> asleep[1] = false; sbit[1] = 0; woke++
    :: woke < k && asleep[2] && (sbit[2] & bs) != 0 -> asleep[2] = false; sbit[2] = 0; woke++
    :: else -> break
    od
  }
}

/* P2: an OK return consumes the oldest credit of a notify call made after this wait joined. */
inline consume(me, j) {
  j = joined[me] + 1;
  do
  :: j > NN -> assert(false)             /* P2 violated: no notify after my join has a credit */
  :: j <= NN && credit[j] > 0 -> credit[j]--; outst--; j = 0; break
  :: j <= NN && credit[j] == 0 -> j++
  od
}

proctype Waiter(byte me) {
  byte my, s, j, w = 0;
  mtype r;
  bool timed = ((TIMED >> me) & 1) != 0;

again:
W_lock:   atomic { lk == 0 -> lk = me + 1 }
#ifdef MUT_ONE_GROUP
W_my:     my = gen;
W_join:   atomic { g1++; waiting++; joined[me] = ep }
#else
W_my:     my = gen + 1;
W_join:   atomic { g2++; waiting++; joined[me] = ep }
#endif
#ifdef MUT_SEQ_AFTER_UNLOCK
W_unlock: lk = 0;
W_seq:    s = seq;
#else
W_seq:    s = seq;
W_unlock: lk = 0;
#endif
W_setS:
  atomic {                                             /* cond_park's CAS of S into seq */
    if
    :: seq != s -> r = WOKEN; goto W_spur              /* the count moved: no sleep */
    :: else
#ifndef MUT_NO_S
       S = true
#endif
    fi
  }
W_park:
  atomic {
    if
    :: seq == s && (S
#ifdef MUT_NO_S
                    || true
#endif
                   ) ->
       asleep[me] = true; r = SLEEP;
#ifdef MUT_ANY_BIT
       sbit[me] = MATCH_ANY
#else
       sbit[me] = BIT(my)
#endif
    :: else -> r = WOKEN                 /* EAGAIN */
    fi
  }
  if
  :: r == SLEEP ->
end_W_sleep:
     if
     :: atomic { !asleep[me] -> r = WOKEN }                          /* dequeued by a wake */
     :: atomic { timed && asleep[me] -> asleep[me] = false; sbit[me] = 0; r = TIMEDOUT }
#ifdef SPURIOUS
     :: atomic { asleep[me] -> asleep[me] = false; sbit[me] = 0; r = WOKEN }  /* spurious 0 */
#endif
     fi
  :: else
  fi;
W_spur:
  if
  :: r == WOKEN && seq == s -> goto W_setS
  :: else
  fi;
W_relock: atomic { lk == 0 -> lk = me + 1 }
W_decide:
  atomic {
    if
    :: gen > my -> r = OK                                   /* my group retired: granted */
    :: gen == my && grants > 0 -> grants--; r = OK          /* take one of G1's grants */
    :: else ->
       assert(gen + 1 >= my);                               /* age >= -1 */
       if
       :: r == TIMEDOUT ->                                  /* withdraw */
          if
          :: gen == my -> assert(g1 > 0); g1--              /* I1: I am counted in g1 */
          :: else -> assert(g2 > 0); g2--
          fi;
          waiting--
       :: else -> r = AGAIN                                 /* someone else took the grant */
       fi
    fi;
    if
    :: r == OK -> waiting--; consume(me, j)
    :: else
    fi
  }
  if
  :: r == AGAIN ->
W_reseq:    s = seq;
W_reunlock: lk = 0;
     goto W_setS
  :: else
  fi;
W_unlock2: atomic { lk = 0; my = 0; s = 0; r = SLEEP };   /* (dead values cleared: fewer states) */
  w++;
  if
  :: w < (me == 0 -> WAITS0 : WAITS) -> goto again
  :: else
  fi
}

proctype Notifier() {
  byte n, n0, k, sz1, sz2, woke, total, m, calls = 0, wsum;
  bool hadS;
  do
  :: calls < NN ->
N_lock:  atomic { lk == 0 -> lk = NOTIFIER }
     if
     :: n = 1
     :: n = 2
     :: n = ALL
     fi;
     atomic {
       ep++; n0 = n; total = 0; wsum = 0;
       assert(waiting >= outst);
       m = MIN(n, waiting - outst)                          /* what the spec says it grants */
     }
     do
     :: n == 0 -> break
     :: n > 0 ->
N_read:  atomic { sz1 = g1; sz2 = g2 }
         if
         :: sz1 == 0 && sz2 == 0 -> break
         :: sz1 == 0 && sz2 > 0 ->
N_switch:   atomic { gen++; g1 = sz2; g2 = 0; grants = 0; sz1 = 0; sz2 = 0 }
         :: sz1 > 0 ->
            k = MIN(n, sz1);
N_grant:    atomic { g1 = sz1 - k; grants = grants + k; credit[ep] = credit[ep] + k; outst = outst + k; total = total + k };
            n = n - k;
#ifdef MUT_WAKE_BEFORE_SEQ
N_wake:     futex_wake(k, BIT(gen), woke);
N_seq:      seq++;
#else
N_seq:      atomic {
              hadS = S; seq++;
#ifdef MUT_CLEAR_S_G1
              if :: g1 == 0 -> S = false :: else fi
#else
              if :: g1 == 0 && g2 == 0 -> S = false :: else fi
#endif
            }
N_wake:     if
            :: hadS -> futex_wake(k, BIT(gen), woke)
            :: else -> woke = 0
            fi;
#endif
            wsum = wsum + woke;
            assert(woke <= k);
            atomic { k = 0; woke = 0; sz1 = 0; sz2 = 0; hadS = false }  /* dead values */
         fi
     od;
     assert(total == m);                                    /* P1: exactly min(n, un-notified) */
     assert(wsum <= n0);                                    /* P1: at most n dequeued */
N_unlock: atomic { lk = 0; n0 = 0; total = 0; m = 0; wsum = 0; sz1 = 0; sz2 = 0 };
     calls++
  :: else -> break
  od;
  nfinished = true
}

/* P3/P4: when nothing can move, no notification is unconsumed and every waiter still inside
 * wait() is asleep in the futex queue (not on the lock, not half-way). */
active proctype Quiescence() {
  byte i, sleepers = 0;
  timeout ->
  atomic {
    assert(nfinished);
    assert(lk == 0);
    assert(outst == 0);                                     /* P3: no lost wake-up */
    i = 0;
    do
    :: i < NW -> sleepers = sleepers + asleep[i]; i++
    :: else -> break
    od;
    assert(sleepers == waiting)
  }
}

init {
  atomic {
    run Waiter(0);
    run Waiter(1);
    run Waiter(2);
    run Notifier()
  }
}
