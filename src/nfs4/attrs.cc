#include "nfs4/attrs.h"

#include <charconv>

#include "common/log.h"
#include "nfs4/server.h"

namespace efs::nfs4 {

namespace {

// What EFS reports for capacity: effectively unbounded (about 8 EiB).
constexpr uint64_t kSpaceTotal = 9223372036853727232ULL;

constexpr uint32_t kSupported40[] = {A_supported_attrs,
                                     A_type,
                                     A_fh_expire_type,
                                     A_change,
                                     A_size,
                                     A_link_support,
                                     A_symlink_support,
                                     A_named_attr,
                                     A_fsid,
                                     A_unique_handles,
                                     A_lease_time,
                                     A_rdattr_error,
                                     A_aclsupport,
                                     A_cansettime,
                                     A_case_insensitive,
                                     A_case_preserving,
                                     A_chown_restricted,
                                     A_filehandle,
                                     A_fileid,
                                     A_homogeneous,
                                     A_maxfilesize,
                                     A_maxlink,
                                     A_maxname,
                                     A_maxread,
                                     A_maxwrite,
                                     A_mode,
                                     A_no_trunc,
                                     A_numlinks,
                                     A_owner,
                                     A_owner_group,
                                     A_rawdev,
                                     A_space_avail,
                                     A_space_free,
                                     A_space_total,
                                     A_space_used,
                                     A_time_access,
                                     A_time_access_set,
                                     A_time_create,
                                     A_time_delta,
                                     A_time_metadata,
                                     A_time_modify,
                                     A_time_modify_set,
                                     A_mounted_on_fileid};

// Settable through SETATTR / createattrs (RFC 7530 5.5, "W" attributes EFS supports).
bool settable(uint32_t n) {
  return n == A_size || n == A_mode || n == A_owner || n == A_owner_group ||
         n == A_time_access_set || n == A_time_modify_set;
}

void put_time(xdr::Writer& w, const vfs::Time& t) {
  w.i64(t.sec);
  w.u32(t.nsec);
}

void put_bitmap(xdr::Writer& w, const bitmap4& b) {
  w.u32(static_cast<uint32_t>(b.size()));
  for (uint32_t word : b) w.u32(word);
}

bitmap4 exclcreat_attrs() {
  bitmap4 b;
  for (uint32_t n : {A_size, A_mode, A_owner, A_owner_group, A_time_access_set, A_time_modify_set})
    bitmap_set(b, n);
  return b;
}

}  // namespace

namespace {
const bitmap4& minor_supported(uint32_t minor) {
  static const bitmap4 v40 = supported_attrs(0), v41 = supported_attrs(1);
  return minor >= 1 ? v41 : v40;
}
}  // namespace

bool bitmap_test(const bitmap4& b, uint32_t n) {
  std::size_t word = n / 32;
  return word < b.size() && (b[word] >> (n % 32)) & 1u;
}

void bitmap_set(bitmap4& b, uint32_t n) {
  std::size_t word = n / 32;
  if (b.size() <= word) b.resize(word + 1, 0);
  b[word] |= 1u << (n % 32);
}

bool asks_write_only(const bitmap4& want) {
  return bitmap_test(want, A_time_access_set) || bitmap_test(want, A_time_modify_set);
}

bitmap4 supported_attrs(uint32_t minor) {
  // Built once: GETATTR and every READDIR entry consult it.
  static const bitmap4 v40 = [] {
    bitmap4 b;
    for (uint32_t n : kSupported40) bitmap_set(b, n);
    return b;
  }();
  static const bitmap4 v41 = [] {
    bitmap4 b = v40;
    bitmap_set(b, A_suppattr_exclcreat);
    return b;
  }();
  return minor >= 1 ? v41 : v40;
}

std::optional<uint32_t> parse_owner(std::string_view s) {
  auto at = s.find('@');
  if (at != std::string_view::npos) s = s.substr(0, at);
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 0xffffffffULL) return std::nullopt;
  return static_cast<uint32_t>(v);
}

