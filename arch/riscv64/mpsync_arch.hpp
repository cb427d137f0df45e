// mpsync arch layer, riscv64.
// - cpu_relax: the Zihintpause `pause` hint, emitted as its raw encoding (0x0100000f, a FENCE
//   with pred=W, succ=0) so that assemblers without the extension accept it; on cores without
//   Zihintpause that encoding is a FENCE that orders nothing useful here and costs ~nothing: a nop.
// - Atomics: the A extension gives amoswap/amoadd/amoor/amoand with .aq/.rl bits for the
//   exchange and fetch_* builtins, and CAS becomes an lr/sc loop (Zacas is not in the Debian
//   baseline). GCC's builtins already produce exactly these sequences: nothing to override.
#ifndef MPSYNC_ARCH_HPP
#define MPSYNC_ARCH_HPP
#include "mpsync_arch_generic.hpp"
namespace mpsync::arch {
inline constexpr const char *isa = "riscv64";
inline constexpr std::size_t cache_line = 64;
inline void cpu_relax() noexcept { __asm__ __volatile__(".4byte 0x0100000f" ::: "memory"); }
}  // namespace mpsync::arch
#endif
