#include "nfs4/reply_cache.h"

#include <algorithm>
#include <functional>

namespace efs::nfs4 {

namespace {

// Like nfsd (RC_CSUMLEN), only the start of the arguments is summed: the key
// already names the client and the xid, and a 1 MiB WRITE should not cost a
// pass over its data. The length covers the rest.
constexpr std::size_t kChecksumBytes = 1024;

uint64_t fnv1a(std::span<const uint8_t> bytes) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

ReplyCache::Key ReplyCache::key_of(const std::string& address, uint16_t port, uint32_t xid,
                                   uint32_t proc, std::span<const uint8_t> args) {
  Key k;
  k.address = address;
  k.port = port;
  k.xid = xid;
  k.proc = proc;
  k.length = static_cast<uint32_t>(args.size());
  k.checksum = fnv1a(args.first(std::min(args.size(), kChecksumBytes)));
  return k;
}

std::size_t ReplyCache::KeyHash::operator()(const Key& k) const {
  std::size_t h = std::hash<std::string>{}(k.address);
  auto mix = [&h](uint64_t v) {
    h ^= std::hash<uint64_t>{}(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  };
  mix((uint64_t(k.xid) << 32) | k.port);
  mix((uint64_t(k.proc) << 32) | k.length);
  mix(k.checksum);
  return h;
}

ReplyCache::Lookup ReplyCache::begin(const Key& key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lk(mu_);
  evict_locked(now);
  auto it = map_.find(key);
  if (it == map_.end()) {
    map_.emplace(key, Entry{});
    return {};
  }
  if (!it->second.done) return {State::in_progress, {}};
  return {State::hit, it->second.reply};
}

void ReplyCache::finish(const Key& key, std::vector<uint8_t> reply,
                        std::chrono::steady_clock::time_point now) {
  std::lock_guard lk(mu_);
  auto it = map_.find(key);
  if (it == map_.end() || it->second.done) return;
  if (reply.size() > opts_.max_bytes) {
    map_.erase(it);  // could never fit
    return;
  }
  Entry& e = it->second;
  e.done = true;
  e.stored = now;
  bytes_ += reply.size();
  e.reply = std::move(reply);
  e.lru = lru_.insert(lru_.end(), key);
  evict_locked(now);
}

void ReplyCache::abandon(const Key& key) {
  std::lock_guard lk(mu_);
  auto it = map_.find(key);
  if (it != map_.end() && !it->second.done) map_.erase(it);
}

void ReplyCache::erase_locked(std::unordered_map<Key, Entry, KeyHash>::iterator it) {
  bytes_ -= it->second.reply.size();
  lru_.erase(it->second.lru);
  map_.erase(it);
}

void ReplyCache::evict_locked(std::chrono::steady_clock::time_point now) {
  // Oldest completed entries first: past the age, or while over a bound.
  // Entries in progress are not counted and never evicted (they end soon).
  while (!lru_.empty()) {
    auto it = map_.find(lru_.front());
    bool old = now - it->second.stored > opts_.max_age;
    if (!old && lru_.size() <= opts_.max_entries && bytes_ <= opts_.max_bytes) break;
    erase_locked(it);
  }
}

std::size_t ReplyCache::entries() {
  std::lock_guard lk(mu_);
  return lru_.size();
}

std::size_t ReplyCache::bytes() {
  std::lock_guard lk(mu_);
  return bytes_;
}

}  // namespace efs::nfs4
