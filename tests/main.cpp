// The one test binary's main (tests/meson.build links every test file into mpsync_tests). Each
// meson test runs it with --file=SOURCE and gets exactly that file's tests, in a process of its
// own as before: the filter is built from each test's source file as GoogleTest recorded it.
// Without --file every test runs. Other arguments go to GoogleTest; --gtest_filter with --file
// runs the file's tests that the filter also selects.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

// GoogleTest's pattern syntax: '*' and '?' globs separated by ':', negatives after a '-'.
bool glob(const char *p, const char *s) {
  if (*p == '\0' || *p == ':') return *s == '\0';
  if (*p == '*') return glob(p + 1, s) || (*s && glob(p, s + 1));
  return *s && (*p == '?' || *p == *s) && glob(p + 1, s + 1);
}
bool any(const std::string &patterns, const std::string &name) {
  for (std::size_t at = 0; at <= patterns.size();) {
    const std::size_t end = patterns.find(':', at);
    if (glob(patterns.c_str() + at, name.c_str())) return true;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return false;
}
bool selected(const std::string &name, const std::string &filter) {
  const std::size_t dash = filter.find('-');
  const std::string pos = filter.substr(0, dash), neg = dash == std::string::npos ? "" : filter.substr(dash + 1);
  return (pos.empty() || any(pos, name)) && (neg.empty() || !any(neg, name));
}

}  // namespace

int main(int argc, char **argv) {
  std::string file;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--file=", 7) == 0) file = argv[i] + 7;
    else argv[out++] = argv[i];
  }
  argc = out;
  testing::InitGoogleTest(&argc, argv);
  if (!file.empty()) {
    const std::string given = GTEST_FLAG_GET(filter);
    const std::string user_filter = given == "*" ? "" : given;  // --gtest_filter narrows --file
    std::string names;
    const testing::UnitTest &u = *testing::UnitTest::GetInstance();
    for (int s = 0; s < u.total_test_suite_count(); ++s) {
      const testing::TestSuite &ts = *u.GetTestSuite(s);
      for (int t = 0; t < ts.total_test_count(); ++t) {
        const testing::TestInfo &ti = *ts.GetTestInfo(t);
        const std::string f = ti.file();
        const std::string full = std::string(ts.name()) + "." + ti.name();
        if (!user_filter.empty() && !selected(full, user_filter)) continue;
        if (f.size() >= file.size() && f.compare(f.size() - file.size(), file.size(), file) == 0 &&
            (f.size() == file.size() || f[f.size() - file.size() - 1] == '/'))
          names += (names.empty() ? "" : ":") + full;
      }
    }
    if (names.empty()) {
      std::fprintf(stderr, "no tests from %s\n", file.c_str());
      return 1;
    }
    GTEST_FLAG_SET(filter, names);
  }
  return RUN_ALL_TESTS();
}
