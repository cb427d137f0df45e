/* Promela model of mpsync::Barrier's generation protocol (runtime/barrier.cpp), for spin.
 *
 * WHAT IS MODELLED (the same 64-bit word and the same steps as the C++)
 *   ph        the phase half, bit for bit as in the C++: G << 18 | ENDED_BY_RESET (bits 2-17) |
 *             W (bit 1) | BROKEN (bit 0); the futex word
 *   a         the arrived half
 *   (ph, a) together are the 64-bit state_: every CAS compares and swaps both in one step.
 *   asleep[i] the kernel's futex queue on the phase half
 * Processes: NT party threads on a barrier of P parties, each making CYCLES wait() calls (the
 * threads in the TIMED bitmask have a finite timeout); a controller making up to NCTL calls of
 * reset() or abort() (each chosen nondeterministically, at any moment, or none); a quiescence
 * monitor. The action is the last arriver's step B_action; with -DACTFAIL it may fail.
 *
 * THE FUTEX: FUTEX_WAIT(phase, v) is one atomic step: phase == v ? enqueue and block : EAGAIN. A
 * queued thread leaves when a wake dequeues it, or (TIMED) by itself at any moment (ETIMEDOUT,
 * after which its deadline has passed for good), or with -DINTR by a signal the interrupt check
 * says stop on, or with -DSPURIOUS spuriously. FUTEX_WAKE(all) dequeues every queued thread.
 * detail::expired(d) of a TIMED thread is a nondeterministic choice that, once true, stays true.
 *
 * GRANULARITY AND MEMORY ORDER: every atomic load, CAS and fetch_or of the C++ is one Promela step
 * (a failed CAS returns the current value, as __atomic_compare_exchange does); the futex calls are
 * one step each. The model is sequentially consistent; the C++ header argues the orderings (the
 * arrive CAS is acq_rel, the completing CAS release, the waiters' loads acquire; the futex compare
 * is atomic with the enqueue under the kernel's bucket lock).
 * Not modelled: the 14-bit G wrap-around and ENDED_BY_RESET reuse after 16 generations (needs
 * thousands of generations, or 16 ending while one thread sleeps: more threads than this model
 * has), the deadline beyond the kernel cap, dead threads (a dead party never arrives: tested in
 * tests/), parties == 0 / ECORRUPT.
 *
 * PROPERTIES (ghost arrays indexed by generation, updated in the step they shadow)
 *   arrmask[g] (who arrived), actions[g], fate[g] (OPEN / COMPLETED / RESET), brk[g] (BROKEN
 *   was set during g), idxseen[g]; cleared by gc() once g can no longer be looked at
 *   Q1 lock-step (B1): an OK return from g only after all P arrivals of g, and a thread arrives
 *      at most once per generation; with NT == P this is "nobody passes wait k+1 before all passed
 *      wait k".
 *   Q2 action (B3): runs exactly once per generation, after the P-th arrival, before any OK.
 *   Q3 indexes (B2): the OK returns of a generation have distinct indexes, the last arriver P-1.
 *   Q4 fate (B4-B6, and the generation record): a thread that arrived in g returns OK iff g
 *      completed, BROKEN only if g was reset or broken (timeout, interrupt, failed action,
 *      abort) — so reset gives BROKEN to exactly the threads of that generation, and a thread
 *      that wakes late (after reset and further generations) still reads its own g's fate.
 *   Q5 no lost wake-up / no deadlock: when nothing can move (spin's `timeout`), every thread
 *      still inside wait() is asleep in the futex queue in the CURRENT generation, which is not
 *      broken, has fate OPEN, and has a == (number of sleepers) < P (a broken barrier has no
 *      sleepers at all): nobody sleeps through a phase change. Plus spin's invalid-end-state check (end_B_sleep is the only valid place).
 *   Q6 a thread that is no party of generation g (it found a == P: g's action running) never
 *      breaks g: it gives up (BROKEN/INTERRUPTED) without touching the word, or arrives in g+1.
 *      (Structural: that branch has no break_gen; Q4 checks the parties of g get g's fate.)
 *   -DPY_STRICT (a probe, not run in CI, expected to FAIL): CPython's stronger rule that once all
 *      P parties arrived, a party's timeout cannot break the cycle (Python runs arrival, action
 *      and release under one lock). The C++ lets a party whose deadline passes while the action
 *      runs break g; spin shows the interleaving.
 *
 * MUTANTS (each must make spin report an error; scripts/model.sh checks that it does)
 *   -DMUT_NO_RECORD     a thread whose generation moved returns OK without reading ENDED_BY_RESET
 *                       (the bug fixed in 387c1cb): Q4
 *   -DMUT_NO_W          sleep_on parks without setting W, so completions skip the wake: Q5
 *   -DMUT_RESET_NO_WAKE reset() moves the generation but does not wake: Q5
 *
 * MAP TO THE C++ (runtime/barrier.cpp has the reverse map, "Model: fuzz/model/barrier.pml")
 *   B_load      wait_status: s = load(state_, acquire)
 *   B_arrive    wait_status arrive loop: BROKEN? a > P? a == P? a + 1 == P?
 *   B_drain     a == P branch: expired -> s = load(state_); still G's action -> BROKEN (G
 *               untouched), else re-decide; sleep_on (interrupted -> INTERRUPTED); s = load
 *   B_last      last arriver: cas(state_, s, pack(ph, P))
 *   B_action    action(ctx)
 *   B_cur       cur = load(state_)
 *   B_turn      do { moved/broken? -> BROKEN; next = ... } while (!cas(state_, cur, next))
 *   B_wake      if (hi(cur) & kW) wake_all
 *   B_join      cas(state_, s, s + 1)
 *   B_loop      wait loop: s = load(state_); generation moved -> ended_bit(ph)? BROKEN : OK;
 *               BROKEN -> BROKEN; expired -> break_gen; sleep_on; interrupted -> break_gen
 *   G_load/G_cas/G_wake   break_gen(): load, the CAS loop setting BROKEN and dropping W, wake
 *   S_cas       sleep_on(): cas(state_, s, s | W << 32); failure -> return woken
 *   S_park      sleep_on() -> park(): futex_wait(phase, hi(s)) compare-and-enqueue
 *   end_B_sleep park(): blocked in the kernel
 *   C_rload/C_rcas/C_rwake   reset(): load, the CAS loop to next_phase(ph, true), wake if W
 *   C_abort/C_awake          abort(): fetch_or(BROKEN), wake if W
 */

