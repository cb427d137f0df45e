// mpsync::Region — shared memory to put mpsync objects (and your data) in.
//   Region::anonymous(n)        MAP_SHARED|MAP_ANONYMOUS: inherited by fork() children
//   Region::memfd(n)            memfd: send fd() to an unrelated process (send_fd/recv_fd, SCM_RIGHTS)
//   Region::create_named(s, n)  shm_open(O_CREAT|O_EXCL, 0600); Region::open_named(s) verifies the
//                               size and header before touching the memory (no SIGBUS on a short file)
// The region begins with a header (magic, size, bump pointer), a directory of names and a table of
// blocked waiters (layout: runtime/region_layout.hpp); make<T>() places objects after them with an
// allocation that is atomic across processes and records each allocation's kind. Objects are found
// in another process by offset (offset_of / at<T>), since each process may map the region at a
// different address — or by name: make_named<T>(name, ...), find<T>(name), find_or_make<T>(...).
// mpsync-inspect (tools/inspect) reads all of it from outside: who holds what, who waits for whom.
#ifndef MPSYNC_REGION_HPP
#define MPSYNC_REGION_HPP

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "status.hpp"

struct mpsync_region {  // the process-local handle behind mpsync_region_t
  void *base = nullptr;
  std::uint64_t size = 0;
  int fd = -1;
};

namespace mpsync {

class Lock;
class RLock;
class Semaphore;
class BoundedSemaphore;
class Event;
class Condition;
class Barrier;

// The directory kind of T (MPSYNC_OBJ_*), or 0 for a type that is not an mpsync primitive.
template <class T>
inline constexpr int object_kind_of =
    std::is_same_v<T, Lock> ? MPSYNC_OBJ_LOCK : std::is_same_v<T, RLock> ? MPSYNC_OBJ_RLOCK
    : std::is_same_v<T, Semaphore> || std::is_same_v<T, BoundedSemaphore> ? MPSYNC_OBJ_SEM
    : std::is_same_v<T, Event> ? MPSYNC_OBJ_EVENT : std::is_same_v<T, Condition> ? MPSYNC_OBJ_COND
    : std::is_same_v<T, Barrier> ? MPSYNC_OBJ_BARRIER : 0;

class Region {
 public:
  static Region anonymous(std::uint64_t size);
  static Region memfd(std::uint64_t size);
  static Region create_named(const std::string &name, std::uint64_t size);
  static Region open_named(const std::string &name);
  static Region from_fd(int fd);  // takes ownership of fd
  static void unlink_named(const std::string &name) noexcept;

  Region() noexcept = default;
  Region(Region &&o) noexcept : h_(std::exchange(o.h_, {})) {}
  Region &operator=(Region &&o) noexcept {
    if (this != &o) {
      close();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~Region() { close(); }

  // Construct a T in the region (atomic bump allocation, shared by every process). Throws
  // std::bad_alloc when the region is full.
  template <class T, class... A>
  T *make(A &&...args) {
    void *p = alloc_object(sizeof(T), alignof(T), object_kind_of<T> ? object_kind_of<T> : kDataKind);
    if (!p) throw std::bad_alloc();
    return ::new (p) T(std::forward<A>(args)...);
  }
  void *alloc(std::uint64_t size, std::uint64_t align) noexcept;  // raw bytes; nullptr when full
  // alloc() recording the kind the inspector shows (MPSYNC_OBJ_*, kDataKind, 0 = raw bytes).
  void *alloc_object(std::uint64_t size, std::uint64_t align, unsigned kind) noexcept;
  static constexpr unsigned kDataKind = 0x7f;

  // ---- named objects (runtime/region_names.cpp). Names are 1..MPSYNC_NAME_MAX bytes, no NUL.
  // make_named: construct a T and name it; mpsync::name_taken if the name exists (the T stays
  // allocated, unnamed), mpsync::overflow when the directory is full.
  template <class T, class... A>
  T *make_named(std::string_view name, A &&...args) {
    static_assert(object_kind_of<T> != 0, "only mpsync primitives can be named");
    T *p = make<T>(std::forward<A>(args)...);
    detail::check(name_object(name, object_kind_of<T>, p));
    return p;
  }
  // find: the named T, or nullptr; mpsync::invalid_argument if the name holds another kind.
  template <class T>
  T *find(std::string_view name) const {
    static_assert(object_kind_of<T> != 0, "only mpsync primitives can be named");
    int kind = 0;
    void *p = find_object(name, &kind);
    if (p && kind != object_kind_of<T>) detail::fail(status::invalid);
    return static_cast<T *>(p);
  }
  // find_or_make: the named T, constructed by exactly one of the racing callers (in any process);
  // the others wait until it is constructed. If the constructor throws, the name stays free and
  // the exception propagates; a constructor that dies mid-way is detected and another caller
  // constructs anew.
  template <class T, class... A>
  T *find_or_make(std::string_view name, A &&...args) {
    static_assert(object_kind_of<T> != 0, "only mpsync primitives can be named");
    auto build = [&](void *where) { ::new (where) T(std::forward<A>(args)...); };
    using B = decltype(build);
    int kind = 0;
    void *p = find_or_make_object(name, object_kind_of<T>, sizeof(T), alignof(T),
                                  [](void *where, void *ctx) { (*static_cast<B *>(ctx))(where); }, &build, &kind);
    if (kind != object_kind_of<T>) detail::fail(status::invalid);
    return static_cast<T *>(p);
  }
  status name_object(std::string_view name, int kind, const void *object) noexcept;
  void *find_object(std::string_view name, int *kind) const noexcept;
  // Throws bad_alloc (region full), overflow (directory full), invalid_argument (bad name);
  // `kind` receives the kind found (a mismatch is the caller's to report).
  void *find_or_make_object(std::string_view name, int kind, std::uint64_t size, std::uint64_t align,
                            void (*construct)(void *where, void *ctx), void *ctx, int *found_kind);
  template <class T>
  T *at(std::uint64_t offset) const noexcept { return static_cast<T *>(at_offset(offset)); }
  void *at_offset(std::uint64_t offset) const noexcept;
  std::uint64_t offset_of(const void *p) const noexcept;

  void *base() const noexcept { return h_.base; }
  std::uint64_t size() const noexcept { return h_.size; }
  int fd() const noexcept { return h_.fd; }  // -1 for anonymous regions
  explicit operator bool() const noexcept { return h_.base != nullptr; }
  void close() noexcept;

  // Pass an fd to another process over a connected AF_UNIX socket.
  static status send_fd(int unix_socket, int fd) noexcept;
  static status recv_fd(int unix_socket, int &fd) noexcept;

  // The C handle (mpsync_region_t) is the same state; these move it in and out.
  explicit Region(const mpsync_region &h) noexcept : h_(h) {}
  mpsync_region release_handle() noexcept { return std::exchange(h_, {}); }

 private:
  mpsync_region h_;
};

}  // namespace mpsync

#endif
