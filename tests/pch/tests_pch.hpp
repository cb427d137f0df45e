// Precompiled header of the test binary (tests/meson.build, cpp_pch): what every test file parses
// first. Parsing GoogleTest and the harness once instead of once per file is most of a test build.
#include "../harness.hpp"