#ifndef P
#define P 3             /* parties */
#endif
#define NT 3            /* party threads (wake_all, gc and init are written for 3) */
#ifndef CYCLES
#define CYCLES 2        /* wait() calls per thread */
#endif
#ifndef TIMED
#define TIMED 4         /* bitmask of threads with a finite timeout: thread 2 */
#endif
#ifndef NCTL
#define NCTL 1          /* reset()/abort() calls by the controller (0..NCTL, each either) */
#endif
#define MAXG 8          /* generations tracked by the ghost arrays */

#define kBroken 1
#define kW 2
#define kGen (1 << 18)
#define kGenMask (~(kGen - 1))
#define kEnded (65535 << 2)
#define GENF(p) ((p) >> 18)
#define ENDED_BIT(p) (4 << (((p) >> 18) & 15))
#define NEXT_PHASE(p, r) ((((p) & kGenMask) + kGen) | ((r) -> (((p) & kEnded) | ENDED_BIT(p)) : (((p) & kEnded) & ~ENDED_BIT(p))))

mtype = { WOKEN, SLEPT, TIMEDOUT, INTERRUPTED, OK, BROKEN, NONE };
#define OPEN 0
#define COMPLETED 1
#define RESET 2

int ph = 0;
byte a = 0;
bool asleep[NT];

/* ghost */
byte arrmask[MAXG];          /* which threads arrived in generation g */
byte actions[MAXG], fate[MAXG], idxseen[MAXG];
bool brk[MAXG];
byte ingen[NT];              /* generation the thread arrived in, while inside that wait; else 255 */
bool injoin[NT];             /* asleep in the wait loop (not the a == P branch) */
#define ARR(g) ((arrmask[g] & 1) + ((arrmask[g] >> 1) & 1) + ((arrmask[g] >> 2) & 1))

