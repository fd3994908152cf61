// The read side of FileSystemImpl that the metadata cache serves
// (metadata_cache.h): inode rows (GETATTR, ACCESS, file-handle checks, the
// data path's size checks), LOOKUP and READDIR. Misses read SQLite and fill
// the cache; the UNSTABLE-write overlay (pending_) is applied on top, as for
// rows read from SQLite.
#include <spdlog/spdlog.h>

#include "vfs/file_system.h"
#include "vfs/permission.h"

namespace efs::vfs {

Errc FileSystemImpl::row(Ino ino, Inode& out, Errc missing) {
  if (deleted_) return Errc::stale;
  if (caching()) {
    if (auto hit = cache_->inode(table_.fs_num(), ino)) {
      if (!*hit) return missing;
      out = std::move(**hit);
      return Errc::ok;
    }
  }
  const uint64_t ticket = cache_ ? cache_->ticket() : 0;
  std::optional<Inode> found;
  Errc e = read_tx([&](meta::Conn& c) {
    auto r = table_.get(c, ino);
    if (!r) return Errc::io;
    found = std::move(*r);
    return Errc::ok;
  });
  if (e != Errc::ok) return e;
  if (caching()) cache_->fill_inode(table_.fs_num(), ino, found, ticket);
  if (!found) return missing;
  out = std::move(*found);
  return Errc::ok;
}

Errc FileSystemImpl::current(Ino ino, Inode& out, Errc missing) {
  // Overlay first, then the row: a row read later is never older than the
  // overlay, so the change attribute never appears to go backwards.
  auto p = pending(ino);
  if (Errc e = row(ino, out, missing); e != Errc::ok) return e;
  apply(p, out);
  return Errc::ok;
}

VResult<Inode> FileSystemImpl::get_inode(Ino ino) {
  Inode n;
  if (Errc e = current(ino, n, Errc::stale); e != Errc::ok) return fail(e);
  return n;
}

VResult<Attr> FileSystemImpl::getattr(Ino ino) {
  auto n = get_inode(ino);
  if (!n) return fail(n.error());
  return to_attr(*n);
}

VResult<bool> FileSystemImpl::exists(Ino ino) {
  Inode n;
  Errc e = row(ino, n, Errc::noent);
  if (e == Errc::noent) return false;
  if (e != Errc::ok) return fail(e);
  return true;
}

VResult<Attr> FileSystemImpl::lookup(const Cred& cred, Ino dir, std::string_view name) {
  if (Errc e = check_name(name); e != Errc::ok) return fail(e);
  if (!caching()) return lookup_uncached(cred, dir, name);
  Inode d, child;
  if (Errc e = current(dir, d, Errc::stale); e != Errc::ok) return fail(e);
  if (d.type != FileType::dir) return fail(Errc::notdir);
  if (!may(cred, d, kMayExec)) return fail(Errc::access);
  DirentRow entry;
  switch (cache_->name(table_.fs_num(), dir, name, entry)) {
    case MetadataCache::Name::absent:
      return fail(Errc::noent);
    case MetadataCache::Name::present:
      break;
    case MetadataCache::Name::unknown: {
      const uint64_t ticket = cache_->ticket();
      std::optional<DirentRow> found;
      Errc e = read_tx([&](meta::Conn& c) {
        auto r = table_.find(c, dir, name);
        if (!r) return Errc::io;
        found = std::move(*r);
        return Errc::ok;
      });
      if (e != Errc::ok) return fail(e);
      // A negative entry too: a create of the name applies its AddName.
      cache_->fill_name(table_.fs_num(), dir, name, found, ticket);
      if (!found) return fail(Errc::noent);
      entry = std::move(*found);
      break;
    }
  }
  if (Errc e = current(entry.child, child, Errc::noent); e != Errc::ok) return fail(e);
  return to_attr(child);
}

VResult<Attr> FileSystemImpl::lookup_uncached(const Cred& cred, Ino dir, std::string_view name) {
  Inode d, child;
  Errc e = read_tx([&](meta::Conn& c) {
    if (Errc le = load(c, dir, d); le != Errc::ok) return le;
    if (d.type != FileType::dir) return Errc::notdir;
    if (!may(cred, d, kMayExec)) return Errc::access;
    auto r = table_.find(c, dir, name);
    if (!r) return Errc::io;
    if (!*r) return Errc::noent;
    return load(c, (*r)->child, child, Errc::noent);
  });
  if (e != Errc::ok) return fail(e);
  return to_attr(child);
}

VResult<Attr> FileSystemImpl::lookup_parent(const Cred& cred, Ino dir) {
  Inode d, parent;
  if (Errc e = current(dir, d, Errc::stale); e != Errc::ok) return fail(e);
  if (d.type != FileType::dir) return fail(Errc::notdir);
  if (!may(cred, d, kMayExec)) return fail(Errc::access);
  Ino up = d.ino == kRootIno ? kRootIno : d.parent;
  if (Errc e = current(up, parent, Errc::noent); e != Errc::ok) return fail(e);
  return to_attr(parent);
}

VResult<ReaddirResult> FileSystemImpl::readdir(const Cred& cred, Ino dir, uint64_t cookie,
                                               uint32_t max_entries) {
  // Cookies 1 and 2 are reserved ("." and ".." in some clients); RFC 8881
  // 18.23.3 lets the server reject them. Cookies are never reused, so any
  // other value below the directory's next cookie is a valid place to resume:
  // they are the rows' own cookies, so a listing served from memory, evicted
  // and read again hands out the same ones.
  if (cookie == 1 || cookie == 2) return fail(Errc::bad_cookie);
  if (max_entries == 0) return fail(Errc::toosmall);
  if (!caching()) return readdir_uncached(cred, dir, cookie, max_entries);
  Inode d;
  if (Errc e = current(dir, d, Errc::stale); e != Errc::ok) return fail(e);
  if (d.type != FileType::dir) return fail(Errc::notdir);
  if (!may(cred, d, kMayRead)) return fail(Errc::access);
  if (cookie >= d.next_cookie) return fail(Errc::bad_cookie);
  const int64_t fs = table_.fs_num();
  std::vector<DirentRow> rows;
  ReaddirResult out;
  if (!cache_->list(fs, dir, cookie, max_entries, rows, out.eof)) {
    // Cookies handed out bound the entries: a directory that never had more
    // than a listing's worth is read whole, once, and served from memory.
    if (d.next_cookie - 3 > cache_->max_listing()) {
      return readdir_uncached(cred, dir, cookie, max_entries);
    }
    const uint64_t ticket = cache_->ticket();
    std::vector<std::pair<DirentRow, Inode>> all;
    Errc e = read_tx([&](meta::Conn& c) {
      auto r = table_.list_with_inodes(c, dir, 0, static_cast<uint32_t>(cache_->max_listing()));
      if (!r) return Errc::io;
      all = std::move(*r);
      return Errc::ok;
    });
    if (e != Errc::ok) return fail(e);
    std::vector<DirentRow> listing;
    listing.reserve(all.size());
    for (auto& [entry, child] : all) {
      if (child.ino == 0) {
        spdlog::error("vfs {}: entry '{}' of dir {} names missing inode {}", id_, entry.name, dir,
                      entry.child);
        return fail(Errc::io);
      }
      cache_->fill_inode(fs, entry.child, child, ticket);
      listing.push_back(entry);
    }
    cache_->fill_listing(fs, dir, listing, ticket);
    // Served from what was read (the fill may have been refused).
    for (auto& entry : listing) {
      if (entry.cookie <= cookie) continue;
      if (rows.size() == max_entries) break;
      rows.push_back(std::move(entry));
    }
    out.eof = rows.empty() || rows.back().cookie == listing.back().cookie;
  }
  // Overlay first, then the rows (as get_inode does).
  std::unordered_map<Ino, Pending> overlay;
  {
    std::lock_guard lk(pending_mu_);
    if (!pending_.empty()) overlay = pending_;
  }
  out.entries.reserve(rows.size());
  for (auto& entry : rows) {
    Inode child;
    // The listing and the inodes are read one after the other, not in one
    // snapshot: an inode gone by now was removed with its name in between,
    // so the entry is left out, as a READDIR just after the removal would.
    Errc e = row(entry.child, child, Errc::noent);
    if (e == Errc::noent) continue;
    if (e != Errc::ok) return fail(e);
    if (auto it = overlay.find(entry.child); it != overlay.end()) apply(it->second, child);
    out.entries.push_back(DirEntry{std::move(entry.name), to_attr(child), entry.cookie});
  }
  return out;
}

VResult<ReaddirResult> FileSystemImpl::readdir_uncached(const Cred& cred, Ino dir,
                                                        uint64_t cookie, uint32_t max_entries) {
  ReaddirResult out;
  Errc e = read_tx([&](meta::Conn& c) {
    Inode d;
    if (Errc le = load(c, dir, d); le != Errc::ok) return le;
    if (d.type != FileType::dir) return Errc::notdir;
    if (!may(cred, d, kMayRead)) return Errc::access;
    if (cookie >= d.next_cookie) return Errc::bad_cookie;
    // Overlay first, then the rows (as get_inode does).
    std::unordered_map<Ino, Pending> overlay;
    {
      std::lock_guard lk(pending_mu_);
      overlay = pending_;
    }
    auto rows = table_.list_with_inodes(c, dir, cookie, max_entries + 1);
    if (!rows) return Errc::io;
    out.eof = rows->size() <= max_entries;
    if (!out.eof) rows->pop_back();
    out.entries.reserve(rows->size());
    for (auto& [entry, child] : *rows) {
      if (child.ino == 0) {
        spdlog::error("vfs {}: entry '{}' of dir {} names missing inode {}", id_, entry.name, dir,
                      entry.child);
        return Errc::io;
      }
      if (auto it = overlay.find(entry.child); it != overlay.end()) apply(it->second, child);
      out.entries.push_back(DirEntry{std::move(entry.name), to_attr(child), entry.cookie});
    }
    return Errc::ok;
  });
  if (e != Errc::ok) return fail(e);
  return out;
}

}  // namespace efs::vfs
