// Shared memory regions (with runtime/futex.cpp and runtime/waiters.cpp, the only syscalls):
// anonymous MAP_SHARED, memfd, and named POSIX shm. Every region starts with a header that the
// opener verifies before it touches anything else, so a short, foreign or half-created file is a
// clear error, never a SIGBUS. Allocation is a bump pointer in the header, advanced with a CAS:
// shared by every process. The layout (header, name directory, waiter table, allocation tags) and
// its invariants are in runtime/region_layout.hpp; names live in runtime/region_names.cpp.
//
// ALLOCATION (version 2)
//   start = used (a multiple of 8); the tag at start; the object at the first multiple of `align`
//   >= start + 16; used' = round8(object + size). One CAS on used reserves [start, used') for this
//   caller alone; the tag is written after it (kind | magic last, release), so a reader walking
//   the tags that meets a zero tag below `used` is looking at an allocation in progress and
//   retries. A version-0 region (made before tags existed) keeps the old untagged bump.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "mpsync/mpsync.hpp"
#include "region_layout.hpp"
#include "waiters.hpp"

namespace mpsync {
bool names_valid(const mpsync_region &h) noexcept;  // runtime/region_names.cpp

namespace {

using layout::header;

header *hdr(const mpsync_region &h) { return static_cast<header *>(h.base); }
// The largest region: past it every create is EINVAL, before any fd exists (fuzz/fuzz_capi found
// memfd/named creates answering ESYS from ftruncate instead; tests/test_fuzz_regress.cpp).
constexpr std::uint64_t kMaxRegionSize = std::uint64_t{1} << 46;

// Map `fd` (or anonymous memory when fd < 0) and, for a new region, write the header.
status map_region(int fd, std::uint64_t size, bool create, mpsync_region &out) {
  if (size < sizeof(header) || size > kMaxRegionSize) return status::invalid;
  void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, fd < 0 ? MAP_SHARED | MAP_ANONYMOUS : MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return status::system;
  out = {p, size, fd};
  header *H = hdr(out);
  if (create) {  // fresh memory is zero: the directory and the waiter table start empty
    H->size = size;
    H->used = sizeof(header);
    if (const std::uint32_t dc = layout::dir_cap_for(size), wc = layout::waiters_cap_for(size); dc && wc) {
      H->version = layout::kVersion;
      H->dir_cap = dc;
      H->dir_off = sizeof(header);
      H->waiters_cap = wc;
      H->waiters_off = H->dir_off + std::uint64_t{dc} * sizeof(layout::dir_entry);
      H->heap_off = H->waiters_off + std::uint64_t{wc} * sizeof(layout::waiter_slot);
      H->used = H->heap_off;
    }
    arch::store(&H->magic, layout::kMagic, arch::release);
  } else if (!layout::header_valid(*H, size) || !names_valid(out)) {
    munmap(p, size);
    out = {};
    return status::corrupt;
  }
  waiters::add_region(out);
  return status::ok;
}

// Verify an existing file before mapping it: size at least a header, header magic, size match.
status open_existing(int fd, mpsync_region &out) {
  struct stat sb;
  if (fstat(fd, &sb) != 0) return status::system;
  const auto fsize = static_cast<std::uint64_t>(sb.st_size);
  if (fsize < sizeof(header)) return status::corrupt;  // short, or still being created
  header h;
  if (pread(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) return status::corrupt;
  if (!layout::header_valid(h, fsize)) return status::corrupt;  // foreign, truncated or garbage
  return map_region(fd, fsize, false, out);
}

std::string shm_name(const std::string &name) { return name.empty() || name[0] != '/' ? "/" + name : name; }

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
Region must(status s, const mpsync_region &h, int fd_to_close = -1) {
  if (s == status::ok) return Region(h);
  const int e = errno;
  if (fd_to_close >= 0) ::close(fd_to_close);
  errno = e;
  throw_status(s);
}
#endif
}  // namespace

void *Region::alloc(std::uint64_t size, std::uint64_t align) noexcept { return alloc_object(size, align, layout::kRaw); }

void *Region::alloc_object(std::uint64_t size, std::uint64_t align, unsigned kind) noexcept {
  if (!h_.base || align == 0 || (align & (align - 1)) != 0) return nullptr;
  header *H = hdr(h_);
  const bool tagged = H->version == layout::kVersion;
  if (tagged && align > (std::uint64_t{1} << 31)) return nullptr;  // the tag's delta is 32 bits
  const std::uint64_t lead = tagged ? sizeof(layout::tag) : 0;
  std::uint64_t used = arch::load(&H->used, arch::relaxed), obj, end;
  do {
    const std::uint64_t start = tagged ? layout::round8(used) : used;
    obj = (start + lead + align - 1) & ~(align - 1);
    if (start < used || obj < start || obj > h_.size || size > h_.size - obj) return nullptr;
    end = tagged ? layout::round8(obj + size) : obj + size;
    if (end > h_.size) end = h_.size;
  } while (!arch::cas(&H->used, used, end, arch::acq_rel));
  char *base = static_cast<char *>(h_.base);
  if (tagged) {
    auto *t = reinterpret_cast<layout::tag *>(base + layout::round8(used));
    arch::store(&t->size, size, arch::relaxed);
    arch::store(&t->delta, static_cast<std::uint32_t>(obj - layout::round8(used)), arch::relaxed);
    arch::store(&t->magic_kind, layout::kTagMagic | (kind & 0xffffu), arch::release);
  }
  return base + obj;
}

void *Region::at_offset(std::uint64_t offset) const noexcept {
  return h_.base && offset >= layout::heap_start(*hdr(h_)) && offset < h_.size ? static_cast<char *>(h_.base) + offset : nullptr;
}

std::uint64_t Region::offset_of(const void *p) const noexcept {
  return static_cast<std::uint64_t>(static_cast<const char *>(p) - static_cast<const char *>(h_.base));
}

void Region::close() noexcept {
  if (h_.base) {
    waiters::remove_region(h_);
    munmap(h_.base, h_.size);
  }
  if (h_.fd >= 0) ::close(h_.fd);
  h_ = {};
}

void Region::unlink_named(const std::string &name) noexcept { shm_unlink(shm_name(name).c_str()); }

namespace {
// One data byte plus room for one SCM_RIGHTS descriptor: the message both ends exchange.
struct fd_message {
  char byte = 'F';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  fd_message() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
  }
};
}  // namespace

status Region::send_fd(int sock, int fd) noexcept {
  fd_message m;
  cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t r;
  do r = sendmsg(sock, &m.msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == 1 ? status::ok : status::system;
}

status Region::recv_fd(int sock, int &fd) noexcept {
  fd_message m;
  ssize_t r;
  do r = recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r != 1) return status::system;
  cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
    return status::invalid;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return status::ok;
}

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
Region Region::anonymous(std::uint64_t size) {
  mpsync_region h;
  return must(map_region(-1, size, true, h), h);
}
Region Region::memfd(std::uint64_t size) {
  if (size < sizeof(header) || size > kMaxRegionSize) throw_status(status::invalid);
  const int fd = memfd_create("mpsync", MFD_CLOEXEC);
  if (fd < 0) throw_status(status::system);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) must(status::system, {}, fd);
  mpsync_region h;
  return must(map_region(fd, size, true, h), h, fd);
}
Region Region::create_named(const std::string &name, std::uint64_t size) {
  if (size < sizeof(header) || size > kMaxRegionSize) throw_status(status::invalid);
  const int fd = shm_open(shm_name(name).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw_status(status::system);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    shm_unlink(shm_name(name).c_str());
    must(status::system, {}, fd);
  }
  mpsync_region h;
  return must(map_region(fd, size, true, h), h, fd);
}
Region Region::open_named(const std::string &name) {
  const int fd = shm_open(shm_name(name).c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) throw_status(status::system);
  mpsync_region h;
  return must(open_existing(fd, h), h, fd);
}
Region Region::from_fd(int fd) {
  mpsync_region h;
  return must(open_existing(fd, h), h, fd);
}
#endif

}  // namespace mpsync