/* Forget the ghost record of generation g once nobody can look at it again (the generation has
 * moved and no thread is still inside a wait that arrived in it): keeps histories that differ
 * only in dead ghost values from multiplying the state space. */
inline gc(g) {
  if
  :: GENF(ph) != g && ingen[0] != g && ingen[1] != g && ingen[2] != g ->
     arrmask[g] = 0; actions[g] = 0; fate[g] = OPEN; idxseen[g] = 0; brk[g] = false
  :: else
  fi
}

/* Q1: a thread arrives at most once per generation (and P arrivals at most). */
inline arrive_ghost(g) {
  assert(g < MAXG && ((arrmask[g] >> me) & 1) == 0 && ARR(g) < P);
  arrmask[g] = arrmask[g] | (1 << me);
  ingen[me] = g
}

inline wake_all() {
  atomic { asleep[0] = false; asleep[1] = false; asleep[2] = false }
}

/* detail::expired(d): a TIMED thread's deadline may pass at any check; it stays passed. */
inline check_expired() {
  if
  :: timed && !exp -> exp = true
  :: true
  fi
}

/* The return checks Q1-Q4 for a thread that arrived in generation g, made in the same atomic
 * step as the load or CAS that decides its result `ret`. */
inline ret_ghost() {
  if
  :: ret == OK ->
     assert(fate[g] == COMPLETED && ARR(g) == P && actions[g] == 1);   /* Q1, Q2, Q4 */
     assert(((idxseen[g] >> idx) & 1) == 0);                            /* Q3 */
     idxseen[g] = idxseen[g] | (1 << idx)
  :: ret == BROKEN -> assert(fate[g] != COMPLETED && (fate[g] == RESET || brk[g]))   /* Q4 */
  :: ret == INTERRUPTED -> assert(brk[g])
  fi;
  ingen[me] = 255;
  gc(g)
}

/* break_gen(state, g): set BROKEN (dropping W) if still in generation g; res = success.
 * Steps: G_load, G_cas (loop), G_wake. `arrived`: the caller arrived in g (its return is
 * decided by the successful CAS: ret must be preset). */
inline break_gen(bg, res, arrived) {
  atomic { c_ph = ph; c_a = a }                            /* G_load */
  do
  :: GENF(c_ph) != bg -> res = false; break
  :: else ->
     atomic {                                              /* G_cas */
       if
       :: ph == c_ph && a == c_a ->
          ph = (c_ph | kBroken) & ~kW; brk[bg] = true; res = true;
#ifdef PY_STRICT
          assert(c_a < P);            /* CPython: a party's timeout cannot break a full cycle */
#endif
          if
          :: arrived -> ret_ghost()
          :: else
          fi
       :: else -> c_ph = ph; c_a = a; res = false
       fi
     }
     if
     :: res -> break
     :: else
     fi
  od;
  if                                                       /* G_wake */
  :: res && (c_ph & kW) != 0 -> wake_all()
  :: else
  fi;
  c_ph = 0; c_a = 0
}

/* sleep_on(state, s): set W if needed (a CAS on the whole word), then park(): the futex
 * compare-and-enqueue. pr = SLEPT when queued (the caller then blocks in park_block), WOKEN
 * when the CAS or the compare failed (both: "re-check"). Steps: S_cas, S_park. */
inline sleep_on_enqueue() {
  pr = WOKEN;
#ifdef MUT_NO_W
  e_ph = s_ph; ok = true;
#else
  if
  :: (s_ph & kW) == 0 ->
     atomic {                                              /* S_cas */
       if
       :: ph == s_ph && a == s_a -> ph = s_ph | kW; e_ph = s_ph | kW; ok = true
       :: else -> ok = false
       fi
     }
  :: else -> e_ph = s_ph; ok = true
  fi;
#endif
  if
  :: ok ->
     atomic {                                              /* S_park */
       if
       :: ph == e_ph -> asleep[me] = true; injoin[me] = join; pr = SLEPT
       :: else -> pr = WOKEN                               /* EAGAIN */
       fi
     }
  :: else
  fi;
  e_ph = 0
}

