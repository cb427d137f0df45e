// Printing what was found (text and JSON) and the wait-for graph.
//
// THE WAIT-FOR GRAPH: one edge per blocked thread T whose waiter slot names the word of a lock
// that has an owner — a Lock's or RLock's word, or a Condition's embedded RLock (a thread back from
// a notify re-taking it) — T -> owner. A thread waits on one word at a time, so every node has at
// most one outgoing edge and a cycle is found by following edges. Waits with no owner to blame
// (Semaphore, Event, Barrier, a Condition's notify, any wait of mpsync_wait_any) add no edge: no
// single thread holds what they wait for, so they can never be reported as a deadlock. A wait on a
// lock whose owner thread no longer exists is reported too: a plain Lock is never released then.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "inspect.hpp"

namespace mpsync::inspect {
namespace {

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing past U+10FFFF), or 0.
std::size_t utf8_len(const std::string &s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = b(i);
  std::size_t n;
  unsigned lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
  else return 0;
  if (i + n > s.size() || b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  return n;
}

// A JSON string. Names and thread names are bytes from other processes: a byte that is not part
// of well-formed UTF-8 is written as the code point of the same number (\u00XX), so the output is
// always valid JSON.
std::string quote(const std::string &s) {
  std::string o = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_len(s, i);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20 || n == 0) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o.append(s, i, n);
      i += n;
      continue;
    }
    ++i;
  }
  return o + "\"";
}

// The same bytes for a terminal: well-formed UTF-8 kept, control characters and stray bytes as
// \xNN (a name must not be able to move the cursor or retitle the window).
std::string shown(const std::string &s) {
  std::string o;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = utf8_len(s, i);
    if (n == 0 || c < 0x20 || c == 0x7f || (n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0)) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
      ++i;
    } else {
      o.append(s, i, n);
      i += n;
    }
  }
  return o;
}

std::string thread_json(const thread_ref &t) {
  std::ostringstream o;
  o << "{\"pid\": " << t.pid << ", \"tid\": " << t.tid << ", \"comm\": " << quote(t.comm)
    << ", \"alive\": " << (t.alive ? "true" : "false") << "}";
  return o.str();
}

std::string thread_text(const thread_ref &t) {
  std::ostringstream o;
  if (!t.alive) o << "thread " << t.tid << " (gone)";
  else o << t.pid << "/" << t.tid << " (" << shown(t.comm) << ")";
  return o.str();
}

std::string region_label(const region &r) { return r.name.empty() ? r.path : r.name; }
std::string object_label(const edge &e) {
  return e.object.empty() ? "at offset " + std::to_string(e.offset) : "\"" + shown(e.object) + "\"";
}

double now_real() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void object_json(std::ostringstream &o, const object &x) {
  o << "{\"name\": " << (x.name.empty() ? "null" : quote(x.name)) << ", \"offset\": " << x.offset
    << ", \"kind\": " << quote(x.kind);
  const bool lockish = x.kind == "lock" || x.kind == "rlock" || x.kind == "condition";
  if (lockish) o << ", \"owner\": " << (x.owner ? thread_json(*x.owner) : "null");
  auto num = [&](const char *k, const std::optional<std::uint32_t> &v) {
    if (v) o << ", \"" << k << "\": " << *v;
  };
  auto flag = [&](const char *k, const std::optional<bool> &v) {
    if (v) o << ", \"" << k << "\": " << (*v ? "true" : "false");
  };
  num("count", x.count);
  flag("owner_died", x.owner_died);
  num("value", x.value);
  num("bound", x.bound);
  flag("set", x.set);
  num("parties", x.parties);
  num("waiting", x.waiting);
  flag("broken", x.broken);
  num("generation", x.generation);
  if (x.kind == "raw" || x.kind == "data") o << ", \"size\": " << x.size;
  o << ", \"waiters\": [";
  for (std::size_t i = 0; i < x.waiters.size(); ++i) {
    const waiter &w = x.waiters[i];
    char since[32];
    std::snprintf(since, sizeof since, "%.3f", w.since);
    o << (i ? ", " : "") << "{\"pid\": " << w.who.pid << ", \"tid\": " << w.who.tid << ", \"comm\": " << quote(w.who.comm)
      << ", \"since\": " << since << (w.any ? ", \"any\": true" : "") << "}";
  }
  o << "]}";
}

