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

ReplyCache::ReplyCache(ReplyCacheOptions options)
    : opts_(options), shards_(std::max<std::size_t>(1, options.shards)) {
  const std::size_t n = shards_.size();
  shard_entries_ = std::max<std::size_t>(1, (opts_.max_entries + n - 1) / n);
  shard_bytes_ = std::max<std::size_t>(1, (opts_.max_bytes + n - 1) / n);
}

ReplyCache::Lookup ReplyCache::begin(const Key& key, std::chrono::steady_clock::time_point now) {
  Shard& sh = shard_of(key);
  std::lock_guard lk(sh.mu);
  evict_locked(sh, now);
  auto it = sh.map.find(key);
  if (it == sh.map.end()) {
    sh.map.emplace(key, Entry{});
    return {};
  }
  if (!it->second.done) return {State::in_progress, {}};
  return {State::hit, it->second.reply};
}

void ReplyCache::finish(const Key& key, std::vector<uint8_t> reply,
                        std::chrono::steady_clock::time_point now) {
  Shard& sh = shard_of(key);
  std::lock_guard lk(sh.mu);
  auto it = sh.map.find(key);
  if (it == sh.map.end() || it->second.done) return;
  if (reply.size() > shard_bytes_) {
    sh.map.erase(it);  // could never fit
    return;
  }
  Entry& e = it->second;
  e.done = true;
  e.stored = now;
  sh.bytes += reply.size();
  e.reply = std::move(reply);
  e.lru = sh.lru.insert(sh.lru.end(), key);
  evict_locked(sh, now);
}

void ReplyCache::abandon(const Key& key) {
  Shard& sh = shard_of(key);
  std::lock_guard lk(sh.mu);
  auto it = sh.map.find(key);
  if (it != sh.map.end() && !it->second.done) sh.map.erase(it);
}

void ReplyCache::erase_locked(Shard& sh, std::unordered_map<Key, Entry, KeyHash>::iterator it) {
  sh.bytes -= it->second.reply.size();
  sh.lru.erase(it->second.lru);
  sh.map.erase(it);
}

void ReplyCache::evict_locked(Shard& sh, std::chrono::steady_clock::time_point now) {
  // Oldest completed entries first: past the age, or while over a bound.
  // Entries in progress are not counted and never evicted (they end soon).
  while (!sh.lru.empty()) {
    auto it = sh.map.find(sh.lru.front());
    bool old = now - it->second.stored > opts_.max_age;
    if (!old && sh.lru.size() <= shard_entries_ && sh.bytes <= shard_bytes_) break;
    erase_locked(sh, it);
  }
}

std::size_t ReplyCache::entries() {
  std::size_t n = 0;
  for (Shard& sh : shards_) {
    std::lock_guard lk(sh.mu);
    n += sh.lru.size();
  }
  return n;
}

std::size_t ReplyCache::bytes() {
  std::size_t n = 0;
  for (Shard& sh : shards_) {
    std::lock_guard lk(sh.mu);
    n += sh.bytes;
  }
  return n;
}

}  // namespace efs::nfs4
