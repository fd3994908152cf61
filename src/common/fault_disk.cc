#include "common/fault_disk.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace efs {

namespace {

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

Error injected(const std::string& what, int err) {
  return Error{"injected fault: " + what + ": " + std::strerror(err), err};
}

std::size_t idx(FaultDisk::Op op) {
  return static_cast<std::size_t>(op);
}

}  // namespace

void FaultDisk::fail_nth(Op op, uint64_t n, int err) {
  std::lock_guard lk(mu_);
  faults_.push_back(Fault{op, calls_[idx(op)] + n, err});
}

void FaultDisk::fail_always(Op op, int err) {
  std::lock_guard lk(mu_);
  faults_.push_back(Fault{op, 0, err});
}

void FaultDisk::short_write_nth(uint64_t n, std::size_t keep, int then_err) {
  std::lock_guard lk(mu_);
  short_at_ = calls_[idx(Op::pwrite)] + n;
  short_keep_ = keep;
  short_then_err_ = then_err;
}

void FaultDisk::crash_at(uint64_t n) {
  std::lock_guard lk(mu_);
  crash_at_ = calls_[idx(Op::any)] + n;
}

bool FaultDisk::crashed() const {
  std::lock_guard lk(mu_);
  return crashed_;
}

void FaultDisk::clear() {
  std::lock_guard lk(mu_);
  faults_.clear();
  short_at_ = 0;
  crash_at_ = 0;
  crashed_ = false;
}

uint64_t FaultDisk::calls(Op op) const {
  std::lock_guard lk(mu_);
  return calls_[idx(op)];
}

Status<> FaultDisk::enter(Op op, const std::string& what) {
  ++calls_[idx(op)];
  ++calls_[idx(Op::any)];
  if (crash_at_ && calls_[idx(Op::any)] >= crash_at_) crashed_ = true;
  if (crashed_) return fail(Error{"injected crash: " + what + " after the process died", EIO});
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op && it->op != Op::any) continue;
    uint64_t count = calls_[idx(it->op)];
    if (it->at == 0) return fail(injected(what, it->err));
    if (it->at == count) {
      Error e = injected(what, it->err);
      faults_.erase(it);
      return fail(std::move(e));
    }
  }
  return {};
}

std::string FaultDisk::read_all(const std::string& path) {
  std::string out;
  auto f = base_.open(path, false);
  if (!f) return out;
  uint8_t buf[65536];
  for (;;) {
    auto n = base_.pread(*f, buf, out.size());
    if (!n || *n == 0) break;
    out.append(reinterpret_cast<const char*>(buf), *n);
  }
  base_.close(*f);
  return out;
}

void FaultDisk::remember(const std::string& path) {
  if (!durable_.count(path)) durable_.emplace(path, read_all(path));
}

Status<> FaultDisk::write_all(const std::string& path, const std::string& content) {
  auto f = base_.open(path, true);
  if (!f) return fail(f.error());
  Status<> s = base_.ftruncate(*f, content.size());
  std::size_t done = 0;
  while (s && done < content.size()) {
    auto n = base_.pwrite(
        *f, {reinterpret_cast<const uint8_t*>(content.data()) + done, content.size() - done}, done);
    if (!n)
      s = fail(n.error());
    else
      done += *n;
  }
  base_.close(*f);
  return s;
}

Status<int> FaultDisk::open(const std::string& path, bool create) {
  std::lock_guard lk(mu_);
  if (auto s = enter(Op::open, "open " + path); !s) return fail(s.error());
  bool existed = base_.exists(path);
  auto f = base_.open(path, create);
  if (!f) return f;
  fds_[*f] = path;
  if (!existed) {
    durable_[path] = "";  // a new file has no durable content
    entries_.push_back(EntryChange{EntryChange::created_file, path, {}, {}});
  }
  return f;
}

Status<std::size_t> FaultDisk::pread(int fd, std::span<uint8_t> out, uint64_t offset) {
  std::lock_guard lk(mu_);
  if (auto s = enter(Op::pread, "pread " + fds_[fd]); !s) return fail(s.error());
  return base_.pread(fd, out, offset);
}

Status<std::size_t> FaultDisk::pwrite(int fd, std::span<const uint8_t> data, uint64_t offset) {
  std::lock_guard lk(mu_);
  const std::string& path = fds_[fd];
  if (auto s = enter(Op::pwrite, "pwrite " + path); !s) return fail(s.error());
  remember(path);
  if (short_at_ && calls_[idx(Op::pwrite)] == short_at_) {
    short_at_ = 0;
    if (short_then_err_)
      faults_.push_back(Fault{Op::pwrite, calls_[idx(Op::pwrite)] + 1, short_then_err_});
    data = data.first(std::min(short_keep_, data.size()));
  }
  return base_.pwrite(fd, data, offset);
}

Status<> FaultDisk::fdatasync(int fd) {
  std::lock_guard lk(mu_);
  const std::string& path = fds_[fd];
  // A failed fdatasync leaves the data as undurable as before (and, on
  // Linux, maybe gone from the page cache: docs/crash-consistency.md).
  if (auto s = enter(Op::fdatasync, "fdatasync " + path); !s) return s;
  if (auto s = base_.fdatasync(fd); !s) return s;
  durable_.erase(path);
  return {};
}

