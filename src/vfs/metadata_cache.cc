#include "vfs/metadata_cache.h"

namespace efs::vfs {

namespace {
thread_local Journal* t_journal = nullptr;
}  // namespace

JournalScope::JournalScope(Journal& j, int64_t fs) : prev_(t_journal) {
  j.fs = fs;
  t_journal = &j;
}

JournalScope::~JournalScope() { t_journal = prev_; }

Journal* JournalScope::active(int64_t fs) {
  return t_journal && t_journal->fs == fs ? t_journal : nullptr;
}

MetadataCache::MetadataCache(std::size_t max_entries)
    : max_entries_(max_entries) {}

std::optional<std::optional<Inode>> MetadataCache::inode(int64_t fs, Ino ino) {
  if (!enabled()) return std::nullopt;
  Key k{fs, ino};
  Shard& sh = shard(k);
  std::lock_guard lk(sh.mu);
  auto it = sh.inodes.find(k);
  if (it == sh.inodes.end()) return std::nullopt;
  sh.lru.splice(sh.lru.begin(), sh.lru, it->second.lru);
  return it->second.n;
}

void MetadataCache::set_inode(Shard& sh, const Key& k, const std::optional<Inode>& n) {
  auto it = sh.inodes.find(k);
  if (it != sh.inodes.end()) {
    it->second.n = n;
    sh.lru.splice(sh.lru.begin(), sh.lru, it->second.lru);
    return;
  }
  sh.lru.push_front(LruKey{Kind::inode, k});
  sh.inodes.emplace(k, InodeEntry{n, sh.lru.begin()});
  add_weight(sh, 1);
}

void MetadataCache::fill_inode(int64_t fs, Ino ino, const std::optional<Inode>& n,
                               uint64_t ticket) {
  if (!enabled()) return;
  Key k{fs, ino};
  Shard& sh = shard(k);
  {
    std::lock_guard lk(sh.mu);
    if (version_.load() != ticket) return;
    set_inode(sh, k, n);
    evict(sh);
  }
  trim();
}

MetadataCache::DirEntryList& MetadataCache::dir_for_write(Shard& sh, const Key& k) {
  auto it = sh.dirs.find(k);
  if (it != sh.dirs.end()) {
    sh.lru.splice(sh.lru.begin(), sh.lru, it->second.lru);
    return it->second;
  }
  sh.lru.push_front(LruKey{Kind::dir, k});
  auto& e = sh.dirs.emplace(k, DirEntryList{Dir{}, sh.lru.begin()}).first->second;
  add_weight(sh, 1);
  return e;
}

MetadataCache::Name MetadataCache::name(int64_t fs, Ino dir, std::string_view name,
                                        DirentRow& out) {
  if (!enabled()) return Name::unknown;
  Key k{fs, dir};
  Shard& sh = shard(k);
  std::lock_guard lk(sh.mu);
  auto it = sh.dirs.find(k);
  if (it == sh.dirs.end()) return Name::unknown;
  sh.lru.splice(sh.lru.begin(), sh.lru, it->second.lru);
  const Dir& d = it->second.d;
  // Heterogeneous lookup needs C++20's transparent unordered_map; one string
  // per LOOKUP is cheaper than the SQLite row it replaces.
  auto n = d.names.find(std::string(name));
  if (n == d.names.end()) return d.complete ? Name::absent : Name::unknown;
  if (n->second.child == 0) return Name::absent;
  out.name = std::string(name);
  out.child = n->second.child;
  out.cookie = n->second.cookie;
  return Name::present;
}

void MetadataCache::fill_name(int64_t fs, Ino dir, std::string_view name,
                              const std::optional<DirentRow>& row, uint64_t ticket) {
  if (!enabled()) return;
  Key k{fs, dir};
  Shard& sh = shard(k);
  std::unique_lock lk(sh.mu);
  if (version_.load() != ticket) return;
  auto& e = dir_for_write(sh, k);
  if (e.d.complete) return;  // already knows every name
  auto [it, inserted] = e.d.names.insert_or_assign(
      std::string(name), row ? NameRef{row->child, row->cookie} : NameRef{});
  (void)it;
  if (inserted) add_weight(sh, 1);
  evict(sh);
  lk.unlock();
  trim();
}

bool MetadataCache::list(int64_t fs, Ino dir, uint64_t after, uint32_t limit,
                         std::vector<DirentRow>& out, bool& eof) {
  if (!enabled()) return false;
  Key k{fs, dir};
  Shard& sh = shard(k);
  std::lock_guard lk(sh.mu);
  auto it = sh.dirs.find(k);
  if (it == sh.dirs.end() || !it->second.d.complete) return false;
  sh.lru.splice(sh.lru.begin(), sh.lru, it->second.lru);
  const Dir& d = it->second.d;
  auto c = d.by_cookie.upper_bound(after);
  for (; c != d.by_cookie.end() && out.size() < limit; ++c) {
    const NameRef& ref = d.names.at(c->second);
    out.push_back(DirentRow{c->second, ref.child, ref.cookie});
  }
  eof = c == d.by_cookie.end();
  return true;
}

void MetadataCache::fill_listing(int64_t fs, Ino dir, const std::vector<DirentRow>& rows,
                                 uint64_t ticket) {
  if (!enabled() || rows.size() > max_listing()) return;
  Key k{fs, dir};
  Shard& sh = shard(k);
  std::unique_lock lk(sh.mu);
  if (version_.load() != ticket) return;
  auto& e = dir_for_write(sh, k);
  add_weight(sh, -static_cast<std::ptrdiff_t>(e.d.names.size()));
  e.d = Dir{};
  e.d.complete = true;
  for (const auto& r : rows) {
    e.d.names.emplace(r.name, NameRef{r.child, r.cookie});
    e.d.by_cookie.emplace(r.cookie, r.name);
  }
  add_weight(sh, static_cast<std::ptrdiff_t>(e.d.names.size()));
  evict(sh);
  lk.unlock();
  trim();
}

void MetadataCache::add_weight(Shard& sh, std::ptrdiff_t w) {
  sh.weight = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(sh.weight) + w);
  total_.fetch_add(w, std::memory_order_relaxed);
}