NResult<vfs::Attr> attr_of(Compound& c, const CurrentFh& fh) {
  if (!fh.set()) return fail(NFS4ERR_NOFILEHANDLE);
  if (fh.is_pseudo()) {
    // A read-only directory that exists only in the server's memory.
    vfs::Attr a;
    a.ino = kPseudoRootFileid;
    a.type = vfs::FileType::dir;
    a.mode = 0555;
    a.nlink = 2;
    a.size = 4096;
    a.change = c.server.exports().pseudo_change();
    auto start = c.server.start_time();
    a.atime = a.mtime = a.ctime = a.btime = start;
    return a;
  }
  auto r = fh.fs->getattr(fh.ino);
  if (!r) return fail(to_nfsstat(r.error()));
  return std::move(*r);
}

fattr4 encode_fattr(Compound& c, const CurrentFh& fh, const vfs::Attr& a, const bitmap4& want) {
  fattr4 out;
  const bitmap4& supported = minor_supported(c.minorversion);
  std::vector<uint8_t>& vals = out.attr_vals;
  xdr::Writer w(&vals);
  const uint32_t nattrs = static_cast<uint32_t>(want.size() * 32);
  for (uint32_t n = 0; n < nattrs; ++n) {
    if (!bitmap_test(want, n) || !bitmap_test(supported, n)) continue;
    // Write-only attributes are never returned (RFC 8881 5.5).
    if (n == A_time_access_set || n == A_time_modify_set) continue;
    bitmap_set(out.attrmask, n);
    switch (n) {
      case A_supported_attrs:
        put_bitmap(w, supported);
        break;
      case A_type:
        w.u32(static_cast<uint32_t>(a.type));
        break;
      case A_fh_expire_type:
        w.u32(FH4_PERSISTENT);
        break;
      case A_change:
        w.u64(a.change);
        break;
      case A_size:
        w.u64(a.size);
        break;
      case A_link_support:
        w.boolean(true);
        break;
      case A_symlink_support:
        w.boolean(true);
        break;
      case A_named_attr:
        w.boolean(false);
        break;
      case A_fsid: {
        auto [major, minor] = Exports::fsid(fh);
        w.u64(major);
        w.u64(minor);
        break;
      }
      case A_unique_handles:
        w.boolean(true);
        break;
      case A_lease_time:
        w.u32(static_cast<uint32_t>(c.server.options().lease_time.count()));
        break;
      case A_rdattr_error:
        w.u32(NFS4_OK);
        break;
      case A_aclsupport:
        w.u32(0);
        break;
      case A_cansettime:
        w.boolean(true);
        break;
      case A_case_insensitive:
        w.boolean(false);
        break;
      case A_case_preserving:
        w.boolean(true);
        break;
      case A_chown_restricted:
        w.boolean(true);
        break;
      case A_filehandle:
        w.opaque(fh.wire);
        break;
      case A_fileid:
        w.u64(a.ino);
        break;
      case A_homogeneous:
        w.boolean(true);
        break;
      case A_maxfilesize:
        w.u64(vfs::kMaxFileSize);
        break;
      case A_maxlink:
        w.u32(vfs::kMaxHardLinks);
        break;
      case A_maxname:
        w.u32(static_cast<uint32_t>(vfs::kMaxNameBytes));
        break;
      case A_maxread:
        w.u64(kMaxReadWrite);
        break;
      case A_maxwrite:
        w.u64(kMaxReadWrite);
        break;
      case A_mode:
        w.u32(a.mode & 07777);
        break;
      case A_no_trunc:
        w.boolean(true);
        break;
      case A_numlinks:
        w.u32(a.nlink);
        break;
      case A_owner:
        w.string(std::to_string(a.uid));
        break;
      case A_owner_group:
        w.string(std::to_string(a.gid));
        break;
      case A_rawdev:
        w.u32(0);
        w.u32(0);
        break;
      case A_space_avail:
      case A_space_free:
        w.u64(kSpaceTotal - std::min(kSpaceTotal, a.space_used));
        break;
      case A_space_total:
        w.u64(kSpaceTotal);
        break;
      case A_space_used:
        w.u64(a.space_used);
        break;
      case A_time_access:
        put_time(w, a.atime);
        break;
      case A_time_create:
        put_time(w, a.btime);
        break;
      case A_time_delta:
        put_time(w, vfs::Time{0, 1});
        break;
      case A_time_metadata:
        put_time(w, a.ctime);
        break;
      case A_time_modify:
        put_time(w, a.mtime);
        break;
      case A_mounted_on_fileid: {
        // At an export's root the client sees the junction in the pseudo-root
        // (RFC 7530 5.8.2.25), unless a mount target routes "/" straight here.
        uint64_t id = a.ino;
        if (fh.in_fs() && fh.ino == fh.export_root && c.server.exports().routed_fs(c.call).empty())
          id = Exports::junction_fileid(fh.kind == FhKind::access_point ? fh.access_point_id
                                                                        : fh.fs->id());
        w.u64(id);
        break;
      }
      case A_suppattr_exclcreat:
        put_bitmap(w, exclcreat_attrs());
        break;
      default:
        break;
    }
  }
  return out;
}

