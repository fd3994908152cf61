// The NFSv4.0 duplicate request cache (RFC 7530 3.1.1, "Client Retransmission
// Behavior", which leaves "the usual precautions" against retransmitted
// non-idempotent requests to the server; the kind of cache Linux nfsd keeps in
// fs/nfsd/nfscache.c).
//
// Why it exists: 4.0 has no sessions. A client that loses a reply (a dropped
// connection, a timeout) sends the same call again with the same xid. Without
// a cache a retransmitted CREATE answers NFS4ERR_EXIST, a REMOVE NFS4ERR_NOENT,
// although the first execution succeeded. 4.1 does not need it: the session
// slot table (RFC 8881 2.10.6) is its exactly-once cache.
//
// Why here, in nfs4::Server, and not in rpc/ or net/: the cache must know the
// minor version (only 0 is cached) and which ops a COMPOUND ran (only replies
// of non-idempotent ones are worth keeping), which only the NFSv4 program
// knows; and it must sit in front of the COMPOUND loop, so a retransmission
// is answered before any op runs. It keys on the client's transport address
// (not the connection), because a client retransmits after reconnecting, and
// Linux reconnects from the same source port precisely so that a server's
// cache still recognises the call.
//
// A retransmission that arrives while the first transmission still runs
// waits for its reply (Server::call): RFC 7530 3.1.1 forbids silently
// dropping a request on a connection that is still up, and running it twice
// is what the cache is for.
//
// Bounded like nfsd's DRC: a number of entries and of reply bytes (oldest
// completed entries go first) and an age (nfsd's RC_EXPIRE, 120 s).
//
// Every 4.0 COMPOUND passes through it twice (begin, then finish or
// abandon), so it is split into shards by key, each with its own lock, list
// and share of the bounds: 4.0 clients never queue on one cache lock (nfsd
// hashes its DRC into buckets with a lock each for the same reason).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace efs::nfs4 {

struct ReplyCacheOptions {
  std::size_t max_entries = 4096;  // in all, each shard keeping its share
  std::size_t max_bytes = 16u << 20;
  std::chrono::seconds max_age{120};
  std::size_t shards = 16;  // at least 1
};

class ReplyCache {
 public:
  // What identifies one call: who sent it (address and port), its xid and
  // procedure, and a checksum of its argument bytes, so a reused xid with
  // other arguments (a rebooted client) is not mistaken for a retransmission.
  struct Key {
    std::string address;
    uint16_t port = 0;
    uint32_t xid = 0;
    uint32_t proc = 0;
    uint32_t length = 0;  // of the arguments
    uint64_t checksum = 0;
    friend bool operator==(const Key& a, const Key& b) {
      return a.xid == b.xid && a.port == b.port && a.proc == b.proc && a.length == b.length &&
             a.checksum == b.checksum && a.address == b.address;
    }
  };
  static Key key_of(const std::string& address, uint16_t port, uint32_t xid, uint32_t proc,
                    std::span<const uint8_t> args);

  enum class State {
    miss,         // not seen: now recorded as in progress; call finish() or abandon()
    in_progress,  // the first transmission still runs: do not run it again
    hit,          // answered before: `reply` is the answer
  };
  struct Lookup {
    State state = State::miss;
    std::vector<uint8_t> reply;
  };

  explicit ReplyCache(ReplyCacheOptions options = {});

  Lookup begin(const Key& key, std::chrono::steady_clock::time_point now);
  // Keeps `reply` (the procedure's result bytes) for retransmissions.
  void finish(const Key& key, std::vector<uint8_t> reply,
              std::chrono::steady_clock::time_point now);
  // The call's reply is not kept (idempotent, or it failed in the RPC layer).
  void abandon(const Key& key);

  std::size_t entries();
  std::size_t bytes();

 private:
  struct KeyHash {
    std::size_t operator()(const Key& k) const;
  };
  struct Entry {
    bool done = false;
    std::vector<uint8_t> reply;
    std::chrono::steady_clock::time_point stored{};
    std::list<Key>::iterator lru;  // valid when done
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<Key, Entry, KeyHash> map;
    std::list<Key> lru;  // completed entries, oldest first
    std::size_t bytes = 0;
  };
  // KeyHash's low bits hardly depend on the xid (it sits in the high half of
  // a mixed word), so the shard comes from a finalized hash (splitmix64's).
  Shard& shard_of(const Key& key) {
    uint64_t z = KeyHash{}(key);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return shards_[z % shards_.size()];
  }
  void evict_locked(Shard& sh, std::chrono::steady_clock::time_point now);
  void erase_locked(Shard& sh, std::unordered_map<Key, Entry, KeyHash>::iterator it);

  ReplyCacheOptions opts_;
  std::size_t shard_entries_;  // each shard's share of the bounds
  std::size_t shard_bytes_;
  std::vector<Shard> shards_;
};

}  // namespace efs::nfs4