void MetadataCache::evict(Shard& sh) {
  // The front entry is the one just used: it stays.
  while (total_.load(std::memory_order_relaxed) > static_cast<std::ptrdiff_t>(max_entries_) &&
         sh.lru.size() > 1) {
    const LruKey& victim = sh.lru.back();
    if (victim.kind == Kind::inode) {
      sh.inodes.erase(victim.key);
      add_weight(sh, -1);
    } else {
      auto it = sh.dirs.find(victim.key);
      add_weight(sh, -1 - static_cast<std::ptrdiff_t>(it->second.d.names.size()));
      sh.dirs.erase(it);
    }
    sh.lru.pop_back();
  }
}

void MetadataCache::trim() {
  // Each turn takes one shard's lock alone (no lock order to keep); a run of
  // empty shards ends it.
  for (std::size_t idle = 0;
       idle < kShards && total_.load(std::memory_order_relaxed) >
                             static_cast<std::ptrdiff_t>(max_entries_);) {
    Shard& sh = shards_[trim_cursor_.fetch_add(1, std::memory_order_relaxed) % kShards];
    std::lock_guard lk(sh.mu);
    if (sh.lru.empty()) {
      ++idle;
      continue;
    }
    idle = 0;
    const LruKey& victim = sh.lru.back();
    if (victim.kind == Kind::inode) {
      sh.inodes.erase(victim.key);
      add_weight(sh, -1);
    } else {
      auto it = sh.dirs.find(victim.key);
      add_weight(sh, -1 - static_cast<std::ptrdiff_t>(it->second.d.names.size()));
      sh.dirs.erase(it);
    }
    sh.lru.pop_back();
  }
}

