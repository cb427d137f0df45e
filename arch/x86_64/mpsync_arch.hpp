// mpsync arch layer, x86_64.
// - cpu_relax: `pause` — tells the core this is a spin-wait (saves power, avoids the memory-order
//   machine clear when the awaited line changes, yields the pipeline to the SMT sibling).
// - Atomics: the generic __atomic builtins are already optimal on x86-TSO: CAS is `lock cmpxchg`,
//   exchange is `xchg`, fetch_add is `lock xadd`, acquire loads and release stores are plain `mov`.
//   Nothing here to override.
#ifndef MPSYNC_ARCH_HPP
#define MPSYNC_ARCH_HPP
#include "mpsync_arch_generic.hpp"
namespace mpsync::arch {
inline constexpr const char *isa = "x86_64";
inline constexpr std::size_t cache_line = 64;
inline void cpu_relax() noexcept { __builtin_ia32_pause(); }
}  // namespace mpsync::arch
#endif
