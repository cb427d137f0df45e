// mpsync arch layer for ISAs without a folder of their own: everything generic.
#ifndef MPSYNC_ARCH_HPP
#define MPSYNC_ARCH_HPP
#include "mpsync_arch_generic.hpp"
namespace mpsync::arch {
inline constexpr const char *isa = "generic";
using generic::cache_line;
using generic::cpu_relax;
}  // namespace mpsync::arch
#endif