/* Blocked in the kernel until dequeued by a wake, timed out, interrupted or spuriously woken. */
inline park_block() {
  if
  :: atomic { !asleep[me] -> pr = WOKEN; injoin[me] = false }
  :: atomic { timed && asleep[me] -> asleep[me] = false; injoin[me] = false; pr = TIMEDOUT; exp = true }
#ifdef INTR
  :: atomic { timed && asleep[me] -> asleep[me] = false; injoin[me] = false; pr = INTERRUPTED }
#endif
#ifdef SPURIOUS
  :: atomic { asleep[me] -> asleep[me] = false; injoin[me] = false; pr = WOKEN }
#endif
  fi
}

proctype Party(byte me) {
  int s_ph, c_ph, e_ph, arr_ph;
  byte s_a, c_a, g, idx, cyc = 0;
  bool exp, ok, res, rc, join;
  mtype pr = NONE, ret = NONE;
  bool timed = ((TIMED >> me) & 1) != 0;

next_wait:
B_load:
  atomic { exp = false; s_ph = ph; s_a = a }
B_arrive:
  assert(s_a <= P);                                        /* a > P: ECORRUPT, unreachable */
  if
  :: (s_ph & kBroken) != 0 -> ret = BROKEN; goto B_done
  :: else
  fi;
  if
  :: s_a == P ->                                           /* the action is running */
B_drain:                                                   /* not a party of this generation */
     arr_ph = s_ph;
     check_expired();
     if
     :: exp ->                                             /* give up without touching G */
        atomic {
          s_ph = ph; s_a = a;
          if
          :: GENF(s_ph) == GENF(arr_ph) && s_a == P && (s_ph & kBroken) == 0 -> ret = BROKEN
          :: else
          fi
        }
        if
        :: ret != NONE -> goto B_done
        :: else -> arr_ph = 0; goto B_arrive
        fi
     :: else ->
        join = false;
        sleep_on_enqueue();
        if
        :: pr == SLEPT -> park_block()
        :: else
        fi;
        if
        :: pr == INTERRUPTED -> ret = INTERRUPTED; goto B_done
        :: else
        fi
     fi;
     atomic { s_ph = ph; s_a = a; pr = NONE; res = false; arr_ph = 0 }
     goto B_arrive
  :: s_a + 1 == P ->                                       /* the last arriver */
B_last:
     atomic {
       if
       :: ph == s_ph && a == s_a ->
          a = P; ok = true;
          g = GENF(s_ph); arrive_ghost(g);
          /* B_action: the action runs here (user code, no shared word of ours) */
          assert(ARR(g) == P && actions[g] == 0);           /* Q2 */
          actions[g] = 1;
          rc = false;
#ifdef ACTFAIL
          if
          :: rc = true
          :: true
          fi
#endif
       :: else -> s_ph = ph; s_a = a; ok = false
       fi
     }
     if
     :: !ok -> goto B_arrive
     :: else
     fi;
B_cur:
     atomic {
       c_ph = ph; c_a = a;
       if
       :: GENF(c_ph) != g || (c_ph & kBroken) != 0 -> ret = BROKEN; ret_ghost()
       :: else
       fi
     }
     if
     :: ret != NONE -> goto B_done
     :: else
     fi;
B_turn:
     atomic {
       if
       :: ph == c_ph && a == c_a ->
          if
          :: rc -> ph = (c_ph | kBroken) & ~kW; brk[g] = true; ret = BROKEN
          :: else -> ph = NEXT_PHASE(s_ph, false); a = 0; assert(fate[g] == OPEN); fate[g] = COMPLETED;
                     ret = OK; idx = P - 1
          fi;
          ok = true;
          ret_ghost()
       :: else ->
          c_ph = ph; c_a = a; ok = false;
          if
          :: GENF(c_ph) != g || (c_ph & kBroken) != 0 -> ret = BROKEN; ret_ghost()
          :: else
          fi
       fi
     }
     if
     :: !ok && ret == NONE -> goto B_turn
     :: !ok && ret != NONE -> goto B_done
     :: else
     fi;
B_wake:
     if
     :: (c_ph & kW) != 0 -> wake_all()
     :: else
     fi;
     goto B_done
  :: s_a + 1 < P ->                                        /* an arrival that waits */
B_join:
     atomic {
       if
       :: ph == s_ph && a == s_a ->
          a = s_a + 1; ok = true;
          g = GENF(s_ph); arrive_ghost(g);
          idx = s_a; arr_ph = s_ph
       :: else -> s_ph = ph; s_a = a; ok = false
       fi
     }
     if
     :: !ok -> goto B_arrive
     :: else
     fi;
B_loop:
     atomic {
       s_ph = ph; s_a = a; pr = NONE; res = false;
       if
       :: GENF(s_ph) != g ->                               /* how did my generation end? */
#ifdef MUT_NO_RECORD
          ret = OK;
#else
          if
          :: (s_ph & ENDED_BIT(arr_ph)) != 0 -> ret = BROKEN
          :: else -> ret = OK
          fi;
#endif
          ret_ghost()
       :: GENF(s_ph) == g && (s_ph & kBroken) != 0 -> ret = BROKEN; ret_ghost()
       :: else
       fi
     }
     if
     :: ret != NONE -> goto B_done
     :: else
     fi;
     check_expired();
     if
     :: exp ->
        ret = BROKEN;
        break_gen(g, res, true);
        if
        :: res -> goto B_done
        :: else -> ret = NONE; goto B_loop                 /* the generation moved just now */
        fi
     :: else
     fi;
     join = true;
     sleep_on_enqueue();
     if
     :: pr == SLEPT ->
end_B_sleep:
        park_block()
     :: else
     fi;
     if
     :: pr == INTERRUPTED ->
        ret = INTERRUPTED;
        break_gen(g, res, true);
        if
        :: res -> goto B_done
        :: else -> ret = NONE
        fi
     :: else
     fi;
     goto B_loop
  fi;
B_done:
  atomic {
    join = false; s_ph = 0; s_a = 0; c_ph = 0; c_a = 0; arr_ph = 0; g = 0; idx = 0; ok = false;
    res = false; rc = false; pr = NONE; ret = NONE; exp = false;
    cyc++
  }
  if
  :: cyc < CYCLES -> goto next_wait
  :: else
  fi
}