void MetadataCache::apply(const Journal& j) {
  // Before any shard changes: a fill whose snapshot may predate this commit
  // is refused (see the header).
  version_.fetch_add(1);
  for (const auto& ch : j.changes) {
    if (auto* p = std::get_if<Journal::PutInode>(&ch)) {
      Key k{j.fs, p->n.ino};
      Shard& sh = shard(k);
      std::lock_guard lk(sh.mu);
      set_inode(sh, k, p->n);
      evict(sh);
    } else if (auto* e = std::get_if<Journal::EraseInode>(&ch)) {
      Key k{j.fs, e->ino};
      Shard& sh = shard(k);
      std::lock_guard lk(sh.mu);
      // Inode numbers are never reused: "no such inode" stays true.
      set_inode(sh, k, std::nullopt);
      if (auto it = sh.dirs.find(k); it != sh.dirs.end()) {  // a removed directory
        add_weight(sh, -1 - static_cast<std::ptrdiff_t>(it->second.d.names.size()));
        sh.lru.erase(it->second.lru);
        sh.dirs.erase(it);
      }
      evict(sh);
    } else if (auto* a = std::get_if<Journal::AddName>(&ch)) {
      Key k{j.fs, a->dir};
      Shard& sh = shard(k);
      std::lock_guard lk(sh.mu);
      auto& d = dir_for_write(sh, k).d;
      auto [it, inserted] = d.names.insert_or_assign(a->name, NameRef{a->child, a->cookie});
      (void)it;
      if (inserted) add_weight(sh, 1);
      if (d.complete) d.by_cookie[a->cookie] = a->name;
      evict(sh);
    } else if (auto* r = std::get_if<Journal::RemoveName>(&ch)) {
      Key k{j.fs, r->dir};
      Shard& sh = shard(k);
      std::lock_guard lk(sh.mu);
      auto& d = dir_for_write(sh, k).d;
      auto it = d.names.find(r->name);
      if (d.complete) {
        if (it != d.names.end()) {
          d.by_cookie.erase(it->second.cookie);
          d.names.erase(it);
          add_weight(sh, -1);
        }
      } else if (it != d.names.end()) {
        it->second = NameRef{};  // negative: a LOOKUP of it need not ask SQLite
      } else {
        d.names.emplace(r->name, NameRef{});
        add_weight(sh, 1);
      }
      evict(sh);
    }
  }
  trim();
}

void MetadataCache::finish_write(uint64_t seq, std::optional<Journal> j) {
  std::unique_lock lk(seq_mu_);
  ready_.emplace(seq, std::move(j));
  // Whoever finds the next journal in line applies it, and those after it
  // that are ready: journals are applied in commit order, one at a time.
  bool progressed = false;
  while (!ready_.empty() && ready_.begin()->first == applied_ + 1) {
    auto node = ready_.extract(ready_.begin());
    if (node.mapped() && enabled()) apply(*node.mapped());
    applied_ = node.key();
    progressed = true;
  }
  if (progressed) seq_cv_.notify_all();
  // The caller answers its client next: its change must be visible by then.
  seq_cv_.wait(lk, [&] { return applied_ >= seq; });
}

void MetadataCache::drop_file_system(int64_t fs) {
  version_.fetch_add(1);  // fills in flight were read before the deletion
  for (auto& sh : shards_) {
    std::lock_guard lk(sh.mu);
    for (auto it = sh.lru.begin(); it != sh.lru.end();) {
      if (it->key.fs != fs) {
        ++it;
        continue;
      }
      if (it->kind == Kind::inode) {
        sh.inodes.erase(it->key);
        add_weight(sh, -1);
      } else {
        auto d = sh.dirs.find(it->key);
        add_weight(sh, -1 - static_cast<std::ptrdiff_t>(d->second.d.names.size()));
        sh.dirs.erase(d);
      }
      it = sh.lru.erase(it);
    }
  }
}

std::size_t MetadataCache::size() const {
  return static_cast<std::size_t>(total_.load());
}

}  // namespace efs::vfs