std::string finding_key(const finding &f) {
  std::ostringstream o;
  o << f.dead_owner;
  for (const edge &e : f.edges)
    o << "|" << e.waiter.tid << "@" << e.since_ns << ">" << e.region << "/" << e.offset << ">" << e.owner.tid;
  return o.str();
}

}  // namespace

std::vector<finding> deadlocks(const std::vector<region> &regions) {
  std::map<std::uint32_t, edge> out;  // waiter tid -> its edge
  std::vector<finding> found;
  for (const region &r : regions)
    for (const object &o : r.objects) {
      if (!o.owner || !o.lock_word) continue;
      for (const waiter &w : o.waiters) {
        if (w.any || w.word != o.lock_word) continue;
        edge e{w.who, region_label(r), o.name, o.offset, o.kind, *o.owner, w.since, w.since_ns};
        if (!o.owner->alive) found.push_back({true, {e}});
        else out[w.who.tid] = e;
      }
    }
  std::set<std::uint32_t> done;
  for (const auto &[start, first] : out) {
    if (done.count(start)) continue;
    std::vector<std::uint32_t> path;
    std::uint32_t t = start;
    while (out.count(t) && std::find(path.begin(), path.end(), t) == path.end() && !done.count(t)) {
      path.push_back(t);
      t = out.at(t).owner.tid;
    }
    const auto at = std::find(path.begin(), path.end(), t);
    if (at != path.end()) {  // a cycle: from t around to t, starting at its smallest tid
      std::vector<std::uint32_t> cyc(at, path.end());
      std::rotate(cyc.begin(), std::min_element(cyc.begin(), cyc.end()), cyc.end());
      finding f;
      for (std::uint32_t x : cyc) f.edges.push_back(out.at(x));
      found.push_back(f);
    }
    done.insert(path.begin(), path.end());
  }
  return found;
}

std::vector<finding> stable(const std::vector<finding> &a, const std::vector<finding> &b) {
  std::set<std::string> keys;
  for (const finding &f : b) keys.insert(finding_key(f));
  std::vector<finding> v;
  for (const finding &f : a)
    if (keys.count(finding_key(f))) v.push_back(f);
  return v;
}

bool check_deadlocks(const std::vector<std::string> &targets, int settle_ms, std::vector<region> &regions,
                     std::vector<finding> &found, std::string &err) {
  regions.clear();
  if (!collect(targets, regions, err)) return false;
  found = deadlocks(regions);
  if (found.empty()) return true;
  // Only what persists counts: the waits of a busy queue end within the settle time.
  std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms));
  std::vector<region> again;
  if (!collect(targets, again, err)) return false;
  found = stable(deadlocks(again), found);
  regions = std::move(again);
  return true;
}

bool json_report(const std::vector<std::string> &targets, bool with_deadlocks, std::string &out, std::string &err,
                 int settle_ms) {
  std::vector<region> regions;
  std::vector<finding> found;
  if (with_deadlocks) {
    if (!check_deadlocks(targets, settle_ms, regions, found, err)) return false;
  } else if (!collect(targets, regions, err)) {
    return false;
  }
  out = to_json(regions, with_deadlocks ? &found : nullptr);
  return true;
}

