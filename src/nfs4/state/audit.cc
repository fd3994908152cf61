// StateManager::audit: the cross-checks of the state tables that the
// concurrency tests run when the threads are done. Meant for a server at rest
// (a concurrent op may make a count momentarily disagree), but it takes the
// locks in the documented order so it is safe to call at any time.
#include <spdlog/fmt/fmt.h>

#include "nfs4/state/state_manager.h"

namespace efs::nfs4 {

std::string StateManager::audit() {
  std::string bad;
  auto note = [&](const std::string& s) {
    if (bad.size() < 2000) bad += s + "\n";
  };
  std::size_t opens_seen = 0, locks_seen = 0;
  std::shared_lock lk(clients_mu_);
  for (auto& [id, c] : confirmed_) {
    std::lock_guard cl(c->mu);
    if (!c->live) note(fmt::format("client {:x} is in the table but not live", id));
    for (auto& [name, owner] : c->open_owners) {
      if (owner->clientid != id)
        note(fmt::format("open-owner of {:x} under {:x}", owner->clientid, id));
      for (auto& o : owner->opens) {
        ++opens_seen;
        FileShard& shard = shard_for(o->file);
        std::lock_guard sl(shard.mu);
        auto it = shard.opens.find(o->sid.other);
        if (it == shard.opens.end() || it->second != o) {
          note(fmt::format("open of client {:x} missing from shard {}", id, shard_of(o->file)));
        }
        if (o->sid.other[8] != shard_of(o->file)) note("open stateid names the wrong shard");
        if (o->owner.lock() != owner) note("open does not point back to its owner");
      }
    }
    for (auto& [name, owner] : c->lock_owners) {
      for (auto& l : owner->locks) {
        ++locks_seen;
        FileShard& shard = shard_for(l->file);
        std::lock_guard sl(shard.mu);
        auto it = shard.lock_states.find(l->sid.other);
        if (it == shard.lock_states.end() || it->second != l) {
          note(fmt::format("lock stateid of client {:x} missing from its shard", id));
        }
        if (auto open = l->open.lock(); open && !open->locks.count(l)) {
          note("lock stateid not listed by its open");
        }
      }
    }
  }
  std::size_t opens_held = 0, locks_held = 0;
  for (uint32_t i = 0; i < kFileShards; ++i) {
    FileShard& shard = shards_[i];
    std::lock_guard sl(shard.mu);
    opens_held += shard.opens.size();
    locks_held += shard.lock_states.size();
    for (auto& [file, ranges] : shard.ranges) {
      if (shard_of(file) != i) note("ranges of a file in the wrong shard");
      for (std::size_t a = 0; a < ranges.size(); ++a) {
        for (std::size_t b = a + 1; b < ranges.size(); ++b) {
          const LockRange& x = ranges[a];
          const LockRange& y = ranges[b];
          bool overlap = !(x.last < y.first || y.last < x.first);
          bool same = x.owner == y.owner;
          if (overlap && (same || x.write || y.write)) {
            note(fmt::format("file {}:{}: ranges [{},{}] and [{},{}] conflict or overlap",
                             file.fsid, file.ino, x.first, x.last, y.first, y.last));
          }
        }
      }
    }
  }
  if (opens_held != opens_seen) {
    note(fmt::format("{} opens in the shards, {} reachable from clients", opens_held, opens_seen));
  }
  if (locks_held != locks_seen) {
    note(fmt::format("{} lock stateids in the shards, {} reachable from clients", locks_held,
                     locks_seen));
  }
  return bad;
}

}  // namespace efs::nfs4
