// mpsync arch layer, aarch64.
// - cpu_relax: `yield` — the architectural spin-wait hint (on most cores a nop that lets an SMT
//   sibling run; cheaper than `isb`, which some runtimes use to stall longer per iteration).
// - Atomics: with -march=armv8.1-a or later GCC/Clang emit LSE instructions (cas, swp, ldadd,
//   ldset, ldclr) for the __atomic builtins, and LDXR/STXR loops (or outline-atomics helpers that
//   pick LSE at run time, Debian's default) otherwise. Acquire/release loads and stores map to
//   ldar/stlr. The generic builtins are what a hand-written version would be: nothing to override.
// - Cache line: 64 bytes on the cores Debian targets (Neoverse, Cortex-A7x); Apple M-series use
//   128, so false-sharing padding in bench/ should not rely on this for correctness.
#ifndef MPSYNC_ARCH_HPP
#define MPSYNC_ARCH_HPP
#include "mpsync_arch_generic.hpp"
namespace mpsync::arch {
inline constexpr const char *isa = "aarch64";
inline constexpr std::size_t cache_line = 64;
inline void cpu_relax() noexcept { __asm__ __volatile__("yield" ::: "memory"); }
}  // namespace mpsync::arch
#endif