Status<> FaultDisk::ftruncate(int fd, uint64_t size) {
  std::lock_guard lk(mu_);
  const std::string& path = fds_[fd];
  if (auto s = enter(Op::ftruncate, "ftruncate " + path); !s) return s;
  remember(path);
  return base_.ftruncate(fd, size);
}

void FaultDisk::close(int fd) {
  std::lock_guard lk(mu_);
  fds_.erase(fd);
  base_.close(fd);
}

Status<> FaultDisk::unlink(const std::string& path) {
  std::lock_guard lk(mu_);
  if (auto s = enter(Op::unlink, "unlink " + path); !s) return s;
  std::optional<std::string> saved;
  if (auto it = durable_.find(path); it != durable_.end()) {
    saved = std::move(it->second);
    durable_.erase(it);
  } else if (base_.exists(path)) {
    saved = read_all(path);
  }
  if (auto s = base_.unlink(path); !s) return s;
  entries_.push_back(EntryChange{EntryChange::removed_file, path, {}, std::move(saved)});
  return {};
}

Status<> FaultDisk::rename(const std::string& from, const std::string& to) {
  std::lock_guard lk(mu_);
  if (auto s = enter(Op::rename, "rename " + from); !s) return s;
  std::optional<std::string> replaced;
  if (auto it = durable_.find(to); it != durable_.end()) {
    replaced = std::move(it->second);
    durable_.erase(it);
  } else if (base_.exists(to)) {
    replaced = read_all(to);
  }
  if (auto s = base_.rename(from, to); !s) return s;
  if (auto it = durable_.find(from); it != durable_.end()) {
    durable_[to] = std::move(it->second);
    durable_.erase(from);
  }
  entries_.push_back(EntryChange{EntryChange::renamed, from, to, std::move(replaced)});
  return {};
}

Status<> FaultDisk::mkdir(const std::string& path) {
  std::lock_guard lk(mu_);
  if (auto s = enter(Op::mkdir, "mkdir " + path); !s) return s;
  if (auto s = base_.mkdir(path); !s) return s;
  entries_.push_back(EntryChange{EntryChange::created_dir, path, {}, {}});
  return {};
}

Status<> FaultDisk::sync_dir(const std::string& path) {
  std::lock_guard lk(mu_);
  if (auto s = enter(Op::sync_dir, "sync dir " + path); !s) return s;
  if (auto s = base_.sync_dir(path); !s) return s;
  for (auto& e : entries_) {
    if (parent_of(e.path) == path) e.from_synced = true;
    if (e.kind == EntryChange::renamed && parent_of(e.to) == path) e.to_synced = true;
  }
  std::erase_if(entries_, [](const EntryChange& e) {
    return e.from_synced && (e.kind != EntryChange::renamed || e.to_synced);
  });
  return {};
}

Status<> FaultDisk::remove_all(const std::string& path) {
  std::lock_guard lk(mu_);
  if (auto s = enter(Op::remove_all, "remove " + path); !s) return s;
  // Recorded entry by entry, deepest first, so a power loss can undo it.
  std::vector<EntryChange> removed;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::vector<std::filesystem::path> all;
    for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      all.push_back(it->path());
    }
    all.insert(all.begin(), path);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      std::string p = it->string();
      if (std::filesystem::is_directory(*it, ec)) {
        removed.push_back(EntryChange{EntryChange::removed_dir, p, {}, {}});
      } else {
        auto d = durable_.find(p);
        std::string saved = d != durable_.end() ? d->second : read_all(p);
        if (d != durable_.end()) durable_.erase(d);
        removed.push_back(EntryChange{EntryChange::removed_file, p, {}, std::move(saved)});
      }
    }
  }
  if (auto s = base_.remove_all(path); !s) return s;
  for (auto& e : removed) entries_.push_back(std::move(e));
  return {};
}

Status<> FaultDisk::commit_point() {
  std::lock_guard lk(mu_);
  return enter(Op::commit, "SQLite commit");
}

Status<> FaultDisk::lose_unsynced() {
  std::lock_guard lk(mu_);
  // Data first (files still named where they were written), then the
  // entries, newest first.
  for (auto& [path, content] : durable_) {
    if (!base_.exists(path)) continue;
    if (auto s = write_all(path, content); !s) return s;
  }
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    const EntryChange& e = *it;
    switch (e.kind) {
      case EntryChange::created_file:
        if (base_.exists(e.path)) {
          if (auto s = base_.unlink(e.path); !s) return s;
        }
        break;
      case EntryChange::created_dir:
        if (auto s = base_.remove_all(e.path); !s) return s;
        break;
      case EntryChange::removed_file:
        if (e.saved) {
          if (auto s = write_all(e.path, *e.saved); !s) return s;
        }
        break;
      case EntryChange::removed_dir:
        if (!base_.exists(e.path)) {
          if (auto s = base_.mkdir(e.path); !s) return s;
        }
        break;
      case EntryChange::renamed:
        if (auto s = base_.rename(e.to, e.path); !s) return s;
        if (e.saved) {
          if (auto s = write_all(e.to, *e.saved); !s) return s;
        }
        break;
    }
  }
  durable_.clear();
  entries_.clear();
  faults_.clear();
  short_at_ = 0;
  crash_at_ = 0;
  crashed_ = false;
  return {};
}

}  // namespace efs