NResult<SetAttrs> decode_fattr(const fattr4& in, uint32_t minor) {
  SetAttrs out;
  const bitmap4& supported = minor_supported(minor);
  xdr::Reader r(in.attr_vals);
  const uint32_t nattrs = static_cast<uint32_t>(in.attrmask.size() * 32);
  for (uint32_t n = 0; n < nattrs; ++n) {
    if (!bitmap_test(in.attrmask, n)) continue;
    if (!settable(n)) {
      // RFC 8881 18.30.3: a supported but read-only attribute is INVAL; one
      // the server does not support at all is ATTRNOTSUPP.
      nfsstat4 st = bitmap_test(supported, n) ? NFS4ERR_INVAL : NFS4ERR_ATTRNOTSUPP;
      spdlog::debug("nfs4: setattr of attribute {} refused ({})", n, static_cast<int>(st));
      return fail(st);
    }
    switch (n) {
      case A_size:
        out.set.size = r.u64();
        break;
      case A_mode:
        out.set.mode = r.u32() & 07777;
        break;
      case A_owner:
      case A_owner_group: {
        std::string s = r.string(1024);
        if (!r.ok()) return fail(NFS4ERR_BADXDR);
        auto id = parse_owner(s);
        if (!id) {
          spdlog::info("nfs4: owner string '{}' is not a numeric id", s);
          return fail(NFS4ERR_BADOWNER);
        }
        (n == A_owner ? out.set.uid : out.set.gid) = *id;
        break;
      }
      case A_time_access_set:
      case A_time_modify_set: {
        uint32_t how = r.u32();
        vfs::TimeHow th;
        vfs::Time t;
        if (how == SET_TO_CLIENT_TIME4) {
          th = vfs::TimeHow::client_time;
          t.sec = r.i64();
          t.nsec = r.u32();
          if (t.nsec >= 1000000000u) return fail(NFS4ERR_INVAL);
        } else if (how == SET_TO_SERVER_TIME4) {
          th = vfs::TimeHow::server_time;
        } else {
          return fail(NFS4ERR_BADXDR);
        }
        if (n == A_time_access_set) {
          out.set.atime_how = th;
          out.set.atime = t;
        } else {
          out.set.mtime_how = th;
          out.set.mtime = t;
        }
        break;
      }
    }
    if (!r.ok()) return fail(NFS4ERR_BADXDR);
    bitmap_set(out.attrsset, n);
  }
  if (r.remaining() != 0) return fail(NFS4ERR_BADXDR);
  return out;
}

}  // namespace efs::nfs4
