// mpsync::Region — shared memory to put mpsync objects (and your data) in.
//   Region::anonymous(n)        MAP_SHARED|MAP_ANONYMOUS: inherited by fork() children
//   Region::memfd(n)            memfd: send fd() to an unrelated process (send_fd/recv_fd, SCM_RIGHTS)
//   Region::create_named(s, n)  shm_open(O_CREAT|O_EXCL, 0600); Region::open_named(s) verifies the
//                               size and header before touching the memory (no SIGBUS on a short file)
// The region begins with a small header (magic, size, bump pointer); make<T>() places objects after
// it with an allocation that is atomic across processes. Objects are found in another process by
// offset (offset_of / at<T>), since each process may map the region at a different address.
#ifndef MPSYNC_REGION_HPP
#define MPSYNC_REGION_HPP

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include "status.hpp"

struct mpsync_region {  // the process-local handle behind mpsync_region_t
  void *base = nullptr;
  std::uint64_t size = 0;
  int fd = -1;
};

namespace mpsync {

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
    void *p = alloc(sizeof(T), alignof(T));
    if (!p) throw std::bad_alloc();
    return ::new (p) T(std::forward<A>(args)...);
  }
  void *alloc(std::uint64_t size, std::uint64_t align) noexcept;  // nullptr when full
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