std::string to_json(const std::vector<region> &regions, const std::vector<finding> *found) {
  std::ostringstream o;
  o << "{\"regions\": [";
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const region &r = regions[i];
    o << (i ? ",\n  " : "\n  ") << "{" << (r.name.empty() ? "\"path\": " + quote(r.path) : "\"name\": " + quote(r.name))
      << ", \"type\": " << quote(r.type) << ", \"size\": " << r.size << ", \"used\": " << r.used
      << ", \"version\": " << r.version << ", \"mapped_by\": [";
    for (std::size_t j = 0; j < r.mapped_by.size(); ++j)
      o << (j ? ", " : "") << "{\"pid\": " << r.mapped_by[j].pid << ", \"comm\": " << quote(r.mapped_by[j].comm) << "}";
    o << "], \"objects\": [";
    for (std::size_t j = 0; j < r.objects.size(); ++j) {
      o << (j ? ",\n    " : "\n    ");
      object_json(o, r.objects[j]);
    }
    o << "]";
    if (!r.notes.empty()) {
      o << ", \"notes\": [";
      for (std::size_t j = 0; j < r.notes.size(); ++j) o << (j ? ", " : "") << quote(r.notes[j]);
      o << "]";
    }
    o << "}";
  }
  o << "]";
  if (found) {
    o << ",\n \"deadlocks\": [";
    for (std::size_t i = 0; i < found->size(); ++i) {
      const finding &f = (*found)[i];
      o << (i ? ", " : "") << "{\"type\": " << (f.dead_owner ? "\"dead_owner\"" : "\"cycle\"") << ", \"edges\": [";
      for (std::size_t j = 0; j < f.edges.size(); ++j) {
        const edge &e = f.edges[j];
        o << (j ? ", " : "") << "{\"waiter\": " << thread_json(e.waiter) << ", \"region\": " << quote(e.region)
          << ", \"object\": " << (e.object.empty() ? "null" : quote(e.object)) << ", \"offset\": " << e.offset << ", \"kind\": " << quote(e.kind) << ", \"owner\": " << thread_json(e.owner)
          << "}";
      }
      o << "]}";
    }
    o << "]";
  }
  o << "}\n";
  return o.str();
}

std::string to_text(const std::vector<region> &regions, bool details) {
  std::ostringstream o;
  if (regions.empty()) o << "no mpsync regions found\n";
  const double now = now_real();
  for (const region &r : regions) {
    o << shown(region_label(r)) << "  " << r.type << ", " << r.size << " bytes (" << r.used << " used), " << r.objects.size()
      << " objects; mapped by";
    if (r.mapped_by.empty()) o << " no process";
    for (const mapper &m : r.mapped_by) o << " " << m.pid << " (" << shown(m.comm) << ")";
    o << "\n";
    for (const std::string &n : r.notes) o << "  note: " << n << "\n";
    if (!details) continue;
    for (const object &x : r.objects) {
      char head[160];
      std::snprintf(head, sizeof head, "  %-24s %-18s", (x.name.empty() ? "@" + std::to_string(x.offset) : shown(x.name)).c_str(),
                    x.kind.c_str());
      o << head;
      if (x.kind == "lock" || x.kind == "rlock" || x.kind == "condition")
        o << (x.owner ? "held by " + thread_text(*x.owner) : std::string("free"));
      if (x.count && *x.count) o << ", count " << *x.count;
      if (x.owner_died && *x.owner_died) o << ", OWNER DIED";
      if (x.value) o << "value " << *x.value;
      if (x.bound) o << " of " << *x.bound;
      if (x.set) o << (*x.set ? "set" : "clear");
      if (x.parties) o << *x.waiting << " of " << *x.parties << " waiting, generation " << *x.generation;
      else if (x.waiting) o << ", " << *x.waiting << " waiting";
      if (x.broken && *x.broken) o << ", BROKEN";
      if (x.kind == "raw" || x.kind == "data") o << x.size << " bytes";
      o << "\n";
      for (const waiter &w : x.waiters) {
        char d[48];
        std::snprintf(d, sizeof d, "%.1f s", now - w.since);
        o << "      blocked: " << thread_text(w.who) << " for " << d << (w.any ? " (wait-any)" : "") << "\n";
      }
    }
  }
  return o.str();
}

std::string to_text(const std::vector<finding> &found) {
  std::ostringstream o;
  if (found.empty()) o << "no deadlock found\n";
  for (const finding &f : found) {
    if (f.dead_owner) {
      const edge &e = f.edges[0];
      o << "A wait that can never end: thread " << thread_text(e.waiter) << " waits for " << e.kind << " " << object_label(e)
        << " in " << shown(e.region) << ", whose owner thread " << e.owner.tid << " no longer exists\n";
      continue;
    }
    o << "Found a deadlock of " << f.edges.size() << (f.edges.size() == 1 ? " thread" : " threads") << ":\n";
    for (const edge &e : f.edges)
      o << "  thread " << thread_text(e.waiter) << " waits for " << e.kind << " " << object_label(e) << " in " << shown(e.region)
        << ", held by thread " << thread_text(e.owner) << "\n";
  }
  return o.str();
}

}  // namespace mpsync::inspect