// ---- the C functions ---------------------------------------------------------------------------
using mpsync::Region;
using mpsync::status;

namespace {
int give(mpsync_region_t **r, status s, const mpsync_region &h) {
  if (s != status::ok) return static_cast<int>(s);
  *r = new (std::nothrow) mpsync_region(h);
  if (!*r) {
    Region(h).close();
    return MPSYNC_ESYS;
  }
  return MPSYNC_OK;
}
}  // namespace

extern "C" {
int mpsync_region_create_anon(mpsync_region_t **r, uint64_t size) {
  if (!r) return MPSYNC_EINVAL;
  mpsync_region h;
  return give(r, mpsync::map_region(-1, size, true, h), h);
}
int mpsync_region_create_memfd(mpsync_region_t **r, uint64_t size) {
  if (!r || size < sizeof(mpsync::header) || size > mpsync::kMaxRegionSize) return MPSYNC_EINVAL;
  const int fd = memfd_create("mpsync", MFD_CLOEXEC);
  if (fd < 0) return MPSYNC_ESYS;
  mpsync_region h;
  status s = ftruncate(fd, static_cast<off_t>(size)) == 0 ? mpsync::map_region(fd, size, true, h) : status::system;
  if (s != status::ok) ::close(fd);
  return give(r, s, h);
}
int mpsync_region_create_named(mpsync_region_t **r, const char *name, uint64_t size) {
  if (!r || !name || size < sizeof(mpsync::header) || size > mpsync::kMaxRegionSize) return MPSYNC_EINVAL;
  const std::string n = mpsync::shm_name(name);
  const int fd = shm_open(n.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return MPSYNC_ESYS;
  mpsync_region h;
  status s = ftruncate(fd, static_cast<off_t>(size)) == 0 ? mpsync::map_region(fd, size, true, h) : status::system;
  if (s != status::ok) {
    ::close(fd);
    shm_unlink(n.c_str());
  }
  return give(r, s, h);
}
int mpsync_region_open_named(mpsync_region_t **r, const char *name) {
  if (!r || !name) return MPSYNC_EINVAL;
  const int fd = shm_open(mpsync::shm_name(name).c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return MPSYNC_ESYS;
  return mpsync_region_open_fd(r, fd);
}
int mpsync_region_open_fd(mpsync_region_t **r, int fd) {
  if (!r || fd < 0) return MPSYNC_EINVAL;
  mpsync_region h;
  status s = mpsync::open_existing(fd, h);
  if (s != status::ok) ::close(fd);
  return give(r, s, h);
}
int mpsync_region_unlink_named(const char *name) {
  if (!name) return MPSYNC_EINVAL;
  return shm_unlink(mpsync::shm_name(name).c_str()) == 0 ? MPSYNC_OK : MPSYNC_ESYS;
}
void *mpsync_region_alloc(mpsync_region_t *r, uint64_t size, uint64_t align) {
  if (!r) return nullptr;
  Region reg(*r);
  void *p = reg.alloc(size, align);
  reg.release_handle();
  return p;
}
void *mpsync_region_at(mpsync_region_t *r, uint64_t offset) {
  if (!r) return nullptr;
  Region reg(*r);
  void *p = reg.at_offset(offset);
  reg.release_handle();
  return p;
}
uint64_t mpsync_region_offset(mpsync_region_t *r, const void *p) {
  return r && p ? static_cast<uint64_t>(static_cast<const char *>(p) - static_cast<const char *>(r->base)) : 0;
}
int mpsync_region_fd(mpsync_region_t *r) { return r ? r->fd : -1; }
int mpsync_region_send_fd(int sock, int fd) { return static_cast<int>(Region::send_fd(sock, fd)); }
int mpsync_region_recv_fd(int sock, int *fd) { return fd ? static_cast<int>(Region::recv_fd(sock, *fd)) : MPSYNC_EINVAL; }
void mpsync_region_close(mpsync_region_t *r) {
  if (!r) return;
  Region(*r).close();
  delete r;
}
}
