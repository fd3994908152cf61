// Operations that change directory contents: create, mkdir, symlink, link,
// remove, rename. Each is one write transaction that re-checks everything it
// relies on, so concurrent callers see it happen entirely or not at all.
#include <spdlog/spdlog.h>

#include "vfs/file_system.h"
#include "vfs/permission.h"

namespace efs::vfs {

namespace {

// EFS documents the 1000-level depth limit but not the error a client gets
// past it; without a documented code we answer NFS4ERR_INVAL (see
// docs/schema-vfs.md, "Limits").
constexpr Errc kTooDeep = Errc::inval;

void touch_dir(Inode& d, const Time& now) {
  d.mtime = now;
  d.ctime = now;
  ++d.change;
}

// How many times an operation whose pre-lookup raced with another change is
// retried before the caller is told to try again (NFS4ERR_DELAY).
constexpr int kRaceRetries = 8;

}  // namespace

Errc FileSystemImpl::too_deep(std::string_view name) const {
  spdlog::info("vfs {}: '{}' would pass the directory depth limit of {}", id_, name, kMaxDepth);
  return kTooDeep;
}

Errc FileSystemImpl::height(meta::Conn& c, Ino dir, uint32_t limit, uint32_t& out) {
  // Breadth first, one level at a time, stopping past limit: only the
  // directories within reach of the limit are visited.
  out = 0;
  std::vector<Ino> level{dir};
  while (out <= limit) {
    std::vector<Ino> next;
    for (Ino d : level) {
      auto subs = table_.subdirs(c, d);
      if (!subs) return Errc::io;
      next.insert(next.end(), subs->begin(), subs->end());
    }
    if (next.empty()) return Errc::ok;
    ++out;
    level = std::move(next);
  }
  return Errc::ok;
}

Errc FileSystemImpl::make_object(Tx& tx, const Cred& cred, Inode& dir, std::string_view name,
                                 const NewObject& obj, const SetAttr& attrs, Inode& out) {
  auto ino = table_.allocate(tx.c);
  if (!ino) return Errc::io;
  Time now = now_time();
  Inode n;
  n.ino = *ino;
  n.type = obj.type;
  n.mode = obj.mode & 07777;
  if (obj.type == FileType::dir) n.mode &= ~04000u;  // no set-user-ID on directories (EFS)
  n.nlink = obj.type == FileType::dir ? 2 : 1;
  n.uid = cred.uid;
  // A set-group-ID directory hands its group to new entries, and its
  // set-group-ID bit to new subdirectories (BSD group semantics, as Linux).
  n.gid = (dir.mode & 02000) ? dir.gid : cred.gid;
  if (obj.type == FileType::dir && (dir.mode & 02000)) n.mode |= 02000;
  n.atime = n.mtime = n.ctime = n.btime = now;
  n.change = 1;
  n.target = obj.target;
  n.verifier = obj.verifier;
  n.generation = generation_;
  n.parent = obj.type == FileType::dir ? dir.ino : 0;
  if (Errc e = apply_setattr(tx, cred, n, attrs, true); e != Errc::ok) return e;
  n.change = 1;
  n.ctime = n.btime;  // creation attributes are part of the creation
  if (Errc e = store(tx, n); e != Errc::ok) return e;
  if (!table_.link(tx.c, dir, name, n.ino)) return Errc::io;
  if (obj.type == FileType::dir) ++dir.nlink;
  touch_dir(dir, now);
  if (Errc e = store(tx, dir); e != Errc::ok) return e;
  out = std::move(n);
  return Errc::ok;
}

VResult<CreateResult> FileSystemImpl::create_file(const Cred& cred, Ino dir, std::string_view name,
                                                  CreateMode how, const SetAttr& attrs,
                                                  uint64_t verifier) {
  if (Errc e = check_name(name); e != Errc::ok) return fail(e);
  CreateResult res;
  Inode made;
  Errc e = write_tx([&](Tx& tx) {
    Inode d;
    if (Errc le = load(tx.c, dir, d); le != Errc::ok) return le;
    if (d.type != FileType::dir) return Errc::notdir;
    if (!may(cred, d, kMayExec)) return Errc::access;
    auto found = table_.find(tx.c, dir, name);
    if (!found) return Errc::io;
    if (*found) {
      Inode existing;
      if (Errc le = load(tx.c, (*found)->child, existing, Errc::io); le != Errc::ok) return le;
      switch (how) {
        case CreateMode::guarded:
          return Errc::exist;
        case CreateMode::exclusive:
          // RFC 8881 18.16.3: a retransmitted EXCLUSIVE create finds the file
          // it made, recognised by the stored verifier.
          if (existing.type != FileType::reg || existing.verifier != verifier) return Errc::exist;
          break;
        case CreateMode::unchecked:
          if (existing.type == FileType::dir) return Errc::isdir;
          // RFC 8881 18.16.3: an open of a symlink or a special file
          // (socket, FIFO) is NFS4ERR_SYMLINK, also when it asked to create.
          if (existing.type != FileType::reg) return Errc::symlink;
          break;
      }
      res.created = false;
      res.dir = ChangeInfo{true, d.change, d.change};
      made = std::move(existing);
      return Errc::ok;
    }
    if (!may(cred, d, kMayWrite | kMayExec)) return Errc::access;
    uint64_t before = d.change;
    NewObject obj{
        FileType::reg, attrs.mode.value_or(0644), {}, how == CreateMode::exclusive ? verifier : 0};
    SetAttr rest = attrs;
    rest.mode.reset();
    if (Errc me = make_object(tx, cred, d, name, obj, rest, made); me != Errc::ok) return me;
    res.dir = ChangeInfo{true, before, d.change};
    return Errc::ok;
  });
  if (e != Errc::ok) return fail(e);
  // An existing file is returned as it is: applying UNCHECKED4's size (the
  // O_TRUNC case, RFC 8881 18.16.3) is the caller's, after its own ACCESS
  // check, through setattr().
  res.attr = to_attr(made);
  return res;
}

// mkdir, symlink and mknod: a new entry `name` in `dir` that must not exist
// yet. `limits` runs on the loaded parent once the permission checks passed
// (mkdir's depth and link-count limits). Mode and size in attrs are the
// caller's to fold into obj (a size means nothing for these types).
VResult<CreateResult> FileSystemImpl::create_entry(const Cred& cred, Ino dir,
                                                   std::string_view name, const NewObject& obj,
                                                   const SetAttr& attrs,
                                                   const std::function<Errc(Tx&, Inode&)>& limits) {
  if (Errc e = check_name(name); e != Errc::ok) return fail(e);
  CreateResult res;
  Inode made;
  Errc e = write_tx([&](Tx& tx) {
    Inode d;
    if (Errc le = load(tx.c, dir, d); le != Errc::ok) return le;
    if (d.type != FileType::dir) return Errc::notdir;
    if (!may(cred, d, kMayExec)) return Errc::access;
    auto found = table_.find(tx.c, dir, name);
    if (!found) return Errc::io;
    if (*found) return Errc::exist;
    if (!may(cred, d, kMayWrite | kMayExec)) return Errc::access;
    if (limits) {
      if (Errc le = limits(tx, d); le != Errc::ok) return le;
    }
    uint64_t before = d.change;
    SetAttr rest = attrs;
    rest.mode.reset();
    rest.size.reset();
    if (Errc me = make_object(tx, cred, d, name, obj, rest, made); me != Errc::ok) return me;
    res.dir = ChangeInfo{true, before, d.change};
    return Errc::ok;
  });
  if (e != Errc::ok) return fail(e);
  res.attr = to_attr(made);
  return res;
}

VResult<CreateResult> FileSystemImpl::mkdir(const Cred& cred, Ino dir, std::string_view name,
                                            const SetAttr& attrs) {
  NewObject obj{FileType::dir, attrs.mode.value_or(0755), {}, 0};
  return create_entry(cred, dir, name, obj, attrs, [&](Tx& tx, Inode& d) {
    uint32_t dep = 0;
    if (Errc de = depth(tx.c, d.ino, dep); de != Errc::ok) return de;
    if (dep + 1 > kMaxDepth) return too_deep(name);
    if (d.nlink >= 0xffffffffu) return Errc::mlink;
    return Errc::ok;
  });
}

VResult<CreateResult> FileSystemImpl::symlink(const Cred& cred, Ino dir, std::string_view name,
                                              std::string_view target, const SetAttr& attrs) {
  if (Errc e = check_name(name); e != Errc::ok) return fail(e);
  if (target.empty()) return fail(Errc::inval);
  if (target.size() > kMaxSymlinkBytes) return fail(Errc::nametoolong);
  // Symlink permission bits are not used for anything; Linux shows 0777.
  NewObject obj{FileType::lnk, 0777, std::string(target), 0};
  return create_entry(cred, dir, name, obj, attrs);
}

VResult<CreateResult> FileSystemImpl::mknod(const Cred& cred, Ino dir, std::string_view name,
                                            FileType type, const SetAttr& attrs) {
  // EFS "Unsupported NFSv4 features": CREATE of block and character devices
  // is refused; sockets and FIFOs are nodes without data here.
  if (type != FileType::sock && type != FileType::fifo) return fail(Errc::badtype);
  NewObject obj{type, attrs.mode.value_or(0644), {}, 0};
  return create_entry(cred, dir, name, obj, attrs);
}

VResult<ChangeInfo> FileSystemImpl::link(const Cred& cred, Ino target, Ino dir,
                                         std::string_view name) {
  if (Errc e = check_name(name); e != Errc::ok) return fail(e);
  StripeLock lock(*this, {target});
  ChangeInfo ci;
  Errc e = write_tx([&](Tx& tx) {
    Inode t, d;
    if (Errc le = load(tx.c, target, t); le != Errc::ok) return le;
    if (t.type == FileType::dir) return Errc::isdir;
    // linkat(2) of an open file whose last name is gone: ENOENT, as Linux.
    if (t.nlink == 0) return Errc::noent;
    if (Errc le = load(tx.c, dir, d); le != Errc::ok) return le;
    if (d.type != FileType::dir) return Errc::notdir;
    if (!may(cred, d, kMayWrite | kMayExec)) return Errc::access;
    auto found = table_.find(tx.c, dir, name);
    if (!found) return Errc::io;
    if (*found) return Errc::exist;
    if (t.nlink >= kMaxHardLinks) {
      spdlog::info("vfs {}: link to inode {} refused: {} links is the EFS limit", id_, target,
                   kMaxHardLinks);
      return Errc::mlink;
    }
    Time now = now_time();
    ci.before = d.change;
    if (!table_.link(tx.c, d, name, t.ino)) return Errc::io;
    touch_dir(d, now);
    ci.after = d.change;
    ++t.nlink;
    t.ctime = now;
    ++t.change;
    if (Errc se = store(tx, t); se != Errc::ok) return se;
    return store(tx, d);
  });
  if (e != Errc::ok) return fail(e);
  return ci;
}

// The inode a name currently points to, read outside any transaction so its
// stripe can be locked first; 0 if none. Only a hint (the transaction
// re-checks it and retries on a change), so the metadata cache answers when
// it knows the name: a remove or rename then reads no SQLite before its
// transaction. A miss reads SQLite and fills the cache as LOOKUP does.
Ino FileSystemImpl::peek(Ino dir, std::string_view name) {
  if (caching()) {
    DirentRow entry;
    switch (cache_->name(table_.fs_num(), dir, name, entry)) {
      case MetadataCache::Name::present:
        return entry.child;
      case MetadataCache::Name::absent:
        return 0;
      case MetadataCache::Name::unknown:
        break;
    }
  }
  const uint64_t ticket = cache_ ? cache_->ticket() : 0;
  std::optional<DirentRow> found;
  bool read = false;
  (void)db_.read([&](meta::Conn& c) -> Status<> {
    auto r = table_.find(c, dir, name);
    if (r) {
      found = std::move(*r);
      read = true;
    }
    return {};
  });
  if (read && caching()) cache_->fill_name(table_.fs_num(), dir, name, found, ticket);
  return found ? found->child : 0;
}

VResult<ChangeInfo> FileSystemImpl::remove(const Cred& cred, Ino dir, std::string_view name) {
  if (Errc e = check_name(name); e != Errc::ok) return fail(e);
  for (int attempt = 0; attempt < kRaceRetries; ++attempt) {
    Ino expected = peek(dir, name);
    StripeLock lock(*this, {expected});
    ChangeInfo ci;
    bool raced = false;
    Errc e = write_tx([&](Tx& tx) {
      Inode d, victim;
      if (Errc le = load(tx.c, dir, d); le != Errc::ok) return le;
      if (d.type != FileType::dir) return Errc::notdir;
      if (!may(cred, d, kMayExec)) return Errc::access;
      auto found = table_.find(tx.c, dir, name);
      if (!found) return Errc::io;
      if (!*found) return Errc::noent;
      if ((*found)->child != expected) {
        raced = true;
        return Errc::delay;
      }
      if (!may(cred, d, kMayWrite | kMayExec)) return Errc::access;
      if (Errc le = load(tx.c, expected, victim, Errc::io); le != Errc::ok) return le;
      if (!may_delete_in_sticky(cred, d, victim)) return Errc::perm;
      if (victim.type == FileType::dir) {
        auto any = table_.has_entries(tx.c, victim.ino);
        if (!any) return Errc::io;
        if (*any) return Errc::notempty;
      }
      Time now = now_time();
      ci.before = d.change;
      if (!table_.unlink(tx.c, dir, name)) return Errc::io;
      if (victim.type == FileType::dir) {
        if (!table_.erase(tx.c, victim.ino)) return Errc::io;
        --d.nlink;
      } else if (--victim.nlink == 0) {
        if (Errc ue = unlink_last(tx, victim, now); ue != Errc::ok) return ue;
      } else {
        victim.ctime = now;
        ++victim.change;
        if (Errc se = store(tx, victim); se != Errc::ok) return se;
      }
      touch_dir(d, now);
      ci.after = d.change;
      return store(tx, d);
    }, /*frees_space=*/true);
    if (raced) continue;
    if (e != Errc::ok) return fail(e);
    return ci;
  }
  return fail(Errc::delay);
}

VResult<RenameResult> FileSystemImpl::rename(const Cred& cred, Ino src_dir,
                                             std::string_view src_name, Ino dst_dir,
                                             std::string_view dst_name) {
  if (Errc e = check_name(src_name); e != Errc::ok) return fail(e);
  if (Errc e = check_name(dst_name); e != Errc::ok) return fail(e);
  for (int attempt = 0; attempt < kRaceRetries; ++attempt) {
    Ino src_expected = peek(src_dir, src_name);
    Ino dst_expected = peek(dst_dir, dst_name);
    StripeLock lock(*this, {src_expected, dst_expected});
    RenameResult res;
    bool raced = false;
    Errc e = write_tx([&](Tx& tx) {
      Inode sd, dd_own;
      if (Errc le = load(tx.c, src_dir, sd); le != Errc::ok) return le;
      if (sd.type != FileType::dir) return Errc::notdir;
      bool same_dir = src_dir == dst_dir;
      if (!same_dir) {
        if (Errc le = load(tx.c, dst_dir, dd_own); le != Errc::ok) return le;
        if (dd_own.type != FileType::dir) return Errc::notdir;
      }
      Inode& dd = same_dir ? sd : dd_own;
      if (!may(cred, sd, kMayWrite | kMayExec) || !may(cred, dd, kMayWrite | kMayExec)) {
        return Errc::access;
      }
      auto sfound = table_.find(tx.c, src_dir, src_name);
      if (!sfound) return Errc::io;
      if (!*sfound) return Errc::noent;
      auto dfound = table_.find(tx.c, dst_dir, dst_name);
      if (!dfound) return Errc::io;
      Ino dst_child = *dfound ? (*dfound)->child : 0;
      if ((*sfound)->child != src_expected || dst_child != dst_expected) {
        raced = true;
        return Errc::delay;
      }
      res.source_dir = ChangeInfo{true, sd.change, sd.change};
      res.target_dir = ChangeInfo{true, dd.change, dd.change};
      // POSIX rename(2): when both names are links to the same file, do
      // nothing and succeed.
      if (dst_child == src_expected) return Errc::ok;
      Inode s;
      if (Errc le = load(tx.c, src_expected, s, Errc::io); le != Errc::ok) return le;
      if (!may_delete_in_sticky(cred, sd, s)) return Errc::perm;
      std::optional<Inode> victim;
      if (dst_child) {
        victim.emplace();
        if (Errc le = load(tx.c, dst_child, *victim, Errc::io); le != Errc::ok) return le;
        if (!may_delete_in_sticky(cred, dd, *victim)) return Errc::perm;
        bool vdir = victim->type == FileType::dir;
        if (s.type == FileType::dir && !vdir) return Errc::notdir;
        if (s.type != FileType::dir && vdir) return Errc::isdir;
        if (vdir) {
          auto any = table_.has_entries(tx.c, victim->ino);
          if (!any) return Errc::io;
          // RFC 8881 18.26.4 names NFS4ERR_EXIST for a non-empty target
          // directory; Linux nfsd passes ENOTEMPTY through as
          // NFS4ERR_NOTEMPTY, which clients map back to ENOTEMPTY, so we
          // answer as nfsd does.
          if (*any) return Errc::notempty;
        }
      }
      bool moves_dir = s.type == FileType::dir && !same_dir;
      if (moves_dir) {
        bool inside = false;
        if (Errc we = is_within(tx.c, dst_dir, s.ino, inside); we != Errc::ok) return we;
        if (inside) return Errc::inval;  // into its own subtree
        // Moving a directory rewrites its ".." entry: POSIX asks for write
        // permission on the directory itself.
        if (!may(cred, s, kMayWrite)) return Errc::access;
        // The depth limit holds for the whole moved subtree: its deepest
        // directory lands at the new parent's depth + 1 + the subtree's
        // height. Moving it no deeper than it was cannot pass the limit.
        uint32_t dep = 0, old_dep = 0;
        if (Errc de = depth(tx.c, dst_dir, dep); de != Errc::ok) return de;
        if (Errc de = depth(tx.c, src_dir, old_dep); de != Errc::ok) return de;
        if (dep + 1 > kMaxDepth) return too_deep(dst_name);
        if (dep > old_dep) {
          uint32_t h = 0;
          if (Errc he = height(tx.c, s.ino, kMaxDepth - (dep + 1), h); he != Errc::ok) return he;
          if (dep + 1 + h > kMaxDepth) return too_deep(dst_name);
        }
      }
      Time now = now_time();
      if (!table_.unlink(tx.c, src_dir, src_name)) return Errc::io;
      if (victim) {
        if (!table_.unlink(tx.c, dst_dir, dst_name)) return Errc::io;
        if (victim->type == FileType::dir) {
          if (!table_.erase(tx.c, victim->ino)) return Errc::io;
          --dd.nlink;
        } else if (--victim->nlink == 0) {
          if (Errc ue = unlink_last(tx, *victim, now); ue != Errc::ok) return ue;
        } else {
          victim->ctime = now;
          ++victim->change;
          if (Errc se = store(tx, *victim); se != Errc::ok) return se;
        }
      }
      if (!table_.link(tx.c, dd, dst_name, s.ino)) return Errc::io;
      if (moves_dir) {
        s.parent = dst_dir;
        --sd.nlink;
        ++dd.nlink;
      }
      s.ctime = now;
      ++s.change;
      if (Errc se = store(tx, s); se != Errc::ok) return se;
      touch_dir(sd, now);
      if (!same_dir) touch_dir(dd, now);
      if (Errc se = store(tx, sd); se != Errc::ok) return se;
      if (!same_dir) {
        if (Errc se = store(tx, dd); se != Errc::ok) return se;
      }
      res.source_dir.after = sd.change;
      res.target_dir.after = dd.change;
      return Errc::ok;
    });
    if (raced) continue;
    if (e != Errc::ok) return fail(e);
    return res;
  }
  return fail(Errc::delay);
}

}  // namespace efs::vfs