proctype Ctl() {
  int o_ph;
  byte o_a, n = 0;
  bool ok;
  do
  :: n < NCTL ->
     if
     :: true ->                                            /* reset() */
C_rload: atomic { o_ph = ph; o_a = a }
C_rcas:  do
         :: atomic {
              if
              :: ph == o_ph && a == o_a ->
                 ph = NEXT_PHASE(o_ph, true); a = 0; ok = true;
                 assert(GENF(o_ph) + 1 < MAXG && fate[GENF(o_ph)] == OPEN);
                 fate[GENF(o_ph)] = RESET;
                 gc(GENF(o_ph))
              :: else -> o_ph = ph; o_a = a; ok = false
              fi
            }
            if
            :: ok -> break
            :: else
            fi
         od;
C_rwake:
#ifdef MUT_RESET_NO_WAKE
         skip
#else
         if
         :: (o_ph & kW) != 0 -> wake_all()
         :: else
         fi
#endif
     :: true ->                                            /* abort() */
C_abort: atomic { o_ph = ph; ph = ph | kBroken; brk[GENF(o_ph)] = true }
C_awake: if
         :: (o_ph & kW) != 0 -> wake_all()
         :: else
         fi
     fi;
     atomic { o_ph = 0; o_a = 0; ok = false; n++ }
  :: true -> break
  od
}

/* Q5: when nothing can move, every thread still inside wait() sleeps in the current, open,
 * unbroken generation, and they are exactly its arrivals. (A thread blocked anywhere else, or
 * the controller, is an invalid end state: spin reports it by itself.) */
active proctype Quiescence() {
  byte i = 0, n = 0;
  timeout ->
  atomic {
    do
    :: i < NT ->
       if
       :: asleep[i] -> assert(injoin[i] && ingen[i] == GENF(ph)); n++
       :: else
       fi;
       i++
    :: else -> break
    od;
    if
    :: (ph & kBroken) != 0 -> assert(n == 0)               /* broken: everyone left */
    :: else -> assert(n == a && a < P && fate[GENF(ph)] == OPEN)
    fi
  }
}

init {
  atomic {
    ingen[0] = 255; ingen[1] = 255; ingen[2] = 255;
    run Party(0);
    run Party(1);
    run Party(2);
    run Ctl()
  }
}
