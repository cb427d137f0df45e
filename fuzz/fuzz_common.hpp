// Shared pieces of the libFuzzer harnesses: a deterministic input reader, checks that abort (so
// libFuzzer records the input as a crash), a monotonic clock and status names.
#ifndef MPSYNC_FUZZ_COMMON_HPP
#define MPSYNC_FUZZ_COMMON_HPP

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>

#include "mpsync/mpsync.hpp"

namespace fz {

// Reads the input front to back; past its end every read returns 0 (deterministic decoding).
struct input {
  const std::uint8_t *p;
  std::size_t n, i = 0;
  input(const std::uint8_t *d, std::size_t len) : p(d), n(len) {}
  bool empty() const { return i >= n; }
  std::size_t left() const { return i < n ? n - i : 0; }
  std::uint8_t u8() { return i < n ? p[i++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() { return u16() | (std::uint32_t{u16()} << 16); }
  std::uint64_t u64() { return u32() | (std::uint64_t{u32()} << 32); }
  void bytes(void *dst, std::size_t len) {
    auto *d = static_cast<std::uint8_t *>(dst);
    for (std::size_t k = 0; k < len; ++k) d[k] = u8();
  }
  double raw_double() {
    const std::uint64_t b = u64();
    double x;
    std::memcpy(&x, &b, sizeof x);
    return x;
  }
};

inline double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// How late a call may return past its deadline before it counts as a finding. Generous: two
// shared cores, sanitizers, the sleep-loop backend's 1 ms naps and preemption all add up.
inline constexpr double kSlack = 1.0;
// How long a call the model says must complete may take.
inline constexpr double kPrompt = 5.0;

inline const char *name(int s) {
  switch (s) {
    case MPSYNC_OK: return "OK";
    case MPSYNC_TIMEDOUT: return "TIMEDOUT";
    case MPSYNC_OWNER_DEAD: return "OWNER_DEAD";
    case MPSYNC_BROKEN: return "BROKEN";
    case MPSYNC_INTERRUPTED: return "INTERRUPTED";
    case MPSYNC_EINVAL: return "EINVAL";
    case MPSYNC_ENOTOWNER: return "ENOTOWNER";
    case MPSYNC_EOVERRELEASE: return "EOVERRELEASE";
    case MPSYNC_EOVERFLOW: return "EOVERFLOW";
    case MPSYNC_ECORRUPT: return "ECORRUPT";
    case MPSYNC_ENOTSUP: return "ENOTSUP";
    case MPSYNC_ESYS: return "ESYS";
    default: return "?";
  }
}
inline const char *name(mpsync::status s) { return name(static_cast<int>(s)); }
inline int num(mpsync::status s) { return static_cast<int>(s); }

}  // namespace fz

// A violated invariant: print it and abort, so libFuzzer saves the input as a crash.
#define FZ_CHECK(cond, ...)                                                         \
  do {                                                                              \
    if (__builtin_expect(!(cond), 0)) {                                             \
      std::fprintf(stderr, "%s:%d: FUZZ CHECK FAILED: %s\n  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                            \
      std::fprintf(stderr, "\n");                                                   \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

// Expect status `got` == `want` (both int or mpsync::status).
#define FZ_EXPECT(what, got, want)                                                               \
  do {                                                                                           \
    const int g_ = static_cast<int>(got), w_ = static_cast<int>(want);                           \
    FZ_CHECK(g_ == w_, "%s: got %s (%d), the model says %s (%d)", what, fz::name(g_), g_, fz::name(w_), w_); \
  } while (0)

#endif
